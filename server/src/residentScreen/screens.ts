import { randomBytes, randomInt } from 'node:crypto';
import type { Knex } from 'knex';
import { appendAudit } from '../audit/trail.js';
import { tokenId } from '../auth/sessions.js';
import type { AuditActor } from '../auth/staffRepo.js';
import { dbDate, insertReturningId } from '../db/values.js';

/**
 * The screens facing residents (a tablet or a second monitor), each paired to one counter. The
 * clerk shows a 6-digit code valid for a few minutes; typed on the screen, it gives the screen a
 * device token (a cookie; only its hash is kept) bound to that counter until it is unpaired. The
 * owner of `resident_screens`.
 */

/** A pairing code is typed on the screen within this time. */
export const PAIRING_TTL_MS = 5 * 60_000;
/** Wrong codes allowed per code before it is dropped (6 digits: guessing is not an option). */
const PAIRING_TRIES = 5;

export interface ResidentScreen {
  id: number;
  counterId: string;
  label: string | null;
  pairedAt: Date;
  lastSeenAt: Date | null;
}

interface Pending {
  counterId: string;
  staffId: number;
  label: string | null;
  expiresAt: number;
  tries: number;
}

/** Pairing codes waiting to be typed, in memory (a restart just asks the clerk for a new code). */
export class Pairings {
  private readonly codes = new Map<string, Pending>();
  constructor(private readonly now: () => number = Date.now) {}

  /** A new code for the counter (any earlier code of the counter is dropped). */
  issue(counterId: string, staffId: number, label: string | null): { code: string; expiresAt: Date } {
    this.sweep();
    for (const [c, p] of this.codes) if (p.counterId === counterId) this.codes.delete(c);
    let code: string;
    do code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    while (this.codes.has(code));
    const expiresAt = this.now() + PAIRING_TTL_MS;
    this.codes.set(code, { counterId, staffId, label, expiresAt, tries: 0 });
    return { code, expiresAt: new Date(expiresAt) };
  }

  /** The pending pairing of a code, used once; null for an unknown or expired code. */
  take(code: string): Pending | null {
    this.sweep();
    const p = this.codes.get(code);
    if (!p) {
      // A wrong code counts against every pending code, so that guessing burns them all.
      for (const [c, q] of this.codes) if (++q.tries >= PAIRING_TRIES) this.codes.delete(c);
      return null;
    }
    this.codes.delete(code);
    return p;
  }

  private sweep(): void {
    const t = this.now();
    for (const [c, p] of this.codes) if (p.expiresAt < t) this.codes.delete(c);
  }
}

/** Registers the screen of a pairing; returns its device token (shown to nobody, set as a cookie). */
export async function pairScreen(
  knex: Knex,
  p: { counterId: string; staffId: number; label: string | null },
  actor: AuditActor,
): Promise<string> {
  const token = `mdr_${randomBytes(32).toString('base64url')}`;
  await knex.transaction(async (trx) => {
    const id = await insertReturningId(trx, 'resident_screens', {
      counter_id: p.counterId,
      token_hash: tokenId(token),
      label: p.label,
      paired_at: new Date(),
      paired_by: p.staffId,
    });
    await appendAudit(trx, {
      ...actor,
      counterId: p.counterId,
      action: 'residentScreen.pair',
      targetKind: 'residentScreen',
      targetIds: [String(id)],
      result: 'success',
      detail: { counter: p.counterId, pairedBy: p.staffId },
    });
  });
  return token;
}

/** The screen of a device token, or null when unknown or unpaired. */
export async function screenOf(knex: Knex, token: string | undefined): Promise<ResidentScreen | null> {
  if (!token || !token.startsWith('mdr_')) return null;
  const r = await knex('resident_screens')
    .where({ token_hash: tokenId(token) })
    .whereNull('revoked_at')
    .first();
  if (!r) return null;
  const seen = dbDate(r.last_seen_at)?.getTime() ?? 0;
  if (Date.now() - seen > 60_000) await knex('resident_screens').where({ id: r.id }).update({ last_seen_at: new Date() });
  return { id: r.id, counterId: r.counter_id, label: r.label ?? null, pairedAt: dbDate(r.paired_at)!, lastSeenAt: dbDate(r.last_seen_at) };
}

export async function screensOf(knex: Knex, counterId: string): Promise<ResidentScreen[]> {
  const rows = await knex('resident_screens').where({ counter_id: counterId }).whereNull('revoked_at').orderBy('id');
  return rows.map((r) => ({
    id: r.id,
    counterId: r.counter_id,
    label: r.label ?? null,
    pairedAt: dbDate(r.paired_at)!,
    lastSeenAt: dbDate(r.last_seen_at),
  }));
}

/** Unpairs every screen of a counter (a tablet lost or replaced). */
export async function unpairScreens(knex: Knex, counterId: string, actor: AuditActor): Promise<number> {
  return knex.transaction(async (trx) => {
    const ids = (await trx('resident_screens').where({ counter_id: counterId }).whereNull('revoked_at').pluck('id')) as number[];
    if (!ids.length) return 0;
    await trx('resident_screens').whereIn('id', ids).update({ revoked_at: new Date() });
    await appendAudit(trx, {
      ...actor,
      action: 'residentScreen.unpair',
      targetKind: 'residentScreen',
      targetIds: ids.map(String),
      result: 'success',
      detail: { counter: counterId },
    });
    return ids.length;
  });
}
