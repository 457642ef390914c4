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
import { exportNoticesCsv } from './rpa/csvOut.js';
import { todayInJapan } from './domain/dates.js';
import { pruneAudit } from './audit/trail.js';
import { createApp } from './http/app.js';
import { LayoutRegistry } from './linkage/forward/layouts.js';
import { applyOptionsFrom, checkSpecsHaveLayouts, configuredGaijiMap, loadGaijiMap } from './linkage/forward/settings.js';
import { startWatchdog } from './linkage/forward/watchdog.js';
import { DropFolderWatcher, pruneArchive } from './linkage/forward/watcher.js';
import { closeLogger, createLogger, type Logger } from './ops/logger.js';
import { version } from './version.js';

export interface ServerOptions {
  configDir: string;
  dataDir: string;
  port: number;
  host: string;
  /** Time allowed for in-flight requests when stopping. */
  stopBudgetMs?: number;
  /** Watch the linkage drop folders and run the missing-file watchdog (default true). */
  watch?: boolean;
}

export interface RunningServer {
  url: string;
  port: number;
  config: AppConfig;
  knex: Knex;
  logger: Logger;
  watcher: DropFolderWatcher;
  /** The plain-HTTP redirect listener's port, when TLS and `http.redirectPort` are set. */
  redirectPort?: number;
  close(): Promise<void>;
}

/** Composition root: config → database → HTTP. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const config = loadAppConfig(opts.configDir);
  const logger = createLogger({ dataDir: opts.dataDir, level: config.logging.level, retainDays: config.logging.retainDays });
  const registry = LayoutRegistry.load(opts.configDir);
  checkSpecsHaveLayouts(config, registry, opts.configDir);
  const gaiji = loadGaijiMap(configuredGaijiMap(config, opts.configDir));
  const knex = openDatabase(config.database, opts.dataDir);
  await migrateLatest(knex);
  // The shipped groups exist from the first start, so that an administrator can assign them.
  await ensureDefaultGroups(knex);
  const watcher = new DropFolderWatcher({
    knex, registry, settings: config.linkage, root: path.resolve(opts.dataDir, config.linkage.dropDir),
    applyOptions: applyOptionsFrom(config, gaiji), logger,
  });
  const watching = opts.watch !== false;
  if (watching) await watcher.start();
  const root = path.resolve(opts.dataDir, config.linkage.dropDir);
  const watchdog = watching ? startWatchdog(knex, config.linkage, logger, { closedDates: config.openingHours.closedDates, root }) : undefined;
  if (watching) pruneArchive(root, config.linkage.archiveDays);
  // Audit records past the retention period go each night (at least a year is kept).
  const auditRetention = watching
    ? cron.schedule('45 3 * * *', () => void pruneAudit(knex, config.audit.retentionYears).catch((e: unknown) => logger.error('audit prune failed', { error: e })), { timezone: 'Asia/Tokyo', name: 'audit-retention' })
    : undefined;
  // Accepted notices of the day as CSV for the core system, after counter hours.
  const csvSchedule = config.backwardLinkage.schedule;
  const noticeCsv = watching && csvSchedule
    ? cron.schedule(csvSchedule, () => void exportNoticesCsv(knex, { date: todayInJapan(), dir: path.resolve(opts.dataDir, config.backwardLinkage.csvDir), encoding: config.backwardLinkage.encoding }, { staffLogin: 'system' })
      .then((r) => logger.info('notice csv written', { file: r.file, rows: r.rows }))
      .catch((e: unknown) => logger.error('notice csv failed', { error: e })), { timezone: 'Asia/Tokyo', name: 'notice-csv' })
    : undefined;
  const { app } = createApp({ knex, config, configDir: opts.configDir, logger, version, linkage: { knex, registry, settings: config.linkage, closedDates: config.openingHours.closedDates, loads: () => watcher.currentLoads() } });
  const tls = config.http.tls;
  const server = tls
    ? https.createServer({ cert: readFileSync(path.resolve(opts.configDir, tls.cert)), key: readFileSync(path.resolve(opts.configDir, tls.key)) }, app.callback())
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
  logger.info('madoguchi started', { version, url, database: config.database.client });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      logger.info('madoguchi stopping');
      // Stop accepting, let in-flight requests finish within the budget, then close the rest.
      redirect?.close();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const budget = setTimeout(() => server.closeAllConnections(), opts.stopBudgetMs ?? 10_000);
      watchdog?.stop();
      void auditRetention?.stop();
      void noticeCsv?.stop();
      await watcher.stop();
      await stopped;
      clearTimeout(budget);
      await knex.destroy();
      logger.info('madoguchi stopped');
      await closeLogger(logger);
    })());
  const redirectPort = redirect ? (redirect.address() as AddressInfo).port : undefined;
  return { url, port, config, knex, logger, watcher, ...(redirectPort !== undefined ? { redirectPort } : {}), close };
}
