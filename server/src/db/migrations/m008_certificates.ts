import type { Knex } from 'knex';
import { registeredText } from './columns.js';

/** Certificate requests taken at a visit (I-31..35, J-36): priced lines, who asks, the memo. */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.createTable('certificate_requests', (t) => {
    t.increments('id');
    t.integer('visit_id').notNullable().references('id').inTable('visits');
    t.string('requester_relation', 12).notNullable();
    t.text('lines').notNullable();
    t.integer('total').notNullable();
    registeredText(t, 'memo', 500);
    t.integer('created_by').notNullable().references('id').inTable('staff');
    t.datetime('created_at').notNullable();
    t.index(['visit_id']);
  });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.dropTable('certificate_requests');
}
