import type { Static } from '@sinclair/typebox';
import { appendAudit } from '../../audit/trail.js';
import { loadCertificateCatalog, type CertificateCatalog } from '../../certificates/catalog.js';
import {
  CertificateRequestError,
  priceRequest,
  type CertificateRequestLine,
  type OptionValue,
  type PricedRequest,
} from '../../certificates/fees.js';
import { acceptCertificateRequest, certificateRequestPage, certificateRequestPrint } from '../../certificates/requests.js';
import { errorCatalog } from '../../errors/catalog.js';
import { DomainError, notFound } from '../../errors/domainError.js';
import { FontSet } from '../../printing/fonts.js';
import { renderForms } from '../../printing/render.js';
import { loadFormTemplates } from '../../printing/template.js';
import { queueSettingsOf, scenarioCheck } from '../../rpa/jobs.js';
import { getVisit } from '../../visits/visits.js';
import { file, htmlOrRedirect, htmlPage, type Ctx, type RouteKit } from '../kit.js';
import { CERTIFICATE_FORM_LINES, CertificateForm, CertificateParams, CertificateRequestParams } from '../schemas/certificates.js';
import { certificatePage } from '../views/certificates.js';
import { printProblem, sendPdf } from '../views/print.js';

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

/**
 * Reads the request lines of the form (l0_type, l0_subject, …); options only those the type has.
 * `formIndex[k]` is the form line (from 0) of the k-th line read (empty lines are skipped).
 */
function readLines(
  form: Static<typeof CertificateForm>,
  catalog: CertificateCatalog,
): { lines: CertificateRequestLine[]; formIndex: number[] } {
  // The options of each line are the type's own fields (l0_scope…), beside the declared ones.
  const b = form as Record<string, unknown>;
  const lines: CertificateRequestLine[] = [];
  const formIndex: number[] = [];
  for (let i = 0; i < CERTIFICATE_FORM_LINES; i++) {
    const typeId = str(b[`l${i}_type`]);
    if (!typeId) continue;
    const type = catalog.typeById.get(typeId);
    const options: Record<string, OptionValue> = {};
    for (const o of type?.options ?? []) {
      const raw = b[`l${i}_${o.id}`];
      if (o.type === 'boolean') options[o.id] = raw === '1' || raw === 'on';
      else if (o.type === 'year' && str(raw)) options[o.id] = Number(str(raw));
      else if (o.type === 'choice' && str(raw)) options[o.id] = str(raw);
    }
    const items = str(b[`l${i}_items`]);
    formIndex.push(i);
    lines.push({
      typeId,
      subject: { addresseeNo: str(b[`l${i}_subject`]) || undefined },
      copies: Number(str(b[`l${i}_copies`]) || '1'),
      ...(items ? { items: Number(items) } : {}),
      purposeId: str(b[`l${i}_purpose`]),
      options,
    });
  }
  return { lines, formIndex };
}

/** Certificate requests (I-31..35, J-36): lines with fees and exemptions, issuance rules, the printed request. */
export function registerCertificateRoutes({ route, deps, render, session, actor }: RouteKit): void {
  const db = deps.knex;
  const catalog = () => loadCertificateCatalog(deps.configDir);

  const visitOf = async (id: number) => {
    const v = await getVisit(db, id);
    if (!v) throw notFound('来庁記録');
    return v;
  };

  /** The page; after a POST with the form as posted (every line kept) and `extraLine` for 「行を追加」. */
  const show = async (
    ctx: Ctx,
    visitId: number,
    problems: readonly string[],
    priced: PricedRequest | null,
    lineProblems: ReadonlyMap<number, readonly string[]> = new Map(),
    values: Record<string, unknown> = {},
    extraLine = false,
  ) => {
    const { subjects, saved } = await certificateRequestPage(db, visitId);
    const csrf = session(ctx).csrfToken ?? '';
    let used = 0;
    for (let i = 0; i < CERTIFICATE_FORM_LINES; i++) if (str(values[`l${i}_type`])) used = i + 1;
    const lineCount = Math.max(1, used + (extraLine ? 1 : 0));
    render(
      ctx,
      '証明書の請求',
      certificatePage({ visitId, catalog: catalog(), subjects, saved, csrf, problems, priced, lineProblems, values, lineCount }),
    );
  };

  route(
    {
      method: 'GET',
      path: '/visits/:id/certificates',
      access: { permission: 'certificate.accept' },
      summary: '証明書の請求 (画面)',
      params: CertificateParams,
      response: htmlPage,
    },
    async (ctx) => {
      const v = await visitOf(ctx.input.params.id);
      await show(ctx, v.id, [], null);
    },
  );

  route(
    {
      method: 'POST',
      path: '/visits/:id/certificates',
      access: { permission: 'certificate.accept' },
      summary: '証明書の請求の金額を確認する・受け付ける',
      description:
        '行ごとの手数料と免除を計算し、発行禁止・支援措置の交付の決まりを確かめます。`action=save` なら請求を受け付け (基幹系へ入力する RPA ジョブも作ります)、来庁の請求の画面へ戻ります。',
      params: CertificateParams,
      body: CertificateForm,
      response: htmlOrRedirect,
      errors: [
        'certificate.staffOnly',
        'certificate.subjectMissing',
        'certificate.subjectUnknown',
        'certificate.subjectNotInVisit',
        'certificate.issuanceBan',
        'certificate.supportMeasure',
      ],
    },
    async (ctx) => {
      const v = await visitOf(ctx.input.params.id);
      const form = ctx.input.body;
      const values = form as Record<string, unknown>;
      if (form.action === 'addLine') return show(ctx, v.id, [], null, new Map(), values, true);
      const cat = catalog();
      let priced: PricedRequest;
      const read = readLines(form, cat);
      try {
        priced = priceRequest(cat, { lines: read.lines });
      } catch (e) {
        if (!(e instanceof CertificateRequestError)) throw e;
        ctx.status = 400;
        return show(
          ctx,
          v.id,
          e.problems.map((p) => p.message),
          null,
          new Map(),
          values,
        );
      }
      const save = form.action === 'save';
      const s = session(ctx);
      if (save && s.staffId === null) throw new DomainError('certificate.staffOnly');
      const outcome = await acceptCertificateRequest(
        db,
        { visitId: v.id, priced, relation: form.relation, memo: str(form.memo), save },
        s,
        actor(ctx),
        { settings: queueSettingsOf(deps.config), hasScenario: scenarioCheck(deps.configDir, deps.config.rpa) },
      );
      if (outcome.refusals.length) {
        // The refusal is recorded by the command: an attempt to obtain someone else's or a protected
        // person's certificate matters. 400 when every line only names no or an unknown subject.
        ctx.status = Math.max(...outcome.refusals.map((r) => errorCatalog[r.code].status));
        const beside = new Map<number, string[]>();
        for (const r of outcome.refusals) {
          const i = read.formIndex[r.line - 1] ?? r.line - 1;
          beside.set(i, [...(beside.get(i) ?? []), r.message]);
        }
        return show(
          ctx,
          v.id,
          outcome.refusals.map((r) => r.message),
          priced,
          beside,
          values,
        );
      }
      if (!save) return show(ctx, v.id, [], priced, new Map(), values);
      ctx.status = 303;
      ctx.redirect(`/visits/${v.id}/certificates`);
    },
  );

  route(
    {
      method: 'GET',
      path: '/visits/:id/certificates/:rid/request.pdf',
      access: { permission: 'print.form' },
      summary: '証明書交付請求書を印刷する (PDF)',
      params: CertificateRequestParams,
      response: file('application/pdf'),
      errors: ['print.templateMissing'],
    },
    async (ctx) => {
      const v = await visitOf(ctx.input.params.id);
      const printout = await certificateRequestPrint(db, catalog(), v, ctx.input.params.rid, session(ctx));
      if (!printout) throw notFound('請求');
      const template = loadFormTemplates(deps.configDir).get('shomei-seikyu');
      if (!template) throw new DomainError('print.templateMissing', { template: 'shomei-seikyu' });
      const { request: r, subjectNo, masked } = printout;
      let pdf: Buffer;
      try {
        pdf = await renderForms(FontSet.load(deps.config.printing.fonts), [{ template, data: printout.data }]);
      } catch (e) {
        throw printProblem(e);
      }
      await db.transaction((trx) =>
        appendAudit(trx, {
          ...actor(ctx),
          action: 'print.form',
          targetKind: 'certificateRequest',
          targetIds: [String(r.id), ...(subjectNo ? [subjectNo] : [])],
          result: 'success',
          detail: { what: 'certificateRequest', template: 'shomei-seikyu', total: r.total, masked },
        }),
      );
      await printout.presenter.audit(db, actor(ctx), 'certificateRequest', { via: 'print.certificateRequest', visit: v.id });
      sendPdf(ctx, `certificate-request-${r.id}.pdf`, pdf);
    },
  );
}
