import { Type as T } from '@sinclair/typebox';
import type { Knex } from 'knex';
import { anchorFilePath } from '../../audit/anchorFile.js';
import { appendAudit, exportAuditCsv, fromRow, verifyAudit, type AuditEntry } from '../../audit/trail.js';
import { countOf } from '../../db/values.js';
import { japanDayBounds, startOfJapanDay } from '../../domain/japanTime.js';
import { file, htmlPage, type Ctx, type RouteAccess, type RouteKit } from '../kit.js';
import { IsoDate } from '../schemas/common.js';
import { auditListView, auditVerifyView, filtersSet, type AuditFilter, type AuditPage } from '../views/audit.js';

const PAGE_SIZE = 100;

/** One page of the trail, newest first (a read model of `audit_trail`, whose writer is audit/trail.ts). */
async function searchAudit(knex: Knex, f: AuditFilter, pageNo: number): Promise<AuditPage> {
  let q = knex('audit_trail');
  if (f.staff) q = q.where('staff_login', f.staff);
  if (f.target) q = q.where('target_ids', 'like', `%"${f.target.replace(/[%_"\\]/g, '')}"%`);
  if (f.action) q = q.where('action', 'like', `${f.action.replace(/[%_\\]/g, '')}%`);
  if (f.from) q = q.where('recorded_at', '>=', startOfJapanDay(f.from));
  if (f.to) q = q.where('recorded_at', '<', japanDayBounds(f.to).to);
  const [countRow, rows] = await Promise.all([
    q.clone().count({ n: '*' }).first(),
    q
      .clone()
      .orderBy('seq', 'desc')
      .limit(PAGE_SIZE)
      .offset((pageNo - 1) * PAGE_SIZE),
  ]);
  return { filter: f, pageNo, pageSize: PAGE_SIZE, total: countOf(countRow), records: (rows as Record<string, unknown>[]).map(fromRow) };
}

/** A date field of a form: `YYYY-MM-DD`, or blank (an empty date input is sent as ''). */
const DateOrBlank = (title: string) => T.Optional(T.String({ pattern: '^([0-9]{4}-[0-9]{2}-[0-9]{2})?$', title: `${title} (YYYY-MM-DD)` }));

/** The audit viewer with filters; every look at the trail is itself recorded in it. */
export function registerAuditRoutes({ route, deps, render, actor }: RouteKit): void {
  const knex = deps.knex;
  const auditRead: RouteAccess = { permission: 'audit.read' };
  /** Records a look at the trail (its own transaction: the look has no other change to go with). */
  const record = (ctx: Ctx, entry: Pick<AuditEntry, 'action' | 'result' | 'detail'>) =>
    knex.transaction((trx) => appendAudit(trx, { ...actor(ctx), targetKind: 'audit', targetIds: [], ...entry }));

  route(
    {
      method: 'GET',
      path: '/admin/audit',
      access: auditRead,
      summary: '監査ログの閲覧 (職員・対象・操作・期間で絞り込み、閲覧も記録)',
      query: T.Object({
        staff: T.Optional(T.String({ maxLength: 64, title: '職員 (ログイン ID)' })),
        target: T.Optional(T.String({ maxLength: 100, title: '対象' })),
        action: T.Optional(T.String({ maxLength: 100, title: '操作' })),
        from: DateOrBlank('期間の開始'),
        to: DateOrBlank('期間の終了'),
        page: T.Optional(T.Integer({ minimum: 1, maximum: 1_000_000, title: 'ページ' })),
      }),
      response: htmlPage,
    },
    async (ctx) => {
      const q = ctx.input.query;
      const f: AuditFilter = {
        staff: (q.staff ?? '').trim(),
        target: (q.target ?? '').trim(),
        action: (q.action ?? '').trim(),
        from: q.from ?? '',
        to: q.to ?? '',
      };
      const found = await searchAudit(knex, f, q.page ?? 1);
      await record(ctx, {
        action: 'audit.read',
        result: 'success',
        detail: { filters: filtersSet(f), page: found.pageNo, shown: found.records.length },
      });
      const v = auditListView(found);
      render(ctx, v.title, v.body);
    },
  );

  route(
    { method: 'GET', path: '/admin/audit/verify', access: auditRead, summary: '監査ログの改ざん検証 (ハッシュの連鎖)', response: htmlPage },
    async (ctx) => {
      // With the anchor file when the server knows its data folder: a trimmed chain is caught here too.
      const result = await verifyAudit(knex, {}, deps.dataDir ? { anchorFile: anchorFilePath(deps.config, deps.dataDir) } : {});
      await record(ctx, {
        action: 'audit.verify',
        result: result.ok ? 'success' : 'failure',
        detail: { checked: result.checked, brokenSeq: result.broken?.seq ?? null },
      });
      const v = auditVerifyView(result);
      render(ctx, v.title, v.body);
    },
  );

  route(
    {
      method: 'GET',
      path: '/admin/audit/export.csv',
      access: auditRead,
      summary: '監査ログの CSV 出力 (期間を指定)',
      query: T.Object({
        from: IsoDate({ title: '出力する期間の開始 (from)' }),
        to: IsoDate({ title: '出力する期間の終了 (to)' }),
      }),
      response: file('text/csv'),
    },
    async (ctx) => {
      const { from, to } = ctx.input.query;
      const csv = await exportAuditCsv(knex, { from, to });
      await record(ctx, { action: 'audit.export', result: 'success', detail: { from, to } });
      ctx.type = 'text/csv; charset=utf-8';
      ctx.attachment(`audit-${from}-${to}.csv`);
      ctx.body = csv;
    },
  );
}
