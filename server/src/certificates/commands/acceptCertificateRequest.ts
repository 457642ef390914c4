import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { StaffSession } from '../../auth/sessions.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { insertReturningId } from '../../db/values.js';
import type { ErrorCode } from '../../errors/catalog.js';
import { DomainError } from '../../errors/domainError.js';
import { enqueueCertificateRequest, type QueueSettings, type ScenarioCheck } from '../../rpa/jobs.js';
import { touchVisit } from '../../visits/visit.js';
import type { PricedRequest } from '../fees.js';
import { protection } from '../../residents/protection.js';
import { warningsFor } from '../../residents/warnings.js';

/**
 * The certificate request aggregate (`certificate_requests`): a request is recorded once, when it
 * is accepted at the counter; nothing moves it afterwards (issuance is the core system's). This
 * command is the only writer of the table.
 */
export const certificateRequestStatuses = ['accepted'] as const;
export type CertificateRequestStatus = (typeof certificateRequestStatuses)[number];
export const allowedCertificateRequestMoves = { accepted: [] } as const satisfies Record<CertificateRequestStatus, readonly string[]>;

/** Who asks for the certificate: the person, someone of the same household, a proxy with a power of attorney, or a third party. */
export const requesterRelations = { self: '本人', household: '同一世帯の者', proxy: '代理人 (委任状あり)', thirdParty: '第三者' } as const;
export type RequesterRelation = keyof typeof requesterRelations;

/** A line the request cannot take: its number (from 1), the catalog code and the Japanese message for beside the line. */
export interface Refusal {
  line: number;
  code: ErrorCode;
  message: string;
  /** The line's 宛名番号 as given (for the audit record). */
  subject: string | null;
}

const refusal = (i: number, code: ErrorCode, subject: string | null, params: Record<string, string> = {}): Refusal => ({
  line: i + 1,
  code,
  message: new DomainError(code, { line: String(i + 1), ...params }).message,
  subject,
});

/** The 宛名番号 of those a visit is about: its subjects from the register, and the visitor. */
export async function visitPeople(db: Knex, visitId: number): Promise<Set<string>> {
  const subjects = (await db('visit_subjects').where({ visit_id: visitId }).whereNotNull('addressee_no').pluck('addressee_no')) as string[];
  const visitor = (await db('visits').where({ id: visitId }).first('visitor_addressee_no')) as
    { visitor_addressee_no: string | null } | undefined;
  return new Set([...subjects, ...(visitor?.visitor_addressee_no ? [visitor.visitor_addressee_no] : [])].map(String));
}

/**
 * Who a line may be for: a 宛名番号 that is registered (a resident, a 住登外者 or a corporation: the
 * catalog's types do not narrow it further) and belongs to the visit (its subjects or the visitor).
 * Someone else is added to the visit first, explicitly, with the visit's 対象者を追加 (audited).
 */
export async function subjectRefusals(db: Knex, visitId: number, priced: PricedRequest): Promise<Refusal[]> {
  const nos = [...new Set(priced.lines.flatMap((l) => (l.subject.addresseeNo ? [l.subject.addresseeNo] : [])))];
  const registered = new Set<string>();
  for (const table of ['residents', 'non_residents', 'corporations'])
    if (nos.length)
      for (const no of (await db(table).whereIn('addressee_no', nos).pluck('addressee_no')) as string[]) registered.add(String(no));
  const people = await visitPeople(db, visitId);
  const out: Refusal[] = [];
  priced.lines.forEach((l, i) => {
    const no = l.subject.addresseeNo ?? null;
    if (!no) out.push(refusal(i, 'certificate.subjectMissing', null));
    else if (!registered.has(no)) out.push(refusal(i, 'certificate.subjectUnknown', no, { no }));
    else if (!people.has(no)) out.push(refusal(i, 'certificate.subjectNotInVisit', no));
  });
  return out;
}

/**
 * The issuance rules (I-31..35), for every line's subject: 発行禁止 stops issuance to anyone but
 * the person; 支援措置 stops issuance to a proxy or third party unless the member of staff holds the
 * right to handle protected addresses (the screen says why, the request is not saved). A subject
 * counts as protected when under a running support measure, or living in a protected household or
 * at a protected address (a 住民票 of the household shows that address).
 * The decision is the one of `residents/protection.ts`.
 */
export async function issuanceRefusals(
  db: Knex,
  priced: PricedRequest,
  relation: RequesterRelation,
  viewer: Pick<StaffSession, 'permissions'>,
): Promise<Refusal[]> {
  const nos = [...new Set(priced.lines.flatMap((l) => (l.subject.addresseeNo ? [l.subject.addresseeNo] : [])))];
  const warnings = await warningsFor(db, nos);
  const decide = await protection(db);
  const out: Refusal[] = [];
  priced.lines.forEach((l, i) => {
    const no = l.subject.addresseeNo ?? null;
    const w = no ? (warnings.get(no) ?? []) : [];
    if (relation !== 'self' && w.some((x) => x.kind === 'issuanceBan')) out.push(refusal(i, 'certificate.issuanceBan', no));
    if (
      (relation === 'proxy' || relation === 'thirdParty') &&
      no !== null &&
      decide.person(no).protected &&
      !viewer.permissions.has('resident.viewProtectedAddress')
    )
      out.push(refusal(i, 'certificate.supportMeasure', no));
  });
  return out;
}

export interface CertificateRequestInput {
  visitId: number;
  priced: PricedRequest;
  relation: RequesterRelation;
  memo: string;
  /** false: only check the issuance rules (the 金額を確認 step); nothing is saved. */
  save: boolean;
}

export interface CertificateRequestOutcome {
  /** Lines refused: a subject that is unknown or not of the visit, or the issuance rules (the request is then not saved; the refusal is audited). */
  refusals: Refusal[];
  requestId: number | null;
}

/**
 * Accept a certificate request (I-31..35): every line's subject must be registered and belong to
 * the visit, then the issuance rules (発行禁止, 支援措置) on every subject. A refusal is recorded as
 * denied (an attempt to obtain someone else's or a protected person's certificate matters), with
 * each refused line's code. Then the request, the visit's last change, and one RPA job per line
 * whose type has a scenario, in one transaction with the audit record.
 */
export async function acceptCertificateRequest(
  db: Knex,
  input: CertificateRequestInput,
  viewer: Pick<StaffSession, 'permissions'>,
  actor: AuditActor,
  rpa: { settings: QueueSettings; hasScenario: ScenarioCheck } | null,
  now = new Date(),
): Promise<CertificateRequestOutcome> {
  const { visitId, priced, relation } = input;
  const subjects = priced.lines.flatMap((l) => (l.subject.addresseeNo ? [l.subject.addresseeNo] : []));
  const unknown = await subjectRefusals(db, visitId, priced);
  const refusals = [...unknown, ...(await issuanceRefusals(db, priced, relation, viewer))].sort((a, b) => a.line - b.line);
  if (refusals.length) {
    await db.transaction((trx) =>
      appendAudit(
        trx,
        {
          ...actor,
          action: 'certificate.accept',
          targetKind: 'visit',
          targetIds: [String(visitId), ...subjects],
          result: 'denied',
          detail: {
            relation,
            refusals: refusals.length,
            codes: refusals.map((r) => r.code),
            lines: refusals.map((r) => r.line),
          },
        },
        now,
      ),
    );
    return { refusals, requestId: null };
  }
  if (!input.save) return { refusals: [], requestId: null };
  return { refusals: [], requestId: await saveAcceptedRequest(db, input, actor, rpa, now) };
}

/** Records a request that passed the subject checks and the issuance rules (with the visit's last change, its RPA jobs and the audit record). */
async function saveAcceptedRequest(
  db: Knex,
  input: Omit<CertificateRequestInput, 'save'>,
  actor: AuditActor,
  rpa: { settings: QueueSettings; hasScenario: ScenarioCheck } | null,
  now = new Date(),
): Promise<number> {
  const { visitId, priced, relation } = input;
  const subjects = priced.lines.flatMap((l) => (l.subject.addresseeNo ? [l.subject.addresseeNo] : []));
  const staffId = actor.staffId;
  if (staffId === null || staffId === undefined) throw new DomainError('auth.staffOnly');
  return db.transaction(async (trx) => {
    await touchVisit(trx, visitId, staffId, now);
    const id = await insertReturningId(trx, 'certificate_requests', {
      visit_id: visitId,
      requester_relation: relation,
      lines: JSON.stringify(priced.lines),
      total: priced.total,
      memo: input.memo.slice(0, 500) || null,
      created_by: staffId,
      created_at: now,
    });
    if (rpa) await enqueueCertificateRequest(trx, id, priced, rpa.settings, rpa.hasScenario, now);
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'certificate.accept',
        targetKind: 'certificateRequest',
        targetIds: [String(id), ...subjects],
        result: 'success',
        detail: { visit: visitId, relation, total: priced.total, types: priced.lines.map((l) => l.typeId) },
      },
      now,
    );
    return id;
  });
}
