import { addressKey } from '../../domain/address.js';
import { kanaKey, nameKey } from '../../domain/text.js';
import { foldVariants } from '../../domain/variants.js';

type Values = Record<string, unknown>;
const s = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Search-key columns derived from the registered text, per cache table. */
export const derivedKeys: Readonly<Record<string, (row: Values) => Values>> = {
  residents: (r) => {
    const nk = nameKey(s(r.name));
    return {
      name_key: nk,
      name_variant_key: foldVariants(nk),
      name_kana_key: kanaKey(s(r.name_kana)),
      alias_key: r.alias ? nameKey(s(r.alias)) : null,
      address_key: addressKey(s(r.town_name) + s(r.block_number)),
    };
  },
  households: (r) => ({ address_key: addressKey(s(r.town_name) + s(r.block_number)) }),
  non_residents: (r) => {
    const nk = nameKey(s(r.name));
    return { name_key: nk, name_variant_key: foldVariants(nk), name_kana_key: kanaKey(s(r.name_kana)) };
  },
  corporations: (r) => ({ name_key: nameKey(s(r.name)), name_kana_key: kanaKey(s(r.name_kana)) }),
  address_master: (r) => ({ address_key: addressKey(s(r.town_name) + s(r.block_number)) }),
};

export function derivedKeyColumns(table: string): string[] {
  const f = derivedKeys[table];
  return f ? Object.keys(f({})) : [];
}
