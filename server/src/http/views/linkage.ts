import { japanWarekiTime as jst } from '../../domain/japanTime.js';
import type { HeldFile, LinkageStatus, RunRecord, SpecStatus } from '../../linkage/status.js';
import { html, page, type PageChrome, type SafeHtml } from '../html.js';

/** The forward-linkage pages: the status with the held full files, and one run with its issues. */

export const RESULT_LABEL: Readonly<Record<string, string>> = {
  applied: '取込済',
  skipped: '処理なし (取込済と同一)',
  quarantined: '隔離',
  failed: '失敗',
  running: '取込中',
  held: '保留 (確認待ち)',
};
export const STATE_LABEL: Readonly<Record<SpecStatus['state'], string>> = {
  ok: '正常',
  loading: '取込中',
  missing: '未着 (期限超過)',
  held: '保留',
  error: 'エラー',
  none: '未取込',
};

/** The most a confirmation's reason may hold (linkage_holds.reason). */
export const HOLD_REASON_MAX = 500;

const count = (n: number) => n.toLocaleString('ja-JP');

function seconds(ms: number | null): string {
  return ms === null ? '' : `${(ms / 1000).toFixed(1)} 秒`;
}

function runRows(runs: RunRecord[]): SafeHtml {
  return html`<table><thead><tr><th>番号</th><th>連携仕様</th><th>ファイル</th><th>種別</th><th>読込</th><th>取込</th><th>不正</th><th>未対応外字</th><th>所要</th><th>結果</th><th>開始</th></tr></thead><tbody>
${runs.map((r) => html`<tr><td class="num"><a href="/linkage/runs/${r.id}">${r.id}</a></td><td>${r.specId}</td><td>${r.fileName}</td><td>${r.kind === 'diff' ? '差分' : r.kind === 'full' ? '全件' : ''}</td><td class="num">${count(r.rowsRead)}</td><td class="num">${count(r.rowsApplied)}</td><td class="num">${count(r.rowsRejected)}</td><td class="num">${r.unmappedGaiji}</td><td class="num">${seconds(r.durationMs)}</td><td class="result-${r.result}">${RESULT_LABEL[r.result] ?? r.result}</td><td>${jst(r.startedAt)}</td></tr>`)}
</tbody></table>`;
}

/** A confirmation form sent back: which hold, what was typed, and why it was refused. */
export interface HoldFormError {
  holdId: number;
  reason: string;
  message: string;
}

export interface LinkagePageData {
  status: LinkageStatus;
  runs: RunRecord[];
  /** May confirm a held file (admin.staff). */
  canConfirm: boolean;
  csrf: string;
  /** The run of a held file just confirmed (after the redirect), shown once at the top. */
  confirmed?: RunRecord | null;
  formError?: HoldFormError | null;
}

function holdForm(h: HeldFile, csrf: string, error: HoldFormError | null | undefined): SafeHtml {
  const mine = error && error.holdId === h.id ? error : null;
  return html`<form method="post" action="/linkage/holds/${h.id}/confirm" class="hold-confirm" id="hold-${h.id}-form">
<input type="hidden" name="_csrf" value="${csrf}">
<p><label for="hold-${h.id}-reason">反映する理由 (必須、${HOLD_REASON_MAX} 文字まで)</label>${mine ? html` <span class="field-error" role="alert" id="hold-${h.id}-error">${mine.message}</span>` : ''}<br>
<textarea name="reason" id="hold-${h.id}-reason" rows="3" cols="60" maxlength="${HOLD_REASON_MAX}" required${mine ? html` aria-invalid="true" aria-describedby="hold-${h.id}-error" autofocus` : ''}>${mine?.reason ?? ''}</textarea></p>
<p><button type="submit">この全件ファイルを反映する</button> <span class="muted">住民記録がこのファイルの ${count(h.rowsInFile)} 件に置き換わります。</span></p>
</form>`;
}

function holdsPanel(d: LinkagePageData): SafeHtml {
  const holds = d.status.holds;
  if (!holds.length) return html``;
  const title = (specId: string) => d.status.specs.find((s) => s.specId === specId)?.title ?? '';
  return html`<section class="card holds" id="holds" role="alert">
<h2>保留中の全件ファイル (${holds.length} 件)</h2>
<p>件数が大きく減るため、次の全件ファイルを反映せずに止めています。住民記録は前回の取込のままです。
ファイルが正しいことを基幹系の担当に確かめてから反映してください。次の全件ファイルが届くと、このファイルは置き換えられます。</p>
<table id="holds-table"><thead><tr><th>連携仕様</th><th>ファイル</th><th>保留した日時</th><th>件数 (現在 → ファイル)</th><th>減少</th><th>取込</th></tr></thead><tbody>
${holds.map((h) => html`<tr id="hold-${h.id}"><td>${h.specId} ${title(h.specId)}</td><td>${h.fileName}</td><td>${jst(h.heldAt)}</td><td class="num">${count(h.rowsBefore)} 件 → ${count(h.rowsInFile)} 件</td><td class="num"><span class="badge badge-held">${h.dropPercent.toFixed(1)}% 減</span></td><td class="num"><a href="/linkage/runs/${h.runId}">${h.runId}</a></td></tr>`)}
</tbody></table>
${
  d.canConfirm
    ? holds.map(
        (h) =>
          html`<h3>${h.specId} ${h.fileName} (${count(h.rowsBefore)} 件 → ${count(h.rowsInFile)} 件)</h3>${holdForm(h, d.csrf, d.formError)}`,
      )
    : html`<p class="muted">反映するかどうかは、システム管理者 (職員・グループ・接続端末の管理の権限) が理由を付けて決めます。</p>`
}
</section>`;
}

function confirmedNote(run: RunRecord): SafeHtml {
  const ok = run.result === 'applied' || run.result === 'skipped';
  return html`<p class="card ${ok ? 'notice-ok' : 'alert'}" role="status" id="hold-confirmed">${ok ? '保留していた全件ファイルを反映しました' : '保留していた全件ファイルを反映できませんでした'}: <a href="/linkage/runs/${run.id}">取込 ${run.id}</a> ${run.specId} ${run.fileName} — <span class="result-${run.result}">${RESULT_LABEL[run.result] ?? run.result}</span> (取込 ${count(run.rowsApplied)} 件)${run.message ? html`<br>${run.message}` : ''}</p>`;
}

export function linkagePage(d: LinkagePageData, chrome: PageChrome): string {
  const { status, runs } = d;
  // The page reloads itself during a load, but never under a form someone may be typing in.
  const refresh = status.loads.length > 0 && !(d.canConfirm && status.holds.length);
  return page(
    '前方連携の状況',
    html`<h1>前方連携の状況</h1>
${refresh ? html`<meta http-equiv="refresh" content="5">` : ''}
${d.confirmed ? confirmedNote(d.confirmed) : ''}
${holdsPanel(d)}
${status.alerts.length ? html`<div class="card alert" role="alert">${status.alerts.map((a) => html`<p>⚠ ${a.message}</p>`)}</div>` : ''}
${status.loads.map((l) => html`<div class="card"><p>取込中: ${l.specId} ${l.file.split('/').pop()} — ${count(l.rows)} 行</p><progress max="${l.totalBytes}" value="${l.bytes}">${Math.round((100 * l.bytes) / Math.max(1, l.totalBytes))}%</progress></div>`)}
<h2>連携仕様ごとの状態</h2>
<table><thead><tr><th>連携仕様</th><th>内容</th><th>版</th><th>到着期限</th><th>最終取込</th><th>件数</th><th>状態</th></tr></thead><tbody>
${status.specs.map((s) => html`<tr><td>${s.specId}</td><td>${s.title}</td><td>${s.edition}${s.provisional ? '（暫定）' : ''}</td><td>${s.expectedBy ?? '—'}</td><td>${jst(s.lastApplied?.finishedAt ?? null)}</td><td class="num">${s.lastApplied ? count(s.lastApplied.rowsApplied) : ''}</td><td class="state-${s.state}">${s.state === 'held' ? html`<span class="badge badge-held">${STATE_LABEL.held}</span>` : STATE_LABEL[s.state]}</td></tr>`)}
</tbody></table>
<h2>取込の履歴 (新しい順 50 件)</h2>
${runs.length ? runRows(runs) : html`<p class="muted">まだ取込はありません。</p>`}
<p class="muted">JSON: <a href="/api/v1/linkage/status">/api/v1/linkage/status</a> ・ <a href="/api/v1/linkage/runs">/api/v1/linkage/runs</a></p>`,
    chrome,
  );
}

export function runPage(
  found: { run: RunRecord; issues: { line: number; column: string | null; value: string | null; reason: string }[] },
  chrome: PageChrome,
): string {
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
${r.result === 'held' ? html`<p class="card holds">この全件ファイルは件数が大きく減るため保留しました。保留中のファイルを反映するかどうかは <a href="/linkage#holds">前方連携の状況</a> で決めます。</p>` : ''}
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
