import type { Knex } from 'knex';

/**
 * `rpa_jobs.unprobed_commit_at`: the agent reached the saving step of a scenario without a probe
 * (idempotency: none). If its lease then runs out or is returned, nobody can tell whether the
 * entry was saved: the job stops for staff instead of going back to the queue (rpa/jobs.ts).
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.alterTable('rpa_jobs', (t) => {
    t.datetime('unprobed_commit_at');
  });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.alterTable('rpa_jobs', (t) => {
    t.dropColumn('unprobed_commit_at');
  });
}
