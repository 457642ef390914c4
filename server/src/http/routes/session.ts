import { Type as T } from '@sinclair/typebox';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { dummyPasswordHash } from '../../auth/passwords.js';
import { auditLoginRefusal, login, logout, switchRole } from '../../auth/sessions.js';
import { changePassword } from '../../auth/staffRepo.js';
import { badRequest, htmlOrRedirect, htmlPage, redirect, type Ctx, type RouteKit } from '../kit.js';
import { CsrfField } from '../schemas/common.js';
import { SESSION_COOKIE } from '../sessionCookie.js';
import { DomainError } from '../../errors/domainError.js';
import { loginPage, passwordForm, rolePage } from '../views/login.js';

const Field = (title: string, maxLength = 200) => T.Optional(T.String({ maxLength, title }));

/**
 * The login form's CSRF token, before there is a session: a random double-submit token, in an
 * HttpOnly, SameSite=Strict cookie limited to /login and in the form's hidden `_csrf` field.
 * POST /login needs both, equal. A page of another site can neither read the cookie nor make the
 * browser send it, so it cannot log a counter's browser in (to its own account, say).
 */
export const LOGIN_CSRF_COOKIE = 'madoguchi_login_csrf';
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const LOGIN_CSRF_REFUSED = 'ログイン画面の有効期限が切れたか、別の画面から送られました。もう一度ログインしてください';

/** The token of the browser's login cookie, or a new one (set as the cookie) when it has none. */
function loginCsrfToken(ctx: Ctx, fresh = false): string {
  const had = ctx.cookies.get(LOGIN_CSRF_COOKIE);
  if (!fresh && had && TOKEN.test(had)) return had;
  const token = randomBytes(32).toString('base64url');
  ctx.cookies.set(LOGIN_CSRF_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: '/login', overwrite: true });
  return token;
}

function loginCsrfOk(ctx: Ctx, sent: string | undefined): boolean {
  const had = ctx.cookies.get(LOGIN_CSRF_COOKIE);
  if (!had || !sent || !TOKEN.test(had) || !TOKEN.test(sent)) return false;
  return timingSafeEqual(Buffer.from(had), Buffer.from(sent));
}

/** Login, logout, the forced or voluntary password change, and switching role and counter. */
export function registerSessionRoutes(kit: RouteKit): void {
  const { route, deps, render, session, actor } = kit;
  const config = deps.config;
  const policy = config.auth.password;
  // Made now, at start-up, so that even the first login of an unknown id costs one scrypt only.
  void dummyPasswordHash();
  const staffOnly = (ctx: Ctx) => {
    const s = session(ctx);
    if (s.kind !== 'staff' || s.staffId === null) throw new DomainError('auth.staffOnly');
    return { ...s, staffId: s.staffId };
  };

  route({ method: 'GET', path: '/login', access: 'public', summary: 'ログイン画面', response: htmlPage }, async (ctx) => {
    ctx.type = 'html';
    ctx.body = loginPage(config, { csrf: loginCsrfToken(ctx) });
  });

  route(
    {
      method: 'POST',
      path: '/login',
      access: 'public',
      summary: 'ログインする',
      body: T.Object({
        _csrf: CsrfField,
        loginId: Field('ログイン ID', 100),
        password: Field('パスワード', 256),
        counterId: Field('窓口', 64),
      }),
      response: htmlOrRedirect,
    },
    async (ctx) => {
      const body = ctx.input.body;
      const loginId = (body.loginId ?? '').trim();
      const password = body.password ?? '';
      const counterId = config.counters.some((c) => c.id === body.counterId) ? (body.counterId ?? null) : null;
      const again = (status: number, error: string, csrf = loginCsrfToken(ctx)) => {
        ctx.status = status;
        ctx.type = 'html';
        ctx.body = loginPage(config, { error, loginId, csrf });
      };
      if (!loginCsrfOk(ctx, body._csrf)) {
        await auditLoginRefusal(deps.knex, loginId, { clientAddress: ctx.ip, counterId }, 'csrf');
        // A new token, so that the form shown with the message works.
        return again(403, LOGIN_CSRF_REFUSED, loginCsrfToken(ctx, true));
      }
      if (!loginId || !password) return again(400, 'ログイン ID とパスワードを入力してください');
      const r = await login(deps.knex, loginId, password, { clientAddress: ctx.ip, counterId }, config.auth);
      if (!r.ok) {
        if ('retryAfterSeconds' in r) {
          ctx.set('Retry-After', String(r.retryAfterSeconds));
          throw new DomainError('auth.tooManyAttempts');
        }
        return again(401, r.reason);
      }
      ctx.cookies.set(SESSION_COOKIE, r.token, { httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: '/', overwrite: true });
      ctx.cookies.set(LOGIN_CSRF_COOKIE, '', {
        httpOnly: true,
        sameSite: 'strict',
        secure: ctx.secure,
        path: '/login',
        expires: new Date(0),
      });
      ctx.status = 303;
      // First the forced password change, then the choice of role when there is one to make.
      ctx.redirect(r.session.mustChangePassword ? '/password' : r.session.groups.length > 1 ? '/role' : '/');
    },
  );

  route(
    {
      method: 'POST',
      path: '/logout',
      access: 'authenticated',
      summary: 'ログアウトする',
      body: T.Object({ _csrf: CsrfField }),
      response: redirect,
      whileMustChangePassword: true,
    },
    async (ctx) => {
      await logout(deps.knex, session(ctx), ctx.ip);
      ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: '/', expires: new Date(0) });
      ctx.status = 303;
      ctx.redirect('/login');
    },
  );

  route(
    {
      method: 'GET',
      path: '/password',
      access: 'authenticated',
      summary: 'パスワードの変更画面',
      response: htmlPage,
      whileMustChangePassword: true,
    },
    async (ctx) => {
      const s = staffOnly(ctx);
      render(ctx, 'パスワードの変更', passwordForm(policy, s.csrfToken ?? '', s.mustChangePassword));
    },
  );

  route(
    {
      method: 'POST',
      path: '/password',
      access: 'authenticated',
      summary: 'パスワードを変更する',
      body: T.Object({
        _csrf: CsrfField,
        current: Field('現在のパスワード', 256),
        next: Field('新しいパスワード', 256),
        confirm: Field('新しいパスワード (確認)', 256),
      }),
      response: htmlOrRedirect,
      whileMustChangePassword: true,
    },
    async (ctx) => {
      const s = staffOnly(ctx);
      const { current = '', next = '', confirm = '' } = ctx.input.body;
      const result =
        next !== confirm
          ? { ok: false as const, problems: ['新しいパスワードと確認用の入力が一致しません'] }
          : await changePassword(deps.knex, s.staffId, current, next, policy, actor(ctx), s.id);
      if (!result.ok) {
        ctx.status = 400;
        render(ctx, 'パスワードの変更', passwordForm(policy, s.csrfToken ?? '', s.mustChangePassword, result.problems));
        return;
      }
      // Every other session of theirs has ended; this one goes on under a new token.
      if (result.token)
        ctx.cookies.set(SESSION_COOKIE, result.token, {
          httpOnly: true,
          sameSite: 'strict',
          secure: ctx.secure,
          path: '/',
          overwrite: true,
        });
      ctx.status = 303;
      ctx.redirect(s.groups.length > 1 ? '/role' : '/');
    },
  );

  route({ method: 'GET', path: '/role', access: 'authenticated', summary: '役割と窓口の選択画面', response: htmlPage }, async (ctx) => {
    const s = staffOnly(ctx);
    render(ctx, '役割と窓口の選択', rolePage(config, s));
  });

  route(
    {
      method: 'POST',
      path: '/role',
      access: 'authenticated',
      summary: '役割と窓口を切り替える',
      body: T.Object({ _csrf: CsrfField, groupCode: Field('役割', 64), counterId: Field('窓口', 64) }),
      response: redirect,
    },
    async (ctx) => {
      const s = session(ctx);
      const { groupCode = '', counterId: chosen } = ctx.input.body;
      const counterId = config.counters.some((c) => c.id === chosen) ? (chosen ?? null) : s.counterId;
      if (!(await switchRole(deps.knex, s, groupCode, counterId, ctx.ip)))
        throw badRequest('選んだ役割は使えません (所属していないグループです)');
      ctx.status = 303;
      ctx.redirect('/');
    },
  );
}
