import type { CertificateCatalog, CertificateType } from '../../certificates/catalog.js';
import type { PricedRequest } from '../../certificates/fees.js';
import { requesterRelations, type SavedCertificateRequest } from '../../certificates/requests.js';
import { preEntryPanel } from './preEntry.js';
import { html, type SafeHtml } from '../html.js';
import { CERTIFICATE_FORM_LINES } from '../schemas/certificates.js';

const LINES = CERTIFICATE_FORM_LINES;

/** The form as posted (l0_type, l0_copies, …): shown again after pricing or a refusal, never emptied. */
export type PostedValues = Readonly<Record<string, unknown>>;

const posted = (v: PostedValues, name: string): string => {
  const x = v[name];
  return typeof x === 'string' ? x : Array.isArray(x) && typeof x[0] === 'string' ? x[0] : '';
};
const selected = (on: boolean): SafeHtml => (on ? html`selected` : html``);

/**
 * The options of one line. With the type chosen, only its options; before that, every option
 * marked with the types that have it (`data-types`), which counter.js hides until its type is
 * chosen (without script all stay visible and the server keeps only the chosen type's). The
 * yes/no extras (本籍・個人番号 …) are folded in one 「記載する項目」 so that a plain request is a few
 * Tabs long; they unfold when one is already ticked.
 */
function optionInputs(i: number, types: readonly CertificateType[], chosen: CertificateType | undefined, values: PostedValues): SafeHtml {
  const seen = new Map<string, { option: CertificateType['options'][number]; types: string[] }>();
  for (const t of chosen ? [chosen] : types)
    for (const o of t.options) {
      const entry = seen.get(o.id);
      if (entry) entry.types.push(t.id);
      else seen.set(o.id, { option: o, types: [t.id] });
    }
  const name = (id: string) => `l${i}_${id}`;
  const value = (o: CertificateType['options'][number]) =>
    values[name(o.id)] !== undefined ? posted(values, name(o.id)) : o.default !== undefined ? String(o.default) : '';
  const all = [...seen.values()];
  const plain = all.filter((e) => e.option.type !== 'boolean');
  const flags = all.filter((e) => e.option.type === 'boolean');
  const ticked = (o: CertificateType['options'][number]) => {
    const v = value(o);
    return v === '1' || v === 'on' || v === 'true';
  };
  return html`${plain.map(({ option: o, types: ts }) =>
    o.type === 'choice'
      ? html`<label class="cert-option" data-types="${ts.join(' ')}">${o.label}<br><select name="${name(o.id)}"><option value="">—</option>${(o.choices ?? []).map((c) => html`<option value="${c.value}" ${selected(value(o) === c.value)}>${c.label}</option>`)}</select></label> `
      : html`<label class="cert-option" data-types="${ts.join(' ')}">${o.label}<br><input name="${name(o.id)}" size="5" inputmode="numeric" placeholder="2026" value="${value(o)}"></label> `,
  )}${
    flags.length
      ? html`<details class="cert-option" data-types="${[...new Set(flags.flatMap((f) => f.types))].join(' ')}" ${flags.some((f) => ticked(f.option)) ? html`open` : ''}><summary>記載する項目 (${flags.length})</summary>${flags.map(
          ({ option: o, types: ts }) =>
            html`<label class="check cert-option" data-types="${ts.join(' ')}"><input type="checkbox" name="${name(o.id)}" value="1" ${ticked(o) ? html`checked` : ''}> ${o.label}</label> `,
        )}</details>`
      : ''
  }`;
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
  /** The form as posted, shown again (empty on first display). */
  values?: PostedValues;
  /** Lines shown: 1 at first, more with 「行を追加」 or when the posted form had more. */
  lineCount?: number;
}

/** Certificate requests (I-31..35, J-36): the lines with fees and exemptions, and the requests taken. */
export function certificatePage(d: CertificatePageData): SafeHtml {
  const { visitId, catalog, subjects, saved, csrf, problems, priced } = d;
  const values = d.values ?? {};
  const lineCount = Math.min(LINES, Math.max(1, d.lineCount ?? 1));
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
${preEntryPanel(visitId, csrf, 'certificates')}
<form method="post" action="/visits/${visitId}/certificates" class="card" id="certificate-form" data-enter-moves><input type="hidden" name="_csrf" value="${csrf}">
<p><label>請求する人<br><select name="relation">${Object.entries(requesterRelations).map(([k, l]) => html`<option value="${k}" ${selected(posted(values, 'relation') === k)}>${l}</option>`)}</select></label></p>
${Array.from({ length: lineCount }, (_, i) => {
  const chosen = catalog.typeById.get(posted(values, `l${i}_type`));
  const v = (f: string) => posted(values, `l${i}_${f}`);
  const counted = catalog.certificates.filter((c) => c.unit !== '通').map((c) => c.id);
  return html`<fieldset class="cert-line"><legend>${i + 1} 行目</legend>${beside(i)}
<label>種類<br><select name="l${i}_type" class="cert-type" ${i === lineCount - 1 && !v('type') ? html`autofocus` : ''}><option value="">—</option>${catalog.certificates.map((c) => html`<option value="${c.id}" ${selected(v('type') === c.id)}>${c.name} (${c.fee} 円/${c.unit})</option>`)}</select></label>
<label>対象者<br><select name="l${i}_subject">${subjects.map((s) => html`<option value="${s.no}" ${selected(v('subject') === s.no)}>${s.name}</option>`)}</select></label>
<label>通数<br><input name="l${i}_copies" value="${v('copies') || '1'}" size="3" inputmode="numeric"></label>
${chosen && chosen.unit === '通' ? '' : html`<label class="cert-option" data-types="${counted.join(' ')}">件数・筆数<br><input name="l${i}_items" size="3" inputmode="numeric" value="${v('items')}"></label>`}
<label>使いみち<br><select name="l${i}_purpose">${catalog.purposes.map((p) => html`<option value="${p.id}" ${selected(v('purpose') === p.id)}>${p.label}</option>`)}</select></label>
${optionInputs(i, catalog.certificates, chosen, values)}</fieldset>`;
})}
${lineCount < LINES ? html`<p><button type="submit" name="action" value="addLine" id="add-line" formnovalidate>行を追加</button></p>` : ''}
<p><label>交付の指示メモ<br><input name="memo" size="60" list="certificate-memos" value="${posted(values, 'memo')}"></label><datalist id="certificate-memos"><option value="本人確認済み。世帯全員・本籍省略で交付"><option value="委任状原本を受領"><option value="郵送で交付 (返信用封筒あり)"></datalist></p>
<p><button type="submit" name="action" value="price" id="price">金額を確認</button> <button type="submit" name="action" value="save" id="save-certificates">受け付ける</button></p>
</form>
<h2>受け付けた請求</h2>
${saved.length ? html`<ul>${saved.map((r) => html`<li>${r.lines.map((l) => l.name).join('・')} — 合計 ${r.total.toLocaleString('ja-JP')} 円 (${requesterRelations[r.relation]}) <a href="/visits/${visitId}/certificates/${r.id}/request.pdf" target="_blank">交付請求書を印刷</a></li>`)}</ul>` : html`<p class="muted">まだありません。</p>`}`;
}
