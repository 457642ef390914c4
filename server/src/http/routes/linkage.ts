import { Type as T } from '@sinclair/typebox';
import type { Knex } from 'knex';
import { japanWarekiTime as jst } from '../../domain/japanTime.js';
import { notFound } from '../../errors/domainError.js';
import { linkageStatus, listRuns, runWithIssues, type LinkageView, type RunRecord, type SpecStatus } from '../../linkage/status.js';
import { html, page, type PageChrome, type SafeHtml } from '../html.js';
import { htmlPage, json, type RouteAccess, type RouteKit } from '../kit.js';
import { IdParam } from '../schemas/common.js';
import { LinkageStatusSchema, RunListSchema, RunWithIssuesSchema } from '../schemas/linkage.js';

const RESULT_LABEL: Record<string, string> = {
  applied: '取込済',
  skipped: '処理なし (取込済と同一)',
  quarantined: '隔離',
  failed: '失敗',
  running: '取込中',
};
const STATE_LABEL: Record<SpecStatus['state'], string> = {
  ok: '正常',
  loading: '取込中',
  missing: '未着 (期限超過)',
  error: 'エラー',
  none: '未取込',
};

function seconds(ms: number | null): string {
  return ms === null ? '' : `${(ms / 1000).toFixed(1)} 秒`;
}

function runRows(runs: RunRecord[]): SafeHtml {
  return html`<table><thead><tr><th>番号</th><th>連携仕様</th><th>ファイル</th><th>種別</th><th>読込</th><th>取込</th><th>不正</th><th>未対応外字</th><th>所要</th><th>結果</th><th>開始</th></tr></thead><tbody>
${runs.map((r) => html`<tr><td class="num"><a href="/linkage/runs/${r.id}">${r.id}</a></td><td>${r.specId}</td><td>${r.fileName}</td><td>${r.kind === 'diff' ? '差分' : r.kind === 'full' ? '全件' : ''}</td><td class="num">${r.rowsRead.toLocaleString('ja-JP')}</td><td class="num">${r.rowsApplied.toLocaleString('ja-JP')}</td><td class="num">${r.rowsRejected.toLocaleString('ja-JP')}</td><td class="num">${r.unmappedGaiji}</td><td class="num">${seconds(r.durationMs)}</td><td class="result-${r.result}">${RESULT_LABEL[r.result] ?? r.result}</td><td>${jst(r.startedAt)}</td></tr>`)}
</tbody></table>`;
}

export async function linkagePage(v: LinkageView, chrome: PageChrome): Promise<string> {
  const status = await linkageStatus(v);
  const runs = await listRuns(v.knex, { limit: 50 });
  return page(
    '前方連携の状況',
    html`<h1>前方連携の状況</h1>
${status.loads.length ? html`<meta http-equiv="refresh" content="5">` : ''}
${status.alerts.length ? html`<div class="card alert" role="alert">${status.alerts.map((a) => html`<p>⚠ ${a.message}</p>`)}</div>` : ''}
${status.loads.map((l) => html`<div class="card"><p>取込中: ${l.specId} ${l.file.split('/').pop()} — ${l.rows.toLocaleString('ja-JP')} 行</p><progress max="${l.totalBytes}" value="${l.bytes}">${Math.round((100 * l.bytes) / Math.max(1, l.totalBytes))}%</progress></div>`)}
<h2>連携仕様ごとの状態</h2>
<table><thead><tr><th>連携仕様</th><th>内容</th><th>版</th><th>到着期限</th><th>最終取込</th><th>件数</th><th>状態</th></tr></thead><tbody>
${status.specs.map((s) => html`<tr><td>${s.specId}</td><td>${s.title}</td><td>${s.edition}${s.provisional ? '（暫定）' : ''}</td><td>${s.expectedBy ?? '—'}</td><td>${jst(s.lastApplied?.finishedAt ?? null)}</td><td class="num">${s.lastApplied ? s.lastApplied.rowsApplied.toLocaleString('ja-JP') : ''}</td><td class="state-${s.state}">${STATE_LABEL[s.state]}</td></tr>`)}
</tbody></table>
<h2>取込の履歴 (新しい順 50 件)</h2>
${runs.length ? runRows(runs) : html`<p class="muted">まだ取込はありません。</p>`}
<p class="muted">JSON: <a href="/api/v1/linkage/status">/api/v1/linkage/status</a> ・ <a href="/api/v1/linkage/runs">/api/v1/linkage/runs</a></p>`,
    chrome,
  );
}

export async function runPage(knex: Knex, id: number, chrome: PageChrome): Promise<string | null> {
  const found = await runWithIssues(knex, id);
  if (!found) return null;
  const { run: r, issues } = found;
  return page(
    `取込 ${r.id}`,
    html`<h1>取込 ${r.id}: ${r.fileName}</h1>
<table>
<tr><th>連携仕様</th><td>${r.specId}${r.edition ? ` (版 ${r.edition})` : ''}</td></tr>
<tr><th>結果</th><td class="result-${r.result}">${RESULT_LABEL[r.result] ?? r.result}</td></tr>
<tr><th>理由・メモ</th><td>${r.message ?? ''}</td></tr>
<tr><th>文字コード</th><td>${r.encoding ?? ''}</td></tr>
<tr><th>件数</th><td>読込 ${r.rowsRead} / 取込 ${r.rowsApplied} / 不正 ${r.rowsRejected} / 未対応外字 ${r.unmappedGaiji}</td></tr>
<tr><th>SHA-256</th><td><code>${r.sha256 ?? ''}</code></td></tr>
<tr><th>開始・終了</th><td>${jst(r.startedAt)} 〜 ${jst(r.finishedAt)} (${seconds(r.durationMs)})</td></tr>
</table>
<h2>問題の一覧 (${issues.length} 件)</h2>
${
  issues.length
    ? html`<table><thead><tr><th>行</th><th>項目</th><th>値 (個人情報は一部伏字)</th><th>理由</th></tr></thead><tbody>${issues.map((i) => html`<tr><td class="num">${i.line}</td><td>${i.column ?? ''}</td><td>${i.value ?? ''}</td><td>${i.reason}</td></tr>`)}</tbody></table>`
    : html`<p class="muted">問題はありません。</p>`
}
<p><a href="/linkage">前方連携の状況へ戻る</a></p>`,
    chrome,
  );
}

const TAG = '前方連携';
const RunId = T.Object({ id: IdParam('取込番号') });

export function registerLinkageRoutes({ route, deps, chrome }: RouteKit): void {
  const linkageRead: RouteAccess = { permission: 'linkage.read' };

  route({ method: 'GET', path: '/linkage', access: linkageRead, summary: '前方連携の状況 (画面)', response: htmlPage }, async (ctx) => {
    ctx.type = 'html';
    ctx.body = await linkagePage(deps.linkage, chrome(ctx));
  });

  route(
    {
      method: 'GET',
      path: '/linkage/runs/:id',
      access: linkageRead,
      summary: '取込 1 回の記録と問題の一覧 (画面)',
      params: RunId,
      response: htmlPage,
    },
    async (ctx) => {
      const body = await runPage(deps.knex, ctx.input.params.id, chrome(ctx));
      if (!body) throw notFound('取込');
      ctx.type = 'html';
      ctx.body = body;
    },
  );

  route(
    {
      method: 'GET',
      path: '/api/v1/linkage/status',
      access: linkageRead,
      tag: TAG,
      summary: '連携仕様ごとの取込状況',
      description: '連携仕様ごとの最終取込と状態、取込中のファイル、到着期限を過ぎても届いていないファイルを返します。',
      response: json(LinkageStatusSchema),
    },
    async () => linkageStatus(deps.linkage),
  );

  route(
    {
      method: 'GET',
      path: '/api/v1/linkage/runs',
      access: linkageRead,
      tag: TAG,
      summary: '取込の履歴 (新しい順)',
      query: T.Object({
        limit: T.Optional(T.Integer({ minimum: 1, maximum: 200, default: 50, title: '件数 (limit)' })),
        spec: T.Optional(T.String({ maxLength: 64, title: '連携仕様 ID (spec)' })),
      }),
      response: json(RunListSchema),
    },
    async (ctx) => {
      const { limit, spec } = ctx.input.query;
      return { runs: await listRuns(deps.knex, { limit: limit ?? 50, ...(spec ? { specId: spec } : {}) }) };
    },
  );

  route(
    {
      method: 'GET',
      path: '/api/v1/linkage/runs/:id',
      access: linkageRead,
      tag: TAG,
      summary: '取込 1 回の記録と問題の一覧',
      params: RunId,
      response: json(RunWithIssuesSchema),
    },
    async (ctx) => {
      const found = await runWithIssues(deps.knex, ctx.input.params.id);
      if (!found) throw notFound('取込');
      return found;
    },
  );
}
