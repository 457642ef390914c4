import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { resolveMssqlPassword, type MssqlSettings } from '../../config/appConfig.js';
import { mssqlKnexConfig } from '../../db/connect.js';

/**
 * SQL Server backups run on the database server: `TO DISK` names a path as SQL Server sees it
 * (its own disk, or a share its service account can write). The statements go through knex
 * `raw` with bindings: the database name as an identifier (`??` → `[name]`), the path as a
 * parameter (`@p0`, sent as nvarchar), so no quoting is done by hand.
 */
function checkedName(database: string): string {
  // knex's `??` splits on dots and drops brackets, so such names cannot be quoted correctly.
  if (!database || /[.[\]]/.test(database)) throw new Error(`バックアップできないデータベース名です: ${database}`);
  return database;
}

export function mssqlBackupStatement(knex: Knex, database: string, disk: string, opts: { copyOnly: boolean }): Knex.Raw {
  // COPY_ONLY leaves the differential base and log chain of the town's own SQL Server backups alone.
  return knex.raw(`BACKUP DATABASE ?? TO DISK = ? WITH CHECKSUM, ${opts.copyOnly ? 'COPY_ONLY, ' : ''}INIT`, [checkedName(database), disk]);
}

export function mssqlVerifyStatement(knex: Knex, disk: string): Knex.Raw {
  return knex.raw('RESTORE VERIFYONLY FROM DISK = ? WITH CHECKSUM', [disk]);
}

/** For the operator (printed by `madoguchi restore`, run in SSMS/sqlcmd with the service stopped). */
export function mssqlRestoreStatement(knex: Knex, database: string, disk: string): Knex.Raw {
  return knex.raw('RESTORE DATABASE ?? FROM DISK = ? WITH CHECKSUM, REPLACE', [checkedName(database), disk]);
}

/** The .bak path on the SQL Server side: Windows paths (`D:\…`, `\\server\share`) joined with `\`. */
export function mssqlDiskPath(dir: string, name: string): string {
  return /^[A-Za-z]:[\\/]|^\\\\|\\/.test(dir) ? path.win32.join(dir, `${name}.bak`) : path.posix.join(dir, `${name}.bak`);
}

/**
 * A connection of its own for BACKUP/RESTORE: a large database takes longer than the
 * application's 30 s request timeout (0 = no timeout for these statements).
 */
export function openMssqlForBackup(m: MssqlSettings, env: NodeJS.ProcessEnv = process.env): Knex {
  const cfg = mssqlKnexConfig({ ...m, password: resolveMssqlPassword(m, env) });
  return knexFactory({
    ...cfg,
    connection: { ...(cfg.connection as Knex.MsSqlConnectionConfig), requestTimeout: 0 },
    pool: { min: 0, max: 1 },
  });
}

export async function runMssqlBackup(knex: Knex, database: string, disk: string, opts: { copyOnly: boolean }): Promise<void> {
  await mssqlBackupStatement(knex, database, disk, opts);
}

/** null when the backup set is readable and its checksums are right; otherwise SQL Server's message. */
export async function runMssqlVerify(knex: Knex, disk: string): Promise<string | null> {
  try {
    await mssqlVerifyStatement(knex, disk);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
