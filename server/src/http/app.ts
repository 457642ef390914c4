import { readFile } from 'node:fs/promises';
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import { login, logout, resumeSession, type StaffSession } from '../auth/sessions.js';
import { loginPage } from './routes/login.js';
import { Router, type RouterMiddleware } from '@koa/router';
import type { Knex } from 'knex';
import type { AppConfig } from '../config/appConfig.js';
import type { Logger } from '../ops/logger.js';
import { checkHealth } from './routes/health.js';
import { homePage } from './routes/home.js';
import { linkagePage, linkageStatus, listRuns, runPage, runWithIssues, type LinkageView } from './routes/linkage.js';

export interface AppDeps {
  knex: Knex;
  config: AppConfig;
  logger: Logger;
  version: string;
  linkage: LinkageView;
}

/** Who may use a route: anyone, any logged-in member of staff, or one holding a permission. */
export type RouteAccess = 'public' | 'authenticated' | { permission: string };

export const SESSION_COOKIE = 'madoguchi_session';

export interface RouteInfo {
  method: string;
  path: string;
  access: RouteAccess;
}

const STATIC_FILES: Record<string, { file: URL; type: string }> = {
  '/static/base.css': { file: new URL('../../static/base.css', import.meta.url), type: 'text/css; charset=utf-8' },
};

export function createApp(deps: AppDeps): { app: Koa; router: Router; routes: RouteInfo[] } {
  const app = new Koa();
  app.proxy = false;
  const router = new Router();
  const routes: RouteInfo[] = [];
  /**
   * The one way to add a route: its access is declared with it, and the list of declarations is
   * what the permission checks and the route-matrix test read. A route added to `router`
   * directly has no declaration, and test/integration/routes.test.ts fails on it.
   */
  const route = (method: 'GET' | 'POST', path: string, access: RouteAccess, handler: RouterMiddleware) => {
    routes.push({ method, path, access });
    const guarded: RouterMiddleware = async (ctx, next) => {
      const session = ctx.state.session as StaffSession | undefined;
      if (access !== 'public') {
        if (!session) return ctx.throw(401, 'ログインしてください');
        if (typeof access === 'object' && !session.permissions.has(access.permission)) ctx.throw(403, 'この操作を行う権限がありません');
      }
      // State-changing requests made on behalf of a session carry its CSRF token (form field or
      // header). Public forms (the login) act for no session; SameSite=Strict guards them.
      if (method === 'POST' && session && access !== 'public') {
        const body = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
        const sent = ctx.get('x-csrf-token') || (typeof body._csrf === 'string' ? body._csrf : '');
        if (sent !== session.csrfToken) ctx.throw(403, '画面の有効期限が切れました。画面を開き直してからやり直してください (CSRF)');
      }
      return handler(ctx, next);
    };
    if (method === 'GET') router.get(path, guarded);
    else router.post(path, guarded);
  };

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
        const back = status === 401 ? '<a href="/login">ログイン画面へ</a>' : '<a href="/">ホームへ</a>';
        ctx.body = `<!doctype html><html lang="ja"><meta charset="utf-8"><title>エラー</title><body><h1>${status}</h1><p>${message.replace(/[<>&]/g, '')}</p><p>${back}</p></body></html>`;
      }
    }
  });

  app.use(bodyParser({ enableTypes: ['form', 'json'], formLimit: '64kb', jsonLimit: '1mb' }));
  app.use(async (ctx, next) => {
    ctx.state.session = (await resumeSession(deps.knex, ctx.cookies.get(SESSION_COOKIE), deps.config.auth.idleMinutes)) ?? undefined;
    await next();
  });

  app.use(async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    if (ctx.secure) ctx.set('Strict-Transport-Security', 'max-age=31536000');
    await next();
  });

  route('GET', '/login', 'public', async (ctx) => {
    ctx.type = 'html';
    ctx.body = loginPage(deps.config, {});
  });

  route('POST', '/login', 'public', async (ctx) => {
    const body = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
    const loginId = typeof body.loginId === 'string' ? body.loginId.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const counterId = typeof body.counterId === 'string' && deps.config.counters.some((c) => c.id === body.counterId) ? body.counterId : null;
    if (!loginId || !password) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = loginPage(deps.config, { error: 'ログイン ID とパスワードを入力してください', loginId });
      return;
    }
    const r = await login(deps.knex, loginId, password, { clientAddress: ctx.ip, counterId }, deps.config.auth.lockoutAfter);
    if (!r.ok) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = loginPage(deps.config, { error: r.reason, loginId });
      return;
    }
    ctx.cookies.set(SESSION_COOKIE, r.token, { httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: '/', overwrite: true });
    ctx.status = 303;
    ctx.redirect('/');
  });

  route('POST', '/logout', 'authenticated', async (ctx) => {
    await logout(deps.knex, ctx.state.session as StaffSession, ctx.ip);
    ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: '/', expires: new Date(0) });
    ctx.status = 303;
    ctx.redirect('/login');
  });

  route('GET', '/healthz', 'public', async (ctx) => {
    const health = await checkHealth(deps.knex, deps.version);
    ctx.status = health.status === 'ok' ? 200 : 503;
    ctx.body = health;
  });

  route('GET', '/', 'public', async (ctx) => {
    const health = await checkHealth(deps.knex, deps.version);
    ctx.type = 'html';
    ctx.body = await homePage(deps.knex, deps.config, health.residents);
  });

  const runId = (raw: string | undefined): number => {
    const id = Number(raw);
    if (!Number.isInteger(id) || id < 1) throw Object.assign(new Error('取込番号は正の整数で指定してください'), { status: 400, expose: true });
    return id;
  };
  const linkageRead: RouteAccess = { permission: 'linkage.read' };

  route('GET', '/linkage', linkageRead, async (ctx) => {
    ctx.type = 'html';
    ctx.body = await linkagePage(deps.linkage);
  });

  route('GET', '/linkage/runs/:id', linkageRead, async (ctx) => {
    const body = await runPage(deps.knex, runId(ctx.params.id));
    if (!body) ctx.throw(404, '指定された取込はありません');
    ctx.type = 'html';
    ctx.body = body;
  });

  route('GET', '/api/v1/linkage/status', linkageRead, async (ctx) => {
    ctx.body = await linkageStatus(deps.linkage);
  });

  route('GET', '/api/v1/linkage/runs', linkageRead, async (ctx) => {
    const limit = ctx.query.limit === undefined ? 50 : Number(ctx.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) ctx.throw(400, 'limit は 1〜200 の整数で指定してください');
    const spec = typeof ctx.query.spec === 'string' ? ctx.query.spec : undefined;
    ctx.body = { runs: await listRuns(deps.knex, { limit, ...(spec ? { specId: spec } : {}) }) };
  });

  route('GET', '/api/v1/linkage/runs/:id', linkageRead, async (ctx) => {
    const found = await runWithIssues(deps.knex, runId(ctx.params.id));
    if (!found) ctx.throw(404, '指定された取込はありません');
    ctx.body = found;
  });

  for (const [path, f] of Object.entries(STATIC_FILES)) {
    route('GET', path, 'public', async (ctx) => {
      ctx.type = f.type;
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = await readFile(f.file);
    });
  }

  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, router, routes };
}

/** Router layers (method + path) that have no access declaration: must be none. */
export function undeclaredRoutes(router: Router, routes: readonly RouteInfo[]): string[] {
  const declared = new Set(routes.map((r) => `${r.method} ${r.path}`));
  const missing: string[] = [];
  for (const layer of router.stack) {
    for (const method of layer.methods) {
      if (method === 'HEAD') continue;
      if (!declared.has(`${method} ${layer.path}`)) missing.push(`${method} ${layer.path}`);
    }
  }
  return missing;
}
