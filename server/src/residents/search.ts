import type { Knex } from 'knex';
import type { ResidentRow } from '../db/tables.generated.js';
import { countOf } from '../db/values.js';
import type { PresentableRow } from './present.js';
import { addressKey, kanaExactKey, kanaFoldKey, kanaPrefixRange, nameExactKey, nameVariantKey } from '../domain/searchKeys.js';

/** Who is searched: current residents (default), also former ones, foreign residents only, non-residents, corporations. */
export const searchTargets = ['residents', 'former', 'foreign', 'nonResidents', 'corporations'] as const;
export type SearchTarget = (typeof searchTargets)[number];

export interface ResidentQuery {
  target: SearchTarget;
  name?: string;
  kana?: string;
  /** Inclusive range of birth dates (a day, a month or a year as typed). */
  birth?: { from: string; to: string };
  address?: string;
  sex?: '1' | '2';
  page: number;
  pageSize: number;
}

/** A search result: the columns selected for the target (`RESIDENT_COLUMNS` …). */
export type HitRow = PresentableRow & Partial<Pick<ResidentRow, 'address_key'>> & Record<string, unknown>;

export interface ResidentHit {
  row: HitRow;
  /** How the row matched: exact key, or only after folding variant kanji or kana forms (flagged). */
  match: 'exact' | 'variant' | 'kanaFold';
}

export interface SearchPage {
  hits: ResidentHit[];
  /** Matches in all, counted up to COUNT_CAP. */
  total: number;
  totalCapped: boolean;
}

/**
 * Counting stops here: "200 件以上" tells staff to narrow the search. A count walks the index and
 * looks up each row (about 6 µs each at 1 M people), so the cap bounds the cost of every search.
 */
export const COUNT_CAP = 200;

const RESIDENT_COLUMNS = [
  'addressee_no',
  'household_no',
  'resident_status',
  'resident_kind',
  'name',
  'name_kana',
  'name_roman',
  'alias',
  'sex',
  'birth_date',
  'birth_date_unknown',
  'relationship_label',
  'prefecture',
  'city',
  'town_name',
  'block_number',
  'address_suffix',
  'address_key',
];
const NON_RESIDENT_COLUMNS = [
  'addressee_no',
  'name',
  'name_kana',
  'sex',
  'birth_date',
  'birth_date_unknown',
  'prefecture',
  'city',
  'town_name',
  'block_number',
  'address_suffix',
  'reason_code',
];
const CORPORATION_COLUMNS = [
  'addressee_no',
  'corporate_number',
  'name',
  'name_kana',
  'representative_name',
  'prefecture',
  'city',
  'town_name',
  'block_number',
  'address_suffix',
];

type Where = (q: Knex.QueryBuilder) => Knex.QueryBuilder;

interface Phase {
  match: ResidentHit['match'];
  where: Where;
  order: string;
}

/**
 * Search on the key columns. `narrow` adds a condition on resident rows (the protection decision's
 * `withoutProtected` for staff without the right), applied before counting and paging. Exact matches come first, then rows that match only after folding
 * variant kanji (髙→高, flagged) or kana forms (small kana, ゛, ー). Each phase walks one index in
 * key order, so a page costs an index range scan, not a sort of every match.
 */
export async function searchResidents(knex: Knex, q: ResidentQuery, narrow?: Where): Promise<SearchPage> {
  const table = q.target === 'nonResidents' ? 'non_residents' : q.target === 'corporations' ? 'corporations' : 'residents';
  const columns = table === 'residents' ? RESIDENT_COLUMNS : table === 'non_residents' ? NON_RESIDENT_COLUMNS : CORPORATION_COLUMNS;
  const filters: Where = (b) => {
    if (table === 'residents') {
      if (q.target === 'residents') b.where('resident_status', '1');
      if (q.target === 'foreign') b.where({ resident_kind: '2', resident_status: '1' });
    }
    if (q.birth && table !== 'corporations') b.whereBetween('birth_date', [q.birth.from, q.birth.to]);
    if (q.sex && table !== 'corporations') b.where('sex', q.sex);
    if (q.address && table === 'residents') {
      const [lo, hi] = kanaPrefixRange(addressKey(q.address));
      b.where('address_key', '>=', lo).andWhere('address_key', '<', hi);
    }
    // The caller's extra condition (rows left out for the viewer): applied to the count and the page alike.
    return narrow && table === 'residents' ? narrow(b) : b;
  };

  const phases: Phase[] = [];
  if (q.name) {
    // Prefix on the space-less key: 「山田」 finds 山田 太郎 and 山田 花子; the full name narrows it.
    const [lo, hi] = kanaPrefixRange(nameExactKey(q.name));
    const exactWhere: Where = (b) =>
      table === 'residents'
        ? b.where((w) =>
            w
              .where((n) => n.where('name_key', '>=', lo).andWhere('name_key', '<', hi))
              .orWhere((a) => a.whereNotNull('alias_key').andWhere('alias_key', '>=', lo).andWhere('alias_key', '<', hi)),
          )
        : b.where('name_key', '>=', lo).andWhere('name_key', '<', hi);
    phases.push({ match: 'exact', where: exactWhere, order: 'name_kana_key' });
    if (table !== 'corporations') {
      const [vlo, vhi] = kanaPrefixRange(nameVariantKey(q.name));
      // IS NOT NULL keeps NOT (…) true for rows without an alias (SQL's NULL would drop them).
      phases.push({
        match: 'variant',
        where: (b) =>
          b
            .where('name_variant_key', '>=', vlo)
            .andWhere('name_variant_key', '<', vhi)
            .whereNot((w) => exactWhere(w)),
        order: 'name_kana_key',
      });
    }
    if (q.kana) {
      // Name and kana together: the kana narrows the name matches (fold key, so small-kana slips pass).
      const [klo, khi] = kanaPrefixRange(kanaFoldKey(q.kana));
      for (const p of phases) {
        const inner = p.where;
        p.where = (b) => inner(b).where('name_kana_fold_key', '>=', klo).andWhere('name_kana_fold_key', '<', khi);
      }
    }
  } else if (q.kana) {
    const [lo, hi] = kanaPrefixRange(kanaExactKey(q.kana));
    const [flo, fhi] = kanaPrefixRange(kanaFoldKey(q.kana));
    const exactWhere: Where = (b) => b.whereNotNull('name_kana_key').andWhere('name_kana_key', '>=', lo).andWhere('name_kana_key', '<', hi);
    phases.push({ match: 'exact', where: exactWhere, order: 'name_kana_key' });
    phases.push({
      match: 'kanaFold',
      where: (b) =>
        b
          .where('name_kana_fold_key', '>=', flo)
          .andWhere('name_kana_fold_key', '<', fhi)
          .whereNot((w) => exactWhere(w)),
      order: 'name_kana_fold_key',
    });
  } else {
    phases.push({ match: 'exact', where: (b) => b, order: q.address ? 'address_key' : q.birth ? 'birth_date' : 'name_kana_key' });
  }

  const hits: ResidentHit[] = [];
  let total = 0;
  let capped = false;
  let skip = (q.page - 1) * q.pageSize;
  for (const phase of phases) {
    // A later (fallback) phase only matters while the earlier ones leave room: once the count is
    // capped and the page is full, walking its range would cost a scan and change nothing shown.
    if (phase !== phases[0] && capped && hits.length >= q.pageSize) break;
    const base = () => filters(phase.where(knex(table)));
    const want = q.pageSize - hits.length;
    let n: number;
    if (capped) {
      n = Number.POSITIVE_INFINITY;
    } else {
      n = countOf(
        await knex
          .count({ n: '*' })
          .from(
            base()
              .select(knex.raw('1'))
              .limit(COUNT_CAP + 1 - total)
              .as('m'),
          )
          .first(),
      );
      total += n;
      if (total > COUNT_CAP) capped = true;
    }
    if (want > 0 && skip < n) {
      // Ties broken by id (SQLite's rowid): the key's index is already in (key, rowid) order, so a
      // page is read straight off the index instead of sorting every match.
      const rows = (await base().select(columns).orderBy(phase.order).orderBy(`${table}.id`).limit(want).offset(skip)) as HitRow[];
      for (const row of rows) hits.push({ row, match: phase.match });
      skip = 0;
    } else if (Number.isFinite(n)) {
      skip = Math.max(0, skip - n);
    }
  }
  if (total > COUNT_CAP) {
    total = COUNT_CAP;
    capped = true;
  }
  return { hits, total, totalCapped: capped };
}
