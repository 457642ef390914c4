import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { invalidInput } from '../../errors/domainError.js';
import { insertSubject, touchVisit, type NewSubject } from '../visit.js';

/** Adds a person the visit is about: from the register, or typed by hand when not in it (D-13, 14). */
export type { NewSubject };

export async function addSubject(
  knex: Knex,
  id: number,
  staffId: number,
  subject: NewSubject,
  actor: AuditActor,
  now = new Date(),
): Promise<void> {
  await knex.transaction(async (trx) => {
    await touchVisit(trx, id, staffId, now);
    if ('addresseeNo' in subject && !(await trx('residents').where({ addressee_no: subject.addresseeNo }).first('id')))
      throw invalidInput('指定された宛名番号の住民はいません', [{ field: 'addresseeNo', message: '指定された宛名番号の住民はいません' }]);
    await insertSubject(trx, id, subject, staffId, now);
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'visit.subjectAdd',
        targetKind: 'visit',
        targetIds: [String(id), ...('addresseeNo' in subject ? [subject.addresseeNo] : [])],
        result: 'success',
        detail: { manual: !('addresseeNo' in subject) },
      },
      now,
    );
  });
}
