import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import knexFactory from 'knex';
import cron, { type ScheduledTask } from 'node-cron';
import type { AppConfig } from '../config/appConfig.js';
import { JAPAN_TIME_ZONE, japanStamp } from '../domain/japanTime.js';
import { version } from '../version.js';
import type { Logger } from './logger.js';
import { anchorAtBackup } from './backup/auditAnchor.js';
import { copyTree, listFiles } from './backup/files.js';
import {
  BACKUP_NAME_RE,
  MANIFEST,
  readManifest,
  sha256File,
  timeFromName,
  writeManifest,
  type BackupManifest,
  type ManifestFile,
  type MssqlDatabaseInfo,
  type SqliteDatabaseInfo,
} from './backup/manifest.js';
import { mssqlDiskPath, mssqlRestoreStatement, openMssqlForBackup, runMssqlBackup, runMssqlVerify } from './backup/mssql.js';
import { planRetention, type RetentionSettings } from './backup/retention.js';
import { checkDatabase, describeSnapshot, onlineBackup } from './backup/sqlite.js';
import { pidFilePath, runningServerPid } from './pidFile.js';

export type { BackupManifest } from './backup/manifest.js';
export type { RetentionSettings } from './backup/retention.js';

/** The RPA evidence store under the data directory (server/src/rpa/evidence.ts). */
const EVIDENCE_DIR = 'evidence';
/**
 * When the target itself is unusable (unmounted share, read-only, full), a failed attempt is
 * noted in the data directory instead, so that backupFreshness still reports it.
 */
const FAILURE_NOTE = 'backup-failure.json';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The backup folder: `backup.target`, relative to the data directory, or `--to DIR`. */
export function backupTarget(config: AppConfig, dataDir: string, override?: string): string {
  return path.resolve(dataDir, override ?? config.backup?.target ?? 'backups');
}

export interface BackupProgress {
  phase: 'database' | 'files' | 'verify';
  done: number;
  total: number;
}

export interface TakeBackupOptions {
  config: AppConfig;
  configDir: string;
  dataDir: string;
  /** Overrides `backup.target`. */
  target?: string;
  now?: Date;
  /** Verify before the folder gets its final name (default true). */
  verify?: boolean;
  onProgress?: (p: BackupProgress) => void;
  /** SQLite pages per backup step (tests make it small). */
  pagesPerStep?: number;
  /** SQL Server: use this connection instead of opening one from the config. */
  knex?: Knex;
  /** Where the audit anchor written at the backup is logged (the system log). */
  logger?: Logger;
}

export interface BackupResult {
  path: string;
  manifest: BackupManifest;
  bytes: number;
}

function freeName(target: string, now: Date): string {
  const base = `madoguchi-${japanStamp(now)}`;
  let name = base;
  for (let i = 2; existsSync(path.join(target, name)) || existsSync(path.join(target, `.${name}.partial`)); i++) name = `${base}-${i}`;
  return name;
}

/**
 * One backup: the database (SQLite online backup API, or SQL Server BACKUP DATABASE), the config
 * folder and the RPA evidence store, with a manifest of sizes and SHA-256. It is written as
 * `.NAME.partial` and renamed when complete, so a half-written backup is never listed. A failed
 * attempt leaves a folder holding only its manifest (verified: false), so that the failure shows
 * on the dashboard until a later backup succeeds.
 */
export async function takeBackup(opts: TakeBackupOptions): Promise<BackupResult> {
  const now = opts.now ?? new Date();
  const target = backupTarget(opts.config, opts.dataDir, opts.target);
  const name = freeName(target, now);
  const partial = path.join(target, `.${name}.partial`);
  const final = path.join(target, name);
  const manifest: BackupManifest = {
    format: 1,
    app: 'madoguchi',
    version,
    host: os.hostname(),
    createdAt: now.toISOString(),
    finishedAt: null,
    database: null,
    files: [],
    parts: [],
    verified: null,
    verifiedAt: null,
    problems: [],
  };
  const mssql = opts.config.database.client === 'mssql' ? opts.config.database.mssql : undefined;
  const knex = mssql ? (opts.knex ?? openMssqlForBackup(mssql)) : undefined;
  try {
    mkdirSync(target, { recursive: true, mode: 0o700 });
    mkdirSync(partial, { mode: 0o700 });
    // The audit chain's head goes to the anchor file and the log first, so that this backup holds it.
    const auditAnchor = await anchorAtBackup(opts.config, opts.dataDir, knex, opts.logger);
    if (auditAnchor) manifest.auditAnchor = auditAnchor;
    if (mssql) {
      const disk = mssqlDiskPath(opts.config.backup?.mssql?.disk ?? target, name);
      const copyOnly = opts.config.backup?.mssql?.copyOnly ?? true;
      opts.onProgress?.({ phase: 'database', done: 0, total: 1 });
      await runMssqlBackup(knex!, mssql.database, disk, { copyOnly });
      opts.onProgress?.({ phase: 'database', done: 1, total: 1 });
      manifest.database = { client: 'mssql', database: mssql.database, disk, copyOnly } satisfies MssqlDatabaseInfo;
    } else {
      manifest.database = await backupSqlite(opts, partial);
    }
    const parts: [string, string][] = [['config', opts.configDir]];
    if (opts.config.backup?.includeEvidence ?? true) parts.push(['evidence', path.join(opts.dataDir, EVIDENCE_DIR)]);
    for (const [part, src] of parts) {
      if (!existsSync(src)) continue;
      await copyTree(src, path.join(partial, part));
      manifest.parts.push(part);
    }
    const rels = listFiles(partial).filter((f) => f !== MANIFEST);
    let done = 0;
    for (const rel of rels) {
      const abs = path.join(partial, ...rel.split('/'));
      manifest.files.push({ path: rel, size: statSync(abs).size, sha256: await sha256File(abs) });
      opts.onProgress?.({ phase: 'files', done: ++done, total: rels.length });
    }
    manifest.finishedAt = new Date().toISOString();
    writeManifest(partial, manifest);
    if (opts.verify !== false) {
      await verifyBackup(partial, { ...(knex ? { knex } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) });
    }
    renameSync(partial, final);
    if (!opts.target) rmSync(path.join(opts.dataDir, FAILURE_NOTE), { force: true });
    return { path: final, manifest: readManifest(final), bytes: manifest.files.reduce((s, f) => s + f.size, 0) };
  } catch (e) {
    try {
      rmSync(partial, { recursive: true, force: true });
    } catch {
      // the target is not a folder: nothing was written
    }
    if (!recordFailure(final, manifest, e)) noteFailure(opts.dataDir, now, e);
    throw e;
  } finally {
    if (knex && !opts.knex) await knex.destroy();
  }
}

async function backupSqlite(opts: TakeBackupOptions, partial: string): Promise<SqliteDatabaseInfo> {
  const source = path.resolve(opts.dataDir, opts.config.database.sqlite.file);
  if (!existsSync(source)) throw new Error(`データベースがありません: ${source}`);
  const file = path.basename(source);
  const dest = path.join(partial, file);
  const { restarts } = await onlineBackup(source, dest, {
    ...(opts.pagesPerStep ? { pagesPerStep: opts.pagesPerStep } : {}),
    onProgress: (done, total) => opts.onProgress?.({ phase: 'database', done, total }),
  });
  chmodSync(dest, 0o600);
  const info = describeSnapshot(dest);
  opts.onProgress?.({ phase: 'database', done: info.pageCount, total: info.pageCount });
  return { client: 'sqlite', file, ...info, restarts };
}

function recordFailure(final: string, manifest: BackupManifest, e: unknown): boolean {
  try {
    mkdirSync(final, { mode: 0o700 });
    writeManifest(final, {
      ...manifest,
      database: null,
      files: [],
      parts: [],
      finishedAt: new Date().toISOString(),
      verified: false,
      verifiedAt: new Date().toISOString(),
      problems: [`バックアップを作成できませんでした: ${message(e)}`],
    });
    return true;
  } catch {
    return false;
  }
}

function noteFailure(dataDir: string, at: Date, e: unknown): void {
  try {
    writeFileSync(path.join(dataDir, FAILURE_NOTE), `${JSON.stringify({ at: at.toISOString(), error: message(e) })}\n`, { mode: 0o600 });
  } catch {
    // nothing more to do: the caller logs the error
  }
}

function readFailureNote(dataDir: string): { at: Date; error: string } | null {
  const file = path.join(dataDir, FAILURE_NOTE);
  if (!existsSync(file)) return null;
  const note = JSON.parse(readFileSync(file, 'utf8')) as { at: string; error: string };
  return { at: new Date(note.at), error: note.error };
}

export interface VerifyOptions {
  /** SQL Server: the connection that runs RESTORE VERIFYONLY. */
  knex?: Knex;
  /** Write the result into the manifest (default true). */
  record?: boolean;
  /** Where the database copy is checked (default: the system's temporary folder). */
  tmpDir?: string;
  now?: Date;
  onProgress?: (p: BackupProgress) => void;
}

export interface VerifyResult {
  verified: boolean;
  verifiedAt: string;
  problems: string[];
}

/**
 * Checks every file's size and SHA-256 against the manifest, then opens a copy of the database
 * in a temporary folder: integrity_check must say `ok`, foreign_key_check must find nothing,
 * and every table must hold as many rows as the manifest says. SQL Server: RESTORE VERIFYONLY
 * … WITH CHECKSUM on the server. The result goes into the manifest.
 */
export async function verifyBackup(dir: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const verifiedAt = (opts.now ?? new Date()).toISOString();
  let manifest: BackupManifest;
  try {
    manifest = readManifest(dir);
  } catch (e) {
    return { verified: false, verifiedAt, problems: [`manifest.json を読めません: ${message(e)}`] };
  }
  const problems: string[] = [];
  if (!manifest.database) problems.push(...(manifest.problems.length ? manifest.problems : ['データベースのバックアップがありません']));
  let done = 0;
  for (const f of manifest.files) {
    problems.push(...(await checkFile(dir, f)));
    opts.onProgress?.({ phase: 'verify', done: ++done, total: manifest.files.length + 1 });
  }
  const db = manifest.database;
  if (db?.client === 'sqlite') {
    if (!manifest.files.some((f) => f.path === db.file)) problems.push(`データベースのファイルが manifest にありません: ${db.file}`);
    const file = path.join(dir, db.file);
    if (existsSync(file)) problems.push(...(await checkDatabaseCopy(file, db.tables, opts.tmpDir)));
  } else if (db?.client === 'mssql') {
    if (!opts.knex) problems.push('SQL Server に接続していないため RESTORE VERIFYONLY を実行できません');
    else {
      const error = await runMssqlVerify(opts.knex, db.disk);
      if (error) problems.push(`RESTORE VERIFYONLY で異常があります (${db.disk}): ${error}`);
    }
  }
  opts.onProgress?.({ phase: 'verify', done: manifest.files.length + 1, total: manifest.files.length + 1 });
  const result = { verified: problems.length === 0, verifiedAt, problems };
  if (opts.record !== false) writeManifest(dir, { ...manifest, ...result });
  return result;
}

async function checkFile(dir: string, f: ManifestFile): Promise<string[]> {
  if (typeof f.path !== 'string' || f.path.split('/').some((p) => p === '..' || p === '') || path.isAbsolute(f.path))
    return [`manifest のファイル名が不正です: ${String(f.path)}`];
  const abs = path.join(dir, ...f.path.split('/'));
  if (!existsSync(abs)) return [`ファイルがありません: ${f.path}`];
  const size = statSync(abs).size;
  if (size !== f.size)
    return [`ファイルの大きさが記録と違います (改ざんまたは破損): ${f.path} (記録 ${f.size} バイト、実際 ${size} バイト)`];
  if ((await sha256File(abs)) !== f.sha256) return [`SHA-256 が記録と一致しません (改ざんまたは破損): ${f.path}`];
  return [];
}

/** A copy, because opening a database may write to it (journal, -wal/-shm). */
async function checkDatabaseCopy(file: string, expected: Record<string, number> | null, tmpDir?: string): Promise<string[]> {
  const tmp = await mkdtemp(path.join(tmpDir ?? os.tmpdir(), 'madoguchi-verify-'));
  try {
    const copy = path.join(tmp, 'check.sqlite');
    await copyFile(file, copy);
    const check = checkDatabase(copy);
    const problems = [...check.problems];
    if (check.tables && expected) {
      for (const [table, n] of Object.entries(expected)) {
        const actual = check.tables[table];
        if (actual === undefined) problems.push(`表がありません: ${table}`);
        else if (actual !== n) problems.push(`表 ${table} の件数が記録と違います (記録 ${n} 件、実際 ${actual} 件)`);
      }
      for (const table of Object.keys(check.tables)) if (!(table in expected)) problems.push(`記録にない表があります: ${table}`);
    }
    return problems;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export interface BackupEntry {
  name: string;
  path: string;
  createdAt: Date;
  /** Total size of the files (from the manifest). */
  bytes: number;
  verified: boolean | null;
  verifiedAt: string | null;
  problems: string[];
  manifest: BackupManifest | null;
}

/** The backups in a target folder, newest first; reads only the manifests. */
export function listBackups(target: string): BackupEntry[] {
  if (!existsSync(target) || !statSync(target).isDirectory()) return [];
  const entries: BackupEntry[] = [];
  for (const d of readdirSync(target, { withFileTypes: true })) {
    if (!d.isDirectory() || !BACKUP_NAME_RE.test(d.name)) continue;
    const dir = path.join(target, d.name);
    try {
      const m = readManifest(dir);
      entries.push({
        name: d.name,
        path: dir,
        createdAt: new Date(m.createdAt),
        bytes: m.files.reduce((s, f) => s + f.size, 0),
        verified: m.verified,
        verifiedAt: m.verifiedAt,
        problems: m.problems ?? [],
        manifest: m,
      });
    } catch (e) {
      const createdAt = timeFromName(d.name);
      if (!createdAt) continue;
      entries.push({
        name: d.name,
        path: dir,
        createdAt,
        bytes: 0,
        verified: false,
        verifiedAt: null,
        problems: [`manifest.json を読めません: ${message(e)}`],
        manifest: null,
      });
    }
  }
  return entries.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.name.localeCompare(a.name));
}

/** Folders of attempts that died half-way (power cut, killed) are removed after a day. */
const STALE_PARTIAL_MS = 24 * 3600_000;

/**
 * Retention: keeps the newest `keepGenerations` verified backups, every backup younger than
 * `keepBusinessDays` business days, and never the newest verified one (see planRetention).
 */
export function pruneBackups(
  target: string,
  settings: RetentionSettings,
  now: Date = new Date(),
): { kept: BackupEntry[]; removed: BackupEntry[] } {
  const plan = planRetention(listBackups(target), settings, now);
  for (const e of plan.remove) {
    rmSync(e.path, { recursive: true, force: true });
    const db = e.manifest?.database;
    // A SQL Server .bak written to a folder this machine also sees goes with its backup.
    if (db?.client === 'mssql' && path.isAbsolute(db.disk) && existsSync(db.disk)) rmSync(db.disk, { force: true });
  }
  if (existsSync(target)) {
    for (const d of readdirSync(target)) {
      if (!/^\.madoguchi-.*\.partial$/.test(d)) continue;
      const p = path.join(target, d);
      if (now.getTime() - statSync(p).mtimeMs > STALE_PARTIAL_MS) rmSync(p, { recursive: true, force: true });
    }
  }
  return { kept: plan.keep, removed: plan.remove };
}

export function retentionSettings(config: AppConfig): RetentionSettings {
  return {
    keepGenerations: config.backup.keepGenerations,
    keepBusinessDays: config.backup.keepBusinessDays,
    closedDates: config.openingHours.closedDates,
  };
}

/** Restore refused or aborted; nothing was changed. The message is for the operator. */
export class RestoreError extends Error {}

export interface RestoreOptions {
  config: AppConfig;
  dataDir: string;
  now?: Date;
  tmpDir?: string;
}

export interface RestoreResult {
  /** The backup folder, or the bare database file. */
  from: string;
  database: string;
  /** The files moved aside (`<db>.before-restore-<time>` and its -wal/-shm). */
  movedAside: string[];
  evidenceRestored: number;
  /** manifest: sizes, SHA-256, integrity and row counts; integrity: a bare file, integrity only. */
  checked: 'manifest' | 'integrity';
  tables: Record<string, number> | null;
  backupVersion: string | null;
}

/** A backup folder, its manifest.json or its database file; otherwise a bare SQLite file. */
function locate(source: string): { dir: string; manifest: BackupManifest } | { file: string } {
  const abs = path.resolve(source);
  if (!existsSync(abs)) throw new RestoreError(`バックアップがありません: ${abs}`);
  if (statSync(abs).isDirectory()) {
    if (!existsSync(path.join(abs, MANIFEST)))
      throw new RestoreError(
        `manifest.json のないフォルダーです。バックアップのフォルダー (madoguchi-YYYYMMDD-HHmmss) を指定してください: ${abs}`,
      );
    return { dir: abs, manifest: readManifest(abs) };
  }
  const dir = path.dirname(abs);
  if (existsSync(path.join(dir, MANIFEST))) {
    const manifest = readManifest(dir);
    if (path.basename(abs) === MANIFEST || (manifest.database?.client === 'sqlite' && manifest.database.file === path.basename(abs)))
      return { dir, manifest };
  }
  return { file: abs };
}

/**
 * Puts a backup back: refuses while the server runs, verifies the backup first, moves the
 * current database (and its -wal/-shm) aside, copies the backup in under a temporary name and
 * renames it. Evidence files missing from the data directory are copied back; nothing else is
 * overwritten. The config is not restored: it is the installer's (Ansible's) to manage, and the
 * backup's copy is there to compare with.
 */
export async function restoreBackup(source: string, opts: RestoreOptions): Promise<RestoreResult> {
  const { config, dataDir } = opts;
  const pid = runningServerPid(dataDir);
  if (pid !== null) {
    throw new RestoreError(
      `サーバーが動いているため復元できません (pid ${pid}、${pidFilePath(dataDir)})。先にサーバーを停止してください (systemctl stop madoguchi)。`,
    );
  }
  const where = locate(source);
  if (config.database.client === 'mssql') {
    const m = 'manifest' in where ? where.manifest.database : null;
    const disk = m?.client === 'mssql' ? m.disk : '<バックアップファイル>';
    const statement = mssqlRestoreStatement(knexFactory({ client: 'mssql' }), config.database.mssql!.database, disk);
    throw new RestoreError(
      `SQL Server のデータベースは SQL Server で復元します。サーバーを停止してから、SQL Server Management Studio または sqlcmd で次を実行してください:\n  ${asTsql(statement)}`,
    );
  }
  let checked: RestoreResult['checked'];
  let tables: Record<string, number> | null;
  let dbFile: string;
  if ('manifest' in where) {
    if (where.manifest.database?.client !== 'sqlite') throw new RestoreError('このバックアップには SQLite のデータベースがありません');
    const v = await verifyBackup(where.dir, { record: false, ...(opts.tmpDir ? { tmpDir: opts.tmpDir } : {}) });
    if (!v.verified)
      throw new RestoreError(
        `バックアップの検証で異常が見つかったため復元を中止しました (何も変更していません):\n${v.problems.map((p) => `  - ${p}`).join('\n')}`,
      );
    checked = 'manifest';
    tables = where.manifest.database.tables;
    dbFile = path.join(where.dir, where.manifest.database.file);
  } else {
    const problems = await checkDatabaseCopy(where.file, null, opts.tmpDir);
    if (problems.length)
      throw new RestoreError(
        `データベースの検査で異常が見つかったため復元を中止しました (何も変更していません):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      );
    checked = 'integrity';
    tables = null;
    dbFile = where.file;
  }

  const live = path.resolve(dataDir, config.database.sqlite.file);
  mkdirSync(path.dirname(live), { recursive: true });
  const incoming = `${live}.restoring`;
  await copyFile(dbFile, incoming);
  if ('manifest' in where) {
    const expected = where.manifest.files.find((f) => f.path === path.basename(dbFile))!;
    if ((await sha256File(incoming)) !== expected.sha256) {
      rmSync(incoming, { force: true });
      throw new RestoreError(
        `コピーしたデータベースの SHA-256 が記録と一致しません (${live} は変更していません)。ディスクを確認してください`,
      );
    }
  }
  // Named so that the set opens as a database as it is: `<aside>` with `<aside>-wal` and `<aside>-shm`.
  const stamp = `${live}.before-restore-${japanStamp(opts.now ?? new Date())}`;
  let aside = stamp;
  for (let i = 2; ['', '-wal', '-shm'].some((s) => existsSync(`${aside}${s}`)); i++) aside = `${stamp}-${i}`;
  const movedAside: string[] = [];
  for (const suffix of ['', '-wal', '-shm']) {
    if (!existsSync(`${live}${suffix}`)) continue;
    renameSync(`${live}${suffix}`, `${aside}${suffix}`);
    movedAside.push(`${aside}${suffix}`);
  }
  renameSync(incoming, live);

  let evidenceRestored = 0;
  if ('manifest' in where && where.manifest.parts.includes('evidence')) {
    const prefix = `${EVIDENCE_DIR}/`;
    for (const f of where.manifest.files.filter((x) => x.path.startsWith(prefix))) {
      const to = path.join(dataDir, ...f.path.split('/'));
      if (existsSync(to)) continue;
      mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
      await copyFile(path.join(where.dir, ...f.path.split('/')), to);
      evidenceRestored++;
    }
  }
  return {
    from: 'manifest' in where ? where.dir : where.file,
    database: live,
    movedAside,
    evidenceRestored,
    checked,
    tables,
    backupVersion: 'manifest' in where ? where.manifest.version : null,
  };
}

/** T-SQL as an operator would type it: the bound path as an N'…' literal. */
function asTsql(raw: Knex.Raw): string {
  const { sql, bindings } = raw.toSQL();
  let i = 0;
  return sql.replace(/\?/g, () => `N'${String(bindings[i++]).replace(/'/g, "''")}'`);
}

export interface BackupFreshness {
  status: 'ok' | 'stale' | 'failed' | 'none';
  lastAt: string | null;
  lastVerified: boolean | null;
  target: string;
  count: number;
}

/**
 * For the dashboard and /healthz. `lastAt`/`lastVerified` describe the newest attempt; `count` is
 * the number of verified backups kept. 'failed' when the newest attempt failed (or its
 * verification did), 'stale' when the newest verified backup is older than `backup.maxAgeHours`
 * (default 26), 'none' when there is none. Reads manifests only and never throws.
 */
export async function backupFreshness(config: AppConfig, dataDir: string, now: Date = new Date()): Promise<BackupFreshness> {
  let target = '';
  try {
    target = backupTarget(config, dataDir);
    const entries = listBackups(target);
    const newest = entries[0];
    const count = entries.filter((e) => e.verified === true).length;
    const note = readFailureNote(dataDir);
    if (note && (!newest || note.at > newest.createdAt))
      return { status: 'failed', lastAt: note.at.toISOString(), lastVerified: false, target, count };
    if (!newest) return { status: 'none', lastAt: null, lastVerified: null, target, count: 0 };
    const lastGood = entries.find((e) => e.verified === true);
    const maxAgeMs = (config.backup?.maxAgeHours ?? 26) * 3600_000;
    const status =
      newest.verified === false ? 'failed' : !lastGood || now.getTime() - lastGood.createdAt.getTime() > maxAgeMs ? 'stale' : 'ok';
    return { status, lastAt: newest.createdAt.toISOString(), lastVerified: newest.verified, target, count };
  } catch {
    return { status: 'failed', lastAt: null, lastVerified: null, target, count: 0 };
  }
}

export interface BackupScheduleContext {
  config: AppConfig;
  configDir: string;
  dataDir: string;
  logger: Logger;
}

/** One scheduled run: take (with verification) → prune. Failures are logged, never thrown. */
export async function runScheduledBackup(ctx: BackupScheduleContext): Promise<void> {
  const { config, logger } = ctx;
  try {
    const r = await takeBackup({ config, configDir: ctx.configDir, dataDir: ctx.dataDir, logger });
    if (r.manifest.verified) logger.info('backup done', { path: r.path, bytes: r.bytes });
    else logger.error('backup verification failed', { path: r.path, problems: r.manifest.problems });
  } catch (e) {
    logger.error('backup failed', { error: e });
  }
  try {
    const { removed } = pruneBackups(backupTarget(config, ctx.dataDir), retentionSettings(config));
    if (removed.length) logger.info('old backups removed', { removed: removed.map((e) => e.name) });
  } catch (e) {
    logger.error('backup prune failed', { error: e });
  }
}

/** node-cron schedule of `backup.schedule` (Japan time); undefined when it is null. */
export function scheduleBackups(ctx: BackupScheduleContext): ScheduledTask | undefined {
  const schedule = ctx.config.backup?.schedule;
  if (!schedule) return undefined;
  return cron.schedule(schedule, () => runScheduledBackup(ctx), { timezone: JAPAN_TIME_ZONE, name: 'backup', noOverlap: true });
}
