import { japanDayBounds } from '../../domain/japanTime.js';
import { Type as T, type Static } from '@sinclair/typebox';
import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { StaffSession } from '../../auth/sessions.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { dbDate } from '../../db/values.js';
import { parseDateInput } from '../../domain/dateInput.js';
import { todayInJapan } from '../../domain/dates.js';
import { DomainError, isDomainError, notFound } from '../../errors/domainError.js';
import { presentVisit, type PresentedVisit } from '../../residents/present.js';
import { presenterFor } from '../../residents/protection.js';
import { parseSearchParams, runSearch, viewPerson } from '../../residents/service.js';
import { MASKED_ADDRESS } from '../../residents/warnings.js';
import {
  addSubject,
  changeVisitStatus,
  getVisit,
  openVisit,
  saveVisitor,
  type NewSubject,
  type Visit,
  type VisitorFields,
  type VisitStatus,
} from '../../visits/visits.js';
import { htmlOrRedirect, htmlPage, json, redirect, type Ctx, type ProcedureSource, type RouteAccess, type RouteKit } from '../kit.js';
import { AddresseeNo } from '../schemas/common.js';
import { SearchQuerySchema } from '../schemas/residents.js';
import {
  FromVisitQuery,
  OpenVisitForm,
  StatusChangeSchema,
  SubjectInputSchema,
  VisitHistoryQuery,
  VisitorInputSchema,
  VisitParams,
  VisitSchema,
} from '../schemas/visits.js';
import {
  personPage,
  searchPage,
  visitHistoryPage,
  visitPage,
  type IdentityRetry,
  type SearchOutcome,
  type VisitHistoryRow,
} from '../views/counter.js';
import { visitWorkSections } from './notices.js';
import { languageChoices } from '../../i18n/languages.js';
import { noticesOfVisit } from '../../notices/notices.js';

const TAG = '来庁';
const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');
const orNull = (v: unknown): string | null => str(v) || null;

const SearchPageQuery = T.Object({ ...SearchQuerySchema.properties, ...FromVisitQuery });
const PersonPageParams = T.Object({ addresseeNo: AddresseeNo() });
const PersonPageQuery = T.Object({
  ...FromVisitQuery,
  myNumber: T.Optional(T.Union([T.Literal('1'), T.Literal('0')], { title: '個人番号を表示 (myNumber)' })),
});

/** The visit as the JSON API gives it (times as ISO 8601), from the presented visit only. */
export function visitJson(v: PresentedVisit): Static<typeof VisitSchema> {
  return {
    ...v,
    channel: v.channel as Static<typeof VisitSchema>['channel'],
    visitorSex: v.visitorSex as Static<typeof VisitSchema>['visitorSex'],
    openedAt: v.openedAt.toISOString(),
    closedAt: v.closedAt?.toISOString() ?? null,
    updatedAt: v.updatedAt.toISOString(),
    identityCheckedAt: v.identityCheckedAt?.toISOString() ?? null,
    subjects: v.subjects.map((s) => ({ ...s, addedAt: s.addedAt.toISOString() })),
  };
}

/**
 * The visit history (来庁の履歴) for a period, a status and a person. Looking up someone's visits
 * is a reference to that person: it is audited with the number of visits shown.
 * (The visits read model's place is `visits/queries.ts`.)
 */
async function visitHistory(
  knex: Knex,
  f: { from: string; to: string; status: VisitStatus | null; subject: string | null },
  actor: AuditActor,
): Promise<VisitHistoryRow[]> {
  const days = japanDayBounds(f.from, f.to);
  let q = knex('visits')
    .join('staff', 'staff.id', 'visits.opened_by')
    .where('visits.opened_at', '>=', days.from)
    .andWhere('visits.opened_at', '<', days.to);
  if (f.status) q = q.where('visits.status', f.status);
  if (f.subject) q = q.whereIn('visits.id', knex('visit_subjects').where({ addressee_no: f.subject }).select('visit_id'));
  const rows = (await q
    .orderBy('visits.opened_at', 'desc')
    .limit(300)
    .select(
      'visits.id',
      'visits.visit_no',
      'visits.status',
      'visits.channel',
      'visits.counter_id',
      'visits.opened_at',
      'visits.closed_at',
      'staff.display_name',
    )) as Record<string, unknown>[];
  if (f.subject) {
    const subject = f.subject;
    await knex.transaction((trx) =>
      appendAudit(trx, {
        ...actor,
        action: 'visit.history',
        targetKind: 'resident',
        targetIds: [subject],
        result: 'success',
        detail: { from: f.from, to: f.to, shown: rows.length },
      }),
    );
  }
  return rows.map((r) => ({
    id: Number(r.id),
    visitNo: String(r.visit_no),
    status: r.status as VisitStatus,
    channel: String(r.channel),
    counterId: (r.counter_id as string | null) ?? null,
    openedAt: dbDate(r.opened_at),
    closedAt: dbDate(r.closed_at),
    openedByName: String(r.display_name),
  }));
}

/** The counter screens: search, person view and visits (B-6..8, C-10..12, D-13..17), and the visits JSON API. */
export function registerCounterRoutes(kit: RouteKit, procedures: ProcedureSource): void {
  const { route, deps, render, session, actor } = kit;
  const knex = deps.knex;
  const search: RouteAccess = { permission: 'resident.search' };
  const visits: RouteAccess = { permission: 'visit.handle' };
  const counterName = (id: string | null) => deps.config.counters.find((c) => c.id === id)?.name ?? id ?? '';

  const visitById = async (id: number): Promise<Visit> => {
    const v = await getVisit(knex, id);
    if (!v) throw notFound('来庁記録');
    return v;
  };
  /** The visit for the JSON API: presented for the viewer, an unmasked protected read audited. */
  const visitOut = async (ctx: Parameters<typeof session>[0], id: number): Promise<Static<typeof VisitSchema>> => {
    const presenter = await presenterFor(knex, session(ctx));
    const shown = presentVisit(presenter, await visitById(id));
    await presenter.audit(knex, actor(ctx), 'visit', { visit: id, via: 'visit.api' });
    return visitJson(shown);
  };
  const fromVisit = async (id: number | undefined): Promise<Visit | null> => (id === undefined ? null : visitById(id));
  /** The card type of a reading this session collected for this visit (card readers: cards/relay.ts). */
  const cardOf = (ctx: Ctx, visitId: number, requestId: string | undefined): string | null =>
    requestId ? (deps.cardRelay?.collectedCard({ visitId, sessionId: session(ctx).id }, requestId) ?? null) : null;
  const staffOf = (s: StaffSession): number => {
    if (s.staffId === null) throw new DomainError('visit.staffOnly');
    return s.staffId;
  };

  route(
    {
      method: 'GET',
      path: '/search',
      access: search,
      summary: '住民検索 (画面)',
      query: SearchPageQuery,
      response: htmlPage,
    },
    async (ctx) => {
      const query = ctx.input.query;
      const visit = await fromVisit(query.visit);
      let outcome: SearchOutcome = { kind: 'none' };
      if (['name', 'kana', 'birthDate', 'address'].some((k) => str(query[k as keyof typeof query]))) {
        try {
          outcome = {
            kind: 'results',
            response: await runSearch(knex, parseSearchParams(query, deps.config.municipality), session(ctx), actor(ctx)),
          };
        } catch (e) {
          // A search that cannot run (an unreadable birth date…) is explained beside the form.
          const status = isDomainError(e) ? e.status : (e as { status?: number }).status;
          if (status !== 400) throw e;
          ctx.status = 400;
          outcome = { kind: 'error', message: (e as Error).message };
        }
      }
      render(ctx, '住民検索', searchPage(query, visit, outcome));
    },
  );

  route(
    {
      method: 'GET',
      path: '/residents/:addresseeNo',
      access: search,
      summary: '住民 1 人の照会 (画面)',
      params: PersonPageParams,
      query: PersonPageQuery,
      response: htmlPage,
      errors: ['resident.notFound'],
    },
    async (ctx) => {
      const visit = await fromVisit(ctx.input.query.visit);
      const viewer = session(ctx);
      const showMyNumber = ctx.input.query.myNumber === '1';
      const view = await viewPerson(knex, ctx.input.params.addresseeNo, viewer, actor(ctx), {
        myNumber: showMyNumber,
        ...(visit ? { visitId: visit.id } : {}),
      });
      if (!view) throw new DomainError('resident.notFound');
      render(ctx, view.person.name, personPage(view, viewer, visit, showMyNumber));
    },
  );

  route(
    {
      method: 'POST',
      path: '/visits',
      access: visits,
      summary: '来庁を受け付ける (画面から)',
      body: OpenVisitForm,
      response: redirect,
      errors: ['visit.staffOnlyOpen'],
    },
    async (ctx) => {
      const s = session(ctx);
      if (s.staffId === null) throw new DomainError('visit.staffOnlyOpen');
      const v = await openVisit(knex, s.staffId, s.counterId, actor(ctx), ctx.input.body.channel || 'counter');
      ctx.status = 303;
      ctx.redirect(`/visits/${v.id}`);
    },
  );

  route(
    {
      method: 'GET',
      path: '/visits',
      access: visits,
      summary: '来庁の履歴 (画面)',
      query: VisitHistoryQuery,
      response: htmlPage,
    },
    async (ctx) => {
      const q = ctx.input.query;
      const from = q.from || todayInJapan();
      const filter = { from, to: q.to || from, status: q.status || '', subject: q.addresseeNo ?? '' };
      const rows = await visitHistory(knex, { ...filter, status: q.status || null, subject: q.addresseeNo || null }, actor(ctx));
      render(ctx, '来庁の履歴', visitHistoryPage(filter, rows, counterName));
    },
  );

  /** The visit page; after an identity form that could not be saved, that form as typed with its errors. */
  const showVisit = async (ctx: Ctx, id: number, retry: IdentityRetry | null = null): Promise<void> => {
    const v = await visitById(id);
    const s = session(ctx);
    // The subjects are personal data: what they show is masked and audited like a search result.
    // One after another: each view writes its audit record in a transaction of its own, and
    // parallel writers on SQLite queue for the one write lock (a visit of 5 subjects timed out).
    const subjects: { no: string; view: Awaited<ReturnType<typeof viewPerson>> }[] = [];
    for (const x of v.subjects)
      if (x.addresseeNo)
        subjects.push({ no: x.addresseeNo, view: await viewPerson(knex, x.addresseeNo, s, actor(ctx), { visitId: v.id }) });
    const section = deps.config.counters.find((c) => c.id === s.counterId)?.section ?? null;
    const work = await visitWorkSections(
      knex,
      v.id,
      v.status !== 'closed',
      s.csrfToken ?? '',
      procedures,
      s.counterId,
      section,
      deps.config.counters,
      s.permissions.has('notice.accept'),
      s.permissions.has('resident.viewProtectedAddress'),
      languageChoices(deps.configDir),
    );
    const presenter = await presenterFor(knex, s);
    const shown = presentVisit(presenter, v);
    await presenter.audit(knex, actor(ctx), 'visit', { visit: v.id, via: 'visit.page' });
    // A 転入 has no register subject: the identity form starts from the head typed on the notice.
    const moveIn = subjects.length
      ? undefined
      : (await noticesOfVisit(knex, v.id)).find((n) => (n.type === 'moveIn' || n.type === 'specialMoveIn') && n.status !== 'cancelled');
    // Only a marked head: a 転入 into an existing household has none, and a child must not become 本人.
    const head = moveIn?.members.find((m) => m.head);
    render(
      ctx,
      `来庁 ${v.visitNo}`,
      visitPage(
        shown,
        subjects,
        s,
        counterName,
        work.sections,
        work.panel,
        head ? { name: head.name, nameKana: head.nameKana, birthDate: head.birthDate, sex: head.sex } : null,
        retry,
      ),
    );
  };

  route(
    {
      method: 'GET',
      path: '/visits/:id',
      access: visits,
      summary: '来庁記録 (画面)',
      params: VisitParams,
      response: htmlPage,
    },
    async (ctx) => showVisit(ctx, ctx.input.params.id),
  );

  route(
    {
      method: 'POST',
      path: '/visits/:id/visitor',
      access: visits,
      summary: '来庁者と本人確認を保存する (画面から)',
      params: VisitParams,
      body: VisitorInputSchema,
      response: htmlOrRedirect,
      errors: ['visit.staffOnly', 'visit.proxyRelationshipRequired', 'date.dayRequired', 'state.moveNotAllowed'],
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      let fields: VisitorFields;
      try {
        fields = visitorFields(ctx.input.body);
      } catch (e) {
        // A field that cannot be saved: the same page, the form as typed, the reason beside the field.
        if (!(e instanceof DomainError) || !e.fields?.length) throw e;
        ctx.status = 400;
        const values = Object.fromEntries(Object.entries(ctx.input.body).map(([k, x]) => [k, typeof x === 'string' ? x : x ? '1' : '']));
        // The refused save and the page shown again (a 400 the kit does not audit) are recorded here.
        await knex.transaction(async (trx) => {
          const base = { ...actor(ctx), targetKind: 'visit', targetIds: [String(id)] };
          await appendAudit(trx, {
            ...base,
            action: 'visit.identity',
            result: 'failure',
            detail: { fields: e.fields.map((f) => f.field) },
          });
          await appendAudit(trx, { ...base, action: 'visit.view', result: 'success', detail: { via: 'visit.identityRetry' } });
        });
        return showVisit(ctx, id, { values, errors: e.fields });
      }
      const stored = await visitById(id);
      const fromCard = cardOf(ctx, id, ctx.input.body.cardReading);
      await saveVisitor(knex, id, staffOf(session(ctx)), withIdentityCard(keepMasked(fields, stored), stored, fromCard), actor(ctx));
      ctx.status = 303;
      ctx.redirect(`/visits/${id}`);
    },
  );

  route(
    {
      method: 'POST',
      path: '/visits/:id/subjects',
      access: visits,
      summary: '来庁の対象者を追加する (画面から)',
      params: VisitParams,
      body: SubjectInputSchema,
      response: redirect,
      errors: ['visit.staffOnly', 'visit.manualNameRequired', 'date.dayRequired', 'state.moveNotAllowed'],
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      await addSubject(knex, id, staffOf(session(ctx)), subjectFields(ctx.input.body), actor(ctx));
      ctx.status = 303;
      ctx.redirect(`/visits/${id}`);
    },
  );

  route(
    {
      method: 'POST',
      path: '/visits/:id/status',
      access: visits,
      summary: '来庁記録を保留・再開・完了する (画面から)',
      params: VisitParams,
      body: StatusChangeSchema,
      response: redirect,
      errors: ['visit.staffOnly', 'state.moveNotAllowed'],
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      const change = ctx.input.body.change;
      const s = session(ctx);
      await changeVisitStatus(knex, id, staffOf(s), change, s.counterId, actor(ctx));
      ctx.status = 303;
      ctx.redirect(change === 'resume' ? `/visits/${id}` : '/');
    },
  );

  // The same actions as JSON for other clients.
  route(
    {
      method: 'POST',
      path: '/api/v1/visits',
      access: visits,
      tag: TAG,
      summary: '来庁を受け付ける (来庁記録を開く)',
      description:
        'ログイン中の職員と窓口で、窓口受付の来庁記録を開きます。来庁番号は日本の日付と当日の連番です (`20261202-0007`)。本文は不要です (ブラウザのセッションでは CSRF トークンをヘッダーで送ります)。端末のトークンでは開けません (403)。',
      response: json(VisitSchema, { status: 201, description: '開いた来庁記録' }),
      errors: ['visit.staffOnly'],
    },
    async (ctx) => {
      const s = session(ctx);
      return visitOut(ctx, (await openVisit(knex, staffOf(s), s.counterId, actor(ctx))).id);
    },
  );

  route(
    {
      method: 'GET',
      path: '/api/v1/visits/:id',
      access: visits,
      tag: TAG,
      summary: '来庁記録を取得する',
      description: '来庁記録を、本人確認の内容と対象者 (住民記録から選んだ人の宛名番号、または手入力の人) とともに返します。',
      params: VisitParams,
      response: json(VisitSchema, { description: '来庁記録' }),
    },
    async (ctx) => visitOut(ctx, ctx.input.params.id),
  );

  route(
    {
      method: 'POST',
      path: '/api/v1/visits/:id/visitor',
      access: visits,
      tag: TAG,
      summary: '来庁者と本人確認を保存する',
      description: [
        '来庁者の区分 (本人・代理人・同一世帯の者)、本人確認書類、書類や申告どおりの来庁者の情報を保存し、更新後の来庁記録を返します。保存するたびに全項目を置き換えます (送らなかった項目は空になります)。本人確認書類を送ると `identityCheckedAt` に確認日時が入ります。',
        '書類と住民記録が違うときは、書類どおりの値を送ってください (住民記録は変わりません)。カード読取装置の値もここに入ります。',
        '完了した来庁記録は変更できません (409)。端末のトークンでは変更できません (403)。',
      ].join('\n\n'),
      params: VisitParams,
      body: VisitorInputSchema,
      response: json(VisitSchema, { description: '更新後の来庁記録' }),
      errors: ['visit.staffOnly', 'visit.proxyRelationshipRequired', 'date.dayRequired', 'state.moveNotAllowed'],
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      const stored = await visitById(id);
      const fromCard = cardOf(ctx, id, ctx.input.body.cardReading);
      await saveVisitor(
        knex,
        id,
        staffOf(session(ctx)),
        withIdentityCard(keepMasked(visitorFields(ctx.input.body), stored), stored, fromCard),
        actor(ctx),
      );
      return visitOut(ctx, id);
    },
  );

  route(
    {
      method: 'POST',
      path: '/api/v1/visits/:id/subjects',
      access: visits,
      tag: TAG,
      summary: '来庁の対象者を追加する',
      description:
        '来庁の用件の対象者を追加し、更新後の来庁記録を返します。住民記録の人は `addresseeNo` (宛名番号) で、住民記録にない人は `manualName` ほかの手入力で指定します (`addresseeNo` があれば手入力の項目は使いません)。同じ宛名番号を 2 回追加しても 1 人です。完了した来庁記録には追加できません (409)。',
      params: VisitParams,
      body: SubjectInputSchema,
      response: json(VisitSchema, { description: '更新後の来庁記録' }),
      errors: ['visit.staffOnly', 'visit.manualNameRequired', 'date.dayRequired', 'state.moveNotAllowed'],
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      await addSubject(knex, id, staffOf(session(ctx)), subjectFields(ctx.input.body), actor(ctx));
      return visitOut(ctx, id);
    },
  );

  route(
    {
      method: 'POST',
      path: '/api/v1/visits/:id/status',
      access: visits,
      tag: TAG,
      summary: '来庁記録を保留・再開・完了する',
      description:
        '`pause` 保留 (来庁者が他の課へ)、`resume` この窓口で再開 (来庁記録の窓口がこの窓口に移ります)、`close` 完了。保留は対応中から、再開は保留中・対応中から、完了は対応中・保留中からだけできます (それ以外は 409 で、できる操作を返します)。更新後の来庁記録を返します。',
      params: VisitParams,
      body: StatusChangeSchema,
      response: json(VisitSchema, { description: '更新後の来庁記録' }),
      errors: ['visit.staffOnly', 'state.moveNotAllowed'],
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      const s = session(ctx);
      await changeVisitStatus(knex, id, staffOf(s), ctx.input.body.change, s.counterId, actor(ctx));
      return visitOut(ctx, id);
    },
  );
}

/** A date typed at the counter (和暦 or 西暦), to the day; empty is none. */
function dayOrNull(v: string | undefined, label: string, field: string): string | null {
  const s = str(v);
  if (!s) return null;
  const d = parseDateInput(s);
  if (!d.ok) throw new DomainError('date.unreadable', { label, detail: d.message }, [{ field, message: `${label}: ${d.message}` }]);
  if (d.from !== d.to) throw new DomainError('date.dayRequired', { label }, [{ field, message: `${label}は日まで入力してください` }]);
  return d.from;
}

/** The visitor as saved: a proxy names the relationship; proxy details are kept only for a proxy. */
function visitorFields(b: Static<typeof VisitorInputSchema>): VisitorFields {
  const role = b.visitorRole ?? 'subject';
  const proxy = role === 'proxy';
  if (proxy && !str(b.proxyRelationship))
    throw new DomainError('visit.proxyRelationshipRequired', {}, [
      { field: 'proxyRelationship', message: '代理人の場合は本人との関係を入力してください' },
    ]);
  const power = b.proxyPowerOfAttorney;
  return {
    visitorRole: role,
    identityDocument: orNull(b.identityDocument),
    identityDocumentNote: orNull(b.identityDocumentNote),
    visitorAddresseeNo: orNull(b.visitorAddresseeNo),
    visitorName: orNull(b.visitorName),
    visitorKana: orNull(b.visitorKana),
    visitorBirthDate: dayOrNull(b.visitorBirthDate, '来庁者の生年月日', 'visitorBirthDate'),
    visitorSex: orNull(b.visitorSex),
    visitorAddress: orNull(b.visitorAddress),
    visitorPhone: orNull(b.visitorPhone),
    proxyRelationship: proxy ? orNull(b.proxyRelationship) : null,
    proxyPowerOfAttorney: proxy && Boolean(power),
    proxyDocument: proxy ? orNull(b.proxyDocument) : null,
    identityCard: null,
  };
}

/**
 * 「ICカード読取」: marked when the form carries a reading this session collected for this visit and
 * the document is that card; kept while the document stays the card that was read; otherwise none.
 * (The document keys myNumberCard / residenceCard are the card types.)
 */
function withIdentityCard(f: VisitorFields, stored: Visit, collected: string | null): VisitorFields {
  if (collected && f.identityDocument === collected) return { ...f, identityCard: collected };
  return { ...f, identityCard: stored.identityCard && f.identityDocument === stored.identityCard ? stored.identityCard : null };
}

/**
 * The mask posted back unchanged (the identity form shows it to staff without the right) keeps
 * the stored address: saving the form never overwrites a protected address with the mask text.
 */
function keepMasked(f: VisitorFields, stored: Visit): VisitorFields {
  return f.visitorAddress === MASKED_ADDRESS ? { ...f, visitorAddress: stored.visitorAddress } : f;
}

/** A subject from the register (宛名番号) or typed by hand (the name is then required). */
function subjectFields(b: Static<typeof SubjectInputSchema>): NewSubject {
  const no = str(b.addresseeNo);
  if (no) return { addresseeNo: no };
  const name = str(b.manualName);
  if (!name)
    throw new DomainError('visit.manualNameRequired', {}, [{ field: 'manualName', message: '手入力する人の氏名を入力してください' }]);
  return {
    manualName: name,
    manualKana: orNull(b.manualKana),
    manualBirthDate: dayOrNull(b.manualBirthDate, '生年月日', 'manualBirthDate'),
    manualAddress: orNull(b.manualAddress),
  };
}
