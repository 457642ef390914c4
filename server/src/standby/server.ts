import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Type as T } from '@sinclair/typebox';
import Koa from 'koa';
import { Router } from '@koa/router';
import type { Knex } from 'knex';
import { loadAppConfig, type AppConfig } from '../config/appConfig.js';
import { migrateLatest, sqliteKnex } from '../db/connect.js';
import { errorHandler } from '../http/errorHandler.js';
import { html, page } from '../http/html.js';
import { createRouteKit, file, htmlPage, json, type RouteInfo } from '../http/kit.js';
import { Nullable, Obj } from '../http/schemas/common.js';
import type { LinkageView } from '../linkage/status.js';
import { closeLogger, createLogger, type Logger } from '../ops/logger.js';
import { drainHttp, closeDatabase, runStopSteps } from '../ops/gracefulStop.js';
import { version } from '../version.js';
import { StandbyNode } from './node.js';
import { registerStandbyRoutes, standbyMiddleware, STANDBY_API } from './routes.js';
import { nodeDbFile, readSecret, readStandbyState } from './state.js';
import { standbyReport } from './status.js';

export interface StandbyServerOptions {
  configDir: string;
  dataDir: string;
  port: number;
  host: string;
  stopBudgetMs?: number;
}

export interface RunningStandby {
  url: string;
  port: number;
  config: AppConfig;
  node: StandbyNode;
  /** This node's own audit trail while standby (refusals), not the replica. */
  knex: Knex;
  logger: Logger;
  routes: RouteInfo[];
  close(): Promise<void>;
}

const StandbyHealthSchema = Obj(
  {
    status: T.Literal('ok'),
    role: T.Literal('standby'),
    version: T.String(),
    epoch: T.Integer(),
    seq: Nullable(T.Integer()),
    snapshotAt: Nullable(T.String()),
    lagSeconds: Nullable(T.Number({ description: '今 − 受け取った最新の複製の取得時刻 (秒)' })),
    filesSyncedAt: Nullable(T.String()),
    lastRefusal: Nullable(Obj({ at: T.String(), code: T.String() })),
  },
  { description: '待機系の稼働状況 (複製の遅れ)' },
);

const STANDBY_PAGE = html`<h1>この系は待機系です</h1>
<p>このサーバーは<strong>待機系</strong> (検証サーバを兼ねる) として動いています。窓口の業務には使えません。ログインもできません。</p>
<p>運用系のまどぐちの画面を開いてください。運用系が止まっている場合は、システム管理者に連絡してください (待機系への切り替えは <code>madoguchi standby promote</code>)。</p>`;

/**
 * `madoguchi serve` on a standby: no linkage watcher, no schedules, no RPA, never a write to the
 * replica except a verified install. Serves the receiving routes, /healthz (role and lag) and a
 * plain page for staff browsers saying this is the 待機系.
 */
export async function startStandbyServer(opts: StandbyServerOptions): Promise<RunningStandby> {
  const state = readStandbyState(opts.dataDir);
  if (!state || state.role !== 'standby')
    throw new Error('この系は待機系として設定されていません (madoguchi standby init --role standby)。');
  const config = loadAppConfig(opts.configDir);
  const secret = readSecret(opts.dataDir);
  const logger = createLogger({ dataDir: opts.dataDir, level: config.logging.level, retainDays: config.logging.retainDays });
  const knex = sqliteKnex(nodeDbFile(opts.dataDir));
  await migrateLatest(knex);
  const node = new StandbyNode(opts.dataDir, state, secret, knex, logger, version);

  const app = new Koa();
  app.proxy = false;
  const router = new Router();
  const routes: RouteInfo[] = [];
  const kit = createRouteKit(
    // No linkage, no procedures on a standby: nothing here reads them.
    { knex, config, configDir: opts.configDir, dataDir: opts.dataDir, logger, version, linkage: {} as LinkageView },
    router,
    routes,
    () => ({}),
  );
  app.use(errorHandler(logger, () => ({})));
  app.use(async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Content-Security-Policy', "default-src 'self'; frame-ancestors 'none'; form-action 'self'");
    await next();
  });
  app.use(standbyMiddleware(node));

  kit.route(
    {
      method: 'GET',
      path: '/healthz',
      access: 'public',
      tag: '稼働状況',
      summary: '待機系の稼働状況 (役割・複製の遅れ)',
      response: json(StandbyHealthSchema),
    },
    async () => {
      const r = standbyReport(opts.dataDir, { node });
      return {
        status: 'ok' as const,
        role: 'standby' as const,
        version,
        epoch: node.state.epoch,
        seq: r.replica?.seq ?? null,
        snapshotAt: r.replica?.snapshotAt ?? null,
        lagSeconds: r.lagSeconds,
        filesSyncedAt: r.files?.syncedAt ?? null,
        lastRefusal: node.receiver.lastRefusal && { at: node.receiver.lastRefusal.at, code: node.receiver.lastRefusal.code },
      };
    },
  );
  const standbyPage = async (ctx: Koa.Context) => {
    ctx.status = 503;
    ctx.type = 'html';
    ctx.body = page('待機系', STANDBY_PAGE);
  };
  kit.route({ method: 'GET', path: '/', access: 'public', summary: '待機系であることの案内', response: htmlPage }, standbyPage);
  kit.route(
    { method: 'GET', path: '/login', access: 'public', summary: '待機系であることの案内 (ログインできません)', response: htmlPage },
    standbyPage,
  );
  kit.route({ method: 'POST', path: '/login', access: 'public', summary: 'ログインを断る (待機系)', response: htmlPage }, async (ctx) => {
    await node.refuse('standby.loginRefused', ctx.ip, { route: '/login' });
    await standbyPage(ctx);
  });
  kit.route(
    { method: 'GET', path: '/static/base.css', access: 'public', summary: '画面の CSS', response: file('text/css; charset=utf-8') },
    async (ctx) => {
      ctx.type = 'text/css; charset=utf-8';
      ctx.body = await readFile(new URL('../../static/base.css', import.meta.url));
    },
  );
  registerStandbyRoutes(kit, node);
  app.use(router.routes());
  app.use(router.allowedMethods());
  // Anything else: the same page (browsers) or a clear refusal (API clients, RPA agents).
  app.use(async (ctx) => {
    if (ctx.path.startsWith('/api/') && !ctx.path.startsWith(STANDBY_API)) {
      ctx.status = 503;
      ctx.body = { error: { status: 503, code: 'standby.standbyNode', message: 'この系は待機系です。運用系のまどぐちを使ってください' } };
      return;
    }
    await standbyPage(ctx);
  });

  const tls = config.http.tls;
  const server = tls
    ? https.createServer(
        { cert: readFileSync(path.resolve(opts.configDir, tls.cert)), key: readFileSync(path.resolve(opts.configDir, tls.key)) },
        app.callback(),
      )
    : http.createServer(app.callback());
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  // A first shipment is the whole database: no request timeout on the receiving side.
  server.requestTimeout = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve());
    });
  } catch (e) {
    // Port taken (the standby already runs): nothing may keep the process alive after the error.
    await knex.destroy();
    await closeLogger(logger);
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const hostName = opts.host === '0.0.0.0' ? 'localhost' : opts.host;
  const url = `${tls ? 'https' : 'http'}://${hostName}:${port}/`;
  logger.info('madoguchi started as standby', { version, url, epoch: state.epoch, peer: state.peerUrl });

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      const budgetMs = opts.stopBudgetMs ?? config.ups.stopBudgetSeconds * 1000;
      logger.info('madoguchi standby stopping', { budgetMs });
      await runStopSteps(
        [
          { name: 'http', run: () => drainHttp([server], budgetMs - Math.min(5000, budgetMs / 4)) },
          { name: 'database', run: () => closeDatabase(knex) },
        ],
        budgetMs,
        logger,
      );
      logger.info('madoguchi standby stopped');
      await closeLogger(logger);
    })());
  return { url, port, config, node, knex, logger, routes, close };
}
