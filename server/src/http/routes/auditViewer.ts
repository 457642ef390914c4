import { appendAudit, exportAuditCsv, fromRow, verifyAudit } from '../../audit/trail.js';
import { html } from '../html.js';
import { badRequest, type RouteAccess, type RouteKit } from '../kit.js';
import { japanWarekiTime as jst } from '../../domain/japanTime.js';

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');
const PAGE_SIZE = 100;
const isoDate = (v: string, label: string): string => {
  if (v && !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(v)) throw badRequest(`${label}は YYYY-MM-DD で入力してください`);
  return v;
};
const jstStart = (d: string) => new Date(Date.parse(`${d}T00:00:00+09:00`));

/** The audit viewer with filters; every look at the trail is itself recorded in it. */
export function registerAuditRoutes({ legacyRoute: route, deps, render, actor }: RouteKit): void {
  const knex = deps.knex;
  const auditRead: RouteAccess = { permission: 'audit.read' };

  route('GET', '/admin/audit', auditRead, async (ctx) => {
    const f = {
      staff: str(ctx.query.staff),
      target: str(ctx.query.target),
      action: str(ctx.query.action),
      from: isoDate(str(ctx.query.from), '期間の開始'),
      to: isoDate(str(ctx.query.to), '期間の終了'),
    };
    const pageNo = Math.max(1, Number(ctx.query.page) || 1);
    let q = knex('audit_trail');
    if (f.staff) q = q.where('staff_login', f.staff);
    if (f.target) q = q.where('target_ids', 'like', `%"${f.target.replace(/[%_"\\]/g, '')}"%`);
    if (f.action) q = q.where('action', 'like', `${f.action.replace(/[%_\\]/g, '')}%`);
    if (f.from) q = q.where('recorded_at', '>=', jstStart(f.from));
    if (f.to) q = q.where('recorded_at', '<', new Date(jstStart(f.to).getTime() + 86_400_000));
    const [countRow, rows] = await Promise.all([
      q.clone().count({ n: '*' }).first() as Promise<{ n: number | string }>,
      q
        .clone()
        .orderBy('seq', 'desc')
        .limit(PAGE_SIZE)
        .offset((pageNo - 1) * PAGE_SIZE),
    ]);
    const records = (rows as Record<string, unknown>[]).map(fromRow);
    const total = Number(countRow.n);
    await knex.transaction((trx) =>
      appendAudit(trx, {
        ...actor(ctx),
        action: 'audit.read',
        targetKind: 'audit',
        targetIds: [],
        result: 'success',
        detail: { filters: Object.fromEntries(Object.entries(f).filter(([, v]) => v)), page: pageNo, shown: records.length },
      }),
    );
    const query = (page: number) =>
      new URLSearchParams({ ...Object.fromEntries(Object.entries(f).filter(([, v]) => v)), page: String(page) }).toString();
    render(
      ctx,
      '監査ログ',
      html`<h1>監査ログ</h1>
<form method="get" action="/admin/audit" class="card filters">
  <label>職員 (ログイン ID)<br><input name="staff" value="${f.staff}" autofocus></label>
  <label>対象 (宛名番号・職員番号など)<br><input name="target" value="${f.target}"></label>
  <label>操作 (前方一致: resident., auth.login など)<br><input name="action" value="${f.action}"></label>
  <label>期間<br><input name="from" type="date" value="${f.from}"> 〜 <input name="to" type="date" value="${f.to}"></label>
  <button type="submit">絞り込む</button>
</form>
<p>${total.toLocaleString('ja-JP')} 件中 ${((pageNo - 1) * PAGE_SIZE + 1).toLocaleString('ja-JP')}〜${((pageNo - 1) * PAGE_SIZE + records.length).toLocaleString('ja-JP')} 件 (新しい順)
${pageNo > 1 ? html` <a href="/admin/audit?${query(pageNo - 1)}">← 前</a>` : ''}${pageNo * PAGE_SIZE < total ? html` <a href="/admin/audit?${query(pageNo + 1)}">次 →</a>` : ''}
 ・ <a href="/admin/audit/verify">改ざん検証</a>${f.from && f.to ? html` ・ <a href="/admin/audit/export.csv?from=${f.from}&amp;to=${f.to}">この期間を CSV で出力</a>` : ''}</p>
<table><thead><tr><th>連番</th><th>日時</th><th>職員</th><th>役割</th><th>窓口</th><th>端末</th><th>操作</th><th>対象</th><th>結果</th><th>詳細</th></tr></thead><tbody>
${records.map((r) => html`<tr><td class="num">${r.seq}</td><td>${jst(r.recordedAt)}</td><td>${r.staffLogin ?? ''}</td><td>${r.role ?? ''}</td><td>${r.counterId ?? ''}</td><td>${r.clientAddress ?? ''}</td><td><code>${r.action}</code></td><td>${r.targetKind ?? ''} ${r.targetIds.slice(0, 10).join(' ')}${r.targetIds.length > 10 ? ` 他 ${r.targetIds.length - 10} 件` : ''}</td><td class="${r.result === 'success' ? '' : 'result-failed'}">${r.result}</td><td><code>${r.detail ?? ''}</code></td></tr>`)}
</tbody></table>`,
    );
  });

  route('GET', '/admin/audit/verify', auditRead, async (ctx) => {
    const result = await verifyAudit(knex);
    await knex.transaction((trx) =>
      appendAudit(trx, {
        ...actor(ctx),
        action: 'audit.verify',
        targetKind: 'audit',
        targetIds: [],
        result: result.ok ? 'success' : 'failure',
        detail: { checked: result.checked, brokenSeq: result.broken?.seq ?? null },
      }),
    );
    render(
      ctx,
      '監査ログの改ざん検証',
      html`<h1>監査ログの改ざん検証</h1>
${
  result.ok
    ? html`<p class="card state-ok">正常: ${result.checked.toLocaleString('ja-JP')} 件の記録のハッシュの連鎖を確認しました。</p>`
    : html`<p class="card alert" role="alert">異常: 連番 ${result.broken!.seq} — ${result.broken!.reason} (それまでの ${result.checked.toLocaleString('ja-JP')} 件は正常)</p>`
}
<p><a href="/admin/audit">監査ログへ戻る</a></p>`,
    );
  });

  route('GET', '/admin/audit/export.csv', auditRead, async (ctx) => {
    const from = isoDate(str(ctx.query.from), '期間の開始');
    const to = isoDate(str(ctx.query.to), '期間の終了');
    if (!from || !to) throw badRequest('出力する期間 (from, to) を指定してください');
    const csv = await exportAuditCsv(knex, { from, to });
    await knex.transaction((trx) =>
      appendAudit(trx, {
        ...actor(ctx),
        action: 'audit.export',
        targetKind: 'audit',
        targetIds: [],
        result: 'success',
        detail: { from, to },
      }),
    );
    ctx.type = 'text/csv; charset=utf-8';
    ctx.attachment(`audit-${from}-${to}.csv`);
    ctx.body = csv;
  });
}
