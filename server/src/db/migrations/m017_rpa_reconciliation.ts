import type { Knex } from 'knex';

/**
 * `rpa_reconciliations`: what the core system's own linkage (001o009 異動履歴) says about each
 * notice job (rpa/reconcile.ts): matched (one history row per person), entered twice (two rows),
 * not seen (no row after the configured business days), or entered but not reported (a row for a
 * job that did not succeed). One row per job, recomputed after each linkage run.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.createTable('rpa_reconciliations', (t) => {
    t.integer('job_id').primary().references('id').inTable('rpa_jobs');
    t.string('state', 16).notNullable().index();
    t.integer('persons').notNullable();
    t.integer('history_rows').notNullable();
    t.string('detail', 400).notNullable();
    t.datetime('flagged_at');
    t.datetime('checked_at').notNullable();
  });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.dropTable('rpa_reconciliations');
}
