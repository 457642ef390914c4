import { addressKey, kanaExactKey, kanaFoldKey, nameExactKey, nameVariantKey } from '../../domain/searchKeys.js';
import { currentVariantTable, type VariantTable } from '../../domain/variants.js';

type Values = Record<string, unknown>;
const s = (v: unknown): string => (typeof v === 'string' ? v : '');

/**
 * addressKey of the residents' last few thousand distinct addresses. The people of a household
 * share its address, and the households of a block their block: 101,234 residents of the demo
 * town have 28,000 distinct addresses, and their address keys took 377 ms, 171 ms with this
 * memo. Households and the address master have (nearly) one row per address: there the memo
 * would only cost (+15 %). Names are not memoized: the demo town's 9,000 distinct names in
 * 100,000 residents would flatter it, where a real register's names are mostly distinct. Dropped
 * whole when full or when the 異体字 table changes, so a key never outlives the rules it was made by.
 */
const ADDRESS_MEMO_SIZE = 10_000;
let addressMemo = new Map<string, string>();
let memoTable: VariantTable | undefined;
function memoAddressKey(text: string): string {
  const table = currentVariantTable();
  if (table !== memoTable || addressMemo.size >= ADDRESS_MEMO_SIZE) {
    addressMemo = new Map();
    memoTable = table;
  }
  let key = addressMemo.get(text);
  if (key === undefined) {
    key = addressKey(text);
    addressMemo.set(text, key);
  }
  return key;
}

/**
 * Search-key columns derived from the registered text, per cache table. Exact keys rank first;
 * the folded kana key and the variant-kanji key are fallbacks that the search flags.
 */
export const derivedKeys: Readonly<Record<string, (row: Values) => Values>> = {
  residents: (r) => ({
    name_key: nameExactKey(s(r.name)),
    name_variant_key: nameVariantKey(s(r.name)),
    name_kana_key: kanaExactKey(s(r.name_kana)),
    name_kana_fold_key: kanaFoldKey(s(r.name_kana)),
    alias_key: r.alias ? nameExactKey(s(r.alias)) : null,
    address_key: memoAddressKey(s(r.town_name) + s(r.block_number)),
  }),
  households: (r) => ({ address_key: addressKey(s(r.town_name) + s(r.block_number)) }),
  non_residents: (r) => ({
    name_key: nameExactKey(s(r.name)),
    name_variant_key: nameVariantKey(s(r.name)),
    name_kana_key: kanaExactKey(s(r.name_kana)),
    name_kana_fold_key: kanaFoldKey(s(r.name_kana)),
  }),
  corporations: (r) => ({
    name_key: nameExactKey(s(r.name)),
    name_kana_key: kanaExactKey(s(r.name_kana)),
    name_kana_fold_key: kanaFoldKey(s(r.name_kana)),
  }),
  address_master: (r) => ({ address_key: addressKey(s(r.town_name) + s(r.block_number)) }),
};

export function derivedKeyColumns(table: string): string[] {
  const f = derivedKeys[table];
  return f ? Object.keys(f({})) : [];
}

/** Where each insert column's value comes from (see `insertRowBuilder`). */
export type InsertSource = 'values' | 'derived' | 'unmapped_gaiji' | 'linkage_run_id';

export interface InsertRowBuilder {
  /** The insert row; into `out` when given (the row worker reuses one array). */
  (r: { values: Values; unmappedGaiji: number }, out?: unknown[]): unknown[];
  /** The insert row with its derived search keys left out (undefined), for `deriveInto` to add later. */
  withoutDerived(r: { values: Values; unmappedGaiji: number }, out: unknown[]): unknown[];
  /** Adds the derived search keys of these values to an insert row made by `withoutDerived`. */
  deriveInto(values: Values, out: unknown[]): void;
  readonly columns: readonly string[];
  readonly sources: readonly InsertSource[];
  /** The run id the rows get, and its column's index (-1: none). */
  readonly runId: number;
  readonly runIdAt: number;
}

/** An insert value for every driver: undefined as null, booleans as 0/1. */
const insertValue = (v: unknown): unknown => (v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : v);
const SKIP: Values = {};

/**
 * The insert row of a parsed linkage row, straight in `columns` order: the row's values, its
 * derived search keys, its unmapped 外字 count and the run id; undefined as null and booleans as
 * 0/1 for every driver. One definition for apply.ts and the row worker (which builds the rows
 * of a full file beside the parsing), so both always write the same thing.
 */
export function insertRowBuilder(columns: readonly string[], table: string, runId: number): InsertRowBuilder {
  const derive = derivedKeys[table];
  const derivedSet = new Set(derivedKeyColumns(table));
  const sources: InsertSource[] = columns.map((c) =>
    c === 'unmapped_gaiji' ? 'unmapped_gaiji' : c === 'linkage_run_id' ? 'linkage_run_id' : derivedSet.has(c) ? 'derived' : 'values',
  );
  const width = columns.length;
  const fill = (r: { values: Values; unmappedGaiji: number }, out: unknown[], keys: Values | undefined): unknown[] => {
    for (let i = 0; i < width; i++) {
      const c = columns[i]!;
      const src = sources[i];
      if (src === 'derived') out[i] = keys === SKIP ? undefined : insertValue(keys![c]);
      else out[i] = insertValue(src === 'unmapped_gaiji' ? r.unmappedGaiji : src === 'linkage_run_id' ? runId : r.values[c]);
    }
    return out;
  };
  const build = (r: { values: Values; unmappedGaiji: number }, out = new Array<unknown>(width)): unknown[] =>
    fill(r, out, derive ? derive(r.values) : undefined);
  return Object.assign(build, {
    withoutDerived: (r: { values: Values; unmappedGaiji: number }, out: unknown[]) => fill(r, out, SKIP),
    deriveInto: (values: Values, out: unknown[]) => {
      if (!derive) return;
      const keys = derive(values);
      for (let i = 0; i < width; i++) if (sources[i] === 'derived') out[i] = insertValue(keys[columns[i]!]);
    },
    columns,
    sources,
    runId,
    runIdAt: sources.indexOf('linkage_run_id'),
  });
}
