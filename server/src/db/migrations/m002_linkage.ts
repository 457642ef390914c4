import type { Knex } from 'knex';
import { registeredText } from './columns.js';

/** Tables that hold linkage data; each row counts the legacy 外字 it kept unmapped. */
export const LINKAGE_TABLES = [
  'residents',
  'households',
  'resident_history',
  'support_measures',
  'entitlements',
  'non_residents',
  'corporations',
  'issuance_bans',
  'arrears',
  'address_master',
] as const;

/**
 * Forward linkage in production: the problems of each run, the missing-file alerts, the per-row
 * 外字 flag, and the folded kana keys (exact key first, folded key as the fallback).
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  let chain = knex.schema
    .createTable('linkage_run_issues', (t) => {
      t.increments('id');
      t.integer('run_id').notNullable().index();
      t.integer('line').notNullable();
      t.string('column_name', 100);
      registeredText(t, 'value', 100);
      registeredText(t, 'reason', 300).notNullable();
    })
    .createTable('linkage_alerts', (t) => {
      t.increments('id');
      t.string('spec_id', 40).notNullable();
      t.string('alert_date', 10).notNullable();
      t.string('kind', 20).notNullable();
      registeredText(t, 'message', 300).notNullable();
      t.datetime('raised_at').notNullable();
      t.datetime('resolved_at');
      t.unique(['spec_id', 'alert_date', 'kind']);
    })
    .alterTable('linkage_runs', (t) => {
      registeredText(t, 'report_file', 400);
    });
  for (const table of LINKAGE_TABLES) {
    chain = chain.alterTable(table, (t) => {
      t.integer('unmapped_gaiji').notNullable().defaultTo(0);
    });
  }
  for (const table of ['residents', 'non_residents', 'corporations']) {
    chain = chain.alterTable(table, (t) => {
      t.string('name_kana_fold_key', 400).index();
    });
  }
  return chain;
}

export function down(knex: Knex): Knex.SchemaBuilder {
  let chain = knex.schema.dropTable('linkage_alerts').dropTable('linkage_run_issues');
  for (const table of ['residents', 'non_residents', 'corporations']) {
    chain = chain.alterTable(table, (t) => {
      t.dropIndex(['name_kana_fold_key']);
      t.dropColumn('name_kana_fold_key');
    });
  }
  for (const table of LINKAGE_TABLES) chain = chain.alterTable(table, (t) => t.dropColumn('unmapped_gaiji'));
  return chain.alterTable('linkage_runs', (t) => t.dropColumn('report_file'));
}
