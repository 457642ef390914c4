import type { Knex } from 'knex';
import type { AppConfig } from '../../config/appConfig.js';
import { dbDate } from '../../db/values.js';
import { jst } from './linkage.js';
import { html, page, type PageChrome } from '../html.js';
import type { StaffSession } from '../../auth/sessions.js';

interface RunRow {
  spec_id: string;
  file_name: string;
  rows_applied: number;
  result: string;
  finished_at: unknown;
  started_at: unknown;
}


const RESULT_LABEL: Record<string, string> = { applied: '取込済', failed: '失敗', running: '取込中', quarantined: '隔離', skipped: '取込済 (重複)' };

/** The landing page: which town this is, how current the cache is, where to go next. */
export async function homePage(knex: Knex, config: AppConfig, residents: number | null, session: StaffSession | undefined, chrome: PageChrome): Promise<string> {
  const runs = (await knex('linkage_runs').orderBy('id', 'desc').limit(20)) as RunRow[];
  const m = config.municipality;
  return page(
    'ホーム',
    html`<h1>${m.prefecture}${m.county ?? ''}${m.name} 書かない窓口</h1>
${session ? html`<div class="card"><p>${session.displayName} さん、ようこそ。前回のログイン: ${session.previousLoginAt ? jst(session.previousLoginAt.toISOString()) : 'なし (初めてのログイン)'}</p></div>` : html`<p><a href="/login">ログイン</a>してください。</p>`}
<div class="card">
  <p>住民記録キャッシュ: <strong>${residents === null ? '—' : residents.toLocaleString('ja-JP')}</strong> 人 (住登者)</p>
  <p class="muted">窓口: ${config.counters.map((c) => c.name).join('・')}</p>
</div>
<h2>前方連携の取込状況</h2>
${runs.length
  ? html`<table><thead><tr><th>連携仕様</th><th>ファイル</th><th>件数</th><th>結果</th><th>完了日時</th></tr></thead><tbody>
${runs.map((r) => html`<tr><td>${r.spec_id}</td><td>${r.file_name}</td><td class="num">${Number(r.rows_applied).toLocaleString('ja-JP')}</td><td class="${r.result === 'failed' ? 'result-failed' : ''}">${RESULT_LABEL[r.result] ?? r.result}</td><td>${jst(dbDate(r.finished_at ?? r.started_at)?.toISOString() ?? null)}</td></tr>`)}
</tbody></table>`
  : html`<p class="muted">まだ取り込んだ連携ファイルはありません。</p>`}
<p class="muted">稼働状況 (JSON): <a href="/healthz">/healthz</a></p>`,
    chrome,
  );
}
