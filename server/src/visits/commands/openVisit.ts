import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { todayInJapan } from '../../domain/japanTime.js';
import { getVisit, type Visit } from '../queries.js';
import { insertVisit } from '../visit.js';

/** Opens a visit: its number is the Japanese date and a running number of that day (20261202-0007). */
export async function openVisit(
  knex: Knex,
  staffId: number,
  counterId: string | null,
  actor: AuditActor,
  channel: 'counter' | 'post' | 'exOfficio' = 'counter',
  now = new Date(),
): Promise<Visit> {
  const id = await knex.transaction(async (trx) => {
    const day = todayInJapan(now).replaceAll('-', '');
    const last = (await trx('visits').where('visit_no', 'like', `${day}-%`).max({ m: 'visit_no' }).first()) as
      { m: string | null } | undefined;
    const next = last?.m ? Number(last.m.slice(9)) + 1 : 1;
    const visitId = await insertVisit(trx, { visitNo: `${day}-${String(next).padStart(4, '0')}`, channel, counterId, staffId }, now);
    await appendAudit(
      trx,
      { ...actor, action: 'visit.open', targetKind: 'visit', targetIds: [String(visitId)], result: 'success', detail: { channel } },
      now,
    );
    return visitId;
  });
  return (await getVisit(knex, id))!;
}
