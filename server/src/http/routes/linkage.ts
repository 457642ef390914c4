import type { Knex } from 'knex';
import type { LinkageSettings } from '../../config/appConfig.js';
import { dbDate } from '../../db/values.js';
import { formatWareki } from '../../domain/wareki.js';
import type { LayoutRegistry } from '../../linkage/forward/layouts.js';
import { checkMissingFiles } from '../../linkage/forward/watchdog.js';
import type { LoadProgress } from '../../linkage/forward/watcher.js';
import { html, page, type PageChrome, type SafeHtml } from '../html.js';
import { badRequest, type RouteAccess, type RouteKit } from '../app.js';

export interface LinkageView {
  knex: Knex;
  registry: LayoutRegistry;
  settings: LinkageSettings;
  closedDates: readonly string[];
  loads: () => LoadProgress[];
}

export interface RunRecord {
  id: number;
  specId: string;
  edition: string | null;
  fileName: string;
  sha256: string | null;
  kind: string;
  encoding: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  rowsRead: number;
  rowsApplied: number;
  rowsRejected: number;
  unmappedGaiji: number;
  result: string;
  message: string | null;
}

export interface SpecStatus {
  specId: string;
  title: string;
  edition: string;
  provisional: boolean;
  expectedBy: string | null;
  lastApplied: RunRecord | null;
  lastRun: RunRecord | null;
  state: 'ok' | 'loading' | 'missing' | 'error' | 'none';
}

const iso = (v: unknown): string | null => dbDate(v)?.toISOString() ?? null;

export function toRunRecord(r: Record<string, unknown>): RunRecord {
  const startedAt = iso(r.started_at);
  const finishedAt = iso(r.finished_at);
  return {
    id: Number(r.id),
    specId: String(r.spec_id),
    edition: (r.edition as string | null) ?? null,
    fileName: String(r.file_name),
    sha256: (r.file_sha256 as string | null) ?? null,
    kind: String(r.kind),
    encoding: (r.encoding as string | null) ?? null,
    startedAt,
    finishedAt,
    durationMs: startedAt && finishedAt ? Date.parse(finishedAt) - Date.parse(startedAt) : null,
    rowsRead: Number(r.rows_read),
    rowsApplied: Number(r.rows_applied),
    rowsRejected: Number(r.rows_rejected),
    unmappedGaiji: Number(r.unmapped_gaiji),
    result: String(r.result),
    message: (r.message as string | null) ?? null,
  };
}

export async function listRuns(knex: Knex, opts: { specId?: string; limit?: number } = {}): Promise<RunRecord[]> {
  let q = knex('linkage_runs')
    .orderBy('id', 'desc')
    .limit(Math.min(Math.max(opts.limit ?? 50, 1), 200));
  if (opts.specId) q = q.where({ spec_id: opts.specId });
  return ((await q) as Record<string, unknown>[]).map(toRunRecord);
}

export async function runWithIssues(
  knex: Knex,
  id: number,
): Promise<{ run: RunRecord; issues: { line: number; column: string | null; value: string | null; reason: string }[] } | null> {
  const row = (await knex('linkage_runs').where({ id }).first()) as Record<string, unknown> | undefined;
  if (!row) return null;
  const issues = ((await knex('linkage_run_issues').where({ run_id: id }).orderBy('id').limit(1000)) as Record<string, unknown>[]).map(
    (i) => ({
      line: Number(i.line),
      column: (i.column_name as string | null) ?? null,
      value: (i.value as string | null) ?? null,
      reason: String(i.reason),
    }),
  );
  return { run: toRunRecord(row), issues };
}

export async function linkageStatus(
  v: LinkageView,
): Promise<{ specs: SpecStatus[]; loads: LoadProgress[]; alerts: { specId: string; date: string; message: string }[] }> {
  // Computed, not recorded: a page view never writes (the scheduled watchdog records alerts).
  const alerts = await checkMissingFiles(v.knex, v.settings, { record: false, closedDates: v.closedDates });
  const loads = v.loads();
  const specs: SpecStatus[] = [];
  for (const specId of Object.keys(v.settings.specs).sort()) {
    const layout = v.registry.latest(specId);
    const last = (await v.knex('linkage_runs').where({ spec_id: specId }).orderBy('id', 'desc').first()) as
      Record<string, unknown> | undefined;
    const applied = (await v.knex('linkage_runs').where({ spec_id: specId, result: 'applied' }).orderBy('id', 'desc').first()) as
      Record<string, unknown> | undefined;
    const lastRun = last ? toRunRecord(last) : null;
    const state: SpecStatus['state'] = loads.some((l) => l.specId === specId)
      ? 'loading'
      : alerts.some((a) => a.specId === specId)
        ? 'missing'
        : lastRun && (lastRun.result === 'quarantined' || lastRun.result === 'failed')
          ? 'error'
          : applied
            ? 'ok'
            : 'none';
    specs.push({
      specId,
      title: layout.title,
      edition: layout.edition,
      provisional: layout.provisional,
      expectedBy: v.settings.specs[specId]?.expectedBy ?? null,
      lastApplied: applied ? toRunRecord(applied) : null,
      lastRun,
      state,
    });
  }
  return { specs, loads, alerts: alerts.map((a) => ({ specId: a.specId, date: a.date, message: a.message })) };
}

export function jst(isoTime: string | null): string {
  if (!isoTime) return '';
  const local = new Date(Date.parse(isoTime) + 9 * 3600_000).toISOString();
  return `${formatWareki(local.slice(0, 10))} ${local.slice(11, 16)}`;
}

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

export function registerLinkageRoutes({ route, deps, chrome }: RouteKit): void {
  const runId = (raw: string | undefined): number => {
    const id = Number(raw);
    if (!Number.isInteger(id) || id < 1) throw badRequest('取込番号は正の整数で指定してください');
    return id;
  };
  const linkageRead: RouteAccess = { permission: 'linkage.read' };

  route('GET', '/linkage', linkageRead, async (ctx) => {
    ctx.type = 'html';
    ctx.body = await linkagePage(deps.linkage, chrome(ctx));
  });

  route('GET', '/linkage/runs/:id', linkageRead, async (ctx) => {
    const body = await runPage(deps.knex, runId(ctx.params.id), chrome(ctx));
    if (!body) ctx.throw(404, '指定された取込はありません');
    ctx.type = 'html';
    ctx.body = body;
  });

  route('GET', '/api/v1/linkage/status', linkageRead, async (ctx) => {
    ctx.body = await linkageStatus(deps.linkage);
  });

  route('GET', '/api/v1/linkage/runs', linkageRead, async (ctx) => {
    const limit = ctx.query.limit === undefined ? 50 : Number(ctx.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) ctx.throw(400, 'limit は 1〜200 の整数で指定してください');
    const spec = typeof ctx.query.spec === 'string' ? ctx.query.spec : undefined;
    ctx.body = { runs: await listRuns(deps.knex, { limit, ...(spec ? { specId: spec } : {}) }) };
  });

  route('GET', '/api/v1/linkage/runs/:id', linkageRead, async (ctx) => {
    const found = await runWithIssues(deps.knex, runId(ctx.params.id));
    if (!found) ctx.throw(404, '指定された取込はありません');
    ctx.body = found;
  });
}
