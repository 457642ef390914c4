import { auditActionLabel, auditResultLabel } from '../../audit/labels.js';
import type { AuditRecord, VerifyResult } from '../../audit/trail.js';
import { japanWarekiTime as jst } from '../../domain/japanTime.js';
import { html, type SafeHtml } from '../html.js';

/** The audit viewer (audit.read): the filtered trail, page by page, and the tamper check. */

export interface View {
  title: string;
  body: SafeHtml;
}

export interface AuditFilter {
  staff: string;
  target: string;
  action: string;
  from: string;
  to: string;
}

export interface AuditPage {
  filter: AuditFilter;
  pageNo: number;
  pageSize: number;
  total: number;
  records: readonly AuditRecord[];
}

/** The filters that are set, as they go in a link (and in the audit record of the look). */
export function filtersSet(f: AuditFilter): Record<string, string> {
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v)) as Record<string, string>;
}

export function auditListView(p: AuditPage): View {
  const { filter: f, pageNo, pageSize, total, records } = p;
  const query = (page: number) => new URLSearchParams({ ...filtersSet(f), page: String(page) }).toString();
  return {
    title: '監査ログ',
    body: html`<h1>監査ログ</h1>
<form method="get" action="/admin/audit" class="card filters">
  <label>職員 (ログイン ID)<br><input name="staff" value="${f.staff}" autofocus></label>
  <label>対象 (宛名番号・職員番号など)<br><input name="target" value="${f.target}"></label>
  <label>操作のコード (前方一致: resident. は住民の検索・閲覧、auth.login はログイン など。一覧の操作名の横のコード)<br><input name="action" value="${f.action}"></label>
  <label>期間<br><input name="from" type="date" value="${f.from}" aria-label="期間の初日"> 〜 <input name="to" type="date" value="${f.to}" aria-label="期間の最終日"></label>
  <button type="submit">絞り込む</button>
</form>
<p>${total.toLocaleString('ja-JP')} 件中 ${((pageNo - 1) * pageSize + 1).toLocaleString('ja-JP')}〜${((pageNo - 1) * pageSize + records.length).toLocaleString('ja-JP')} 件 (新しい順)
${pageNo > 1 ? html` <a href="/admin/audit?${query(pageNo - 1)}">← 前</a>` : ''}${pageNo * pageSize < total ? html` <a href="/admin/audit?${query(pageNo + 1)}">次 →</a>` : ''}
 ・ <a href="/admin/audit/verify">改ざん検証</a>${f.from && f.to ? html` ・ <a href="/admin/audit/export.csv?from=${f.from}&amp;to=${f.to}">この期間を CSV で出力</a>` : ''}</p>
<table><thead><tr><th>連番</th><th>日時</th><th>職員</th><th>役割</th><th>窓口</th><th>端末</th><th>操作</th><th>対象</th><th>結果</th><th>詳細</th></tr></thead><tbody>
${records.map((r) => html`<tr><td class="num">${r.seq}</td><td>${jst(r.recordedAt)}</td><td>${r.staffLogin ?? ''}</td><td>${r.role ?? ''}</td><td>${r.counterId ?? ''}</td><td>${r.clientAddress ?? ''}</td><td>${auditActionLabel(r.action)} <code class="muted">${r.action}</code></td><td>${r.targetKind ?? ''} ${r.targetIds.slice(0, 10).join(' ')}${r.targetIds.length > 10 ? ` 他 ${r.targetIds.length - 10} 件` : ''}</td><td class="${r.result === 'success' ? '' : 'result-failed'}">${auditResultLabel(r.result)}</td><td><code>${r.detail ?? ''}</code></td></tr>`)}
</tbody></table>`,
  };
}

export function auditVerifyView(result: VerifyResult): View {
  return {
    title: '監査ログの改ざん検証',
    body: html`<h1>監査ログの改ざん検証</h1>
${
  result.ok
    ? html`<p class="card state-ok">正常: ${result.checked.toLocaleString('ja-JP')} 件の記録のハッシュの連鎖を確認しました。</p>`
    : html`<p class="card alert" role="alert">異常: 連番 ${result.broken!.seq} — ${result.broken!.reason} (それまでの ${result.checked.toLocaleString('ja-JP')} 件は正常)</p>`
}
<p><a href="/admin/audit">監査ログへ戻る</a></p>`,
  };
}
