import type { Knex } from 'knex';
import type { StaffSession } from '../auth/sessions.js';
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
  kind: string;
  label: string;
  insuredNo: string | null;
  acquiredDate: string | null;
  lostDate: string | null;
}

const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/**
 * A resident as the viewer may see them. The one place that decides whether a 支援措置 address
 * is shown: pages, PDFs and CSVs must all build on this, never on the raw row.
 */
export function presentResident(
  row: Record<string, unknown>,
  warnings: readonly Warning[],
  viewer: StaffSession,
  householdProtected = false,
): PresentedResident {
  const masked = (householdProtected || isProtected(warnings)) && !viewer.permissions.has('resident.viewProtectedAddress');
  const birth = row.birth_date_unknown ? null : ((row.birth_date as string | null) ?? null);
  return {
    addresseeNo: str(row.addressee_no),
    householdNo: str(row.household_no),
    name: str(row.name),
    nameKana: (row.name_kana as string | null) ?? null,
    sex: sexLabels[str(row.sex)] ?? str(row.sex),
    birthDate: birth,
    birthDateWareki: birth ? formatWareki(birth) : '不詳',
    status: residentStatus[str(row.resident_status)] ?? str(row.resident_status),
    relationship: (row.relationship_label as string | null) ?? null,
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
  const rows = (await knex('entitlements')
    .whereIn('addressee_no', [...new Set(addresseeNos)])
    .whereIn('kind', kinds)
    .orderBy(['addressee_no', 'kind'])) as Record<string, unknown>[];
  for (const r of rows) {
    const no = str(r.addressee_no);
    const kind = str(r.kind);
    out.set(no, [
      ...(out.get(no) ?? []),
      {
        kind,
        label: entitlementKindLabels[kind as EntitlementKind] ?? kind,
        insuredNo: (r.insured_no as string | null) ?? null,
        acquiredDate: (r.acquired_date as string | null) ?? null,
        lostDate: (r.lost_date as string | null) ?? null,
      },
    ]);
  }
  return out;
}
