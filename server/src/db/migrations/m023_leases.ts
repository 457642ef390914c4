import type { Knex } from 'knex';

/**
 * Several app nodes on one database (issue 21 §4): the work that must run once — the linkage
 * watcher and its apply queue, the schedules — runs under a lease row. The token grows on every
 * new acquisition, so that a node which lost its lease can be refused inside its own transaction
 * (fencing). Times come from the database's clock, never a node's.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.createTable('leases', (t) => {
    t.string('name', 120).primary();
    t.string('holder', 200).notNullable();
    t.bigInteger('token').notNullable();
    t.datetime('acquired_at').notNullable();
    t.datetime('renewed_at').notNullable();
    t.datetime('expires_at').notNullable();
  });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.dropTable('leases');
}
