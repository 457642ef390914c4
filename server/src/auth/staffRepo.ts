import { DomainError } from '../errors/domainError.js';
import type { Knex } from 'knex';
import { defaultGroups } from './permissions.js';
import { appendAudit, type AuditEntry } from '../audit/trail.js';
import { insertReturningId } from '../db/values.js';
import { hashPassword, randomPassword, verifyPassword } from './passwords.js';
import { passwordProblems, type PasswordPolicy } from './passwordPolicy.js';
import { clearAccountFailures } from './loginThrottle.js';
import { endStaffSessions, renewSession } from './sessions.js';
import { todayInJapan } from '../domain/japanTime.js';

/** Who does an administrative change, for its audit record. */
export type AuditActor = Omit<AuditEntry, 'action' | 'result'>;

export interface NewStaff {
  loginId: string;
  displayName: string;
  section: string;
  password: string;
  groups: string[];
  mustChangePassword: boolean;
  validFrom?: string | null;
  validTo?: string | null;
}

/** Creates the default groups (with their permissions and data scopes) once; returns group id by code. */
export async function ensureDefaultGroups(knex: Knex): Promise<Map<string, number>> {
  await knex.transaction(async (trx) => {
    for (const g of defaultGroups) {
      const existing = await trx('staff_groups').where({ code: g.code }).first('id');
      if (existing) continue;
      const id = await insertReturningId(trx, 'staff_groups', { code: g.code, name: g.name, description: g.description });
      for (const p of g.permissions) await trx('staff_group_permissions').insert({ group_id: id, permission: p });
      for (const k of g.scopes) await trx('staff_group_scopes').insert({ group_id: id, entitlement_kind: k });
    }
  });
  return groupIds(knex);
}

export async function groupIds(knex: Knex): Promise<Map<string, number>> {
  const rows = await knex('staff_groups').select('id', 'code');
  return new Map(rows.map((r) => [r.code, r.id]));
}

/** Creates a member of staff; the creation is audited in the same transaction. */
export async function createStaff(knex: Knex, s: NewStaff, by: AuditActor = { staffLogin: 'system' }): Promise<number> {
  const groups = await ensureDefaultGroups(knex);
  const hash = await hashPassword(s.password);
  return knex.transaction(async (trx) => {
    const now = new Date();
    const id = await insertReturningId(trx, 'staff', {
      login_id: s.loginId,
      display_name: s.displayName,
      section: s.section,
      password_hash: hash,
      password_changed_at: now,
      must_change_password: s.mustChangePassword,
      valid_from: s.validFrom ?? null,
      valid_to: s.validTo ?? null,
      created_at: now,
    });
    for (const code of s.groups) {
      const gid = groups.get(code);
      if (gid === undefined) throw new DomainError('group.unknown', { code });
      await trx('staff_group_members').insert({ staff_id: id, group_id: gid });
    }
    await trx('staff_password_history').insert({ staff_id: id, password_hash: hash, changed_at: now });
    await appendAudit(trx, {
      ...by,
      action: 'staff.create',
      targetKind: 'staff',
      targetIds: [String(id)],
      result: 'success',
      detail: { loginId: s.loginId, groups: s.groups },
    });
    return id;
  });
}

/** `token`: the cookie token of the renewed session (when the change was made through one). */
export type ChangePasswordResult = { ok: true; token: string | null } | { ok: false; problems: string[] };

/**
 * A member of staff changes their own password: the current one must be right, the new one must
 * satisfy the policy and differ from the last `historyCount` passwords. Clears the forced change.
 * Every other session of theirs ends; `sessionId`, the one they changed it in, is renewed (new
 * cookie token and CSRF token), so a stolen cookie of before the change is worth nothing.
 */
export async function changePassword(
  knex: Knex,
  staffId: number,
  current: string,
  next: string,
  policy: PasswordPolicy,
  by: AuditActor,
  sessionId: string | null = null,
): Promise<ChangePasswordResult> {
  const staff = await knex('staff').where({ id: staffId }).first('login_id', 'password_hash');
  if (!staff) return { ok: false, problems: ['職員が見つかりません'] };
  const fail = async (problems: string[], reason: string): Promise<ChangePasswordResult> => {
    await knex.transaction((trx) =>
      appendAudit(trx, {
        ...by,
        action: 'staff.passwordChange',
        targetKind: 'staff',
        targetIds: [String(staffId)],
        result: 'failure',
        detail: { reason },
      }),
    );
    return { ok: false, problems };
  };
  if (!(await verifyPassword(current, staff.password_hash))) return fail(['現在のパスワードが違います'], 'badCurrent');
  const problems = passwordProblems(next, policy, staff.login_id);
  if (problems.length) return fail(problems, 'policy');
  const history =
    policy.historyCount > 0
      ? await knex('staff_password_history')
          .where({ staff_id: staffId })
          .orderBy('changed_at', 'desc')
          .limit(policy.historyCount)
          .pluck('password_hash')
      : [];
  for (const old of [staff.password_hash, ...history]) {
    if (await verifyPassword(next, old))
      return fail([`直近 ${Math.max(1, policy.historyCount)} 回に使ったパスワードは使えません`], 'reused');
  }
  const hash = await hashPassword(next);
  return knex.transaction(async (trx) => {
    const now = new Date();
    await trx('staff').where({ id: staffId }).update({ password_hash: hash, password_changed_at: now, must_change_password: false });
    await trx('staff_password_history').insert({ staff_id: staffId, password_hash: hash, changed_at: now });
    const sessionsEnded = await endStaffSessions(trx, staffId, sessionId);
    const token = sessionId ? await renewSession(trx, sessionId, now) : null;
    await appendAudit(trx, {
      ...by,
      action: 'staff.passwordChange',
      targetKind: 'staff',
      targetIds: [String(staffId)],
      result: 'success',
      detail: { sessionsEnded, sessionRenewed: token !== null },
    });
    return { ok: true as const, token };
  });
}

/**
 * An administrator resets a password: a temporary one is generated, shown once to the
 * administrator, and must be changed at the next login. The lock is lifted and sessions end.
 */
export async function resetPassword(knex: Knex, staffId: number, by: AuditActor): Promise<string> {
  const temporary = randomPassword(14);
  const hash = await hashPassword(temporary);
  await knex.transaction(async (trx) => {
    const n = await trx('staff')
      .where({ id: staffId })
      .update({ password_hash: hash, password_changed_at: new Date(), must_change_password: true, failed_logins: 0, locked_at: null });
    if (!n) throw new DomainError('staff.notFound');
    const sessionsEnded = await endStaffSessions(trx, staffId);
    await clearFailuresOf(trx, staffId);
    await appendAudit(trx, {
      ...by,
      action: 'staff.passwordReset',
      targetKind: 'staff',
      targetIds: [String(staffId)],
      result: 'success',
      detail: { sessionsEnded },
    });
  });
  return temporary;
}

/** The failures of an account stop counting towards its lock (after an unlock or a reset). */
async function clearFailuresOf(trx: Knex.Transaction, staffId: number): Promise<void> {
  const row = await trx('staff').where({ id: staffId }).first('login_id');
  if (row) await clearAccountFailures(trx, row.login_id);
}

/** Lifts a lockout after too many failed logins. */
export async function unlockStaff(knex: Knex, staffId: number, by: AuditActor): Promise<void> {
  await knex.transaction(async (trx) => {
    const n = await trx('staff').where({ id: staffId }).update({ failed_logins: 0, locked_at: null });
    if (!n) throw new DomainError('staff.notFound');
    await clearFailuresOf(trx, staffId);
    await appendAudit(trx, { ...by, action: 'staff.unlock', targetKind: 'staff', targetIds: [String(staffId)], result: 'success' });
  });
}

export interface StaffUpdate {
  displayName: string;
  section: string;
  validFrom: string | null;
  validTo: string | null;
  disabled: boolean;
  groups: string[];
}

/**
 * Changes a member of staff's details and groups; disabling them, or a validity period that no
 * longer includes today, ends their sessions (as the CSV import does).
 */
export async function updateStaff(knex: Knex, staffId: number, u: StaffUpdate, by: AuditActor): Promise<void> {
  const ids = await groupIds(knex);
  for (const g of u.groups) if (!ids.has(g)) throw new DomainError('group.unknown', { code: g });
  if (u.validFrom && u.validTo && u.validFrom > u.validTo) throw new DomainError('staff.validityReversed');
  await knex.transaction(async (trx) => {
    const before = await trx('staff').where({ id: staffId }).first('id');
    if (!before) throw new DomainError('staff.notFound');
    await trx('staff')
      .where({ id: staffId })
      .update({ display_name: u.displayName, section: u.section, valid_from: u.validFrom, valid_to: u.validTo, disabled: u.disabled });
    await trx('staff_group_members').where({ staff_id: staffId }).del();
    for (const g of u.groups) await trx('staff_group_members').insert({ staff_id: staffId, group_id: ids.get(g)! });
    const today = todayInJapan(new Date());
    const cannotLogIn = u.disabled || (u.validFrom !== null && today < u.validFrom) || (u.validTo !== null && today > u.validTo);
    const sessionsEnded = cannotLogIn ? await endStaffSessions(trx, staffId) : 0;
    await appendAudit(trx, {
      ...by,
      action: 'staff.update',
      targetKind: 'staff',
      targetIds: [String(staffId)],
      result: 'success',
      detail: {
        groups: u.groups,
        disabled: u.disabled,
        validFrom: u.validFrom,
        validTo: u.validTo,
        ...(cannotLogIn ? { sessionsEnded } : {}),
      },
    });
  });
}

export interface GroupUpdate {
  code: string;
  name: string;
  description: string;
  permissions: string[];
  scopes: string[];
}

/** Creates or changes a group with its permissions and data scopes; audited as a permission change. */
export async function saveGroup(knex: Knex, g: GroupUpdate, by: AuditActor): Promise<number> {
  return knex.transaction(async (trx) => {
    const existing = await trx('staff_groups').where({ code: g.code }).first('id');
    let id: number;
    if (existing) {
      id = existing.id;
      await trx('staff_groups').where({ id }).update({ name: g.name, description: g.description });
    } else {
      id = await insertReturningId(trx, 'staff_groups', { code: g.code, name: g.name, description: g.description });
    }
    await trx('staff_group_permissions').where({ group_id: id }).del();
    for (const p of g.permissions) await trx('staff_group_permissions').insert({ group_id: id, permission: p });
    await trx('staff_group_scopes').where({ group_id: id }).del();
    for (const k of g.scopes) await trx('staff_group_scopes').insert({ group_id: id, entitlement_kind: k });
    await appendAudit(trx, {
      ...by,
      action: existing ? 'group.update' : 'group.create',
      targetKind: 'group',
      targetIds: [g.code],
      result: 'success',
      detail: { permissions: g.permissions, scopes: g.scopes },
    });
    return id;
  });
}
