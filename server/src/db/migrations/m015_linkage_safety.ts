import type { Knex } from 'knex';
import { registeredText } from './columns.js';

/**
 * Forward linkage that fails safe (issue 16):
 * - `linkage_holds`: a full file that would shrink its data set by more than the shrink guard
 *   allows is held, not applied, until an administrator confirms it (with a reason) or a later
 *   full file of the same spec replaces it.
 * - `protection_endings`: 支援措置 that a linkage file ended (active before the load, not after),
 *   listed for 支援措置担当 until acknowledged.
 * - `linkage_runs.file_sequence`: the sequence read from a differential file's name, so that an
 *   older file is refused and an identical file with a new name is applied.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .createTable('linkage_holds', (t) => {
      t.increments('id');
      t.integer('run_id').notNullable().index();
      t.string('spec_id', 40).notNullable().index();
      registeredText(t, 'file_name', 255).notNullable();
      registeredText(t, 'held_path', 1000).notNullable();
      t.string('file_sha256', 64).notNullable();
      t.integer('rows_before').notNullable();
      t.integer('rows_in_file').notNullable();
      t.datetime('held_at').notNullable();
      t.string('resolution', 20);
      t.datetime('resolved_at');
      t.integer('resolved_by');
      registeredText(t, 'reason', 500);
      t.integer('resolved_run_id');
    })
    .createTable('protection_endings', (t) => {
      t.increments('id');
      t.string('addressee_no', 15).notNullable().index();
      t.string('measure_code', 2);
      t.string('start_date', 10);
      t.string('end_date', 10);
      t.integer('run_id').notNullable();
      t.string('spec_id', 40).notNullable();
      registeredText(t, 'file_name', 255).notNullable();
      t.datetime('detected_at').notNullable();
      t.datetime('acknowledged_at');
      t.integer('acknowledged_by');
    })
    .alterTable('linkage_runs', (t) => {
      t.string('file_sequence', 100);
    });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .dropTable('protection_endings')
    .dropTable('linkage_holds')
    .alterTable('linkage_runs', (t) => t.dropColumn('file_sequence'));
}
