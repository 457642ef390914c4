import type { Knex } from 'knex';
import type { StaffSession } from '../auth/sessions.js';
import type { FormData } from '../printing/render.js';
import { MASKED_ADDRESS, protectionFor } from '../residents/warnings.js';
import type { CertificateCatalog } from './catalog.js';
import { requesterRelations, type RequesterRelation } from './commands/acceptCertificateRequest.js';
import type { PricedRequest } from './fees.js';

/**
 * Certificate requests: the issuance rules and the accepting command live in
 * `commands/acceptCertificateRequest.ts`; this module is the read model (the requests of a visit,
 * the people a request can be for, the printed request's content).
 */
export {
  acceptCertificateRequest,
  issuanceRefusals,
  requesterRelations,
  type Refusal,
  type RequesterRelation,
} from './commands/acceptCertificateRequest.js';

/** A request as accepted (its lines priced when it was taken). */
export interface SavedCertificateRequest {
  id: number;
  visitId: number;
  relation: RequesterRelation;
  lines: PricedRequest['lines'];
  total: number;
}

interface RequestRow {
  id: number;
  visit_id: number;
  requester_relation: string;
  lines: string;
  total: number | string;
}

const saved = (r: RequestRow): SavedCertificateRequest => ({
  id: Number(r.id),
  visitId: Number(r.visit_id),
  relation: r.requester_relation as RequesterRelation,
  lines: JSON.parse(r.lines) as PricedRequest['lines'],
  total: Number(r.total),
});

/** The requests accepted in a visit, oldest first. */
export async function certificateRequestsOfVisit(db: Knex, visitId: number): Promise<SavedCertificateRequest[]> {
  const rows = (await db('certificate_requests').where({ visit_id: visitId }).orderBy('id')) as RequestRow[];
  return rows.map(saved);
}

/**
 * Who a request's lines can be for: the visit's subjects from the register, and the visitor (a
 * resident, 住登外者 or corporation). The accepting command checks the same (`subjectRefusals`).
 */
export async function requestableSubjects(db: Knex, visitId: number): Promise<{ no: string; name: string }[]> {
  const subjects = (await db('visit_subjects')
    .join('residents', 'residents.addressee_no', 'visit_subjects.addressee_no')
    .where({ visit_id: visitId })
    .orderBy('visit_subjects.id')
    .select('visit_subjects.addressee_no as no', 'residents.name')) as { no: string; name: string }[];
  const visit = (await db('visits').where({ id: visitId }).first('visitor_addressee_no')) as
    { visitor_addressee_no: string | null } | undefined;
  const visitor = visit?.visitor_addressee_no ?? null;
  if (!visitor || subjects.some((x) => x.no === visitor)) return subjects;
  for (const table of ['residents', 'non_residents', 'corporations']) {
    const r = (await db(table).where({ addressee_no: visitor }).first('name')) as { name: string } | undefined;
    if (r) return [...subjects, { no: visitor, name: `${r.name} (来庁者)` }];
  }
  return subjects;
}

/** What the certificate request page shows beside the form. */
export async function certificateRequestPage(db: Knex, visitId: number) {
  const [subjects, requests] = await Promise.all([requestableSubjects(db, visitId), certificateRequestsOfVisit(db, visitId)]);
  return { subjects, saved: requests };
}

/** The content of the printed 証明書交付請求書 (様式 shomei-seikyu), the address masked for a protected person. */
export interface CertificateRequestPrint {
  request: SavedCertificateRequest;
  subjectNo: string | null;
  masked: boolean;
  data: FormData;
}

/**
 * The printed request of a visit (null when the visit has no such request). The first line's
 * person is the one named on the form; a 支援措置 address is masked unless the viewer may see it.
 */
export async function certificateRequestPrint(
  db: Knex,
  catalog: CertificateCatalog,
  visit: { id: number; visitNo: string },
  requestId: number,
  viewer: Pick<StaffSession, 'permissions'>,
  now = new Date(),
): Promise<CertificateRequestPrint | null> {
  const row = (await db('certificate_requests').where({ id: requestId, visit_id: visit.id }).first()) as RequestRow | undefined;
  if (!row) return null;
  const request = saved(row);
  const lines = request.lines;
  const subjectNo = lines[0]?.subject.addresseeNo ?? null;
  const person = subjectNo
    ? ((await db('residents').where({ addressee_no: subjectNo }).first()) as Record<string, unknown> | undefined)
    : undefined;
  const protection = await protectionFor(db, person ? [person] : []);
  const masked = person !== undefined && protection.covers(person) && !viewer.permissions.has('resident.viewProtectedAddress');
  const address = person
    ? [person.prefecture, person.city, person.town_name, person.block_number].map((x) => (typeof x === 'string' ? x : '')).join('')
    : '';
  return {
    request,
    subjectNo,
    masked,
    data: {
      visit: { visitNo: visit.visitNo, date: now.toISOString().slice(0, 10) },
      subject: {
        name: person ? String(person.name) : '',
        address,
        ...(person?.birth_date ? { birthDate: String(person.birth_date) } : {}),
      },
      certificate: {
        total: request.total,
        purpose: [...new Set(lines.map((l) => catalog.purposeById.get(l.purposeId)?.label ?? l.purposeId))].join('・'),
        requester: { relationship: requesterRelations[request.relation] },
        lines: lines.map((l) => ({
          label: l.name,
          count: l.copies,
          fee: l.unitFee,
          amount: l.amount,
          ...(l.exempt ? { note: l.exemptReason ?? '免除' } : {}),
        })),
      },
      masks: masked ? { 'subject.address': MASKED_ADDRESS } : {},
    },
  };
}
