import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { appendAudit } from '../audit/trail.js';
import { dbDate } from '../db/values.js';
import { todayInJapan } from '../domain/dates.js';
import { verifyPassword } from './passwords.js';

export interface StaffSession {
  id: string;
  staffId: number;
  loginId: string;
  displayName: string;
  groupCode: string | null;
  groupName: string | null;
  counterId: string | null;
  csrfToken: string;
  permissions: ReadonlySet<string>;
}

export interface LoginContext {
  clientAddress: string | null;
  counterId?: string | null;
  now?: Date;
}

export type LoginResult = { ok: true; token: string; session: StaffSession; lastLoginAt: Date | null } | { ok: false; reason: string };

const tokenId = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The failure message never says whether the login id exists. */
const BAD_CREDENTIALS = 'ログイン ID またはパスワードが違います';

/**
 * Checks a login: account enabled, inside its validity period, not locked, password right.
 * Failures count towards a lockout; every attempt is audited in the same transaction.
 */
export async function login(knex: Knex, loginId: string, password: string, c: LoginContext, lockoutAfter: number): Promise<LoginResult> {
  const now = c.now ?? new Date();
  const today = todayInJapan(now);
  const staff = (await knex('staff').where({ login_id: loginId }).first()) as Record<string, unknown> | undefined;
  const passwordOk = staff ? await verifyPassword(password, String(staff.password_hash)) : false;
  return knex.transaction(async (trx) => {
    const audit = (result: 'success' | 'failure', detail: Record<string, unknown>) =>
      appendAudit(trx, { staffId: staff ? Number(staff.id) : null, staffLogin: loginId.slice(0, 64), clientAddress: c.clientAddress, counterId: c.counterId ?? null, action: result === 'success' ? 'auth.login' : 'auth.loginFailure', targetKind: 'staff', targetIds: staff ? [String(staff.id)] : [], result, detail }, now);
    if (!staff) {
      await audit('failure', { reason: 'unknownLogin' });
      return { ok: false, reason: BAD_CREDENTIALS };
    }
    const id = Number(staff.id);
    if (staff.disabled) {
      await audit('failure', { reason: 'disabled' });
      return { ok: false, reason: 'このアカウントは無効です。管理者に連絡してください' };
    }
    if ((staff.valid_from && today < String(staff.valid_from)) || (staff.valid_to && today > String(staff.valid_to))) {
      await audit('failure', { reason: 'outsideValidity' });
      return { ok: false, reason: 'このアカウントの有効期間外です。管理者に連絡してください' };
    }
    if (staff.locked_at) {
      await audit('failure', { reason: 'locked' });
      return { ok: false, reason: 'ログインの失敗が続いたためロックされています。管理者にロック解除を依頼してください' };
    }
    if (!passwordOk) {
      const failures = Number(staff.failed_logins) + 1;
      await trx('staff').where({ id }).update({ failed_logins: failures, ...(failures >= lockoutAfter ? { locked_at: now } : {}) });
      await audit('failure', { reason: 'badPassword', failures, locked: failures >= lockoutAfter });
      return { ok: false, reason: failures >= lockoutAfter ? 'ログインの失敗が続いたためロックしました。管理者にロック解除を依頼してください' : BAD_CREDENTIALS };
    }
    const group = (await trx('staff_group_members').join('staff_groups', 'staff_groups.id', 'staff_group_members.group_id').where({ staff_id: id }).orderBy('staff_groups.id').first('staff_groups.code', 'staff_groups.name')) as { code: string; name: string } | undefined;
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    await trx('staff_sessions').insert({ id: tokenId(token), staff_id: id, csrf_token: csrfToken, group_code: group?.code ?? null, counter_id: c.counterId ?? null, client_address: c.clientAddress, created_at: now, last_seen_at: now });
    await trx('staff').where({ id }).update({ failed_logins: 0, last_login_at: now });
    await audit('success', { group: group?.code ?? null });
    const session = await sessionFor(trx, tokenId(token));
    return { ok: true, token, session: session!, lastLoginAt: dbDate(staff.last_login_at) };
  });
}

async function sessionFor(db: Knex, id: string): Promise<StaffSession | null> {
  const row = (await db('staff_sessions').join('staff', 'staff.id', 'staff_sessions.staff_id').leftJoin('staff_groups', 'staff_groups.code', 'staff_sessions.group_code').where('staff_sessions.id', id)
    .first('staff_sessions.id', 'staff_sessions.staff_id', 'staff_sessions.csrf_token', 'staff_sessions.group_code', 'staff_sessions.counter_id', 'staff_sessions.last_seen_at', 'staff.login_id', 'staff.display_name', 'staff.disabled', 'staff_groups.id as group_id', 'staff_groups.name as group_name')) as Record<string, unknown> | undefined;
  if (!row || row.disabled) return null;
  const perms = row.group_id === null || row.group_id === undefined ? [] : ((await db('staff_group_permissions').where({ group_id: row.group_id }).pluck('permission')) as string[]);
  return {
    id, staffId: Number(row.staff_id), loginId: String(row.login_id), displayName: String(row.display_name), groupCode: (row.group_code as string | null) ?? null,
    groupName: (row.group_name as string | null) ?? null, counterId: (row.counter_id as string | null) ?? null, csrfToken: String(row.csrf_token), permissions: new Set(perms),
  };
}

/** The session for a cookie token, or null when unknown, idle too long, or the account is disabled. */
export async function resumeSession(knex: Knex, token: string | undefined, idleMinutes: number, now: Date = new Date()): Promise<StaffSession | null> {
  if (!token) return null;
  const id = tokenId(token);
  const row = (await knex('staff_sessions').where({ id }).first('last_seen_at')) as { last_seen_at: unknown } | undefined;
  if (!row) return null;
  const lastSeen = dbDate(row.last_seen_at)!;
  if (now.getTime() - lastSeen.getTime() > idleMinutes * 60_000) {
    await knex('staff_sessions').where({ id }).del();
    return null;
  }
  // Touch at most once a minute: a busy counter should not write on every request.
  if (now.getTime() - lastSeen.getTime() > 60_000) await knex('staff_sessions').where({ id }).update({ last_seen_at: now });
  return sessionFor(knex, id);
}

export async function logout(knex: Knex, session: StaffSession, clientAddress: string | null): Promise<void> {
  await knex.transaction(async (trx) => {
    await trx('staff_sessions').where({ id: session.id }).del();
    await appendAudit(trx, { staffId: session.staffId, staffLogin: session.loginId, role: session.groupCode, counterId: session.counterId, clientAddress, action: 'auth.logout', targetKind: 'staff', targetIds: [String(session.staffId)], result: 'success' });
  });
}
