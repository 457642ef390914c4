import http from 'node:http';
import type { Knex } from 'knex';
import { randomPassword } from '../../server/src/auth/passwords.js';
import { createStaff } from '../../server/src/auth/staffRepo.js';

export interface LoggedIn {
  cookie: string;
  csrf: string;
  staffId: number;
  /** Where the login sent the browser: `/`, `/password` (forced change) or `/role`. */
  location: string;
}

let n = 0;

/** The cookie pairs (`name=value; …`) of a response's Set-Cookie headers. */
const cookiesOf = (res: Response): string =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ');

/**
 * An HTTP request from a chosen local address of the loopback network (`127.0.0.2`, …), so that a
 * test can be several client addresses at once (the server sees it as `ctx.ip`). Without `from`,
 * plain fetch.
 */
export async function requestFrom(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
  from?: string,
): Promise<Response> {
  if (!from) return fetch(url, { ...init, redirect: 'manual' });
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers, localAddress: from }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers))
          for (const x of Array.isArray(v) ? v : v === undefined ? [] : [v]) headers.append(k, x);
        const status = res.statusCode ?? 500;
        resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers }));
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** GET /login as a browser does: the login CSRF cookie and the form's hidden `_csrf` token. */
export async function loginForm(baseUrl: string, from?: string): Promise<{ cookie: string; token: string }> {
  const res = await requestFrom(`${baseUrl}login`, {}, from);
  const html = await res.text();
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (res.status !== 200 || !token) throw new Error(`login form: ${res.status} ${html.slice(0, 200)}`);
  return { cookie: cookiesOf(res), token };
}

/**
 * POST /login as the form does: fetches the form first and sends its CSRF cookie and token (unless
 * `csrf: false`). `from`: the client address to post from (see `requestFrom`).
 */
export async function postLogin(
  baseUrl: string,
  fields: Record<string, string>,
  opts: { from?: string; csrf?: boolean; cookie?: string } = {},
): Promise<Response> {
  const form = opts.csrf === false ? { cookie: '', token: '' } : await loginForm(baseUrl, opts.from);
  const body = new URLSearchParams({ counterId: 'shimin-1', ...fields, ...(form.token ? { _csrf: form.token } : {}) });
  const cookie = [form.cookie, opts.cookie].filter(Boolean).join('; ');
  return requestFrom(
    `${baseUrl}login`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
      body: body.toString(),
    },
    opts.from,
  );
}

/** Logs in through the login form (GET /login, then POST /login) with known credentials; throws unless the login succeeds. */
export async function loginWith(baseUrl: string, knex: Knex, loginId: string, password: string, counterId = 'shimin-1'): Promise<LoggedIn> {
  const res = await postLogin(baseUrl, { loginId, password, counterId });
  if (res.status !== 303) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .filter((c) => !c.endsWith('='))
    .join('; ');
  const staff = (await knex('staff').where({ login_id: loginId }).first('id')) as { id: number };
  const session = (await knex('staff_sessions').where({ staff_id: staff.id }).orderBy('created_at', 'desc').first('csrf_token')) as {
    csrf_token: string;
  };
  return { cookie, csrf: session.csrf_token, staffId: Number(staff.id), location: res.headers.get('location') ?? '' };
}

/**
 * The session after a password change: the change renews the session it was made in (a new
 * cookie token and CSRF token, in the answer's Set-Cookie), and the old cookie no longer works.
 */
export async function renewedSession(res: Response, knex: Knex, before: LoggedIn): Promise<LoggedIn> {
  const cookie = cookiesOf(res);
  if (!cookie.startsWith('madoguchi_session=')) throw new Error(`no renewed session cookie: ${res.status}`);
  const session = (await knex('staff_sessions').where({ staff_id: before.staffId }).orderBy('created_at', 'desc').first('csrf_token')) as {
    csrf_token: string;
  };
  return { ...before, cookie, csrf: session.csrf_token };
}

/**
 * Fails to log in as `loginId` with a wrong password `times` times in all, spread evenly over the
 * client addresses `from` (the way an account is locked: many failures from several addresses).
 */
export async function failLogins(baseUrl: string, loginId: string, times: number, from: readonly string[]): Promise<Response[]> {
  const out: Response[] = [];
  for (let i = 0; i < times; i++) out.push(await postLogin(baseUrl, { loginId, password: `wrong-${i}` }, { from: from[i % from.length]! }));
  return out;
}

/** Creates a member of staff in the given groups and logs in through POST /login. */
export async function loginAs(baseUrl: string, knex: Knex, groups: string[]): Promise<LoggedIn> {
  const loginId = `t${++n}${Date.now() % 100000}`;
  const password = randomPassword();
  await createStaff(knex, { loginId, displayName: 'テスト 職員', section: '住民課', password, groups, mustChangePassword: false });
  return loginWith(baseUrl, knex, loginId, password);
}
