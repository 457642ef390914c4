import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import { loadAppConfig, type AppConfig } from './config/appConfig.js';
import { migrateLatest, openDatabase } from './db/connect.js';
import { createApp } from './http/app.js';
import { closeLogger, createLogger, type Logger } from './ops/logger.js';
import { version } from './version.js';

export interface ServerOptions {
  configDir: string;
  dataDir: string;
  port: number;
  host: string;
  /** Time allowed for in-flight requests when stopping. */
  stopBudgetMs?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  config: AppConfig;
  knex: Knex;
  logger: Logger;
  close(): Promise<void>;
}

/** Composition root: config → database → HTTP. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const config = loadAppConfig(opts.configDir);
  const logger = createLogger({ dataDir: opts.dataDir, level: config.logging.level, retainDays: config.logging.retainDays });
  const knex = openDatabase(config.database, opts.dataDir);
  await migrateLatest(knex);
  const { app } = createApp({ knex, config, logger, version });
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${opts.host === '0.0.0.0' ? 'localhost' : opts.host}:${port}/`;
  logger.info('madoguchi started', { version, url, database: config.database.client });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      logger.info('madoguchi stopping');
      // Stop accepting, let in-flight requests finish within the budget, then close the rest.
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const budget = setTimeout(() => server.closeAllConnections(), opts.stopBudgetMs ?? 10_000);
      await stopped;
      clearTimeout(budget);
      await knex.destroy();
      logger.info('madoguchi stopped');
      await closeLogger(logger);
    })());
  return { url, port, config, knex, logger, close };
}
