/**
 * Two real madoguchi servers (the built bin, `node` child processes) on loopback, each with its own
 * data and config folders and port, paired as primary and standby with `madoguchi standby …`; and
 * the write load of the counter (clerks accepting 転入 through the same forms as the browser) and of
 * an RPA agent (claim → success over the agent API). Shared by `npm run soak -- standby` and
 * test/integration/standby.test.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { parseDocument } from 'yaml';
import { registerApiClient } from '../../server/src/auth/apiClients.js';
import { randomPassword } from '../../server/src/auth/passwords.js';
import { createStaff, ensureDefaultGroups } from '../../server/src/auth/staffRepo.js';
import { runIngest } from '../../server/src/cli/linkage.js';
import { loadAppConfig } from '../../server/src/config/appConfig.js';
import { migrateLatest, openDatabase } from '../../server/src/db/connect.js';
import { generateTown } from '../../server/src/demo/generator.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { ServerApi } from '../../rpa-agent/src/api.js';
import { postLogin } from './login.js';
import { MOVE_IN_FAMILY } from './moveInVisit.js';
import { cliPath, configDir as shippedConfig, repoRoot } from './paths.js';
import { waitExit } from './processes.js';
import { mulberry32 } from '../fixtures/core-sim/server.js';
import { queueSoakJobs, soakPayload } from './rpaSoak.js';

export { mulberry32 };

export interface NodeHandle {
  name: string;
  dir: string;
  dataDir: string;
  configDir: string;
  port: number;
  url: string;
  child: ChildProcess | null;
  /** The last 20 kB of the server's output (for the failure message). */
  output: string;
}

export interface CliResult {
  code: number;
  /** Still running after the timeout (killed then): a `serve` that should have refused to start did not. */
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export interface Clerk {
  loginId: string;
  password: string;
}

/** A free TCP port of 127.0.0.1 (the nodes need fixed ports: each names the other in its state file). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The shipped configuration with short RPA timings (claims are retried quickly after a switch). */
function nodeConfig(dir: string, standby: { intervalSeconds?: number; syncTimeoutMs?: number }): string {
  const out = path.join(dir, 'config');
  cpSync(shippedConfig, out, { recursive: true });
  const file = path.join(out, 'municipality.yaml');
  const doc = parseDocument(readFileSync(file, 'utf8'));
  doc.setIn(['rpa', 'leaseSeconds'], 30);
  doc.setIn(['rpa', 'backoffSeconds'], 1);
  if (standby.intervalSeconds) doc.setIn(['standby', 'intervalSeconds'], standby.intervalSeconds);
  if (standby.syncTimeoutMs) doc.setIn(['standby', 'syncTimeoutMs'], standby.syncTimeoutMs);
  writeFileSync(file, doc.toString());
  return out;
}

export interface PairOptions {
  /** A temporary folder for everything (the caller removes it). */
  dir: string;
  /** Residents of the seeded town (≥ 100; 0: no town, no address master). */
  people?: number;
  clerks?: number;
  /** RPA jobs queued at seeding, for the agent load. */
  jobs?: number;
  seed?: string;
  /** `standby.intervalSeconds` and `standby.syncTimeoutMs` (default: the shipped ones). */
  intervalSeconds?: number;
  syncTimeoutMs?: number;
  log?: (line: string) => void;
}

export class StandbyPair {
  readonly nodes: [NodeHandle, NodeHandle];
  clerks: Clerk[] = [];
  agentToken = '';
  /** An address of the seeded town's address master (a 転入's new address must be one). */
  newAddress = '';
  readonly secretFile: string;
  private readonly log: (l: string) => void;

  private constructor(
    readonly opts: PairOptions,
    a: NodeHandle,
    b: NodeHandle,
  ) {
    this.nodes = [a, b];
    this.secretFile = path.join(opts.dir, 'standby-secret');
    this.log = opts.log ?? (() => undefined);
  }

  /** Two nodes, `a` seeded (town, clerks, an RPA agent token, queued jobs), `b` empty. Nothing paired or started yet. */
  static async create(opts: PairOptions): Promise<StandbyPair> {
    const node = async (name: string): Promise<NodeHandle> => {
      const dir = path.join(opts.dir, name);
      mkdirSync(path.join(dir, 'data'), { recursive: true });
      const port = await freePort();
      return {
        name,
        dir,
        dataDir: path.join(dir, 'data'),
        configDir: nodeConfig(dir, opts),
        port,
        url: `http://127.0.0.1:${port}/`,
        child: null,
        output: '',
      };
    };
    const pair = new StandbyPair(opts, await node('a'), await node('b'));
    writeFileSync(pair.secretFile, `${randomPassword()}${randomPassword()}${randomPassword()}\n`, { mode: 0o600 });
    await pair.seed(pair.nodes[0]);
    return pair;
  }

  private async seed(n: NodeHandle): Promise<void> {
    const started = Date.now();
    const config = loadAppConfig(n.configDir);
    if (this.opts.people !== 0) await this.seedTown(n, config);
    const knex = openDatabase(config.database, n.dataDir);
    try {
      await migrateLatest(knex);
      await ensureDefaultGroups(knex);
      const a = (await knex('address_master').orderBy('address_key').first('town_name', 'block_number')) as
        { town_name: string; block_number: string } | undefined;
      // Without a town there is no address master, and any new address is taken.
      this.newAddress = a ? `${a.town_name}${a.block_number}` : '緑ケ丘二丁目3番地4';
      for (let i = 1; i <= (this.opts.clerks ?? 4); i++) {
        const clerk = { loginId: `clerk${i}`, password: randomPassword() };
        await createStaff(knex, { ...clerk, displayName: `窓口 ${i}`, section: '住民課', groups: ['counter'], mustChangePassword: false });
        this.clerks.push(clerk);
      }
      this.agentToken = await registerApiClient(knex, 'standby-soak-agent', 'rpaAgent', { staffLogin: 'soak' });
      const rand = mulberry32(7);
      const jobs = Array.from({ length: this.opts.jobs ?? 200 }, (_, i) => {
        const payload = soakPayload(i, rand, false);
        return { key: `standby:${i}`, reference: String(payload.reference), scenario: 'moveIn', payload };
      });
      await queueSoakJobs(knex, jobs);
    } finally {
      await knex.destroy();
    }
    this.log(`seeded ${n.name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  /** A demo town, ingested as the linkage files would be. */
  private async seedTown(n: NodeHandle, config: ReturnType<typeof loadAppConfig>): Promise<void> {
    const town = path.join(this.opts.dir, 'town');
    await generateTown({
      people: this.opts.people ?? 150,
      outDir: town,
      encoding: 'utf8',
      seed: this.opts.seed ?? 'standby',
      asOf: '2026-11-01',
      diff: false,
      municipality: config.municipality,
      layouts: LayoutRegistry.load(n.configDir),
    });
    // runIngest prints a progress bar and a summary: keep them off the soak's stdout.
    const write = process.stdout.write.bind(process.stdout);
    const writeErr = process.stderr.write.bind(process.stderr);
    const log = console.log;
    process.stdout.write = (() => true) as typeof process.stdout.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    console.log = () => undefined;
    try {
      await runIngest({ dataDir: n.dataDir, config: n.configDir, port: n.port, host: '127.0.0.1' }, town, 'utf8');
    } finally {
      process.stdout.write = write;
      process.stderr.write = writeErr;
      console.log = log;
    }
  }

  /** `madoguchi --data-dir … --config … --port … <args>` on a node (never throws on a non-zero exit). */
  cli(n: NodeHandle, args: string[], timeoutMs = 60_000): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = spawn(
        process.execPath,
        [cliPath, '--data-dir', n.dataDir, '--config', n.configDir, '--port', String(n.port), '--host', '127.0.0.1', ...args],
        { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      let timedOut = false;
      const t = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.on('exit', (code, signal) => {
        clearTimeout(t);
        resolve({ code: code ?? (signal ? 128 : 1), timedOut, stdout, stderr });
      });
    });
  }

  /** Like `cli` but throws with the output when the command fails. */
  async cliOk(n: NodeHandle, args: string[]): Promise<string> {
    const r = await this.cli(n, args);
    if (r.code !== 0) throw new Error(`madoguchi ${args.join(' ')} (${n.name}): exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  /** `standby status --json` of a node. */
  async status(n: NodeHandle): Promise<Record<string, unknown>> {
    const out = await this.cliOk(n, ['standby', 'status', '--json']);
    return JSON.parse(out) as Record<string, unknown>;
  }

  /** Starts `madoguchi serve` on a node (it runs in the role of its state file). */
  start(n: NodeHandle): ChildProcess {
    if (n.child) throw new Error(`${n.name} is already running`);
    const child = spawn(
      process.execPath,
      [
        '--max-old-space-size=192',
        cliPath,
        '--data-dir',
        n.dataDir,
        '--config',
        n.configDir,
        '--port',
        String(n.port),
        '--host',
        '127.0.0.1',
        'serve',
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    n.child = child;
    const onData = (d: Buffer) => {
      n.output = (n.output + d.toString()).slice(-20_000);
      for (const line of d.toString().split('\n').filter(Boolean)) this.log(`[${n.name}] ${line}`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code, signal) => {
      this.log(`[${n.name}] exited ${signal ?? code}`);
      if (n.child === child) n.child = null;
    });
    return child;
  }

  /** SIGKILL: the power cut of the test. Resolves once the process is gone. */
  async kill(n: NodeHandle): Promise<void> {
    const c = n.child;
    if (!c) return;
    c.kill('SIGKILL');
    await waitExit(c, 5000);
    n.child = null;
  }

  /** SIGTERM and wait (a clean stop). */
  async stop(n: NodeHandle): Promise<void> {
    const c = n.child;
    if (!c) return;
    c.kill('SIGTERM');
    await waitExit(c, 15_000);
    n.child = null;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.stop(n)));
  }

  /** `standby init` on both: `primary` ships to `standby`; both get the same secret file. */
  async pairUp(primary: NodeHandle, standby: NodeHandle): Promise<void> {
    const init = (n: NodeHandle, role: string, peer: NodeHandle) =>
      this.cliOk(n, ['standby', 'init', '--role', role, '--peer', peer.url.replace(/\/$/, ''), '--secret-file', this.secretFile]);
    await Promise.all([init(primary, 'primary', standby), init(standby, 'standby', primary)]);
  }

  /** The replica a running standby holds, from its /healthz. */
  async replicaOnHealth(n: NodeHandle): Promise<ReplicaPoint | null> {
    return replicaPoint((await this.health(n))?.body);
  }

  /** Waits until the standby holds a verified state taken at or after `sinceMs` (the primary's snapshot time). */
  async waitReplicaAfter(n: NodeHandle, sinceMs: number, timeoutMs = 60_000): Promise<ReplicaPoint> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.replicaOnHealth(n);
      if (r && r.snapshotAt >= sinceMs) return r;
      if (Date.now() > deadline)
        throw new Error(
          `${n.name}: no replica taken after ${new Date(sinceMs).toISOString()} within ${timeoutMs} ms (has ${JSON.stringify(r)})\n${n.output.slice(-3000)}`,
        );
      await sleep(200);
    }
  }

  /** GET /healthz: the status code and body, or null when nothing answers. */
  async health(n: NodeHandle): Promise<{ status: number; body: Record<string, unknown> } | null> {
    try {
      const res = await fetch(`${n.url}healthz`, { signal: AbortSignal.timeout(3000) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    } catch {
      return null;
    }
  }

  /** Waits until the node answers /healthz 200 in `role` (a node without a state file counts as primary). */
  async waitHealthy(n: NodeHandle, role: 'primary' | 'standby', timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const h = await this.health(n);
      if (h?.status === 200 && ((h.body.role as string | undefined) ?? 'primary') === role) return;
      if (!n.child) throw new Error(`${n.name} stopped before it was healthy:\n${n.output.slice(-3000)}`);
      if (Date.now() > deadline)
        throw new Error(`${n.name} not healthy as ${role} in ${timeoutMs} ms: ${JSON.stringify(h)}\n${n.output.slice(-3000)}`);
      await sleep(100);
    }
  }
}

/** The verified replica a standby holds, from `standby status --json` or its /healthz (null: none yet). */
export interface ReplicaPoint {
  seq: number;
  /** When the primary took the snapshot (ms since the epoch). */
  snapshotAt: number;
}

/** Reads seq and snapshotAt wherever the status puts them (top level, `replica` or `standby`). */
export function replicaPoint(status: Record<string, unknown> | null | undefined): ReplicaPoint | null {
  if (!status) return null;
  for (const o of [status, status.replica, status.standby] as unknown[]) {
    if (!o || typeof o !== 'object') continue;
    const r = o as Record<string, unknown>;
    const at = typeof r.snapshotAt === 'string' ? Date.parse(r.snapshotAt) : NaN;
    if (Number.isInteger(r.seq) && (r.seq as number) > 0 && !Number.isNaN(at)) return { seq: r.seq as number, snapshotAt: at };
  }
  return null;
}

/** A logged-in browser session of a clerk: the session cookie and the page's CSRF token. */
export interface ClerkSession {
  url: string;
  cookie: string;
  csrf: string;
}

/** Logs in through the login form, then reads the CSRF token from the home page as the browser has it. */
export async function clerkLogin(url: string, clerk: Clerk, counterId = 'shimin-1'): Promise<ClerkSession> {
  const res = await postLogin(url, { loginId: clerk.loginId, password: clerk.password, counterId });
  if (res.status !== 303) throw new Error(`login ${clerk.loginId}: ${res.status}`);
  const cookie = res.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .filter((c) => !c.endsWith('='))
    .join('; ');
  const home = await fetch(url, { headers: { cookie }, redirect: 'manual' });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await home.text())?.[1];
  if (!csrf) throw new Error(`no CSRF token on the home page of ${clerk.loginId}: ${home.status}`);
  return { url, cookie, csrf };
}

function post(s: ClerkSession, pathname: string, fields: Record<string, string | string[]>, timeoutMs = 60_000): Promise<Response> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const x of Array.isArray(v) ? v : [v]) body.append(k, x);
  body.append('_csrf', s.csrf);
  return fetch(`${s.url}${pathname}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: s.cookie },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
}

export interface AcceptedNotice {
  visitId: number;
  noticeId: number;
  /** When the accept's answer (303 to the visit) arrived: from then on the notice must survive. */
  ackAt: number;
  /** A marker in the notice (the new address) to find it again on the other node. */
  marker: string;
}

let markerSeq = 0;

/** The page's alerts (field errors), for a failure message without the whole page. */
const alertsOf = (page: string): string =>
  [...page.matchAll(/role="alert"[^>]*>([^<]+)/g)].map((m) => m[1]!.trim()).join(' | ') || page.slice(0, 300);

/**
 * One 転入 at the counter as the browser posts it: open a visit, the identity check, a new notice,
 * accept. Returns the notice once the accept answered 303 (the acknowledgement); throws otherwise.
 */
export async function acceptMoveIn(s: ClerkSession, tag: string, newAddress: string): Promise<AcceptedNotice> {
  const step = async (res: Response, what: string) => {
    if (res.status !== 303 && res.status !== 200) throw new Error(`${what}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    return res;
  };
  const opened = await step(await post(s, 'visits', {}), 'open visit');
  const visitId = Number(/\/visits\/(\d+)$/.exec(opened.headers.get('location') ?? '')?.[1]);
  if (!visitId) throw new Error(`open visit: no visit in ${opened.headers.get('location')}`);
  await step(
    await post(s, `visits/${visitId}/visitor`, {
      visitorRole: 'subject',
      identityDocument: 'driversLicence',
      visitorName: MOVE_IN_FAMILY[0].name,
      visitorKana: MOVE_IN_FAMILY[0].kana,
      visitorBirthDate: MOVE_IN_FAMILY[0].birthDate,
      visitorSex: '1',
      visitorAddress: '東京都千代田区千代田1-1',
      visitorPhone: '090-1111-2222',
    }),
    'identity',
  );
  const created = await step(await post(s, `visits/${visitId}/notices`, { type: 'moveIn' }), 'new notice');
  const noticeId = Number(/notices\/(\d+)$/.exec(created.headers.get('location') ?? '')?.[1]);
  if (!noticeId) throw new Error(`new notice: no notice in ${created.headers.get('location')}`);
  // The previous address is free text: it carries a marker unique to this notice (ids are reused after a lost write).
  const marker = `東京都千代田区千代田1-${tag}-${++markerSeq}`;
  const accepted = await post(s, `visits/${visitId}/notices/${noticeId}`, {
    action: 'accept',
    effectiveDate: 'R8.11.28',
    previousAddress: marker,
    newAddress,
    certificateRef: '131016-12345678901',
    honseki: '東京都千代田区千代田1番',
    hittousha: MOVE_IN_FAMILY[0].name,
    m0_name: MOVE_IN_FAMILY[0].name,
    m0_kana: MOVE_IN_FAMILY[0].kana,
    m0_birthDate: MOVE_IN_FAMILY[0].birthDate,
    m0_sex: MOVE_IN_FAMILY[0].sex,
    m0_relationship: MOVE_IN_FAMILY[0].relationship,
    moving: ['0'],
    head: '0',
  });
  if (accepted.status !== 303) throw new Error(`accept: HTTP ${accepted.status} ${alertsOf(await accepted.text())}`);
  return { visitId, noticeId, ackAt: Date.now(), marker };
}

/** Whether the notice is on the node as accepted (the notice page, read as a clerk). */
export async function noticePresent(s: ClerkSession, n: AcceptedNotice): Promise<boolean> {
  const res = await fetch(`${s.url}visits/${n.visitId}/notices/${n.noticeId}`, { headers: { cookie: s.cookie }, redirect: 'manual' });
  if (res.status !== 200) return false;
  const page = await res.text();
  return page.includes(n.marker);
}

/**
 * The write load on one server: `clerks` accept 転入 in a loop, and an RPA agent claims jobs and
 * reports success. Stops on `stop()` or when the server goes away (a killed primary); every
 * acknowledged notice is kept in `acknowledged`.
 */
export class WriteLoad {
  readonly acknowledged: AcceptedNotice[] = [];
  errors: string[] = [];
  jobsDone = 0;
  /** Ids of the jobs whose success this load reported (answered 200). */
  readonly jobIds: number[] = [];
  /** Set just before the server is killed: the failures that follow are expected, not logged. */
  expectFailures = false;
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly url: string,
    private readonly clerks: readonly Clerk[],
    private readonly agentToken: string,
    private readonly newAddress: string,
    private readonly tag: string,
    private readonly log: (l: string) => void = () => undefined,
  ) {}

  start(): void {
    this.running = true;
    this.loops = this.clerks.map((c, i) => this.clerkLoop(c, i));
    if (this.agentToken) this.loops.push(this.agentLoop());
  }

  private async clerkLoop(clerk: Clerk, i: number): Promise<void> {
    let s: ClerkSession | null = null;
    while (this.running) {
      try {
        s ??= await clerkLogin(this.url, clerk, `shimin-${(i % 2) + 1}`);
        this.acknowledged.push(await acceptMoveIn(s, `${this.tag}c${i}`, this.newAddress));
      } catch (e) {
        if (!this.running) return;
        this.errors.push(`${clerk.loginId}: ${e instanceof Error ? e.message : String(e)}`);
        if (!this.expectFailures) this.log(`load ${clerk.loginId}: ${e instanceof Error ? e.message : String(e)}`);
        s = null;
        await sleep(500);
      }
    }
  }

  private async agentLoop(): Promise<void> {
    const api = new ServerApi(this.url, this.agentToken, undefined, 10_000);
    try {
      while (this.running) {
        try {
          const { job } = await api.claim();
          if (!job) {
            await sleep(300);
            continue;
          }
          await api.heartbeat(job.id);
          await api.succeed(job.id, `CORE-${job.id}`);
          this.jobsDone++;
          this.jobIds.push(job.id);
        } catch (e) {
          if (!this.running) return;
          this.errors.push(`agent: ${e instanceof Error ? e.message : String(e)}`);
          await sleep(500);
        }
      }
    } finally {
      api.close();
    }
  }

  /** Stops the loops (requests in flight are abandoned: they were never acknowledged). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.race([Promise.all(this.loops), sleep(2000)]);
  }
}

/** Whether the notice is in a replica file as accepted (read-only; the standby may install a newer one meanwhile). */
export function noticeInReplica(file: string, n: AcceptedNotice): boolean {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('select status, data from notices where id = ?').get(n.noticeId) as { status: string; data: string } | undefined;
    return !!row && row.status === 'accepted' && row.data.includes(n.marker);
  } finally {
    db.close();
  }
}
