import type { Knex } from 'knex';

/**
 * `rpa_jobs.core_system`: which core system a job is entered into (the scenario folder that has
 * its scenario: `rpa.coreSystem` or one of `rpa.systems`). Null for jobs made before: the main one.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.alterTable('rpa_jobs', (t) => {
    t.string('core_system', 64);
  });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.alterTable('rpa_jobs', (t) => {
    t.dropColumn('core_system');
  });
}
