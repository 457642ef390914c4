/**
 * The RPA fault run: a real madoguchi server, the core-system simulator with injected faults, and
 * agent processes (real Chromium) that are killed at random points — including right after the
 * core system saved an entry and before the agent could report it — and restarted. Used by the
 * suite (about 40 jobs) and by `npm run soak -- rpa` (200 and more).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { parseDocument } from 'yaml';
import { registerApiClient } from '../../server/src/auth/apiClients.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { coreSimAccounts, mulberry32, startCoreSim, type CoreSim, type Entry, type FaultPlan } from '../fixtures/core-sim/server.js';
import { configDir as repoConfig, repoRoot, tempDir } from './paths.js';

export const agentBin = path.join(repoRoot, 'rpa-agent/bin/madoguchi-agent.js');

export interface SoakOptions {
  jobs: number;
  agents?: number;
  /** Probability that an agent is killed right after a save (before its report). */
  killAfterSave?: number;
  /** Mean time between random kills at any other point (ms); 0 for none. */
  killEveryMs?: number;
  /** Share of jobs with data the core system refuses (they must end needsAttention, not entered). */
  businessErrorShare?: number;
  faults?: FaultPlan;
  seed?: number;
  leaseSeconds?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  jobs: number;
  succeeded: number;
  needsAttention: number;
  /** Jobs that ended succeeded but are not in the core system, plus jobs that never ended. */
  lost: number;
  /** References entered more than once. */
  duplicates: number;
  /** Succeeded jobs whose reported 処理番号 differs from the core system's. */
  wrongRef: number;
  /** needsAttention jobs (refused data) that are nevertheless in the core system. */
  enteredAnyway: number;
  /** Entered fields (氏名, カナ, 生年月日, 性別, 異動日) that differ from the job. */
  fieldErrors: number;
  /** Always 0 here: this core system takes one person per entry, and each job is one person. */
  householdsSplit: number;
  agentKills: number;
  killsAfterSave: number;
  faultsFired: number;
  seconds: number;
}

const surnames = ['髙橋', '渡邉', '𠮷田', '山﨑', '佐藤', '鈴木', '田中', '伊藤', '中村', '小林'];
const surnameKana = ['タカハシ', 'ワタナベ', 'ヨシダ', 'ヤマザキ', 'サトウ', 'スズキ', 'タナカ', 'イトウ', 'ナカムラ', 'コバヤシ'];
const given = ['太郎', '花子', '一郎', '美咲', '健太', '陽菜'];
const givenKana = ['たろう', 'ハナコ', 'ｲﾁﾛｳ', 'ミサキ', 'ケンタ', 'ヒナ'];

/** A moveIn entry as the queue holds it (payload shaped like noticeEntries()). */
export function soakPayload(i: number, rand: () => number, refused: boolean): Record<string, unknown> {
  const s = Math.floor(rand() * surnames.length);
  const g = Math.floor(rand() * given.length);
  const year = 1950 + Math.floor(rand() * 60);
  const birth = `${year}-${String(1 + Math.floor(rand() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rand() * 28)).padStart(2, '0')}`;
  return {
    reference: `MDG-${9000 + i}-1`,
    kind: 'notice',
    type: 'moveIn',
    noticeId: 9000 + i,
    // 2026-02-30 is no date: the core system refuses it (a business error for staff).
    effectiveDate: refused ? '2026-02-30' : '2026-11-20',
    reportedDate: '2026-11-21',
    householdNo: null,
    data: { newAddress: `緑ケ丘二丁目${1 + (i % 30)}番地`, previousAddress: '東京都千代田区千代田1番1号' },
    subject: {
      addresseeNo: null,
      name: `${surnames[s]!} ${given[g]!}`,
      nameKana: `${surnameKana[s]!} ${givenKana[g]!}`,
      birthDate: birth,
      sex: g % 2 ? '2' : '1',
      relationship: '世帯主',
      moving: true,
      head: true,
      event: false,
      address: null,
    },
    headName: `${surnames[s]!} ${given[g]!}`,
    head: null,
    members: [],
  };
}

/** A copy of the shipped configuration with the queue's timings shortened for a test run. */
export function soakConfig(dir: string, leaseSeconds: number, rpa: { coreSystem?: string } = {}): string {
  const out = path.join(dir, 'config');
  cpSync(repoConfig, out, { recursive: true });
  const file = path.join(out, 'municipality.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(['rpa', 'leaseSeconds'], leaseSeconds);
  if (rpa.coreSystem) doc.setIn(['rpa', 'coreSystem'], rpa.coreSystem);
  doc.setIn(['rpa', 'backoffSeconds'], 1);
  doc.setIn(['rpa', 'maxAttempts'], 6);
  writeFileSync(file, doc.toString());
  return out;
}

export interface AgentHandle {
  name: string;
  coreUser: string;
  configFile: string;
  child: ChildProcess | null;
  output: string;
}

export function writeAgentConfig(
  dir: string,
  name: string,
  serverUrl: string,
  token: string,
  coreUrl: string,
  coreUser: string,
  extra: Record<string, unknown> = {},
): string {
  const agentDir = path.join(dir, name);
  mkdirSync(agentDir, { recursive: true });
  writeFileSync(path.join(agentDir, 'token.txt'), `${token}\n`, { mode: 0o600 });
  writeFileSync(path.join(agentDir, 'core-password.txt'), `${coreSimAccounts[coreUser]!.password}\n`, { mode: 0o600 });
  const cfg = {
    server: serverUrl,
    tokenFile: 'token.txt',
    coreSystem: 'sim',
    core: { url: coreUrl, user: coreUser, passwordFile: 'core-password.txt' },
    browser: { executablePath: '/usr/bin/chromium', headless: true },
    workDir: 'work',
    pollSeconds: 0.2,
    stepTimeoutSeconds: 4,
    ...extra,
  };
  const file = path.join(agentDir, 'agent.yaml');
  writeFileSync(file, JSON.stringify(cfg, null, 2));
  return file;
}

/** Starts an agent in its own process group (so that its Chromium dies with it). */
export function startAgent(a: AgentHandle, log?: (l: string) => void): void {
  const child = spawn(process.execPath, [agentBin, 'run', '--config', a.configFile], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  a.child = child;
  const onData = (d: Buffer) => {
    a.output = (a.output + d.toString()).slice(-20_000);
    if (log) for (const line of d.toString().split('\n').filter(Boolean)) log(`[${a.name}] ${line}`);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
}

export function killAgent(a: AgentHandle, signal: NodeJS.Signals = 'SIGKILL'): void {
  const child = a.child;
  if (!child?.pid || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
  a.child = null;
}

/** Queues soak jobs as the review would have released them: ready now, in batches of 100 rows. */
export async function queueSoakJobs(
  db: Knex,
  jobs: readonly { key: string; reference: string; scenario: string; payload: Record<string, unknown> }[],
): Promise<void> {
  const now = new Date(Date.now() - 1000);
  const rows = jobs.map((j) => ({
    idempotency_key: j.key,
    reference: j.reference,
    scenario: j.scenario,
    payload: JSON.stringify(j.payload),
    status: 'queued',
    awaiting_review: false,
    attempts: 0,
    max_attempts: 6,
    available_at: now,
    created_at: now,
    updated_at: now,
  }));
  for (let i = 0; i < rows.length; i += 100) await db('rpa_jobs').insert(rows.slice(i, i + 100));
}

/**
 * The agents of a soak run: started in their own process groups, killed at random points and right
 * after a save (`afterSave`, from the simulator's save hook), restarted a moment later, and driven
 * until no job is open. Shared by both core-system profiles.
 */
export class AgentFleet {
  readonly agents: AgentHandle[] = [];
  kills = 0;
  killsAfterSave = 0;
  private readonly byUser = new Map<string, AgentHandle>();
  private readonly restarts: NodeJS.Timeout[] = [];

  constructor(
    private readonly rand: () => number,
    private readonly log: (l: string) => void,
  ) {}

  /** Registers and starts `count` agents (core users rpa01, rpa02, …) against the server and the simulator. */
  async start(
    db: Knex,
    dir: string,
    prefix: string,
    serverUrl: string,
    coreUrl: string,
    count: number,
    extra: Record<string, unknown> = {},
  ) {
    for (let i = 0; i < count; i++) {
      const name = `${prefix}-${i + 1}`;
      const coreUser = i % 2 ? 'rpa02' : 'rpa01';
      const token = await registerApiClient(db, name, 'rpaAgent', { staffLogin: 'soak' });
      const a: AgentHandle = {
        name,
        coreUser,
        configFile: writeAgentConfig(dir, name, serverUrl, token, coreUrl, coreUser, extra),
        child: null,
        output: '',
      };
      this.agents.push(a);
      this.byUser.set(coreUser, a);
      startAgent(a, this.log);
    }
  }

  private kill(a: AgentHandle, why: string): void {
    killAgent(a);
    this.kills++;
    this.log(`kill ${a.name} ${why}`);
    this.restarts.push(
      setTimeout(
        () => {
          if (!a.child) startAgent(a, this.log);
        },
        300 + Math.floor(this.rand() * 700),
      ),
    );
  }

  /** Saved in the core system, not yet reported to madoguchi: the worst moment to die (with this probability). */
  afterSave(user: string, what: string, probability: number): void {
    if (this.rand() >= probability) return;
    const a = this.byUser.get(user);
    if (!a?.child) return;
    this.killsAfterSave++;
    this.kill(a, `after saving ${what}`);
  }

  /** Waits until no job is queued or leased (or the timeout), killing an agent every `killEveryMs` on average. */
  async runUntilDone(db: Knex, killEveryMs: number | undefined, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let nextKill = killEveryMs ? Date.now() + killEveryMs * (0.5 + this.rand()) : Infinity;
    for (;;) {
      const open = Number(((await db('rpa_jobs').whereIn('status', ['queued', 'leased']).count({ n: '*' }).first()) as { n: number }).n);
      if (open === 0) return;
      if (Date.now() > deadline) {
        this.log(`timeout with ${open} jobs open`);
        return;
      }
      if (Date.now() >= nextKill) {
        const a = this.agents[Math.floor(this.rand() * this.agents.length)]!;
        if (a.child) this.kill(a, 'at a random point');
        nextKill = Date.now() + killEveryMs! * (0.5 + this.rand());
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  stop(): void {
    for (const r of this.restarts) clearTimeout(r);
    for (const a of this.agents) killAgent(a);
  }
}

export async function runRpaSoak(opts: SoakOptions): Promise<SoakResult> {
  const started = Date.now();
  const rand = mulberry32(opts.seed ?? 7);
  const log = opts.log ?? (() => undefined);
  const t = tempDir('madoguchi-soak-');
  let server: RunningServer | undefined;
  let sim: CoreSim | undefined;
  const fleet = new AgentFleet(rand, log);
  try {
    const config = soakConfig(t.dir, opts.leaseSeconds ?? 8);
    server = await startServer({ configDir: config, dataDir: path.join(t.dir, 'data'), port: 0, host: '127.0.0.1', watch: false });
    const db = server.knex;
    sim = await startCoreSim({
      faults: opts.faults ?? { rules: [] },
      sessionTimeoutMs: 60 * 60_000,
      onSave: (e: Entry) => fleet.afterSave(e.user, e.reference, opts.killAfterSave ?? 0),
    });
    const refused = new Set<number>();
    const rows = Array.from({ length: opts.jobs }, (_, i) => {
      const bad = rand() < (opts.businessErrorShare ?? 0);
      if (bad) refused.add(i);
      const payload = soakPayload(i, rand, bad);
      return { key: `soak:${i}`, reference: String(payload.reference), scenario: 'moveIn', payload };
    });
    await queueSoakJobs(db, rows);
    await fleet.start(db, t.dir, 'soak-agent', server.url, sim.url, opts.agents ?? 2);
    await fleet.runUntilDone(db, opts.killEveryMs, opts.timeoutMs ?? 600_000);
    const jobs = (await db('rpa_jobs')
      .where('idempotency_key', 'like', 'soak:%')
      .select('idempotency_key', 'reference', 'status', 'core_ref')) as {
      idempotency_key: string;
      reference: string;
      status: string;
      core_ref: string | null;
    }[];
    const entries = new Map<string, Entry[]>();
    for (const e of sim.entries()) entries.set(e.reference, [...(entries.get(e.reference) ?? []), e]);
    let lost = 0;
    let wrongRef = 0;
    let enteredAnyway = 0;
    let fieldErrors = 0;
    const payloads = new Map(rows.map((r) => [r.key, r.payload]));
    const katakana = (v: string) => v.normalize('NFKC').replace(/[ぁ-ゖ]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60));
    const plain = (v: string | undefined) => (v ?? '').normalize('NFKC').replace(/[\s\u3000]/g, '');
    for (const j of jobs) {
      const got = entries.get(j.reference) ?? [];
      if (j.status === 'succeeded') {
        if (got.length === 0) lost++;
        else if (got[0]!.recordNo !== j.core_ref) wrongRef++;
        if (got[0]) {
          const p = payloads.get(j.idempotency_key)!;
          const subject = p.subject as { name: string; nameKana: string; birthDate: string; sex: string };
          const e = got[0];
          const checks: [string | undefined, string][] = [
            [e.fields.shimei, subject.name],
            [plain(e.fields.kana), plain(katakana(subject.nameKana))],
            [e.dates.seinen, subject.birthDate],
            [e.fields.seibetsu, subject.sex],
            [e.dates.ido_ymd, String(p.effectiveDate)],
          ];
          for (const [have, want] of checks)
            if (have !== want) {
              fieldErrors++;
              log(`field ${j.reference}: ${String(have)} ≠ ${want}`);
            }
        }
      } else if (j.status === 'needsAttention') {
        if (got.length > 0) enteredAnyway++;
      } else lost++;
    }
    const duplicates = [...entries.values()].filter((l) => l.length > 1).length;
    return {
      jobs: jobs.length,
      succeeded: jobs.filter((j) => j.status === 'succeeded').length,
      needsAttention: jobs.filter((j) => j.status === 'needsAttention').length,
      lost,
      duplicates,
      wrongRef,
      enteredAnyway,
      fieldErrors,
      householdsSplit: 0,
      agentKills: fleet.kills,
      killsAfterSave: fleet.killsAfterSave,
      faultsFired: sim.faultLog().length,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    fleet.stop();
    await sim?.close();
    await server?.close();
    t.remove();
  }
}
