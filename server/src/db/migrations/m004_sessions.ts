import type { Knex } from 'knex';

/**
 * Staff sessions live in the database (several app nodes can share them). The id is the SHA-256
 * of the cookie's token, so a copy of the table does not give anyone a session.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.createTable('staff_sessions', (t) => {
    t.string('id', 64).primary();
    t.integer('staff_id').notNullable().references('id').inTable('staff');
    t.string('csrf_token', 64).notNullable();
    t.string('group_code', 64);
    t.string('counter_id', 64);
    t.string('client_address', 64);
    t.datetime('created_at').notNullable();
    t.datetime('last_seen_at').notNullable();
    t.index(['staff_id']);
  });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.dropTable('staff_sessions');
}
