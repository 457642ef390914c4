import type { Knex } from 'knex';
import { registeredText } from './columns.js';

/**
 * Visits (来庁): one per visitor at the counter, from opening to closing, possibly paused and
 * resumed at another counter; the identity check and the visitor's own data as checked or typed
 * (which may differ from the register); the people the visit is about. And the bulletins
 * (伝達事項) on the home page.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .createTable('visits', (t) => {
      t.increments('id');
      t.string('visit_no', 20).notNullable().unique();
      t.string('status', 10).notNullable();
      t.string('channel', 10).notNullable().defaultTo('counter');
      t.string('counter_id', 64);
      t.integer('opened_by').notNullable().references('id').inTable('staff');
      t.datetime('opened_at').notNullable();
      t.datetime('closed_at');
      t.integer('updated_by').references('id').inTable('staff');
      t.datetime('updated_at').notNullable();
      t.string('visitor_role', 10).notNullable().defaultTo('subject');
      t.string('identity_document', 30);
      registeredText(t, 'identity_document_note', 100);
      t.datetime('identity_checked_at');
      t.string('visitor_addressee_no', 15);
      registeredText(t, 'visitor_name', 100);
      registeredText(t, 'visitor_kana', 100);
      t.string('visitor_birth_date', 10);
      t.string('visitor_sex', 1);
      registeredText(t, 'visitor_address', 300);
      registeredText(t, 'visitor_phone', 20);
      registeredText(t, 'proxy_relationship', 40);
      t.boolean('proxy_power_of_attorney').notNullable().defaultTo(false);
      registeredText(t, 'proxy_document', 100);
      t.index(['status', 'counter_id']);
      t.index(['opened_at']);
    })
    .createTable('visit_subjects', (t) => {
      t.increments('id');
      t.integer('visit_id').notNullable().references('id').inTable('visits');
      t.string('addressee_no', 15);
      registeredText(t, 'manual_name', 100);
      registeredText(t, 'manual_kana', 100);
      t.string('manual_birth_date', 10);
      registeredText(t, 'manual_address', 300);
      t.integer('added_by').notNullable().references('id').inTable('staff');
      t.datetime('added_at').notNullable();
      t.index(['visit_id']);
    })
    .createTable('bulletins', (t) => {
      t.increments('id');
      registeredText(t, 'title', 100).notNullable();
      registeredText(t, 'body', 2000).notNullable();
      t.string('show_until', 10);
      t.integer('posted_by').notNullable().references('id').inTable('staff');
      t.datetime('posted_at').notNullable();
    });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.dropTable('bulletins').dropTable('visit_subjects').dropTable('visits');
}
