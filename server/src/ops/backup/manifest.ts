import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { startOfJapanDay } from '../../domain/japanTime.js';

export const MANIFEST = 'manifest.json';
export const BACKUP_PREFIX = 'madoguchi-';
/** `madoguchi-YYYYMMDD-HHmmss`, with `-2`, `-3` … when two are taken within one second. */
export const BACKUP_NAME_RE = /^madoguchi-([0-9]{8})-([0-9]{6})(?:-[0-9]+)?$/;

export interface ManifestFile {
  /** Relative to the backup folder, with `/` separators. */
  path: string;
  size: number;
  sha256: string;
}

export interface SqliteDatabaseInfo {
  client: 'sqlite';
  /** The database file inside the backup folder. */
  file: string;
  pageSize: number;
  pageCount: number;
  /** Rows per table in the backup (the snapshot), checked again by verification. */
  tables: Record<string, number>;
  /** Restarts of the online backup because other connections wrote meanwhile. */
  restarts: number;
}

export interface MssqlDatabaseInfo {
  client: 'mssql';
  database: string;
  /** The .bak file as SQL Server sees it (`TO DISK`). */
  disk: string;
  copyOnly: boolean;
}

export interface BackupManifest {
  format: 1;
  app: 'madoguchi';
  version: string;
  host: string;
  createdAt: string;
  finishedAt: string | null;
  database: SqliteDatabaseInfo | MssqlDatabaseInfo | null;
  files: ManifestFile[];
  /** What the backup holds besides the database, e.g. `config`, `evidence`. */
  parts: string[];
  verified: boolean | null;
  verifiedAt: string | null;
  problems: string[];
  /** The audit chain's head as anchored when the backup was taken (absent: no audit trail in the database). */
  auditAnchor?: { seq: number; hash: string; start: number; line: number | null; file: string | null } | { error: string };
}

export function readManifest(dir: string): BackupManifest {
  const m = JSON.parse(readFileSync(path.join(dir, MANIFEST), 'utf8')) as BackupManifest;
  if (m.app !== 'madoguchi' || !Array.isArray(m.files) || typeof m.createdAt !== 'string')
    throw new Error('まどぐちのバックアップの manifest.json ではありません');
  return m;
}

/** Written under a temporary name and renamed, so that a reader never sees half a manifest. */
export function writeManifest(dir: string, m: BackupManifest): void {
  const tmp = path.join(dir, `.${MANIFEST}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(m, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path.join(dir, MANIFEST));
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/**
 * Japan time lives in domain/japanTime.ts; these names stay for the callers that import them from
 * here (`japanTime` is `japanDateTime`: `YYYY-MM-DD HH:mm:ss`).
 */
export { japanStamp, japanDateTime as japanTime } from '../../domain/japanTime.js';

/** The time encoded in a backup folder's name (used when its manifest cannot be read). */
export function timeFromName(name: string): Date | null {
  const m = BACKUP_NAME_RE.exec(name);
  if (!m) return null;
  const [d, t] = [m[1]!, m[2]!];
  const [h, min, s] = [Number(t.slice(0, 2)), Number(t.slice(2, 4)), Number(t.slice(4, 6))];
  if (h > 23 || min > 59 || s > 59) return null;
  const day = startOfJapanDay(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`);
  const date = new Date(day.getTime() + ((h * 60 + min) * 60 + s) * 1000);
  return Number.isNaN(date.getTime()) ? null : date;
}
