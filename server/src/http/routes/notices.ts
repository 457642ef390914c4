import { Type as T, type Static } from '@sinclair/typebox';
import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import { acceptNotice as acceptNoticeCommand } from '../../notices/commands/acceptNotice.js';
import { cancelNotice } from '../../notices/commands/cancelNotice.js';
import { reviewNotice, sendBackNotice } from '../../notices/commands/reviewNotice.js';
import { saveDraft as saveDraftCommand } from '../../notices/commands/saveDraft.js';
import { addMemo } from '../../visits/commands/addMemo.js';
import { visitMemos } from '../../visits/queries.js';
import { conflict, DomainError, notFound } from '../../errors/domainError.js';
import { AnyForm, IdParam, IsoDateTime, Nullable, Obj } from '../schemas/common.js';
import { NoticeListSchema, NoticeSchema } from '../schemas/notices.js';
import { NOTICE_ADDRESS_FIELDS, noticeSubjectOf, presentNotice, type PresentedNotice } from '../../residents/present.js';
import { cardReaderPanel } from '../views/cardReader.js';
import { languageChoices } from '../../i18n/languages.js';
import { preEntryPanel } from '../views/preEntry.js';
import { residentPanel } from '../views/residentPanel.js';
import { presenterFor, protection, type AddressPresenter } from '../../residents/protection.js';
import { MASKED_ADDRESS } from '../../residents/warnings.js';
import type { StaffSession } from '../../auth/sessions.js';
import { parseDateInput } from '../../domain/dateInput.js';
import { todayInJapan } from '../../domain/dates.js';
import type { FieldError, NoticeData, NoticeMemberInput } from '../../domain/noticeValidation.js';
import { noticeTypeLabels, noticeTypes, type NoticeType, type Question } from '../../domain/procedureTypes.js';
import { formatWareki } from '../../domain/wareki.js';
import {
  getNotice,
  NoticeValidationError,
  noticesOfVisit,
  noticeStatusLabels,
  noticeStatuses,
  noticeSubjectsOfVisits,
  workList,
  type Notice,
  type NoticeDraft,
  type NoticeStatus,
} from '../../notices/notices.js';
import {
  addManualProcedure,
  openQuestions,
  personsOfProcedures,
  procedureStatuses,
  procedureStatusLabels,
  saveAnswers,
  updateProcedure,
  visitAnswers,
  visitProcedures,
  type ProcedureStatus,
} from '../../notices/visitProcedures.js';
import { html, type SafeHtml } from '../html.js';
import { FIELDS, FIELD_LABELS, noticePage } from '../views/notices.js';
import { badRequest, htmlOrRedirect, htmlPage, json, redirect, type ProcedureSource, type RouteAccess, type RouteKit } from '../kit.js';
import { japanWarekiTime as jst } from '../../domain/japanTime.js';
import { readRawBody } from '../rawBody.js';
import { queueSettingsOf, scenarioCheck } from '../../rpa/jobs.js';
import { MAX_MOVE_OUT_CERTIFICATE_BYTES, parseMoveOutCertificateData } from '../../notices/moveOutCertificate.js';

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' && v !== '' ? [v] : []);

/** The procedure catalog as the routes need it (the store reloads edited files without a restart). */

const VisitP = T.Object({ id: IdParam('来庁番号') });
const VisitNoticeP = T.Object({ id: IdParam('来庁番号'), nid: IdParam('届出・手続きの番号') });
const NoticeP = T.Object({ id: IdParam('届出番号') });
const MoveOutCertificateResult = Obj({ ok: T.Literal(true), members: T.Integer({ minimum: 0 }) });
const Str = T.String();
const VisitProceduresSchema = Obj({
  procedures: T.Array(
    Obj({
      id: T.Integer(),
      noticeId: Nullable(T.Integer()),
      procedureId: Str,
      members: T.Array(Str),
      reasons: T.Array(Str),
      source: T.Union([T.Literal('rule'), T.Literal('added'), T.Literal('manual')]),
      status: T.Union(procedureStatuses.map((x) => T.Literal(x))),
      deadline: Nullable(Str),
      removed: T.Boolean(),
      reason: Nullable(Str),
      updatedAt: IsoDateTime(),
      name: Str,
      section: Nullable(Str),
      counter: Nullable(Str),
      here: T.Boolean(),
    }),
  ),
  questions: T.Array(
    Obj({
      id: Str,
      text: Str,
      type: Str,
      choices: T.Optional(T.Array(Str)),
      askWhen: T.Optional(T.Unknown()),
      help: T.Optional(Str),
      detail: T.Optional(T.Boolean({ description: '申請書の欄の質問 (手続きを受け付ける窓口で聞く)' })),
    }),
  ),
  answers: T.Record(T.String(), T.Union([T.Boolean(), T.String()])),
});

const iso = (d: Date | null) => (d ? d.toISOString() : null);
/** A notice as the JSON API presents it (times as ISO 8601), from the presented notice only. */
export const noticeJson = (n: PresentedNotice): Static<typeof NoticeSchema> => ({
  ...n,
  data: { ...n.data },
  createdAt: n.createdAt.toISOString(),
  updatedAt: n.updatedAt.toISOString(),
  acceptedAt: iso(n.acceptedAt),
  reviewedAt: iso(n.reviewedAt),
  enteredAt: iso(n.enteredAt),
});

function dateField(raw: unknown, label: string, errors: FieldError[], field: string): string | null {
  const s = str(raw);
  if (!s) return null;
  const d = parseDateInput(s);
  if (!d.ok) {
    errors.push({ field, message: `${label}: ${d.message}` });
    return null;
  }
  if (d.from !== d.to) {
    errors.push({ field, message: `${label}は日まで入力してください` });
    return null;
  }
  return d.from;
}

/** Reads the notice form: fields of the type and the member rows (members.N.*). */
function readForm(b: Record<string, unknown>, type: NoticeType, householdNo: string | null): { draft: NoticeDraft; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const data: NoticeData = {};
  for (const f of FIELDS[type]) {
    const v = f === 'plannedMoveDate' ? dateField(b[f], FIELD_LABELS[f], errors, f) : str(b[f]);
    if (v) data[f] = v;
  }
  if (str(b.note)) data.note = str(b.note).slice(0, 500);
  const members: NoticeMemberInput[] = [];
  const head = str(b.head);
  const event = str(b.event);
  for (let i = 0; i < 20; i++) {
    const name = str(b[`m${i}_name`]);
    if (!name) continue;
    members.push({
      addresseeNo: str(b[`m${i}_addresseeNo`]) || null,
      name,
      nameKana: str(b[`m${i}_kana`]) || null,
      birthDate: dateField(b[`m${i}_birthDate`], '生年月日', errors, `members.${i}.birthDate`),
      sex: str(b[`m${i}_sex`]) || null,
      // The head's 続柄 is 世帯主 unless typed otherwise (one field fewer for every new household).
      relationship: str(b[`m${i}_relationship`]) || (head === String(i) ? '世帯主' : null),
      moving: list(b.moving).includes(String(i)),
      head: head === String(i),
      event: event === String(i),
    });
  }
  // A move-in into an existing household (its 世帯番号 given) has no new head: the form's default
  // head (the first row) is not kept.
  if ((type === 'moveIn' || type === 'specialMoveIn') && data.targetHouseholdNo)
    for (const m of members)
      if (m.head) Object.assign(m, { head: false, relationship: m.relationship === '世帯主' ? null : m.relationship });
  return {
    draft: { type, effectiveDate: dateField(b.effectiveDate, '異動日', errors, 'effectiveDate'), householdNo, data, members },
    errors,
  };
}

/** Members to start a notice with: the households of the visit's subjects (or none for a move-in). */
async function startingMembers(
  db: Knex,
  visitId: number,
  type: NoticeType,
  chosen: string | null,
): Promise<{ householdNo: string | null; members: NoticeMemberInput[] }> {
  if (type === 'moveIn' || type === 'specialMoveIn') return { householdNo: null, members: [] };
  const subjects = (await db('visit_subjects').where({ visit_id: visitId }).whereNotNull('addressee_no').pluck('addressee_no')) as string[];
  if (!subjects.length) return { householdNo: null, members: [] };
  // Several households in one visit: the notice is for the household of the subject chosen.
  const pick = chosen && subjects.includes(chosen) ? chosen : subjects[0];
  const first = (await db('residents').where({ addressee_no: pick }).first('household_no')) as { household_no: string } | undefined;
  if (!first) return { householdNo: null, members: [] };
  const rows = (await db('residents')
    .where({ household_no: first.household_no, resident_status: '1' })
    .orderBy('relationship_code1')
    .orderBy('birth_date')) as Record<string, unknown>[];
  return {
    householdNo: first.household_no,
    members: rows.map((r) => ({
      addresseeNo: String(r.addressee_no),
      name: String(r.name),
      nameKana: (r.name_kana as string | null) ?? null,
      birthDate: r.birth_date_unknown ? null : ((r.birth_date as string | null) ?? null),
      sex: (r.sex as string | null) ?? null,
      relationship: (r.relationship_label as string | null) ?? null,
      moving: subjects.includes(String(r.addressee_no)),
      head: r.relationship_code1 === '02',
      event: false,
    })),
  };
}

/** Notices, the derived procedure list with questions, memos, and the review work list. */
export function registerNoticeRoutes(kit: RouteKit, procedures: ProcedureSource): void {
  const { route, deps, render, session, actor, form } = kit;
  const db = deps.knex;
  const accept: RouteAccess = { permission: 'notice.accept' };
  const counterOf = (id: string | null) => deps.config.counters.find((c) => c.id === id);
  const staffId = (s: StaffSession): number => {
    if (s.staffId === null) throw new DomainError('auth.staffOnly');
    return s.staffId;
  };
  const ids = (p: { id: number; nid?: number }) => ({ visitId: p.id, noticeId: p.nid ?? 0 });
  /** What accepting a notice needs from the configuration (the procedure catalog and the RPA queue). */
  const acceptDeps = () => {
    const on = todayInJapan();
    return {
      deadlineDays: deps.config.notices.deadlineDays,
      procedures: { catalog: procedures.definitions(on), on },
      rpa: { settings: queueSettingsOf(deps.config), hasScenario: scenarioCheck(deps.configDir, deps.config.rpa) },
      town: deps.config.municipality,
    };
  };

  route(
    {
      method: 'POST',
      path: '/visits/:id/notices',
      access: accept,
      summary: '届出を作成する (下書き)',
      params: VisitP,
      body: AnyForm,
      response: redirect,
    },
    async (ctx) => {
      const { visitId } = ids(ctx.input.params);
      const type = str(form(ctx).type) as NoticeType;
      if (!noticeTypes.includes(type)) throw badRequest('届出の種類を選んでください');
      const start = await startingMembers(db, visitId, type, str(form(ctx).subject) || null);
      const id = await saveDraftCommand(
        db,
        { visitId, noticeId: null, draft: { type, effectiveDate: null, householdNo: start.householdNo, data: {}, members: start.members } },
        actor(ctx),
      );
      ctx.status = 303;
      ctx.redirect(`/visits/${visitId}/notices/${id}`);
    },
  );

  /** The notice page, from the presented notice; an unmasked protected read is audited. */
  const showNotice = async (ctx: Parameters<RouteKit['render']>[0], n: Notice, errors: FieldError[], via = 'notice.page') => {
    const s = session(ctx);
    const presenter = await presenterFor(db, s);
    const shown = presentNotice(presenter, n);
    await presenter.audit(db, actor(ctx), 'notice', { notice: n.id, via });
    const back = s.permissions.has('visit.handle') ? undefined : { href: '/review', label: '審査の一覧に戻る' };
    render(
      ctx,
      noticeTypeLabels[n.type],
      noticePage(
        shown,
        s.csrfToken ?? '',
        errors,
        s.permissions.has('resident.viewProtectedAddress'),
        back,
        // A 転入 being typed: the movers' My Number cards fill the members (cards/readingView.ts).
        html`${
          n.status === 'draft' && (n.type === 'moveIn' || n.type === 'specialMoveIn') && s.permissions.has('visit.handle')
            ? cardReaderPanel(n.visitId, s.csrfToken ?? '', 'notice', s.counterId)
            : ''
        }${
          // A resident's pre-entry QR codes, read by the counter's 2D scanner (views/preEntry.ts).
          n.status === 'draft' && s.permissions.has('visit.handle') ? preEntryPanel(n.visitId, s.csrfToken ?? '', 'notice', n.type) : ''
        }${
          // The resident confirms and signs on the counter's resident screen (residentScreen.ts).
          (n.status === 'draft' || n.status === 'accepted') && s.permissions.has('visit.handle')
            ? residentPanel(n.visitId, n.id, s.csrfToken ?? '', s.counterId, languageChoices(deps.configDir))
            : ''
        }`,
      ),
    );
  };
  /** Notices for the JSON API, presented; one audit record for the unmasked protected reads. */
  const noticesOut = async (ctx: Parameters<RouteKit['render']>[0], notices: readonly Notice[], via: string) => {
    const presenter: AddressPresenter = await presenterFor(db, session(ctx));
    const shown = notices.map((n) => noticeJson(presentNotice(presenter, n)));
    await presenter.audit(db, actor(ctx), 'notice', { via, notices: notices.map((n) => n.id) });
    return shown;
  };

  route(
    {
      method: 'GET',
      path: '/visits/:id/notices/:nid',
      access: accept,
      summary: '届出の入力 (画面)',
      params: VisitNoticeP,
      response: htmlPage,
    },
    async (ctx) => {
      const { visitId, noticeId } = ids(ctx.input.params);
      const n = await getNotice(db, noticeId);
      if (!n || n.visitId !== visitId) throw notFound('届出');
      await showNotice(ctx, n, []);
    },
  );

  route(
    {
      method: 'POST',
      path: '/visits/:id/notices/:nid',
      access: accept,
      summary: '届出を一時保存する・受け付ける',
      params: VisitNoticeP,
      body: AnyForm,
      response: htmlOrRedirect,
    },
    async (ctx) => {
      const { visitId, noticeId } = ids(ctx.input.params);
      const n = await getNotice(db, noticeId);
      if (!n || n.visitId !== visitId) throw notFound('届出');
      const body = form(ctx);
      const { draft, errors } = readForm(body, n.type, n.householdNo);
      // The mask posted back unchanged (shown to staff without the right) keeps the stored address.
      for (const f of NOTICE_ADDRESS_FIELDS) if (draft.data[f] === MASKED_ADDRESS) draft.data[f] = n.data[f] ?? '';
      for (const f of NOTICE_ADDRESS_FIELDS) if (draft.data[f] === '') delete draft.data[f];
      await saveDraftCommand(db, { visitId, noticeId, draft }, actor(ctx));
      const saved = (await getNotice(db, noticeId))!;
      if (errors.length) {
        ctx.status = 400;
        return showNotice(ctx, saved, errors);
      }
      if (str(body.action) !== 'accept') {
        ctx.status = 303;
        return ctx.redirect(`/visits/${visitId}/notices/${noticeId}`);
      }
      try {
        await acceptNoticeCommand(db, { visitId, noticeId }, actor(ctx), acceptDeps());
      } catch (e) {
        if (!(e instanceof NoticeValidationError)) throw e;
        ctx.status = 400;
        return showNotice(ctx, saved, e.errors);
      }
      // With a standby, the kit answers only once the standby holds the notice (http/kit.ts).
      ctx.status = 303;
      ctx.redirect(`/visits/${visitId}#procedures`);
    },
  );

  route(
    {
      method: 'POST',
      path: '/visits/:id/notices/:nid/move-out-certificate',
      access: accept,
      summary: '転出証明書情報 (CSV) を届出に読み込む',
      params: VisitNoticeP,
      response: json(MoveOutCertificateResult),
    },
    async (ctx) => {
      const { visitId, noticeId } = ids(ctx.input.params);
      const n = await getNotice(db, noticeId);
      if (!n || n.visitId !== visitId) throw notFound('届出');
      if (n.type !== 'specialMoveIn' && n.type !== 'moveIn') throw badRequest('転出証明書情報を読み込めるのは転入届だけです');
      const cert = parseMoveOutCertificateData(await readRawBody(ctx.req, MAX_MOVE_OUT_CERTIFICATE_BYTES));
      // saveDraft refuses a notice that is no longer a draft (409 from the notice's move table).
      await saveDraftCommand(
        db,
        {
          visitId,
          noticeId,
          draft: {
            type: n.type,
            effectiveDate: cert.effectiveDate ?? n.effectiveDate,
            householdNo: n.householdNo,
            data: { ...n.data, ...cert.data },
            members: cert.members,
          },
        },
        actor(ctx),
      );
      return { ok: true as const, members: cert.members.length };
    },
  );

  route(
    {
      method: 'POST',
      path: '/visits/:id/answers',
      access: accept,
      summary: '質問への回答を保存して手続きを見直す',
      params: VisitP,
      body: AnyForm,
      response: redirect,
    },
    async (ctx) => {
      const { visitId } = ids(ctx.input.params);
      const on = todayInJapan();
      const notices = await noticesOfVisit(db, visitId);
      const questions = await openQuestions(db, visitId, notices, procedures.definitions(on), on);
      const body = form(ctx);
      // Yes/no questions of the checklist: a ticked box is はい, an unticked one いいえ (the form
      // names them in `checklist`, so a question it did not show stays as it was). Each carries the
      // answer the page was drawn with (`was_`): when another counter has answered meanwhile, theirs
      // is kept rather than overwritten by a box this page never showed ticked.
      const listed = new Set(([] as unknown[]).concat(body.checklist ?? []).map(String));
      const stored = await visitAnswers(db, visitId);
      const answers: Record<string, string> = {};
      for (const q of questions) {
        const key = `q_${q.id}`;
        if (q.type === 'yesNo' && listed.has(q.id)) {
          const now = stored[q.id] === undefined ? '' : String(stored[q.id]);
          if (now !== str(body[`was_${q.id}`])) continue;
          answers[q.id] = str(body[key]) === 'true' ? 'true' : 'false';
        } else if (key in body) answers[q.id] = str(body[key]); // posted empty: the answer is cleared
      }
      await saveAnswers(
        db,
        visitId,
        answers,
        questions,
        procedures.definitions(on),
        on,
        staffId(session(ctx)),
        actor(ctx),
        notices.filter((n) => n.status !== 'draft' && n.status !== 'cancelled'),
      );
      ctx.status = 303;
      ctx.redirect(`/visits/${visitId}#procedures`);
    },
  );

  // Before /visits/:id/procedures/:nid: koa-router takes the first route that matches.
  route(
    {
      method: 'POST',
      path: '/visits/:id/procedures/refer-elsewhere',
      access: accept,
      summary: '他の窓口の手続きをまとめて「他課案内済」にする',
      description:
        'この窓口 (職員の窓口と課) 以外の、未処理・申請書印刷済の手続きを他課案内済にします。扱う権限のない手続き・設定にない手続きは変えず、拒否として監査ログに記録します。窓口を選んでいないとき (400) と完了した来庁 (409) には使えません。',
      params: VisitP,
      body: AnyForm,
      response: redirect,
      errors: ['input.invalid', 'state.conflict', 'notFound.resource'],
    },
    async (ctx) => {
      const { visitId } = ids(ctx.input.params);
      const s = session(ctx);
      // "Elsewhere" needs a here: without a counter every procedure would be someone else's.
      const section = counterOf(s.counterId)?.section ?? null;
      if (!s.counterId || !section) throw badRequest('窓口を選んでから使ってください (画面上部の「切替」)');
      const visit = (await db('visits').where({ id: visitId }).first('status')) as { status: string } | undefined;
      if (!visit) throw notFound('来庁記録');
      if (visit.status === 'closed') throw conflict('完了した来庁の手続きは変えられません');
      const refused: string[] = [];
      for (const r of await visitProcedures(db, visitId)) {
        if (r.removed || (r.status !== 'pending' && r.status !== 'printed')) continue;
        const def = procedures.byId(r.procedureId);
        // A procedure no longer in the catalog is nobody's to hand on: it stays for staff to decide.
        if (!def) {
          refused.push(r.procedureId);
          continue;
        }
        if (isProcedureHere(def, s.counterId, section)) continue;
        if (!s.permissions.has(def.permission)) {
          refused.push(def.id);
          continue;
        }
        await updateProcedure(db, visitId, r.id, { status: 'referred' }, staffId(s), actor(ctx));
      }
      // What this role may not hand on is recorded as refused (and stays 未処理 on the list).
      if (refused.length)
        await db.transaction((trx) =>
          appendAudit(trx, {
            ...actor(ctx),
            action: 'visit.procedure',
            targetKind: 'visit',
            targetIds: [String(visitId)],
            result: 'denied',
            detail: { referElsewhere: refused },
          }),
        );
      ctx.status = 303;
      ctx.redirect(`/visits/${visitId}#counter-panel`);
    },
  );

  route(
    {
      method: 'POST',
      path: '/visits/:id/procedures/:nid',
      access: accept,
      summary: '関連手続きの状態を変える・外す・戻す',
      params: VisitNoticeP,
      body: AnyForm,
      response: redirect,
    },
    async (ctx) => {
      const { visitId, noticeId: rowId } = ids(ctx.input.params);
      const body = form(ctx);
      // Each procedure names the permission needed to handle it (P-49).
      const row = (await db('visit_procedures').where({ id: rowId, visit_id: visitId }).first('procedure_id')) as
        { procedure_id: string } | undefined;
      const def = row ? procedures.byId(row.procedure_id) : undefined;
      if (def && !session(ctx).permissions.has(def.permission))
        throw new DomainError('notice.procedureForbidden', { name: def.name, permission: def.permission });
      const status = str(body.status);
      const op = str(body.op);
      if (status && !procedureStatuses.includes(status as ProcedureStatus)) throw badRequest('状態が正しくありません');
      await updateProcedure(
        db,
        visitId,
        rowId,
        {
          ...(status ? { status: status as ProcedureStatus } : {}),
          ...(op === 'remove'
            ? { removed: true, reason: str(body.reason) }
            : op === 'restore'
              ? { removed: false, reason: str(body.reason) || '戻す' }
              : {}),
        },
        staffId(session(ctx)),
        actor(ctx),
      );
      ctx.status = 303;
      ctx.redirect(`/visits/${visitId}#procedures`);
    },
  );

  route(
    {
      method: 'POST',
      path: '/visits/:id/procedures',
      access: accept,
      summary: '関連手続きを手で追加する',
      params: VisitP,
      body: AnyForm,
      response: redirect,
    },
    async (ctx) => {
      const { visitId } = ids(ctx.input.params);
      const body = form(ctx);
      await addManualProcedure(
        db,
        visitId,
        str(body.procedureId),
        str(body.reason),
        procedures.definitions(todayInJapan()),
        staffId(session(ctx)),
        actor(ctx),
      );
      ctx.status = 303;
      ctx.redirect(`/visits/${visitId}#procedures`);
    },
  );

  route(
    {
      method: 'POST',
      path: '/visits/:id/memos',
      access: { permission: 'visit.handle' },
      summary: '来庁記録にメモを追加する',
      params: VisitP,
      body: AnyForm,
      response: redirect,
    },
    async (ctx) => {
      const { visitId } = ids(ctx.input.params);
      const body = form(ctx);
      await addMemo(db, visitId, staffId(session(ctx)), { body: str(body.body), templateId: str(body.templateId) || null }, actor(ctx));
      ctx.status = 303;
      ctx.redirect(`/visits/${visitId}#memos`);
    },
  );

  route(
    { method: 'GET', path: '/worklist', access: { permission: 'visit.handle' }, summary: '課ごとの作業一覧 (画面)', response: htmlPage },
    async (ctx) => {
      const s = session(ctx);
      // Every section that owns a procedure has a list, whether or not it has a counter of its own.
      const sections = [
        ...new Set([...deps.config.counters.map((c) => c.section), ...procedures.definitions(todayInJapan()).map((d) => d.section)]),
      ];
      const section = str(ctx.query.section) || counterOf(s.counterId)?.section || sections[0]!;
      if (!sections.includes(section)) throw badRequest('課が正しくありません');
      const statusFilter = str(ctx.query.status) || 'open';
      const rows = (await db('visit_procedures')
        .join('visits', 'visits.id', 'visit_procedures.visit_id')
        .where('visit_procedures.removed', false)
        .whereIn('visit_procedures.status', statusFilter === 'open' ? ['pending', 'referred', 'printed'] : [statusFilter])
        .orderBy('visits.opened_at', 'desc')
        .limit(500)
        .select(
          'visit_procedures.id',
          'visit_procedures.procedure_id',
          'visit_procedures.status',
          'visit_procedures.deadline',
          'visit_procedures.notice_id',
          'visit_procedures.members',
          'visits.id as visit_id',
          'visits.visit_no',
          'visits.status as visit_status',
          'visits.counter_id',
        )) as Record<string, unknown>[];
      const mine = rows.filter((r) => procedures.byId(String(r.procedure_id))?.section === section);
      const persons = await personsOfProcedures(
        db,
        mine.map((r) => ({
          id: Number(r.id),
          visitId: Number(r.visit_id),
          noticeId: r.notice_id === null || r.notice_id === undefined ? null : Number(r.notice_id),
          members: JSON.parse(String(r.members)) as string[],
        })),
      );
      const decide = await protection(db);
      const visitIds = [...new Set(mine.map((r) => Number(r.visit_id)))];
      const protectedVisits = new Set(
        (await noticeSubjectsOfVisits(db, visitIds)).filter((n) => decide.notice(n).protected).map((n) => n.visitId),
      );
      for (const v of (await db('visit_subjects')
        .whereIn('visit_id', visitIds)
        .whereNotNull('addressee_no')
        .select('visit_id', 'addressee_no')) as {
        visit_id: number;
        addressee_no: string;
      }[])
        if (decide.person(v.addressee_no).protected) protectedVisits.add(Number(v.visit_id));
      render(
        ctx,
        `${section}の手続き`,
        html`<h1>課ごとの作業一覧 <small>${section}</small></h1>
<form method="get" action="/worklist" class="card filters">
<label>課<br><select name="section">${sections.map((x) => html`<option value="${x}" ${x === section ? html`selected` : ''}>${x}</option>`)}</select></label>
<label>状態<br><select name="status"><option value="open" ${statusFilter === 'open' ? html`selected` : ''}>残っているもの (未処理・印刷済・他課案内済)</option>${procedureStatuses.map((x) => html`<option value="${x}" ${x === statusFilter ? html`selected` : ''}>${procedureStatusLabels[x]}</option>`)}</select></label>
<button type="submit">絞り込む</button></form>
<p>${mine.length} 件</p>
<table id="section-worklist"><thead><tr><th>来庁</th><th>来庁の状態</th><th>手続き</th><th>対象</th><th>状態</th><th>期限</th></tr></thead><tbody>
${mine.map((r) => html`<tr><td><a href="/visits/${Number(r.visit_id)}#counter-panel">${String(r.visit_no)}</a>${protectedVisits.has(Number(r.visit_id)) ? html` <span class="badge badge-supportMeasure">⚠ 支援措置</span>` : ''}</td><td>${r.visit_status === 'paused' ? '保留中' : r.visit_status === 'open' ? '対応中' : '完了'}</td><td>${procedures.byId(String(r.procedure_id))?.name ?? String(r.procedure_id)}</td><td class="procedure-persons">${(persons.get(Number(r.id)) ?? []).join('、')}</td><td>${procedureStatusLabels[r.status as ProcedureStatus]}</td><td>${r.deadline ? formatWareki(String(r.deadline)) : ''}</td></tr>`)}
</tbody></table>`,
      );
    },
  );

  route(
    { method: 'GET', path: '/review', access: { permission: 'notice.review' }, summary: '届出の審査一覧 (画面)', response: htmlPage },
    async (ctx) => {
      const status = (str(ctx.query.status) || 'accepted') as NoticeStatus;
      if (!noticeStatuses.includes(status)) throw badRequest('状態が正しくありません');
      const type = str(ctx.query.type) as NoticeType | '';
      if (type && !noticeTypes.includes(type)) throw badRequest('届出の種類が正しくありません');
      const items = await workList(db, { status, ...(type ? { type } : {}) });
      const s = session(ctx);
      const decide = await protection(db);
      const routed = new Set(items.filter((i) => decide.notice(i).protected).map((i) => i.id));
      const canSee = s.permissions.has('resident.viewProtectedAddress');
      render(
        ctx,
        '届出の審査',
        html`<h1>届出の審査</h1>
<form method="get" action="/review" class="card filters">
<label>状態<br><select name="status">${noticeStatuses.filter((x) => x !== 'draft').map((x) => html`<option value="${x}" ${x === status ? html`selected` : ''}>${noticeStatusLabels[x]}</option>`)}</select></label>
<label>届出<br><select name="type"><option value="">すべて</option>${noticeTypes.map((t) => html`<option value="${t}" ${t === type ? html`selected` : ''}>${noticeTypeLabels[t]}</option>`)}</select></label>
<button type="submit">絞り込む</button></form>
<p>${items.length} 件 (受付の古い順)</p>
${routed.size ? html`<p class="card warnings" role="alert"><span class="warning warning-supportMeasure">⚠ 支援措置担当の審査が必要な届出が ${routed.size} 件あります${canSee ? '' : ' (この役割では審査できません)'}。</span></p>` : ''}
<table id="work-list"><thead><tr><th>来庁</th><th>届出</th><th>異動日</th><th>人数</th><th>受付</th><th>警告</th><th></th></tr></thead><tbody>
${items.map(
  (
    i,
  ) => html`<tr><td>${i.visitNo}</td><td><a href="/review/notices/${i.id}">${noticeTypeLabels[i.type]}</a></td><td>${i.effectiveDate ? formatWareki(i.effectiveDate) : ''}</td><td class="num">${i.members}</td><td>${i.acceptedAt ? jst(i.acceptedAt.toISOString()) : ''} ${i.acceptedByName ?? ''}</td><td>${routed.has(i.id) ? html`<span class="badge badge-supportMeasure" id="review-protected-${i.id}">⚠ 支援措置担当の審査が必要</span> ` : ''}${i.lateWarning ?? ''}</td>
<td>${routed.has(i.id) && !canSee ? html`<span class="muted">支援措置担当が審査します</span>` : ''}${(!routed.has(i.id) || canSee) && i.status === 'accepted' ? html`<form method="post" action="/notices/${i.id}/move" class="inline"><input type="hidden" name="_csrf" value="${s.csrfToken ?? ''}"><input type="hidden" name="move" value="review"><button type="submit">審査済にする</button></form>` : ''}
${(!routed.has(i.id) || canSee) && i.status === 'reviewed' ? html`<form method="post" action="/notices/${i.id}/move" class="inline"><input type="hidden" name="_csrf" value="${s.csrfToken ?? ''}"><input type="hidden" name="move" value="reopen"><input name="reason" placeholder="差し戻す理由" required><button type="submit">差し戻す</button></form>` : ''}</td></tr>`,
)}
</tbody></table>`,
      );
    },
  );

  route(
    {
      method: 'GET',
      path: '/review/notices/:id',
      access: { permission: 'notice.review' },
      summary: '審査する届出 (画面)',
      params: NoticeP,
      response: htmlPage,
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      const n = await getNotice(db, id);
      if (!n || n.status === 'draft') throw notFound('届出');
      await db.transaction((trx) =>
        appendAudit(trx, {
          ...actor(ctx),
          action: 'notice.view',
          targetKind: 'notice',
          targetIds: [String(id), ...n.members.flatMap((m) => (m.addresseeNo ? [m.addresseeNo] : []))],
          result: 'success',
        }),
      );
      await showNotice(ctx, n, [], 'review.page');
    },
  );

  route(
    {
      method: 'POST',
      path: '/notices/:id/move',
      access: { permission: 'notice.review' },
      summary: '届出を審査済にする・差し戻す',
      params: NoticeP,
      body: AnyForm,
      response: htmlOrRedirect,
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      const move = str(form(ctx).move);
      if (move !== 'review' && move !== 'reopen') throw badRequest('操作が正しくありません');
      const reason = str(form(ctx).reason);
      if (move === 'reopen' && !reason) throw badRequest('差し戻す理由を入力してください');
      const n = move === 'review' ? await reviewNotice(db, id, actor(ctx)) : await sendBackNotice(db, id, reason, actor(ctx));
      if (ctx.accepts('html', 'json') === 'json') {
        ctx.body = (await noticesOut(ctx, [n], 'notice.move'))[0];
        return;
      }
      ctx.status = 303;
      ctx.redirect('/review');
    },
  );

  route(
    {
      method: 'POST',
      path: '/visits/:id/notices/:nid/cancel',
      access: accept,
      summary: '届出を取り消す',
      params: VisitNoticeP,
      body: AnyForm,
      response: redirect,
    },
    async (ctx) => {
      const { visitId, noticeId } = ids(ctx.input.params);
      const reason = str(form(ctx).reason);
      if (!reason) throw badRequest('取り消す理由を入力してください');
      await cancelNotice(db, noticeId, reason, actor(ctx), new Date(), visitId);
      ctx.status = 303;
      ctx.redirect(`/visits/${visitId}`);
    },
  );

  // The JSON side of the same actions.
  route(
    {
      method: 'GET',
      path: '/api/v1/visits/:id/notices',
      access: accept,
      summary: '来庁の届出',
      params: VisitP,
      response: json(NoticeListSchema),
    },
    async (ctx) => {
      return { notices: await noticesOut(ctx, await noticesOfVisit(db, ids(ctx.input.params).visitId), 'notice.api') };
    },
  );
  route(
    {
      method: 'GET',
      path: '/api/v1/visits/:id/procedures',
      access: accept,
      summary: '来庁の関連手続き・質問・回答',
      params: VisitP,
      response: json(VisitProceduresSchema),
    },
    async (ctx) => {
      const { visitId } = ids(ctx.input.params);
      const on = todayInJapan();
      const notices = await noticesOfVisit(db, visitId);
      const rows = await visitProcedures(db, visitId);
      const counter = session(ctx).counterId;
      const mySection = counterOf(counter)?.section ?? null;
      return {
        procedures: rows.map((r) => {
          const def = procedures.byId(r.procedureId);
          return {
            ...r,
            updatedAt: r.updatedAt.toISOString(),
            name: def?.name ?? r.procedureId,
            section: def?.section ?? null,
            counter: def?.counter ?? null,
            here: def ? def.counter === counter || def.section === mySection : false,
          };
        }),
        questions: await openQuestions(db, visitId, notices, procedures.definitions(on), on),
        answers: await visitAnswers(db, visitId),
      };
    },
  );
}

/** The visit page's sections for notices, procedures, questions and memos. */
export async function visitWorkSections(
  db: Knex,
  visitId: number,
  open: boolean,
  csrf: string,
  procedures: ProcedureSource,
  myCounter: string | null,
  mySection: string | null,
  counters: readonly { id: string; name: string; section: string; number?: number }[],
  canAccept: boolean,
  canSeeProtected = false,
  /** The languages the procedure guide can be printed in (config/languages), besides Japanese. */
  guideLanguages: readonly { code: string; name: string }[] = [],
): Promise<{ panel: SafeHtml; sections: SafeHtml }> {
  const on = todayInJapan();
  const notices = await noticesOfVisit(db, visitId);
  const decide = await protection(db);
  const touching = new Set(notices.filter((n) => decide.notice(noticeSubjectOf(n)).protected).map((n) => n.id));
  const printable = notices.filter((n) => n.status !== 'draft' && n.status !== 'cancelled');
  const catalog = procedures.definitions(on);
  const rows = await visitProcedures(db, visitId);
  // A form's detail questions are for the counter that handles the procedure (once it is listed).
  const listedHere = new Set(
    rows.filter((r) => !r.removed && isProcedureHere(procedures.byId(r.procedureId), myCounter, mySection)).map((r) => r.procedureId),
  );
  const askedHere = (q: Question) => !q.detail || catalog.some((d) => listedHere.has(d.id) && d.questions.some((x) => x.id === q.id));
  const questions: Question[] = canAccept ? (await openQuestions(db, visitId, notices, catalog, on)).filter(askedHere) : [];
  const answers = await visitAnswers(db, visitId);
  const memos = await visitMemos(db, visitId);
  const hidden = html`<input type="hidden" name="_csrf" value="${csrf}">`;
  const subjects = (await db('visit_subjects')
    .join('residents', 'residents.addressee_no', 'visit_subjects.addressee_no')
    .where({ visit_id: visitId })
    .orderBy('visit_subjects.id')
    .select('visit_subjects.addressee_no as addresseeNo', 'residents.name')) as { addresseeNo: string; name: string }[];
  const counterLabel = (id: string) => {
    const c = counters.find((x) => x.id === id);
    return c ? `${c.section} — ${c.name}` : id;
  };
  const active = rows.filter((r) => !r.removed);
  const removed = rows.filter((r) => r.removed);
  const persons = await personsOfProcedures(
    db,
    active.map((r) => ({ ...r, visitId })),
  );
  const isHere = (id: string) => isProcedureHere(procedures.byId(id), myCounter, mySection);
  const panel = counterPanel({
    visitId,
    open,
    hidden,
    counterName: counters.find((c) => c.id === myCounter)?.name ?? '',
    persons: visitPersons(printable, subjects),
    here: active
      .filter((r) => isHere(r.procedureId))
      .map((r) => ({ row: r, def: procedures.byId(r.procedureId), persons: persons.get(r.id) ?? [] })),
    elsewhere: active.filter((r) => !isHere(r.procedureId)),
  });
  const sections = html`<h2 id="notices">届出</h2>
${
  notices.length
    ? html`<table id="visit-notices"><tbody>${notices.map((n) => html`<tr><td><a href="/visits/${visitId}/notices/${n.id}">${noticeTypeLabels[n.type]}</a></td><td>${noticeStatusLabels[n.status]}</td><td>${n.effectiveDate ? formatWareki(n.effectiveDate) : ''}</td><td>${n.members.filter((m) => m.moving).length} 人</td><td>${n.lateWarning ? html`<span class="alert">⚠ 期限超過</span>` : ''}${touching.has(n.id) ? html` <span class="badge badge-supportMeasure" id="notice-protected-${n.id}">⚠ 支援措置${canSeeProtected ? '' : ' (住所は伏字で印刷)'}</span>` : ''}</td><td>${n.status !== 'draft' && n.status !== 'cancelled' ? html`<a href="/visits/${visitId}/notices/${n.id}/form.pdf" target="_blank" class="print-link">届書を印刷 (PDF)</a>` : ''}</td></tr>`)}</tbody></table>
${printable.some((n) => touching.has(n.id)) ? html`<p class="card warnings" role="alert" id="print-protected"><span class="warning warning-supportMeasure">⚠ 支援措置 — 支援措置の対象者・世帯・住所に関わる届出があります。${canSeeProtected ? '印刷した届書の住所を第三者に見せないでください。' : '届書の住所は伏字で印刷されます。'}</span></p>` : ''}
<p class="print-links"><a href="/visits/${visitId}/bundle.pdf" target="_blank" id="print-bundle">この来庁の書類をまとめて印刷</a> ・ <a href="/visits/${visitId}/guide.pdf" target="_blank" id="print-guide">手続きのご案内を印刷</a></p>
${
  guideLanguages.length > 1
    ? html`<form method="get" action="/visits/${visitId}/guide.pdf" target="_blank" class="inline print-links" id="guide-language"><label>ご案内を住民の言語で<br><select name="lang" id="guide-lang">${guideLanguages
        .filter((l) => l.code !== 'ja')
        .map((l) => html`<option value="${l.code}">${l.name}</option>`)}</select></label> <button type="submit">印刷</button></form>`
    : ''
}`
    : html`<p class="muted">まだ届出はありません。</p>`
}
${open && canAccept ? html`<form method="post" action="/visits/${visitId}/notices" class="card filters">${hidden}<label>届出の種類<br><select name="type" id="notice-type" ${notices.length ? '' : html`autofocus`}>${noticeTypes.map((t) => html`<option value="${t}">${noticeTypeLabels[t]}</option>`)}</select></label>${subjects.length > 1 ? html`<label>世帯 (対象者)<br><select name="subject" id="notice-subject">${subjects.map((x) => html`<option value="${x.addresseeNo}">${x.addresseeNo} ${x.name}</option>`)}</select></label>` : ''}<button type="submit" id="create-notice">届出を作成</button></form>` : ''}
${open && canAccept ? preEntryPanel(visitId, csrf, 'visit') : ''}
<h2 id="procedures">関連する手続き (${active.length} 件)</h2>
${
  active.length
    ? html`<table id="procedure-list"><thead><tr><th>手続き</th><th>対象</th><th>場所</th><th>理由</th><th>期限</th><th>状態</th><th></th></tr></thead><tbody>
${active.map((r) => {
  const def = procedures.byId(r.procedureId);
  const here = isHere(r.procedureId);
  return html`<tr class="${here ? 'here' : 'elsewhere'}"><td>${def?.name ?? r.procedureId}${r.source === 'manual' ? html` <span class="badge">手で追加</span>` : ''}</td><td class="procedure-persons">${(persons.get(r.id) ?? []).join('、')}</td>
<td>${here ? html`<strong>この窓口で</strong>` : html`他課 — ${def ? counterLabel(def.counter) : ''}`}</td><td>${r.reasons.join('、')}</td><td>${r.deadline ? formatWareki(r.deadline) : ''}</td>
<td>${open ? html`<form method="post" action="/visits/${visitId}/procedures/${r.id}" class="inline">${hidden}<select name="status" aria-label="${def?.name ?? r.procedureId} の状態">${procedureStatuses.map((st) => html`<option value="${st}" ${st === r.status ? html`selected` : ''}>${procedureStatusLabels[st]}</option>`)}</select><button type="submit">更新</button></form>` : procedureStatusLabels[r.status]}</td>
<td>${def?.forms.length ? html`<a href="/visits/${visitId}/procedures/${r.id}/forms.pdf" target="_blank" class="procedure-forms">申請書を印刷</a> ` : ''}${(def?.pamphlets ?? []).map((f) => html`<a href="/pamphlets/${f}" target="_blank" class="pamphlet">パンフレット</a> `)}${open ? html`<form method="post" action="/visits/${visitId}/procedures/${r.id}" class="inline">${hidden}<input type="hidden" name="op" value="remove"><input name="reason" placeholder="外す理由" aria-label="${def?.name ?? r.procedureId} を外す理由" size="10" required><button type="submit">外す</button></form>` : ''}</td></tr>`;
})}</tbody></table>`
    : html`<p class="muted">届出を受け付けると、ここに関連する手続きが出ます。</p>`
}
${removed.length ? html`<p class="muted">外した手続き: ${removed.map((r) => `${procedures.byId(r.procedureId)?.name ?? r.procedureId} (${r.reason ?? ''})`).join('、')}</p>` : ''}
${
  open && questions.length
    ? html`<form method="post" action="/visits/${visitId}/answers" class="card" id="questions">${hidden}<h3>質問</h3>
<p class="muted">はい・いいえの質問は、当てはまるものだけにチェックを入れて保存します (チェックのないものは「いいえ」として保存されます)。</p>
${questions.map((q) =>
  q.type === 'yesNo' && !q.detail
    ? html`<p class="question-check"><input type="hidden" name="checklist" value="${q.id}"><input type="hidden" name="was_${q.id}" value="${answers[q.id] === undefined ? '' : String(answers[q.id])}"><label class="check"><input type="checkbox" name="q_${q.id}" value="true" ${answers[q.id] === true ? html`checked` : ''}> ${q.text}</label>${answers[q.id] === undefined ? html` <span class="badge">未回答</span>` : ''}${q.help ? html` <span class="muted">${q.help}</span>` : ''}</p>`
    : html`<p><label>${q.text}<br>${
        q.type === 'yesNo'
          ? html`<select name="q_${q.id}"><option value="">未回答</option><option value="true" ${answers[q.id] === true ? html`selected` : ''}>はい</option><option value="false" ${answers[q.id] === false ? html`selected` : ''}>いいえ</option></select>`
          : q.type === 'choice'
            ? html`<select name="q_${q.id}"><option value="">未回答</option>${(q.choices ?? []).map((c) => html`<option value="${c}" ${answers[q.id] === c ? html`selected` : ''}>${c}</option>`)}</select>`
            : html`<input name="q_${q.id}" value="${typeof answers[q.id] === 'string' ? answers[q.id] : ''}">`
      }</label>${q.help ? html` <span class="muted">${q.help}</span>` : ''}</p>`,
)}
<p><button type="submit" id="save-answers">回答を保存 (手続きを見直す)</button></p></form>`
    : ''
}
${open && canAccept ? html`<form method="post" action="/visits/${visitId}/procedures" class="card filters">${hidden}<label>手続きを手で追加<br><select name="procedureId">${procedures.definitions(on).map((p) => html`<option value="${p.id}">${p.name}</option>`)}</select></label><label>理由<br><input name="reason" required></label><button type="submit">追加</button></form>` : ''}
<h2 id="memos">メモ</h2>
${memos.length ? html`<ul>${memos.map((m) => html`<li><span class="muted">${jst(m.createdAt?.toISOString() ?? null)} ${m.createdByName}</span> ${m.body}</li>`)}</ul>` : html`<p class="muted">メモはありません。</p>`}
${open ? html`<form method="post" action="/visits/${visitId}/memos" class="card filters">${hidden}<label>メモ<br><input name="body" size="60" list="memo-templates" required></label><datalist id="memo-templates">${MEMO_TEMPLATES.map((t) => html`<option value="${t}">`)}</datalist><button type="submit">追加</button></form>` : ''}`;
  return { panel, sections };
}

/** Whether a procedure is handled at this counter (its counter, or a counter of its section). */
export function isProcedureHere(
  def: { counter: string; section: string } | undefined,
  counterId: string | null,
  section: string | null,
): boolean {
  return def ? def.counter === counterId || def.section === section : false;
}

/** The persons of the visit: the movers of its notices (with their relationship), then its subjects. */
function visitPersons(notices: readonly Notice[], subjects: readonly { addresseeNo: string; name: string }[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const n of notices)
    for (const m of n.members.filter((x) => x.moving || x.event || n.members.every((y) => !y.moving))) {
      if (seen.has(m.name)) continue;
      seen.add(m.name);
      out.push(m.relationship ? `${m.name} (${m.relationship})` : m.name);
    }
  for (const x of subjects)
    if (!seen.has(x.name)) {
      seen.add(x.name);
      out.push(x.name);
    }
  return out;
}

/**
 * The panel at the top of the visit for the counter the member of staff sits at: who the visit is
 * for, this counter's procedures with the persons each concerns and one button per status (a
 * plain form: without script it posts and comes back; counter.js sends it in the background and
 * updates the row), and one button that marks every other counter's open procedure 他課案内済.
 */
function counterPanel(p: {
  visitId: number;
  open: boolean;
  hidden: SafeHtml;
  counterName: string;
  persons: readonly string[];
  here: readonly {
    row: { id: number; status: ProcedureStatus; procedureId: string };
    def: { name: string; forms: string[] } | undefined;
    persons: readonly string[];
  }[];
  elsewhere: readonly { status: ProcedureStatus }[];
}): SafeHtml {
  if (!p.persons.length && !p.here.length && !p.elsewhere.length) return html``;
  // The page opens on this counter's first open procedure (its 受付済 button): the first useful control.
  const firstOpen = p.open ? p.here.find((h) => h.row.status === 'pending' || h.row.status === 'printed')?.row.id : undefined;
  const quick = (rowId: number, status: ProcedureStatus, label: string, current: ProcedureStatus) =>
    html`<form method="post" action="/visits/${p.visitId}/procedures/${rowId}" class="inline quick-status" data-quick-status>${p.hidden}<input type="hidden" name="status" value="${status}"><button type="submit" ${current === status ? html`disabled` : ''} ${rowId === firstOpen && status === 'accepted' ? html`autofocus` : ''}>${label}</button></form>`;
  const openElsewhere = p.elsewhere.filter((r) => r.status === 'pending' || r.status === 'printed').length;
  return html`<section class="card counter-panel" id="counter-panel" aria-labelledby="counter-panel-title">
<h2 id="counter-panel-title">${p.counterName ? `${p.counterName} で行うこと` : 'この窓口で行うこと'}</h2>
${p.persons.length ? html`<p id="visit-persons">来庁の人: ${p.persons.map((x, i) => html`${i ? '、' : ''}<strong>${x}</strong>`)}</p>` : ''}
${
  p.here.length
    ? html`<table id="here-procedures"><thead><tr><th>手続き</th><th>対象</th><th>状態</th><th></th></tr></thead><tbody>${p.here.map(
        (h) =>
          html`<tr data-procedure="${h.row.id}"><td>${h.def?.name ?? h.row.procedureId}</td><td>${h.persons.join('、')}</td><td class="proc-status" aria-live="polite">${procedureStatusLabels[h.row.status]}</td><td>${
            p.open
              ? html`${quick(h.row.id, 'accepted', '受付済', h.row.status)} ${quick(h.row.id, 'referred', '他課案内済', h.row.status)}`
              : ''
          }${h.def?.forms.length ? html` <a href="/visits/${p.visitId}/procedures/${h.row.id}/forms.pdf" target="_blank">申請書</a>` : ''}</td></tr>`,
      )}</tbody></table>`
    : html`<p class="muted">この窓口で行う手続きはありません。</p>`
}
${
  p.elsewhere.length
    ? html`<p>他の窓口の手続き ${p.elsewhere.length} 件 (まだ案内していないもの ${openElsewhere} 件)${
        p.open && openElsewhere
          ? html` <form method="post" action="/visits/${p.visitId}/procedures/refer-elsewhere" class="inline">${p.hidden}<button type="submit" id="refer-elsewhere">他の窓口の手続きをまとめて「他課案内済」にする</button></form>`
          : ''
      }</p>`
    : ''
}
</section>`;
}

/** Memo templates offered while typing (O-46); free text is always allowed. */
const MEMO_TEMPLATES = [
  '本人確認書類の住所が旧住所のため、裏面記載を確認済み',
  '代理人の委任状を確認済み (原本を受領)',
  '保険年金課へ案内済み',
  '子育て支援課へ案内済み',
  '高齢介護課へ案内済み',
  '後日、郵送で届出書類を提出予定',
  '転出証明書の原本を受領',
];
