import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import type { Logger } from '../ops/logger.js';
import { onlineBackup } from '../ops/backup/sqlite.js';
import { EMPTY_SHA } from './auth.js';
import { PeerError, peerRequest, type Peer } from './client.js';
import { FileLister, readStream, type FileEntry, type FileSources, type FilesManifest } from './files.js';
import { CHUNK_BYTES, hashChunks, hashFileAsync, readChunk, sealSnapshot, type DbManifest } from './snapshot.js';
import { failedOverFile, shipStateFile, standbyDir, writeFileAtomic } from './state.js';
import type { NodeStatus } from './node.js';

export interface ShipperOptions {
  dataDir: string;
  /** The live SQLite database file. */
  dbFile: string;
  epoch: number;
  peer: Peer;
  intervalMs: number;
  filesIntervalMs: number;
  syncTimeoutMs: number;
  sources: FileSources;
  logger: Logger;
  /**
   * Called once when the peer shows that this node was failed over (the peer is a primary of the
   * same or a later epoch, or refuses this epoch): `madoguchi serve` then stops the server.
   */
  onFailedOver?: (message: string) => void;
  /** Per request; the database body gets more (large first shipment). */
  requestTimeoutMs?: number;
}

/** The last cycle as `standby status` and /healthz read it (`<data-dir>/standby/ship.json`). */
export interface ShipState {
  at: string;
  ok: boolean;
  epoch: number;
  seq: number | null;
  snapshotAt: string | null;
  /** When the standby last acknowledged a verified state. */
  lastOkAt: string | null;
  lastOkSnapshotAt: string | null;
  sentChunks: number;
  totalChunks: number;
  sentBytes: number;
  ms: number;
  error: string | null;
  code: string | null;
  /** The last cycle failed, or a notice's acceptance did not see its shipment within syncTimeoutMs. */
  degraded: boolean;
  files: { at: string; ok: boolean; sent: number; total: number; error: string | null } | null;
}

export function readShipState(dataDir: string): ShipState | null {
  try {
    return JSON.parse(readFileSync(shipStateFile(dataDir), 'utf8')) as ShipState;
  } catch {
    return null;
  }
}

/** At most this much file content per round (the rest follows after the next database cycle). */
const FILES_ROUND_BYTES = 32 * 1024 * 1024;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * The primary's side: every `intervalMs` an online backup of the live database, chunked and
 * hashed, offered to the standby, which answers the chunks it lacks; only those are sent. The
 * files (configuration, evidence, anchor) follow every `filesIntervalMs`. `start()`/`stop()` so
 * that the caller can run it under a lease. `waitShipped()` is what a notice's acceptance awaits.
 */
export class Shipper {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Cycles started so far; a waiter needs one started after it (a cycle in progress may predate its commit). */
  private started = 0;
  private waiters: { ticket: number; resolve: (ok: boolean) => void }[] = [];
  private seq = 0;
  private peerSeq = 0;
  private dataVersion: number | null = null;
  private manifest: DbManifest | null = null;
  private watch: Database.Database | null = null;
  private lastFilesAt = 0;
  private failedOver = false;
  private readonly lister: FileLister;
  private readonly snapshot: string;
  state: ShipState;

  constructor(private readonly o: ShipperOptions) {
    this.lister = new FileLister(o.sources);
    this.snapshot = path.join(standbyDir(o.dataDir), 'ship.sqlite');
    const before = readShipState(o.dataDir);
    this.seq = before?.epoch === o.epoch ? (before.seq ?? 0) : 0;
    this.state = {
      at: new Date().toISOString(),
      ok: false,
      epoch: o.epoch,
      seq: null,
      snapshotAt: null,
      lastOkAt: before?.lastOkAt ?? null,
      lastOkSnapshotAt: before?.lastOkSnapshotAt ?? null,
      sentChunks: 0,
      totalChunks: 0,
      sentBytes: 0,
      ms: 0,
      error: null,
      code: null,
      degraded: false,
      files: before?.files ?? null,
    };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loop;
    this.loop = null;
    for (const w of this.waiters.splice(0)) w.resolve(false);
    this.watch?.close();
    this.watch = null;
  }

  /**
   * Resolves true once a cycle started after this call was verified and acknowledged by the
   * standby; false when that takes longer than `syncTimeoutMs` or fails (shipping is then marked
   * degraded). Never rejects: the counter must not stop because the standby is down.
   */
  waitShipped(): Promise<boolean> {
    if (!this.running) return Promise.resolve(false);
    const ticket = this.started + 1;
    return new Promise<boolean>((resolve) => {
      const w = { ticket, resolve };
      this.waiters.push(w);
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i < 0) return;
        this.waiters.splice(i, 1);
        this.markDegraded(`同期の待ち時間 ${this.o.syncTimeoutMs} ms を過ぎました`);
        resolve(false);
      }, this.o.syncTimeoutMs);
      w.resolve = (ok) => {
        clearTimeout(timer);
        resolve(ok);
      };
      this.kick();
    });
  }

  private kick(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const n = ++this.started;
      const ok = await this.cycle().catch((e: unknown) => {
        this.o.logger.error('standby shipping cycle crashed', { error: e });
        return false;
      });
      for (const w of this.waiters.filter((x) => x.ticket <= n)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(ok);
      }
      if (ok && Date.now() - this.lastFilesAt >= this.o.filesIntervalMs) await this.shipFiles();
      if (!this.running) break;
      if (this.waiters.length) continue; // an acceptance waits: start its cycle now
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, this.o.intervalMs);
      });
      if (this.timer) clearTimeout(this.timer);
      this.wake = null;
    }
  }

  private markDegraded(why: string): void {
    if (!this.state.degraded) this.o.logger.warn('standby shipping degraded', { reason: why });
    this.state.degraded = true;
    this.persist();
  }

  private persist(): void {
    try {
      writeFileAtomic(shipStateFile(this.o.dataDir), `${JSON.stringify(this.state)}\n`);
    } catch (e) {
      this.o.logger.warn('standby ship state not written', { error: e });
    }
  }

  private timeout(bytes: number): number {
    // 10 MB/s at worst on the town hall's LAN, on top of the base timeout.
    return (this.o.requestTimeoutMs ?? 10_000) + Math.ceil(bytes / 10_000);
  }

  /** Whether the live database changed since the last snapshot (PRAGMA data_version of an idle connection). */
  private changed(): { changed: boolean; version: number | null } {
    try {
      this.watch ??= new Database(this.o.dbFile, { fileMustExist: true, readonly: true });
      const v = Number(this.watch.pragma('data_version', { simple: true }));
      return { changed: this.dataVersion === null || v !== this.dataVersion || !this.manifest || !existsSync(this.snapshot), version: v };
    } catch {
      return { changed: true, version: null };
    }
  }

  private async cycle(): Promise<boolean> {
    const t0 = Date.now();
    const snapshotAt = new Date();
    let sentChunks = 0;
    let sentBytes = 0;
    let manifest: DbManifest | null = null;
    try {
      if (this.peerSeq === 0) {
        const st = await peerRequest<NodeStatus>(this.o.peer, {
          method: 'GET',
          path: '/api/v1/standby/status',
          timeoutMs: this.timeout(0),
        });
        // The peer was promoted past this node: this node must stop serving (fail closed).
        if ((st.role === 'primary' && st.epoch >= this.o.epoch) || st.epoch > this.o.epoch)
          throw new PeerError(
            `相手 (${this.o.peer.url}) は${st.role === 'primary' ? '運用系' : '待機系'}・世代 ${st.epoch} です (この系は世代 ${this.o.epoch})。この系は待機系に切り替えられています。`,
            'refused',
            409,
            'peer.promoted',
          );
        if (st.role !== 'standby')
          throw new PeerError(
            `相手 (${this.o.peer.url}) は待機系ではありません (${st.role}, 世代 ${st.epoch})。`,
            'refused',
            409,
            'peer.notStandby',
          );
        this.peerSeq = Math.max(1, st.replica?.epoch === this.o.epoch ? st.replica.seq : 0);
      }
      const { changed, version } = this.changed();
      this.seq = Math.max(this.seq, this.peerSeq) + 1;
      if (changed) {
        const tmp = `${this.snapshot}.next`;
        rmSync(tmp, { force: true });
        await onlineBackup(this.o.dbFile, tmp);
        const migrations = sealSnapshot(tmp);
        renameSync(tmp, this.snapshot);
        const h = await hashFileAsync(this.snapshot, CHUNK_BYTES);
        this.manifest = {
          epoch: this.o.epoch,
          seq: this.seq,
          snapshotAt: snapshotAt.toISOString(),
          size: h.size,
          sha256: h.sha256,
          chunkBytes: CHUNK_BYTES,
          chunks: h.chunks,
          migrations,
        };
        this.dataVersion = version;
      }
      manifest = { ...this.manifest!, seq: this.seq, snapshotAt: snapshotAt.toISOString() };
      const offer = await peerRequest<{ session: string; need: number[]; seq: number }>(this.o.peer, {
        method: 'POST',
        path: '/api/v1/standby/db/offer',
        json: manifest,
        timeoutMs: this.timeout(0),
      });
      const need = offer.need.filter((i) => Number.isInteger(i) && i >= 0 && i < manifest!.chunks.length);
      const file = this.snapshot;
      const body = await hashChunks(file, need, manifest.chunkBytes);
      sentBytes = body.bytes;
      sentChunks = need.length;
      const ack = await peerRequest<{ seq: number; sha256: string; snapshotAt: string }>(this.o.peer, {
        method: 'POST',
        path: `/api/v1/standby/db/chunks/${encodeURIComponent(offer.session)}`,
        stream: {
          open: () =>
            Readable.from(
              (function* () {
                for (const i of need) yield readChunk(file, i, manifest!.chunkBytes);
              })(),
            ),
          length: sentBytes,
          sha256: need.length ? body.sha256 : EMPTY_SHA,
        },
        timeoutMs: this.timeout(sentBytes),
      });
      if (ack.seq !== manifest.seq || ack.sha256 !== manifest.sha256)
        throw new PeerError(`待機系の受領の内容が送った状態と合いません (通番 ${ack.seq})。`, 'refused', 200, 'ack.mismatch');
      this.peerSeq = ack.seq;
      const wasDegraded = this.state.degraded;
      this.state = {
        ...this.state,
        at: new Date().toISOString(),
        ok: true,
        seq: manifest.seq,
        snapshotAt: manifest.snapshotAt,
        lastOkAt: new Date().toISOString(),
        lastOkSnapshotAt: manifest.snapshotAt,
        sentChunks,
        totalChunks: manifest.chunks.length,
        sentBytes,
        ms: Date.now() - t0,
        error: null,
        code: null,
        degraded: false,
      };
      if (wasDegraded) this.o.logger.info('standby shipping recovered', { seq: manifest.seq });
      this.persist();
      return true;
    } catch (e) {
      const code = e instanceof PeerError ? (e.code ?? e.kind) : 'local';
      // A refused sequence or a restarted standby: ask its state again before the next cycle.
      this.peerSeq = 0;
      this.state = {
        ...this.state,
        at: new Date().toISOString(),
        ok: false,
        seq: manifest?.seq ?? null,
        snapshotAt: manifest?.snapshotAt ?? null,
        sentChunks,
        totalChunks: manifest?.chunks.length ?? 0,
        sentBytes,
        ms: Date.now() - t0,
        error: message(e),
        code,
      };
      if (code === 'epoch.stale' || code === 'peer.promoted') {
        this.o.logger.error('standby refuses this primary: it was failed over, run madoguchi standby rejoin', { error: message(e) });
        if (!this.failedOver) {
          this.failedOver = true;
          try {
            writeFileAtomic(failedOverFile(this.o.dataDir), JSON.stringify({ at: new Date().toISOString(), message: message(e) }));
          } catch (w) {
            this.o.logger.error('failed-over marker not written', { error: message(w) });
          }
          this.o.onFailedOver?.(message(e));
        }
      } else if (code === 'peer.notStandby') this.o.logger.error('the standby peer is a primary of an older epoch', { error: message(e) });
      this.markDegraded(message(e));
      return false;
    }
  }

  private async shipFiles(): Promise<void> {
    const at = new Date().toISOString();
    try {
      const { entries, abs } = this.lister.list();
      const manifest: FilesManifest = { epoch: this.o.epoch, at, files: entries };
      const offer = await peerRequest<{ need: string[] }>(this.o.peer, {
        method: 'POST',
        path: '/api/v1/standby/files/offer',
        json: manifest,
        timeoutMs: this.timeout(0),
      });
      const byPath = new Map<string, FileEntry>(entries.map((e) => [e.path, e]));
      let sent = 0;
      let bytes = 0;
      let cut = false;
      for (const p of offer.need) {
        const e = byPath.get(p);
        const file = abs.get(p);
        if (!e || !file) continue;
        // A large first mirror goes in rounds: an acceptance waiting for its database cycle comes first.
        if (this.waiters.length || bytes > FILES_ROUND_BYTES || !this.running) {
          cut = true;
          break;
        }
        bytes += e.size;
        try {
          await peerRequest(this.o.peer, {
            method: 'POST',
            path: `/api/v1/standby/files/put?path=${encodeURIComponent(p)}`,
            stream: { open: () => readStream(file), length: e.size, sha256: e.sha256 },
            timeoutMs: this.timeout(e.size),
          });
          sent += 1;
        } catch (err) {
          // Changed or removed since the listing (evidence being written, the anchor appended): the next round sends it.
          if (!(err instanceof PeerError && err.code === 'file.sha')) throw err;
        }
      }
      // Offered again: the standby records the mirror as complete when it lacks nothing.
      const again = await peerRequest<{ need: string[] }>(this.o.peer, {
        method: 'POST',
        path: '/api/v1/standby/files/offer',
        json: manifest,
        timeoutMs: this.timeout(0),
      });
      this.state.files = {
        at,
        ok: again.need.length === 0,
        sent,
        total: entries.length,
        error: again.need.length ? `${again.need.length} 件が届いていません${cut ? ' (続きは次の回に送ります)' : ''}` : null,
      };
      // Incomplete: the next cycle goes on with the rest instead of waiting a whole interval.
      if (!cut) this.lastFilesAt = Date.now();
    } catch (e) {
      // A file changed between the listing and the sending: the next round sends it.
      this.state.files = { at, ok: false, sent: 0, total: 0, error: message(e) };
      this.o.logger.warn('standby file mirror failed', { error: message(e) });
    }
    this.persist();
  }
}
