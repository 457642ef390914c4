import { loadCertificateCatalog, type CertificateCatalog, type CertificateType } from '../../certificates/catalog.js';
import {
  CertificateRequestError,
  priceRequest,
  type CertificateRequestLine,
  type OptionValue,
  type PricedRequest,
} from '../../certificates/fees.js';
import { issuanceRefusals, requesterRelations, saveCertificateRequest, type RequesterRelation } from '../../certificates/requests.js';
import { appendAudit } from '../../audit/trail.js';
import { queueSettingsOf, scenarioCheck } from '../../rpa/jobs.js';
import { FontSet } from '../../printing/fonts.js';
import { renderForms } from '../../printing/render.js';
import { loadFormTemplates } from '../../printing/template.js';
import { MASKED_ADDRESS, protectionFor } from '../../residents/warnings.js';
import { getVisit } from '../../visits/visits.js';
import { html, type SafeHtml } from '../html.js';
import { badRequest, type RouteKit } from '../kit.js';

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');
const LINES = 5;

/** Reads the request lines of the form (l0_type, l0_subject, …); options only those the type has. */
function readLines(b: Record<string, unknown>, catalog: CertificateCatalog): CertificateRequestLine[] {
  const lines: CertificateRequestLine[] = [];
  for (let i = 0; i < LINES; i++) {
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
    lines.push({
      typeId,
      subject: { addresseeNo: str(b[`l${i}_subject`]) || undefined },
      copies: Number(str(b[`l${i}_copies`]) || '1'),
      ...(items ? { items: Number(items) } : {}),
      purposeId: str(b[`l${i}_purpose`]),
      options,
    });
  }
  return lines;
}

function optionInputs(i: number, types: readonly CertificateType[]): SafeHtml {
  // One control per option id across types; the server keeps only those of the chosen type.
  const seen = new Map<string, CertificateType['options'][number]>();
  for (const t of types) for (const o of t.options) if (!seen.has(o.id)) seen.set(o.id, o);
  return html`${[...seen.values()].map((o) =>
    o.type === 'boolean'
      ? html`<label class="check"><input type="checkbox" name="l${i}_${o.id}" value="1"> ${o.label}</label>`
      : o.type === 'choice'
        ? html`<label>${o.label} <select name="l${i}_${o.id}"><option value="">—</option>${(o.choices ?? []).map((c) => html`<option value="${c.value}">${c.label}</option>`)}</select></label>`
        : html`<label>${o.label} <input name="l${i}_${o.id}" size="5" inputmode="numeric" placeholder="2026"></label>`,
  )}`;
}

/** Certificate requests (I-31..35, J-36): lines with fees and exemptions, issuance rules, the printed request. */
export function registerCertificateRoutes({ legacyRoute: route, deps, render, session, actor, form }: RouteKit): void {
  const db = deps.knex;

  const visitOf = async (raw: string | undefined) => {
    const id = Number(raw);
    if (!Number.isInteger(id) || id < 1) throw badRequest('来庁番号が正しくありません');
    const v = await getVisit(db, id);
    if (!v) throw Object.assign(new Error('指定された来庁記録はありません'), { status: 404, expose: true });
    return v;
  };

  const page = async (ctx: Parameters<RouteKit['render']>[0], visitId: number, problems: string[], priced: PricedRequest | null) => {
    const catalog = loadCertificateCatalog(deps.configDir);
    const subjects = (await db('visit_subjects')
      .join('residents', 'residents.addressee_no', 'visit_subjects.addressee_no')
      .where({ visit_id: visitId })
      .select('visit_subjects.addressee_no as no', 'residents.name')) as { no: string; name: string }[];
    const saved = (await db('certificate_requests').where({ visit_id: visitId }).orderBy('id')) as {
      id: number;
      total: number;
      requester_relation: RequesterRelation;
      lines: string;
    }[];
    const csrf = session(ctx).csrfToken ?? '';
    render(
      ctx,
      '証明書の請求',
      html`<h1>証明書の請求</h1>
<p><a href="/visits/${visitId}">← 来庁記録に戻る</a></p>
${problems.length ? html`<div class="card alert" role="alert" id="certificate-problems">${problems.map((p) => html`<p>${p}</p>`)}</div>` : ''}
${
  priced
    ? html`<table id="priced"><thead><tr><th>種類</th><th>通数</th><th>手数料</th><th>金額</th><th></th></tr></thead><tbody>${priced.lines.map((l) => html`<tr><td>${l.name}</td><td class="num">${l.copies}${l.items ? ` × ${l.items}${l.unit}` : ''}</td><td class="num">${l.unitFee.toLocaleString('ja-JP')} 円</td><td class="num">${l.amount.toLocaleString('ja-JP')} 円</td><td>${l.exempt ? (l.exemptReason ?? '免除') : ''}</td></tr>`)}</tbody>
<tfoot><tr><th colspan="3">合計</th><td class="num" id="fee-total"><strong>${priced.total.toLocaleString('ja-JP')} 円</strong></td><td></td></tr></tfoot></table>`
    : ''
}
<form method="post" action="/visits/${visitId}/certificates" class="card" id="certificate-form"><input type="hidden" name="_csrf" value="${csrf}">
<p><label>請求する人<br><select name="relation">${Object.entries(requesterRelations).map(([k, l]) => html`<option value="${k}">${l}</option>`)}</select></label></p>
${Array.from(
  { length: LINES },
  (_, i) => html`<fieldset><legend>${i + 1} 行目</legend>
<label>種類<br><select name="l${i}_type" ${i === 0 ? html`autofocus` : ''}><option value="">—</option>${catalog.certificates.map((c) => html`<option value="${c.id}">${c.name} (${c.fee} 円/${c.unit})</option>`)}</select></label>
<label>対象者<br><select name="l${i}_subject">${subjects.map((s) => html`<option value="${s.no}">${s.name}</option>`)}</select></label>
<label>通数<br><input name="l${i}_copies" value="1" size="3" inputmode="numeric"></label>
<label>件数・筆数<br><input name="l${i}_items" size="3" inputmode="numeric"></label>
<label>使いみち<br><select name="l${i}_purpose">${catalog.purposes.map((p) => html`<option value="${p.id}">${p.label}</option>`)}</select></label>
<br>${optionInputs(i, catalog.certificates)}</fieldset>`,
)}
<p><label>交付の指示メモ<br><input name="memo" size="60" list="certificate-memos"></label><datalist id="certificate-memos"><option value="本人確認済み。世帯全員・本籍省略で交付"><option value="委任状原本を受領"><option value="郵送で交付 (返信用封筒あり)"></datalist></p>
<p><button type="submit" name="action" value="price" id="price">金額を確認</button> <button type="submit" name="action" value="save" id="save-certificates">受け付ける</button></p>
</form>
<h2>受け付けた請求</h2>
${saved.length ? html`<ul>${saved.map((r) => html`<li>${(JSON.parse(r.lines) as { name: string }[]).map((l) => l.name).join('・')} — 合計 ${Number(r.total).toLocaleString('ja-JP')} 円 (${requesterRelations[r.requester_relation]}) <a href="/visits/${visitId}/certificates/${r.id}/request.pdf" target="_blank">交付請求書を印刷</a></li>`)}</ul>` : html`<p class="muted">まだありません。</p>`}`,
    );
  };

  route('GET', '/visits/:id/certificates', { permission: 'certificate.accept' }, async (ctx) => {
    const v = await visitOf(ctx.params.id);
    await page(ctx, v.id, [], null);
  });

  route('POST', '/visits/:id/certificates', { permission: 'certificate.accept' }, async (ctx) => {
    const v = await visitOf(ctx.params.id);
    const b = form(ctx);
    const relation = str(b.relation) as RequesterRelation;
    if (!(relation in requesterRelations)) throw badRequest('請求する人の区分が正しくありません');
    const catalog = loadCertificateCatalog(deps.configDir);
    let priced: PricedRequest;
    try {
      priced = priceRequest(catalog, { lines: readLines(b, catalog) });
    } catch (e) {
      if (!(e instanceof CertificateRequestError)) throw e;
      ctx.status = 400;
      return page(
        ctx,
        v.id,
        e.problems.map((p) => p.message),
        null,
      );
    }
    const refusals = await issuanceRefusals(db, priced, relation, session(ctx));
    if (refusals.length) {
      // The refusal itself is recorded: an attempt to obtain a protected person's certificate matters.
      await db.transaction((trx) =>
        appendAudit(trx, {
          ...actor(ctx),
          action: 'certificate.accept',
          targetKind: 'visit',
          targetIds: [String(v.id), ...priced.lines.flatMap((l) => (l.subject.addresseeNo ? [l.subject.addresseeNo] : []))],
          result: 'denied',
          detail: { relation, refusals: refusals.length },
        }),
      );
      ctx.status = 403;
      return page(
        ctx,
        v.id,
        refusals.map((r) => r.message),
        priced,
      );
    }
    if (str(b.action) !== 'save') return page(ctx, v.id, [], priced);
    const s = session(ctx);
    if (s.staffId === null) return ctx.throw(403, '端末からは受け付けられません');
    await saveCertificateRequest(db, v.id, priced, relation, str(b.memo), s.staffId, actor(ctx), {
      settings: queueSettingsOf(deps.config),
      hasScenario: scenarioCheck(deps.configDir, deps.config.rpa.coreSystem),
    });
    ctx.status = 303;
    ctx.redirect(`/visits/${v.id}/certificates`);
  });

  route('GET', '/visits/:id/certificates/:rid/request.pdf', { permission: 'print.form' }, async (ctx) => {
    const v = await visitOf(ctx.params.id);
    const r = (await db('certificate_requests')
      .where({ id: Number(ctx.params.rid), visit_id: v.id })
      .first()) as { id: number; lines: string; total: number; requester_relation: RequesterRelation } | undefined;
    if (!r) return ctx.throw(404, '指定された請求はありません');
    const lines = JSON.parse(r.lines) as PricedRequest['lines'];
    const subjectNo = lines[0]?.subject.addresseeNo;
    const row = subjectNo
      ? ((await db('residents').where({ addressee_no: subjectNo }).first()) as Record<string, unknown> | undefined)
      : undefined;
    const protection = await protectionFor(db, row ? [row] : []);
    const masked = row !== undefined && protection.covers(row) && !session(ctx).permissions.has('resident.viewProtectedAddress');
    const address = row
      ? [row.prefecture, row.city, row.town_name, row.block_number].map((x) => (typeof x === 'string' ? x : '')).join('')
      : '';
    const template = loadFormTemplates(deps.configDir).get('shomei-seikyu');
    if (!template) return ctx.throw(500, '様式 shomei-seikyu がありません');
    const pdf = await renderForms(FontSet.load(deps.config.printing.fonts), [
      {
        template,
        data: {
          visit: { visitNo: v.visitNo, date: new Date().toISOString().slice(0, 10) },
          subject: { name: row ? String(row.name) : '', address, ...(row?.birth_date ? { birthDate: String(row.birth_date) } : {}) },
          certificate: {
            total: r.total,
            purpose: [
              ...new Set(lines.map((l) => loadCertificateCatalog(deps.configDir).purposeById.get(l.purposeId)?.label ?? l.purposeId)),
            ].join('・'),
            requester: { relationship: requesterRelations[r.requester_relation] },
            lines: lines.map((l) => ({
              label: l.name,
              count: l.copies,
              fee: l.unitFee,
              amount: l.amount,
              ...(l.exempt ? { note: l.exemptReason ?? '免除' } : {}),
            })),
          },
          masks: masked ? { 'subject.address': MASKED_ADDRESS } : {},
        },
      },
    ]);
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
    ctx.type = 'application/pdf';
    ctx.set('Content-Disposition', `inline; filename="certificate-request-${r.id}.pdf"`);
    ctx.body = pdf;
  });
}
