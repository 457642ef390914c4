import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { publish } from '../../domain/events.js';
import { DomainError, invalidInput } from '../../errors/domainError.js';
import { groupRights } from '../../auth/sessions.js';
import { PROTECTED_ADDRESS_PERMISSION, protection } from '../../residents/protection.js';
import { applyNoticeMove, assertNoticeMove, noticeState, staffOf } from '../notice.js';
import { getNotice, memberNosOf, type Notice } from '../queries.js';

/**
 * Routing to 支援措置担当 (issue 15): a notice whose subject, household, target household or typed
 * address is protected is reviewed (and sent back) only by staff whose active role holds
 * `resident.viewProtectedAddress`. Decided here, in the command, so no route can skip it. A
 * refusal is audited (result denied) and answers 403 `notice.protectedReview`.
 */
async function assertMayReviewProtected(trx: Knex.Transaction, noticeId: number, actor: AuditActor): Promise<void> {
  const row = (await trx('notices').where({ id: noticeId }).first('household_no', 'data')) as
    { household_no: string | null; data: string } | undefined;
  if (!row) return;
  const memberNos = (await memberNosOf(trx, [noticeId])).get(noticeId) ?? [];
  const decided = (await protection(trx)).notice({ memberNos, householdNo: row.household_no, data: JSON.parse(String(row.data)) });
  if (!decided.protected) return;
  const permissions = actor.role
    ? (await groupRights(trx, actor.role)).permissions
    : new Set(
        (await trx('staff_group_members')
          .join('staff_group_permissions', 'staff_group_permissions.group_id', 'staff_group_members.group_id')
          .where('staff_group_members.staff_id', actor.staffId ?? -1)
          .pluck('staff_group_permissions.permission')) as string[],
      );
  if (!permissions.has(PROTECTED_ADDRESS_PERMISSION)) throw new DomainError('notice.protectedReview');
}

/** Records a refused review (outside the rolled-back transaction) and rethrows. */
async function auditRefusal(db: Knex, e: unknown, noticeId: number, actor: AuditActor, move: string, now: Date): Promise<never> {
  if (e instanceof DomainError && e.code === 'notice.protectedReview')
    await db.transaction((trx) =>
      appendAudit(
        trx,
        {
          ...actor,
          action: `notice.${move}`,
          targetKind: 'notice',
          targetIds: [String(noticeId)],
          result: 'denied',
          detail: { reason: 'protectedReview' },
        },
        now,
      ),
    );
  throw e;
}

/**
 * Review (審査, 001 L-41): 受付済 → 審査済 by a second member of staff (the one who accepted may
 * not review their own notice). Publishes `notice.reviewed`: the job owner opens the notice's
 * core-system entries to the agents, in the same transaction.
 */
export async function reviewNotice(db: Knex, noticeId: number, actor: AuditActor, now = new Date()): Promise<Notice> {
  const staffId = staffOf(actor);
  await db
    .transaction(async (trx) => {
      const n = await noticeState(trx, noticeId);
      assertNoticeMove(n.status, 'review');
      if (n.acceptedBy === staffId) throw new DomainError('notice.selfReview');
      await assertMayReviewProtected(trx, noticeId, actor);
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
    })
    .catch((e: unknown) => auditRefusal(db, e, noticeId, actor, 'review', now));
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
  await db
    .transaction(async (trx) => {
      const n = await noticeState(trx, noticeId);
      assertNoticeMove(n.status, 'reopen');
      await assertMayReviewProtected(trx, noticeId, actor);
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
    })
    .catch((e: unknown) => auditRefusal(db, e, noticeId, actor, 'reopen', now));
  return (await getNotice(db, noticeId))!;
}
