import { readFile } from 'node:fs/promises';
import Koa from 'koa';
import { Router } from '@koa/router';
import type { Knex } from 'knex';
import type { AppConfig } from '../config/appConfig.js';
import type { Logger } from '../ops/logger.js';
import { checkHealth } from './routes/health.js';
import { homePage } from './routes/home.js';

export interface AppDeps {
  knex: Knex;
  config: AppConfig;
  logger: Logger;
  version: string;
}

/** Whether a route is public or needs a permission; every route is listed with one. */
export type RouteAccess = 'public' | { permission: string };

export interface RouteInfo {
  method: string;
  path: string;
  access: RouteAccess;
}

const STATIC_FILES: Record<string, { file: URL; type: string }> = {
  '/static/base.css': { file: new URL('../../static/base.css', import.meta.url), type: 'text/css; charset=utf-8' },
};

export function createApp(deps: AppDeps): { app: Koa; routes: RouteInfo[] } {
  const app = new Koa();
  app.proxy = false;
  const router = new Router();
  const routes: RouteInfo[] = [];
  const declare = (method: string, path: string, access: RouteAccess) => routes.push({ method, path, access });

  app.use(async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) ctx.throw(404, 'ページが見つかりません');
    } catch (e) {
      const err = e as Error & { status?: number; expose?: boolean };
      const status = err.status && err.status >= 400 && err.status < 600 ? err.status : 500;
      const message = status < 500 && err.expose !== false ? err.message : 'サーバーでエラーが発生しました。しばらくしてからやり直してください。';
      if (status >= 500) deps.logger.error('request failed', { method: ctx.method, path: ctx.path, error: err });
      ctx.status = status;
      if (ctx.path.startsWith('/api/') || ctx.path === '/healthz' || ctx.accepts('html', 'json') === 'json') ctx.body = { error: { status, message } };
      else {
        ctx.type = 'html';
        ctx.body = `<!doctype html><html lang="ja"><meta charset="utf-8"><title>エラー</title><body><h1>${status}</h1><p>${message.replace(/[<>&]/g, '')}</p><p><a href="/">ホームへ</a></p></body></html>`;
      }
    }
  });

  app.use(async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    await next();
  });

  declare('GET', '/healthz', 'public');
  router.get('/healthz', async (ctx) => {
    const health = await checkHealth(deps.knex, deps.version);
    ctx.status = health.status === 'ok' ? 200 : 503;
    ctx.body = health;
  });

  declare('GET', '/', 'public');
  router.get('/', async (ctx) => {
    const health = await checkHealth(deps.knex, deps.version);
    ctx.type = 'html';
    ctx.body = await homePage(deps.knex, deps.config, health.residents);
  });

  for (const [path, f] of Object.entries(STATIC_FILES)) {
    declare('GET', path, 'public');
    router.get(path, async (ctx) => {
      ctx.type = f.type;
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = await readFile(f.file);
    });
  }

  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, routes };
}
