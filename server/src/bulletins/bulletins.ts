import type { Knex } from 'knex';
import { appendAudit } from '../audit/trail.js';
import type { AuditActor } from '../auth/staffRepo.js';
import { dbDate, insertReturningId } from '../db/values.js';
import { todayInJapan } from '../domain/japanTime.js';
import { DomainError } from '../errors/domainError.js';

/**
 * Bulletins (伝達事項): short notes the administrator posts for every member of staff, shown on
 * the home page until their last day. This module is the one writer of the `bulletins` table:
 * posting and retiring are commands that take the caller's transaction and write their audit
 * record in it; `activeBulletins` and `recentBulletins` are the read models.
 */

/** Limits of the columns (the admin form declares the same). */
export const BULLETIN_TITLE_MAX = 100;
export const BULLETIN_BODY_MAX = 2000;

/** A bulletin as the home page shows it. */
export interface Bulletin {
  id: number;
  title: string;
  body: string;
  /** Last day it is shown (`YYYY-MM-DD`, Japan), or null: until retired. */
  showUntil: string | null;
  postedAt: Date;
  /** Display name of the member of staff who posted it. */
  postedBy: string;
}

/** A bulletin in the administrator's list (current and past). */
export type PostedBulletin = Omit<Bulletin, 'postedBy'>;

/** Bulletins still to be shown today, newest first (at most 20). */
export async function activeBulletins(knex: Knex, now = new Date()): Promise<Bulletin[]> {
  const today = todayInJapan(now);
  const rows = (await knex('bulletins')
    .join('staff', 'staff.id', 'bulletins.posted_by')
    .where((w) => w.whereNull('show_until').orWhere('show_until', '>=', today))
    .orderBy('bulletins.posted_at', 'desc')
    .limit(20)
    .select('bulletins.id', 'bulletins.title', 'bulletins.body', 'bulletins.show_until', 'bulletins.posted_at', 'staff.display_name')) as {
    id: number;
    title: string;
    body: string;
    show_until: string | null;
    posted_at: unknown;
    display_name: string;
  }[];
  return rows.map((r) => ({
    id: Number(r.id),
    title: String(r.title),
    body: String(r.body),
    showUntil: r.show_until ?? null,
    postedAt: dbDate(r.posted_at)!,
    postedBy: String(r.display_name),
  }));
}

/** The latest bulletins, shown or not, newest first (the administrator's list). */
export async function recentBulletins(knex: Knex, limit = 100): Promise<PostedBulletin[]> {
  const rows = await knex('bulletins').orderBy('posted_at', 'desc').limit(limit).select('id', 'title', 'body', 'show_until', 'posted_at');
  return rows.map((r) => ({
    id: Number(r.id),
    title: String(r.title),
    body: String(r.body),
    showUntil: r.show_until ?? null,
    postedAt: dbDate(r.posted_at)!,
  }));
}

export interface NewBulletin {
  title: string;
  body: string;
  /** `YYYY-MM-DD`, or null to show it until it is retired. */
  showUntil: string | null;
}

/**
 * Posts a bulletin in `trx` and records `bulletin.create`. Title and body are trimmed and must not
 * be empty; only a member of staff can post (a machine client has no one to name as the poster).
 * Returns the new bulletin's id.
 */
export async function createBulletin(trx: Knex.Transaction, input: NewBulletin, actor: AuditActor, now = new Date()): Promise<number> {
  const title = input.title.trim();
  const body = input.body.trim();
  if (!title || !body) throw new DomainError('bulletin.empty');
  if (actor.staffId === null || actor.staffId === undefined) throw new DomainError('bulletin.staffOnly');
  const id = await insertReturningId(trx, 'bulletins', {
    title: title.slice(0, BULLETIN_TITLE_MAX),
    body: body.slice(0, BULLETIN_BODY_MAX),
    show_until: input.showUntil,
    posted_by: actor.staffId,
    posted_at: now,
  });
  await appendAudit(trx, { ...actor, action: 'bulletin.create', targetKind: 'bulletin', targetIds: [String(id)], result: 'success' }, now);
  return id;
}

/**
 * Takes a bulletin down (the row is deleted: a bulletin has no history worth keeping beyond the
 * audit record) and records `bulletin.delete`. 404 when there is no such bulletin.
 */
export async function retireBulletin(trx: Knex.Transaction, id: number, actor: AuditActor, now = new Date()): Promise<void> {
  if (!(await trx('bulletins').where({ id }).del())) throw new DomainError('bulletin.notFound');
  await appendAudit(trx, { ...actor, action: 'bulletin.delete', targetKind: 'bulletin', targetIds: [String(id)], result: 'success' }, now);
}
