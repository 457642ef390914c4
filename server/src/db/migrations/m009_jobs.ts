import type { Knex } from 'knex';

/**
 * The RPA job queue (backward linkage): one job per core-system entry, with an idempotency key,
 * a lease that agents extend by heartbeat, retries with backoff, and evidence files.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .createTable('rpa_jobs', (t) => {
      t.increments('id');
      t.string('idempotency_key', 100).notNullable().unique();
      t.integer('notice_id').references('id').inTable('notices');
      t.string('scenario', 64).notNullable();
      t.string('household_no', 15);
      t.text('payload').notNullable();
      t.string('status', 16).notNullable();
      t.boolean('awaiting_review').notNullable().defaultTo(true);
      t.integer('blocked_by');
      t.integer('attempts').notNullable().defaultTo(0);
      t.integer('max_attempts').notNullable();
      t.datetime('available_at').notNullable();
      t.string('leased_by', 64);
      t.datetime('lease_expires_at');
      t.datetime('last_heartbeat_at');
      t.string('core_ref', 64);
      t.string('error_kind', 16);
      t.string('error_message', 1000);
      t.string('resolution', 400);
      t.datetime('created_at').notNullable();
      t.datetime('updated_at').notNullable();
      t.datetime('finished_at');
      t.index(['status', 'available_at']);
    })
    .createTable('rpa_evidence', (t) => {
      t.increments('id');
      t.integer('job_id').notNullable().references('id').inTable('rpa_jobs');
      t.integer('attempt').notNullable();
      t.string('kind', 16).notNullable();
      t.string('file', 400).notNullable();
      t.integer('bytes').notNullable();
      t.datetime('created_at').notNullable();
      t.index(['job_id']);
    });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.dropTable('rpa_evidence').dropTable('rpa_jobs');
}
