import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { applyVisitMove, type VisitMove } from '../visit.js';

/**
 * Pauses a visit (the visitor goes to another section), resumes it at this counter (the visit
 * moves here), or closes it. Every change records the member of staff.
 */
export async function changeVisitStatus(
  knex: Knex,
  id: number,
  staffId: number,
  change: Exclude<VisitMove, 'edit'>,
  counterId: string | null,
  actor: AuditActor,
  now = new Date(),
): Promise<void> {
  await knex.transaction(async (trx) => {
    const { from, to } = await applyVisitMove(trx, id, change, staffId, counterId, now);
    await appendAudit(
      trx,
      { ...actor, action: `visit.${change}`, targetKind: 'visit', targetIds: [String(id)], result: 'success', detail: { from, to } },
      now,
    );
  });
}
