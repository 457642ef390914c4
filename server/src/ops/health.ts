import { reconcileCounts } from '../rpa/reconcile.js';
import type { Knex } from 'knex';
import type { AppConfig } from '../config/appConfig.js';
import { dbDate } from '../db/values.js';
import { pendingHolds } from '../linkage/forward/holds.js';
import { countUnacknowledgedEndings } from '../linkage/forward/protectionEndings.js';
import { backupFreshness, type BackupFreshness } from './backup.js';
import type { DiskArray, DiskDevice, DiskHealth, DiskState } from './diskHealth.js';
import { clusterStatus, type ClusterStatus } from './leases.js';
import { powerStatus, type PowerState } from './power.js';
import { readUpsStatus } from './upsStatus.js';
import type { StandbyNode } from '../standby/node.js';
import { standbyReport } from '../standby/status.js';

export interface Health {
  status: 'ok' | 'error';
  version: string;
  residents: number | null;
  database: 'ok' | 'error';
}

/** The database answers and how many residents the cache holds (the landing page shows it too). */
export async function checkHealth(knex: Knex, version: string): Promise<Health> {
  try {
    const row = (await knex('residents').where({ resident_status: '1' }).count({ n: '*' }).first()) as { n: number | string } | undefined;
    return { status: 'ok', version, residents: Number(row?.n ?? 0), database: 'ok' };
  } catch {
    return { status: 'error', version, residents: null, database: 'error' };
  }
}

export interface LinkageFreshness {
  /** stale: the newest file taken in is older than `maxAgeHours`; none: no file yet. */
  freshness: 'ok' | 'stale' | 'none' | 'unknown';
  /** When the newest file was taken in (applied, or skipped as identical to the last one). */
  lastAt: string | null;
  maxAgeHours: number;
}

export async function linkageFreshness(knex: Knex, maxAgeHours: number, now = new Date()): Promise<LinkageFreshness> {
  try {
    const row = (await knex('linkage_runs')
      .whereIn('result', ['applied', 'skipped'])
      .whereNotNull('finished_at')
      .orderBy('finished_at', 'desc')
      .first('finished_at')) as { finished_at: unknown } | undefined;
    const last = dbDate(row?.finished_at);
    if (!last) return { freshness: 'none', lastAt: null, maxAgeHours };
    return { freshness: now.getTime() - last.getTime() > maxAgeHours * 3600_000 ? 'stale' : 'ok', lastAt: last.toISOString(), maxAgeHours };
  } catch {
    return { freshness: 'unknown', lastAt: null, maxAgeHours };
  }
}

type LiveUps =
  | {
      reachable: true;
      status: string;
      label: string;
      onBattery: boolean;
      lowBattery: boolean;
      charge: number | null;
      runtimeSeconds: number | null;
      load: number | null;
    }
  | { reachable: false; code: string; reason: string };

/** A full file held because it would shrink its data set: counts only (no file name on /healthz). */
export interface HealthHold {
  specId: string;
  rowsBefore: number;
  rowsInFile: number;
}

export interface SystemHealth extends Health {
  /** The parts that need a look (`linkage`, `backup`, `ups`, `rpa`, `protection`, `disks`, `standby`); they never make `status` an error. */
  warnings: ('linkage' | 'backup' | 'rpa' | 'ups' | 'protection' | 'disks' | 'standby')[];
  /** What needs a look, one Japanese line each (held full files, unacknowledged ended 支援措置). */
  messages: string[];
  /** `warn` when files are stale or a held full file waits for a decision. */
  linkage: { status: 'ok' | 'warn'; holds: HealthHold[] } & LinkageFreshness;
  /** 支援措置 ended by a linkage file that 支援措置担当 have not acknowledged yet (a count only). */
  /** Only whether ended protections wait for 支援措置担当: /healthz is public, so no count. */
  protection: { status: 'ok' | 'warn' };
  backup: {
    status: 'ok' | 'warn';
    freshness: BackupFreshness['status'];
    lastAt: string | null;
    lastVerified: boolean | null;
    count: number;
  } | null;
  /** RPA agents heard from in the last 10 minutes, of those ever registered; the queue's size. */
  rpa: {
    status: 'ok' | 'warn';
    agentsSeen: number;
    agentsKnown: number;
    queued: number;
    needsAttention: number;
    /** Jobs the core system's 異動履歴 contradicts (rpa/reconcile.ts); counts only. */
    reconciliation: { enteredTwice: number; notSeen: number; unreported: number };
  };
  /** Several app nodes: the nodes alive and which node holds which lease (node ids only). */
  cluster: ClusterStatus & { node: string | null };
  ups: {
    status: 'ok' | 'warn';
    /** What upsmon last reported through `madoguchi ups-event` (banner, RPA pause). */
    power: PowerState | 'unknown';
    event: string | null;
    changedAt: string | null;
    /** upsd's live reading; null when `ups.enabled` is false. */
    live: LiveUps | null;
  };
  /**
   * RAID and SMART as the disk monitor last saw them (not read per request). `warn` for anything
   * but ok, `unknown` included; a failing disk is still no 503 (the database answers).
   */
  disks: {
    status: 'ok' | 'warn';
    state: DiskState;
    checkedAt: string | null;
    sources: { kind: DiskHealth['sources'][number]['kind']; state: DiskState }[];
    arrays: (Pick<DiskArray, 'source' | 'name' | 'level' | 'state' | 'expected' | 'working' | 'progress'> & {
      members: DiskArray['members'];
    })[];
    devices: Omit<DiskDevice, 'message'>[];
  };
  /** Only with a standby pairing: shipping to the standby (warn when degraded; /healthz stays 200). */
  standby?: { status: 'ok' | 'warn'; role: 'primary'; epoch: number; lagSeconds: number | null; lastOkAt: string | null };
}

export interface HealthDeps {
  knex: Knex;
  version: string;
  config: AppConfig;
  /** Without it there is no backup freshness (null). */
  dataDir?: string;
  /** The disk monitor's last collection; null or absent: not monitored (ok). */
  disks?: DiskHealth | null;
  /** This node's id (ops/leases.ts). */
  nodeId?: string | null;
  standby?: StandbyNode;
}

/**
 * /healthz. Only an unreachable database is an error (HTTP 503: systemd and the monitoring restart
 * on it); stale linkage files, a held full file, old or failed backups, the UPS, unacknowledged
 * ended 支援措置 and disk health (a restart mends no disk) are warnings. Nothing personal: no file names, no paths, no names (counts only).
 */
export async function systemHealth(deps: HealthDeps, now = new Date()): Promise<SystemHealth> {
  const { knex, config } = deps;
  const [base, linkage, backup, power, live] = await Promise.all([
    checkHealth(knex, deps.version),
    linkageFreshness(knex, config.linkage.maxAgeHours, now),
    deps.dataDir ? backupFreshness(config, deps.dataDir, now) : Promise.resolve(null),
    powerStatus(knex).catch(() => null),
    readUpsStatus(config.ups),
  ]);
  const rpa = await rpaHealth(knex, now).catch(() => ({ agentsSeen: 0, agentsKnown: 0, queued: 0, needsAttention: 0 }));
  const holds: HealthHold[] = await pendingHolds(knex)
    .then((hs) => hs.map((h) => ({ specId: h.specId, rowsBefore: h.rowsBefore, rowsInFile: h.rowsInFile })))
    .catch(() => []);
  const endings = await countUnacknowledgedEndings(knex).catch(() => 0);
  const cluster = await clusterStatus(knex).catch((): ClusterStatus => ({ nodes: [], leases: [] }));
  // Counts that cannot be read are a warning too, never a silent "ok".
  const counted = await reconcileCounts(knex).catch(() => null);
  const reconciliation = counted ?? { enteredTwice: 0, notSeen: 0, unreported: 0 };
  const contradicted = reconciliation.enteredTwice + reconciliation.notSeen + reconciliation.unreported;
  const liveUps: LiveUps | null = !live
    ? null
    : live.kind === 'ok'
      ? {
          reachable: true,
          status: live.raw,
          label: live.label,
          onBattery: live.onBattery,
          lowBattery: live.lowBattery,
          charge: live.charge,
          runtimeSeconds: live.runtimeSeconds,
          load: live.load,
        }
      : { reachable: false, code: live.code, reason: live.reason };
  const upsWarn =
    !power || power.state !== 'online' || (liveUps !== null && (!liveUps.reachable || liveUps.onBattery || liveUps.lowBattery));
  const disks = deps.disks ?? null;
  const health: SystemHealth = {
    ...base,
    warnings: [],
    messages: [
      ...holds.map(
        (h) =>
          `連携 ${h.specId}: 全件ファイルを保留中 (現在 ${h.rowsBefore.toLocaleString('ja-JP')} 件 → ${h.rowsInFile.toLocaleString('ja-JP')} 件)`,
      ),
      ...(endings ? ['未確認の支援措置の終了があります (支援措置担当の画面「支援措置の終了」で確認してください)'] : []),
      ...(!counted ? ['RPA の入力と連携の照合の結果を読めません'] : []),
      ...(contradicted
        ? [
            `RPA の入力が異動履歴と合いません: 二重入力 ${reconciliation.enteredTwice}・連携に現れない ${reconciliation.notSeen}・入力済・未報告 ${reconciliation.unreported} 件 (/rpa/jobs で確認してください)`,
          ]
        : []),
      ...(disks?.messages ?? []),
    ],
    linkage: { status: linkage.freshness === 'ok' && !holds.length ? 'ok' : 'warn', holds, ...linkage },
    protection: { status: endings ? 'warn' : 'ok' },
    backup: backup && {
      status: backup.status === 'ok' ? 'ok' : 'warn',
      freshness: backup.status,
      lastAt: backup.lastAt,
      lastVerified: backup.lastVerified,
      count: backup.count,
    },
    // Agents that all went silent while work waits is worth a look; an empty queue needs no agent.
    // An entry the core system's own history contradicts (twice, missing, unreported) is always worth a look.
    rpa: {
      status: (rpa.agentsKnown > 0 && rpa.agentsSeen === 0 && rpa.queued > 0) || !counted || contradicted ? 'warn' : 'ok',
      ...rpa,
      reconciliation,
    },
    cluster: { node: deps.nodeId ?? null, ...cluster },
    ups: {
      status: upsWarn ? 'warn' : 'ok',
      power: power?.state ?? 'unknown',
      event: power?.event ?? null,
      changedAt: power?.changedAt?.toISOString() ?? null,
      live: liveUps,
    },
    disks: diskHealthOf(disks),
  };
  if (deps.standby && deps.dataDir) {
    const r = standbyReport(deps.dataDir, { node: deps.standby, intervalSeconds: config.standby.intervalSeconds, now });
    health.standby = {
      status: r.degraded ? 'warn' : 'ok',
      role: 'primary',
      epoch: deps.standby.state.epoch,
      lagSeconds: r.lagSeconds,
      lastOkAt: r.ship?.lastOkAt ?? null,
    };
    if (r.degraded) health.messages.push('待機系への送信が遅れています (madoguchi standby status で確認してください)');
  }
  health.warnings = (['linkage', 'backup', 'rpa', 'ups', 'protection', 'disks', 'standby'] as const).filter(
    (k) => health[k]?.status === 'warn',
  );
  return health;
}

/** The public shape of the disk monitor's result: states and names only (no serials, no reasons). */
function diskHealthOf(d: DiskHealth | null): SystemHealth['disks'] {
  if (!d) return { status: 'ok', state: 'ok', checkedAt: null, sources: [], arrays: [], devices: [] };
  return {
    status: d.state === 'ok' ? 'ok' : 'warn',
    state: d.state,
    checkedAt: d.checkedAt?.toISOString() ?? null,
    sources: d.sources.map((s) => ({ kind: s.kind, state: s.state })),
    arrays: d.arrays.map((a) => ({
      source: a.source,
      name: a.name,
      level: a.level,
      state: a.state,
      expected: a.expected,
      working: a.working,
      progress: a.progress,
      members: a.members,
    })),
    devices: d.devices.map(({ message: _message, ...rest }) => rest),
  };
}

const AGENT_SEEN_MS = 10 * 60_000;

async function rpaHealth(
  knex: Knex,
  now: Date,
): Promise<{ agentsSeen: number; agentsKnown: number; queued: number; needsAttention: number }> {
  const n = (r: unknown) => Number((r as { n?: number | string } | undefined)?.n ?? 0);
  const [known, seen, queued, attention] = await Promise.all([
    knex('rpa_agents').count({ n: '*' }).first(),
    knex('rpa_agents')
      .where('last_seen_at', '>=', new Date(now.getTime() - AGENT_SEEN_MS))
      .count({ n: '*' })
      .first(),
    knex('rpa_jobs').where({ status: 'queued', awaiting_review: false }).count({ n: '*' }).first(),
    knex('rpa_jobs').where({ status: 'needsAttention' }).count({ n: '*' }).first(),
  ]);
  return { agentsKnown: n(known), agentsSeen: n(seen), queued: n(queued), needsAttention: n(attention) };
}
