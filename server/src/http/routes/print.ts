import { Type as T } from '@sinclair/typebox';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { appendAudit } from '../../audit/trail.js';
import { DomainError, notFound } from '../../errors/domainError.js';
import { getNotice, noticesOfVisit } from '../../notices/notices.js';
import { procedureGuide } from '../../notices/procedureGuide.js';
import type { Notice } from '../../notices/notices.js';
import { markProcedurePrinted, visitAnswers, visitProcedures, type VisitProcedure } from '../../notices/visitProcedures.js';
import { FontSet } from '../../printing/fonts.js';
import { formsFor, noticeFormData } from '../../printing/formData.js';
import { renderForms, type FormToRender } from '../../printing/render.js';
import { loadFormTemplates, type FormTemplate } from '../../printing/template.js';
import { checkGuideGlyphs, drawGuide, renderGuide } from '../../printing/visitPrint.js';
import { presenterFor, type AddressPresenter } from '../../residents/protection.js';
import { getVisit, type Visit } from '../../visits/visits.js';
import { languagesForRequest } from '../../i18n/languages.js';
import { renderGuideIn } from '../../i18n/guidePdf.js';
import { badRequest, file, type Ctx, type ProcedureSource, type RouteAccess, type RouteKit } from '../kit.js';
import { IdParam } from '../schemas/common.js';
import { printProblem, sendPdf } from '../views/print.js';

const PDF = file('application/pdf');
const VisitP = T.Object({ id: IdParam('来庁番号') });
const GuideQuery = T.Object({ lang: T.Optional(T.String({ pattern: '^[a-z]{2,3}(-[A-Za-z]{2,8})?$', title: '言語 (lang)' })) });
const VisitNoticeP = T.Object({ id: IdParam('来庁番号'), nid: IdParam('届出番号') });
const VisitProcedureP = T.Object({ id: IdParam('来庁番号'), rid: IdParam('手続きの番号') });
const PamphletP = T.Object({
  file: T.String({
    pattern: '^[A-Za-z0-9_-][A-Za-z0-9._-]*\\.pdf$',
    maxLength: 200,
    title: 'パンフレットのファイル名',
    description: 'config/pamphlets の PDF のファイル名 (英数字・「.」「_」「-」)',
  }),
});

/** Printing from a visit (G-26, 27, 29; H-30): forms of its notices, a bundle, the procedure guide. */
export function registerPrintRoutes({ route, deps, session, actor }: RouteKit, procedures: ProcedureSource): void {
  const db = deps.knex;
  const access: RouteAccess = { permission: 'print.form' };
  const m = deps.config.municipality;
  const town = `${m.county ?? ''}${m.name}`;
  const fonts = () => FontSet.load(deps.config.printing.fonts);

  const visitOf = async (id: number) => {
    const v = await getVisit(db, id);
    if (!v) throw notFound('来庁記録');
    return v;
  };

  const accepted = async (visitId: number) =>
    (await noticesOfVisit(db, visitId)).filter((n) => n.status !== 'cancelled' && n.status !== 'draft');
  const memberNos = (ns: readonly Notice[]) => ns.flatMap((n) => n.members.flatMap((x) => (x.addresseeNo ? [x.addresseeNo] : [])));
  const counterNumber = (id: string) => deps.config.counters.find((c) => c.id === id)?.number ?? Number.MAX_SAFE_INTEGER;

  /** The templates of a procedure's forms, or the error naming the missing ones. */
  const templatesOf = (all: Map<string, FormTemplate>, forms: readonly string[]): FormTemplate[] => {
    const missing = forms.filter((f) => !all.has(f));
    if (missing.length) throw new DomainError('print.templateMissing', { template: missing.join(', ') });
    return forms.map((f) => all.get(f)!);
  };

  /**
   * The application forms of one procedure: its own notice (accepted, not cancelled), only the
   * persons it concerns, the answers. A procedure without persons (added by hand, or whose notice
   * was cancelled) is refused rather than printed for whoever came.
   */
  const procedureForms = async (
    v: Visit,
    row: Pick<VisitProcedure, 'noticeId' | 'members'>,
    def: { name: string },
    templates: FormTemplate[],
    notices: readonly Notice[],
    presenter: AddressPresenter,
    answers: Record<string, unknown>,
  ): Promise<{ forms: FormToRender[]; notice: Notice }> => {
    const notice = row.noticeId === null ? undefined : notices.find((n) => n.id === row.noticeId);
    if (!notice) throw new DomainError(notices.length ? 'print.noPersons' : 'print.noNoticeForForms', { name: def.name });
    const data = await noticeFormData(db, presenter, { visit: v, notice, town: m, answers, memberKeys: row.members });
    if (!data.household?.members?.length) throw new DomainError('print.noPersons', { name: def.name });
    return { forms: templates.flatMap((t) => formsFor(t, data)), notice };
  };
  /** Each procedure names the permission needed to handle it (P-49): printing its forms is handling it. */
  const mayHandle = (ctx: Ctx, def: { permission: string }) => session(ctx).permissions.has(def.permission);
  /** The notice forms and the visit bundle are the counter's: they need the right to take notices. */
  const needNoticeRight = (ctx: Ctx) => {
    if (!session(ctx).permissions.has('notice.accept'))
      throw new DomainError('notice.procedureForbidden', { name: '届書の印刷', permission: 'notice.accept' });
  };

  /** Sends a PDF for the browser's viewer (print from there), after auditing what was printed. */
  const send = async (
    ctx: Ctx,
    name: string,
    make: () => Promise<Buffer>,
    audit: { targetIds: string[]; detail: Record<string, unknown> },
  ) => {
    let pdf: Buffer;
    try {
      pdf = await make();
    } catch (e) {
      throw printProblem(e);
    }
    await db.transaction((trx) =>
      appendAudit(trx, {
        ...actor(ctx),
        action: 'print.form',
        targetKind: 'visit',
        targetIds: audit.targetIds,
        result: 'success',
        detail: { ...audit.detail, bytes: pdf.length },
      }),
    );
    sendPdf(ctx, name, pdf);
  };

  route(
    {
      method: 'GET',
      path: '/visits/:id/notices/:nid/form.pdf',
      access,
      summary: '届書 (住民異動届) を印刷する (PDF)',
      params: VisitNoticeP,
      response: PDF,
      errors: ['print.templateMissing', 'notice.procedureForbidden'],
    },
    async (ctx) => {
      needNoticeRight(ctx);
      const v = await visitOf(ctx.input.params.id);
      const n = await getNotice(db, ctx.input.params.nid);
      if (!n || n.visitId !== v.id) throw notFound('届出');
      const template = loadFormTemplates(deps.configDir).get('juminidou');
      if (!template) throw new DomainError('print.templateMissing', { template: 'juminidou' });
      const presenter = await presenterFor(db, session(ctx));
      const data = await noticeFormData(db, presenter, {
        visit: v,
        notice: n,
        town: m,
        answers: await visitAnswers(db, v.id),
        memberKeys: null,
      });
      await send(ctx, `juminidou-${v.visitNo}.pdf`, () => renderForms(fonts(), [{ template, data }]), {
        targetIds: [String(v.id), ...n.members.flatMap((x) => (x.addresseeNo ? [x.addresseeNo] : []))],
        detail: { what: 'noticeForm', template: 'juminidou', notice: n.id, masked: Object.keys(data.masks ?? {}).length > 0 },
      });
      await presenter.audit(db, actor(ctx), 'notice', { via: 'print.noticeForm', visit: v.id });
    },
  );

  // Everything the visit prints, as one PDF (one print job): each notice's 住民異動届, the forms of
  // every procedure of the visit in counter order (only the persons each concerns), then the
  // procedure guide. The procedures whose forms it holds become 申請書印刷済.
  route(
    {
      method: 'GET',
      path: '/visits/:id/bundle.pdf',
      access,
      summary: 'この来庁の書類をまとめて印刷する (届書・申請書・手続きのご案内、PDF)',
      params: VisitP,
      response: PDF,
      errors: ['print.noAcceptedNotices', 'print.templateMissing', 'notice.procedureForbidden'],
    },
    async (ctx) => {
      needNoticeRight(ctx);
      const v = await visitOf(ctx.input.params.id);
      const notices = await accepted(v.id);
      if (!notices.length) throw new DomainError('print.noAcceptedNotices');
      const all = loadFormTemplates(deps.configDir);
      const noticeTemplate = templatesOf(all, ['juminidou'])[0]!;
      const presenter = await presenterFor(db, session(ctx));
      const answers = await visitAnswers(db, v.id);
      const forms: FormToRender[] = [];
      for (const n of notices)
        forms.push({
          template: noticeTemplate,
          data: await noticeFormData(db, presenter, { visit: v, notice: n, town: m, answers, memberKeys: null }),
        });
      const withForms = (await visitProcedures(db, v.id))
        .filter((r) => !r.removed)
        .flatMap((r) => {
          const def = procedures.byId(r.procedureId);
          return def?.forms.length ? [{ r, def }] : [];
        })
        .sort((a, b) => counterNumber(a.def.counter) - counterNumber(b.def.counter) || a.def.order - b.def.order);
      // Only the procedures this role may handle, and only those with persons on an accepted notice:
      // the others are named in the audit record and printed at their own counter.
      const rows: typeof withForms = [];
      const left: { procedure: string; why: string }[] = [];
      for (const x of withForms) {
        if (!mayHandle(ctx, x.def)) {
          left.push({ procedure: x.def.id, why: 'permission' });
          continue;
        }
        try {
          forms.push(...(await procedureForms(v, x.r, x.def, templatesOf(all, x.def.forms), notices, presenter, answers)).forms);
          rows.push(x);
        } catch (e) {
          if (!(e instanceof DomainError) || e.code !== 'print.noPersons') throw e;
          left.push({ procedure: x.def.id, why: 'noPersons' });
        }
      }
      const guide = (await procedureGuide(db, v.id, procedures.byId, deps.config.counters))!;
      await send(
        ctx,
        `bundle-${v.visitNo}.pdf`,
        () => {
          const f = fonts();
          checkGuideGlyphs(f, guide, town);
          return renderForms(f, forms, { title: `来庁 ${v.visitNo} の書類`, after: (doc) => drawGuide(doc, guide, town) });
        },
        {
          targetIds: [String(v.id), ...memberNos(notices)],
          detail: {
            what: 'bundle',
            notices: notices.map((n) => n.id),
            procedures: rows.map(({ def }) => def.id),
            left,
            forms: forms.length,
            masked: forms.some((f) => Object.keys(f.data.masks ?? {}).length > 0),
          },
        },
      );
      await presenter.audit(db, actor(ctx), 'notice', { via: 'print.bundle', visit: v.id });
      for (const { r } of rows) await markProcedurePrinted(db, v.id, r.id, session(ctx).staffId);
    },
  );

  // The application forms of one procedure (G-26), filled from its notice and the answers; the
  // procedure becomes 申請書印刷済 unless it was already further along.
  route(
    {
      method: 'GET',
      path: '/visits/:id/procedures/:rid/forms.pdf',
      access,
      summary: '関連手続きの申請書を印刷する (PDF)',
      params: VisitProcedureP,
      response: PDF,
      errors: [
        'print.procedureNotInVisit',
        'print.procedureHasNoForms',
        'print.noNoticeForForms',
        'print.noPersons',
        'print.templateMissing',
        'notice.procedureForbidden',
      ],
    },
    async (ctx) => {
      const v = await visitOf(ctx.input.params.id);
      const row = (await db('visit_procedures')
        .where({ id: ctx.input.params.rid, visit_id: v.id })
        .first('id', 'procedure_id', 'notice_id')) as { id: number; procedure_id: string; notice_id: number | null } | undefined;
      if (!row) throw new DomainError('print.procedureNotInVisit');
      const def = procedures.byId(row.procedure_id);
      if (!def?.forms.length) throw new DomainError('print.procedureHasNoForms');
      if (!mayHandle(ctx, def)) throw new DomainError('notice.procedureForbidden', { name: def.name, permission: def.permission });
      const templates = templatesOf(loadFormTemplates(deps.configDir), def.forms);
      const members = (await visitProcedures(db, v.id)).find((r) => r.id === row.id)?.members ?? [];
      const presenter = await presenterFor(db, session(ctx));
      const { forms, notice } = await procedureForms(
        v,
        { noticeId: row.notice_id, members },
        def,
        templates,
        await accepted(v.id),
        presenter,
        await visitAnswers(db, v.id),
      );
      await send(ctx, `${def.id}-${v.visitNo}.pdf`, () => renderForms(fonts(), forms), {
        targetIds: [String(v.id), ...memberNos([notice])],
        detail: {
          what: 'procedureForms',
          procedure: def.id,
          templates: def.forms,
          copies: forms.length,
          masked: forms.some((f) => Object.keys(f.data.masks ?? {}).length > 0),
        },
      });
      await presenter.audit(db, actor(ctx), 'notice', { via: 'print.procedureForms', visit: v.id });
      await markProcedurePrinted(db, v.id, row.id, session(ctx).staffId);
    },
  );

  // Pamphlets (G-28): stored PDF files in config/pamphlets, attached to procedures by file name.
  route(
    {
      method: 'GET',
      path: '/pamphlets/:file',
      access,
      summary: 'パンフレット (PDF)',
      params: PamphletP,
      response: PDF,
      errors: ['print.pamphletMissing'],
    },
    async (ctx) => {
      const name = ctx.input.params.file;
      let pdf: Buffer;
      try {
        pdf = await readFile(path.join(deps.configDir, 'pamphlets', name));
      } catch {
        throw new DomainError('print.pamphletMissing');
      }
      await db.transaction((trx) =>
        appendAudit(trx, { ...actor(ctx), action: 'print.pamphlet', targetKind: 'pamphlet', targetIds: [name], result: 'success' }),
      );
      sendPdf(ctx, name, pdf);
    },
  );

  route(
    {
      method: 'GET',
      path: '/visits/:id/guide.pdf',
      access,
      summary: '手続きのご案内を印刷する (PDF、lang で住民の言語)',
      description:
        'lang は config/languages のファイルの言語コード (ja-easy・en・zh-CN・ko・vi・pt・fil・ne など)。訳のない文は日本語で印刷し、その言語の字形のない文字があれば印刷しません。',
      params: VisitP,
      query: GuideQuery,
      response: PDF,
      errors: ['input.invalid'],
    },
    async (ctx) => {
      const v = await visitOf(ctx.input.params.id);
      const guide = (await procedureGuide(db, v.id, procedures.byId, deps.config.counters))!;
      const lang = ctx.input.query.lang ?? 'ja';
      // The languages are read on each print, so a municipality's edit applies without a restart.
      const languages = lang === 'ja' ? null : languagesForRequest(deps.configDir);
      if (languages && !languages.has(lang))
        throw badRequest(`言語「${lang}」は config/languages にありません (${languages.codes.join('・')})`);
      await send(
        ctx,
        `guide-${v.visitNo}${languages ? `-${lang}` : ''}.pdf`,
        () => (languages ? renderGuideIn(lang, guide, town, languages, { fonts: fonts() }) : renderGuide(fonts(), guide, town)),
        { targetIds: [String(v.id)], detail: { what: 'procedureGuide', procedures: guide.items.length, lang } },
      );
    },
  );
}
