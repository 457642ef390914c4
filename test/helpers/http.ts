import type { LoggedIn } from './login.js';

/** A form POST on behalf of a logged-in member of staff, with the CSRF token. */
export function postForm(url: string, s: LoggedIn | null, fields: Record<string, string | string[]>): Promise<Response> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
  if (s) body.append('_csrf', s.csrf);
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(s ? { cookie: s.cookie } : {}) },
    body,
  });
}

export function getAs(url: string, s: LoggedIn, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { redirect: 'manual', headers: { cookie: s.cookie, ...headers } });
}
