import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { applyNoticeMove, noticeState } from '../notice.js';

/**
 * 審査済 → 入力済 (the `enter` move) once every core-system entry of the notice is made: each of
 * its RPA jobs succeeded or was cancelled, and at least one succeeded. Called by the notice
 * owner's handler of `job.succeeded`; reads the jobs (a read model may read any table) and
 * writes only the notice. The numbers themselves stay with the jobs (see `coreRefsOfNotices`).
 * Returns whether the notice moved.
 */
export async function enterNoticeWhenComplete(trx: Knex.Transaction, noticeId: number, actor: AuditActor, now: Date): Promise<boolean> {
  const jobs = (await trx('rpa_jobs').where({ notice_id: noticeId }).select('status')) as { status: string }[];
  if (!jobs.some((j) => j.status === 'succeeded') || jobs.some((j) => j.status !== 'succeeded' && j.status !== 'cancelled')) return false;
  const n = await noticeState(trx, noticeId);
  // Entered by hand before the review, or already entered: nothing to move (as before).
  if (n.status !== 'reviewed') return false;
  await applyNoticeMove(trx, n, 'enter', { staffId: actor.staffId ?? null }, now);
  await appendAudit(
    trx,
    {
      ...actor,
      action: 'notice.enter',
      targetKind: 'notice',
      targetIds: [String(noticeId)],
      result: 'success',
      detail: { entries: jobs.filter((j) => j.status === 'succeeded').length },
    },
    now,
  );
  return true;
}
