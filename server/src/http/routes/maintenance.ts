import { Type as T } from '@sinclair/typebox';
import { appendAudit } from '../../audit/trail.js';
import { japanDayBounds, todayInJapan } from '../../domain/japanTime.js';
import { maintenanceReport } from '../../maintenance/report.js';
import { badRequest, htmlPage, type RouteKit } from '../kit.js';
import { maintenanceView } from '../views/maintenance.js';

const DAY_MS = 86_400_000;
const DateOrBlank = (title: string) => T.Optional(T.String({ pattern: '^([0-9]{4}-[0-9]{2}-[0-9]{2})?$', title: `${title} (YYYY-MM-DD)` }));

/** The remote maintenance log for the administrator (the permission of /admin/operations); every look is audited. */
export function registerMaintenanceRoutes({ route, deps, render, actor }: RouteKit): void {
  route(
    {
      method: 'GET',
      path: '/admin/maintenance',
      access: { permission: 'admin.staff' },
      summary: '保守の記録 (保守用 VPN の SSH セッションと、その中で実行したコマンド。閲覧も記録)',
      query: T.Object({ from: DateOrBlank('期間の開始'), to: DateOrBlank('期間の終了') }),
      response: htmlPage,
    },
    async (ctx) => {
      const now = new Date();
      const from = ctx.input.query.from || todayInJapan(new Date(now.getTime() - 30 * DAY_MS));
      const to = ctx.input.query.to || todayInJapan(now);
      if (from > to) throw badRequest('期間の開始は終了より前の日にしてください');
      const range = japanDayBounds(from, to);
      const report = await maintenanceReport(deps.knex, deps.config.maintenance.sudoLog, range, now);
      await deps.knex.transaction((trx) =>
        appendAudit(trx, {
          ...actor(ctx),
          action: 'maintenance.read',
          targetKind: 'maintenance',
          targetIds: [],
          result: 'success',
          detail: { from, to, sessions: report.sessions.length },
        }),
      );
      const v = maintenanceView(report, { from, to }, now);
      render(ctx, v.title, v.body);
    },
  );
}
