import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import Database from 'better-sqlite3';

/** Chunks of the shipped database file; unchanged pages stay at the same offsets, so most chunks repeat. */
export const CHUNK_BYTES = 1024 * 1024;

/** What the primary offers each cycle: enough to assemble and verify the file on the standby. */
export interface DbManifest {
  epoch: number;
  seq: number;
  /** When the snapshot was taken, by the primary's clock (ISO). */
  snapshotAt: string;
  size: number;
  sha256: string;
  chunkBytes: number;
  chunks: string[];
  /** The applied migrations (knex_migrations names in order): the schema version. */
  migrations: string[];
}

/** SHA-256 of the whole file and of each chunk, in one read. */
export function hashFile(file: string, chunkBytes = CHUNK_BYTES): { size: number; sha256: string; chunks: string[] } {
  const size = statSync(file).size;
  const whole = createHash('sha256');
  const chunks: string[] = [];
  const buf = Buffer.alloc(chunkBytes);
  const fd = openSync(file, 'r');
  try {
    for (let off = 0; off < size; off += chunkBytes) {
      const n = readSync(fd, buf, 0, Math.min(chunkBytes, size - off), off);
      const part = buf.subarray(0, n);
      whole.update(part);
      chunks.push(createHash('sha256').update(part).digest('hex'));
    }
  } finally {
    closeSync(fd);
  }
  return { size, sha256: whole.digest('hex'), chunks };
}

/**
 * The same, reading chunk by chunk asynchronously: a large database is hashed every cycle on the
 * primary, and the counter's requests must go on meanwhile (the sync version would block them).
 */
export async function hashFileAsync(file: string, chunkBytes = CHUNK_BYTES): Promise<{ size: number; sha256: string; chunks: string[] }> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const whole = createHash('sha256');
    const chunks: string[] = [];
    const buf = Buffer.alloc(chunkBytes);
    for (let off = 0; off < size; off += chunkBytes) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(chunkBytes, size - off), off);
      const part = buf.subarray(0, bytesRead);
      whole.update(part);
      chunks.push(createHash('sha256').update(part).digest('hex'));
    }
    return { size, sha256: whole.digest('hex'), chunks };
  } finally {
    await fh.close();
  }
}

/** SHA-256 of the given chunks concatenated (the body the primary sends), read asynchronously. */
export async function hashChunks(file: string, need: readonly number[], chunkBytes: number): Promise<{ sha256: string; bytes: number }> {
  const fh = await open(file, 'r');
  try {
    const h = createHash('sha256');
    const buf = Buffer.alloc(chunkBytes);
    let bytes = 0;
    for (const i of need) {
      const { bytesRead } = await fh.read(buf, 0, chunkBytes, i * chunkBytes);
      h.update(buf.subarray(0, bytesRead));
      bytes += bytesRead;
    }
    return { sha256: h.digest('hex'), bytes };
  } finally {
    await fh.close();
  }
}

export function readChunk(file: string, index: number, chunkBytes = CHUNK_BYTES): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(chunkBytes);
    const n = readSync(fd, buf, 0, chunkBytes, index * chunkBytes);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** The applied migrations of a database file, in order ([] when it has none). */
export function migrationsOf(db: Database.Database): string[] {
  const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'knex_migrations'").get();
  if (!has) return [];
  return (db.prepare('SELECT name FROM knex_migrations ORDER BY id').all() as { name: string }[]).map((r) => r.name);
}

/**
 * Makes the snapshot stand alone and deterministic: rollback journal instead of WAL (no -wal/-shm
 * belongs to it), as the nightly backup does (ops/backup/sqlite.ts). Returns its migrations.
 */
export function sealSnapshot(file: string): string[] {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
    return migrationsOf(db);
  } finally {
    db.close();
  }
}
