import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { migrateLatest, mssqlKnexConfig, parseMssqlUrl, sqliteKnex } from '../../server/src/db/connect.js';
import { tempDir } from './paths.js';

export interface DatabaseTarget {
  name: 'sqlite' | 'mssql';
  /** Why the target cannot run here, or null. */
  unavailable: string | null;
  open(dir: string): Knex;
}

/**
 * The databases every DB test runs on: SQLite always; SQL Server when MSSQL_URL is set (an
 * opt-in for machines that have one — CI here has no SQL Server).
 */
export const databaseTargets: DatabaseTarget[] = [
  { name: 'sqlite', unavailable: null, open: (dir) => sqliteKnex(path.join(dir, 'madoguchi.sqlite')) },
  {
    name: 'mssql',
    unavailable: process.env.MSSQL_URL
      ? null
      : 'MSSQL_URL が未設定のため SQL Server の実機テストは実行しません (例: MSSQL_URL=mssql://sa:pass@host:1433/madoguchi_test?encrypt=false)',
    open: () => knexFactory(mssqlKnexConfig(parseMssqlUrl(process.env.MSSQL_URL!))),
  },
];

/** Drops every table (SQL Server test database reuse). */
export async function dropAll(knex: Knex): Promise<void> {
  const tables = [
    'staff_group_members',
    'staff_group_permissions',
    'staff_groups',
    'staff',
    'linkage_runs',
    'address_master',
    'arrears',
    'issuance_bans',
    'corporations',
    'non_residents',
    'entitlements',
    'support_measures',
    'resident_history',
    'households',
    'residents',
    'knex_migrations',
    'knex_migrations_lock',
  ];
  for (const t of tables) await knex.schema.dropTableIfExists(t);
}

/**
 * For a `before` hook: opens the target, or skips the suite with the reason when the target is
 * not available here (SQL Server without MSSQL_URL). A reused SQL Server database is emptied.
 */
export async function openTarget(ctx: Mocha.Context, target: DatabaseTarget, dir: string): Promise<Knex> {
  if (target.unavailable) {
    console.log(`      (skipped: ${target.unavailable})`);
    ctx.skip(); // opt-in: SQL Server tests run only where MSSQL_URL points at a server
  }
  const knex = target.open(dir);
  if (target.name === 'mssql') await dropAll(knex);
  return knex;
}

export interface TempDatabase {
  knex: Knex;
  dir: string;
  /** Closes the database and removes its folder. */
  close(): Promise<void>;
}

/** A migrated SQLite database in a fresh temporary folder. */
export async function migratedSqlite(): Promise<TempDatabase> {
  const t = tempDir();
  const knex = sqliteKnex(path.join(t.dir, 'madoguchi.sqlite'));
  await migrateLatest(knex);
  return {
    knex,
    dir: t.dir,
    close: async () => {
      await knex.destroy();
      t.remove();
    },
  };
}
