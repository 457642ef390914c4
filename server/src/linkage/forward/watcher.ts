import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Knex } from 'knex';
import type { LinkageSettings, Sidecar } from '../../config/appConfig.js';
import { insertReturningId } from '../../db/values.js';
import type { Logger } from '../../ops/logger.js';
import { hashFile } from './fileHash.js';
import { applyFiles, type ApplyOptions, type ApplyProgress, type FileResult } from './apply.js';
import type { LayoutRegistry } from './layouts.js';
import { writeReports } from './report.js';

export interface WatcherDeps {
  knex: Knex;
  registry: LayoutRegistry;
  settings: LinkageSettings;
  /** `<dataDir>/<linkage.dropDir>`: one drop folder per spec id below it. */
  root: string;
  applyOptions: ApplyOptions;
  logger: Logger;
  /** Called after each file, for the missing-file watchdog and tests. */
  onResult?: (r: FileResult) => void;
}

export interface LoadProgress extends ApplyProgress {
  startedAt: string;
}

const TEMPORARY = /\.(tmp|part|filepart|crdownload)$/i;
const SIDECAR = /\.(done|md5)$/i;
const RETRY_MS = 60_000;
const RETRY_MAX_MS = 3_600_000;

/** Folders below the linkage root. */
export function linkagePaths(root: string, specId: string) {
  return {
    drop: path.join(root, specId),
    processing: path.join(root, specId, 'processing'),
    archive: path.join(root, 'archive', specId),
    quarantine: path.join(root, 'quarantine', specId),
    reports: path.join(root, 'reports', specId),
  };
}

function moveInto(dir: string, file: string, name = path.basename(file)): string {
  mkdirSync(dir, { recursive: true });
  let target = path.join(dir, name);
  // Never overwrite: the same name can legitimately arrive twice (a corrected resend).
  for (let n = 1; existsSync(target); n++) target = path.join(dir, `${name}.${n}`);
  renameSync(file, target);
  return target;
}

/**
 * Watches one drop folder per configured linkage spec and applies each complete file, one at a
 * time per spec, in name order:
 *
 *   drop/<spec>/X.csv ──(stable size; .done/.md5 sidecar if configured)──▶ claim: rename to
 *   processing/ ──▶ applyFiles ──▶ archive/<spec>/ (applied or already applied)
 *                                  quarantine/<spec>/ + X.csv.report.{json,txt}
 *
 * A file stays in processing/ until its result is known, so a crash (even kill -9) at any point
 * leaves the cache on the old or the new data and the file is applied again on restart; the
 * checksum check makes that second pass a no-op when the first had already committed.
 */
export class DropFolderWatcher {
  private watcher: FSWatcher | undefined;
  private readonly queues = new Map<string, { pending: Set<string>; running: Promise<void> | null }>();
  private readonly abort = new AbortController();
  private readonly progress = new Map<string, LoadProgress>();
  private readonly attempts = new Map<string, number>();
  private stopped = false;

  constructor(private readonly d: WatcherDeps) {}

  specIds(): string[] {
    return Object.keys(this.d.settings.specs).sort();
  }

  currentLoads(): LoadProgress[] {
    return [...this.progress.values()];
  }

  private sidecarMode(specId: string): Sidecar {
    return this.d.settings.specs[specId]?.sidecar ?? this.d.settings.sidecar;
  }

  async start(): Promise<void> {
    const dirs = this.specIds().map((id) => linkagePaths(this.d.root, id));
    for (const p of dirs) mkdirSync(p.processing, { recursive: true });
    // Files left in processing/ by a crash come first, then what arrived while we were down.
    for (const id of this.specIds()) {
      const p = linkagePaths(this.d.root, id);
      for (const name of readdirSync(p.processing).sort()) this.enqueue(id, path.join('processing', name));
      for (const name of readdirSync(p.drop).sort()) this.considerWhenStable(id, path.join(p.drop, name));
    }
    const w = this.d.settings.watch;
    this.watcher = watch(
      dirs.map((p) => p.drop),
      {
        ignoreInitial: true,
        depth: 0,
        usePolling: w.usePolling,
        interval: w.pollIntervalMs,
        binaryInterval: w.pollIntervalMs,
        awaitWriteFinish: { stabilityThreshold: w.stableMs, pollInterval: Math.min(200, w.stableMs) },
        ignored: (p: string) => TEMPORARY.test(p) || path.basename(p).startsWith('.'),
      },
    );
    this.watcher.on('add', (file) => this.consider(path.basename(path.dirname(file)), file));
    this.watcher.on('change', (file) => this.consider(path.basename(path.dirname(file)), file));
    this.watcher.on('error', (e) => this.d.logger.error('linkage watcher error', { error: e }));
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
    this.d.logger.info('linkage watcher started', { root: this.d.root, specs: this.specIds() });
  }

  /** Stops taking files; a load in progress is abandoned (rolled back) and redone next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.watcher?.close();
    await Promise.allSettled([...this.queues.values()].map((q) => q.running));
  }

  /**
   * Applies a held full file after an administrator's confirmation (the shrink guard is waived
   * for this file only). Runs in the serial apply queue; the caller audits the decision.
   * Throws a DomainError when the hold is unknown or already resolved.
   */
  async confirmHold(holdId: number, staffId: number, reason: string): Promise<FileResult> {
    void holdId;
    void staffId;
    void reason;
    throw new Error('not implemented yet');
  }

  /** Waits until every queue is empty (tests, CLI). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.queues.values()].map((q) => q.running).filter(Boolean);
      if (!running.length) return;
      await Promise.allSettled(running);
    }
  }

  /** A file found at start-up may still be being written: take it once its size has settled. */
  private considerWhenStable(specId: string, file: string, lastSize = -1): void {
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return;
    }
    if (size === lastSize) return this.consider(specId, file);
    setTimeout(() => this.considerWhenStable(specId, file, size), this.d.settings.watch.stableMs).unref();
  }

  private consider(specId: string, file: string): void {
    if (!this.d.settings.specs[specId] || this.stopped) return;
    const name = path.basename(file);
    if (TEMPORARY.test(name) || name.startsWith('.')) return;
    if (SIDECAR.test(name)) {
      const data = file.replace(SIDECAR, '');
      if (existsSync(data)) this.consider(specId, data);
      return;
    }
    if (!/\.csv$/i.test(name)) return;
    let isFile = false;
    try {
      isFile = statSync(file).isFile();
    } catch {
      return;
    }
    if (!isFile) return;
    const mode = this.sidecarMode(specId);
    if (mode === 'done' && !existsSync(`${file}.done`)) return;
    if (mode === 'md5' && !existsSync(`${file}.md5`)) return;
    this.enqueue(specId, name);
  }

  private enqueue(specId: string, entry: string): void {
    let q = this.queues.get(specId);
    if (!q) {
      q = { pending: new Set(), running: null };
      this.queues.set(specId, q);
    }
    q.pending.add(entry);
    if (!q.running) q.running = this.drain(specId, q);
  }

  private async drain(specId: string, q: { pending: Set<string>; running: Promise<void> | null }): Promise<void> {
    try {
      // Files that arrive together (a night's batch) are then taken in name order, not arrival order.
      await new Promise((r) => setTimeout(r, Math.min(1000, this.d.settings.watch.stableMs)).unref());
      while (q.pending.size && !this.stopped) {
        // Files recovered from processing/ go first; then names in order (they end with a timestamp).
        const recovered = [...q.pending].filter((e) => e.startsWith('processing')).sort();
        const entry = recovered[0] ?? [...q.pending].sort()[0]!;
        q.pending.delete(entry);
        try {
          await this.processOne(specId, entry);
        } catch (e) {
          if (this.stopped) continue;
          // The file stays in processing/; try again later, backing off (the database may be away).
          const name = path.basename(entry);
          const attempt = (this.attempts.get(name) ?? 0) + 1;
          this.attempts.set(name, attempt);
          const delay = Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** (attempt - 1));
          this.d.logger.error('linkage file failed; will retry', { specId, entry, attempt, retryInMs: delay, error: e });
          setTimeout(() => !this.stopped && this.enqueue(specId, path.join('processing', name)), delay).unref();
        }
      }
    } finally {
      q.running = null;
    }
  }

  private async processOne(specId: string, entry: string): Promise<void> {
    const p = linkagePaths(this.d.root, specId);
    const name = path.basename(entry);
    let claimed: string;
    if (entry.startsWith('processing')) {
      claimed = path.join(p.processing, name);
      if (!existsSync(claimed)) return;
    } else {
      const source = path.join(p.drop, name);
      if (!existsSync(source)) return;
      const md5File = `${source}.md5`;
      if (existsSync(md5File)) {
        const expected = readFileSync(md5File, 'utf8').trim().split(/\s+/)[0]!.toLowerCase();
        if (expected !== (await hashFile(source, 'md5'))) {
          this.d.logger.warn('linkage file md5 mismatch', { specId, file: name });
          const message = `MD5 が一致しません (サイドカー ${expected})`;
          const runId = await insertReturningId(this.d.knex, 'linkage_runs', {
            spec_id: specId,
            file_name: name,
            kind: '-',
            started_at: new Date(),
            finished_at: new Date(),
            result: 'quarantined',
            message,
          });
          const target = moveInto(p.quarantine, source);
          moveInto(p.quarantine, md5File);
          const report = writeReports(
            p.quarantine,
            {
              specId,
              file: target,
              sha256: '',
              outcome: 'quarantined',
              runId,
              edition: null,
              kind: null,
              encoding: null,
              rowsRead: 0,
              rowsApplied: 0,
              rowsRejected: 0,
              unmappedGaiji: 0,
              issues: [],
              message,
            },
            path.basename(target),
          );
          await this.d.knex('linkage_runs').where({ id: runId }).update({ report_file: report });
          return;
        }
      }
      claimed = moveInto(p.processing, source);
    }
    const startedAt = new Date().toISOString();
    const [result] = await applyFiles(this.d.knex, this.d.registry, [{ specId, file: claimed }], {
      ...this.d.applyOptions,
      signal: this.abort.signal,
      displayName: () => name,
      onProgress: (pr) => this.progress.set(specId, { ...pr, startedAt }),
    }).finally(() => this.progress.delete(specId));
    if (!result) return;
    this.attempts.delete(name);
    for (const ext of ['.done', '.md5']) {
      const side = path.join(p.drop, `${name}${ext}`);
      if (existsSync(side)) rmSync(side);
    }
    if (result.outcome === 'quarantined') {
      const target = moveInto(p.quarantine, claimed, name);
      const report = writeReports(p.quarantine, result, path.basename(target));
      await this.d.knex('linkage_runs').where({ id: result.runId }).update({ report_file: report });
      this.d.logger.warn('linkage file quarantined', { specId, file: name, runId: result.runId, rejected: result.rowsRejected });
    } else if (result.outcome === 'applied' || result.outcome === 'skipped') {
      moveInto(p.archive, claimed, name);
      if (result.rowsRejected) {
        const report = writeReports(p.reports, result, name);
        await this.d.knex('linkage_runs').where({ id: result.runId }).update({ report_file: report });
      }
      this.d.logger.info('linkage file done', {
        specId,
        file: name,
        outcome: result.outcome,
        rows: result.rowsApplied,
        runId: result.runId,
      });
    }
    this.d.onResult?.(result);
  }
}

/** Removes archived linkage files older than `days` (they hold personal data). Returns how many. */
export function pruneArchive(root: string, days: number, now: Date = new Date()): number {
  const dir = path.join(root, 'archive');
  if (!existsSync(dir)) return 0;
  const cutoff = now.getTime() - days * 86_400_000;
  let removed = 0;
  for (const spec of readdirSync(dir)) {
    for (const name of readdirSync(path.join(dir, spec))) {
      const file = path.join(dir, spec, name);
      if (statSync(file).mtimeMs < cutoff) {
        rmSync(file);
        removed++;
      }
    }
  }
  return removed;
}
