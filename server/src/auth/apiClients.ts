import { DomainError } from '../errors/domainError.js';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { appendAudit } from '../audit/trail.js';
import { dbDate } from '../db/values.js';
import { groupRights, tokenId, type StaffSession } from './sessions.js';
import type { AuditActor } from './staffRepo.js';

/** The prefix makes a leaked token recognisable in a config file or a log scan. */
const TOKEN_PREFIX = 'mdg_';

export interface ApiClientRow {
  id: number;
  name: string;
  groupCode: string;
  createdAt: Date;
  revokedAt: Date | null;
  lastSeenAt: Date | null;
  lastAddress: string | null;
  /** The counter a card reader helper serves (null for RPA agents). */
  counterId: string | null;
}

/**
 * Registers a machine client (an RPA agent) that calls the JSON API with `Authorization: Bearer`.
 * Returns the token; only its hash is stored, so it is shown this once.
 */
export async function registerApiClient(
  knex: Knex,
  name: string,
  groupCode: string,
  by: AuditActor,
  /** A card reader helper is bound to the one counter where its PC stands. */
  counterId: string | null = null,
): Promise<string> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new DomainError('apiClient.badName');
  const group = await knex('staff_groups').where({ code: groupCode }).first('id');
  if (!group) throw new DomainError('group.unknown', { code: groupCode });
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  await knex.transaction(async (trx) => {
    const existing = (await trx('api_clients').where({ name }).first('id', 'revoked_at')) as
      { id: number; revoked_at: unknown } | undefined;
    if (existing && !existing.revoked_at) throw new DomainError('apiClient.exists', { name });
    if (existing) await trx('api_clients').where({ id: existing.id }).del();
    await trx('api_clients').insert({
      name,
      token_hash: tokenId(token),
      group_code: groupCode,
      counter_id: counterId,
      created_at: new Date(),
      created_by: by.staffLogin ?? 'system',
    });
    await appendAudit(trx, {
      ...by,
      action: 'apiClient.register',
      targetKind: 'apiClient',
      targetIds: [name],
      result: 'success',
      detail: { group: groupCode, ...(counterId ? { counter: counterId } : {}) },
    });
  });
  return token;
}

export async function revokeApiClient(knex: Knex, name: string, by: AuditActor): Promise<boolean> {
  return knex.transaction(async (trx) => {
    const n = await trx('api_clients').where({ name }).whereNull('revoked_at').update({ revoked_at: new Date() });
    if (n) await appendAudit(trx, { ...by, action: 'apiClient.revoke', targetKind: 'apiClient', targetIds: [name], result: 'success' });
    return n > 0;
  });
}

export async function listApiClients(knex: Knex): Promise<ApiClientRow[]> {
  const rows = await knex('api_clients').orderBy('name');
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    groupCode: r.group_code,
    createdAt: dbDate(r.created_at)!,
    revokedAt: dbDate(r.revoked_at),
    lastSeenAt: dbDate(r.last_seen_at),
    lastAddress: r.last_address,
    counterId: r.counter_id ?? null,
  }));
}

/** The principal for a bearer token, or null when unknown or revoked. */
export async function resumeApiClient(
  knex: Knex,
  token: string,
  clientAddress: string | null,
  now: Date = new Date(),
): Promise<StaffSession | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const row = await knex('api_clients')
    .where({ token_hash: tokenId(token) })
    .whereNull('revoked_at')
    .first();
  if (!row) return null;
  const lastSeen = dbDate(row.last_seen_at)?.getTime() ?? 0;
  if (now.getTime() - lastSeen > 60_000 || row.last_address !== clientAddress)
    await knex('api_clients').where({ id: row.id }).update({ last_seen_at: now, last_address: clientAddress });
  const rights = await groupRights(knex, row.group_code);
  return {
    kind: 'client',
    id: `client:${row.id}`,
    staffId: null,
    loginId: `client:${row.name}`,
    displayName: row.name,
    groupCode: row.group_code,
    groupName: rights.name,
    counterId: row.counter_id ?? null,
    csrfToken: null,
    permissions: rights.permissions,
    scopes: rights.scopes,
    groups: [],
    mustChangePassword: false,
    previousLoginAt: null,
  };
}
