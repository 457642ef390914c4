import type { Knex } from 'knex';

/**
 * The resident's side of the counter (issue 20): the screens facing residents, each paired to one
 * counter with a device token (only its hash is kept), and the resident's signature of a notice —
 * drawn on that screen (the stroke image, its SHA-256 also in the audit trail) or on paper.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .createTable('resident_screens', (t) => {
      t.increments('id');
      t.string('counter_id', 40).notNullable();
      t.string('token_hash', 64).notNullable().unique();
      t.string('label', 100);
      t.datetime('paired_at').notNullable();
      t.integer('paired_by').notNullable();
      t.datetime('revoked_at');
      t.datetime('last_seen_at');
      t.index(['counter_id']);
    })
    .createTable('notice_signatures', (t) => {
      t.increments('id');
      t.integer('notice_id').notNullable().unique();
      t.string('method', 10).notNullable();
      t.binary('image');
      t.string('sha256', 64);
      t.datetime('signed_at').notNullable();
      t.integer('recorded_by').notNullable();
      t.integer('screen_id');
    });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.dropTable('notice_signatures').dropTable('resident_screens');
}
