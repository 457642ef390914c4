import { addressKey, kanaExactKey, kanaFoldKey, nameExactKey, nameVariantKey } from '../../domain/searchKeys.js';

type Values = Record<string, unknown>;
const s = (v: unknown): string => (typeof v === 'string' ? v : '');

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
    address_key: addressKey(s(r.town_name) + s(r.block_number)),
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
