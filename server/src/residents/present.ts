import type { Knex } from 'knex';
import type { StaffSession } from '../auth/sessions.js';
import type { ResidentRow } from '../db/tables.generated.js';
import { entitlementKindLabels } from '../auth/permissions.js';
import type { EntitlementKind } from '../domain/codes.js';
import { sex as sexLabels, residentStatus } from '../domain/codes.js';
import { formatWareki } from '../domain/wareki.js';
import { isProtected, MASKED_ADDRESS, type Warning } from './warnings.js';

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
  /** null only when there is none; masked text when protected and the viewer lacks the right. */
  address: string;
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
  const masked = (householdProtected || isProtected(warnings)) && !viewer.permissions.has('resident.viewProtectedAddress');
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
    address: masked
      ? MASKED_ADDRESS
      : [row.prefecture, row.city, row.town_name, row.block_number].map(str).join('') +
        (row.address_suffix ? ` ${str(row.address_suffix)}` : ''),
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
