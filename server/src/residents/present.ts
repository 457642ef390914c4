import type { Knex } from 'knex';
import type { StaffSession } from '../auth/sessions.js';
import type { ResidentRow } from '../db/tables.generated.js';
import { entitlementKindLabels } from '../auth/permissions.js';
import type { EntitlementKind } from '../domain/codes.js';
import { sex as sexLabels, residentStatus } from '../domain/codes.js';
import { formatWareki } from '../domain/wareki.js';
import type { NoticeData } from '../domain/noticeValidation.js';
import type { Notice } from '../notices/queries.js';
import type { Visit, VisitSubject } from '../visits/queries.js';
import { presentAddress, type AddressPresenter, type PresentedAddress } from './protection.js';
import { isProtected, type Warning } from './warnings.js';

export interface PresentedResident {
  addresseeNo: string;
  householdNo: string;
  name: string;
  nameKana: string | null;
  sex: string;
  birthDate: string | null;
  birthDateWareki: string;
  status: string;
  relationship: string | null;
  /** From the one presenter: masked text when protected and the viewer lacks the right. */
  address: PresentedAddress;
  addressMasked: boolean;
  warnings: Warning[];
}

export interface PresentedEntitlement {
  kind: EntitlementKind;
  label: string;
  insuredNo: string | null;
  acquiredDate: string | null;
  lostDate: string | null;
}

const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/**
 * The columns a resident is presented from. Search results of non-residents and corporations are
 * selected in the same shape, without the columns their tables lack.
 */
export type PresentableRow = Pick<ResidentRow, 'addressee_no' | 'name'> &
  Partial<
    Pick<
      ResidentRow,
      | 'household_no'
      | 'name_kana'
      | 'sex'
      | 'birth_date'
      | 'birth_date_unknown'
      | 'resident_status'
      | 'relationship_label'
      | 'prefecture'
      | 'city'
      | 'town_name'
      | 'block_number'
      | 'address_suffix'
    >
  >;

/** The registered address of a row as one line (町字・番地, then the 方書 after a space). */
export function registeredAddress(row: PresentableRow): string {
  return (
    [row.prefecture, row.city, row.town_name, row.block_number].map(str).join('') +
    (row.address_suffix ? ` ${str(row.address_suffix)}` : '')
  );
}

/**
 * A resident as the viewer may see them. The one place that decides whether a 支援措置 address
 * is shown: pages, PDFs and CSVs must all build on this, never on the raw row.
 */
export function presentResident(
  row: PresentableRow,
  warnings: readonly Warning[],
  viewer: StaffSession,
  householdProtected = false,
): PresentedResident {
  const isProtectedRow = householdProtected || isProtected(warnings);
  const masked = isProtectedRow && !viewer.permissions.has('resident.viewProtectedAddress');
  const birth = row.birth_date_unknown ? null : (row.birth_date ?? null);
  return {
    addresseeNo: row.addressee_no,
    householdNo: str(row.household_no),
    name: row.name,
    nameKana: row.name_kana ?? null,
    sex: sexLabels[str(row.sex)] ?? str(row.sex),
    birthDate: birth,
    birthDateWareki: birth ? formatWareki(birth) : '不詳',
    status: residentStatus[str(row.resident_status)] ?? str(row.resident_status),
    relationship: row.relationship_label ?? null,
    address: presentAddress(viewer, registeredAddress(row), isProtectedRow),
    addressMasked: masked,
    warnings: [...warnings],
  };
}

/** Entitlements of people, limited to the kinds the viewer's active role may see (D-15). */
export async function entitlementsFor(
  knex: Knex,
  addresseeNos: readonly string[],
  viewer: StaffSession,
): Promise<Map<string, PresentedEntitlement[]>> {
  const kinds = [...viewer.scopes];
  const out = new Map<string, PresentedEntitlement[]>();
  if (!kinds.length || !addresseeNos.length) return out;
  const rows = await knex('entitlements')
    .whereIn('addressee_no', [...new Set(addresseeNos)])
    .whereIn('kind', kinds)
    .orderBy(['addressee_no', 'kind']);
  for (const r of rows) {
    const label = entitlementKindLabels[r.kind as EntitlementKind] ?? r.kind;
    out.set(r.addressee_no, [
      ...(out.get(r.addressee_no) ?? []),
      { kind: r.kind as EntitlementKind, label, insuredNo: r.insured_no, acquiredDate: r.acquired_date, lostDate: r.lost_date },
    ]);
  }
  return out;
}

/** A visit as the viewer may see it: the visitor's and hand-typed subjects' addresses presented. */
export interface PresentedVisit extends Omit<Visit, 'visitorAddress' | 'subjects'> {
  visitorAddress: PresentedAddress | null;
  subjects: (Omit<VisitSubject, 'manualAddress'> & { manualAddress: PresentedAddress | null })[];
  /** The visit touches a protected person or address (the 支援措置 warning is shown). */
  addressProtected: boolean;
}

/**
 * The visit through the protection decision: a protected subject or visitor, or a typed address
 * equal to a protected one, protects every address of the visit (the visitor is usually the
 * subject, and a proxy's form was often pre-filled from the subject's record).
 */
export function presentVisit(p: AddressPresenter, v: Visit): PresentedVisit {
  const d = p.decide.visit(v);
  const targets = [`visit:${v.id}`, ...v.subjects.flatMap((s) => (s.addresseeNo ? [s.addresseeNo] : []))];
  return {
    ...v,
    visitorAddress: p.present(v.visitorAddress, d, targets),
    subjects: v.subjects.map((s) => ({ ...s, manualAddress: p.present(s.manualAddress, d, targets) })),
    addressProtected: d.protected,
  };
}

/** The typed addresses of a notice. */
export const NOTICE_ADDRESS_FIELDS = ['previousAddress', 'newAddress', 'nextAddress'] as const;
type NoticeAddressField = (typeof NOTICE_ADDRESS_FIELDS)[number];

/** A notice's data with its typed addresses presented. */
export type PresentedNoticeData = Omit<NoticeData, NoticeAddressField> & Partial<Record<NoticeAddressField, PresentedAddress>>;

/** A notice as the viewer may see it. */
export interface PresentedNotice extends Omit<Notice, 'data'> {
  data: PresentedNoticeData;
  /** The subject, household, target household or a typed address is protected: the 支援措置 warning is shown. */
  addressProtected: boolean;
  /** Only staff holding `resident.viewProtectedAddress` may review it (審査は支援措置担当). */
  reviewBySupportMeasures: boolean;
}

/** What the protection decision reads of a notice. */
export const noticeSubjectOf = (n: Pick<Notice, 'members' | 'householdNo' | 'data'>) => ({
  memberNos: n.members.flatMap((m) => (m.addresseeNo ? [m.addresseeNo] : [])),
  householdNo: n.householdNo,
  data: n.data,
});

/** The notice through the protection decision: every typed address masked when any part of it is protected. */
export function presentNotice(p: AddressPresenter, n: Notice): PresentedNotice {
  const d = p.decide.notice(noticeSubjectOf(n));
  const targets = [String(n.id), ...noticeSubjectOf(n).memberNos];
  const data: PresentedNoticeData = { ...n.data } as PresentedNoticeData;
  for (const f of NOTICE_ADDRESS_FIELDS) {
    const v = n.data[f];
    if (v !== undefined) data[f] = p.present(v, d, targets);
  }
  return { ...n, data, addressProtected: d.protected, reviewBySupportMeasures: d.protected };
}
