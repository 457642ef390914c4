import type { Knex } from 'knex';
import { enqueueCertificateRequest, type QueueSettings, type ScenarioCheck } from '../rpa/jobs.js';
import { appendAudit } from '../audit/trail.js';
import type { StaffSession } from '../auth/sessions.js';
import type { AuditActor } from '../auth/staffRepo.js';
import { warningsFor } from '../residents/warnings.js';
import type { PricedRequest } from './fees.js';

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
  viewer: StaffSession,
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

export async function saveCertificateRequest(
  db: Knex,
  visitId: number,
  priced: PricedRequest,
  relation: RequesterRelation,
  memo: string,
  staffId: number,
  actor: AuditActor,
  rpa?: { settings: QueueSettings; hasScenario: ScenarioCheck },
  now = new Date(),
): Promise<number> {
  return db.transaction(async (trx) => {
    const visit = (await trx('visits').where({ id: visitId }).first('status')) as { status: string } | undefined;
    if (!visit) throw Object.assign(new Error('指定された来庁記録はありません'), { status: 404, expose: true });
    if (visit.status === 'closed') throw Object.assign(new Error('この来庁記録は完了しています'), { status: 409, expose: true });
    const [row] = await trx('certificate_requests')
      .insert({
        visit_id: visitId,
        requester_relation: relation,
        lines: JSON.stringify(priced.lines),
        total: priced.total,
        memo: memo.slice(0, 500) || null,
        created_by: staffId,
        created_at: now,
      })
      .returning('id');
    const id = typeof row === 'object' ? (row as { id: number }).id : Number(row);
    await trx('visits').where({ id: visitId }).update({ updated_by: staffId, updated_at: now });
    if (rpa) await enqueueCertificateRequest(trx, id, priced, rpa.settings, rpa.hasScenario, now);
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'certificate.accept',
        targetKind: 'certificateRequest',
        targetIds: [String(id), ...priced.lines.flatMap((l) => (l.subject.addresseeNo ? [l.subject.addresseeNo] : []))],
        result: 'success',
        detail: { visit: visitId, relation, total: priced.total, types: priced.lines.map((l) => l.typeId) },
      },
      now,
    );
    return id;
  });
}
