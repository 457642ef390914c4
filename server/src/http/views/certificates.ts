import type { CertificateCatalog, CertificateType } from '../../certificates/catalog.js';
import type { PricedRequest } from '../../certificates/fees.js';
import { requesterRelations, type SavedCertificateRequest } from '../../certificates/requests.js';
import { html, type SafeHtml } from '../html.js';
import { CERTIFICATE_FORM_LINES } from '../schemas/certificates.js';

const LINES = CERTIFICATE_FORM_LINES;

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

/** What the certificate request page shows. */
export interface CertificatePageData {
  visitId: number;
  catalog: CertificateCatalog;
  /** The visit's subjects from the register (the lines' 対象者). */
  subjects: readonly { no: string; name: string }[];
  /** Requests already accepted in this visit. */
  saved: readonly SavedCertificateRequest[];
  csrf: string;
  /** Why the request was not priced or not accepted (line by line). */
  problems: readonly string[];
  /** A refused line's reasons, by the form's line index (from 0): shown beside the line. */
  lineProblems?: ReadonlyMap<number, readonly string[]>;
  priced: PricedRequest | null;
}

/** Certificate requests (I-31..35, J-36): the lines with fees and exemptions, and the requests taken. */
export function certificatePage(d: CertificatePageData): SafeHtml {
  const { visitId, catalog, subjects, saved, csrf, problems, priced } = d;
  const beside = (i: number): SafeHtml =>
    html`${(d.lineProblems?.get(i) ?? []).map((p) => html`<p class="alert" role="alert" id="line-${i}-problem">${p}</p>`)}`;
  return html`<h1>証明書の請求</h1>
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
  (_, i) => html`<fieldset><legend>${i + 1} 行目</legend>${beside(i)}
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
${saved.length ? html`<ul>${saved.map((r) => html`<li>${r.lines.map((l) => l.name).join('・')} — 合計 ${r.total.toLocaleString('ja-JP')} 円 (${requesterRelations[r.relation]}) <a href="/visits/${visitId}/certificates/${r.id}/request.pdf" target="_blank">交付請求書を印刷</a></li>`)}</ul>` : html`<p class="muted">まだありません。</p>`}`;
}
