import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { publish } from '../../domain/events.js';
import { DomainError, invalidInput } from '../../errors/domainError.js';
import { applyNoticeMove, assertNoticeMove, noticeState, staffOf } from '../notice.js';
import { getNotice, type Notice } from '../queries.js';

/**
 * Review (審査, 001 L-41): 受付済 → 審査済 by a second member of staff (the one who accepted may
 * not review their own notice). Publishes `notice.reviewed`: the job owner opens the notice's
 * core-system entries to the agents, in the same transaction.
 */
export async function reviewNotice(db: Knex, noticeId: number, actor: AuditActor, now = new Date()): Promise<Notice> {
  const staffId = staffOf(actor);
  await db.transaction(async (trx) => {
    const n = await noticeState(trx, noticeId);
    assertNoticeMove(n.status, 'review');
    if (n.acceptedBy === staffId) throw new DomainError('notice.selfReview');
    const to = await applyNoticeMove(trx, n, 'review', { staffId }, now);
    await publish(trx, { type: 'notice.reviewed', at: now, actor, noticeId });
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'notice.review',
        targetKind: 'notice',
        targetIds: [String(noticeId)],
        result: 'success',
        detail: { from: n.status, to },
      },
      now,
    );
  });
  return (await getNotice(db, noticeId))!;
}

/**
 * Sends a reviewed notice back (差し戻し): 審査済 → 受付済 with a reason. Publishes
 * `notice.reopened`: entries not yet taken by an agent wait for the review again.
 */
export async function sendBackNotice(db: Knex, noticeId: number, reason: string, actor: AuditActor, now = new Date()): Promise<Notice> {
  const staffId = staffOf(actor);
  if (!reason.trim())
    throw invalidInput('差し戻す理由を入力してください', [{ field: 'reason', message: '差し戻す理由を入力してください' }]);
  await db.transaction(async (trx) => {
    const n = await noticeState(trx, noticeId);
    const to = await applyNoticeMove(trx, n, 'reopen', { staffId }, now);
    await publish(trx, { type: 'notice.reopened', at: now, actor, noticeId });
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'notice.reopen',
        targetKind: 'notice',
        targetIds: [String(noticeId)],
        result: 'success',
        detail: { from: n.status, to, reason: reason.trim().slice(0, 200) },
      },
      now,
    );
  });
  return (await getNotice(db, noticeId))!;
}
