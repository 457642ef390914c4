import type { Knex } from 'knex';

/**
 * A notice's core-system numbers (基幹系処理番号) are derived from its RPA jobs
 * (`rpa_jobs.core_ref`, read by `coreRefsOfNotices` in notices/queries.ts), no longer copied into
 * `notices.entered_ref`, whose 64 characters cut the list of a large household. Migrations only
 * add, so the column stays (unused, always NULL); the copies written before are cleared so that
 * nothing can read a cut list from it.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.raw('UPDATE notices SET entered_ref = NULL WHERE entered_ref IS NOT NULL');
}

/** Nothing to undo: the numbers are still with the jobs. */
export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema;
}
