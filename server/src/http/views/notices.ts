import type { FieldError, NoticeData, NoticeMemberInput } from '../../domain/noticeValidation.js';
import { japanWarekiTime as jst } from '../../domain/japanTime.js';
import { noticeTypeLabels, type NoticeType } from '../../domain/procedureTypes.js';
import { formatWareki } from '../../domain/wareki.js';
import { noticeStatusLabels, type NoticeStatus } from '../../notices/notices.js';
import type { PresentedNotice, PresentedNoticeData } from '../../residents/present.js';
import { MASKED_ADDRESS } from '../../residents/warnings.js';
import { html, type SafeHtml } from '../html.js';

/**
 * The notice form (届出の入力): the fields of its type, the members, and the problems found. The
 * browser keeps no form history of it (autocomplete off): residents' names and addresses must not
 * be offered again on a shared counter PC or thin client.
 */

/** Data fields per notice type: which inputs the form shows (and the validation expects). */
export const FIELDS: Record<NoticeType, (keyof NoticeData)[]> = {
  moveIn: ['previousAddress', 'newAddress', 'certificateRef', 'targetHouseholdNo', 'honseki', 'hittousha'],
  specialMoveIn: ['previousAddress', 'newAddress', 'certificateRef', 'plannedMoveDate', 'targetHouseholdNo', 'honseki', 'hittousha'],
  moveOut: ['nextAddress'],
  specialMoveOut: ['nextAddress'],
  moveAbroad: ['country', 'nextAddress'],
  relocation: ['previousAddress', 'newAddress'],
  headChange: [],
  householdSplit: ['newAddress'],
  householdMerge: ['targetHouseholdNo'],
  householdRestructure: ['targetHouseholdNo'],
  birth: [],
  death: [],
  individual: [],
};
export const FIELD_LABELS: Record<keyof NoticeData, string> = {
  previousAddress: '従前の住所',
  newAddress: '新しい住所',
  nextAddress: '転出先の住所',
  country: '転出先の国',
  plannedMoveDate: '転出予定日',
  certificateRef: '転出証明書 (情報) の番号',
  targetHouseholdNo: '入る世帯の世帯番号',
  honseki: '本籍 (日本人のみ)',
  hittousha: '筆頭者',
  note: 'メモ',
};

function errorFor(errors: readonly FieldError[], field: string): SafeHtml {
  const mine = errors.filter((e) => e.field === field || (field === 'members' && e.field.startsWith('members')));
  return mine.length ? html`<span class="field-error" role="alert">${mine.map((e) => e.message).join('。')}</span>` : html``;
}

function noticeForm(
  visitId: number,
  n: {
    id: number;
    type: NoticeType;
    effectiveDate: string | null;
    data: PresentedNoticeData;
    members: NoticeMemberInput[];
    status: NoticeStatus;
  },
  csrf: string,
  errors: readonly FieldError[],
  late: string | null,
): SafeHtml {
  const rows = [...n.members];
  const blank = n.type === 'moveIn' || n.type === 'specialMoveIn' || n.type === 'birth' ? 4 : 1;
  for (let i = 0; i < blank; i++)
    rows.push({
      addresseeNo: null,
      name: '',
      nameKana: null,
      birthDate: null,
      sex: null,
      relationship: null,
      moving: true,
      head: false,
      event: false,
    });
  // A new household's head is usually the first person typed (the one named first on the 転出証明書).
  if ((n.type === 'moveIn' || n.type === 'specialMoveIn') && !n.members.length) rows[0]!.head = true;
  const editable = n.status === 'draft';
  const showEvent = n.type === 'birth' || n.type === 'death';
  return html`<form method="post" action="/visits/${visitId}/notices/${n.id}" class="card notice-form" id="notice-form" autocomplete="off">
<input type="hidden" name="_csrf" value="${csrf}">
${late ? html`<p class="alert" role="alert">⚠ ${late}</p>` : ''}
<p><label>${n.type === 'birth' ? '出生日' : n.type === 'death' ? '死亡日' : '異動日'}<br><input name="effectiveDate" id="effectiveDate" value="${n.effectiveDate ? formatWareki(n.effectiveDate) : ''}" placeholder="R8.11.20" ${editable ? '' : 'disabled'} autofocus></label> ${errorFor(errors, 'effectiveDate')}</p>
${editable && (n.type === 'specialMoveIn' || n.type === 'moveIn') ? html`<p class="card"><label>転出証明書情報 (CSV) を読み込む<br><input type="file" accept=".csv,text/csv" data-upload-url="/visits/${visitId}/notices/${n.id}/move-out-certificate" data-csrf="${csrf}" id="move-out-certificate"></label> <span class="muted upload-result" aria-live="polite">住基ネットで受けた転出証明書情報や、転出証明書の QR コードの内容から、従前の住所・転出予定日・対象者を入れます。</span></p>` : ''}
${FIELDS[n.type].map((f) => {
  // A masked address stays the mask: read-only, and posted back unchanged it keeps the stored value.
  const masked = n.data[f] === MASKED_ADDRESS;
  return html`<p><label>${FIELD_LABELS[f]}<br><input name="${f}" id="${f}" size="${f.endsWith('Address') ? 50 : 20}" value="${f === 'plannedMoveDate' && n.data[f] ? formatWareki(n.data[f]!) : (n.data[f] ?? '')}" ${f === 'newAddress' && !masked ? html`class="address-input" list="notice-town-choices"` : ''} ${masked ? html`readonly class="protected"` : ''} ${editable ? '' : 'disabled'}></label> ${errorFor(errors, f)}</p>`;
})}
<datalist id="notice-town-choices"></datalist>
<h3>対象者 ${errorFor(errors, 'members')}</h3>
<table id="notice-members"><thead><tr><th>${n.type === 'moveIn' || n.type === 'specialMoveIn' ? '転入' : '対象'}</th><th>世帯主</th>${showEvent ? html`<th>${n.type === 'birth' ? '生まれた子' : '亡くなった人'}</th>` : ''}<th>氏名</th><th>カナ</th><th>生年月日</th><th>性別</th><th>続柄</th></tr></thead><tbody>
${rows.map(
  (m, i) => html`<tr>
<td><input type="checkbox" name="moving" value="${i}" aria-label="${i + 1} 人目を${n.type === 'moveIn' || n.type === 'specialMoveIn' ? '転入する人' : '対象'}にする" ${m.moving ? html`checked` : ''} ${editable ? '' : 'disabled'}></td>
<td><input type="radio" name="head" value="${i}" aria-label="${i + 1} 人目が世帯主" ${m.head ? html`checked` : ''} ${editable ? '' : 'disabled'}></td>
${showEvent ? html`<td><input type="radio" name="event" value="${i}" aria-label="${i + 1} 人目が${n.type === 'birth' ? '生まれた子' : '亡くなった人'}" ${m.event ? html`checked` : ''} ${editable ? '' : 'disabled'}></td>` : ''}
<td><input type="hidden" name="m${i}_addresseeNo" value="${m.addresseeNo ?? ''}"><input name="m${i}_name" value="${m.name}" aria-label="${i + 1} 人目の氏名" size="14" ${m.addresseeNo || !editable ? html`readonly` : ''}></td>
<td><input name="m${i}_kana" value="${m.nameKana ?? ''}" aria-label="${i + 1} 人目のカナ" size="14" ${m.addresseeNo || !editable ? html`readonly` : ''}></td>
<td><input name="m${i}_birthDate" value="${m.birthDate ? formatWareki(m.birthDate) : ''}" aria-label="${i + 1} 人目の生年月日" size="14" placeholder="S50.4.1" ${m.addresseeNo || !editable ? html`readonly` : ''}> ${errorFor(errors, `members.${i}.birthDate`)}</td>
<td><select name="m${i}_sex" aria-label="${i + 1} 人目の性別" ${editable ? '' : 'disabled'}><option value="">—</option><option value="1" ${m.sex === '1' ? html`selected` : ''}>男</option><option value="2" ${m.sex === '2' ? html`selected` : ''}>女</option></select></td>
<td><input name="m${i}_relationship" value="${m.relationship ?? ''}" aria-label="${i + 1} 人目の続柄" size="6" ${editable ? '' : 'disabled'}></td></tr>`,
)}
</tbody></table>
<p><label>メモ<br><input name="note" size="60" value="${n.data.note ?? ''}" ${editable ? '' : 'disabled'}></label></p>
${editable ? html`<p><button type="submit" name="action" value="accept" id="accept-notice">受け付ける (Enter)</button> <button type="submit" name="action" value="save" id="save-notice">一時保存</button></p>` : ''}
</form>
${n.status === 'draft' || n.status === 'accepted' ? html`<form method="post" action="/visits/${visitId}/notices/${n.id}/cancel" class="card filters"><input type="hidden" name="_csrf" value="${csrf}"><label>取り消す理由<br><input name="reason" required size="40"></label><button type="submit" id="cancel-notice">この届出を取り消す</button></form>` : ''}`;
}

/** The 支援措置 warning of a notice that touches protection (every screen that shows the notice). */
export function noticeProtectionWarning(n: Pick<PresentedNotice, 'id' | 'addressProtected'>, canSee: boolean): SafeHtml {
  return n.addressProtected
    ? html`<p class="warning warning-supportMeasure" id="notice-protected-${n.id}">⚠ 支援措置 — この届出は支援措置の対象者・世帯・住所に関わります。${canSee ? '住所を第三者に知らせないでください。' : '住所は表示・印刷できません (伏字で印刷されます)。'} 支援措置担当の審査が必要です。</p>`
    : html``;
}

/** The notice page: where it stands, the problems found, and the form (read-only once accepted). */
export function noticePage(
  n: PresentedNotice,
  csrf: string,
  errors: readonly FieldError[],
  canSee = false,
  /** Where 「戻る」 leads: the visit for counter staff, the review list for a reviewer (who cannot open visits). */
  back: { href: string; label: string } = { href: `/visits/${n.visitId}`, label: '来庁記録に戻る' },
  /** The card reader panel of a 転入 being typed (views/cardReader.ts). */
  cardPanel: SafeHtml = html``,
): SafeHtml {
  return html`${n.addressProtected ? html`<div class="card warnings" role="alert">${noticeProtectionWarning(n, canSee)}</div>` : ''}
<h1>${noticeTypeLabels[n.type]} <span class="status">${noticeStatusLabels[n.status]}</span></h1>
<p><a href="${back.href}" id="notice-back">← ${back.label}</a> ・ 届出日 ${formatWareki(n.reportedDate)}${n.acceptedAt ? ` ・ 受付 ${jst(n.acceptedAt.toISOString())}` : ''}${n.reviewedAt ? ` ・ 審査 ${jst(n.reviewedAt.toISOString())}` : ''}</p>
${errors.length ? html`<div class="card alert" role="alert" id="notice-errors"><p>入力を確認してください (${errors.length} 件)</p></div>` : ''}
${cardPanel}
${noticeForm(n.visitId, n, csrf, errors, n.lateWarning)}`;
}
