import type { Knex } from 'knex';
import type { StaffSession } from '../auth/sessions.js';
import type { FormData } from '../printing/render.js';
import { registeredAddress, type PresentableRow } from '../residents/present.js';
import { anyOf, presenterFor, type AddressPresenter } from '../residents/protection.js';
import { MASKED_ADDRESS } from '../residents/warnings.js';
import type { Visit } from '../visits/visits.js';
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
  /** The presenter the addresses went through: its audit records a protected address printed unmasked. */
  presenter: AddressPresenter;
}

/**
 * The printed request of a visit (null when the visit has no such request). The first line's
 * person is the one named on the form; 「窓口に来た人」 is the visitor of the identity check. Both
 * addresses go through one protection decision (the person, the visit's subjects and visitor):
 * masked for a viewer without the right when any of them is protected.
 */
export async function certificateRequestPrint(
  db: Knex,
  catalog: CertificateCatalog,
  visit: Visit,
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
    ? ((await db('residents').where({ addressee_no: subjectNo }).first()) as (PresentableRow & Record<string, unknown>) | undefined)
    : undefined;
  const presenter = await presenterFor(db, viewer, now);
  const d = anyOf(person ? presenter.decide.row(person) : presenter.decide.person(null), presenter.decide.visit(visit));
  const targets = [`certificateRequest:${request.id}`, `visit:${visit.id}`, ...(subjectNo ? [subjectNo] : [])];
  const masked = d.protected && !presenter.canSee;
  const address = person ? (presenter.present(registeredAddress(person), d, targets) as string) : '';
  // 「窓口に来た人」 follows the request's relation: the person or one of the household lives at the
  // person's address; a 代理人 or 第三者 gave their own (never the person's, whatever the identity
  // form's role says).
  const requesterAddress =
    request.relation === 'self' || request.relation === 'household' ? address : (presenter.present(visit.visitorAddress, d, targets) ?? '');
  return {
    request,
    subjectNo,
    masked,
    presenter,
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
        requester: {
          relationship: requesterRelations[request.relation],
          ...(visit.visitorName ? { name: visit.visitorName } : {}),
          ...(visit.visitorKana ? { kana: visit.visitorKana } : {}),
          ...(visit.visitorName && requesterAddress ? { address: requesterAddress } : {}),
          ...(visit.visitorPhone ? { phone: visit.visitorPhone } : {}),
        },
        lines: lines.map((l) => ({
          label: l.name,
          count: l.copies,
          fee: l.unitFee,
          amount: l.amount,
          ...(l.exempt ? { note: l.exemptReason ?? '免除' } : {}),
        })),
      },
      masks: masked ? { 'subject.address': MASKED_ADDRESS, 'certificate.requester.address': MASKED_ADDRESS } : {},
    },
  };
}
