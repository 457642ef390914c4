import type { Knex } from 'knex';
import { registeredText } from './columns.js';

/**
 * The audit trail: one hash-chained record per reference, change, print, export, login or
 * permission change. `audit_chain_head` holds the last sequence number and hash; appending
 * updates it first, which serialises appends (a row lock on SQL Server, the write lock on SQLite).
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .createTable('audit_trail', (t) => {
      t.increments('id');
      t.bigInteger('seq').notNullable().unique();
      t.datetime('recorded_at').notNullable();
      t.integer('staff_id');
      t.string('staff_login', 64);
      t.string('role', 64);
      t.string('counter_id', 64);
      t.string('client_address', 64);
      t.string('action', 64).notNullable();
      t.string('target_kind', 40);
      t.text('target_ids');
      t.string('result', 20).notNullable();
      registeredText(t, 'detail', 2000);
      t.string('prev_hash', 64).notNullable();
      t.string('hash', 64).notNullable();
      t.index(['recorded_at']);
      t.index(['action']);
      t.index(['staff_id']);
    })
    .createTable('audit_chain_head', (t) => {
      t.integer('id').primary();
      t.bigInteger('seq').notNullable();
      t.string('hash', 64).notNullable();
      t.string('last_day', 10);
    });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.dropTable('audit_chain_head').dropTable('audit_trail');
}
