import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { appendAudit } from '../../audit/trail.js';
import { getNotice, noticesOfVisit } from '../../notices/notices.js';
import { procedureGuide } from '../../notices/procedureGuide.js';
import { markProcedurePrinted, visitAnswers } from '../../notices/visitProcedures.js';
import { FontSet } from '../../printing/fonts.js';
import { FormRenderError, MissingGlyphError, renderForms } from '../../printing/render.js';
import { loadFormTemplates } from '../../printing/template.js';
import { noticeFormData, renderGuide } from '../../printing/visitPrint.js';
import { getVisit } from '../../visits/visits.js';
import { badRequest, type RouteAccess, type RouteKit } from '../kit.js';
import type { ProcedureSource } from '../kit.js';

/** Printing from a visit (G-26, 27, 29; H-30): forms of its notices, a bundle, the procedure guide. */
export function registerPrintRoutes({ legacyRoute: route, deps, session, actor }: RouteKit, procedures: ProcedureSource): void {
  const db = deps.knex;
  const access: RouteAccess = { permission: 'print.form' };
  const m = deps.config.municipality;
  const town = `${m.county ?? ''}${m.name}`;

  const visitOf = async (raw: string | undefined) => {
    const id = Number(raw);
    if (!Number.isInteger(id) || id < 1) throw badRequest('来庁番号が正しくありません');
    const v = await getVisit(db, id);
    if (!v) throw Object.assign(new Error('指定された来庁記録はありません'), { status: 404, expose: true });
    return v;
  };

  /** Sends a PDF for the browser's viewer (print from there), after auditing what was printed. */
  const send = async (
    ctx: Parameters<RouteKit['actor']>[0],
    name: string,
    make: () => Promise<Buffer>,
    audit: { targetIds: string[]; detail: Record<string, unknown> },
  ) => {
    let pdf: Buffer;
    try {
      pdf = await make();
    } catch (e) {
      if (e instanceof MissingGlyphError)
        throw Object.assign(
          new Error(
            `「${e.char}」(${e.codePoint}) は印刷用のフォントにない文字です (様式 ${e.template} の項目 ${e.field})。外字の登録を情報政策課に依頼してください`,
          ),
          { status: 422, expose: true },
        );
      if (e instanceof FormRenderError)
        throw Object.assign(new Error(`${e.message} (様式 ${e.template} の項目 ${e.field})`), { status: 422, expose: true });
      throw e;
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
    ctx.type = 'application/pdf';
    ctx.set('Content-Disposition', `inline; filename="${name}"`);
    ctx.body = pdf;
  };

  route('GET', '/visits/:id/notices/:nid/form.pdf', access, async (ctx) => {
    const v = await visitOf(ctx.params.id);
    const n = await getNotice(db, Number(ctx.params.nid));
    if (!n || n.visitId !== v.id) return ctx.throw(404, '指定された届出はありません');
    const template = loadFormTemplates(deps.configDir).get('juminidou');
    if (!template) return ctx.throw(500, '様式 juminidou がありません');
    const data = await noticeFormData(db, n, v.visitNo, session(ctx));
    await send(ctx, `juminidou-${v.visitNo}.pdf`, () => renderForms(FontSet.load(deps.config.printing.fonts), [{ template, data }]), {
      targetIds: [String(v.id), ...n.members.flatMap((x) => (x.addresseeNo ? [x.addresseeNo] : []))],
      detail: { what: 'noticeForm', template: 'juminidou', notice: n.id, masked: Object.keys(data.masks ?? {}).length > 0 },
    });
  });

  route('GET', '/visits/:id/bundle.pdf', access, async (ctx) => {
    const v = await visitOf(ctx.params.id);
    const notices = (await noticesOfVisit(db, v.id)).filter((n) => n.status !== 'cancelled' && n.status !== 'draft');
    if (!notices.length) throw badRequest('印刷する受付済の届出がありません');
    const template = loadFormTemplates(deps.configDir).get('juminidou')!;
    const forms = await Promise.all(notices.map(async (n) => ({ template, data: await noticeFormData(db, n, v.visitNo, session(ctx)) })));
    await send(ctx, `bundle-${v.visitNo}.pdf`, () => renderForms(FontSet.load(deps.config.printing.fonts), forms), {
      targetIds: [String(v.id), ...notices.flatMap((n) => n.members.flatMap((x) => (x.addresseeNo ? [x.addresseeNo] : [])))],
      detail: { what: 'bundle', notices: notices.map((n) => n.id), forms: forms.length },
    });
  });

  // The application forms of one procedure (G-26), filled from its notice and the answers; the
  // procedure becomes 申請書印刷済 unless it was already further along.
  route('GET', '/visits/:id/procedures/:rid/forms.pdf', access, async (ctx) => {
    const v = await visitOf(ctx.params.id);
    const row = (await db('visit_procedures')
      .where({ id: Number(ctx.params.rid), visit_id: v.id })
      .first('id', 'procedure_id', 'notice_id', 'status')) as
      { id: number; procedure_id: string; notice_id: number | null; status: string } | undefined;
    if (!row) return ctx.throw(404, '指定された手続きはこの来庁にありません');
    const def = procedures.byId(row.procedure_id);
    if (!def?.forms.length) throw badRequest('この手続きには印刷する様式がありません');
    const all = loadFormTemplates(deps.configDir);
    const missing = def.forms.filter((f) => !all.has(f));
    if (missing.length) return ctx.throw(500, `様式 ${missing.join(', ')} がありません (config/forms)`);
    const notices = (await noticesOfVisit(db, v.id)).filter((n) => n.status !== 'draft' && n.status !== 'cancelled');
    const notice = notices.find((n) => n.id === row.notice_id) ?? notices[0];
    if (!notice) throw badRequest('受付済の届出がないため、様式に入れる内容がありません');
    const data = { ...(await noticeFormData(db, notice, v.visitNo, session(ctx))), answers: await visitAnswers(db, v.id) };
    await send(
      ctx,
      `${def.id}-${v.visitNo}.pdf`,
      () =>
        renderForms(
          FontSet.load(deps.config.printing.fonts),
          def.forms.map((f) => ({ template: all.get(f)!, data })),
        ),
      {
        targetIds: [String(v.id), ...notice.members.flatMap((x) => (x.addresseeNo ? [x.addresseeNo] : []))],
        detail: { what: 'procedureForms', procedure: def.id, templates: def.forms, masked: Object.keys(data.masks ?? {}).length > 0 },
      },
    );
    await markProcedurePrinted(db, v.id, row.id, session(ctx).staffId);
  });

  // Pamphlets (G-28): stored PDF files in config/pamphlets, attached to procedures by file name.
  route('GET', '/pamphlets/:file', access, async (ctx) => {
    const file = ctx.params.file ?? '';
    if (!/^[A-Za-z0-9._-]+\.pdf$/.test(file) || file.startsWith('.')) throw badRequest('パンフレットのファイル名が正しくありません');
    let pdf: Buffer;
    try {
      pdf = await readFile(path.join(deps.configDir, 'pamphlets', file));
    } catch {
      return ctx.throw(404, 'パンフレットのファイルがありません (config/pamphlets)');
    }
    await db.transaction((trx) =>
      appendAudit(trx, { ...actor(ctx), action: 'print.pamphlet', targetKind: 'pamphlet', targetIds: [file], result: 'success' }),
    );
    ctx.type = 'application/pdf';
    ctx.set('Content-Disposition', `inline; filename="${file}"`);
    ctx.body = pdf;
  });

  route('GET', '/visits/:id/guide.pdf', access, async (ctx) => {
    const v = await visitOf(ctx.params.id);
    const guide = (await procedureGuide(db, v.id, procedures.byId, deps.config.counters))!;
    await send(ctx, `guide-${v.visitNo}.pdf`, () => renderGuide(FontSet.load(deps.config.printing.fonts), guide, town), {
      targetIds: [String(v.id)],
      detail: { what: 'procedureGuide', procedures: guide.items.length },
    });
  });
}
