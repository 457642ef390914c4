import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  createWriteStream,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrationSource } from '../db/migrations/index.js';
import { sha256 } from './auth.js';
import { CHUNK_BYTES, hashFile, hashFileAsync, migrationsOf, type DbManifest } from './snapshot.js';
import { fsyncDir, replicaFile, replicaStateFile, standbyDir, writeFileAtomic } from './state.js';

/** The verified state of the installed replica (`<data-dir>/standby/replica.json`). */
export type ReplicaState = DbManifest & {
  /** When this node last installed or confirmed a state (its own clock). */
  verifiedAt: string;
};

/** A shipment refused; `code` is stable for the primary and the tests, `message` is for people. */
export class ShipmentRefused extends Error {
  constructor(
    readonly code:
      | 'epoch.stale'
      | 'role.primary'
      | 'seq.stale'
      | 'manifest.invalid'
      | 'session.unknown'
      | 'body.sha'
      | 'body.length'
      | 'chunk.sha'
      | 'file.sha'
      | 'quickCheck'
      | 'schema.mismatch'
      | 'schema.unknown',
    message: string,
  ) {
    super(message);
  }
}

const pendingStateFile = (dataDir: string) => `${replicaStateFile(dataDir)}.pending`;

/**
 * After a crash between installing a file and recording its state: keeps whichever recorded
 * state (current or pending) matches the installed file; when neither does, forgets the state so
 * that the next shipment sends everything. Never deletes the file itself.
 */
export function reconcileReplica(dataDir: string): void {
  const pending = pendingStateFile(dataDir);
  if (!existsSync(pending)) return;
  const file = replicaFile(dataDir);
  const actual = existsSync(file) ? hashFile(file).sha256 : null;
  let p: ReplicaState | null = null;
  try {
    p = JSON.parse(readFileSync(pending, 'utf8')) as ReplicaState;
  } catch {
    p = null;
  }
  if (p && actual === p.sha256) renameSync(pending, replicaStateFile(dataDir));
  else {
    rmSync(pending, { force: true });
    if (readReplicaState(dataDir)?.sha256 !== actual) rmSync(replicaStateFile(dataDir), { force: true });
  }
}

export function readReplicaState(dataDir: string): ReplicaState | null {
  const file = replicaStateFile(dataDir);
  if (!existsSync(file)) return null;
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as ReplicaState;
    if (!Number.isInteger(s.seq) || !Number.isInteger(s.epoch) || typeof s.sha256 !== 'string' || !Array.isArray(s.chunks)) return null;
    return s;
  } catch {
    return null;
  }
}

const HEX = /^[0-9a-f]{64}$/;

/** Checks a manifest's shape (it is signed, but a bug on the other side must not install garbage). */
export function checkManifest(m: unknown): DbManifest {
  const x = m as Partial<DbManifest>;
  const ok =
    x &&
    Number.isInteger(x.epoch) &&
    Number.isInteger(x.seq) &&
    (x.seq as number) > 0 &&
    typeof x.snapshotAt === 'string' &&
    !Number.isNaN(Date.parse(x.snapshotAt)) &&
    Number.isInteger(x.size) &&
    (x.size as number) > 0 &&
    typeof x.sha256 === 'string' &&
    HEX.test(x.sha256) &&
    Number.isInteger(x.chunkBytes) &&
    (x.chunkBytes as number) >= 4096 &&
    (x.chunkBytes as number) <= 64 * 1024 * 1024 &&
    Array.isArray(x.chunks) &&
    x.chunks.length === Math.ceil((x.size as number) / (x.chunkBytes as number)) &&
    x.chunks.every((c) => typeof c === 'string' && HEX.test(c)) &&
    Array.isArray(x.migrations) &&
    x.migrations.every((n) => typeof n === 'string');
  if (!ok) throw new ShipmentRefused('manifest.invalid', '送られた目録 (manifest) の形式が正しくありません。');
  return x as DbManifest;
}

/** The migrations this build of madoguchi knows, by name. */
async function knownMigrations(): Promise<Set<string>> {
  const all = await migrationSource.getMigrations([]);
  return new Set(all.map((m) => migrationSource.getMigrationName(m)));
}

interface Session {
  id: string;
  manifest: DbManifest;
  need: number[];
  base: ReplicaState | null;
}

/**
 * The standby's side of the database shipping: answers which chunks it lacks, assembles the new
 * file from the chunks sent and those of its current replica, verifies it, and only then installs
 * it. A state that fails verification is discarded and reported, never installed.
 */
export class ReplicaReceiver {
  private session: Session | null = null;
  /** The last refusal (for `standby status` on this node). */
  lastRefusal: { at: string; code: string; message: string } | null = null;

  constructor(private readonly dataDir: string) {
    reconcileReplica(dataDir);
  }

  current(): ReplicaState | null {
    return readReplicaState(this.dataDir);
  }

  /** Step 1: the manifest; answers the chunk indices to send. `ownEpoch`: this node's epoch. */
  offer(raw: unknown, ownEpoch: number): { session: string; need: number[]; seq: number } {
    try {
      const m = checkManifest(raw);
      if (m.epoch < ownEpoch)
        throw new ShipmentRefused(
          'epoch.stale',
          `世代 (epoch) ${m.epoch} の送信は受け付けません (この系は ${ownEpoch})。送ってきた系は切り替え前の運用系です。`,
        );
      const base = this.current();
      if (base && m.epoch === base.epoch && m.seq <= base.seq)
        throw new ShipmentRefused('seq.stale', `通番 ${m.seq} は受け取り済みの ${base.seq} より古い送信です。`);
      const need: number[] = [];
      const sameChunkSize = base !== null && base.chunkBytes === m.chunkBytes && existsSync(replicaFile(this.dataDir));
      m.chunks.forEach((h, i) => {
        if (!(sameChunkSize && base.chunks[i] === h)) need.push(i);
      });
      this.session = { id: randomUUID(), manifest: m, need, base: sameChunkSize ? base : null };
      return { session: this.session.id, need, seq: base?.seq ?? 0 };
    } catch (e) {
      throw this.refused(e);
    }
  }

  /**
   * Step 2: the needed chunks, concatenated in the order of `need`; `bodySha` is the signed hash
   * of the body. Assembles `replica.next`, verifies, installs. Returns the installed state.
   */
  async receive(sessionId: string, body: Readable, bodySha: string): Promise<ReplicaState> {
    const s = this.session;
    try {
      if (!s || s.id !== sessionId)
        throw new ShipmentRefused('session.unknown', '送信の手続き (session) が見つかりません。目録から送り直してください。');
      this.session = null;
      const dir = standbyDir(this.dataDir);
      const incoming = path.join(dir, 'replica.incoming');
      const next = path.join(dir, 'replica.next');
      try {
        // The body goes to disk while hashed: a first shipment is the whole database.
        const h = createHash('sha256');
        let bytes = 0;
        await pipeline(
          body,
          new Transform({
            transform(chunk: Buffer, _enc, done) {
              h.update(chunk);
              bytes += chunk.length;
              done(null, chunk);
            },
          }),
          createWriteStream(incoming),
        );
        if (h.digest('hex') !== bodySha)
          throw new ShipmentRefused('body.sha', '送られたデータの SHA-256 が署名と合いません (転送中に壊れました)。');
        const m = s.manifest;
        const sizeOf = (i: number) => Math.min(m.chunkBytes, m.size - i * m.chunkBytes);
        const expected = s.need.reduce((n, i) => n + sizeOf(i), 0);
        if (bytes !== expected)
          throw new ShipmentRefused('body.length', `送られたデータの長さ ${bytes} バイトが目録の ${expected} バイトと合いません。`);
        if (s.need.length === 0 && s.base && s.base.sha256 === m.sha256) {
          // Nothing changed since the installed state: it is confirmed as of the new snapshot time.
          return this.record(m);
        }
        try {
          assemble(next, incoming, s.need, m, s.base ? replicaFile(this.dataDir) : null);
        } catch (e) {
          if (!(e instanceof BaseDamaged)) throw e;
          // The next offer asks for every chunk; the installed file stays until a verified one replaces it.
          rmSync(replicaStateFile(this.dataDir), { force: true });
          throw new ShipmentRefused(
            'chunk.sha',
            `この系の複製のチャンク ${e.index} が記録と合いません。次の送信ですべてのチャンクを受け取り直します。`,
          );
        }
        await verifyReplicaFile(next, m);
        // The new state is written as pending first: a crash between the renames leaves a pair that
        // `reconcileReplica` can still match (file ↔ state), never a file with another state's hashes.
        const st = this.stateOf(m);
        writeFileAtomic(pendingStateFile(this.dataDir), `${JSON.stringify(st)}\n`);
        renameSync(next, replicaFile(this.dataDir));
        fsyncDir(dir);
        renameSync(pendingStateFile(this.dataDir), replicaStateFile(this.dataDir));
        fsyncDir(dir);
        this.lastRefusal = null;
        return st;
      } finally {
        rmSync(incoming, { force: true });
        rmSync(next, { force: true });
      }
    } catch (e) {
      throw this.refused(e);
    }
  }

  private record(m: DbManifest): ReplicaState {
    const st = this.stateOf(m);
    writeFileAtomic(replicaStateFile(this.dataDir), `${JSON.stringify(st)}\n`);
    this.lastRefusal = null;
    return st;
  }

  private stateOf(m: DbManifest): ReplicaState {
    return {
      epoch: m.epoch,
      seq: m.seq,
      snapshotAt: m.snapshotAt,
      size: m.size,
      sha256: m.sha256,
      chunkBytes: m.chunkBytes,
      chunks: m.chunks,
      migrations: m.migrations,
      verifiedAt: new Date().toISOString(),
    };
  }

  private refused(e: unknown): unknown {
    if (e instanceof ShipmentRefused) this.lastRefusal = { at: new Date().toISOString(), code: e.code, message: e.message };
    return e;
  }
}

/** A chunk of the installed replica is not what replica.json says (a crash between the two renames, a disk fault). */
class BaseDamaged extends Error {
  constructor(readonly index: number) {
    super(`base chunk ${index}`);
  }
}

/** Writes `next` chunk by chunk: sent ones from `incoming`, the others from the current replica; each checked. */
function assemble(next: string, incoming: string, need: number[], m: DbManifest, base: string | null): void {
  const sent = new Map(need.map((idx, k) => [idx, k] as const));
  const offsets: number[] = [];
  let off = 0;
  for (const i of need) {
    offsets.push(off);
    off += Math.min(m.chunkBytes, m.size - i * m.chunkBytes);
  }
  const inFd = openSync(incoming, 'r');
  const baseFd = base ? openSync(base, 'r') : null;
  const outFd = openSync(next, 'w');
  const buf = Buffer.alloc(m.chunkBytes);
  try {
    for (let i = 0; i < m.chunks.length; i++) {
      const len = Math.min(m.chunkBytes, m.size - i * m.chunkBytes);
      const k = sent.get(i);
      let n: number;
      if (k !== undefined) n = readSync(inFd, buf, 0, len, offsets[k]!);
      else if (baseFd !== null) n = readSync(baseFd, buf, 0, len, i * m.chunkBytes);
      else n = 0;
      const part = buf.subarray(0, n);
      if (n !== len || sha256(part) !== m.chunks[i]) {
        if (k === undefined) throw new BaseDamaged(i);
        throw new ShipmentRefused('chunk.sha', `チャンク ${i} の SHA-256 が目録と合いません。この状態は採用せず破棄しました。`);
      }
      writeSync(outFd, part, 0, n, i * m.chunkBytes);
    }
    fsyncSync(outFd);
  } finally {
    closeSync(inFd);
    if (baseFd !== null) closeSync(baseFd);
    closeSync(outFd);
  }
}

/**
 * Verifies an assembled (or installed) replica against its manifest: whole-file SHA-256, `PRAGMA
 * quick_check`, and the migration table equal to the manifest's and known to this build.
 */
export async function verifyReplicaFile(file: string, m: Pick<DbManifest, 'sha256' | 'migrations'>): Promise<void> {
  if ((await hashFileAsync(file)).sha256 !== m.sha256)
    throw new ShipmentRefused('file.sha', '組み立てたデータベースの SHA-256 が目録と合いません。この状態は採用せず破棄しました。');
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new ShipmentRefused('quickCheck', `組み立てたデータベースを開けません: ${(e as Error).message}`);
  }
  let migrations: string[];
  try {
    const lines = (db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check);
    if (lines.length !== 1 || lines[0] !== 'ok')
      throw new ShipmentRefused(
        'quickCheck',
        `組み立てたデータベースの検査 (PRAGMA quick_check) で異常があります: ${lines.slice(0, 3).join(' / ')}`,
      );
    migrations = migrationsOf(db);
  } catch (e) {
    if (e instanceof ShipmentRefused) throw e;
    throw new ShipmentRefused('quickCheck', `組み立てたデータベースを検査できません: ${(e as Error).message}`);
  } finally {
    db.close();
  }
  if (migrations.join('\n') !== m.migrations.join('\n'))
    throw new ShipmentRefused(
      'schema.mismatch',
      'データベースの移行の一覧 (knex_migrations) が目録と合いません。この状態は採用せず破棄しました。',
    );
  const known = await knownMigrations();
  const unknown = migrations.filter((n) => !known.has(n));
  if (unknown.length)
    throw new ShipmentRefused(
      'schema.unknown',
      `この系のまどぐちが知らないデータベースの移行があります (${unknown.slice(0, 3).join(', ')})。待機系のまどぐちを運用系と同じ版に更新してください。`,
    );
}

export { CHUNK_BYTES };
