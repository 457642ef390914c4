import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { publish } from '../../domain/events.js';
import { invalidInput } from '../../errors/domainError.js';
import { applyNoticeMove, noticeState, staffOf } from '../notice.js';
import { getNotice, type Notice } from '../queries.js';

/**
 * Cancels a notice before its review (取消), with a reason. Publishes `notice.cancelled`: the
 * job owner cancels the entries not yet made (queued or waiting for staff).
 */
export async function cancelNotice(
  db: Knex,
  noticeId: number,
  reason: string,
  actor: AuditActor,
  now = new Date(),
  visitId?: number,
): Promise<Notice> {
  const staffId = staffOf(actor);
  if (!reason.trim())
    throw invalidInput('取り消す理由を入力してください', [{ field: 'reason', message: '取り消す理由を入力してください' }]);
  await db.transaction(async (trx) => {
    const n = await noticeState(trx, noticeId);
    if (visitId !== undefined && n.visitId !== visitId) throw invalidInput('届出と来庁記録が一致しません');
    const to = await applyNoticeMove(trx, n, 'cancel', { staffId }, now);
    await publish(trx, { type: 'notice.cancelled', at: now, actor, noticeId });
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'notice.cancel',
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
