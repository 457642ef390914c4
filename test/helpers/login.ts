import type { Knex } from 'knex';
import { randomPassword } from '../../server/src/auth/passwords.js';
import { createStaff } from '../../server/src/auth/staffRepo.js';

export interface LoggedIn {
  cookie: string;
  csrf: string;
  staffId: number;
}

let n = 0;

/** Creates a member of staff in the given groups and logs in through POST /login. */
export async function loginAs(baseUrl: string, knex: Knex, groups: string[]): Promise<LoggedIn> {
  const loginId = `t${++n}${Date.now() % 100000}`;
  const password = randomPassword();
  const staffId = await createStaff(knex, { loginId, displayName: 'テスト 職員', section: '住民課', password, groups, mustChangePassword: false });
  const res = await fetch(`${baseUrl}login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ loginId, password, counterId: 'shimin-1' }) });
  if (res.status !== 303) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
  const session = (await knex('staff_sessions').where({ staff_id: staffId }).orderBy('created_at', 'desc').first('csrf_token')) as { csrf_token: string };
  return { cookie, csrf: session.csrf_token, staffId };
}
