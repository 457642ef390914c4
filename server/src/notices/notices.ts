import type { Knex } from 'knex';
import type { AuditActor } from '../auth/staffRepo.js';
import type { NoticeType } from '../domain/procedureTypes.js';
import { acceptDraft } from './commands/acceptNotice.js';
import { cancelNotice } from './commands/cancelNotice.js';
import { reviewNotice, sendBackNotice } from './commands/reviewNotice.js';
import { saveDraft as saveDraftCommand } from './commands/saveDraft.js';
import { getNotice, type Notice, type NoticeDraft } from './queries.js';
import './subscriptions.js';

/**
 * The notices package as the rest of the server imports it: the read model (`queries.ts`), the
 * aggregate's statuses (`notice.ts`), and the commands (`commands/`). Importing it also
 * registers the notice owner's event handlers (`subscriptions.ts`).
 */
export * from './queries.js';
export { noticeMoves, noticeMoveLabels, allowedNoticeMoves, type NoticeMove } from './notice.js';
export { NoticeValidationError } from './commands/acceptNotice.js';

/*
 * Until the routes call the commands directly, these keep the former signatures.
 */

/** @deprecated use `commands/saveDraft.ts` */
export async function saveDraft(
  db: Knex,
  visitId: number,
  noticeId: number | null,
  d: NoticeDraft,
  _staffId: number,
  actor: AuditActor,
  now = new Date(),
): Promise<number> {
  return saveDraftCommand(db, { visitId, noticeId, draft: d }, actor, now);
}

/** @deprecated use `commands/acceptNotice.ts` (it writes the procedures and the RPA jobs itself) */
export async function acceptNotice(
  db: Knex,
  id: number,
  _staffId: number,
  deadlineDays: Readonly<Partial<Record<NoticeType, number>>>,
  actor: AuditActor,
  onAccepted?: (trx: Knex.Transaction, n: Notice) => Promise<void>,
  now = new Date(),
): Promise<Notice> {
  await db.transaction(async (trx) => {
    const accepted = await acceptDraft(trx, id, deadlineDays, actor, now);
    if (onAccepted) await onAccepted(trx, accepted);
  });
  return (await getNotice(db, id))!;
}

/** @deprecated use `commands/reviewNotice.ts` and `commands/cancelNotice.ts` */
export async function moveNotice(
  db: Knex,
  id: number,
  move: 'review' | 'reopen' | 'cancel',
  _staffId: number | null,
  actor: AuditActor,
  extra: { reason?: string } = {},
  now = new Date(),
): Promise<Notice> {
  if (move === 'review') return reviewNotice(db, id, actor, now);
  if (move === 'reopen') return sendBackNotice(db, id, extra.reason ?? '', actor, now);
  return cancelNotice(db, id, extra.reason ?? '', actor, now);
}
