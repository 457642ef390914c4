import type { Knex } from 'knex';
import { registeredText } from './columns.js';

/**
 * Notices taken at a visit (move notices and household changes), their members, the answers to
 * the procedure questions, the derived procedure list with its statuses, and memos on visits.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .createTable('notices', (t) => {
      t.increments('id');
      t.integer('visit_id').notNullable().references('id').inTable('visits');
      t.string('notice_type', 30).notNullable();
      t.string('status', 12).notNullable();
      t.string('effective_date', 10);
      t.string('reported_date', 10).notNullable();
      t.string('household_no', 15);
      t.text('data').notNullable();
      t.string('late_warning', 200);
      t.integer('created_by').notNullable().references('id').inTable('staff');
      t.datetime('created_at').notNullable();
      t.integer('updated_by').references('id').inTable('staff');
      t.datetime('updated_at').notNullable();
      t.integer('accepted_by').references('id').inTable('staff');
      t.datetime('accepted_at');
      t.integer('reviewed_by').references('id').inTable('staff');
      t.datetime('reviewed_at');
      t.datetime('entered_at');
      t.string('entered_ref', 64);
      t.index(['visit_id']);
      t.index(['status', 'notice_type']);
    })
    .createTable('notice_members', (t) => {
      t.increments('id');
      t.integer('notice_id').notNullable().references('id').inTable('notices');
      t.string('addressee_no', 15);
      registeredText(t, 'name', 100).notNullable();
      registeredText(t, 'name_kana', 100);
      t.string('birth_date', 10);
      t.string('sex', 1);
      registeredText(t, 'relationship', 20);
      t.boolean('moving').notNullable().defaultTo(true);
      t.boolean('head').notNullable().defaultTo(false);
      t.boolean('event').notNullable().defaultTo(false);
      t.index(['notice_id']);
    })
    .createTable('visit_answers', (t) => {
      t.integer('visit_id').notNullable().references('id').inTable('visits');
      t.string('question_id', 64).notNullable();
      registeredText(t, 'value', 200).notNullable();
      t.integer('answered_by').notNullable().references('id').inTable('staff');
      t.datetime('answered_at').notNullable();
      t.primary(['visit_id', 'question_id']);
    })
    .createTable('visit_procedures', (t) => {
      t.increments('id');
      t.integer('visit_id').notNullable().references('id').inTable('visits');
      t.integer('notice_id').references('id').inTable('notices');
      t.string('procedure_id', 64).notNullable();
      t.text('members').notNullable();
      t.text('reasons').notNullable();
      t.string('source', 10).notNullable();
      t.string('status', 12).notNullable();
      t.string('deadline', 10);
      t.boolean('removed').notNullable().defaultTo(false);
      registeredText(t, 'reason', 200);
      t.integer('updated_by').references('id').inTable('staff');
      t.datetime('updated_at').notNullable();
      t.index(['visit_id']);
      t.index(['procedure_id', 'status']);
    })
    .createTable('visit_memos', (t) => {
      t.increments('id');
      t.integer('visit_id').notNullable().references('id').inTable('visits');
      registeredText(t, 'body', 2000).notNullable();
      t.string('template_id', 64);
      t.integer('created_by').notNullable().references('id').inTable('staff');
      t.datetime('created_at').notNullable();
      t.index(['visit_id']);
    });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .dropTable('visit_memos')
    .dropTable('visit_procedures')
    .dropTable('visit_answers')
    .dropTable('notice_members')
    .dropTable('notices');
}
