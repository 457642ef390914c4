import type Koa from 'koa';
import { errorCatalog, type ErrorCode } from '../errors/catalog.js';
import { DomainError, type FieldProblem } from '../errors/domainError.js';
import type { Logger } from '../ops/logger.js';
import type { PageChrome } from './html.js';
import { discardRest } from './rawBody.js';
import { errorPage } from './views/errorPage.js';

/** The JSON shape of every error answer. */
export interface ErrorBody {
  error: { status: number; code: string; message: string; fields?: FieldProblem[] };
}

/** Kana or kanji: a message written for people here. */
const JAPANESE = /[\u3040-\u30ff\u3400-\u9fff]/;

/**
 * Errors of libraries below us (body parser, zlib, Koa) mapped to catalog codes. Their own
 * messages are English and technical, so they are never shown: the catalog's Japanese is.
 */
function classify(e: unknown): { status: number; code: string; message: string; fields: readonly FieldProblem[]; expose: boolean } {
  if (e instanceof DomainError) return { status: e.status, code: e.code, message: e.message, fields: e.fields, expose: e.expose };
  const err = (e ?? {}) as Error & { status?: number; statusCode?: number; expose?: boolean; type?: string; code?: string };
  const status = err.status ?? err.statusCode;
  const fromCatalog = (code: ErrorCode) => ({
    status: errorCatalog[code].status,
    code,
    message: errorCatalog[code].message.replace(/ \(上限 \{limit\}\)/, '').replace(/ \(\{type\}\)/, ''),
    fields: [],
    expose: true,
  });
  // A body that claims a compression it does not have, or is cut short: zlib's errors.
  // (zlib's codes start with Z_, Brotli's with ERR__.)
  if (typeof err.code === 'string' && (err.code.startsWith('Z_') || err.code.startsWith('ERR__'))) return fromCatalog('input.badEncoding');
  if (err.type === 'entity.parse.failed' || err instanceof SyntaxError) return fromCatalog('input.badJson');
  if (err.type === 'entity.too.large' || status === 413) return fromCatalog('input.tooLarge');
  if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported' || status === 415) return fromCatalog('input.badEncoding');
  if (err.type === 'request.size.invalid' || err.type === 'request.aborted') return fromCatalog('input.badEncoding');
  if (status === 404) return fromCatalog('notFound.page');
  if (status === 401) return fromCatalog('auth.loginRequired');
  if (status === 403) return fromCatalog('auth.forbidden');
  // Our own typed errors (text/, printing/, notices/ …) carry a status and a Japanese message made
  // for staff: shown as they are. A library's English text never is.
  if (typeof status === 'number' && status >= 400 && status < 500 && err.expose !== false && JAPANESE.test(err.message ?? ''))
    return { status, code: status === 422 ? 'input.unprocessable' : 'input.invalid', message: err.message, fields: [], expose: true };
  if (typeof status === 'number' && status >= 400 && status < 500) return { ...fromCatalog('input.unreadable'), status };
  return { ...fromCatalog('server.internal'), expose: false };
}

/**
 * The one place errors become answers: JSON for the API (and clients that ask for JSON), the
 * styled error page for browsers. 5xx details go to the log only.
 */
export function errorHandler(logger: Logger, chromeOf: (ctx: { state: Koa.DefaultState }) => PageChrome): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new DomainError('notFound.page');
    } catch (e) {
      // A refused request may still be sending its body (a 50 MB upload refused with 413 at once).
      // The rest is read and thrown away *before* answering: a client that asked for
      // `Connection: close` gets its socket closed right after the answer, and closing a socket
      // with unread data sends a reset that destroys the answer (the client saw EPIPE, not 413).
      await discardRest(ctx.req);
      const c = classify(e);
      const status = c.status >= 400 && c.status < 600 ? c.status : 500;
      const message = status < 500 && c.expose ? c.message : errorCatalog['server.internal'].message;
      if (status >= 500) logger.error('request failed', { method: ctx.method, path: ctx.path, error: e as Error });
      ctx.status = status;
      if (status === 429 && !ctx.response.get('Retry-After')) ctx.set('Retry-After', '60');
      if (ctx.path.startsWith('/api/') || ctx.path === '/healthz' || ctx.accepts('html', 'json') === 'json') {
        const body: ErrorBody = { error: { status, code: status >= 500 ? 'server.internal' : c.code, message } };
        if (c.fields.length && status < 500) body.error.fields = [...c.fields];
        ctx.body = body;
      } else {
        ctx.type = 'html';
        const referer = ctx.get('referer');
        let back: string | undefined;
        try {
          const u = referer ? new URL(referer) : null;
          back = u && u.host === ctx.host && u.pathname !== ctx.path ? u.pathname + u.search : undefined;
        } catch {
          back = undefined;
        }
        ctx.body = errorPage(status, message, {
          chrome: chromeOf(ctx),
          ...(back ? { referer: back } : {}),
          fields: status < 500 ? c.fields : [],
        });
      }
    }
  };
}
