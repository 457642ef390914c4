import type { Knex } from 'knex';
import { defaultGroups } from './permissions.js';
import { appendAudit, type AuditEntry } from '../audit/trail.js';
import { hashPassword } from './passwords.js';

export interface NewStaff {
  loginId: string;
  displayName: string;
  section: string;
  password: string;
  groups: string[];
  mustChangePassword: boolean;
}

/** Creates the default groups once; returns group id by code. */
export async function ensureDefaultGroups(knex: Knex): Promise<Map<string, number>> {
  await knex.transaction(async (trx) => {
    for (const g of defaultGroups) {
      const existing = await trx('staff_groups').where({ code: g.code }).first('id');
      if (existing) continue;
      const [row] = await trx('staff_groups').insert({ code: g.code, name: g.name, description: g.description }).returning('id');
      const id = typeof row === 'object' ? (row as { id: number }).id : Number(row);
      for (const p of g.permissions) await trx('staff_group_permissions').insert({ group_id: id, permission: p });
    }
  });
  const rows = (await knex('staff_groups').select('id', 'code')) as { id: number; code: string }[];
  return new Map(rows.map((r) => [r.code, r.id]));
}

/** Creates a member of staff; the creation is audited in the same transaction. */
export async function createStaff(knex: Knex, s: NewStaff, by: Omit<AuditEntry, 'action' | 'result'> = { staffLogin: 'system' }): Promise<number> {
  const groups = await ensureDefaultGroups(knex);
  const hash = await hashPassword(s.password);
  return knex.transaction(async (trx) => {
    const [row] = await trx('staff')
      .insert({ login_id: s.loginId, display_name: s.displayName, section: s.section, password_hash: hash, password_changed_at: new Date(), must_change_password: s.mustChangePassword, created_at: new Date() })
      .returning('id');
    const id = typeof row === 'object' ? (row as { id: number }).id : Number(row);
    for (const code of s.groups) {
      const gid = groups.get(code);
      if (gid === undefined) throw new Error(`unknown group ${code}`);
      await trx('staff_group_members').insert({ staff_id: id, group_id: gid });
    }
    await appendAudit(trx, { ...by, action: 'staff.create', targetKind: 'staff', targetIds: [String(id)], result: 'success', detail: { loginId: s.loginId, groups: s.groups } });
    return id;
  });
}
