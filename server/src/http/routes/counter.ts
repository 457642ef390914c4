import type { StaffSession } from '../../auth/sessions.js';
import { parseDateInput } from '../../domain/dateInput.js';
import { formatWareki } from '../../domain/wareki.js';
import { entitlementKindLabels } from '../../auth/permissions.js';
import { MASKED_ADDRESS } from '../../residents/warnings.js';
import { parseSearchParams, runSearch, viewPerson, type SearchResponse } from '../../residents/service.js';
import { searchTargets } from '../../residents/search.js';
import type { PresentedResident } from '../../residents/present.js';
import { identityDocuments, visitorRoles } from '../../visits/identity.js';
import {
  addSubject,
  changeVisitStatus,
  getVisit,
  openVisit,
  saveVisitor,
  statusLabels,
  type Visit,
  type VisitorFields,
} from '../../visits/visits.js';
import { html, type SafeHtml } from '../html.js';
import { badRequest, type RouteAccess, type RouteKit } from '../kit.js';
import { japanWarekiTime as jst } from '../../domain/japanTime.js';
import { appendAudit } from '../../audit/trail.js';
import { dbDate } from '../../db/values.js';
import { todayInJapan } from '../../domain/dates.js';
import { visitWorkSections } from './notices.js';
import type { ProcedureSource } from '../kit.js';
import { ADDRESSEE_NO } from './residents.js';

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');
const orNull = (v: unknown): string | null => str(v) || null;

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

export function searchForm(query: Record<string, unknown>, visitId: number | null, focusForm = true): SafeHtml {
  const v = (k: string) => str(query[k]);
  return html`<form method="get" action="/search" class="card search-form" id="search-form" role="search">
  ${visitId ? html`<input type="hidden" name="visit" value="${visitId}">` : ''}
  <label>カナ (前方一致)<br><input name="kana" id="q-kana" value="${v('kana')}" autocomplete="off" ${focusForm ? html`autofocus` : ''}></label>
  <label>氏名<br><input name="name" id="q-name" value="${v('name')}" autocomplete="off"></label>
  <label>生年月日 (S50.4.1 / 昭和50年4月1日 / 500401)<br><select name="era" id="q-era" aria-label="元号キー">${ERA_OPTIONS.map(([k, l]) => html`<option value="${k}" ${k === v('era') ? html`selected` : ''}>${l}</option>`)}</select><input name="birthDate" id="q-birth" value="${v('birthDate')}" inputmode="numeric" autocomplete="off" size="12"></label>
  <label>住所<br><input name="address" id="q-address" value="${v('address')}" autocomplete="off"></label>
  <label>性別<br><select name="sex" id="q-sex"><option value="">指定なし</option><option value="1" ${v('sex') === '1' ? html`selected` : ''}>男</option><option value="2" ${v('sex') === '2' ? html`selected` : ''}>女</option></select></label>
  <label>対象<br><select name="target" id="q-target">${searchTargets.map((t) => html`<option value="${t}" ${t === (v('target') || 'residents') ? html`selected` : ''}>${TARGET_LABELS[t]}</option>`)}</select></label>
  <button type="submit" id="q-submit">検索 (Enter)</button>
</form>`;
}

function resultsTable(r: SearchResponse, query: Record<string, unknown>, visitId: number | null): SafeHtml {
  const from = (r.page - 1) * r.pageSize + 1;
  const pageLink = (page: number) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (typeof v === 'string' && v && k !== 'page') p.set(k, v);
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
<p class="pager">${r.page > 1 ? html`<a href="${pageLink(r.page - 1)}">← 前の ${r.pageSize} 件</a> ` : ''}${from + r.results.length - 1 < r.total ? html`<a href="${pageLink(r.page + 1)}">次の ${r.pageSize} 件 →</a>` : ''}</p>`
    : html`<p class="card muted">該当する人はいません。カナの一部や生年月日だけでも検索できます。住民記録にない人は来庁画面で手入力できます。</p>`
}`;
}

function personSummary(p: PresentedResident): SafeHtml {
  return html`<span class="name">${p.name}</span> (${p.nameKana ?? ''}) ${p.birthDateWareki}生 ${p.sex}`;
}

/** The counter screens: home work list, search, person view and visits (B-6..8, C-10..12, D-13..17). */
export function registerCounterRoutes(kit: RouteKit, procedures: ProcedureSource): void {
  const { legacyRoute: route, deps, render, session, actor, form } = kit;
  const knex = deps.knex;
  const search: RouteAccess = { permission: 'resident.search' };
  const visits: RouteAccess = { permission: 'visit.handle' };
  const counterName = (id: string | null) => deps.config.counters.find((c) => c.id === id)?.name ?? id ?? '';

  const visitParam = async (raw: unknown): Promise<Visit | null> => {
    if (raw === undefined || raw === '') return null;
    const id = Number(raw);
    if (!Number.isInteger(id) || id < 1) throw badRequest('来庁番号が正しくありません');
    const v = await getVisit(knex, id);
    if (!v) throw Object.assign(new Error('指定された来庁記録はありません'), { status: 404, expose: true });
    return v;
  };

  route('GET', '/search', search, async (ctx) => {
    const visit = await visitParam(ctx.query.visit);
    const hasQuery = ['name', 'kana', 'birthDate', 'address'].some((k) => str(ctx.query[k]));
    let results: SafeHtml = html``;
    let found = false;
    if (hasQuery) {
      try {
        const r = await runSearch(knex, parseSearchParams(ctx.query, deps.config.municipality), session(ctx), actor(ctx));
        results = resultsTable(r, ctx.query, visit?.id ?? null);
        found = r.results.length > 0;
      } catch (e) {
        const err = e as Error & { status?: number };
        if (err.status !== 400) throw e;
        ctx.status = 400;
        results = html`<p class="card alert" role="alert" id="search-error">${err.message}</p>`;
      }
    }
    render(
      ctx,
      '住民検索',
      html`<h1>住民検索${visit ? html` <small>来庁 ${visit.visitNo}</small>` : ''}</h1>
${visit ? html`<p><a href="/visits/${visit.id}">← 来庁記録 ${visit.visitNo} に戻る</a></p>` : ''}
${searchForm(ctx.query, visit?.id ?? null, !found)}
${shortcuts({ search: true })}
<div id="search-results">${results}</div>
<script src="/static/counter.js"></script>`,
    );
  });

  route('GET', '/residents/:addresseeNo', search, async (ctx) => {
    const no = ctx.params.addresseeNo ?? '';
    if (!ADDRESSEE_NO.test(no)) throw badRequest('宛名番号は数字で指定してください');
    const visit = await visitParam(ctx.query.visit);
    const viewer = session(ctx);
    const showMyNumber = ctx.query.myNumber === '1';
    const view = await viewPerson(knex, no, viewer, actor(ctx), { myNumber: showMyNumber, ...(visit ? { visitId: visit.id } : {}) });
    if (!view) return ctx.throw(404, '指定された住民は見つかりません');
    const p = view.person;
    const inVisit = visit && visit.status !== 'closed';
    const csrf = viewer.csrfToken ?? '';
    const ownMeasure = p.warnings.some((w) => w.kind === 'supportMeasure');
    render(
      ctx,
      `${p.name}`,
      html`${
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
    ? html`<table id="history"><thead><tr><th>異動日</th><th>事由</th><th>異動前の住所</th><th>異動後の住所</th></tr></thead><tbody>${view.history.map((h) => html`<tr><td>${h.changeDateWareki}</td><td>${h.reason}</td><td>${h.addressBefore ?? (p.addressMasked ? MASKED_ADDRESS : '')}</td><td>${h.addressAfter ?? (p.addressMasked ? MASKED_ADDRESS : '')}</td></tr>`)}</tbody></table>`
    : html`<p class="muted">履歴はありません。</p>`
}
<h2>同じ住所の他の世帯</h2>
${
  view.sameAddress.length
    ? html`<table id="same-address"><tbody>${view.sameAddress.map((m) => html`<tr><td><a href="/residents/${m.addresseeNo}${visit ? `?visit=${visit.id}` : ''}">${m.name}</a></td><td>${m.nameKana ?? ''}</td><td>${m.birthDateWareki}</td><td>${warningBadges(m)}</td></tr>`)}</tbody></table>`
    : html`<p class="muted">ありません。</p>`
}
${shortcuts({ addSubject: Boolean(inVisit) })}
<script src="/static/counter.js"></script>`,
    );
  });

  route('POST', '/visits', visits, async (ctx) => {
    const s = session(ctx);
    if (s.staffId === null) return ctx.throw(403, '端末からは来庁を開けません');
    const channel = str(form(ctx).channel) || 'counter';
    if (!['counter', 'post', 'exOfficio'].includes(channel)) throw badRequest('受付の種類が正しくありません');
    const v = await openVisit(knex, s.staffId, s.counterId, actor(ctx), channel as 'counter');
    ctx.status = 303;
    ctx.redirect(`/visits/${v.id}`);
  });

  route('GET', '/visits', visits, async (ctx) => {
    const from = str(ctx.query.from) || todayInJapan();
    const to = str(ctx.query.to) || from;
    if (![from, to].every((d) => /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(d))) throw badRequest('期間は YYYY-MM-DD で指定してください');
    const status = str(ctx.query.status);
    if (status && !(status in statusLabels)) throw badRequest('状態が正しくありません');
    const subject = str(ctx.query.addresseeNo);
    if (subject && !ADDRESSEE_NO.test(subject)) throw badRequest('宛名番号は数字で指定してください');
    let q = knex('visits')
      .join('staff', 'staff.id', 'visits.opened_by')
      .where('visits.opened_at', '>=', new Date(Date.parse(`${from}T00:00:00+09:00`)))
      .andWhere('visits.opened_at', '<', new Date(Date.parse(`${to}T00:00:00+09:00`) + 86_400_000));
    if (status) q = q.where('visits.status', status);
    if (subject) q = q.whereIn('visits.id', knex('visit_subjects').where({ addressee_no: subject }).select('visit_id'));
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
    // Looking up someone's visits is a reference to that person.
    if (subject)
      await knex.transaction((trx) =>
        appendAudit(trx, {
          ...actor(ctx),
          action: 'visit.history',
          targetKind: 'resident',
          targetIds: [subject],
          result: 'success',
          detail: { from, to, shown: rows.length },
        }),
      );
    const channels: Record<string, string> = { counter: '窓口', post: '郵送', exOfficio: '職権' };
    render(
      ctx,
      '来庁の履歴',
      html`<h1>来庁の履歴</h1>
<form method="get" action="/visits" class="card filters">
  <label>期間<br><input name="from" type="date" value="${from}"> 〜 <input name="to" type="date" value="${to}"></label>
  <label>状態<br><select name="status"><option value="">すべて</option>${Object.entries(statusLabels).map(([k, l]) => html`<option value="${k}" ${k === status ? html`selected` : ''}>${l}</option>`)}</select></label>
  <label>対象者の宛名番号<br><input name="addresseeNo" value="${subject}" inputmode="numeric"></label>
  <button type="submit">絞り込む</button>
</form>
<p>${rows.length} 件</p>
<table id="visit-history"><thead><tr><th>来庁番号</th><th>種類</th><th>状態</th><th>窓口</th><th>開始</th><th>完了</th><th>受付</th></tr></thead><tbody>
${rows.map((r) => html`<tr><td><a href="/visits/${Number(r.id)}">${String(r.visit_no)}</a></td><td>${channels[String(r.channel)] ?? String(r.channel)}</td><td>${statusLabels[r.status as keyof typeof statusLabels]}</td><td>${counterName((r.counter_id as string | null) ?? null)}</td><td>${jst(dbDate(r.opened_at)?.toISOString() ?? null)}</td><td>${jst(dbDate(r.closed_at)?.toISOString() ?? null)}</td><td>${String(r.display_name)}</td></tr>`)}
</tbody></table>`,
    );
  });

  route('GET', '/visits/:id', visits, async (ctx) => {
    const visit = (await visitParam(ctx.params.id))!;
    const s = session(ctx);
    const viewer = session(ctx);
    // The subjects are personal data: what they show is masked and audited like a search result.
    const subjects = await Promise.all(
      visit.subjects
        .filter((x) => x.addresseeNo)
        .map(async (x) => ({
          no: x.addresseeNo!,
          view: await viewPerson(knex, x.addresseeNo!, viewer, actor(ctx), { visitId: visit.id }),
        })),
    );
    const open = visit.status !== 'closed';
    const csrf = s.csrfToken ?? '';
    const hidden = html`<input type="hidden" name="_csrf" value="${csrf}">`;
    const v = visit;
    const first = subjects[0]?.view?.person;
    render(
      ctx,
      `来庁 ${v.visitNo}`,
      html`<h1>来庁 ${v.visitNo} <span class="status status-${v.status}" id="visit-status">${statusLabels[v.status]}</span></h1>
<p class="muted">開始 ${jst(v.openedAt.toISOString())} ・ 受付 ${v.openedByName} ・ 窓口 ${counterName(v.counterId)} ・ 最終更新 ${jst(v.updatedAt.toISOString())}</p>
<div class="card actions">
  <a href="/search?visit=${v.id}" accesskey="s" id="visit-search">住民を検索 (Alt+S)</a>
  ${s.permissions.has('certificate.accept') ? html`<a href="/visits/${v.id}/certificates" id="visit-certificates">証明書の請求</a>` : ''}
  ${v.status === 'open' ? html`<form method="post" action="/visits/${v.id}/status" class="inline">${hidden}<input type="hidden" name="change" value="pause"><button type="submit">保留 (他の課へ)</button></form>` : ''}
  ${v.status === 'paused' ? html`<form method="post" action="/visits/${v.id}/status" class="inline">${hidden}<input type="hidden" name="change" value="resume"><button type="submit" id="resume">この窓口で再開</button></form>` : ''}
  ${open ? html`<form method="post" action="/visits/${v.id}/status" class="inline">${hidden}<input type="hidden" name="change" value="close"><button type="submit">完了</button></form>` : ''}
</div>
<h2>来庁の対象者</h2>
${
  v.subjects.length
    ? html`<table id="subjects"><tbody>${v.subjects.map((x) => {
        const sv = subjects.find((y) => y.no === x.addresseeNo)?.view;
        return sv
          ? html`<tr><td><a href="/residents/${sv.person.addresseeNo}?visit=${v.id}">${sv.person.addresseeNo}</a></td><td>${personSummary(sv.person)}</td><td>${addressCell(sv.person)}</td><td>${warningBadges(sv.person)}</td></tr>`
          : html`<tr><td>手入力</td><td>${x.manualName ?? ''} (${x.manualKana ?? ''}) ${x.manualBirthDate ? formatWareki(x.manualBirthDate) : ''}</td><td>${x.manualAddress ?? ''}</td><td><span class="badge">住民記録なし</span></td></tr>`;
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
<h2>本人確認</h2>
<form method="post" action="/visits/${v.id}/visitor" class="card identity" id="identity-form">${hidden}
  <fieldset><legend>来庁者</legend>${Object.entries(visitorRoles).map(([k, l], i) => html`<label class="check"><input type="radio" name="visitorRole" value="${k}" ${k === v.visitorRole ? html`checked` : ''} accesskey="${i + 1}"> ${l}</label>`)}</fieldset>
  <p><label>本人確認書類<br><select name="identityDocument" id="identity-document" data-identity="documentType"><option value="">未確認</option>${Object.entries(identityDocuments).map(([k, l]) => html`<option value="${k}" ${k === v.identityDocument ? html`selected` : ''}>${l}</option>`)}</select></label>
  <label>書類のメモ<br><input name="identityDocumentNote" value="${v.identityDocumentNote ?? ''}"></label>
  ${v.identityCheckedAt ? html`<span class="state-ok">確認済 ${jst(v.identityCheckedAt.toISOString())}</span>` : ''}</p>
  <p class="muted">書類や申告と住民記録が違うときは、下の欄を書類どおりに直してください (住民記録は変わりません)。${first && !v.visitorName ? ' 欄は対象者の住民記録から転記しています。' : ''}</p>
  <p><label>氏名<br><input name="visitorName" id="visitor-name" data-identity="name" value="${v.visitorName ?? (v.visitorRole === 'subject' ? (first?.name ?? '') : '')}"></label>
  <label>カナ<br><input name="visitorKana" data-identity="kana" value="${v.visitorKana ?? (v.visitorRole === 'subject' ? (first?.nameKana ?? '') : '')}"></label>
  <label>生年月日<br><input name="visitorBirthDate" data-identity="birthDate" value="${wareki(v.visitorBirthDate ?? (v.visitorRole === 'subject' ? (first?.birthDate ?? null) : null))}" placeholder="S50.4.1"></label>
  <label>性別<br><select name="visitorSex" data-identity="sex"><option value="">—</option><option value="1" ${v.visitorSex === '1' ? html`selected` : ''}>男</option><option value="2" ${v.visitorSex === '2' ? html`selected` : ''}>女</option></select></label></p>
  <p><label>郵便番号<br><input name="visitorPostal" class="postal-input" inputmode="numeric" size="9" placeholder="860-0001"></label>
  <label>住所<br><input name="visitorAddress" class="address-input" list="town-choices" data-identity="address" size="50" value="${v.visitorAddress ?? (v.visitorRole === 'subject' && first && !first.addressMasked ? first.address : '')}"></label>
  <datalist id="town-choices"></datalist> <span class="address-match muted" aria-live="polite"></span>
  <label>電話<br><input name="visitorPhone" inputmode="tel" value="${v.visitorPhone ?? ''}"></label></p>
  <fieldset><legend>代理人の場合</legend>
  <label>本人との関係<br><input name="proxyRelationship" value="${v.proxyRelationship ?? ''}"></label>
  <label class="check"><input type="checkbox" name="proxyPowerOfAttorney" value="1" ${v.proxyPowerOfAttorney ? html`checked` : ''}> 委任状あり</label>
  <label>委任状・代理権の書類<br><input name="proxyDocument" value="${v.proxyDocument ?? ''}"></label></fieldset>
  ${open ? html`<p><button type="submit" id="save-identity">保存 (Enter)</button> <span class="muted">カード読取装置からの入力もこの欄に入ります。</span></p>` : ''}
</form>
${await visitWorkSections(knex, v.id, open, csrf, procedures, s.counterId, deps.config.counters.find((c) => c.id === s.counterId)?.section ?? null, deps.config.counters, s.permissions.has('notice.accept'))}
${shortcuts()}
<script src="/static/counter.js"></script>`,
    );
  });

  const visitId = (raw: string | undefined): number => {
    const id = Number(raw);
    if (!Number.isInteger(id) || id < 1) throw badRequest('来庁番号が正しくありません');
    return id;
  };
  const staffOf = (s: StaffSession): number => {
    if (s.staffId === null) throw Object.assign(new Error('端末からは来庁記録を変更できません'), { status: 403, expose: true });
    return s.staffId;
  };

  route('POST', '/visits/:id/visitor', visits, async (ctx) => {
    const id = visitId(ctx.params.id);
    await saveVisitor(knex, id, staffOf(session(ctx)), visitorFields(form(ctx)), actor(ctx));
    ctx.status = 303;
    ctx.redirect(`/visits/${id}`);
  });

  route('POST', '/visits/:id/subjects', visits, async (ctx) => {
    const id = visitId(ctx.params.id);
    await addSubject(knex, id, staffOf(session(ctx)), subjectFields(form(ctx)), actor(ctx));
    ctx.status = 303;
    ctx.redirect(`/visits/${id}`);
  });

  route('POST', '/visits/:id/status', visits, async (ctx) => {
    const id = visitId(ctx.params.id);
    const change = str(form(ctx).change);
    if (change !== 'pause' && change !== 'resume' && change !== 'close') throw badRequest('操作が正しくありません');
    const s = session(ctx);
    await changeVisitStatus(knex, id, staffOf(s), change, s.counterId, actor(ctx));
    ctx.status = 303;
    ctx.redirect(change === 'resume' ? `/visits/${id}` : '/');
  });

  // The same actions as JSON for other clients (and the OpenAPI document).
  route('POST', '/api/v1/visits', visits, async (ctx) => {
    const s = session(ctx);
    ctx.status = 201;
    ctx.body = await openVisit(knex, staffOf(s), s.counterId, actor(ctx));
  });
  route('GET', '/api/v1/visits/:id', visits, async (ctx) => {
    const v = await getVisit(knex, visitId(ctx.params.id));
    if (!v) return ctx.throw(404, '指定された来庁記録はありません');
    ctx.body = v;
  });
  route('POST', '/api/v1/visits/:id/visitor', visits, async (ctx) => {
    const id = visitId(ctx.params.id);
    await saveVisitor(knex, id, staffOf(session(ctx)), visitorFields(form(ctx)), actor(ctx));
    ctx.body = await getVisit(knex, id);
  });
  route('POST', '/api/v1/visits/:id/subjects', visits, async (ctx) => {
    const id = visitId(ctx.params.id);
    await addSubject(knex, id, staffOf(session(ctx)), subjectFields(form(ctx)), actor(ctx));
    ctx.body = await getVisit(knex, id);
  });
  route('POST', '/api/v1/visits/:id/status', visits, async (ctx) => {
    const id = visitId(ctx.params.id);
    const change = str(form(ctx).change);
    if (change !== 'pause' && change !== 'resume' && change !== 'close') throw badRequest('change は pause・resume・close のいずれかです');
    const s = session(ctx);
    await changeVisitStatus(knex, id, staffOf(s), change, s.counterId, actor(ctx));
    ctx.body = await getVisit(knex, id);
  });
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

function birthOrNull(v: unknown, label: string): string | null {
  const s = str(v);
  if (!s) return null;
  const d = parseDateInput(s);
  if (!d.ok) throw badRequest(`${label}: ${d.message}`);
  if (d.from !== d.to) throw badRequest(`${label}は日まで入力してください`);
  return d.from;
}

function visitorFields(b: Record<string, unknown>): VisitorFields {
  const role = str(b.visitorRole) || 'subject';
  if (!(role in visitorRoles)) throw badRequest('来庁者の区分が正しくありません');
  const doc = orNull(b.identityDocument);
  if (doc && !(doc in identityDocuments)) throw badRequest('本人確認書類の種類が正しくありません');
  const sex = orNull(b.visitorSex);
  if (sex && sex !== '1' && sex !== '2') throw badRequest('性別が正しくありません');
  const addresseeNo = orNull(b.visitorAddresseeNo);
  if (addresseeNo && !ADDRESSEE_NO.test(addresseeNo)) throw badRequest('宛名番号は数字で指定してください');
  const proxy = role === 'proxy';
  if (proxy && !str(b.proxyRelationship)) throw badRequest('代理人の場合は本人との関係を入力してください');
  return {
    visitorRole: role as VisitorFields['visitorRole'],
    identityDocument: doc,
    identityDocumentNote: orNull(b.identityDocumentNote),
    visitorAddresseeNo: addresseeNo,
    visitorName: orNull(b.visitorName),
    visitorKana: orNull(b.visitorKana),
    visitorBirthDate: birthOrNull(b.visitorBirthDate, '来庁者の生年月日'),
    visitorSex: sex,
    visitorAddress: orNull(b.visitorAddress),
    visitorPhone: orNull(b.visitorPhone),
    proxyRelationship: proxy ? orNull(b.proxyRelationship) : null,
    proxyPowerOfAttorney: proxy && Boolean(b.proxyPowerOfAttorney),
    proxyDocument: proxy ? orNull(b.proxyDocument) : null,
  };
}

function subjectFields(b: Record<string, unknown>): Parameters<typeof addSubject>[3] {
  const no = str(b.addresseeNo);
  if (no) {
    if (!ADDRESSEE_NO.test(no)) throw badRequest('宛名番号は数字で指定してください');
    return { addresseeNo: no };
  }
  const name = str(b.manualName);
  if (!name) throw badRequest('手入力する人の氏名を入力してください');
  return {
    manualName: name,
    manualKana: orNull(b.manualKana),
    manualBirthDate: birthOrNull(b.manualBirthDate, '生年月日'),
    manualAddress: orNull(b.manualAddress),
  };
}
