import { countOf } from '../../db/values.js';
import { linkageStatus } from '../../linkage/status.js';
import { backupFreshness } from '../../ops/backup.js';
import { linkageFreshness } from '../../ops/health.js';
import { clusterStatus, type ClusterStatus } from '../../ops/leases.js';
import { powerStatus } from '../../ops/power.js';
import { readUpsStatus } from '../../ops/upsStatus.js';
import { standbyReport } from '../../standby/status.js';
import { htmlPage, type AppDeps, type RouteKit } from '../kit.js';
import { OPERATIONS_PERMISSION } from '../nav.js';
import { operationsView, type OperationsStatus } from '../views/operations.js';

/** Everything the dashboard shows, read at `now` (each part from the module that owns it). */
async function operationsStatus(deps: AppDeps, now: Date): Promise<OperationsStatus> {
  const { knex, config } = deps;
  const [live, power, backup, linkage, fresh, queue, cluster] = await Promise.all([
    readUpsStatus(config.ups),
    powerStatus(knex),
    deps.dataDir ? backupFreshness(config, deps.dataDir, now) : Promise.resolve(null),
    linkageStatus(deps.linkage),
    linkageFreshness(knex, config.linkage.maxAgeHours, now),
    // The RPA queue by status (a read of rpa_jobs, whose writer is rpa/jobs.ts).
    knex('rpa_jobs').groupBy('status').select('status').count({ n: '*' }),
    clusterStatus(knex).catch((): ClusterStatus => ({ nodes: [], leases: [] })),
  ]);
  const jobs = new Map((queue as { status: string }[]).map((r) => [r.status, countOf(r)]));
  const standby =
    deps.standby && deps.dataDir
      ? standbyReport(deps.dataDir, { node: deps.standby, intervalSeconds: config.standby.intervalSeconds, now })
      : undefined;
  return {
    now,
    ups: config.ups,
    live,
    power,
    backup,
    specs: linkage.specs,
    fresh,
    jobs,
    disks: deps.disks?.current() ?? null,
    cluster: { ...cluster, node: deps.nodeId?.() ?? null, leaseSeconds: config.cluster.leaseSeconds },
    ...(standby ? { standby } : {}),
  };
}

/** The operator's dashboard: UPS, disks, backups, linkage files and the RPA queue at a glance. */
export function registerOperationsRoutes({ route, deps, render }: RouteKit): void {
  route(
    {
      method: 'GET',
      path: '/admin/operations',
      access: { permission: OPERATIONS_PERMISSION },
      summary: '稼働状況 (UPS・ディスク・バックアップ・前方連携・RPA のジョブ)',
      response: htmlPage,
    },
    async (ctx) => {
      const v = operationsView(await operationsStatus(deps, new Date()));
      render(ctx, v.title, v.body);
    },
  );
}
