import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { invalidInput } from '../../errors/domainError.js';
import { insertMemo, touchVisit } from '../visit.js';

/** Adds a memo to a visit that is not closed (templates are offered while typing, O-46; free text is always allowed). */
export async function addMemo(
  knex: Knex,
  visitId: number,
  staffId: number,
  memo: { body: string; templateId: string | null },
  actor: AuditActor,
  now = new Date(),
): Promise<number> {
  if (!memo.body.trim()) throw invalidInput('メモを入力してください', [{ field: 'body', message: 'メモを入力してください' }]);
  return knex.transaction(async (trx) => {
    await touchVisit(trx, visitId, staffId, now);
    const id = await insertMemo(trx, visitId, { body: memo.body.trim(), templateId: memo.templateId }, staffId, now);
    await appendAudit(trx, { ...actor, action: 'visit.memo', targetKind: 'visit', targetIds: [String(visitId)], result: 'success' }, now);
    return id;
  });
}
