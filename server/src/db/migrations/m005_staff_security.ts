import type { Knex } from 'knex';

/**
 * Password history (the policy refuses the last N), data scopes of groups (which entitlement
 * kinds their members see), the login before this one for the session banner, and machine
 * clients (RPA agents) that call the JSON API with a bearer token instead of a session cookie.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .createTable('staff_password_history', (t) => {
      t.integer('staff_id').notNullable().references('id').inTable('staff');
      t.string('password_hash', 255).notNullable();
      t.datetime('changed_at').notNullable();
      t.index(['staff_id', 'changed_at']);
    })
    .createTable('staff_group_scopes', (t) => {
      t.integer('group_id').notNullable().references('id').inTable('staff_groups');
      t.string('entitlement_kind', 40).notNullable();
      t.primary(['group_id', 'entitlement_kind']);
    })
    .alterTable('staff_sessions', (t) => {
      t.datetime('previous_login_at');
    })
    .createTable('api_clients', (t) => {
      t.increments('id');
      t.string('name', 64).notNullable().unique();
      t.string('token_hash', 64).notNullable().unique();
      t.string('group_code', 64).notNullable();
      t.datetime('created_at').notNullable();
      t.string('created_by', 64).notNullable();
      t.datetime('revoked_at');
      t.datetime('last_seen_at');
      t.string('last_address', 64);
    });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .dropTable('api_clients')
    .alterTable('staff_sessions', (t) => {
      t.dropColumn('previous_login_at');
    })
    .dropTable('staff_group_scopes')
    .dropTable('staff_password_history');
}
