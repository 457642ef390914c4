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

/** Logs in through POST /login with known credentials; throws unless the login succeeds. */
export async function loginWith(baseUrl: string, knex: Knex, loginId: string, password: string, counterId = 'shimin-1'): Promise<LoggedIn> {
  const res = await fetch(`${baseUrl}login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ loginId, password, counterId }),
  });
  if (res.status !== 303) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ');
  const staff = (await knex('staff').where({ login_id: loginId }).first('id')) as { id: number };
  const session = (await knex('staff_sessions').where({ staff_id: staff.id }).orderBy('created_at', 'desc').first('csrf_token')) as {
    csrf_token: string;
  };
  return { cookie, csrf: session.csrf_token, staffId: Number(staff.id), location: res.headers.get('location') ?? '' };
}

/** Creates a member of staff in the given groups and logs in through POST /login. */
export async function loginAs(baseUrl: string, knex: Knex, groups: string[]): Promise<LoggedIn> {
  const loginId = `t${++n}${Date.now() % 100000}`;
  const password = randomPassword();
  await createStaff(knex, { loginId, displayName: 'テスト 職員', section: '住民課', password, groups, mustChangePassword: false });
  return loginWith(baseUrl, knex, loginId, password);
}
