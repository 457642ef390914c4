import type { Static, TSchema } from '@sinclair/typebox';
import type { Router, RouterMiddleware } from '@koa/router';
import type { Knex } from 'knex';
import { appendAudit, auditCounted } from '../audit/trail.js';
import { actorOf, type StaffSession } from '../auth/sessions.js';
import type { AuditActor } from '../auth/staffRepo.js';
import type { AppConfig } from '../config/appConfig.js';
import { DomainError } from '../errors/domainError.js';
import type { Logger } from '../ops/logger.js';
import type { DiskHealth } from '../ops/diskHealth.js';
import type { ProcedureDefinition } from '../domain/procedureTypes.js';
import type { ProcedureStore } from '../procedures/config.js';
import type { LinkageView } from '../linkage/status.js';
import type { CardRelay } from '../cards/relay.js';
import type { StandbyNode } from '../standby/node.js';
import { page, type PageChrome, type SafeHtml } from './html.js';
import { personalTargetOf, type PersonalTarget } from './personalData.js';
import { inputCheck, responseCheck } from './validation.js';

/**
 * The route registry: the one way to add a route. A declaration carries its access (public, any
 * member of staff, or one permission), its input schemas (params, query, body), and what it
 * answers (JSON with a schema, a page, a redirect, a file). One middleware checks the access, the
 * CSRF token and the input; the handler gets a typed `ctx.input`. The registry is what the
 * permission tests, the OpenAPI document (`openapi.ts`) and the contract tests read, so a route
 * cannot exist without its contract.
 */

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
  /** The disk monitor's last collection (ops/diskMonitor.ts); absent: disks are not monitored. */
  disks?: { current(): DiskHealth };
  /** The standby pairing (primary side), when `<data-dir>/standby/state.json` exists: the receiving routes and the shipper. */
  standby?: StandbyNode;
  /** A line on every staff page, before the power banner (the verification environment). */
  banner?: string;
  /** The relay between the counters' card reader helpers and the staff pages (one per process; made by createApp when absent). */
  cardRelay?: CardRelay;
  /** This node's id in the lease table (ops/leases.ts), once known (after the listener started). */
  nodeId?: () => string | null;
  /**
   * Check every JSON response against its declared schema: `throw` answers 500 on a mismatch (the
   * tests), `log` writes a warning. Default: `MADOGUCHI_RESPONSE_CHECK` or off.
   */
  responseCheck?: 'throw' | 'log' | 'off';
}

/** The procedure catalog as the routes need it (the store reloads edited files without a restart). */
export interface ProcedureSource {
  definitions(on: string): ProcedureDefinition[];
  byId(id: string): ProcedureDefinition | undefined;
}

/**
 * Who may use a route: anyone, any logged-in member of staff, one holding a permission, or a
 * resident screen paired to a counter (its device cookie, resolved into `ctx.state.residentScreen`;
 * no staff session reaches these routes' data, and no screen reaches a staff route), or the
 * standby peer machine (a request signed with the shared secret, checked by standby/routes.ts).
 */
export type RouteAccess = 'public' | 'authenticated' | 'residentScreen' | 'standbyPeer' | { permission: string };

/** What a route answers. */
export type RouteResponse =
  | { kind: 'json'; schema: TSchema; status?: 200 | 201 | 202; description?: string }
  /** A page; `redirects` when it answers some requests with a redirect instead (POST forms). */
  | { kind: 'html'; redirects?: boolean }
  | { kind: 'redirect' }
  | { kind: 'file'; types: readonly string[]; description?: string }
  | { kind: 'empty'; status: 204 };

export const json = <S extends TSchema>(schema: S, extra: { status?: 200 | 201 | 202; description?: string } = {}) =>
  ({ kind: 'json', schema, ...extra }) as const;
export const htmlPage = { kind: 'html' } as const;
export const htmlOrRedirect = { kind: 'html', redirects: true } as const;
export const redirect = { kind: 'redirect' } as const;
export const file = (...types: string[]) => ({ kind: 'file', types }) as const;
export const noContent = { kind: 'empty', status: 204 } as const;

export interface RouteSpec<P extends TSchema | undefined, Q extends TSchema | undefined, B extends TSchema | undefined> {
  method: 'GET' | 'POST';
  path: string;
  access: RouteAccess;
  /** One line in Japanese: what the route does (the OpenAPI summary). */
  summary: string;
  description?: string;
  /** OpenAPI tag (JSON API routes). */
  tag?: string;
  params?: P;
  query?: Q;
  body?: B;
  response: RouteResponse;
  /** Reachable while the staff member still has to change the password (logout, the change itself). */
  whileMustChangePassword?: boolean;
  /** Error codes of the catalog this route may answer with, besides the common ones (for the document). */
  errors?: readonly string[];
}

type Infer<S> = S extends TSchema ? Static<S> : Record<string, never>;
export interface RouteInput<P, Q, B> {
  params: Infer<P>;
  query: Infer<Q>;
  body: Infer<B>;
}

type KoaCtx = Parameters<RouterMiddleware>[0];
export type RouteContext<P = undefined, Q = undefined, B = undefined> = KoaCtx & { input: RouteInput<P, Q, B> };
/** Any route's context, for helpers that render pages. */
export type Ctx = KoaCtx;

type AnySpec = RouteSpec<TSchema | undefined, TSchema | undefined, TSchema | undefined>;
/** The context a declaration gives its handler: `ctx.input` typed from its schemas. */
export type ContextOf<S extends AnySpec> = RouteContext<S['params'], S['query'], S['body']>;
/** What the handler returns: the JSON body (typed by the response schema), or nothing for pages. */
export type ResultOf<S extends AnySpec> = S['response'] extends { kind: 'json'; schema: infer R extends TSchema } ? Static<R> : unknown;

export interface RouteInfo {
  method: string;
  path: string;
  access: RouteAccess;
  /** Absent only on declarations made outside the kit (test fixtures); the tests refuse them. */
  spec?: AnySpec;
}

/** What a route module gets: the declaring function and the helpers every handler needs. */
export interface RouteKit {
  deps: AppDeps;
  /**
   * Declares a route. For JSON routes the handler returns the body (typed by the response schema);
   * for pages, redirects and files it sets `ctx.body` itself.
   */
  route<const S extends AnySpec>(spec: S, handler: (ctx: ContextOf<S>) => Promise<ResultOf<S>>): void;
  /** Responds with a full page carrying the staff header (name, active role, counter). */
  render(ctx: Ctx, title: string, body: SafeHtml): void;
  chrome(ctx: Ctx): PageChrome;
  session(ctx: Ctx): StaffSession;
  actor(ctx: Ctx): AuditActor;
  form(ctx: Ctx): Record<string, unknown>;
}

/** Thrown for bad input: a 400 with a message for staff. */
export function badRequest(message: string): DomainError {
  return new DomainError('input.invalid', { detail: message });
}

const isJsonRequest = (ctx: Ctx) => Boolean(ctx.is('application/json'));

/** No form or JSON body of ours is nested deeper than this; deeper input is refused before any recursion. */
const MAX_BODY_DEPTH = 16;

/**
 * Refuses a body nested deeper than MAX_BODY_DEPTH (a JSON array of 5,000 brackets used to overflow
 * the stack in the validator). Walks with an explicit stack, so the check itself cannot overflow.
 */
function shallowEnough(body: unknown): unknown {
  const stack: [unknown, number][] = [[body, 0]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH) throw new DomainError('input.tooDeep', { limit: MAX_BODY_DEPTH });
    for (const child of Object.values(v as Record<string, unknown>))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return body;
}

/** What the audit helpers read of a request (a routed or an unrouted Koa context). */
type AuditableCtx = Pick<KoaCtx, 'method' | 'path' | 'ip' | 'state' | 'status'> & { params?: Record<string, string>; routerPath?: string };

const targetIdsOf = (ctx: AuditableCtx): string[] =>
  Object.values(ctx.params ?? {})
    .map(String)
    .filter((v) => v.length <= 64);

/** The actor of a request for the audit trail: the staff session or machine client, or the address alone. */
function requestActor(ctx: AuditableCtx): AuditActor {
  const session = ctx.state.session as StaffSession | undefined;
  return session ? actorOf(session, ctx.ip) : { staffId: null, staffLogin: null, role: null, counterId: null, clientAddress: ctx.ip };
}

export async function auditRefusal(knex: Knex, ctx: AuditableCtx, target: PersonalTarget | null, e: DomainError): Promise<void> {
  await knex.transaction((trx) =>
    appendAudit(trx, {
      ...requestActor(ctx),
      action: 'access.denied',
      targetKind: target,
      targetIds: targetIdsOf(ctx),
      result: 'denied',
      detail: { method: ctx.method, route: ctx.routerPath ?? ctx.path, reason: e.code },
    }),
  );
}

async function auditAccess(knex: Knex, ctx: AuditableCtx, target: PersonalTarget): Promise<void> {
  await knex.transaction((trx) =>
    appendAudit(trx, {
      ...requestActor(ctx),
      action: ctx.method === 'GET' ? `${target}.view` : `${target}.change`,
      targetKind: target,
      targetIds: targetIdsOf(ctx),
      result: 'success',
      detail: { method: ctx.method, route: ctx.routerPath ?? ctx.path, status: ctx.status },
    }),
  );
}

/**
 * Builds the kit over a router. `routes` collects the declarations; `chromeOf` draws the staff
 * header of pages.
 */
export function createRouteKit(deps: AppDeps, router: Router, routes: RouteInfo[], chromeOf: (ctx: Ctx) => PageChrome): RouteKit {
  const mode = deps.responseCheck ?? (process.env.MADOGUCHI_RESPONSE_CHECK as AppDeps['responseCheck'] | undefined) ?? 'off';

  /** Access, password-change and CSRF checks, shared by both declaration forms. */
  const guard = (method: string, access: RouteAccess, whileMustChangePassword: boolean) => (ctx: Ctx) => {
    const session = ctx.state.session as StaffSession | undefined;
    if (access === 'residentScreen') {
      if (!ctx.state.residentScreen) throw new DomainError('residentScreen.notPaired');
      return 'ok' as const;
    }
    if (access === 'standbyPeer') {
      if (ctx.state.standbyPeer !== true) throw new DomainError('standby.unsigned');
      return 'ok' as const;
    }
    if (access !== 'public') {
      if (!session) throw new DomainError('auth.loginRequired');
      if (typeof access === 'object' && !session.permissions.has(access.permission)) throw new DomainError('auth.forbidden');
      if (session.mustChangePassword && !whileMustChangePassword) {
        if (method === 'GET' && !ctx.path.startsWith('/api/')) return 'redirect-password' as const;
        throw new DomainError('auth.mustChangePassword');
      }
    }
    // State-changing requests made on behalf of a browser session carry its CSRF token (form
    // field or header). Public forms (the login) act for no session; SameSite=Strict guards
    // them. Machine clients send a bearer token and no cookies, so there is nothing to forge.
    if (method === 'POST' && session?.kind === 'staff' && access !== 'public') {
      const body = (ctx.request as { body?: Record<string, unknown> }).body ?? {};
      const sent = ctx.get('x-csrf-token') || (typeof body._csrf === 'string' ? body._csrf : '');
      if (sent !== session.csrfToken) throw new DomainError('auth.csrf');
    }
    return 'ok' as const;
  };

  const mount = (method: 'GET' | 'POST', path: string, mw: RouterMiddleware) => {
    if (method === 'GET') router.get(path, mw);
    else router.post(path, mw);
  };

  const kit: RouteKit = {
    deps,
    route<const S extends AnySpec>(spec: S, handler: (ctx: ContextOf<S>) => Promise<ResultOf<S>>) {
      routes.push({ method: spec.method, path: spec.path, access: spec.access, spec });
      const check = guard(spec.method, spec.access, spec.whileMustChangePassword ?? false);
      const params = spec.params ? inputCheck(spec.params, 'params', false) : null;
      const query = spec.query ? inputCheck(spec.query, 'query', false) : null;
      const formBody = spec.body ? inputCheck(spec.body, 'body', false) : null;
      const jsonBody = spec.body ? inputCheck(spec.body, 'body', true) : null;
      const response = spec.response.kind === 'json' ? responseCheck(spec.response.schema) : null;
      const personal = personalTargetOf(spec.path);

      /** Input checks, the handler, and (JSON) the answer with its schema check. */
      const run = async (ctx: KoaCtx): Promise<void> => {
        const raw = (ctx.request as { body?: unknown }).body ?? {};
        const input = {
          params: params ? params({ ...ctx.params }) : {},
          query: query ? query({ ...ctx.query }) : {},
          body: spec.body ? (isJsonRequest(ctx) ? jsonBody! : formBody!)(shallowEnough(raw)) : {},
        };
        const c = ctx as ContextOf<S>;
        c.input = input as ContextOf<S>['input'];
        const result = await handler(c);
        if (spec.response.kind !== 'json') return;
        // A handler may set another status itself (the health check answers 503 with the same body).
        const status = ctx.status === 404 ? (spec.response.status ?? 200) : ctx.status;
        ctx.body = result;
        ctx.status = status;
        if (response && mode !== 'off') {
          const problems = response(result);
          if (problems.length) {
            deps.logger.warn('response does not match its schema', {
              method: spec.method,
              path: spec.path,
              problems: problems.slice(0, 5),
            });
            if (mode === 'throw')
              throw new Error(`response of ${spec.method} ${spec.path} does not match its schema: ${problems.join('; ')}`);
          }
        }
      };

      /**
       * With a standby: every change the server acknowledges (a POST answered below 400) is
       * answered only once the standby holds it (a notice accepted, an RPA job claimed or
       * reported done, a certificate request), so a failover loses nothing a clerk or an agent
       * was told was done. Decided here for every route, so a new route cannot forget it. At
       * most standby.syncTimeoutMs: after that the answer goes and shipping is marked degraded.
       */
      const shipped = async (ctx: KoaCtx): Promise<void> => {
        const shipper = deps.standby?.shipper;
        if (!shipper || spec.method !== 'POST' || ctx.status >= 400) return;
        if (!(await shipper.waitShipped()))
          deps.logger.warn('change answered without the standby acknowledging it', { method: spec.method, path: spec.path });
      };

      mount(spec.method, spec.path, async (ctx) => {
        let checked: 'ok' | 'redirect-password';
        try {
          checked = check(ctx);
        } catch (e) {
          // Every refusal on a route with personal data is a record: who tried what, and why not. So is a
          // logged-in user's refused change anywhere (confirming a held linkage file, an admin action);
          // an anonymous status poll refused with 401 is not, or monitoring would flood the trail.
          const refusedChange = spec.method !== 'GET' && e instanceof DomainError && e.status === 403;
          if ((personal || refusedChange) && e instanceof DomainError) await auditRefusal(deps.knex, ctx, personal, e);
          throw e;
        }
        if (checked === 'redirect-password') return ctx.redirect('/password');
        if (!personal) {
          await run(ctx);
          return shipped(ctx);
        }
        // A handler that served personal data without writing a record of it gets one here, so no
        // read or change of personal data goes unaudited, whatever a new handler forgets. A refusal
        // the handler decided itself (a procedure's own permission, a role that may not print a
        // visit's forms) is recorded like one at the door, unless the handler recorded it.
        const store = { appended: 0 };
        try {
          await auditCounted(store, () => run(ctx));
        } catch (e) {
          if (e instanceof DomainError && e.status === 403 && store.appended === 0) await auditRefusal(deps.knex, ctx, personal, e);
          throw e;
        }
        if (store.appended === 0 && ctx.status < 400) await auditAccess(deps.knex, ctx, personal);
        await shipped(ctx);
      });
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
  return kit;
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
