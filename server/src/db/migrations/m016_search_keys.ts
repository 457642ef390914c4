import type { Knex } from 'knex';

/**
 * `search_key_state`: one row saying under which key rules (`SEARCH_KEY_RULES`) and which 異体字
 * table (its SHA-256) the stored search-key columns of the resident cache were last computed.
 * When either differs at start-up or `madoguchi ingest`, the keys are recomputed
 * (`linkage/forward/rekey.ts`); without the row, they are recomputed once.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.createTable('search_key_state', (t) => {
    t.integer('id').primary();
    t.integer('rules_version').notNullable();
    t.string('variants_sha256', 64).notNullable();
    t.integer('variant_pairs').notNullable();
    t.integer('rows_rekeyed').notNullable();
    t.datetime('rekeyed_at').notNullable();
  });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.dropTable('search_key_state');
}
