import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import { loadAppConfig, type AppConfig } from './config/appConfig.js';
import { migrateLatest, openDatabase } from './db/connect.js';
import { ensureDefaultGroups } from './auth/staffRepo.js';
import path from 'node:path';
import cron from 'node-cron';
import { pruneEvidence } from './rpa/evidence.js';
import { exportNoticesCsv } from './rpa/csvOut.js';
import { JAPAN_TIME_ZONE, todayInJapan } from './domain/japanTime.js';
import { anchorFilePath } from './audit/anchorFile.js';
import { pruneAudit, writeAnchor } from './audit/trail.js';
import { createApp, type RouteInfo } from './http/app.js';
import { LayoutRegistry } from './linkage/forward/layouts.js';
import { applyOptionsFrom, checkSpecsHaveLayouts, configuredGaijiMap, loadGaijiMap } from './linkage/forward/settings.js';
import { refreshSearchKeys } from './linkage/forward/rekey.js';
import { startWatchdog } from './linkage/forward/watchdog.js';
import { DropFolderWatcher, pruneArchive } from './linkage/forward/watcher.js';
import { reconcileJobs, reconcileSettingsOf, WITNESS_SPECS } from './rpa/reconcile.js';
import { checkCoreSystems } from './rpa/jobs.js';
import { setVariantTable, variantTableFor } from './domain/variants.js';
import { closeLogger, createLogger, type Logger } from './ops/logger.js';
import { scheduleBackups } from './ops/backup.js';
import { DiskMonitor } from './ops/diskMonitor.js';
import { closeDatabase, drainHttp, returnLeases, runStopSteps } from './ops/gracefulStop.js';
import { reconcilePowerState } from './ops/upsStatus.js';
import { defaultNodeId, LeaseKeeper, type GuardedJob } from './ops/leases.js';
import { version } from './version.js';
import { startPrimaryNode } from './standby/primary.js';
import { readStandbyState } from './standby/state.js';
import type { StandbyNode } from './standby/node.js';

export interface ServerOptions {
  configDir: string;
  dataDir: string;
  port: number;
  host: string;
  /** The graceful stop's budget; default `ups.stopBudgetSeconds` from the configuration. */
  stopBudgetMs?: number;
  /** Watch the linkage drop folders and run the missing-file watchdog (default true). */
  watch?: boolean;
  /** A line shown on every staff page (the verification environment says what it is). */
  banner?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  config: AppConfig;
  knex: Knex;
  logger: Logger;
  /** This node's linkage watcher (a new one each time the node takes the linkage lease). */
  readonly watcher: DropFolderWatcher;
  /** The leases of the work that runs once across the nodes (ops/leases.ts). */
  leases: LeaseKeeper;
  /** RAID and SMART as last collected (ops/diskMonitor.ts). */
  disks: DiskMonitor;
  /** The declared routes with their contracts (for the contract, leak and fuzz tests). */
  routes: RouteInfo[];
  /** The plain-HTTP redirect listener's port, when TLS and `http.redirectPort` are set. */
  redirectPort?: number;
  /** The standby pairing and shipper, when `<data-dir>/standby/state.json` exists. */
  standby?: StandbyNode;
  close(): Promise<void>;
}

/** Composition root: config → database → HTTP. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const config = loadAppConfig(opts.configDir);
  // A standby serves only the receiving side (standby/server.ts); `madoguchi serve` picks it.
  const standbyState = readStandbyState(opts.dataDir);
  if (standbyState?.role === 'standby')
    throw new Error('この系は待機系です。運用系として起動するには madoguchi standby promote を実行してください。');
  // Where each RPA job is entered must be certain: a scenario in two core systems' folders, or a
  // configured system without its folder, stops the start (a missing main folder only means no RPA).
  const systemProblems = checkCoreSystems(opts.configDir, config.rpa).filter(
    (p) => !p.startsWith(`基幹系 ${config.rpa.coreSystem} のシナリオのフォルダー`),
  );
  if (systemProblems.length) throw new Error(`RPA の基幹系の設定に誤りがあります:\n${systemProblems.join('\n')}`);
  const logger = createLogger({ dataDir: opts.dataDir, level: config.logging.level, retainDays: config.logging.retainDays });
  const registry = LayoutRegistry.load(opts.configDir);
  checkSpecsHaveLayouts(config, registry, opts.configDir);
  const gaiji = loadGaijiMap(configuredGaijiMap(config, opts.configDir));
  // The 異体字 table of the search keys: the municipality's own, else the shipped one.
  setVariantTable(variantTableFor(opts.configDir));
  const knex = openDatabase(config.database, opts.dataDir);
  await migrateLatest(knex);
  // Stored keys made under other key rules or another 異体字 table are recomputed before any search.
  const rekey = await refreshSearchKeys(knex);
  if (rekey.rekeyed && rekey.rowsRead) logger.info('search keys recomputed', rekey);
  // The shipped groups exist from the first start, so that an administrator can assign them.
  await ensureDefaultGroups(knex);
  // Paired with a standby: refuse to start if the peer was promoted meanwhile, else ship to it.
  const standby = standbyState
    ? await startPrimaryNode({
        state: standbyState,
        config,
        configDir: opts.configDir,
        dataDir: opts.dataDir,
        knex,
        logger,
        version,
      }).catch(async (e: unknown) => {
        await knex.destroy();
        await closeLogger(logger);
        throw e;
      })
    : undefined;
  // Back from an outage: upsmon sends no ONLINE at boot, so ask upsd (banner off, RPA resumes).
  const power = await reconcilePowerState(knex, config.ups).catch((e: unknown) => logger.warn('power state not reconciled', { error: e }));
  if (power) logger.info('power back on mains', power);
  let reconciling: Promise<void> = Promise.resolve();
  // Without watching (tests, tools) nothing runs under a lease and held files are applied in place.
  const watching = opts.watch !== false;
  const root = path.resolve(opts.dataDir, config.linkage.dropDir);
  // The leases of the work that runs once across the nodes (taken after the listener started).
  const leases = new LeaseKeeper(knex, {
    nodeId: config.cluster.nodeId ?? defaultNodeId(opts.port, opts.dataDir),
    leaseSeconds: config.cluster.leaseSeconds,
    logger,
  });
  const newWatcher = (previousHolder: string | null = null): DropFolderWatcher =>
    new DropFolderWatcher({
      knex,
      registry,
      settings: config.linkage,
      root,
      applyOptions: applyOptionsFrom(config, gaiji),
      logger,
      // Several nodes: the apply commits only while this node still holds the linkage lease.
      ...(watching ? { fence: (trx: Knex.Transaction) => leases.fence(trx, 'linkage') } : {}),
      nodeId: leases.nodeId,
      previousHolder,
      // The core system's 異動履歴 is the witness of what the RPA entered: reconcile after each one.
      onResult: (r) => {
        if (!WITNESS_SPECS.includes(r.specId) || r.outcome !== 'applied') return;
        // One reconciliation at a time: two files applied back to back must not write the same rows at once.
        reconciling = reconciling
          .then(() => reconcileJobs(knex, reconcileSettingsOf(config)))
          .then((sum) => void logger.info('rpa jobs reconciled with the core-system linkage', { runId: r.runId, ...sum.byState }))
          .catch((e: unknown) => void logger.error('rpa reconciliation failed', { error: e }));
      },
    });
  // The watcher of this node while it holds the linkage lease (a new one at each acquisition).
  let watcher = newWatcher();
  // Everything that must run once across the nodes runs under a lease (ops/leases.ts).
  const linkageJob: GuardedJob = {
    // Each apply checks the token inside its transaction (the watcher's `fence`).
    fenced: true,
    start: async ({ previousHolder }) => {
      watcher = newWatcher(previousHolder);
      await watcher.start();
      const watchdog = startWatchdog(knex, config.linkage, logger, { closedDates: config.openingHours.closedDates, root });
      pruneArchive(root, config.linkage.archiveDays);
      const running = watcher;
      return {
        stop: async () => {
          watchdog.stop();
          await running.stop();
        },
      };
    },
  };
  // The nightly schedules: audit prune and anchor, evidence prune, notice CSV, backups.
  const schedulesJob: GuardedJob = {
    start: async () => {
      const tasks = startSchedules({ config, configDir: opts.configDir, dataDir: opts.dataDir, knex, logger });
      return {
        stop: async () => {
          for (const t of tasks) await t.stop();
        },
      };
    },
  };
  // RAID and SMART, every few minutes in the background (the dashboard, /healthz and the banner read the last result).
  const disks = new DiskMonitor(config.disks, logger);
  const { app, routes } = createApp({
    knex,
    config,
    configDir: opts.configDir,
    dataDir: opts.dataDir,
    logger,
    version,
    disks,
    nodeId: () => leases.nodeId,
    ...(standby ? { standby } : {}),
    ...(opts.banner ? { banner: opts.banner } : {}),
    linkage: {
      knex,
      registry,
      settings: config.linkage,
      closedDates: config.openingHours.closedDates,
      loads: () => watcher.currentLoads(),
      confirmHold: (holdId, staffId, reason) => watcher.confirmHold(holdId, staffId, reason),
    },
  });
  const tls = config.http.tls;
  const server = tls
    ? https.createServer(
        { cert: readFileSync(path.resolve(opts.configDir, tls.cert)), key: readFileSync(path.resolve(opts.configDir, tls.key)) },
        app.callback(),
      )
    : http.createServer(app.callback());
  // Counter terminals keep one connection open all day; a busy moment must not drop them.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostName = opts.host === '0.0.0.0' ? 'localhost' : opts.host;
  const url = `${tls ? 'https' : 'http'}://${hostName}:${port}/`;
  // With TLS, plain HTTP only redirects (e.g. port 80 → 443).
  let redirect: http.Server | undefined;
  if (tls && config.http.redirectPort !== undefined) {
    redirect = http.createServer((req, res) => {
      const host = (req.headers.host ?? hostName).replace(/:\d+$/, '');
      res.writeHead(301, { Location: `https://${host}:${port}${req.url ?? '/'}` }).end();
    });
    await new Promise<void>((resolve, reject) => {
      redirect!.once('error', reject);
      redirect!.listen(config.http.redirectPort, opts.host, () => resolve());
    });
  }
  // The leases: on one node (the default) it takes them at once and the work starts here.
  const keeper = leases;
  if (watching) {
    keeper.guard('linkage', linkageJob);
    keeper.guard('schedules', schedulesJob);
  }
  await keeper.start();
  logger.info('madoguchi started', {
    version,
    url,
    database: config.database.client,
    nodeId: keeper.nodeId,
    ...(standby ? { standbyPeer: standby.state.peerUrl, epoch: standby.state.epoch } : {}),
  });
  standby?.shipper?.start();
  // After the start-up work, so that a busy event loop does not count against the tools' deadline.
  disks.start();

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const budgetMs = opts.stopBudgetMs ?? config.ups.stopBudgetSeconds * 1000;
      const started = Date.now();
      logger.info('madoguchi stopping', { budgetMs });
      // No new work: the leased work (linkage watcher, timers) stops while the HTTP requests drain,
      // and the leases are released so that another node takes over at once.
      const leasesReleased = keeper.stop();
      // RPA jobs stay with their agents while another node serves them (their own lease times out).
      const otherNodes = await keeper.otherNodes().catch(() => [] as string[]);
      void disks.stop();
      // In-flight requests get the budget less a reserve for the steps after them.
      const drainMs = budgetMs - Math.min(5000, budgetMs / 4);
      const steps = await runStopSteps(
        [
          { name: 'http', run: () => drainHttp(redirect ? [server, redirect] : [server], drainMs) },
          { name: 'leasedWork', run: () => leasesReleased },
          // After the requests: the last acceptances' shipments went out; before the database closes.
          ...(standby?.shipper ? [{ name: 'standbyShipper', run: () => standby.shipper!.stop() }] : []),
          {
            name: 'rpaLeases',
            run: async () =>
              otherNodes.length ? { kept: 'otherNodes', nodes: otherNodes.length } : { returned: (await returnLeases(knex)).length },
          },
          { name: 'database', run: () => closeDatabase(knex) },
        ],
        budgetMs,
        logger,
      );
      // The logger goes last so that it records every step (the audit trail is in the database).
      logger.info('madoguchi stopped', { ms: Date.now() - started, steps });
      await closeLogger(logger);
    })());
  const redirectPort = redirect ? (redirect.address() as AddressInfo).port : undefined;
  return {
    url,
    port,
    config,
    knex,
    logger,
    get watcher() {
      return watcher;
    },
    leases: keeper,
    disks,
    routes,
    ...(redirectPort !== undefined ? { redirectPort } : {}),
    ...(standby ? { standby } : {}),
    close,
  };
}

/** The nightly schedules; they run on the node that holds the `schedules` lease. */
function startSchedules(d: { config: AppConfig; configDir: string; dataDir: string; knex: Knex; logger: Logger }): { stop(): unknown }[] {
  const { config, knex, logger } = d;
  const tasks: { stop(): unknown }[] = [];
  // Audit records past the retention period go each night (at least a year is kept); the cut is
  // recorded in the chain and the anchor file, so that verification expects the new start.
  const anchorFile = anchorFilePath(config, d.dataDir);
  tasks.push(
    cron.schedule(
      '45 3 * * *',
      () =>
        void pruneAudit(knex, config.audit.retentionYears, new Date(), { anchorFile, log: logger }).catch((e: unknown) =>
          logger.error('audit prune failed', { error: e }),
        ),
      { timezone: JAPAN_TIME_ZONE, name: 'audit-retention' },
    ),
  );
  // The chain head goes outside the database each day: the anchor file and this log (docs/security.md §6.2).
  tasks.push(
    cron.schedule(
      '55 23 * * *',
      () =>
        void writeAnchor(knex, { file: anchorFile, kind: 'daily', log: logger }).catch((e: unknown) =>
          logger.error('audit anchor failed', { error: e }),
        ),
      { timezone: JAPAN_TIME_ZONE, name: 'audit-anchor' },
    ),
  );
  // RPA evidence shows personal data: it goes after its retention, each night.
  tasks.push(
    cron.schedule(
      '50 3 * * *',
      () =>
        void pruneEvidence(knex, d.dataDir, config.rpa.evidenceRetentionDays)
          .then((n) => n && logger.info('rpa evidence pruned', { files: n }))
          .catch((e: unknown) => logger.error('evidence prune failed', { error: e })),
      { timezone: JAPAN_TIME_ZONE, name: 'evidence-retention' },
    ),
  );
  // Accepted notices of the day as CSV for the core system, after counter hours.
  const csvSchedule = config.backwardLinkage.schedule;
  if (csvSchedule)
    tasks.push(
      cron.schedule(
        csvSchedule,
        () =>
          void exportNoticesCsv(
            knex,
            {
              date: todayInJapan(),
              dir: path.resolve(d.dataDir, config.backwardLinkage.csvDir),
              encoding: config.backwardLinkage.encoding,
            },
            { staffLogin: 'system' },
          )
            .then((r) => logger.info('notice csv written', { file: r.file, rows: r.rows }))
            .catch((e: unknown) => logger.error('notice csv failed', { error: e })),
        { timezone: JAPAN_TIME_ZONE, name: 'notice-csv' },
      ),
    );
  // Nightly verified backup (take → verify → prune), outside counter hours; failures are logged.
  const backups = scheduleBackups({ config, configDir: d.configDir, dataDir: d.dataDir, logger });
  if (backups) tasks.push(backups);
  return tasks;
}
