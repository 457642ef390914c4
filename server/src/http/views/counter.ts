import type { StaffSession } from '../../auth/sessions.js';
import { entitlementKindLabels } from '../../auth/permissions.js';
import { japanWarekiTime as jst } from '../../domain/japanTime.js';
import { formatWareki } from '../../domain/wareki.js';
import type { PresentedResident, PresentedVisit } from '../../residents/present.js';
import { searchTargets } from '../../residents/search.js';
import type { PersonView, SearchResponse } from '../../residents/service.js';
import { MASKED_ADDRESS } from '../../residents/warnings.js';
import { identityDocuments, visitorRoles } from '../../visits/identity.js';
import { cardReaderPanel } from './cardReader.js';
import { statusLabels, type Visit, type VisitStatus } from '../../visits/visits.js';
import { html, type SafeHtml } from '../html.js';

/** The counter screens: search, the person, the visit history and the visit (B-6..8, C-10..12, D-13..17). */

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

const TARGET_LABELS: Record<(typeof searchTargets)[number], string> = {
  residents: '住登者',
  former: '住登者と消除者',
  foreign: '外国人住民',
  nonResidents: '住登外者',
  corporations: '法人',
};
const MATCH_LABELS: Record<string, string> = { exact: '', variant: '異体字で一致', kanaFold: 'カナの揺れで一致' };
const ERA_OPTIONS: [string, string][] = [
  ['', '元号キーなし'],
  ['R', 'R 令和'],
  ['H', 'H 平成'],
  ['S', 'S 昭和'],
  ['T', 'T 大正'],
  ['M', 'M 明治'],
];

/** The shortcuts that work on this screen, shown so that nobody has to remember them. */
function shortcuts(opts: { search?: boolean; addSubject?: boolean } = {}): SafeHtml {
  return html`<p class="shortcuts muted" aria-label="キー操作">キー操作: ${opts.search ? html`<kbd>Esc</kbd> 検索欄へ ・ <kbd>↓</kbd><kbd>↑</kbd> 結果を移動 ・ ` : ''}<kbd>Enter</kbd> 開く・決定 ・ ${opts.addSubject ? html`<kbd>Alt</kbd>+<kbd>A</kbd> 来庁記録に追加 ・ ` : ''}<kbd>Alt</kbd>+<kbd>S</kbd> 住民検索 ・ <kbd>Alt</kbd>+<kbd>N</kbd> 新しい来庁 ・ <kbd>Alt</kbd>+<kbd>H</kbd> ホーム</p>`;
}

function warningBadges(p: PresentedResident): SafeHtml {
  return html`${p.warnings.map((w) => html`<span class="badge badge-${w.kind}">${w.label}</span>`)}`;
}

function addressCell(p: PresentedResident): SafeHtml {
  return p.addressMasked ? html`<span class="protected">${MASKED_ADDRESS}</span>` : html`${p.address}`;
}

function searchForm(query: Readonly<Record<string, unknown>>, visitId: number | null, focusForm = true): SafeHtml {
  const v = (k: string) => str(query[k]);
  return html`<form method="get" action="/search" class="card search-form" id="search-form" role="search">
  ${visitId ? html`<input type="hidden" name="visit" value="${visitId}">` : ''}
  <label>カナ (前方一致)<br><input name="kana" id="q-kana" value="${v('kana')}" autocomplete="off" ${focusForm ? html`autofocus` : ''}></label>
  <label>氏名<br><input name="name" id="q-name" value="${v('name')}" autocomplete="off"></label>
  <label>生年月日 (S50.4.1 / 昭和50年4月1日 / 500401)<br><select name="era" id="q-era" aria-label="元号キー">${ERA_OPTIONS.map(([k, l]) => html`<option value="${k}" ${k === v('era') ? html`selected` : ''}>${l}</option>`)}</select><input name="birthDate" id="q-birth" value="${v('birthDate')}" aria-label="生年月日 (S50.4.1 / 昭和50年4月1日 / 500401)" inputmode="numeric" autocomplete="off" size="12"></label>
  <label>住所<br><input name="address" id="q-address" value="${v('address')}" autocomplete="off"></label>
  <label>性別<br><select name="sex" id="q-sex"><option value="">指定なし</option><option value="1" ${v('sex') === '1' ? html`selected` : ''}>男</option><option value="2" ${v('sex') === '2' ? html`selected` : ''}>女</option></select></label>
  <label>対象<br><select name="target" id="q-target">${searchTargets.map((t) => html`<option value="${t}" ${t === (v('target') || 'residents') ? html`selected` : ''}>${TARGET_LABELS[t]}</option>`)}</select></label>
  <button type="submit" id="q-submit">検索 (Enter)</button>
</form>`;
}

function resultsTable(r: SearchResponse, query: Readonly<Record<string, unknown>>, visitId: number | null): SafeHtml {
  const from = (r.page - 1) * r.pageSize + 1;
  const pageLink = (page: number) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(query))
      if ((typeof v === 'string' || typeof v === 'number') && v && k !== 'page') p.set(k, String(v));
    p.set('page', String(page));
    return `/search?${p.toString()}`;
  };
  return html`<p class="search-summary" id="search-summary"><strong>${r.totalCapped ? `${r.total.toLocaleString('ja-JP')} 件以上` : `${r.total.toLocaleString('ja-JP')} 件`}</strong>${r.results.length ? ` (${from}〜${from + r.results.length - 1} 件目)` : ''} ・ 検索時間 ${r.elapsedMs.toFixed(1)} ms
${r.understood.length ? html` ・ <span class="understood">${r.understood.join('、')} として検索</span>` : ''}
${r.totalCapped ? html` ・ <span class="alert">条件を追加して絞り込んでください</span>` : ''}</p>
${
  r.results.length
    ? html`<table class="results" id="results"><thead><tr><th>宛名番号</th><th>氏名</th><th>カナ</th><th>生年月日</th><th>性別</th><th>住所</th><th>状態</th><th>警告</th></tr></thead><tbody>
${r.results.map((p) => {
  const href =
    r.target === 'nonResidents' || r.target === 'corporations' ? null : `/residents/${p.addresseeNo}${visitId ? `?visit=${visitId}` : ''}`;
  return html`<tr class="result-row${p.warnings.some((w) => w.kind === 'supportMeasure') ? ' row-protected' : ''}"><td>${href ? html`<a href="${href}" class="result-link">${p.addresseeNo}</a>` : p.addresseeNo}</td><td class="name">${p.name}${p.match !== 'exact' ? html` <span class="badge badge-fallback">${MATCH_LABELS[p.match]}</span>` : ''}</td><td>${p.nameKana ?? ''}</td><td>${p.birthDateWareki}</td><td>${p.sex}</td><td>${addressCell(p)}</td><td>${p.status}</td><td>${warningBadges(p)}</td></tr>`;
})}
</tbody></table>
<p class="pager">${r.page > 1 ? html`<a href="${pageLink(r.page - 1)}" id="page-prev" accesskey="p">← 前の ${r.pageSize} 件 (Alt+P)</a> ` : ''}${from + r.results.length - 1 < r.total ? html`<a href="${pageLink(r.page + 1)}" id="page-next">次の ${r.pageSize} 件 →</a>` : ''}</p>`
    : html`<p class="card muted">該当する人はいません。カナの一部や生年月日だけでも検索できます。住民記録にない人は来庁画面で手入力できます。</p>`
}`;
}

function personSummary(p: PresentedResident): SafeHtml {
  return html`<span class="name">${p.name}</span> (${p.nameKana ?? ''}) ${p.birthDateWareki}生 ${p.sex}`;
}

/** What the search page shows under the form: nothing yet, the results, or why the search could not run. */
export type SearchOutcome = { kind: 'none' } | { kind: 'results'; response: SearchResponse } | { kind: 'error'; message: string };

/** 住民検索: the form (kept as typed) and the outcome; `visit` when searching for a visit's subjects. */
export function searchPage(query: Readonly<Record<string, unknown>>, visit: Visit | null, outcome: SearchOutcome): SafeHtml {
  const results =
    outcome.kind === 'results'
      ? resultsTable(outcome.response, query, visit?.id ?? null)
      : outcome.kind === 'error'
        ? html`<p class="card alert" role="alert" id="search-error">${outcome.message}</p>`
        : html``;
  const found = outcome.kind === 'results' && outcome.response.results.length > 0;
  return html`<h1>住民検索${visit ? html` <small>来庁 ${visit.visitNo}</small>` : ''}</h1>
${visit ? html`<p><a href="/visits/${visit.id}">← 来庁記録 ${visit.visitNo} に戻る</a></p>` : ''}
${searchForm(query, visit?.id ?? null, !found)}
${shortcuts({ search: true })}
<div id="search-results">${results}</div>`;
}

/** One person: warnings first, the household, entitlements in the role's scope, history, same address. */
export function personPage(view: PersonView, viewer: StaffSession, visit: Visit | null, showMyNumber: boolean): SafeHtml {
  const p = view.person;
  const inVisit = visit && visit.status !== 'closed';
  const csrf = viewer.csrfToken ?? '';
  const ownMeasure = p.warnings.some((w) => w.kind === 'supportMeasure');
  return html`${
    p.warnings.length || view.addressProtected
      ? html`<div class="card warnings" role="alert" id="warnings">${p.warnings.map((w) => html`<p class="warning warning-${w.kind}">⚠ ${w.label}${w.kind === 'supportMeasure' ? html` — ${p.addressMasked ? '住所は表示・印刷できません。本人確認と請求者を慎重に確認してください。' : '住所を第三者に知らせないでください。'}` : ''}</p>`)}
${view.addressProtected && !ownMeasure ? html`<p class="warning warning-supportMeasure">⚠ ${view.householdProtected ? '世帯' : '同じ住所'}に支援措置の対象者がいます — ${p.addressMasked ? '住所は表示・印刷できません。' : '住所を第三者に知らせないでください。'}</p>` : ''}</div>`
      : ''
  }
<h1>${p.name} <small>${p.nameKana ?? ''}</small></h1>
${visit ? html`<p><a href="/visits/${visit.id}">← 来庁記録 ${visit.visitNo} に戻る</a> ・ <a href="/search?visit=${visit.id}">検索に戻る</a></p>` : html`<p><a href="/search">← 検索に戻る</a></p>`}
${inVisit ? html`<form method="post" action="/visits/${visit.id}/subjects" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><input type="hidden" name="addresseeNo" value="${p.addresseeNo}"><button type="submit" id="add-subject" accesskey="a">この人を来庁記録に追加 (Alt+A)</button></form>` : ''}
<table class="person" id="person">
<tr><th>宛名番号</th><td>${p.addresseeNo}</td><th>世帯番号</th><td>${p.householdNo}</td></tr>
<tr><th>生年月日</th><td>${p.birthDateWareki}${p.birthDate ? html` <span class="muted">(${p.birthDate})</span>` : ''}</td><th>性別</th><td>${p.sex}</td></tr>
<tr><th>住所</th><td colspan="3" id="person-address">${addressCell(p)}</td></tr>
<tr><th>続柄</th><td>${p.relationship ?? ''}</td><th>状態</th><td>${p.status}</td></tr>
${p.nameRoman || p.alias ? html`<tr><th>ローマ字氏名</th><td>${p.nameRoman ?? ''}</td><th>通称</th><td>${p.alias ?? ''}</td></tr>` : ''}
<tr><th>個人番号</th><td colspan="3">${showMyNumber ? html`<span class="my-number" id="my-number">${p.myNumber ?? '(未登録)'}</span> <span class="muted">表示は監査ログに記録されました</span>` : viewer.permissions.has('resident.viewMyNumber') ? html`<a href="/residents/${p.addresseeNo}?myNumber=1${visit ? `&visit=${visit.id}` : ''}" id="show-my-number">個人番号を表示する (記録されます)</a>` : html`<span class="muted">表示する権限がありません</span>`}</td></tr>
</table>
<h2>世帯 (${view.household.length} 人)</h2>
<table id="household"><thead><tr><th>続柄</th><th>氏名</th><th>カナ</th><th>生年月日</th><th>性別</th><th>資格 (${viewer.groupName ?? ''}の表示範囲)</th><th>警告</th></tr></thead><tbody>
${view.household.map((m) => html`<tr${m.addresseeNo === p.addresseeNo ? html` class="self"` : ''}><td>${m.relationship ?? ''}</td><td><a href="/residents/${m.addresseeNo}${visit ? `?visit=${visit.id}` : ''}">${m.name}</a></td><td>${m.nameKana ?? ''}</td><td>${m.birthDateWareki}</td><td>${m.sex}</td><td>${[...new Set(m.entitlements.map((e) => entitlementKindLabels[e.kind as keyof typeof entitlementKindLabels] ?? e.kind))].join('・')}</td><td>${warningBadges(m)}</td></tr>`)}
</tbody></table>
<h2>資格</h2>
${
  viewer.scopes.size === 0
    ? html`<p class="muted">現在の役割 (${viewer.groupName ?? '役割なし'}) では資格を表示しません。</p>`
    : view.entitlements.length
      ? html`<table id="entitlements"><thead><tr><th>種類</th><th>記号番号</th><th>取得日</th><th>喪失日</th></tr></thead><tbody>${view.entitlements.map((e) => html`<tr><td>${e.label}</td><td>${e.insuredNo ?? ''}</td><td>${warekiDayOrMonth(e.acquiredDate)}</td><td>${warekiDayOrMonth(e.lostDate)}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">表示範囲の資格はありません。</p>`
}
<h2>異動の履歴</h2>
${
  view.history.length
    ? html`<table id="history"><thead><tr><th>異動日</th><th>事由</th><th>異動前の住所</th><th>異動後の住所</th></tr></thead><tbody>${view.history.map((h) => html`<tr><td>${h.changeDateWareki}</td><td>${h.reason}</td><td>${h.addressBefore ?? ''}</td><td>${h.addressAfter ?? ''}</td></tr>`)}</tbody></table>`
    : html`<p class="muted">履歴はありません。</p>`
}
<h2>同じ住所の他の世帯</h2>
${
  view.addressProtected && p.addressMasked
    ? html`<p class="muted">支援措置のため表示できません。</p>`
    : view.sameAddress.length
      ? html`<table id="same-address"><tbody>${view.sameAddress.map((m) => html`<tr><td><a href="/residents/${m.addresseeNo}${visit ? `?visit=${visit.id}` : ''}">${m.name}</a></td><td>${m.nameKana ?? ''}</td><td>${m.birthDateWareki}</td><td>${warningBadges(m)}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">ありません。</p>`
}
${shortcuts({ addSubject: Boolean(inVisit) })}`;
}

/** One row of the visit history. */
export interface VisitHistoryRow {
  id: number;
  visitNo: string;
  status: VisitStatus;
  channel: string;
  counterId: string | null;
  openedAt: Date | null;
  closedAt: Date | null;
  openedByName: string;
}

const CHANNEL_LABELS: Record<string, string> = { counter: '窓口', post: '郵送', exOfficio: '職権' };

/** 来庁の履歴: the filters as given and the visits found. */
export function visitHistoryPage(
  filter: { from: string; to: string; status: string; subject: string },
  rows: readonly VisitHistoryRow[],
  counterName: (id: string | null) => string,
): SafeHtml {
  const { from, to, status, subject } = filter;
  return html`<h1>来庁の履歴</h1>
<form method="get" action="/visits" class="card filters">
  <label>期間<br><input name="from" type="date" value="${from}" aria-label="期間の初日"> 〜 <input name="to" type="date" value="${to}" aria-label="期間の最終日"></label>
  <label>状態<br><select name="status"><option value="">すべて</option>${Object.entries(statusLabels).map(([k, l]) => html`<option value="${k}" ${k === status ? html`selected` : ''}>${l}</option>`)}</select></label>
  <label>対象者の宛名番号<br><input name="addresseeNo" value="${subject}" inputmode="numeric"></label>
  <button type="submit">絞り込む</button>
</form>
<p>${rows.length} 件</p>
<table id="visit-history"><thead><tr><th>来庁番号</th><th>種類</th><th>状態</th><th>窓口</th><th>開始</th><th>完了</th><th>受付</th></tr></thead><tbody>
${rows.map((r) => html`<tr><td><a href="/visits/${r.id}">${r.visitNo}</a></td><td>${CHANNEL_LABELS[r.channel] ?? r.channel}</td><td>${statusLabels[r.status]}</td><td>${counterName(r.counterId)}</td><td>${jst(r.openedAt?.toISOString() ?? null)}</td><td>${jst(r.closedAt?.toISOString() ?? null)}</td><td>${r.openedByName}</td></tr>`)}
</tbody></table>`;
}

/** A subject of the visit with what the viewer may see of them (null: typed by hand, or not in the register). */
export interface ShownSubject {
  no: string;
  view: PersonView | null;
}

/** The visit: actions, subjects, the identity check, and the work sections (notices, procedures, memos). */
export function visitPage(
  v: PresentedVisit,
  subjects: readonly ShownSubject[],
  s: StaffSession,
  counterName: (id: string | null) => string,
  workSections: SafeHtml,
  counterPanel: SafeHtml = html``,
  /** The head of the visit's 転入 when no register subject exists: the identity form starts from them. */
  mover: { name: string; nameKana: string | null; birthDate: string | null; sex: string | null } | null = null,
  /** The identity form as posted when it could not be saved: shown again as typed, each error beside its field. */
  retry: IdentityRetry | null = null,
): SafeHtml {
  const typed = (name: string, otherwise: string): string => (retry ? (retry.values[name] ?? '') : otherwise);
  const errorBeside = (field: string): SafeHtml => {
    const mine = (retry?.errors ?? []).filter((e) => e.field === field);
    return mine.length ? html` <span class="field-error" role="alert">${mine.map((e) => e.message).join('。')}</span>` : html``;
  };
  const open = v.status !== 'closed';
  const csrf = s.csrfToken ?? '';
  const hidden = html`<input type="hidden" name="_csrf" value="${csrf}">`;
  const registered = subjects[0]?.view?.person;
  // The form starts from the register's person, else from the head typed on the visit's 転入.
  const first = registered ?? (mover ? { ...mover, address: '', addressMasked: false } : undefined);
  const sex = v.visitorSex ?? (v.visitorRole === 'subject' && !registered ? (mover?.sex ?? null) : null);
  const masked = v.addressProtected && !s.permissions.has('resident.viewProtectedAddress');
  return html`${v.addressProtected ? html`<div class="card warnings" role="alert" id="visit-protected"><p class="warning warning-supportMeasure">⚠ 支援措置 — この来庁は支援措置の対象者・世帯・住所に関わります。${masked ? '住所は表示・印刷できません。本人確認と請求者を慎重に確認してください。' : '住所を第三者に知らせないでください。'}</p></div>` : ''}
<h1>来庁 ${v.visitNo} <span class="status status-${v.status}" id="visit-status">${statusLabels[v.status]}</span></h1>
<p class="muted">開始 ${jst(v.openedAt.toISOString())} ・ 受付 ${v.openedByName} ・ 窓口 ${counterName(v.counterId)} ・ 最終更新 ${jst(v.updatedAt.toISOString())}</p>
<div class="card actions">
  <a href="/search?visit=${v.id}" accesskey="s" id="visit-search">住民を検索 (Alt+S)</a>
  ${s.permissions.has('certificate.accept') ? html`<a href="/visits/${v.id}/certificates" id="visit-certificates">証明書の請求</a>` : ''}
  ${v.status === 'open' ? html`<form method="post" action="/visits/${v.id}/status" class="inline">${hidden}<input type="hidden" name="change" value="pause"><button type="submit">保留 (他の課へ)</button></form>` : ''}
  ${v.status === 'paused' ? html`<form method="post" action="/visits/${v.id}/status" class="inline">${hidden}<input type="hidden" name="change" value="resume"><button type="submit" id="resume">この窓口で再開</button></form>` : ''}
  ${open ? html`<form method="post" action="/visits/${v.id}/status" class="inline">${hidden}<input type="hidden" name="change" value="close"><button type="submit">完了</button></form>` : ''}
</div>
${counterPanel}
<h2>来庁の対象者</h2>
${
  v.subjects.length
    ? html`<table id="subjects"><tbody>${v.subjects.map((x) => {
        const sv = subjects.find((y) => y.no === x.addresseeNo)?.view;
        return sv
          ? html`<tr><td><a href="/residents/${sv.person.addresseeNo}?visit=${v.id}">${sv.person.addresseeNo}</a></td><td>${personSummary(sv.person)}</td><td>${addressCell(sv.person)}</td><td>${warningBadges(sv.person)}</td></tr>`
          : html`<tr><td>手入力</td><td>${x.manualName ?? ''} (${x.manualKana ?? ''}) ${x.manualBirthDate ? formatWareki(x.manualBirthDate) : ''}</td><td>${x.manualAddress === MASKED_ADDRESS ? html`<span class="protected">${MASKED_ADDRESS}</span>` : (x.manualAddress ?? '')}</td><td><span class="badge">住民記録なし</span></td></tr>`;
      })}</tbody></table>`
    : html`<p class="muted">まだいません。「住民を検索」から選ぶか、住民記録にない人は下で手入力します。</p>`
}
${
  open
    ? html`<details class="card"><summary>住民記録にない人を手入力する</summary>
<form method="post" action="/visits/${v.id}/subjects">${hidden}
  <label>氏名<br><input name="manualName" required></label> <label>カナ<br><input name="manualKana"></label>
  <label>生年月日<br><input name="manualBirthDate" placeholder="S50.4.1"></label> <label>住所<br><input name="manualAddress" size="40" class="address-input" list="manual-town-choices"></label><datalist id="manual-town-choices"></datalist> <span class="address-match muted" aria-live="polite"></span>
  <button type="submit">追加</button>
</form></details>`
    : ''
}
<h2 id="identity">本人確認</h2>
${open ? cardReaderPanel(v.id, csrf, 'identity', s.counterId) : ''}
${retry ? html`<p class="card alert" role="alert" id="identity-errors">本人確認を保存できませんでした。欄の横の説明を見て直してください (入力した内容はそのまま残っています)。</p>` : ''}
<form method="post" action="/visits/${v.id}/visitor" class="card identity" id="identity-form">${hidden}
  <fieldset><legend>来庁者</legend>${Object.entries(visitorRoles).map(([k, l], i) => html`<label class="check"><input type="radio" name="visitorRole" value="${k}" ${k === typed('visitorRole', v.visitorRole) ? html`checked` : ''} accesskey="${i + 1}"> ${l}</label>`)}</fieldset>
  <p><label>本人確認書類<br><select name="identityDocument" id="identity-document" data-identity="documentType"><option value="">未確認</option>${Object.entries(identityDocuments).map(([k, l]) => html`<option value="${k}" ${k === typed('identityDocument', v.identityDocument ?? '') ? html`selected` : ''}>${l}</option>`)}</select></label>
  <label>書類のメモ<br><input name="identityDocumentNote" value="${typed('identityDocumentNote', v.identityDocumentNote ?? '')}"></label>
  ${v.identityCheckedAt ? html`<span class="state-ok">確認済 ${jst(v.identityCheckedAt.toISOString())}</span>` : ''}${v.identityCard ? html` <span class="badge ic-read" id="identity-ic">ICカード読取</span>` : ''}<input type="hidden" name="cardReading" id="card-reading-id" value=""></p>
  <p class="muted">書類や申告と住民記録が違うときは、下の欄を書類どおりに直してください (住民記録は変わりません)。${registered && !v.visitorName ? ' 欄は対象者の住民記録から転記しています。' : ''}${!registered && mover && !v.visitorName ? ' 欄は転入届の世帯主から転記しています。' : ''}</p>
  <p><label>氏名<br><input name="visitorName" id="visitor-name" data-identity="name" value="${typed('visitorName', v.visitorName ?? (v.visitorRole === 'subject' ? (first?.name ?? '') : ''))}"></label>
  <label>カナ<br><input name="visitorKana" data-identity="kana" value="${typed('visitorKana', v.visitorKana ?? (v.visitorRole === 'subject' ? (first?.nameKana ?? '') : ''))}"></label>
  <label>生年月日<br><input name="visitorBirthDate" data-identity="birthDate" value="${typed('visitorBirthDate', wareki(v.visitorBirthDate ?? (v.visitorRole === 'subject' ? (first?.birthDate ?? null) : null)))}" placeholder="S50.4.1"></label>${errorBeside('visitorBirthDate')}
  <label>性別<br><select name="visitorSex" data-identity="sex"><option value="">—</option><option value="1" ${typed('visitorSex', sex ?? '') === '1' ? html`selected` : ''}>男</option><option value="2" ${typed('visitorSex', sex ?? '') === '2' ? html`selected` : ''}>女</option></select></label></p>
  <p><label>郵便番号<br><input name="visitorPostal" class="postal-input" inputmode="numeric" size="9" placeholder="860-0001"></label>
  <label>住所<br><input name="visitorAddress" class="address-input" list="town-choices" data-identity="address" size="50" value="${typed('visitorAddress', v.visitorAddress ?? (v.visitorRole === 'subject' && first && !first.addressMasked ? first.address : ''))}"></label>
  <datalist id="town-choices"></datalist> <span class="address-match muted" aria-live="polite"></span>
  <label>電話<br><input name="visitorPhone" inputmode="tel" value="${typed('visitorPhone', v.visitorPhone ?? '')}"></label></p>
  <fieldset><legend>代理人の場合</legend>
  <label>本人との関係<br><input name="proxyRelationship" id="proxy-relationship" value="${typed('proxyRelationship', v.proxyRelationship ?? '')}"></label>${errorBeside('proxyRelationship')}
  <label class="check"><input type="checkbox" name="proxyPowerOfAttorney" value="1" ${(retry ? retry.values.proxyPowerOfAttorney === '1' : v.proxyPowerOfAttorney) ? html`checked` : ''}> 委任状あり</label>
  <label>委任状・代理権の書類<br><input name="proxyDocument" value="${typed('proxyDocument', v.proxyDocument ?? '')}"></label></fieldset>
  ${open ? html`<p><button type="submit" id="save-identity">保存 (Enter)</button> <span class="muted">カード読取装置からの入力もこの欄に入ります。</span></p>` : ''}
</form>
${workSections}
${shortcuts()}`;
}

/** The identity form as posted, with why it was not saved. */
export interface IdentityRetry {
  values: Readonly<Record<string, string>>;
  errors: readonly { field: string; message: string }[];
}

/** 和暦 for a day or, for month-precision items (児童手当 支給開始月), a month: 平成26年7月. */
function warekiDayOrMonth(date: string | null): string {
  if (!date) return '';
  if (/^[0-9]{4}-[0-9]{2}$/.test(date)) return formatWareki(`${date}-01`).replace(/1日$/, '');
  return formatWareki(date);
}

/** A stored date shown as staff type it back (昭和63年3月29日), which the date input accepts. */
function wareki(date: string | null): string {
  return date ? formatWareki(date) : '';
}
