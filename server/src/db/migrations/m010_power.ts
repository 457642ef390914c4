import type { Knex } from 'knex';

/** The power state reported by the UPS (through upsmon's NOTIFYCMD → `madoguchi ups-event`). */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.createTable('power_state', (t) => {
    t.integer('id').primary();
    t.string('state', 16).notNullable();
    t.string('event', 16).notNullable();
    t.datetime('changed_at').notNullable();
  });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.dropTable('power_state');
}
