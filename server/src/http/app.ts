import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import { Router } from '@koa/router';
import { resumeApiClient } from '../auth/apiClients.js';
import { resumeSession, type StaffSession } from '../auth/sessions.js';
import { DomainError } from '../errors/domainError.js';
import { systemHealth } from '../ops/health.js';
import { powerStatus, type PowerStatus } from '../ops/power.js';
import { staffBanners } from './banners.js';
import { ProcedureStore } from '../procedures/config.js';
import { errorHandler } from './errorHandler.js';
import type { PageChrome } from './html.js';
import { personalTargetOf } from './personalData.js';
import { auditRefusal, createRouteKit, file, json, type AppDeps, type ProcedureSource, type RouteInfo } from './kit.js';
import { openApiDocument } from './openapi.js';
import { discardRest } from './rawBody.js';
import { registerAddressApi } from './routes/addresses.js';
import { registerAdminRoutes } from './routes/admin.js';
import { registerAuditRoutes } from './routes/auditViewer.js';
import { registerCertificateRoutes } from './routes/certificates.js';
import { registerCounterRoutes } from './routes/counter.js';
import { registerCardReaderRoutes } from './routes/cardReader.js';
import { registerResidentScreenRoutes } from './routes/residentScreen.js';
import { PRE_ENTRY_STATIC_FILES } from './views/preEntry.js';
import { languagesForRequest } from '../i18n/languages.js';
import { preEntryStringsScript } from '../i18n/preEntryStrings.js';
import { CardRelay } from '../cards/relay.js';
import { registerHomeRoutes } from './routes/home.js';
import { registerLinkageRoutes } from './routes/linkage.js';
import { registerNoticeRoutes } from './routes/notices.js';
import { registerMaintenanceRoutes } from './routes/maintenance.js';
import { registerOperationsRoutes } from './routes/operations.js';
import { registerPrintRoutes } from './routes/print.js';
import { registerProcedureAdmin } from './routes/procedureAdmin.js';
import { registerResidentApi } from './routes/residents.js';
import { registerRpaRoutes } from './routes/rpa.js';
import { registerSessionRoutes } from './routes/session.js';
import { registerStatsRoutes } from './routes/stats.js';
import { registerSupportMeasureRoutes } from './routes/supportMeasures.js';
import { OpenApiDocumentSchema } from './schemas/openapi.js';
import { SystemHealthSchema } from './schemas/health.js';
import { NAV } from './nav.js';
import { RESIDENT_COOKIE, SESSION_COOKIE } from './sessionCookie.js';
import { screenOf } from '../residentScreen/screens.js';
import { registerStandbyRoutes, standbyMiddleware } from '../standby/routes.js';

export type { AppDeps, RouteInfo } from './kit.js';
export { undeclaredRoutes } from './kit.js';

const STATIC_FILES: Record<string, { file: URL; type: string }> = {
  '/static/base.css': { file: new URL('../../static/base.css', import.meta.url), type: 'text/css; charset=utf-8' },
  '/static/counter.js': { file: new URL('../../static/counter.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
  '/static/card.js': { file: new URL('../../static/card.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
  '/static/resident.js': { file: new URL('../../static/resident.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
  '/static/resident.css': { file: new URL('../../static/resident.css', import.meta.url), type: 'text/css; charset=utf-8' },
  '/static/resident-panel.js': { file: new URL('../../static/resident-panel.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
  // signature_pad (MIT): the resident screen's signature canvas; its UMD build, from the installed package.
  '/static/signature_pad.js': {
    file: pathToFileURL(createRequire(import.meta.url).resolve('signature_pad')),
    type: 'text/javascript; charset=utf-8',
  },
  // The resident's pre-entry page (publishable as it is) and the counter's QR reader (views/preEntry.ts).
  ...PRE_ENTRY_STATIC_FILES,
  '/static/staff-import.js': { file: new URL('../../static/staff-import.js', import.meta.url), type: 'text/javascript; charset=utf-8' },
};

/**
 * The Koa application: error handling, body parsing, the session or machine token, security
 * headers, then the routes of every module, each declared through the route kit (kit.ts).
 */
export function createApp(deps: AppDeps): { app: Koa; router: Router; routes: RouteInfo[] } {
  const app = new Koa();
  app.proxy = false;
  const router = new Router();
  const routes: RouteInfo[] = [];

  const chromeOf = (ctx: { state: Koa.DefaultState }): PageChrome => {
    const s = ctx.state.session as StaffSession | undefined;
    if (!s || s.kind !== 'staff') return {};
    const counter = deps.config.counters.find((c) => c.id === s.counterId);
    return {
      banners: staffBanners({
        power: ctx.state.power as PowerStatus | undefined,
        disks: deps.disks?.current(),
        permissions: s.permissions,
        notice: deps.banner ?? null,
      }),
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
  const kit = createRouteKit({ ...deps, cardRelay: deps.cardRelay ?? new CardRelay() }, router, routes, chromeOf);

  app.use(async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      // Server-side time, for the search benchmark and the browser's network panel.
      ctx.set('Server-Timing', `app;dur=${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(2)}`);
    }
  });
  app.use(errorHandler(deps.logger, chromeOf));
  // Bodies are small (the largest form is a notice with its members); the limits keep 50 parsed
  // bodies at once well inside the 192 MB heap. Over them: 413 (input.tooLarge) before parsing.
  app.use(
    bodyParser({
      enableTypes: ['form', 'json'],
      formLimit: '64kb',
      jsonLimit: '256kb',
      // A body that claims a compression it does not have: zlib's errors start with Z_, Brotli's
      // with ERR__ (`Content-Encoding: br` on plain JSON was a 500). Both are the sender's fault.
      // Whatever went wrong, the rest of the body is drained (rawBody.ts) so the connection stays usable.
      onError: (e: Error & { code?: unknown }, ctx) => {
        void discardRest(ctx.req);
        if (typeof e.code === 'string' && /^(Z_|ERR__|ERR_BROTLI)/.test(e.code)) throw new DomainError('input.badEncoding');
        throw e;
      },
    }),
  );
  app.use(async (ctx, next) => {
    const authorization = ctx.get('authorization');
    if (authorization) {
      // Bearer tokens are for machines and the JSON API only; a bad one is refused, never ignored.
      const m = /^Bearer\s+(\S+)$/i.exec(authorization);
      const client = m && ctx.path.startsWith('/api/') ? await resumeApiClient(deps.knex, m[1]!, ctx.ip) : null;
      if (!client) {
        const refused = new DomainError('auth.badToken');
        const target = personalTargetOf(ctx.path);
        if (target) await auditRefusal(deps.knex, ctx, target, refused);
        throw refused;
      }
      ctx.state.session = client;
    } else {
      ctx.state.session = (await resumeSession(deps.knex, ctx.cookies.get(SESSION_COOKIE), deps.config.auth)) ?? undefined;
      if (ctx.state.session) ctx.state.power = await powerStatus(deps.knex);
      // A resident screen's device cookie (sent only under /resident): the kit's 'residentScreen' access.
      if (ctx.path === '/resident' || ctx.path.startsWith('/resident/'))
        ctx.state.residentScreen = (await screenOf(deps.knex, ctx.cookies.get(RESIDENT_COOKIE))) ?? undefined;
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

  // The standby pairing's routes (status, and refusing shipments: this is the primary), HMAC-signed.
  if (deps.standby) {
    app.use(standbyMiddleware(deps.standby));
    registerStandbyRoutes(kit, deps.standby);
  }

  registerSessionRoutes(kit);

  kit.route(
    {
      method: 'GET',
      path: '/healthz',
      access: 'public',
      tag: '稼働状況',
      summary: '稼働状況 (監視・systemd 用)',
      description:
        'データベースに接続できないときだけ 503 を返します。連携ファイル (保留中の全件ファイルを含む)・バックアップ・RPA・UPS・未確認の支援措置の終了・ディスク (RAID・SMART) は warnings に入り、説明は messages に入ります。',
      response: json(SystemHealthSchema, { description: '稼働状況 (503 のときも同じ形)' }),
    },
    async (ctx) => {
      const health = await systemHealth({
        knex: deps.knex,
        version: deps.version,
        config: deps.config,
        ...(deps.dataDir !== undefined ? { dataDir: deps.dataDir } : {}),
        disks: deps.disks?.current() ?? null,
        nodeId: deps.nodeId?.() ?? null,
        ...(deps.standby ? { standby: deps.standby } : {}),
      });
      ctx.status = health.status === 'ok' ? 200 : 503;
      return health;
    },
  );

  registerHomeRoutes(kit);
  registerLinkageRoutes(kit);
  kit.route(
    {
      method: 'GET',
      path: '/api/v1/openapi.json',
      access: 'authenticated',
      tag: 'API 仕様',
      summary: 'この API の OpenAPI 3.1 文書',
      description: 'ルートの宣言 (権限・入力・応答のスキーマ) から生成します。',
      response: json(OpenApiDocumentSchema),
    },
    async () => openApiDocument(routes, deps.version),
  );
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
  registerCardReaderRoutes(kit);
  registerResidentScreenRoutes(kit);
  registerNoticeRoutes(kit, procedures);
  registerPrintRoutes(kit, procedures);
  registerCertificateRoutes(kit);
  registerRpaRoutes(kit);
  registerProcedureAdmin(kit, store);
  registerAddressApi(kit);
  registerAdminRoutes(kit);
  registerAuditRoutes(kit);
  registerStatsRoutes(kit);
  registerSupportMeasureRoutes(kit);
  registerOperationsRoutes(kit);
  registerMaintenanceRoutes(kit);

  // The pre-entry page's texts (config/languages → strings.js), read on each request so that an
  // edit applies without a restart; `madoguchi pre-entry publish` writes the same file.
  kit.route(
    {
      method: 'GET',
      path: '/static/pre-entry/strings.js',
      access: 'public',
      summary: '事前入力ページの文言 (config/languages から作る)',
      response: file('text/javascript; charset=utf-8'),
    },
    async (ctx) => {
      const script = preEntryStringsScript(languagesForRequest(deps.configDir));
      ctx.type = 'text/javascript; charset=utf-8';
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = script;
    },
  );

  for (const [path, f] of Object.entries(STATIC_FILES)) {
    kit.route({ method: 'GET', path, access: 'public', summary: '画面の CSS・スクリプト', response: file(f.type) }, async (ctx) => {
      ctx.type = f.type;
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = await readFile(f.file);
    });
  }

  app.use(router.routes());
  app.use(router.allowedMethods());
  return { app, router, routes };
}
