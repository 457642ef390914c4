import type { Knex } from 'knex';

/** RPA agent PCs as the server sees them (last call, version), and which entry a job is. */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .createTable('rpa_agents', (t) => {
      t.string('name', 64).primary();
      t.string('version', 32);
      t.string('host', 128);
      t.datetime('last_seen_at').notNullable();
      t.integer('last_job_id');
      t.datetime('created_at').notNullable();
    })
    .alterTable('rpa_jobs', (t) => {
      t.string('reference', 40);
      t.integer('certificate_request_id');
    });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .alterTable('rpa_jobs', (t) => {
      t.dropColumn('certificate_request_id');
      t.dropColumn('reference');
    })
    .dropTable('rpa_agents');
}
