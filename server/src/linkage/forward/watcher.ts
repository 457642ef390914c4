import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Knex } from 'knex';
import type { LinkageSettings, Sidecar } from '../../config/appConfig.js';
import type { Logger } from '../../ops/logger.js';
import { DomainError } from '../../errors/domainError.js';
import { LeaseLostError } from '../../ops/leases.js';
import { applyFiles, type ApplyOptions, type ApplyProgress, type FileResult } from './apply.js';
import { findHold, pendingHolds, recordHold, resolveHold } from './holds.js';
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
  /**
   * Several app nodes (ops/leases.ts): checks inside each apply transaction that this node still
   * holds the linkage lease; when it does not, the load rolls back and the file stays for the taker.
   */
  fence?: (trx: Knex.Transaction) => Promise<void>;
  /** This node's id, recorded when a file left by an interrupted load is taken over. */
  nodeId?: string;
  /** The node that held the linkage lease before this one (its interrupted load is finished here). */
  previousHolder?: string | null;
}

export interface LoadProgress extends ApplyProgress {
  startedAt: string;
}

const TEMPORARY = /\.(tmp|part|filepart|crdownload)$/i;
const SIDECAR = /\.(done|md5|count)$/i;
const SIDECAR_EXTENSIONS = ['.done', '.md5', '.count'];
const RETRY_MS = 60_000;
const RETRY_MAX_MS = 3_600_000;

/** Folders below the linkage root. */
export function linkagePaths(root: string, specId: string) {
  return {
    drop: path.join(root, specId),
    processing: path.join(root, specId, 'processing'),
    archive: path.join(root, 'archive', specId),
    quarantine: path.join(root, 'quarantine', specId),
    held: path.join(root, 'held', specId),
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
  private started = false;
  /** One file at a time across every spec: concurrent drops never compete for the database. */
  private applying: Promise<unknown> = Promise.resolve();

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
    this.started = true;
    // Files left in processing/ by a crash come first, then what arrived while we were down.
    for (const id of this.specIds()) {
      const p = linkagePaths(this.d.root, id);
      for (const name of readdirSync(p.processing).sort()) {
        await this.recordInterrupted(id, name);
        this.enqueue(id, path.join('processing', name));
      }
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

  /**
   * A file in processing/ at start was being loaded when its node stopped (crash, kill -9, lost
   * lease). Its load was one transaction, so nothing of it was committed and no `running` row
   * survives: a takeover from another node records the interruption (a `failed` run naming both
   * nodes), and the file is then applied once more — or skipped, when the first load had committed
   * just before.
   */
  private async recordInterrupted(specId: string, name: string): Promise<void> {
    const by = this.d.previousHolder;
    this.d.logger.warn('linkage file left by an interrupted load; applying it again', { specId, previousHolder: by ?? null });
    // One node alone restarts as it always did; a takeover from another node is recorded.
    if (!by || !this.d.nodeId || by === this.d.nodeId) return;
    try {
      await this.d.knex('linkage_runs').insert({
        spec_id: specId,
        file_name: name,
        file_sha256: null,
        kind: '-',
        started_at: new Date(),
        finished_at: new Date(),
        result: 'failed',
        message: `取込の途中でサーバー ${by} が停止したため、サーバー ${this.d.nodeId} が引き継いで取り込み直します`,
      });
    } catch (e) {
      this.d.logger.warn('interrupted linkage load not recorded', { specId, error: e });
    }
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
    // Everything — the checks, the load, the resolution — in the serial apply queue: a newer file or
    // a second confirmation that arrives meanwhile is seen, never raced.
    // Under a lease (ops/leases.ts), only the node that holds it applies files.
    if (this.d.fence && (!this.started || this.stopped))
      throw new DomainError('state.conflict', {
        detail:
          'このサーバーは連携ファイルの取込を担当していません (複数のサーバーで動かしているとき、担当は稼働状況の画面に表示されます)。担当のサーバーの画面から操作してください',
      });
    return this.inQueue(async () => {
      const hold = await findHold(this.d.knex, holdId);
      if (!hold) throw new DomainError('notFound.resource', { what: `保留中の全件ファイル (番号 ${holdId})` });
      if (hold.resolution)
        throw new DomainError('state.conflict', {
          detail: `このファイルは処理済みです (${hold.resolution === 'confirmed' ? '反映済み' : '次のファイルで置き換え済み'})`,
        });
      const newer = (await this.d
        .knex('linkage_runs')
        .where({ spec_id: hold.specId, result: 'applied' })
        .where('id', '>', hold.runId)
        .orderBy('id', 'desc')
        .first('id', 'file_name')) as { id: number; file_name: string } | undefined;
      const stale = newer
        ? `保留した後に新しいファイル (取込番号 ${newer.id}: ${newer.file_name}) を取り込んだため、この保留ファイルは反映できません (反映すると新しい内容が古い内容で戻ります)。必要なら基幹系から新しい全件ファイルを出してもらってください`
        : !existsSync(hold.heldPath)
          ? `保留したファイルが見つかりません: ${hold.fileName}`
          : null;
      if (stale) {
        await resolveHold(this.d.knex, holdId, { resolution: 'superseded', staffId, reason, resolvedRunId: newer?.id ?? null });
        if (existsSync(hold.heldPath)) moveInto(linkagePaths(this.d.root, hold.specId).archive, hold.heldPath, hold.fileName);
        for (const ext of SIDECAR_EXTENSIONS) if (existsSync(`${hold.heldPath}${ext}`)) rmSync(`${hold.heldPath}${ext}`);
        throw new DomainError('state.conflict', { detail: stale });
      }
      const result = await this.applyClaimed(hold.specId, hold.heldPath, hold.fileName, {
        allowShrink: true,
        controlBase: () => hold.heldPath,
      });
      if (!result) throw new Error('保留したファイルを反映できませんでした');
      if (result.outcome === 'applied' || result.outcome === 'skipped') {
        await resolveHold(this.d.knex, holdId, { resolution: 'confirmed', staffId, reason, resolvedRunId: result.runId });
        await this.settle(hold.specId, hold.heldPath, hold.fileName, result);
        for (const ext of SIDECAR_EXTENSIONS) if (existsSync(`${hold.heldPath}${ext}`)) rmSync(`${hold.heldPath}${ext}`);
      } else if (result.outcome === 'quarantined') {
        await resolveHold(this.d.knex, holdId, { resolution: 'superseded', staffId, reason, resolvedRunId: result.runId });
        await this.settle(hold.specId, hold.heldPath, hold.fileName, result);
      }
      this.d.onResult?.(result);
      return result;
    });
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
    // A control file the layout makes mandatory is waited for like a sidecar (it may come second).
    const control = this.d.registry.editions(specId).at(-1)?.control ?? 'none';
    if (control !== 'none' && !existsSync(`${file}.${control}`)) return;
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
          // Another node holds the linkage lease now: the file stays in processing/ for it.
          if (e instanceof LeaseLostError) {
            this.d.logger.warn('linkage lease lost during a load; the file is left to the node that holds it', { specId });
            this.stopped = true;
            continue;
          }
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
      claimed = moveInto(p.processing, source);
    }
    const result = await this.inQueue(async () => {
      const r = await this.applyClaimed(specId, claimed, name, {});
      if (!r) return r;
      for (const ext of SIDECAR_EXTENSIONS) {
        const side = path.join(p.drop, `${name}${ext}`);
        // A held file keeps its control files beside it, for the confirmed load (settle moves them).
        if (existsSync(side) && r.outcome !== 'held') {
          if (r.outcome === 'quarantined') moveInto(p.quarantine, side);
          else rmSync(side);
        }
      }
      await this.settle(specId, claimed, name, r);
      return r;
    });
    if (!result) return;
    this.attempts.delete(name);
    this.d.onResult?.(result);
  }

  /** Runs `fn` in the serial apply queue: one file (or one confirmation) at a time across every spec. */
  private inQueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.applying.then(fn);
    this.applying = run.catch(() => undefined);
    return run;
  }

  /** Applies one claimed file; call it inside `inQueue`. */
  private async applyClaimed(specId: string, claimed: string, name: string, extra: Partial<ApplyOptions>): Promise<FileResult | undefined> {
    const p = linkagePaths(this.d.root, specId);
    const startedAt = new Date().toISOString();
    const [result] = await applyFiles(this.d.knex, this.d.registry, [{ specId, file: claimed }], {
      ...this.d.applyOptions,
      signal: this.abort.signal,
      displayName: () => name,
      controlBase: () => path.join(p.drop, name),
      onProgress: (pr) => this.progress.set(specId, { ...pr, startedAt }),
      ...(this.d.fence ? { fence: this.d.fence } : {}),
      ...extra,
    }).finally(() => this.progress.delete(specId));
    return result;
  }

  /** Moves a file where its outcome says and writes its report; a full file applied or held replaces older holds. */
  private async settle(specId: string, claimed: string, name: string, result: FileResult): Promise<void> {
    const p = linkagePaths(this.d.root, specId);
    // An applied file makes every pending hold of its spec stale; a newly held full file replaces older holds.
    if (result.outcome === 'applied' || (result.kind === 'full' && result.outcome === 'held')) {
      for (const old of await pendingHolds(this.d.knex, specId)) {
        if (await resolveHold(this.d.knex, old.id, { resolution: 'superseded', resolvedRunId: result.runId })) {
          if (existsSync(old.heldPath)) moveInto(p.archive, old.heldPath, old.fileName);
          for (const ext of SIDECAR_EXTENSIONS) if (existsSync(`${old.heldPath}${ext}`)) rmSync(`${old.heldPath}${ext}`);
          this.d.logger.info('held linkage file superseded', { specId, file: old.fileName, holdId: old.id, byRun: result.runId });
        }
      }
    }
    if (result.outcome === 'held') {
      const target = moveInto(p.held, claimed, name);
      for (const ext of SIDECAR_EXTENSIONS) {
        const side = path.join(p.drop, `${name}${ext}`);
        if (existsSync(side)) renameSync(side, `${target}${ext}`);
      }
      const report = writeReports(p.held, result, path.basename(target));
      await this.d.knex('linkage_runs').where({ id: result.runId }).update({ report_file: report });
      const holdId = await recordHold(this.d.knex, {
        runId: result.runId,
        specId,
        fileName: name,
        heldPath: target,
        sha256: result.sha256,
        rowsBefore: result.shrink?.rowsBefore ?? 0,
        rowsInFile: result.shrink?.rowsInFile ?? 0,
      });
      this.d.logger.warn('linkage file held (shrink guard)', { specId, file: name, runId: result.runId, holdId, ...result.shrink });
    } else if (result.outcome === 'quarantined') {
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
