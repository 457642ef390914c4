import { formatWareki } from '../../domain/wareki.js';
import type { StaffSession } from '../../auth/sessions.js';
import type { Bulletin } from '../../bulletins/bulletins.js';
import type { AppConfig } from '../../config/appConfig.js';
import { japanWarekiTime as jst } from '../../domain/japanTime.js';
import type { SpecStatus } from '../../linkage/status.js';
import { statusLabels, type VisitSummary } from '../../visits/visits.js';
import { NAV } from '../nav.js';
import { html, page, type PageChrome } from '../html.js';

/** The home pages: the landing page before login, and the staff home after it. */

const STATE_LABEL: Record<SpecStatus['state'], string> = {
  ok: '正常',
  loading: '取込中',
  missing: '未着',
  held: '保留',
  error: 'エラー',
  none: '未取込',
};

/** The page before login: which town this is and where to log in. No personal data. */
export function landingPage(config: AppConfig, residents: number | null): string {
  const m = config.municipality;
  return page(
    'ホーム',
    html`<h1>${m.prefecture}${m.county ?? ''}${m.name} 書かない窓口</h1>
<p class="card"><a href="/login" accesskey="l">ログイン</a>してください。</p>
<p class="muted">住民記録キャッシュ: ${residents === null ? '—' : residents.toLocaleString('ja-JP')} 人 ・ 稼働状況 (JSON): <a href="/healthz">/healthz</a></p>`,
  );
}

/** What the staff home shows. */
export interface StaffHomeData {
  session: StaffSession;
  config: AppConfig;
  bulletins: readonly Bulletin[];
  /** Open and paused visits (empty without visit.handle). */
  visits: readonly VisitSummary[];
  specs: readonly SpecStatus[];
}

/** Home after login and counter choice: bulletins, open and paused visits, linkage status. */
export function staffHomePage(d: StaffHomeData, chrome: PageChrome): string {
  const { session, config, bulletins, visits } = d;
  const counter = (id: string | null) => config.counters.find((c) => c.id === id)?.name ?? id ?? '';
  const problems = d.specs.filter((s) => s.state === 'missing' || s.state === 'held' || s.state === 'error');
  return page(
    'ホーム',
    html`<h1>ホーム <small>${session.displayName} さん</small></h1>
<p class="muted">前回のログイン: ${session.previousLoginAt ? jst(session.previousLoginAt.toISOString()) : 'なし (初めてのログイン)'}</p>
<div class="card actions">
${session.permissions.has('visit.handle') ? html`<form method="post" action="/visits" class="inline"><input type="hidden" name="_csrf" value="${session.csrfToken ?? ''}"><button type="submit" id="new-visit" accesskey="n" autofocus>新しい来庁を受け付ける (Alt+N)</button> <select name="channel" aria-label="受付の種類"><option value="counter">窓口</option><option value="post">郵送</option><option value="exOfficio">職権</option></select></form> <a href="/visits">来庁の履歴</a>` : ''}
${session.permissions.has('resident.search') ? html`<a href="/search" accesskey="s" id="go-search">住民検索 (Alt+S)</a>` : ''}
${
  // A role without the counter's work (an administrator, a reviewer) starts from its own screens.
  session.permissions.has('visit.handle')
    ? ''
    : html`${NAV.filter((l) => l.href !== '/search' && session.permissions.has(l.permission)).map(
        (l, i) => html`${i ? ' ・ ' : ''}<a href="${l.href}" ${i === 0 ? html`autofocus` : ''}>${l.label}</a>`,
      )}`
}
</div>
<h2>伝達事項</h2>
${
  bulletins.length
    ? bulletins.map(
        (b) =>
          html`<div class="card bulletin"><p><strong>${b.title}</strong> <span class="muted">${jst(b.postedAt.toISOString())} ${b.postedBy}${b.showUntil ? ` ・ ${formatWareki(b.showUntil)} まで` : ''}</span></p><p class="pre">${b.body}</p></div>`,
      )
    : html`<p class="muted">伝達事項はありません。</p>`
}
${session.permissions.has('admin.staff') ? html`<p><a href="/admin/bulletins">伝達事項を編集する</a></p>` : ''}
${
  session.permissions.has('visit.handle')
    ? html`<h2>対応中・保留中の来庁 (${visits.length} 件)</h2>
${
  visits.length
    ? html`<table id="active-visits"><thead><tr><th>来庁番号</th><th>状態</th><th>窓口</th><th>開始</th><th>受付</th><th>対象者</th></tr></thead><tbody>
${visits.map(
  (v) =>
    html`<tr class="visit-${v.status}"><td><a href="/visits/${v.id}">${v.visitNo}</a></td><td class="status status-${v.status}">${statusLabels[v.status]}${
      // A paused visit is taken over at this counter in one click (the visit opens, resumed).
      v.status === 'paused'
        ? html` <form method="post" action="/visits/${v.id}/status" class="inline"><input type="hidden" name="_csrf" value="${session.csrfToken ?? ''}"><input type="hidden" name="change" value="resume"><button type="submit" class="resume-here" aria-label="来庁 ${v.visitNo} をこの窓口で再開">この窓口で再開</button></form>`
        : ''
    }</td><td>${counter(v.counterId)}</td><td>${jst(v.openedAt.toISOString())}</td><td>${v.openedByName}</td><td class="visit-persons">${v.persons.length ? `${v.persons.slice(0, 4).join('、')}${v.persons.length > 4 ? ` 他 ${v.persons.length - 4} 人` : ''}` : html`<span class="muted">まだいません</span>`}</td></tr>`,
)}
</tbody></table>`
    : html`<p class="muted">ありません。</p>`
}`
    : ''
}
<h2>前方連携</h2>
${problems.length ? html`<p class="card alert" role="alert">⚠ ${problems.map((p) => `${p.specId} ${p.title}: ${STATE_LABEL[p.state]}`).join('、')}</p>` : ''}
<table id="linkage-summary"><thead><tr><th>連携仕様</th><th>内容</th><th>最終取込</th><th>状態</th></tr></thead><tbody>
${d.specs.map((s) => html`<tr><td>${s.specId}</td><td>${s.title}</td><td>${jst(s.lastApplied?.finishedAt ?? null)}</td><td class="state-${s.state}">${STATE_LABEL[s.state]}</td></tr>`)}
</tbody></table>
${session.permissions.has('linkage.read') ? html`<p><a href="/linkage">取込の詳細</a></p>` : ''}`,
    chrome,
  );
}
