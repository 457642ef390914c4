import { japanWarekiTime as jst } from '../../domain/japanTime.js';
import { noticeTypeLabels, type NoticeType } from '../../domain/procedureTypes.js';
import type { Evidence } from '../../rpa/evidence.js';
import { jobStatuses, jobStatusLabels, PROTECTED_JOB_REASON, type Job, type JobStatus } from '../../rpa/jobs.js';
import type { JobList } from '../../rpa/commands/staffViews.js';
import { reconcileStateLabels, type ReconcileFlag } from '../../rpa/reconcile.js';
import { html, type SafeHtml } from '../html.js';

/** An agent not heard from for this long is shown as silent. */
const AGENT_SILENT_MS = 10 * 60_000;

export function scenarioLabel(scenario: string): string {
  const certificates: Record<string, string> = {
    residentCopy: '住民票の写し',
    residentEntry: '住民票記載事項証明',
    sealCertificate: '印鑑登録証明',
    incomeTax: '所得・課税証明',
    taxPayment: '納税証明',
  };
  return noticeTypeLabels[scenario as NoticeType] ?? certificates[scenario] ?? scenario;
}

const statusCell = (j: Job): SafeHtml =>
  html`<td class="${j.status === 'needsAttention' ? 'result-failed' : ''}">${jobStatusLabels[j.status]}${j.status === 'queued' && j.awaitingReview ? html` <span class="muted">(審査待ち)</span>` : ''}${j.blockedBy ? html` <span class="muted">(ジョブ ${j.blockedBy} の後)</span>` : ''}</td>`;
const errorText = (j: Job): string =>
  j.errorKind ? `${j.errorKind === 'business' ? '業務エラー' : 'アプリケーションエラー'}: ${j.errorMessage ?? ''}` : '';
/**
 * The list's error cell: a 支援措置 job says why it waits for a dedicated agent or staff, and
 * never its error text (the core system's message may repeat the typed address).
 */
const listErrorText = (j: Job): string =>
  j.protected
    ? `${PROTECTED_JOB_REASON}${j.errorKind ? ` (${j.errorKind === 'business' ? '業務エラー' : 'アプリケーションエラー'}。内容は支援措置担当がジョブの画面で確認します)` : ''}`
    : errorText(j);
const protectedMark = (j: Job): SafeHtml => (j.protected ? html` <span class="warning protected-job">支援措置</span>` : html``);
const resolveForm = (j: Job, csrf: string): SafeHtml =>
  j.status === 'needsAttention' || j.status === 'queued'
    ? html`<form method="post" action="/rpa/jobs/${j.id}/resolve" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><select name="action" aria-label="操作">${j.status === 'needsAttention' ? html`<option value="retry">再実行</option>` : ''}<option value="doneByHand">手入力済みにする</option><option value="cancel">取り消す</option></select><input name="reason" placeholder="理由" aria-label="理由" required size="10"><button type="submit">実行</button></form>`
    : html``;

/** The job list with counts, filters and the agents. */
export function jobListView(
  l: JobList,
  filter: { status: JobStatus | ''; scenario: string; agent: string },
  csrf: string,
  now = Date.now(),
  flags: readonly ReconcileFlag[] = [],
): SafeHtml {
  const { status, scenario, agent } = filter;
  return html`<h1>RPA ジョブ (基幹系への入力)</h1>
${reconcileSection(flags)}
<table id="job-counts"><tr>${jobStatuses.map((s) => html`<th>${jobStatusLabels[s]}</th>`)}</tr><tr>${jobStatuses.map((s) => html`<td class="num"><a href="/rpa/jobs?status=${s}">${l.counts[s]}</a></td>`)}</tr></table>
<form method="get" action="/rpa/jobs" class="inline" id="job-filter"><label>状態 <select name="status"><option value="">すべて</option>${jobStatuses.map((s) => html`<option value="${s}"${s === status ? html` selected` : ''}>${jobStatusLabels[s]}</option>`)}</select></label>
<label>届出・証明 <select name="scenario"><option value="">すべて</option>${l.scenarios.map((s) => html`<option value="${s}"${s === scenario ? html` selected` : ''}>${scenarioLabel(s)}</option>`)}</select></label>
<label>端末 <input name="agent" value="${agent}" size="10"></label> <button type="submit">絞り込む</button></form>
<table id="jobs"><thead><tr><th>番号</th><th>届出・証明</th><th>受付番号</th><th>状態</th><th>試行</th><th>端末</th><th>処理番号</th><th>エラー</th><th>作成</th><th></th></tr></thead><tbody>
${l.jobs.map((j) => html`<tr><td class="num"><a href="/rpa/jobs/${j.id}">${j.id}</a></td><td>${scenarioLabel(j.scenario)}${protectedMark(j)}</td><td>${j.reference ?? ''}</td>${statusCell(j)}<td class="num">${j.attempts}/${j.maxAttempts}</td><td>${j.leasedBy ?? ''}</td><td>${j.coreRef ?? ''}</td><td>${listErrorText(j)}</td><td>${jst(j.createdAt.toISOString())}</td><td>${resolveForm(j, csrf)}</td></tr>`)}
</tbody></table>
<h2>RPA 端末</h2>
<table id="agents"><thead><tr><th>端末名</th><th>ホスト名</th><th>版</th><th>最終通信</th><th>最後のジョブ</th><th>状態</th></tr></thead><tbody>
${l.agents.map((a) => {
  const silent = now - a.lastSeenAt.getTime() > AGENT_SILENT_MS;
  return html`<tr><td>${a.name}</td><td>${a.host ?? ''}</td><td>${a.version ?? ''}</td><td>${jst(a.lastSeenAt.toISOString())}</td><td>${a.lastJobId ? html`<a href="/rpa/jobs/${a.lastJobId}">${a.lastJobId}</a>` : ''}</td><td class="${silent ? 'result-failed' : ''}">${silent ? '応答なし' : '稼働中'}</td></tr>`;
})}
</tbody></table>`;
}

/**
 * Jobs the core system's 異動履歴 contradicts, first on the page: job, type, numbers and what the
 * history says (counts, no personal data). Staff check the core system and act on the job.
 */
function reconcileSection(flags: readonly ReconcileFlag[]): SafeHtml {
  if (!flags.length) return html``;
  return html`<section class="card alert" id="reconciliation"><h2>異動履歴との照合で要確認 (${flags.length} 件)</h2>
<p>基幹系から届いた異動履歴 (001o009) と、RPA の入力の結果が合いません。基幹系の画面で確かめてください:
二重入力なら基幹系で 1 件を取り消し、連携に現れないなら入力されたか確かめ、入力済・未報告ならジョブを「手入力済みにする」(処理番号は基幹系で確認) にします。</p>
<table id="reconcile-flags"><thead><tr><th>ジョブ</th><th>届出</th><th>受付番号</th><th>状態</th><th>処理番号</th><th>照合</th><th>内容</th><th>検出</th></tr></thead><tbody>
${flags.map(
  (f) =>
    html`<tr><td class="num"><a href="/rpa/jobs/${f.jobId}">${f.jobId}</a></td><td>${scenarioLabel(f.scenario)}</td><td>${f.reference}</td><td>${jobStatusLabels[f.status as JobStatus] ?? f.status}</td><td>${f.coreRef ?? ''}</td><td class="result-failed">${reconcileStateLabels[f.state]}</td><td>${f.detail}</td><td>${f.flaggedAt ? jst(f.flaggedAt.toISOString()) : ''}</td></tr>`,
)}
</tbody></table></section>`;
}

/** One job: its state, the person, the evidence of each attempt (a 支援措置 job is shown only to staff holding the right). */
export function jobView(j: Job, evidence: readonly Evidence[], csrf: string): SafeHtml {
  const subject = (j.payload.subject ?? {}) as { name?: string };
  return html`<h1>RPA ジョブ ${j.id}: ${scenarioLabel(j.scenario)}${protectedMark(j)}</h1>
${j.protected ? html`<p class="card alert" id="protected-job">${PROTECTED_JOB_REASON}。この画面と証跡は支援措置担当だけが見られます。</p>` : ''}
<table id="job"><tr><th>状態</th>${statusCell(j)}</tr><tr><th>受付番号</th><td>${j.reference ?? ''}</td></tr><tr><th>対象者</th><td>${subject.name ?? ''}</td></tr>
<tr><th>届出</th><td>${j.noticeId ? html`<a href="/review/notices/${j.noticeId}">届出 ${j.noticeId}</a>` : '—'}</td></tr><tr><th>試行</th><td>${j.attempts}/${j.maxAttempts}</td></tr>
<tr><th>処理番号</th><td>${j.coreRef ?? ''}</td></tr><tr><th>エラー</th><td>${errorText(j)}</td></tr><tr><th>対応の理由</th><td>${j.resolution ?? ''}</td></tr>
<tr><th>作成</th><td>${jst(j.createdAt.toISOString())}</td></tr><tr><th>完了</th><td>${j.finishedAt ? jst(j.finishedAt.toISOString()) : ''}</td></tr></table>
<p>${resolveForm(j, csrf)}</p>
<h2>証跡 (画面写真・トレース)</h2>
${
  evidence.length === 0
    ? html`<p class="muted">証跡はありません。</p>`
    : html`<table id="evidence"><thead><tr><th>試行</th><th>種類</th><th>大きさ</th><th>日時</th><th></th></tr></thead><tbody>
${evidence.map(
  (
    e,
  ) => html`<tr><td class="num">${e.attempt}</td><td>${e.kind === 'screenshot' ? '画面写真' : 'トレース'}</td><td class="num">${Math.ceil(e.bytes / 1024)} KB</td><td>${jst(e.createdAt.toISOString())}</td><td><a href="/rpa/evidence/${e.id}">${e.kind === 'screenshot' ? '表示' : 'ダウンロード'}</a></td></tr>
${e.kind === 'screenshot' ? html`<tr><td colspan="5"><img src="/rpa/evidence/${e.id}" alt="試行 ${e.attempt} の画面" loading="lazy" style="max-width:100%;border:1px solid #999"></td></tr>` : ''}`,
)}
</tbody></table>
<p class="muted">トレースは Playwright の trace viewer (npx playwright show-trace ファイル) で開けます。個人情報を含むため、見終わったら端末から削除してください。</p>`
}
<p><a href="/rpa/jobs">ジョブ一覧へ</a></p>`;
}
