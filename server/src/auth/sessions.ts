import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { appendAudit } from '../audit/trail.js';
import type { StaffGroupRow, StaffRow, StaffSessionRow } from '../db/tables.generated.js';
import { dbBool, dbDate } from '../db/values.js';
import { todayInJapan } from '../domain/japanTime.js';
import type { AuthConfig } from '../config/appConfig.js';
import { addressKey, addressWait, clearAccountFailures, recordFailure, withAttempt } from './loginThrottle.js';
import { dummyPasswordHash, verifyPassword } from './passwords.js';
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

/** The `auth` settings of municipality.yaml that sessions and logins use. */
export type AuthSettings = Pick<AuthConfig, 'idleMinutes' | 'sessionMaxHours' | 'lockout' | 'password'>;

export interface LoginContext {
  clientAddress: string | null;
  counterId?: string | null;
  now?: Date;
}

export type LoginResult =
  | { ok: true; token: string; session: StaffSession }
  | { ok: false; reason: string }
  /** The client address failed too often: 429 with Retry-After, nothing was checked. */
  | { ok: false; reason: string; retryAfterSeconds: number };

/**
 * Observes the password checks of logins: `account` for a stored hash, `dummy` for the dummy hash
 * of an unknown id. Tests count them (each login runs exactly one, whatever the id); unset in use.
 */
export const loginProbe: { onVerify?: (kind: 'account' | 'dummy') => void } = {};

export const tokenId = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The audit fields of whoever acts through this session. */
export function actorOf(session: StaffSession, clientAddress: string | null): AuditActor {
  return { staffId: session.staffId, staffLogin: session.loginId, role: session.groupCode, counterId: session.counterId, clientAddress };
}

/**
 * The failure message never says whether the login id exists: an unknown id, a wrong password and
 * a wrong password for a disabled, expired or locked account all get it, by the same path.
 */
export const BAD_CREDENTIALS = 'ログイン ID またはパスワードが違います';

/**
 * Ends every session of a member of staff (a lock, a password change or reset, disabling), except
 * `keep` (the session that changed the password, renewed by the caller). Returns how many ended.
 */
export async function endStaffSessions(db: Knex, staffId: number, keep: string | null = null): Promise<number> {
  const q = db('staff_sessions').where({ staff_id: staffId });
  if (keep) q.andWhereNot({ id: keep });
  return Number(await q.del());
}

type LoginAudit = (
  trx: Knex.Transaction,
  action: string,
  result: 'success' | 'failure' | 'denied',
  staffId: number | null,
  detail: Record<string, unknown>,
  group?: string | null,
) => Promise<unknown>;

/**
 * Checks a login (docs/security.md「ログイン」):
 *
 * 1. A client address that failed too often recently waits (429), before anything is checked.
 * 2. Exactly one scrypt runs for every login id: the account's hash, or the dummy hash made at
 *    start-up for an unknown id, so the answer takes the same time whether the id exists or not.
 * 3. Bad credentials (unknown id or wrong password, whatever the account's state) get the one
 *    generic message, are recorded for the throttle, and lock the account once failures come from
 *    enough addresses; the lock ends the account's sessions and is audited.
 * 4. With the right password, a disabled, expired or locked account is told why (whoever knows
 *    the password learns nothing new).
 *
 * Every attempt, refused or not, is audited in the same transaction as its effect.
 */
export async function login(knex: Knex, loginId: string, password: string, c: LoginContext, auth: AuthSettings): Promise<LoginResult> {
  const now = c.now ?? new Date();
  const audit: LoginAudit = (trx, action, result, staffId, detail, group = null) =>
    appendAudit(
      trx,
      {
        staffId,
        staffLogin: loginId.slice(0, 64),
        role: group,
        clientAddress: c.clientAddress,
        counterId: c.counterId ?? null,
        action,
        targetKind: 'staff',
        targetIds: staffId === null ? [] : [String(staffId)],
        result,
        detail,
      },
      now,
    );

  return withAttempt(c.clientAddress, (othersInFlight) => checkLogin(knex, loginId, password, c, auth, now, othersInFlight, audit));
}

/** Audits a login refused before any check (`csrf`: the form's token was missing or wrong). */
export async function auditLoginRefusal(knex: Knex, loginId: string, c: LoginContext, reason: 'csrf'): Promise<void> {
  await knex.transaction((trx) =>
    appendAudit(
      trx,
      {
        staffLogin: loginId.slice(0, 64) || null,
        clientAddress: c.clientAddress,
        counterId: c.counterId ?? null,
        action: 'auth.loginFailure',
        targetKind: 'staff',
        result: 'denied',
        detail: { reason },
      },
      c.now ?? new Date(),
    ),
  );
}

async function checkLogin(
  knex: Knex,
  loginId: string,
  password: string,
  c: LoginContext,
  auth: AuthSettings,
  now: Date,
  othersInFlight: number,
  audit: LoginAudit,
): Promise<LoginResult> {
  const today = todayInJapan(now);
  const wait = await addressWait(knex, c.clientAddress, auth.lockout, now, othersInFlight);
  if (wait.retryAfterSeconds > 0) {
    await knex.transaction((trx) =>
      audit(trx, 'auth.loginThrottled', 'denied', null, {
        reason: 'tooManyFailuresFromAddress',
        address: addressKey(c.clientAddress),
        failures: wait.failures,
        retryAfterSeconds: wait.retryAfterSeconds,
      }),
    );
    return {
      ok: false,
      reason: 'ログインの試行が多すぎます。しばらくしてからやり直してください',
      retryAfterSeconds: wait.retryAfterSeconds,
    };
  }

  const staff = await knex('staff').where({ login_id: loginId }).first();
  loginProbe.onVerify?.(staff ? 'account' : 'dummy');
  const passwordOk = await verifyPassword(password, staff ? staff.password_hash : await dummyPasswordHash());
  const credentialsOk = Boolean(staff) && passwordOk;

  return knex.transaction(async (trx) => {
    if (!staff || !credentialsOk) {
      const counted = await recordFailure(trx, { loginId, staffId: staff?.id ?? null, address: c.clientAddress }, auth.lockout, now);
      const lock = Boolean(staff) && !staff!.locked_at && counted.reachesLock;
      if (staff) {
        await trx('staff')
          .where({ id: staff.id })
          .update({ failed_logins: staff.failed_logins + 1, ...(lock ? { locked_at: now } : {}) });
      }
      await audit(trx, 'auth.loginFailure', 'failure', staff?.id ?? null, {
        reason: staff ? 'badPassword' : 'unknownLogin',
        ...(staff && dbBool(staff.disabled) ? { disabled: true } : {}),
        ...(staff?.locked_at ? { locked: true } : {}),
        accountFailures: counted.accountFailures,
        accountAddresses: counted.accountAddresses,
      });
      if (lock) {
        const sessionsEnded = await endStaffSessions(trx, staff!.id);
        await audit(trx, 'auth.lock', 'success', staff!.id, {
          failures: counted.accountFailures,
          addresses: counted.accountAddresses,
          windowMinutes: auth.lockout.account.windowMinutes,
          sessionsEnded,
        });
      }
      return { ok: false, reason: BAD_CREDENTIALS };
    }
    const id = staff.id;
    if (dbBool(staff.disabled)) {
      await audit(trx, 'auth.loginFailure', 'failure', id, { reason: 'disabled' });
      return { ok: false, reason: 'このアカウントは無効です。管理者に連絡してください' };
    }
    if ((staff.valid_from && today < staff.valid_from) || (staff.valid_to && today > staff.valid_to)) {
      await audit(trx, 'auth.loginFailure', 'failure', id, { reason: 'outsideValidity' });
      return { ok: false, reason: 'このアカウントの有効期間外です。管理者に連絡してください' };
    }
    if (staff.locked_at) {
      await audit(trx, 'auth.loginFailure', 'failure', id, { reason: 'locked' });
      return { ok: false, reason: 'ログインの失敗が続いたためロックされています。管理者にロック解除を依頼してください' };
    }
    const group = await trx('staff_group_members')
      .join('staff_groups', 'staff_groups.id', 'staff_group_members.group_id')
      .where({ staff_id: id })
      .orderBy('staff_groups.id')
      .first<Pick<StaffGroupRow, 'code'> | undefined>('staff_groups.code');
    const token = await insertSession(trx, {
      staffId: id,
      groupCode: group?.code ?? null,
      counterId: c.counterId ?? null,
      clientAddress: c.clientAddress,
      previousLoginAt: staff.last_login_at,
      now,
    });
    await trx('staff').where({ id }).update({ failed_logins: 0, last_login_at: now });
    await clearAccountFailures(trx, loginId);
    await audit(trx, 'auth.login', 'success', id, {}, group?.code ?? null);
    const session = await sessionFor(trx, tokenId(token), auth.password, now);
    return { ok: true, token, session: session! };
  });
}

/** Writes a new session row; returns its cookie token (only its SHA-256 is stored). */
async function insertSession(
  db: Knex,
  s: {
    staffId: number;
    groupCode: string | null;
    counterId: string | null;
    clientAddress: string | null;
    previousLoginAt: StaffSessionRow['previous_login_at'];
    now: Date;
  },
): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await db('staff_sessions').insert({
    id: tokenId(token),
    staff_id: s.staffId,
    csrf_token: randomBytes(32).toString('base64url'),
    group_code: s.groupCode,
    counter_id: s.counterId,
    client_address: s.clientAddress,
    created_at: s.now,
    last_seen_at: s.now,
    previous_login_at: s.previousLoginAt,
  });
  return token;
}

/**
 * Replaces a session by a new one (new cookie token and CSRF token, same role and counter), for
 * the member of staff who just changed their password. Returns the new token, or null when the
 * session is gone.
 */
export async function renewSession(db: Knex, sessionId: string, now: Date = new Date()): Promise<string | null> {
  const old = await db('staff_sessions').where({ id: sessionId }).first();
  if (!old) return null;
  await db('staff_sessions').where({ id: sessionId }).del();
  return insertSession(db, {
    staffId: old.staff_id,
    groupCode: old.group_code,
    counterId: old.counter_id,
    clientAddress: old.client_address,
    previousLoginAt: old.previous_login_at,
    now,
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
  Pick<StaffRow, 'login_id' | 'display_name' | 'disabled' | 'must_change_password' | 'password_changed_at' | 'locked_at'>;

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
      'staff.locked_at',
    );
  if (!row || dbBool(row.disabled) || row.locked_at) return null;
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

/**
 * The session for a cookie token, or null when unknown, idle longer than `auth.idleMinutes`, older
 * than `auth.sessionMaxHours` however busy, or the account is disabled or locked.
 */
export async function resumeSession(
  knex: Knex,
  token: string | undefined,
  auth: Pick<AuthSettings, 'idleMinutes' | 'sessionMaxHours' | 'password'>,
  now: Date = new Date(),
): Promise<StaffSession | null> {
  if (!token) return null;
  const id = tokenId(token);
  const row = await knex('staff_sessions').where({ id }).first('last_seen_at', 'created_at');
  if (!row) return null;
  const lastSeen = dbDate(row.last_seen_at)!;
  const created = dbDate(row.created_at)!;
  if (
    now.getTime() - lastSeen.getTime() > auth.idleMinutes * 60_000 ||
    now.getTime() - created.getTime() > auth.sessionMaxHours * 3_600_000
  ) {
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
