import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { DiskSettings } from '../config/appConfig.js';
import type { Logger } from './logger.js';
import {
  parseMdstat,
  parseSmartctl,
  parseStorcli,
  summarize,
  worstOf,
  type DiskArray,
  type DiskDevice,
  type DiskHealth,
  type DiskSourceResult,
} from './diskHealth.js';

/** The stable line the monitoring matches (docs/operations.md「ディスクの健全性」); `state` says how bad. */
export const DISK_DEGRADED_LOG = 'disk health degraded';
export const DISK_OK_LOG = 'disk health ok';
const REPEAT_MS = 3600_000;

interface RunResult {
  stdout: string;
  /** The exit code; null when the command did not run to its end. */
  code: number | null;
  /** Why nothing usable came back (not found, timed out, killed); null when it ran. */
  failure: string | null;
}

/**
 * Runs argv without a shell, with a deadline; never throws. The tool runs in its own process group,
 * killed whole at the deadline: `sudo smartctl` or a script leaves no child holding the pipe open.
 */
function run(argv: readonly string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: RunResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'], detached: true, windowsHide: true });
    } catch (e) {
      return finish({ stdout: '', code: null, failure: `コマンド ${argv[0]} を実行できません (${(e as Error).message})` });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      killGroup(child);
      finish({ stdout: '', code: null, failure: `${Math.round(timeoutMs / 1000)} 秒以内に応答がありません (${argv[0]})` });
    }, timeoutMs);
    child.stdout!.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_OUTPUT) {
        killGroup(child);
        finish({ stdout: '', code: null, failure: '出力が大きすぎます' });
      } else chunks.push(c);
    });
    child.on('error', (e: NodeJS.ErrnoException) =>
      finish({
        stdout: '',
        code: null,
        failure: e.code === 'ENOENT' ? `コマンド ${argv[0]} がありません` : `コマンド ${argv[0]} を実行できません (${e.code ?? e.message})`,
      }),
    );
    // A non-zero exit still prints a report (smartctl's exit code is a bit field about the disk).
    child.on('close', (code, signal) =>
      finish(
        signal
          ? { stdout: '', code: null, failure: `コマンド ${argv[0]} が止められました (${signal})` }
          : { stdout: Buffer.concat(chunks).toString('utf8'), code, failure: null },
      ),
    );
  });
}

const MAX_OUTPUT = 4 * 1024 * 1024;

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

const unknownSource = (kind: DiskSourceResult['kind'], target: string, reason: string): DiskSourceResult => ({
  kind,
  target,
  state: 'unknown',
  reason,
});

export interface DiskMonitorOptions {
  /** For tests: the clock of the hourly repeat. */
  now?: () => number;
}

/**
 * Runs the configured sources every `intervalMinutes` (never per request: smartctl can be slow),
 * keeps the last result in memory, and logs each change of state (and hourly while not ok).
 */
export class DiskMonitor {
  private last: DiskHealth = summarize({ sources: [], arrays: [], devices: [] }, null);
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<DiskHealth> | undefined;
  /** md arrays seen in this run of the server: one that disappears is reported, not forgotten. */
  private readonly seenArrays = new Set<string>();
  private logged: { signature: string; at: number; state: DiskHealth['state'] } | null = null;
  private readonly now: () => number;

  constructor(
    private readonly settings: DiskSettings,
    private readonly logger: Logger,
    opts: DiskMonitorOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Whether any source is configured (mdstat counts only once it lists arrays). */
  get configured(): boolean {
    const s = this.settings;
    return s.mdstat !== null || (s.smart?.devices.length ?? 0) > 0 || s.controller !== null;
  }

  /** The last collection (before the first one: ok with `checkedAt` null). */
  current(): DiskHealth {
    return this.last;
  }

  /** Collects now, then every interval; the timer does not keep the process alive. */
  start(): void {
    if (!this.configured || this.timer) return;
    void this.collect();
    this.timer = setInterval(() => void this.collect(), this.settings.intervalMinutes * 60_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One collection; a collection still running is joined rather than started twice. */
  collect(): Promise<DiskHealth> {
    this.running ??= this.collectOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async collectOnce(): Promise<DiskHealth> {
    const timeoutMs = this.settings.timeoutSeconds * 1000;
    const [md, smart, controller] = await Promise.all([this.readMdstat(), this.readSmart(timeoutMs), this.readController(timeoutMs)]);
    const parts = { sources: [] as DiskSourceResult[], arrays: [] as DiskArray[], devices: [] as DiskDevice[] };
    for (const p of [md, ...smart, controller]) {
      if (!p) continue;
      parts.sources.push(p.source);
      parts.arrays.push(...p.arrays);
      parts.devices.push(...p.devices);
    }
    const health = summarize(parts, new Date(this.now()));
    this.last = health;
    this.log(health);
    return health;
  }

  private async readMdstat(): Promise<Part | null> {
    const file = this.settings.mdstat;
    if (!file) return null;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') return part(unknownSource('mdstat', file, `${file} を読めません (${code ?? 'error'})`));
      // No md driver (no file): nothing to monitor, unless arrays were seen before (reported below).
      if (!this.seenArrays.size) return null;
      text = 'Personalities : \nunused devices: <none>\n';
    }
    const parsed = parseMdstat(text);
    if (!parsed.ok) return part(unknownSource('mdstat', file, parsed.reason));
    const arrays = parsed.value;
    for (const name of this.seenArrays)
      if (!arrays.some((a) => a.name === name))
        arrays.push({
          source: 'mdstat',
          name,
          level: null,
          state: 'failed',
          members: [],
          expected: null,
          working: null,
          progress: null,
          message: `RAID ${name} が見えなくなりました。保守事業者に連絡してください`,
        });
    for (const a of arrays) this.seenArrays.add(a.name);
    if (!arrays.length) return null;
    return { source: { kind: 'mdstat', target: file, state: worstOf(arrays.map((a) => a.state)), reason: null }, arrays, devices: [] };
  }

  private readSmart(timeoutMs: number): Promise<(Part | null)[]> {
    const smart = this.settings.smart;
    if (!smart) return Promise.resolve([]);
    return Promise.all(
      smart.devices.map(async (device) => {
        const r = await run([...smart.command, device], timeoutMs);
        if (r.failure) return part(unknownSource('smart', device, r.failure));
        if (!r.stdout.trim()) return part(unknownSource('smart', device, `出力が空です (終了コード ${r.code ?? '不明'})`));
        const fresh = smart.maxAgeMinutes ? { now: new Date(this.now()), maxAgeMinutes: smart.maxAgeMinutes } : null;
        const parsed = parseSmartctl(r.stdout, device, r.code, fresh);
        if (!parsed.ok) return part(unknownSource('smart', device, parsed.reason));
        return { source: { kind: 'smart', target: device, state: parsed.value.state, reason: null }, arrays: [], devices: [parsed.value] };
      }),
    );
  }

  private async readController(timeoutMs: number): Promise<Part | null> {
    const c = this.settings.controller;
    if (!c) return null;
    const r = await run(c.command, timeoutMs);
    if (r.failure) return part(unknownSource('controller', c.format, r.failure));
    // An empty answer: e.g. `find FILE -mmin -30 -exec cat {} ;` over a recording gone stale.
    if (!r.stdout.trim())
      return part(unknownSource('controller', c.format, `出力が空です (記録が古いか、ありません。終了コード ${r.code ?? '不明'})`));
    const parsed = parseStorcli(r.stdout);
    if (!parsed.ok) return part(unknownSource('controller', c.format, r.code ? `${parsed.reason} (終了コード ${r.code})` : parsed.reason));
    const { arrays, devices } = parsed.value;
    const state = worstOf([...arrays.map((a) => a.state), ...devices.map((d) => d.state)]);
    return { source: { kind: 'controller', target: c.format, state, reason: null }, arrays, devices };
  }

  /** Each change is logged at once; a lasting problem again at most hourly; the return to ok too. */
  private log(h: DiskHealth): void {
    const problems = [
      ...h.arrays,
      ...h.devices,
      ...h.sources.filter((s) => s.state === 'unknown').map((s) => ({ name: s.kind, state: s.state })),
    ]
      .filter((x) => x.state !== 'ok')
      .map((x) => `${x.name}:${x.state}`)
      .sort();
    const signature = `${h.state} ${problems.join(' ')}`;
    const now = this.now();
    if (h.state === 'ok') {
      if (this.logged && this.logged.state !== 'ok') this.logger.info(DISK_OK_LOG, { state: h.state });
      this.logged = { signature, at: now, state: h.state };
      return;
    }
    if (this.logged?.signature === signature && now - this.logged.at < REPEAT_MS) return;
    const fields = {
      state: h.state,
      arrays: h.arrays.filter((a) => a.state !== 'ok').map((a) => ({ name: a.name, state: a.state })),
      devices: h.devices.filter((d) => d.state !== 'ok').map((d) => ({ name: d.name, state: d.state })),
      unknownSources: h.sources.filter((s) => s.state === 'unknown').map((s) => ({ kind: s.kind, reason: s.reason })),
      messages: h.messages,
    };
    if (h.state === 'failed') this.logger.error(DISK_DEGRADED_LOG, fields);
    else this.logger.warn(DISK_DEGRADED_LOG, fields);
    this.logged = { signature, at: now, state: h.state };
  }
}

interface Part {
  source: DiskSourceResult;
  arrays: DiskArray[];
  devices: DiskDevice[];
}

const part = (source: DiskSourceResult): Part => ({ source, arrays: [], devices: [] });
