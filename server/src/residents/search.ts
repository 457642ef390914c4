import type { Knex } from 'knex';
import { kanaExactKey, kanaFoldKey, kanaPrefixRange, nameExactKey, nameVariantKey } from '../domain/searchKeys.js';

export interface ResidentQuery {
  name?: string;
  kana?: string;
  birthDate?: string;
  limit: number;
}

export interface ResidentHit {
  row: Record<string, unknown>;
  /** How the row matched: exact key, or only after folding variants or kana forms (flagged). */
  match: 'exact' | 'variant' | 'kanaFold';
}

const COLUMNS = ['addressee_no', 'household_no', 'resident_status', 'resident_kind', 'name', 'name_kana', 'sex', 'birth_date', 'birth_date_unknown', 'relationship_label', 'prefecture', 'city', 'town_name', 'block_number', 'address_suffix'];

/**
 * Resident search on the key columns: exact matches first, then variant-kanji (髙→高) or folded
 * kana (small kana, ゛) matches, which the caller flags. At least one condition is required.
 */
export async function searchResidents(knex: Knex, q: ResidentQuery): Promise<ResidentHit[]> {
  const base = () => {
    const b = knex('residents').select(COLUMNS);
    if (q.birthDate) b.where({ birth_date: q.birthDate });
    return b.orderBy('name_kana_key').orderBy('addressee_no').limit(q.limit);
  };
  const hits: ResidentHit[] = [];
  const seen = new Set<string>();
  const take = (rows: Record<string, unknown>[], match: ResidentHit['match']) => {
    for (const row of rows) {
      const no = String(row.addressee_no);
      if (seen.has(no) || hits.length >= q.limit) continue;
      seen.add(no);
      hits.push({ row, match });
    }
  };
  if (q.name) {
    take(await base().where({ name_key: nameExactKey(q.name) }), 'exact');
    take(await base().where({ name_variant_key: nameVariantKey(q.name) }), 'variant');
  } else if (q.kana) {
    const [lo, hi] = kanaPrefixRange(kanaExactKey(q.kana));
    take(await base().where('name_kana_key', '>=', lo).andWhere('name_kana_key', '<', hi), 'exact');
    const [flo, fhi] = kanaPrefixRange(kanaFoldKey(q.kana));
    take(await base().where('name_kana_fold_key', '>=', flo).andWhere('name_kana_fold_key', '<', fhi), 'kanaFold');
  } else if (q.birthDate) {
    take(await base(), 'exact');
  }
  return hits;
}
