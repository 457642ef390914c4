import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { migrateLatest, mssqlKnexConfig, parseMssqlUrl, sqliteKnex } from '../../server/src/db/connect.js';
import { tableColumns } from '../../server/src/db/tables.generated.js';
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

/**
 * Drops every table the migrations create, and knex's own (SQL Server test database reuse). The
 * list is the generated `tableColumns` (a test keeps it equal to the migrated schema), newest
 * first; a table still referenced by another is retried after the others have gone.
 */
export async function dropAll(knex: Knex): Promise<void> {
  let left: string[] = [...Object.keys(tableColumns).reverse(), 'knex_migrations', 'knex_migrations_lock'];
  while (left.length) {
    const failed: string[] = [];
    let lastError: unknown;
    for (const t of left) {
      try {
        await knex.schema.dropTableIfExists(t);
      } catch (e) {
        failed.push(t);
        lastError = e;
      }
    }
    if (failed.length === left.length) throw lastError;
    left = failed;
  }
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
