import type { Knex } from 'knex';

/**
 * Failed logins, one row each, for the login throttle (auth/loginThrottle.ts): recent failures
 * from one client address slow that address (429); failures on one login id from several
 * addresses lock the account. Unknown login ids are recorded the same way (staff_id NULL), so
 * that both take the same path. A successful login, an unlock or a password reset stops the
 * account's earlier failures counting towards its lock (`counts_for_account`), but never the
 * address's. Rows older than the longest window are pruned as new ones are written.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.createTable('login_failures', (t) => {
    t.increments('id');
    t.string('login_id', 100).notNullable();
    t.integer('staff_id');
    t.string('client_address', 64).notNullable();
    t.datetime('failed_at').notNullable();
    t.boolean('counts_for_account').notNullable().defaultTo(true);
    t.index(['client_address', 'failed_at']);
    t.index(['login_id', 'failed_at']);
    t.index(['failed_at']);
  });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.dropTable('login_failures');
}
