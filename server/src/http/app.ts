import { readFile } from 'node:fs/promises';
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import { Router, type RouterMiddleware } from '@koa/router';
import type { Knex } from 'knex';
import { resumeApiClient } from '../auth/apiClients.js';
import { actorOf, resumeSession, type StaffSession } from '../auth/sessions.js';
import type { AuditActor } from '../auth/staffRepo.js';
import type { AppConfig } from '../config/appConfig.js';
import type { Logger } from '../ops/logger.js';
import { page, type PageChrome, type SafeHtml } from './html.js';
import { openApiDocument } from './openapi.js';
import { powerBanner, powerStatus, type PowerStatus } from '../ops/power.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerAuditRoutes } from './routes/auditViewer.js';
import { checkHealth, systemHealth } from './routes/health.js';
import { landingPage, staffHome } from './routes/home.js';
import { registerCounterRoutes } from './routes/counter.js';
import { registerNoticeRoutes, type ProcedureSource } from './routes/notices.js';
import { registerPrintRoutes } from './routes/print.js';
import { registerCertificateRoutes } from './routes/certificates.js';
import { registerRpaRoutes } from './routes/rpa.js';
import { registerProcedureAdmin } from './routes/procedureAdmin.js';
import { ProcedureStore } from '../procedures/config.js';
import { registerAddressApi } from './routes/addresses.js';
import { registerLinkageRoutes, type LinkageView } from './routes/linkage.js';
import { registerResidentApi } from './routes/residents.js';
import { registerSessionRoutes } from './routes/session.js';
import { registerStatsRoutes } from './routes/stats.js';
import { registerOperationsRoutes } from './routes/operations.js';

export interface AppDeps {
  knex: Knex;
  config: AppConfig;
  /** Where the municipality's configuration lives (templates served from there). */
  configDir: string;
  /** The data directory (RPA evidence lives under it); routes that need it refuse without it. */
  dataDir?: string;
  /** The procedure catalog; by default read from `configDir/procedures` and reloaded when edited. */
  procedures?: ProcedureStore;
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

type Ctx = Parameters<RouterMiddleware>[0];

/** What a route module gets: the declaring function and the helpers every handler needs. */
export interface RouteKit {
  deps: AppDeps;
  route(
    method: 'GET' | 'POST',
    path: string,
    access: RouteAccess,
    handler: RouterMiddleware,
    options?: { whileMustChangePassword?: boolean },
  ): void;
  /** Responds with a full page carrying the staff header (name, active role, counter). */
  render(ctx: Ctx, title: string, body: SafeHtml): void;
  chrome(ctx: Ctx): PageChrome;
  session(ctx: Ctx): StaffSession;
  actor(ctx: Ctx): AuditActor;
  form(ctx: Ctx): Record<string, unknown>;
}

/** Thrown for bad input: a 400 with a message for staff. */
export function badRequest(message: string): Error {
  return Object.assign(new Error(message), { status: 400, expose: true });
}

const STATIC_FILES: Record<string, { file: URL; type: string }> = {
  '/static/base.css': { file: new URL('../../static/base.css', import.meta.url), type: 'text/css; charset=utf-8' },
  '/static/counter.js': { file: new URL('../../static/counter.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
  '/static/staff-import.js': { file: new URL('../../static/staff-import.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
};

/** Links in the header, shown only to those who may follow them. */
const NAV: readonly { href: string; label: string; permission: string }[] = [
  { href: '/search', label: '住民検索', permission: 'resident.search' },
  { href: '/worklist', label: '課の作業一覧', permission: 'visit.handle' },
  { href: '/review', label: '審査', permission: 'notice.review' },
  { href: '/rpa/jobs', label: 'RPA', permission: 'rpa.manage' },
  { href: '/stats/visits', label: '窓口統計', permission: 'export.csv' },
  { href: '/linkage', label: '連携状況', permission: 'linkage.read' },
  { href: '/admin/staff', label: '職員管理', permission: 'admin.staff' },
  { href: '/admin/audit', label: '監査ログ', permission: 'audit.read' },
  { href: '/admin/procedures', label: '手続き設定', permission: 'admin.procedures' },
  { href: '/admin/operations', label: '稼働状況', permission: 'admin.staff' },
];

export function createApp(deps: AppDeps): { app: Koa; router: Router; routes: RouteInfo[] } {
  const app = new Koa();
  app.proxy = false;
  const router = new Router();
  const routes: RouteInfo[] = [];

  const chromeOf = (ctx: Ctx): PageChrome => {
    const s = ctx.state.session as StaffSession | undefined;
    if (!s || s.kind !== 'staff') return {};
    const counter = deps.config.counters.find((c) => c.id === s.counterId);
    return {
      banner: ctx.state.power ? powerBanner(ctx.state.power as PowerStatus) : null,
      staff: {
        displayName: s.displayName,
        roleName: s.groupName ?? '役割なし',
        counterName: counter ? counter.name : '窓口未選択',
        csrfToken: s.csrfToken ?? '',
        canSwitch: s.groups.length > 1 || deps.config.counters.length > 1,
        nav: s.mustChangePassword ? [] : NAV.filter((n) => s.permissions.has(n.permission)),
      },
    };
  };

  const kit: RouteKit = {
    deps,
    /**
     * The one way to add a route: its access is declared with it, and the list of declarations is
     * what the permission checks and the route-matrix test read. A route added to `router`
     * directly has no declaration, and test/integration/routes.test.ts fails on it.
     */
    route(method, path, access, handler, options = {}) {
      routes.push({ method, path, access });
      const guarded: RouterMiddleware = async (ctx, next) => {
        const session = ctx.state.session as StaffSession | undefined;
        if (access !== 'public') {
          if (!session) return ctx.throw(401, 'ログインしてください');
          if (typeof access === 'object' && !session.permissions.has(access.permission)) ctx.throw(403, 'この操作を行う権限がありません');
          if (session.mustChangePassword && !options.whileMustChangePassword) {
            if (method === 'GET' && !ctx.path.startsWith('/api/')) return ctx.redirect('/password');
            ctx.throw(403, 'パスワードを変更してから操作してください');
          }
        }
        // State-changing requests made on behalf of a browser session carry its CSRF token (form
        // field or header). Public forms (the login) act for no session; SameSite=Strict guards
        // them. Machine clients send a bearer token and no cookies, so there is nothing to forge.
        if (method === 'POST' && session?.kind === 'staff' && access !== 'public') {
          const body = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
          const sent = ctx.get('x-csrf-token') || (typeof body._csrf === 'string' ? body._csrf : '');
          if (sent !== session.csrfToken) ctx.throw(403, '画面の有効期限が切れました。画面を開き直してからやり直してください (CSRF)');
        }
        return handler(ctx, next);
      };
      if (method === 'GET') router.get(path, guarded);
      else router.post(path, guarded);
    },
    chrome: chromeOf,
    render(ctx, title, body) {
      ctx.type = 'html';
      ctx.body = page(title, body, chromeOf(ctx));
    },
    session(ctx) {
      return ctx.state.session as StaffSession;
    },
    actor(ctx) {
      return actorOf(ctx.state.session as StaffSession, ctx.ip);
    },
    form(ctx) {
      return (ctx.request as { body?: Record<string, unknown> }).body ?? {};
    },
  };

  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) ctx.throw(404, 'ページが見つかりません');
    } catch (e) {
      const err = e as Error & { status?: number; expose?: boolean };
      const status = err.status && err.status >= 400 && err.status < 600 ? err.status : 500;
      const message =
        status < 500 && err.expose !== false ? err.message : 'サーバーでエラーが発生しました。しばらくしてからやり直してください。';
      if (status >= 500) deps.logger.error('request failed', { method: ctx.method, path: ctx.path, error: err });
      ctx.status = status;
      if (ctx.path.startsWith('/api/') || ctx.path === '/healthz' || ctx.accepts('html', 'json') === 'json')
        ctx.body = { error: { status, message } };
      else {
        ctx.type = 'html';
        const back = status === 401 ? '<a href="/login">ログイン画面へ</a>' : '<a href="/">ホームへ</a>';
        ctx.body = `<!doctype html><html lang="ja"><meta charset="utf-8"><title>エラー</title><body><h1>${status}</h1><p>${message.replace(/[<>&]/g, '')}</p><p>${back}</p></body></html>`;
      }
    } finally {
      // Server-side time, for the search benchmark and the browser's network panel.
      ctx.set('Server-Timing', `app;dur=${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(2)}`);
    }
  });

  app.use(bodyParser({ enableTypes: ['form', 'json'], formLimit: '64kb', jsonLimit: '1mb' }));
  app.use(async (ctx, next) => {
    const authorization = ctx.get('authorization');
    if (authorization) {
      // Bearer tokens are for machines and the JSON API only; a bad one is refused, never ignored.
      const m = /^Bearer\s+(\S+)$/i.exec(authorization);
      const client = m && ctx.path.startsWith('/api/') ? await resumeApiClient(deps.knex, m[1]!, ctx.ip) : null;
      if (!client) ctx.throw(401, '端末の認証トークンが無効です');
      ctx.state.session = client;
    } else {
      ctx.state.session = (await resumeSession(deps.knex, ctx.cookies.get(SESSION_COOKIE), deps.config.auth)) ?? undefined;
      if (ctx.state.session) ctx.state.power = await powerStatus(deps.knex);
    }
    await next();
  });

  app.use(async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'");
    // Pages with personal data must not stay in a shared thin client's cache.
    if (ctx.state.session) ctx.set('Cache-Control', 'no-store');
    if (ctx.secure) ctx.set('Strict-Transport-Security', 'max-age=31536000');
    await next();
  });

  registerSessionRoutes(kit);

  kit.route('GET', '/healthz', 'public', async (ctx) => {
    const health = await systemHealth({
      knex: deps.knex,
      version: deps.version,
      config: deps.config,
      ...(deps.dataDir !== undefined ? { dataDir: deps.dataDir } : {}),
    });
    ctx.status = health.status === 'ok' ? 200 : 503;
    ctx.body = health;
  });

  kit.route('GET', '/', 'public', async (ctx) => {
    const session = ctx.state.session as StaffSession | undefined;
    if (session?.mustChangePassword) return ctx.redirect('/password');
    ctx.type = 'html';
    // The resident count scans the cache: only the landing page shows it, not every staff home.
    ctx.body =
      session?.kind === 'staff'
        ? await staffHome(deps.knex, deps.config, deps.linkage, session, chromeOf(ctx))
        : landingPage(deps.config, (await checkHealth(deps.knex, deps.version)).residents);
  });

  registerLinkageRoutes(kit);
  kit.route('GET', '/api/v1/openapi.json', 'authenticated', async (ctx) => {
    ctx.body = openApiDocument(deps.version);
  });
  registerResidentApi(kit);
  const store = deps.procedures ?? new ProcedureStore(deps.configDir, deps.config.counters, { minCheckIntervalMs: 2000 });
  const procedures: ProcedureSource = {
    definitions: (on) => {
      store.reloadIfChanged();
      return store.current().validOn(on);
    },
    byId: (id) => store.current().byId(id),
  };
  registerCounterRoutes(kit, procedures);
  registerNoticeRoutes(kit, procedures);
  registerPrintRoutes(kit, procedures);
  registerCertificateRoutes(kit);
  registerRpaRoutes(kit);
  registerProcedureAdmin(kit, store);
  registerAddressApi(kit);
  registerAdminRoutes(kit);
  registerAuditRoutes(kit);
  registerStatsRoutes(kit);
  registerOperationsRoutes(kit);

  for (const [path, f] of Object.entries(STATIC_FILES)) {
    kit.route('GET', path, 'public', async (ctx) => {
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
