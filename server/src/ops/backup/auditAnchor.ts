import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import { anchorFilePath } from '../../audit/anchorFile.js';
import { writeAnchor, type AnchorLog } from '../../audit/trail.js';
import type { AppConfig } from '../../config/appConfig.js';
import { openDatabase } from '../../db/connect.js';
import type { BackupManifest } from './manifest.js';

/** The anchor written when the backup was taken (docs/security.md §6.2), or why it could not be. */
export type BackupAuditAnchor = NonNullable<BackupManifest['auditAnchor']>;

function sqliteHasAuditTrail(file: string): boolean {
  const db = new Database(file, { fileMustExist: true });
  try {
    const row = db
      .prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('audit_trail', 'audit_chain_head')")
      .get() as { n: number };
    return Number(row.n) === 2;
  } finally {
    db.close();
  }
}

/**
 * Before the database is copied: the audit chain's head goes to the anchor file and the log
 * (kind `backup`), so that the backup holds the anchored record. A database without an audit
 * trail (not yet migrated) gets none. A failure is logged and noted, never fails the backup.
 */
export async function anchorAtBackup(
  config: AppConfig,
  dataDir: string,
  mssqlKnex: Knex | undefined,
  log?: AnchorLog & { error(message: string, meta: Record<string, unknown>): unknown },
): Promise<BackupAuditAnchor | undefined> {
  let knex: Knex | undefined;
  try {
    if (mssqlKnex) {
      if (!(await mssqlKnex.schema.hasTable('audit_chain_head'))) return undefined;
      knex = mssqlKnex;
    } else {
      const source = path.resolve(dataDir, config.database.sqlite.file);
      if (!existsSync(source) || !sqliteHasAuditTrail(source)) return undefined;
      knex = openDatabase(config.database, dataDir);
    }
    const a = await writeAnchor(knex, { file: anchorFilePath(config, dataDir), kind: 'backup', ...(log ? { log } : {}) });
    return { seq: a.seq, hash: a.hash, start: a.start, line: a.line, file: a.file };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    log?.error('audit anchor at backup failed', { error });
    return { error };
  } finally {
    if (knex && knex !== mssqlKnex) await knex.destroy();
  }
}
