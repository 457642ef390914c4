import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { StaffSession } from '../../auth/sessions.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { insertReturningId } from '../../db/values.js';
import { DomainError } from '../../errors/domainError.js';
import { enqueueCertificateRequest, type QueueSettings, type ScenarioCheck } from '../../rpa/jobs.js';
import { touchVisit } from '../../visits/visit.js';
import type { PricedRequest } from '../fees.js';
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

export interface Refusal {
  line: number;
  message: string;
}

/**
 * The issuance rules (I-31..35): 発行禁止 stops issuance to anyone but the person; 支援措置 stops
 * issuance to a proxy or third party unless the member of staff holds the right to handle
 * protected addresses (the screen says why, the request is not saved).
 */
export async function issuanceRefusals(
  db: Knex,
  priced: PricedRequest,
  relation: RequesterRelation,
  viewer: Pick<StaffSession, 'permissions'>,
): Promise<Refusal[]> {
  const nos = priced.lines.flatMap((l) => (l.subject.addresseeNo ? [l.subject.addresseeNo] : []));
  const warnings = await warningsFor(db, nos);
  const out: Refusal[] = [];
  priced.lines.forEach((l, i) => {
    const w = l.subject.addresseeNo ? (warnings.get(l.subject.addresseeNo) ?? []) : [];
    if (relation !== 'self' && w.some((x) => x.kind === 'issuanceBan'))
      out.push({ line: i + 1, message: `${i + 1} 行目: 対象者に発行禁止の設定があるため、本人以外には交付できません` });
    if (
      (relation === 'proxy' || relation === 'thirdParty') &&
      w.some((x) => x.kind === 'supportMeasure') &&
      !viewer.permissions.has('resident.viewProtectedAddress')
    ) {
      out.push({
        line: i + 1,
        message: `${i + 1} 行目: 対象者は支援措置の対象のため、代理人・第三者への交付は支援措置担当の確認が必要です`,
      });
    }
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
  /** Lines the issuance rules refuse (the request is then not saved; the refusal is audited). */
  refusals: Refusal[];
  requestId: number | null;
}

/**
 * Accept a certificate request (I-31..35): the issuance rules first (発行禁止, 支援措置: a refusal
 * is recorded as denied, since an attempt to obtain a protected person's certificate matters),
 * then the request, the visit's last change, and one RPA job per line whose type has a scenario,
 * in one transaction with the audit record.
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
  const refusals = await issuanceRefusals(db, priced, relation, viewer);
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
          detail: { relation, refusals: refusals.length },
        },
        now,
      ),
    );
    return { refusals, requestId: null };
  }
  if (!input.save) return { refusals: [], requestId: null };
  return { refusals: [], requestId: await saveAcceptedRequest(db, input, actor, rpa, now) };
}

/** Records a request that passed the issuance rules (with the visit's last change, its RPA jobs and the audit record). */
export async function saveAcceptedRequest(
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
