import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { validateNotice, type FieldError } from '../../domain/noticeValidation.js';
import type { NoticeType, ProcedureDefinition } from '../../domain/procedureTypes.js';
import { DomainError } from '../../errors/domainError.js';
import { IN_TOWN_NEW_ADDRESS, inTownAddressProblem } from '../../residents/addresses.js';
import { noticeSubjectOf } from '../../residents/present.js';
import { protection } from '../../residents/protection.js';
import { enqueueNotice, type QueueSettings, type ScenarioCheck } from '../../rpa/jobs.js';
import { applyNoticeMove, noticeState, staffOf } from '../notice.js';
import { getNotice, type Notice } from '../queries.js';
import { writeDerived } from '../visitProcedures.js';

/** The notice does not pass validation: 400, each problem named with its field (the form shows them). */
export class NoticeValidationError extends DomainError {
  constructor(readonly errors: FieldError[]) {
    super('input.invalid', { detail: errors.map((e) => e.message).join('。') }, errors);
  }
}

/** What accepting needs from the configuration. */
export interface AcceptNoticeDeps {
  deadlineDays: Readonly<Partial<Record<NoticeType, number>>>;
  /** The procedure catalog in force on `on` (the derived procedure list is written from it). */
  procedures: { catalog: readonly ProcedureDefinition[]; on: string };
  /** The RPA queue, when the core-system entries are made by agents (a job per entry, if a scenario exists). */
  rpa: { settings: QueueSettings; hasScenario: ScenarioCheck } | null;
  /** The town: an in-town 新しい住所 must be in its address master. */
  town: { prefecture: string; county?: string | null; name: string };
}

/**
 * The notice aggregate's part of accepting: validates the draft (errors block, lateness only
 * warns), moves it 下書き → 受付済 and audits it. Returns the accepted notice as read in `trx`.
 */
export async function acceptDraft(
  trx: Knex.Transaction,
  noticeId: number,
  deadlineDays: AcceptNoticeDeps['deadlineDays'],
  actor: AuditActor,
  now: Date,
  town: AcceptNoticeDeps['town'],
): Promise<Notice> {
  const staffId = staffOf(actor);
  const state = await noticeState(trx, noticeId);
  const n = (await getNotice(trx, noticeId))!;
  const v = validateNotice(
    {
      type: n.type,
      effectiveDate: n.effectiveDate,
      reportedDate: n.reportedDate,
      householdNo: n.householdNo,
      data: n.data,
      members: n.members,
    },
    deadlineDays,
  );
  // The new address in the town is entered into the core system as typed: it must be a real one.
  const newAddress = n.data.newAddress;
  if (newAddress && (IN_TOWN_NEW_ADDRESS as readonly string[]).includes(n.type) && !v.errors.some((e) => e.field === 'newAddress')) {
    // Candidates near a protected address would tell where it is: none for a protected notice.
    const guarded = (await protection(trx, now)).notice(noticeSubjectOf(n)).protected;
    const problem = await inTownAddressProblem(trx, newAddress, town, !guarded);
    if (problem) v.errors.push({ field: 'newAddress', message: problem });
  }
  // A draft that cannot be accepted shows its problems; any other status gets the 409 of the move table.
  if (state.status === 'draft' && v.errors.length) throw new NoticeValidationError(v.errors);
  await applyNoticeMove(trx, state, 'accept', { staffId, lateWarning: v.lateWarning }, now);
  await appendAudit(
    trx,
    {
      ...actor,
      action: 'notice.accept',
      targetKind: 'notice',
      targetIds: [String(noticeId), ...n.members.flatMap((m) => (m.addresseeNo ? [m.addresseeNo] : []))],
      result: 'success',
      detail: { type: n.type, late: v.lateWarning !== null },
    },
    now,
  );
  return (await getNotice(trx, noticeId))!;
}

/**
 * Accept a notice (受付): in one transaction the notice becomes 受付済, the visit's procedure
 * list is derived from it (the visit procedures' owner writes it), and its core-system entries
 * are queued for RPA, waiting for the review (the job owner writes them). Returns the notice.
 */
export async function acceptNotice(
  db: Knex,
  input: { visitId: number; noticeId: number },
  actor: AuditActor,
  deps: AcceptNoticeDeps,
  now = new Date(),
): Promise<Notice> {
  const staffId = staffOf(actor);
  await db.transaction(async (trx) => {
    if ((await noticeState(trx, input.noticeId)).visitId !== input.visitId) throw new DomainError('notFound.resource', { what: '届出' });
    const accepted = await acceptDraft(trx, input.noticeId, deps.deadlineDays, actor, now, deps.town);
    await writeDerived(trx, input.visitId, accepted, deps.procedures.catalog, deps.procedures.on, staffId, now);
    if (deps.rpa) await enqueueNotice(trx, accepted, deps.rpa.settings, deps.rpa.hasScenario, now);
  });
  return (await getNotice(db, input.noticeId))!;
}
