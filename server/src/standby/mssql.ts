import path from 'node:path';
import type { Knex } from 'knex';

/**
 * The standby for SQL Server installs: madoguchi does not copy a SQL Server database itself, the
 * SQL Server log shipping does (full backup once, then `BACKUP LOG` on the primary, copy, and
 * `RESTORE LOG … WITH NORECOVERY|STANDBY` on the secondary). This module only writes the T-SQL an
 * operator runs (SQL Server Agent jobs or sqlcmd), so that names and paths are quoted one way:
 * the database as an identifier (`??` → `[name]`), paths and logical file names as parameters
 * (`@p0`, nvarchar) or, in the printed script, as N'…' literals. No connection is opened here.
 */

export class MssqlNameError extends Error {}

const hasControl = (s: string): boolean => [...s].some((c) => c.charCodeAt(0) < 0x20);

/** A database name that knex's `??` quotes as exactly one identifier (it splits on dots and drops brackets). */
export function checkedDatabaseName(database: string): string {
  if (!database || database.length > 128 || /[.[\]]/.test(database) || hasControl(database))
    throw new MssqlNameError(
      `ログ配布に使えないデータベース名です: ${JSON.stringify(database)} (空・128 文字超・「.」「[」「]」・制御文字は使えません)`,
    );
  return database;
}

/** A path or logical file name that goes in as a parameter: only non-empty, no control characters. */
function checkedText(what: string, v: string): string {
  if (!v || v.length > 260 || hasControl(v)) throw new MssqlNameError(`${what}が正しくありません: ${JSON.stringify(v)}`);
  return v;
}

/** Windows paths (`D:\…`, `\\server\share`) join with `\`, Linux SQL Server paths with `/`. */
export function mssqlJoin(dir: string, name: string): string {
  return /^[A-Za-z]:[\\/]|^\\\\|\\/.test(dir) ? path.win32.join(dir, name) : path.posix.join(dir, name);
}

/** `madoguchi_20261207221500.trn` (UTC): names sort in the order they must be restored. */
export function logBackupFileName(database: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, '');
  return `${checkedDatabaseName(database)}_${stamp}.trn`;
}

/** Log backups need the full recovery model (simple truncates the log and breaks the chain). */
export function setFullRecovery(knex: Knex, database: string): Knex.Raw {
  return knex.raw('ALTER DATABASE ?? SET RECOVERY FULL', [checkedDatabaseName(database)]);
}

/** The start of the chain: a full backup (not COPY_ONLY: the log backups follow on from it). */
export function fullBackupStatement(knex: Knex, database: string, disk: string): Knex.Raw {
  return knex.raw('BACKUP DATABASE ?? TO DISK = ? WITH CHECKSUM, INIT', [
    checkedDatabaseName(database),
    checkedText('バックアップ先', disk),
  ]);
}

/**
 * A log backup on the primary (every few minutes). `tail: true` is the last one before a planned
 * switch: WITH NORECOVERY leaves the old primary restoring, so it cannot take writes (fencing).
 */
export function logBackupStatement(knex: Knex, database: string, disk: string, opts: { tail?: boolean } = {}): Knex.Raw {
  return knex.raw(`BACKUP LOG ?? TO DISK = ? WITH CHECKSUM, INIT${opts.tail ? ', NORECOVERY' : ''}`, [
    checkedDatabaseName(database),
    checkedText('ログのバックアップ先', disk),
  ]);
}

export type RestoreMode = { kind: 'norecovery' } | { kind: 'standby'; undoFile: string };

function modeClause(mode: RestoreMode, bindings: string[]): string {
  if (mode.kind === 'norecovery') return 'NORECOVERY';
  bindings.push(checkedText('取り消しファイル (STANDBY)', mode.undoFile));
  return 'STANDBY = ?';
}

/**
 * The secondary's first restore, from the full backup. `moves`: the logical file names of the
 * backup (RESTORE FILELISTONLY) and where they go on the secondary, when its folders differ.
 */
export function restoreFullStatement(
  knex: Knex,
  database: string,
  disk: string,
  mode: RestoreMode,
  moves: readonly { logicalName: string; to: string }[] = [],
): Knex.Raw {
  const bindings: string[] = [checkedDatabaseName(database), checkedText('バックアップファイル', disk)];
  const clauses = ['CHECKSUM'];
  for (const m of moves) {
    clauses.push('MOVE ? TO ?');
    bindings.push(checkedText('論理ファイル名', m.logicalName), checkedText('移動先', m.to));
  }
  clauses.push(modeClause(mode, bindings), 'REPLACE');
  return knex.raw(`RESTORE DATABASE ?? FROM DISK = ? WITH ${clauses.join(', ')}`, bindings);
}

/** Each copied log backup, oldest first. STANDBY keeps the secondary readable between restores. */
export function restoreLogStatement(knex: Knex, database: string, disk: string, mode: RestoreMode): Knex.Raw {
  const bindings: string[] = [checkedDatabaseName(database), checkedText('ログのバックアップファイル', disk)];
  const m = modeClause(mode, bindings);
  return knex.raw(`RESTORE LOG ?? FROM DISK = ? WITH CHECKSUM, ${m}`, bindings);
}

/** Promotion: the secondary stops restoring and opens for writes. No more logs apply after this. */
export function promoteStatement(knex: Knex, database: string): Knex.Raw {
  return knex.raw('RESTORE DATABASE ?? WITH RECOVERY', [checkedDatabaseName(database)]);
}

/**
 * The lag on the secondary from its own restore history (works for scripted shipping and for
 * SQL Server's log shipping alike): the newest restored log and when it was taken on the primary.
 * lagSeconds = now − backup_finish_date of that log.
 */
export function restoreLagQuery(knex: Knex, database: string): Knex.Raw {
  return knex.raw(
    'SELECT TOP (1) rh.[restore_date], bs.[backup_finish_date], bmf.[physical_device_name], ' +
      'DATEDIFF(second, bs.[backup_finish_date], SYSUTCDATETIME()) AS [lag_seconds] ' +
      'FROM msdb.dbo.restorehistory AS rh ' +
      'JOIN msdb.dbo.backupset AS bs ON bs.[backup_set_id] = rh.[backup_set_id] ' +
      'JOIN msdb.dbo.backupmediafamily AS bmf ON bmf.[media_set_id] = bs.[media_set_id] ' +
      "WHERE rh.[destination_database_name] = ? AND bs.[type] = 'L' " +
      'ORDER BY rh.[restore_date] DESC',
    [checkedDatabaseName(database)],
  );
}

/** With SQL Server's own log shipping (sp_add_log_shipping_secondary_database): its monitor table. */
export function logShippingMonitorQuery(knex: Knex, database: string): Knex.Raw {
  return knex.raw(
    'SELECT [secondary_database], [last_copied_file], [last_copied_date], [last_restored_file], [last_restored_date], ' +
      '[last_restored_latency], [restore_threshold] FROM msdb.dbo.log_shipping_monitor_secondary WHERE [secondary_database] = ?',
    [checkedDatabaseName(database)],
  );
}

/** T-SQL as an operator types it: each bound value as an N'…' literal. */
export function asTsql(raw: Knex.Raw): string {
  const { sql, bindings } = raw.toSQL();
  let i = 0;
  return sql.replace(/\?/g, () => `N'${String(bindings[i++]).replace(/'/g, "''")}'`);
}

export interface LogShippingPlan {
  database: string;
  /** Where the primary writes its backups, as the primary's SQL Server sees it (a share the secondary can read). */
  primaryDir: string;
  /** Where the copies land on the secondary, as the secondary's SQL Server sees it. */
  secondaryDir: string;
  /** Readable between restores (STANDBY with an undo file) or not (NORECOVERY, the default). */
  readable?: boolean;
  moves?: readonly { logicalName: string; to: string }[];
  /** The time shown in the example log file names. */
  at?: Date;
}

/** The whole procedure as one commented T-SQL script (the operations manual prints it). */
export function logShippingScript(knex: Knex, plan: LogShippingPlan): string {
  const db = checkedDatabaseName(plan.database);
  const at = plan.at ?? new Date();
  const full = mssqlJoin(plan.primaryDir, `${db}_full.bak`);
  const log = mssqlJoin(plan.primaryDir, logBackupFileName(db, at));
  const copiedFull = mssqlJoin(plan.secondaryDir, `${db}_full.bak`);
  const copiedLog = mssqlJoin(plan.secondaryDir, logBackupFileName(db, at));
  const mode: RestoreMode = plan.readable
    ? { kind: 'standby', undoFile: mssqlJoin(plan.secondaryDir, `${db}_undo.tuf`) }
    : { kind: 'norecovery' };
  const line = (r: Knex.Raw) => `${asTsql(r)};`;
  return [
    '-- 1. 本番系 (一度だけ): 完全復旧モデルにして完全バックアップを取る',
    line(setFullRecovery(knex, db)),
    line(fullBackupStatement(knex, db, full)),
    '-- 2. 待機系 (一度だけ): 完全バックアップを待機系へコピーして、復旧せずに復元する',
    line(restoreFullStatement(knex, db, copiedFull, mode, plan.moves ?? [])),
    '-- 3. 本番系 (SQL Server エージェントで 5 分ごと): ログのバックアップ (ファイル名は時刻順)',
    line(logBackupStatement(knex, db, log)),
    '-- 4. 待機系 (5 分ごと): 届いたログを古い順に復元する',
    line(restoreLogStatement(knex, db, copiedLog, mode)),
    '-- 5. 待機系: 遅れの確認 (lag_seconds が 900 を超えたら調べる)',
    line(restoreLagQuery(knex, db)),
    '-- 6. 切替: 本番系が動いているなら最後のログを NORECOVERY で取り (本番系は書込み不可になる)、待機系で復元してから',
    line(logBackupStatement(knex, db, mssqlJoin(plan.primaryDir, `${db}_tail.trn`), { tail: true })),
    line(restoreLogStatement(knex, db, mssqlJoin(plan.secondaryDir, `${db}_tail.trn`), { kind: 'norecovery' })),
    '-- 7. 待機系を本番系にする',
    line(promoteStatement(knex, db)),
  ].join('\n');
}
