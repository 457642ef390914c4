import type { Knex } from 'knex';
import type { IssuanceBanRow, ResidentRow, SupportMeasureRow } from '../db/tables.generated.js';
import { todayInJapan } from '../domain/japanTime.js';
import { issuanceBanKind, supportMeasureKind } from '../domain/codes.js';

export interface Warning {
  kind: 'supportMeasure' | 'issuanceBan' | 'arrears';
  label: string;
}

const active = (q: Knex.QueryBuilder, today: string) =>
  q
    .where('support_measures.start_date', '<=', today)
    .andWhere((w) =>
      w.whereNull('support_measures.end_date').orWhere('support_measures.end_date', '').orWhere('support_measures.end_date', '>=', today),
    );
const activeBan = (q: Knex.QueryBuilder, today: string) =>
  q.where('start_date', '<=', today).andWhere((w) => w.whereNull('end_date').orWhere('end_date', '').orWhere('end_date', '>=', today));

/**
 * The warnings of each person, 支援措置 first (B-8, D-17). A support measure counts while it runs
 * (code 1 支援措置 or 2 仮支援措置, start ≤ today ≤ end); code 3 records its end.
 */
export async function warningsFor(knex: Knex, addresseeNos: readonly string[], now: Date = new Date()): Promise<Map<string, Warning[]>> {
  const out = new Map<string, Warning[]>();
  if (!addresseeNos.length) return out;
  const today = todayInJapan(now);
  const add = (no: string, w: Warning) => out.set(no, [...(out.get(no) ?? []), w]);
  const ids = [...new Set(addresseeNos)];
  const [measures, bans, arrears] = await Promise.all([
    active(knex('support_measures').whereIn('addressee_no', ids).whereIn('measure_code', ['1', '2']), today).select<
      Pick<SupportMeasureRow, 'addressee_no' | 'measure_code'>[]
    >('addressee_no', 'measure_code'),
    activeBan(knex('issuance_bans').whereIn('addressee_no', ids), today).select<Pick<IssuanceBanRow, 'addressee_no' | 'ban_kind_code'>[]>(
      'addressee_no',
      'ban_kind_code',
    ),
    knex('arrears').whereIn('addressee_no', ids).distinct('addressee_no'),
  ]);
  for (const m of measures) add(m.addressee_no, { kind: 'supportMeasure', label: supportMeasureKind[m.measure_code] ?? '支援措置' });
  for (const b of bans)
    add(b.addressee_no, { kind: 'issuanceBan', label: `発行禁止 (${issuanceBanKind[b.ban_kind_code] ?? b.ban_kind_code})` });
  for (const a of arrears) add(a.addressee_no, { kind: 'arrears', label: '滞納あり' });
  return out;
}

export const isProtected = (warnings: readonly Warning[] | undefined): boolean => (warnings ?? []).some((w) => w.kind === 'supportMeasure');

/** What replaces a protected address for staff without `resident.viewProtectedAddress`. */
export const MASKED_ADDRESS = '＊＊＊ 支援措置対象のため住所は表示できません ＊＊＊';

/** A row that may say where someone lives (a resident row, or a search result of another table). */
export interface PlacedRow {
  household_no?: unknown;
  address_key?: unknown;
}

/** Which households and which addresses are protected by a running support measure. */
export interface Protection {
  households: ReadonlySet<string>;
  addresses: ReadonlySet<string>;
  /** Whether a row (a resident with household_no and address_key) lives at a protected place. */
  covers(row: PlacedRow): boolean;
}

/**
 * Households with a member under a running support measure, and the addresses they live at.
 * Everyone in such a household, and everyone registered at the same address (another household
 * in the same house), shares the protected address, so it is masked for all of them — otherwise
 * searching a neighbour would reveal where the protected person lives.
 */
export async function protectionFor(knex: Knex, rows: readonly PlacedRow[], now: Date = new Date()): Promise<Protection> {
  const households = [...new Set(rows.map((r) => r.household_no).filter((x): x is string => typeof x === 'string' && x !== ''))];
  const addresses = [...new Set(rows.map((r) => r.address_key).filter((x): x is string => typeof x === 'string' && x !== ''))];
  const empty: Protection = { households: new Set(), addresses: new Set(), covers: () => false };
  if (!households.length && !addresses.length) return empty;
  const today = todayInJapan(now);
  // Two lookups, each on its own index (household_no, address_key): an OR across both would scan.
  const lookup = (column: 'household_no' | 'address_key', values: string[]) =>
    values.length
      ? active(
          knex('residents')
            .join('support_measures', 'support_measures.addressee_no', 'residents.addressee_no')
            .whereIn(`residents.${column}`, values)
            .whereIn('support_measures.measure_code', ['1', '2']),
          today,
        ).distinct<Pick<ResidentRow, 'household_no' | 'address_key'>[]>('residents.household_no', 'residents.address_key')
      : Promise.resolve([]);
  const found = [...(await lookup('household_no', households)), ...(await lookup('address_key', addresses))];
  const h = new Set(found.map((r) => r.household_no));
  const a = new Set(found.map((r) => r.address_key).filter((x): x is string => !!x));
  return {
    households: h,
    addresses: a,
    covers: (row) => h.has(String(row.household_no)) || (typeof row.address_key === 'string' && a.has(row.address_key)),
  };
}
