import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '@madoguchi/server/config/yamlFile';
import { ServerApi, ServerAway, ServerError, type ClaimedJob, type ScenarioFiles } from './api.js';
import { openBrowser, type BrowserSession } from './browser.js';
import type { AgentConfig } from './config.js';
import { ApplicationError, BusinessError, LeaseLost, ScenarioRunner, StopRequested } from './runner.js';
import { loadScenarioSet, type ScenarioSet } from './scenario.js';

export type Log = (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;

/**
 * One line of JSON per event; never the job's payload (personal data), only ids and references.
 * For a job flagged 支援措置 not even an error text (the core system's message may repeat what was
 * typed): only its kind.
 */
export const jsonLog: Log = (level, msg, extra = {}) => {
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), level, msg, ...extra })}\n`);
};

class Backoff {
  private n = 0;
  constructor(
    private readonly firstMs: number,
    private readonly maxMs: number,
  ) {}
  next(): number {
    const ms = Math.min(this.maxMs, this.firstMs * 2 ** this.n);
    this.n++;
    return ms;
  }
  reset(): void {
    this.n = 0;
  }
}

/**
 * The agent's loop: claim → run → report, one job at a time. On stop (SIGTERM, service stop) it
 * finishes the step in hand: before the saving step it gives the lease back, after it it finishes
 * the entry and reports. When the server is away it waits with a growing pause and tries again.
 */
export class Agent {
  private stopping = false;
  private wake: (() => void) | null = null;
  private session: BrowserSession | null = null;
  private scenarios: ScenarioSet | null = null;
  private scenarioError: string | null = null;
  private scenarioHashes = new Map<string, string>();
  /** Browser sessions whose tracing was stopped for a job that keeps no evidence (restarted for the next that may). */
  private untraced = new WeakSet<BrowserSession>();
  readonly api: ServerApi;
  jobsDone = 0;

  constructor(
    private readonly cfg: AgentConfig,
    private readonly log: Log = jsonLog,
  ) {
    this.api = new ServerApi(cfg.server, cfg.token, cfg.ca);
  }

  stop(): void {
    if (!this.stopping) this.log('info', '停止の指示を受けました');
    this.stopping = true;
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }

  /** Runs until stop(); with `untilEmpty`, also returns when the queue has nothing for it. */
  async run(opts: { untilEmpty?: boolean } = {}): Promise<void> {
    const away = new Backoff(1000, 60_000);
    let reportedAway = false;
    try {
      while (!this.stopping) {
        let claimed: Awaited<ReturnType<ServerApi['claim']>>;
        try {
          claimed = await this.api.claim(this.cfg.serves, this.cfg.coreSystem);
          if (reportedAway) this.log('info', 'サーバーに再接続しました');
          reportedAway = false;
          away.reset();
        } catch (e) {
          if (!(e instanceof ServerAway)) throw e;
          const ms = away.next();
          if (!reportedAway) this.log('warn', 'サーバーに接続できません。間をおいて再接続します', { error: e.message, retryMs: ms });
          reportedAway = true;
          await this.sleep(ms);
          continue;
        }
        if (!claimed.job) {
          if (opts.untilEmpty) return;
          await this.sleep((claimed.retryAfter ?? this.cfg.pollSeconds) * 1000);
          continue;
        }
        await this.runJob(claimed.job);
      }
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = null;
    await s?.browser.close().catch(() => undefined);
    this.api.close();
  }

  private scenarioDirFromServer: string | null = null;
  private scenarioWritten = false;

  private writeScenarios(got: ScenarioFiles): string {
    if (this.cfg.coreSystem && got.coreSystem !== this.cfg.coreSystem)
      throw new BusinessError(`サーバーの基幹系 (${got.coreSystem}) とこの端末の設定 (${this.cfg.coreSystem}) が違います`);
    const dir = path.join(this.cfg.workDir, 'scenarios', got.coreSystem);
    mkdirSync(dir, { recursive: true });
    this.scenarioWritten = false;
    const names = new Set(got.files.map((f) => f.name));
    for (const f of got.files) {
      if (this.scenarioHashes.get(f.name) === f.sha256 && existsSync(path.join(dir, f.name))) continue;
      writeFileSync(path.join(dir, `${f.name}.tmp`), f.text);
      renameSync(path.join(dir, `${f.name}.tmp`), path.join(dir, f.name));
      this.scenarioHashes.set(f.name, f.sha256);
      this.scenarioWritten = true;
    }
    for (const old of readdirSync(dir)) {
      if (old.endsWith('.yaml') && !names.has(old)) {
        rmSync(path.join(dir, old), { force: true });
        this.scenarioHashes.delete(old);
        this.scenarioWritten = true;
      }
    }
    this.scenarioDirFromServer = dir;
    return dir;
  }

  /** The scenarios from the server (written under workDir and reloaded when a file changed), or the local folder. */
  async refreshScenarios(): Promise<ScenarioSet> {
    let dir = this.cfg.scenarioDir;
    let changed = this.scenarios === null && this.scenarioError === null;
    if (!dir) {
      const got = await this.api.scenarios(this.cfg.coreSystem);
      if (!got && this.scenarioDirFromServer) dir = this.scenarioDirFromServer;
      else {
        if (!got) throw new ServerAway('シナリオを受け取れませんでした');
        dir = this.writeScenarios(got);
        changed ||= this.scenarioWritten;
      }
    }
    if (changed) {
      try {
        this.scenarios = loadScenarioSet(dir);
        this.scenarioError = null;
        this.log('info', 'シナリオを読み込みました', { dir, scenarios: [...this.scenarios.scenarios.keys()].length });
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        this.scenarios = null;
        this.scenarioError = e.message;
        this.log('error', 'シナリオに誤りがあります', { problems: e.issues.length });
      }
    }
    if (!this.scenarios) throw new BusinessError(`シナリオに誤りがあります:\n${this.scenarioError ?? ''}`);
    return this.scenarios;
  }

  async browserSession(): Promise<BrowserSession> {
    if (this.session && this.session.browser.isConnected() && !this.session.page.isClosed()) return this.session;
    await this.session?.browser.close().catch(() => undefined);
    this.session = await openBrowser(this.cfg.browser, this.cfg.trace);
    return this.session;
  }

  /** Reports to the server; retried while it is away, given up when the lease is gone. */
  private async report(what: string, job: ClaimedJob, call: () => Promise<unknown>): Promise<boolean> {
    const wait = new Backoff(500, 15_000);
    const deadline = Date.now() + job.leaseSeconds * 1000;
    for (;;) {
      try {
        await call();
        return true;
      } catch (e) {
        if (e instanceof ServerError) {
          this.log('warn', `${what} をサーバーが受け付けませんでした`, { job: job.id, status: e.status, error: e.message });
          return false;
        }
        if (!(e instanceof ServerAway) || Date.now() > deadline) {
          this.log('error', `${what} を報告できませんでした (次に預かった端末が基幹系を確認して続けます)`, {
            job: job.id,
            error: (e as Error).message,
          });
          return false;
        }
        await new Promise((r) => setTimeout(r, wait.next()));
      }
    }
  }

  private async upload(job: ClaimedJob, kind: 'screenshot' | 'trace', body: Buffer | null): Promise<void> {
    // The server says whether the job may keep evidence (not for 支援措置 jobs): then nothing leaves the page.
    if (!body || !job.keepEvidence) return;
    await this.api
      .evidence(job.id, kind, body)
      .catch((e: unknown) => this.log('warn', '証跡を送れませんでした', { job: job.id, kind, error: (e as Error).message }));
  }

  /**
   * Starts the job's trace chunk when the job may keep evidence. For one that may not (支援措置), the
   * context's tracing is stopped altogether (nothing of the job is recorded, not even in memory)
   * and started again for the next job that may keep evidence. Returns whether a chunk runs.
   */
  private async startTrace(session: BrowserSession, job: ClaimedJob): Promise<boolean> {
    if (this.cfg.trace === 'off') return false;
    if (!job.keepEvidence) {
      if (!this.untraced.has(session)) {
        await session.context.tracing.stop().catch(() => undefined);
        this.untraced.add(session);
      }
      return false;
    }
    if (this.untraced.has(session)) {
      const detailed = this.cfg.trace === 'detailed';
      await session.context.tracing.start({ screenshots: detailed, snapshots: detailed });
      this.untraced.delete(session);
    }
    await session.context.tracing.startChunk({ title: `job ${job.id}` });
    return true;
  }

  async runJob(job: ClaimedJob): Promise<void> {
    const started = Date.now();
    // A server that sent no flag is treated as flagging the job: nothing of it in the log.
    const guarded = job.protection?.supportMeasure !== false || job.keepEvidence !== true;
    this.log('info', 'ジョブを預かりました', {
      job: job.id,
      scenario: job.scenario,
      reference: job.reference,
      attempt: job.attempt,
      ...(guarded ? { protected: true } : {}),
    });
    let lost = false;
    const beat = setInterval(
      () => {
        this.api.heartbeat(job.id).catch((e: unknown) => {
          if (e instanceof ServerError && e.status === 409) lost = true;
        });
      },
      Math.max(1000, (job.leaseSeconds * 1000) / 3),
    );
    let session: BrowserSession | null = null;
    let tracing = false;
    const traceFile = path.join(this.cfg.workDir, `trace-${job.id}.zip`);
    try {
      const set = await this.refreshScenarios();
      session = await this.browserSession();
      tracing = await this.startTrace(session, job);
      const runner = new ScenarioRunner(session.page, set, {
        baseUrl: this.cfg.core.url,
        credentials: { user: this.cfg.core.user, password: this.cfg.core.password },
        stepTimeoutMs: this.cfg.stepTimeoutSeconds * 1000,
      });
      const page = session.page;
      const scenario = runner.scenario(job.scenario);
      const result = await runner.run(scenario, job.payload, {
        stopRequested: () => this.stopping,
        beforeCommit: async () => {
          if (lost) throw new LeaseLost('貸出が切れました');
          try {
            // Without a probe, the server must know that a cut-off run from here on may have saved.
            await this.api.heartbeat(job.id, scenario.idempotency === 'none');
          } catch (e) {
            if (e instanceof ServerError && e.status === 409) throw new LeaseLost('貸出が切れました');
            throw new ApplicationError('サーバーに貸出を確認できないため、登録せずに中断しました');
          }
        },
        ...(this.cfg.screenshots === 'everyStep' && job.keepEvidence
          ? { afterStep: async () => this.upload(job, 'screenshot', await page.screenshot({ fullPage: true }).catch(() => null)) }
          : {}),
      });
      if (tracing) await session.context.tracing.stopChunk();
      const ok = await this.report('成功', job, () => this.api.succeed(job.id, result.coreRef));
      this.jobsDone++;
      this.log('info', result.alreadyEntered ? '基幹系に入力済みでした (二重入力を避けました)' : '入力しました', {
        job: job.id,
        coreRef: result.coreRef,
        reported: ok,
        ms: Date.now() - started,
      });
    } catch (e) {
      if (e instanceof StopRequested || e instanceof LeaseLost) {
        if (tracing && session) await session.context.tracing.stopChunk().catch(() => undefined);
        if (e instanceof StopRequested) await this.report('貸出の返却', job, () => this.api.release(job.id));
        this.log('info', e.message, { job: job.id });
        return;
      }
      const kind = e instanceof BusinessError ? 'business' : 'application';
      const message = e instanceof Error ? e.message : String(e);
      if (session && job.keepEvidence) {
        await this.upload(job, 'screenshot', await session.page.screenshot({ fullPage: true, timeout: 5000 }).catch(() => null));
        if (tracing) {
          const saved = await session.context.tracing.stopChunk({ path: traceFile }).then(
            () => true,
            () => false,
          );
          if (saved) await this.upload(job, 'trace', readFileSync(traceFile));
          rmSync(traceFile, { force: true });
        }
      }
      await this.report('失敗', job, () => this.api.fail(job.id, kind, message));
      // The error text goes to the server (staff with the right read it there), never to this log for a 支援措置 job.
      this.log('warn', '入力できませんでした', {
        job: job.id,
        kind,
        ...(guarded ? { protected: true } : { error: message.split('\n')[0] }),
      });
    } finally {
      clearInterval(beat);
    }
  }
}
