import type { Knex } from 'knex';
import { SEARCH_KEY_RULES } from '../../domain/searchKeys.js';
import { currentVariantTable } from '../../domain/variants.js';
import { derivedKeyColumns, derivedKeys } from './keys.js';

/**
 * Keeps the stored search keys true to the rules. The key columns of the resident cache are
 * derived at ingest; when the key rules (`SEARCH_KEY_RULES`) or the 異体字 table change, rows
 * keyed before would be missed by searches keyed after. `search_key_state` holds what the stored
 * keys were computed under; when it differs, every row's keys are recomputed in chunks (only
 * changed rows are written) and the new state is written last, so a stop half-way redoes the
 * work at the next start. Called at server start-up and by `madoguchi ingest`, before anything
 * reads or writes keys.
 */
export interface SearchKeyFingerprint {
  rulesVersion: number;
  variantsSha256: string;
  variantPairs: number;
}

export interface RekeyResult {
  /** False when the stored keys were already current. */
  rekeyed: boolean;
  /** Rows whose keys changed, per table. */
  changed: Record<string, number>;
  rowsRead: number;
  ms: number;
  fingerprint: SearchKeyFingerprint;
}

const CHUNK = 2000;

/** The rules and the 異体字 table in use now. */
export function searchKeyFingerprint(): SearchKeyFingerprint {
  const table = currentVariantTable();
  return { rulesVersion: SEARCH_KEY_RULES, variantsSha256: table.sha256, variantPairs: table.folds.size };
}

/**
 * The columns a table's keys are derived from, read off `derivedKeys` itself (a recording proxy
 * with every value set), so that this list cannot drift from `keys.ts`.
 */
export function keySourceColumns(table: string): string[] {
  const f = derivedKeys[table];
  if (!f) return [];
  const read = new Set<string>();
  f(
    new Proxy({} as Record<string, unknown>, {
      get: (_t, p) => {
        if (typeof p === 'string') read.add(p);
        return 'x';
      },
    }),
  );
  return [...read];
}

async function storedState(knex: Knex): Promise<SearchKeyFingerprint | undefined> {
  const row = await knex('search_key_state').where({ id: 1 }).first();
  return row && { rulesVersion: Number(row.rules_version), variantsSha256: row.variants_sha256, variantPairs: Number(row.variant_pairs) };
}

/** Recomputes the stored search keys when the rules or the 異体字 table changed since they were made. */
export async function refreshSearchKeys(knex: Knex, opts: { chunk?: number; force?: boolean } = {}): Promise<RekeyResult> {
  const started = Date.now();
  const fingerprint = searchKeyFingerprint();
  const stored = await storedState(knex);
  const changed: Record<string, number> = {};
  if (!opts.force && stored?.rulesVersion === fingerprint.rulesVersion && stored.variantsSha256 === fingerprint.variantsSha256)
    return { rekeyed: false, changed, rowsRead: 0, ms: Date.now() - started, fingerprint };
  const chunk = opts.chunk ?? CHUNK;
  let rowsRead = 0;
  for (const [table, derive] of Object.entries(derivedKeys)) {
    const keyColumns = derivedKeyColumns(table);
    const columns = ['id', ...keySourceColumns(table), ...keyColumns];
    changed[table] = 0;
    // Keyset pagination by id: each chunk is one short read and, when needed, one short transaction.
    for (let last = 0; ;) {
      const rows = (await knex(table).select(columns).where('id', '>', last).orderBy('id').limit(chunk)) as Record<string, unknown>[];
      if (!rows.length) break;
      last = Number(rows[rows.length - 1]!.id);
      rowsRead += rows.length;
      const updates: { id: number; keys: Record<string, unknown> }[] = [];
      for (const row of rows) {
        const keys = derive(row);
        if (keyColumns.some((c) => (keys[c] ?? null) !== (row[c] ?? null))) updates.push({ id: Number(row.id), keys });
      }
      if (updates.length) {
        await knex.transaction(async (trx) => {
          for (const u of updates) await trx(table).where({ id: u.id }).update(u.keys);
        });
        changed[table] += updates.length;
      }
      if (rows.length < chunk) break;
    }
  }
  const total = Object.values(changed).reduce((a, b) => a + b, 0);
  await knex.transaction(async (trx) => {
    const state = {
      rules_version: fingerprint.rulesVersion,
      variants_sha256: fingerprint.variantsSha256,
      variant_pairs: fingerprint.variantPairs,
      rows_rekeyed: total,
      rekeyed_at: new Date(),
    };
    const n = await trx('search_key_state').where({ id: 1 }).update(state);
    if (!n) await trx('search_key_state').insert({ id: 1, ...state });
  });
  return { rekeyed: true, changed, rowsRead, ms: Date.now() - started, fingerprint };
}
