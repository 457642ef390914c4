import type { Knex } from 'knex';

/**
 * Remote maintenance log (issue 21 §5): the vendor's SSH sessions over the VPN, recorded by the
 * sshd PAM hook (`madoguchi maintenance pam`), and every run of the `madoguchi` command with its
 * redacted arguments and exit code, tied to the session it ran in. Sudo commands stay in sudo's
 * own log file; the admin screen reads them from there.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .createTable('maintenance_sessions', (t) => {
      t.increments('id');
      t.string('login', 64).notNullable();
      t.string('remote_address', 64);
      t.string('service', 32).notNullable();
      t.string('tty', 64);
      t.integer('sshd_pid');
      t.string('host', 64);
      t.datetime('opened_at').notNullable();
      t.datetime('closed_at');
      t.index(['login', 'closed_at']);
      t.index(['opened_at']);
    })
    .createTable('maintenance_commands', (t) => {
      t.increments('id');
      t.string('run_id', 36).notNullable().unique();
      t.integer('session_id');
      t.string('os_user', 64).notNullable();
      t.string('sudo_user', 64);
      t.string('client_address', 64);
      t.text('argv').notNullable();
      t.string('host', 64);
      t.datetime('started_at').notNullable();
      t.datetime('finished_at');
      t.integer('exit_code');
      t.index(['session_id']);
      t.index(['started_at']);
    });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.dropTable('maintenance_commands').dropTable('maintenance_sessions');
}
