import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { appendAudit } from '../audit/trail.js';
import type { StaffGroupRow, StaffRow, StaffSessionRow } from '../db/tables.generated.js';
import { dbBool, dbDate } from '../db/values.js';
import { todayInJapan } from '../domain/japanTime.js';
import { verifyPassword } from './passwords.js';
import { passwordExpired, type PasswordPolicy } from './passwordPolicy.js';
import type { AuditActor } from './staffRepo.js';

export interface GroupRef {
  code: string;
  name: string;
}

/**
 * Who is making a request: a member of staff with a browser session, or a machine client (an RPA
 * agent) with a bearer token. Permissions and data scopes are those of the active group only.
 */
export interface StaffSession {
  kind: 'staff' | 'client';
  id: string;
  /** null for a machine client. */
  staffId: number | null;
  loginId: string;
  displayName: string;
  groupCode: string | null;
  groupName: string | null;
  counterId: string | null;
  /** null for a machine client: it sends no cookies, so there is nothing to forge. */
  csrfToken: string | null;
  permissions: ReadonlySet<string>;
  /** Entitlement kinds the active group may see. */
  scopes: ReadonlySet<string>;
  /** Every group the member of staff belongs to, for switching. */
  groups: readonly GroupRef[];
  mustChangePassword: boolean;
  previousLoginAt: Date | null;
}

export interface AuthSettings {
  idleMinutes: number;
  lockoutAfter: number;
  password: PasswordPolicy;
}

export interface LoginContext {
  clientAddress: string | null;
  counterId?: string | null;
  now?: Date;
}

export type LoginResult = { ok: true; token: string; session: StaffSession } | { ok: false; reason: string };

export const tokenId = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The audit fields of whoever acts through this session. */
export function actorOf(session: StaffSession, clientAddress: string | null): AuditActor {
  return { staffId: session.staffId, staffLogin: session.loginId, role: session.groupCode, counterId: session.counterId, clientAddress };
}

/** The failure message never says whether the login id exists. */
const BAD_CREDENTIALS = 'ログイン ID またはパスワードが違います';

/**
 * Checks a login: account enabled, inside its validity period, not locked, password right.
 * Failures count towards a lockout; every attempt is audited in the same transaction.
 */
export async function login(knex: Knex, loginId: string, password: string, c: LoginContext, auth: AuthSettings): Promise<LoginResult> {
  const now = c.now ?? new Date();
  const today = todayInJapan(now);
  const staff = await knex('staff').where({ login_id: loginId }).first();
  const passwordOk = staff ? await verifyPassword(password, staff.password_hash) : false;
  return knex.transaction(async (trx) => {
    const audit = (result: 'success' | 'failure', detail: Record<string, unknown>, group: string | null = null) =>
      appendAudit(
        trx,
        {
          staffId: staff?.id ?? null,
          staffLogin: loginId.slice(0, 64),
          role: group,
          clientAddress: c.clientAddress,
          counterId: c.counterId ?? null,
          action: result === 'success' ? 'auth.login' : 'auth.loginFailure',
          targetKind: 'staff',
          targetIds: staff ? [String(staff.id)] : [],
          result,
          detail,
        },
        now,
      );
    if (!staff) {
      await audit('failure', { reason: 'unknownLogin' });
      return { ok: false, reason: BAD_CREDENTIALS };
    }
    const id = staff.id;
    if (dbBool(staff.disabled)) {
      await audit('failure', { reason: 'disabled' });
      return { ok: false, reason: 'このアカウントは無効です。管理者に連絡してください' };
    }
    if ((staff.valid_from && today < staff.valid_from) || (staff.valid_to && today > staff.valid_to)) {
      await audit('failure', { reason: 'outsideValidity' });
      return { ok: false, reason: 'このアカウントの有効期間外です。管理者に連絡してください' };
    }
    if (staff.locked_at) {
      await audit('failure', { reason: 'locked' });
      return { ok: false, reason: 'ログインの失敗が続いたためロックされています。管理者にロック解除を依頼してください' };
    }
    if (!passwordOk) {
      const failures = staff.failed_logins + 1;
      const locked = failures >= auth.lockoutAfter;
      await trx('staff')
        .where({ id })
        .update({ failed_logins: failures, ...(locked ? { locked_at: now } : {}) });
      await audit('failure', { reason: 'badPassword', failures, locked });
      return {
        ok: false,
        reason: locked ? 'ログインの失敗が続いたためロックしました。管理者にロック解除を依頼してください' : BAD_CREDENTIALS,
      };
    }
    const group = await trx('staff_group_members')
      .join('staff_groups', 'staff_groups.id', 'staff_group_members.group_id')
      .where({ staff_id: id })
      .orderBy('staff_groups.id')
      .first<Pick<StaffGroupRow, 'code'> | undefined>('staff_groups.code');
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    await trx('staff_sessions').insert({
      id: tokenId(token),
      staff_id: id,
      csrf_token: csrfToken,
      group_code: group?.code ?? null,
      counter_id: c.counterId ?? null,
      client_address: c.clientAddress,
      created_at: now,
      last_seen_at: now,
      previous_login_at: staff.last_login_at,
    });
    await trx('staff').where({ id }).update({ failed_logins: 0, last_login_at: now });
    await audit('success', {}, group?.code ?? null);
    const session = await sessionFor(trx, tokenId(token), auth.password, now);
    return { ok: true, token, session: session! };
  });
}

async function groupsOf(db: Knex, staffId: number): Promise<GroupRef[]> {
  return db('staff_group_members')
    .join('staff_groups', 'staff_groups.id', 'staff_group_members.group_id')
    .where({ staff_id: staffId })
    .orderBy('staff_groups.id')
    .select<GroupRef[]>('staff_groups.code', 'staff_groups.name');
}

/** Permissions and data scopes of one group. */
export async function groupRights(
  db: Knex,
  groupCode: string | null,
): Promise<{ name: string | null; permissions: Set<string>; scopes: Set<string> }> {
  const g = groupCode ? await db('staff_groups').where({ code: groupCode }).first('id', 'name') : undefined;
  if (!g) return { name: null, permissions: new Set(), scopes: new Set() };
  const [perms, scopes] = await Promise.all([
    db('staff_group_permissions').where({ group_id: g.id }).pluck('permission'),
    db('staff_group_scopes').where({ group_id: g.id }).pluck('entitlement_kind'),
  ]);
  return { name: g.name, permissions: new Set(perms), scopes: new Set(scopes) };
}

type SessionJoin = Pick<StaffSessionRow, 'staff_id' | 'csrf_token' | 'group_code' | 'counter_id' | 'previous_login_at'> &
  Pick<StaffRow, 'login_id' | 'display_name' | 'disabled' | 'must_change_password' | 'password_changed_at'>;

async function sessionFor(db: Knex, id: string, policy: PasswordPolicy, now: Date): Promise<StaffSession | null> {
  const row = await db('staff_sessions')
    .join('staff', 'staff.id', 'staff_sessions.staff_id')
    .where('staff_sessions.id', id)
    .first<SessionJoin | undefined>(
      'staff_sessions.staff_id',
      'staff_sessions.csrf_token',
      'staff_sessions.group_code',
      'staff_sessions.counter_id',
      'staff_sessions.previous_login_at',
      'staff.login_id',
      'staff.display_name',
      'staff.disabled',
      'staff.must_change_password',
      'staff.password_changed_at',
    );
  if (!row || dbBool(row.disabled)) return null;
  const staffId = row.staff_id;
  const groups = await groupsOf(db, staffId);
  // A group taken away by an administrator stops counting at once, even in a running session.
  const groupCode = groups.find((g) => g.code === row.group_code)?.code ?? null;
  const rights = await groupRights(db, groupCode);
  return {
    kind: 'staff',
    id,
    staffId,
    loginId: row.login_id,
    displayName: row.display_name,
    groupCode,
    groupName: rights.name,
    counterId: row.counter_id,
    csrfToken: row.csrf_token,
    permissions: rights.permissions,
    scopes: rights.scopes,
    groups,
    mustChangePassword: dbBool(row.must_change_password) || passwordExpired(dbDate(row.password_changed_at), policy, now),
    previousLoginAt: dbDate(row.previous_login_at),
  };
}

/** The session for a cookie token, or null when unknown, idle too long, or the account is disabled. */
export async function resumeSession(
  knex: Knex,
  token: string | undefined,
  auth: Pick<AuthSettings, 'idleMinutes' | 'password'>,
  now: Date = new Date(),
): Promise<StaffSession | null> {
  if (!token) return null;
  const id = tokenId(token);
  const row = await knex('staff_sessions').where({ id }).first('last_seen_at');
  if (!row) return null;
  const lastSeen = dbDate(row.last_seen_at)!;
  if (now.getTime() - lastSeen.getTime() > auth.idleMinutes * 60_000) {
    await knex('staff_sessions').where({ id }).del();
    return null;
  }
  // Touch at most once a minute: a busy counter should not write on every request.
  if (now.getTime() - lastSeen.getTime() > 60_000) await knex('staff_sessions').where({ id }).update({ last_seen_at: now });
  return sessionFor(knex, id, auth.password, now);
}

/**
 * Switches the active group (role) and counter of a session (001 §6 A-5). Only groups the member
 * of staff belongs to; the switch is audited because it changes what they may see.
 */
export async function switchRole(
  knex: Knex,
  session: StaffSession,
  groupCode: string,
  counterId: string | null,
  clientAddress: string | null,
): Promise<boolean> {
  if (session.kind !== 'staff' || !session.groups.some((g) => g.code === groupCode)) return false;
  await knex.transaction(async (trx) => {
    await trx('staff_sessions').where({ id: session.id }).update({ group_code: groupCode, counter_id: counterId });
    await appendAudit(trx, {
      ...actorOf(session, clientAddress),
      action: 'auth.switchRole',
      targetKind: 'staff',
      targetIds: [String(session.staffId)],
      result: 'success',
      detail: { from: session.groupCode, to: groupCode, counterFrom: session.counterId, counterTo: counterId },
    });
  });
  return true;
}

export async function logout(knex: Knex, session: StaffSession, clientAddress: string | null): Promise<void> {
  await knex.transaction(async (trx) => {
    await trx('staff_sessions').where({ id: session.id }).del();
    await appendAudit(trx, {
      ...actorOf(session, clientAddress),
      action: 'auth.logout',
      targetKind: 'staff',
      targetIds: [String(session.staffId)],
      result: 'success',
    });
  });
}
