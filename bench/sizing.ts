/**
 * `npm run bench -- sizing [--people 30000,100000] [--notices 100] [--certificates 100]
 *   [--terminals 20] [--seconds 20 (0: no search load)] [--rpa-jobs 6 (0: no RPA)] [--no-daily-load] [--no-gzip]`
 *
 * The measured figures behind the hardware sizing table (docs/operations.md): on real parts,
 * one step at a time (the machine is shared).
 * 1. Per town size: `madoguchi generate` (CP932) and `madoguchi ingest` into an empty cache, then
 *    the same files again with `--force` (the daily full load), then the next day's differential
 *    files; each in its own process (CPU seconds and peak RSS from bench/rss-hook.mjs). The
 *    database is measured with SQLite's dbstat (bytes per table with its indexes).
 * 2. On the largest town, a real `madoguchi serve`: accepted 4-person 転入 notices and certificate
 *    requests over HTTP (database and log growth each), a closed-loop search load (server CPU,
 *    log bytes), and the daily full load while the server runs (the server's peak RSS).
 * 3. `madoguchi backup now` of that data folder (what it writes, and how far gzip would shrink it).
 * 4. RPA evidence: the agent (real Chromium) on the core-system simulator, with refused entries
 *    (a failure keeps a screenshot and a trace) and with `screenshots: everyStep`.
 * Last line: {"bench":"sizing",…}.
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import Database from 'better-sqlite3';
import { cpuSeconds, peakRssMb, prepareStaff, startServer as startServeProcess, type Sample } from './search.js';
import { Client, login, runLoad, type Operation } from './searchLoad.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'server/bin/madoguchi.js');
const configDir = path.join(root, 'config');
/** The flag the launcher's shebang gives the CLI in production (server/bin/madoguchi.js). */
const HEAP = '--max-old-space-size=192';
const SEED = 'bench';
const AS_OF = '2026-11-01';

export interface SizingOptions {
  /** Town sizes, ascending; the server steps run on the last. */
  people: number[];
  notices: number;
  certificates: number;
  terminals: number;
  searchSeconds: number;
  /** RPA jobs per agent run (half refused); 0 skips the RPA step (no Chromium). */
  rpaJobs: number;
  /** Gzip the backup's database to report its compressibility (reads the whole file once). */
  gzip: boolean;
  /** The daily full load (again with --force, and while the server runs) and the differential files. */
  dailyLoad: boolean;
  log?: (line: string) => void;
}

interface Ran {
  out: string;
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
}

const round = (x: number, d = 2) => (Number.isFinite(x) ? Number(x.toFixed(d)) : null);
const secondsSince = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;

/** The CLI in its own process with the production heap cap; CPU and peak RSS from bench/rss-hook.mjs. */
function runCli(args: string[], log: (s: string) => void): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [HEAP, '--import', path.join(root, 'bench/rss-hook.mjs'), cli, '--config', configDir, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const rss = /@@peakRssMb=(\d+)/.exec(err);
      const cpu = /@@cpuSeconds=([0-9.]+)/.exec(err);
      if (code !== 0) {
        log(err.slice(-2000));
        reject(new Error(`madoguchi ${args[0]} exited with ${code ?? signal}`));
        return;
      }
      resolve({ out, seconds: secondsSince(started), cpuSeconds: cpu ? Number(cpu[1]) : NaN, peakRssMb: rss ? Number(rss[1]) : -1 });
    });
  });
}

/** Bytes of the files under a folder (0 when it does not exist). */
export function folderBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  let sum = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    sum += e.isDirectory() ? folderBytes(p) : e.isFile() ? statSync(p).size : 0;
  }
  return sum;
}

export interface DbStats {
  /** page_count × page_size: the file once the WAL is checkpointed. */
  fileBytes: number;
  /** Pages in use (file minus free pages). */
  usedBytes: number;
  /** Bytes per table, its indexes included. */
  tables: Record<string, number>;
  rows: Record<string, number>;
}

const COUNTED = [
  'residents',
  'households',
  'resident_history',
  'entitlements',
  'address_master',
  'visits',
  'notices',
  'notice_members',
  'certificate_requests',
  'audit_trail',
  'rpa_jobs',
  'staff_sessions',
];

/** The database as SQLite sees it (WAL included), read-only from this process. */
export function dbStats(file: string): DbStats {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const pages = db.pragma('page_count', { simple: true }) as number;
    const free = db.pragma('freelist_count', { simple: true }) as number;
    const owner = new Map<string, string>();
    for (const r of db.prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table','index')").all() as {
      name: string;
      tbl_name: string;
    }[])
      owner.set(r.name, r.tbl_name);
    const tables: Record<string, number> = {};
    for (const r of db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name').all() as { name: string; bytes: number }[]) {
      const t = owner.get(r.name) ?? r.name;
      tables[t] = (tables[t] ?? 0) + r.bytes;
    }
    const rows: Record<string, number> = {};
    for (const t of COUNTED) if (owner.has(t)) rows[t] = (db.prepare(`SELECT count(*) AS n FROM "${t}"`).get() as { n: number }).n;
    return { fileBytes: pages * pageSize, usedBytes: (pages - free) * pageSize, tables, rows };
  } finally {
    db.close();
  }
}

const growth = (a: DbStats, b: DbStats) => ({
  usedBytes: b.usedBytes - a.usedBytes,
  tables: Object.fromEntries(
    Object.keys(b.tables)
      .map((t) => [t, b.tables[t]! - (a.tables[t] ?? 0)] as const)
      .filter(([, d]) => d !== 0),
  ),
  rows: Object.fromEntries(Object.keys(b.rows).map((t) => [t, b.rows[t]! - (a.rows[t] ?? 0)])),
});

/** The outcome and message of the last linkage runs (why a file was refused). */
function lastRunMessages(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const runs = db.prepare('SELECT spec_id, result, message FROM linkage_runs ORDER BY id DESC LIMIT 3').all() as {
      spec_id: string;
      result: string;
      message: string | null;
    }[];
    return runs.map((r) => `${r.spec_id} ${r.result}: ${(r.message ?? '').slice(0, 300)}`).join(' / ');
  } finally {
    db.close();
  }
}

export interface TownLoad {
  people: number;
  residentsRows: number;
  households: number;
  historyRows: number;
  csvBytes: number;
  generateSeconds: number;
  load: { seconds: number; cpuSeconds: number; peakRssMb: number };
  dailyFullLoad: { seconds: number; cpuSeconds: number; peakRssMb: number } | null;
  diff: { rows: number; seconds: number; cpuSeconds: number; bytesAdded: number; refused: string | null };
  dbBytes: number;
  dbBytesAfterDailyLoad: number | null;
  dbBytesPerResident: number;
  tableBytes: Record<string, number>;
  dataDir: string;
  townDir: string;
}

async function loadTown(people: number, dir: string, dailyLoad: boolean, log: (s: string) => void): Promise<TownLoad> {
  const townDir = path.join(dir, `town-${people}`);
  const dataDir = path.join(dir, `data-${people}`);
  const db = path.join(dataDir, 'madoguchi.sqlite');
  log(`町 ${people.toLocaleString('ja-JP')} 人を生成しています…`);
  const gen = await runCli(
    ['generate', '--people', String(people), '--out', townDir, '--encoding', 'cp932', '--seed', SEED, '--as-of', AS_OF, '--diff', '--json'],
    log,
  );
  const summary = JSON.parse(gen.out.trim().split('\n').pop()!) as { people: number; households: number; diffRows: number };
  const diffDir = path.join(townDir, 'diff');
  const csvBytes = folderBytes(townDir) - folderBytes(diffDir);
  log(`  生成 ${gen.seconds.toFixed(1)} 秒。取込 (空のキャッシュへ)…`);
  const first = await runCli(['ingest', townDir, '--data-dir', dataDir], log);
  const loaded = dbStats(db);
  log(`  取込 ${first.seconds.toFixed(1)} 秒 (CPU ${first.cpuSeconds} 秒)。`);
  const daily = dailyLoad ? await runCli(['ingest', townDir, '--data-dir', dataDir, '--force'], log) : null;
  const reloaded = dbStats(db);
  if (daily) log(`  毎日の全件取込 (--force) ${daily.seconds.toFixed(1)} 秒 (CPU ${daily.cpuSeconds} 秒)。翌日の差分…`);
  // A refused differential file is reported with the loader's own message, not fatal to the measurement.
  let diffRefused: string | null = null;
  const diff =
    dailyLoad && existsSync(diffDir)
      ? // The 同定マップ sits with the full files; the next day's folder is read with the same map.
        await runCli(['ingest', diffDir, '--data-dir', dataDir, '--gaiji-map', path.join(townDir, 'gaiji-map.csv')], log).catch(() => {
          diffRefused = lastRunMessages(db);
          log(`  差分を取り込めませんでした: ${diffRefused}`);
          return undefined;
        })
      : undefined;
  const afterDiff = dbStats(db);
  return {
    people: summary.people,
    residentsRows: loaded.rows.residents ?? 0,
    households: loaded.rows.households ?? 0,
    historyRows: loaded.rows.resident_history ?? 0,
    csvBytes,
    generateSeconds: round(gen.seconds)!,
    load: { seconds: round(first.seconds)!, cpuSeconds: round(first.cpuSeconds)!, peakRssMb: first.peakRssMb },
    dailyFullLoad: daily && { seconds: round(daily.seconds)!, cpuSeconds: round(daily.cpuSeconds)!, peakRssMb: daily.peakRssMb },
    diff: {
      rows: summary.diffRows,
      seconds: round(diff?.seconds ?? 0)!,
      cpuSeconds: round(diff?.cpuSeconds ?? 0)!,
      bytesAdded: afterDiff.usedBytes - reloaded.usedBytes,
      refused: diffRefused,
    },
    dbBytes: loaded.fileBytes,
    dbBytesAfterDailyLoad: daily ? reloaded.fileBytes : null,
    dbBytesPerResident: Math.round(loaded.fileBytes / summary.people),
    tableBytes: loaded.tables,
    dataDir,
    townDir,
  };
}

type Staff = Awaited<ReturnType<typeof import('../test/helpers/login.js').loginAs>>;

/** Accepted 4-person 転入 notices and certificate requests over HTTP; growth of the database and logs. */
async function transactions(url: string, pid: number, dataDir: string, o: SizingOptions, log: (s: string) => void) {
  const { sqliteKnex } = await import('../server/src/db/connect.js');
  const { loginAs } = await import('../test/helpers/login.js');
  const { acceptedMoveIn } = await import('../test/helpers/moveInVisit.js');
  const { getAs, postForm } = await import('../test/helpers/http.js');
  const db = path.join(dataDir, 'madoguchi.sqlite');
  const logs = path.join(dataDir, 'logs');
  const knex = sqliteKnex(db);
  try {
    const clerk: Staff = await loginAs(url, knex, ['counter']);
    // Residents a certificate may be issued for: living here, no 支援措置, no 発行禁止.
    const subjects = (
      (await knex('residents')
        .where({ resident_status: '1' })
        .whereNotIn('addressee_no', knex('support_measures').select('addressee_no'))
        .whereNotIn('addressee_no', knex('issuance_bans').select('addressee_no'))
        .orderBy('addressee_no')
        .limit(Math.max(1, o.certificates))
        .select('addressee_no')) as { addressee_no: string }[]
    ).map((r) => String(r.addressee_no));

    // New addresses the town's 住所マスタ holds (the notice checks them against it).
    const addresses = (
      (await knex('address_master').orderBy('id').limit(200).select('town_name', 'block_number', 'address_suffix')) as {
        town_name: string;
        block_number: string;
        address_suffix: string;
      }[]
    ).map((a) => `${a.town_name}${a.block_number}${a.address_suffix}`);
    if (!addresses.length) throw new Error('住所マスタが空です');
    // The clerk closes each visit, as at the counter; a refusal is reported once, not hidden.
    let closeRefused = 0;
    const close = async (visitId: number) => {
      const res = await postForm(`${url}visits/${visitId}/status`, clerk, { change: 'close' });
      if (res.status !== 303 && closeRefused++ === 0)
        log(`  来庁記録を完了できませんでした: ${res.status} ${(await res.text()).slice(0, 200)}`);
    };
    let before = dbStats(db);
    let logBefore = folderBytes(logs);
    let t0 = process.hrtime.bigint();
    let cpu0 = cpuSeconds(pid);
    for (let i = 0; i < o.notices; i++) await close((await acceptedMoveIn(url, knex, clerk, addresses[i % addresses.length])).visitId);
    const noticeSeconds = secondsSince(t0);
    let after = dbStats(db);
    const notices = {
      ...growth(before, after),
      logBytes: folderBytes(logs) - logBefore,
      seconds: round(noticeSeconds),
      serverCpuSeconds: cpuSeconds(pid) - cpu0,
    };
    log(`  転入 ${o.notices} 件: ${noticeSeconds.toFixed(1)} 秒、データベース +${notices.usedBytes} バイト`);

    before = after;
    logBefore = folderBytes(logs);
    t0 = process.hrtime.bigint();
    cpu0 = cpuSeconds(pid);
    const ok = async (res: Response, what: string) => {
      if (res.status !== 303 && res.status !== 200) throw new Error(`${what}: ${res.status} ${(await res.text()).slice(0, 300)}`);
      return res;
    };
    for (let i = 0; i < o.certificates; i++) {
      const subject = subjects[i % subjects.length]!;
      const opened = await ok(await postForm(`${url}visits`, clerk, {}), 'open visit');
      const visitId = Number(/\/visits\/(\d+)$/.exec(opened.headers.get('location') ?? '')![1]);
      await ok(await postForm(`${url}visits/${visitId}/subjects`, clerk, { addresseeNo: subject }), 'subject');
      await ok(
        await postForm(`${url}visits/${visitId}/certificates`, clerk, {
          relation: 'self',
          action: 'save',
          l0_type: 'residentCopy',
          l0_subject: subject,
          l0_copies: '1',
          l0_purpose: 'self',
          l0_scope: 'household',
        }),
        'certificate',
      );
      const r = (await knex('certificate_requests').where({ visit_id: visitId }).first('id')) as { id: number } | undefined;
      if (!r) throw new Error('証明書の請求が保存されていません');
      const pdf = await getAs(`${url}visits/${visitId}/certificates/${r.id}/request.pdf`, clerk);
      if (pdf.status !== 200) throw new Error(`request.pdf: ${pdf.status}`);
      await pdf.arrayBuffer();
      await close(visitId);
    }
    const certSeconds = secondsSince(t0);
    after = dbStats(db);
    const certificates = {
      ...growth(before, after),
      logBytes: folderBytes(logs) - logBefore,
      seconds: round(certSeconds),
      serverCpuSeconds: cpuSeconds(pid) - cpu0,
    };
    log(`  証明書の請求 ${o.certificates} 件: ${certSeconds.toFixed(1)} 秒、データベース +${certificates.usedBytes} バイト`);
    return { notices, certificates, closeRefused };
  } finally {
    await knex.destroy();
  }
}

/** Kana-prefix and person searches from T logged-in terminals, closed loop; server CPU and log bytes. */
async function searchLoad(url: string, pid: number, dataDir: string, o: SizingOptions, log: (s: string) => void) {
  const { password, counters, samples } = await prepareStaff(configDir, dataDir);
  const client = new Client(url, o.terminals);
  try {
    const cookies: string[] = [];
    for (let i = 0; i < o.terminals; i++)
      cookies.push(await login(client, 'bench-search', password, counters[i % counters.length] ?? 'shimin-1'));
    const pick = (): Sample => samples[Math.floor(Math.random() * samples.length)]!;
    const pathFor = (op: Operation): string =>
      op === 'kana'
        ? `/api/v1/residents?kana=${encodeURIComponent([...pick().name_kana.replace(/[\s\u3000]/g, '')].slice(0, 3).join(''))}`
        : `/api/v1/residents/${pick().addressee_no}`;
    const logs = path.join(dataDir, 'logs');
    const logBefore = folderBytes(logs);
    const load = await runLoad({
      client,
      cookies,
      mix: { kana: 60, nameBirth: 0, address: 0, person: 40 },
      pathFor,
      warmupSeconds: Math.min(2, o.searchSeconds),
      seconds: o.searchSeconds,
      serverGone: () => undefined,
      cpuSeconds: () => cpuSeconds(pid),
    });
    let requests = 0;
    let errors = 0;
    for (const s of Object.values(load.perOp)) {
      requests += s.ok + s.errors;
      errors += s.errors;
    }
    const logBytes = folderBytes(logs) - logBefore;
    log(`  検索 ${requests} 件 (${o.terminals} 端末、${o.searchSeconds} 秒、エラー ${errors})、CPU ${load.serverCpuSeconds.toFixed(1)} 秒`);
    return {
      terminals: o.terminals,
      seconds: o.searchSeconds,
      requests,
      errors,
      rps: round(requests / load.seconds),
      serverCpuMsPerRequest: round((load.serverCpuSeconds * 1000) / Math.max(1, requests)),
      logBytes,
      peakRssMb: peakRssMb(pid),
    };
  } finally {
    client.close();
  }
}

/** Bytes gzip (level 6) would make of a file: how far a compressed copy would shrink the backup. */
function gzipBytes(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const z = createGzip({ level: 6 });
    z.on('data', (d: Buffer) => (n += d.length));
    z.on('end', () => resolve(n));
    z.on('error', reject);
    createReadStream(file).on('error', reject).pipe(z);
  });
}

async function backup(dataDir: string, dir: string, o: SizingOptions, log: (s: string) => void) {
  const target = path.join(dir, 'backups');
  const ran = await runCli(['backup', 'now', '--data-dir', dataDir, '--to', target], log);
  const folder = ran.out.trim().split('\n').pop()!;
  const bytes = folderBytes(folder);
  const dbFile = path.join(folder, 'madoguchi.sqlite');
  const dbBytes = existsSync(dbFile) ? statSync(dbFile).size : 0;
  const gz = o.gzip && dbBytes ? await gzipBytes(dbFile) : NaN;
  const { loadAppConfig } = await import('../server/src/config/appConfig.js');
  const config = loadAppConfig(configDir);
  log(`  バックアップ ${bytes} バイト (${ran.seconds.toFixed(1)} 秒)`);
  return {
    bytes,
    databaseBytes: dbBytes,
    compressed: false,
    gzipRatio: round(gz / dbBytes, 3),
    seconds: round(ran.seconds),
    cpuSeconds: round(ran.cpuSeconds),
    peakRssMb: ran.peakRssMb,
    keepGenerations: config.backup?.keepGenerations ?? null,
    keepBusinessDays: config.backup?.keepBusinessDays ?? null,
  };
}

/** The agent on the simulator: refused entries (failure evidence) and everyStep screenshots. */
async function rpaEvidence(jobs: number, log: (s: string) => void) {
  const { startServer } = await import('../server/src/main.js');
  const { registerApiClient } = await import('../server/src/auth/apiClients.js');
  const { startCoreSim } = await import('../test/fixtures/core-sim/server.js');
  const { agentBin, queueSoakJobs, soakConfig, soakPayload, writeAgentConfig } = await import('../test/helpers/rpaSoak.js');
  const { tempDir, repoRoot } = await import('../test/helpers/paths.js');
  const t = tempDir('madoguchi-bench-sizing-rpa-');
  const sim = await startCoreSim({ sessionTimeoutMs: 3_600_000 });
  const dataDir = path.join(t.dir, 'data');
  const server = await startServer({ configDir: soakConfig(t.dir, 120), dataDir, port: 0, host: '127.0.0.1', watch: false });
  let a = 7;
  const rand = () => ((a = (a * 1103515245 + 12345) % 2147483648), a / 2147483648);
  const evidence = async () =>
    (await server.knex('rpa_evidence').select('kind').sum({ bytes: 'bytes' }).count({ n: '*' }).groupBy('kind')) as {
      kind: string;
      bytes: number;
      n: number;
    }[];
  const runAgent = async (name: string, extra: Record<string, unknown>, from: number, refusedShare: number) => {
    const list = Array.from({ length: jobs }, (_, k) => {
      const i = from + k;
      const refused = k < Math.round(jobs * refusedShare);
      return { key: `sizing:${i}`, reference: `MDG-${9000 + i}-1`, scenario: 'moveIn', payload: soakPayload(i, rand, refused) };
    });
    await queueSoakJobs(server.knex, list);
    const token = await registerApiClient(server.knex, name, 'rpaAgent', { staffLogin: 'bench' });
    const cfg = writeAgentConfig(t.dir, name, server.url, token, sim.url, 'rpa01', extra);
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [agentBin, 'run', '--until-empty', '--config', cfg], {
        cwd: repoRoot,
        stdio: ['ignore', 'ignore', 'ignore'],
      });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`agent exited ${code}`))));
    });
    log(`  RPA ${name}: ${jobs} 件 ${((Date.now() - started) / 1000).toFixed(1)} 秒`);
  };
  try {
    // Default settings (screenshots and trace on failure only): half the entries refused by the core system.
    await runAgent('sizing-default', {}, 0, 0.5);
    const failed = Number(((await server.knex('rpa_jobs').whereNot({ status: 'succeeded' }).count({ n: '*' }).first()) as { n: number }).n);
    const defaults = await evidence();
    const defaultBytes = defaults.reduce((s, e) => s + Number(e.bytes), 0);
    const byKind = (rows: typeof defaults, kind: string) => rows.find((e) => e.kind === kind);
    // screenshots: everyStep, every entry accepted.
    await runAgent('sizing-everystep', { screenshots: 'everyStep' }, jobs, 0);
    const all = await evidence();
    const shots = Number(byKind(all, 'screenshot')?.n ?? 0) - Number(byKind(defaults, 'screenshot')?.n ?? 0);
    const shotBytes = Number(byKind(all, 'screenshot')?.bytes ?? 0) - Number(byKind(defaults, 'screenshot')?.bytes ?? 0);
    return {
      jobs: jobs * 2,
      failedJobs: failed,
      bytesPerFailedJob: Math.round(defaultBytes / Math.max(1, failed)),
      screenshotBytesPerFailedJob: Math.round(Number(byKind(defaults, 'screenshot')?.bytes ?? 0) / Math.max(1, failed)),
      traceBytesPerFailedJob: Math.round(Number(byKind(defaults, 'trace')?.bytes ?? 0) / Math.max(1, failed)),
      bytesPerSucceededJobDefault: 0,
      everyStepScreenshotsPerJob: round(shots / jobs, 1),
      everyStepBytesPerJob: Math.round(shotBytes / jobs),
      evidenceFolderBytes: folderBytes(path.join(dataDir, 'evidence')),
      evidenceRowsBytes: all.reduce((s, e) => s + Number(e.bytes), 0),
    };
  } finally {
    await server.close();
    await sim.close();
    t.remove();
  }
}

/** The whole measurement; the figures the sizing table is derived from. */
export async function measureSizing(o: SizingOptions): Promise<Record<string, unknown>> {
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'madoguchi-bench-sizing-'));
  const started = process.hrtime.bigint();
  const steps: Record<string, number> = {};
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = process.hrtime.bigint();
    try {
      return await fn();
    } finally {
      steps[name] = round(secondsSince(t), 1)!;
    }
  };
  try {
    const towns: TownLoad[] = [];
    for (const n of o.people) towns.push(await step(`town${n}`, () => loadTown(n, dir, o.dailyLoad, log)));
    const big = towns[towns.length - 1]!;
    // Linearity: the per-resident bytes and CPU of the two ends of the range.
    const first = towns[0]!;
    const linearity =
      towns.length > 1
        ? {
            dbBytesPerResidentRatio: round(big.dbBytesPerResident / first.dbBytesPerResident, 3),
            loadCpuPerResidentRatio: round(big.load.cpuSeconds / big.people / (first.load.cpuSeconds / first.people), 3),
          }
        : null;

    log(`サーバー (${big.people.toLocaleString('ja-JP')} 人) を起動しています…`);
    const server = await startServeProcess(configDir, big.dataDir, !o.log);
    const pid = server.child.pid!;
    let serverSteps: {
      rssAtStartMb: number;
      tx: Awaited<ReturnType<typeof transactions>>;
      search: Awaited<ReturnType<typeof searchLoad>> | null;
      fullLoadWhileServing: Record<string, number | null> | null;
      peakRssMb: number;
    };
    try {
      const url = server.url.endsWith('/') ? server.url : `${server.url}/`;
      const rssAtStart = peakRssMb(pid);
      const tx = await step('transactions', () => transactions(url, pid, big.dataDir, o, log));
      const search = o.searchSeconds > 0 ? await step('search', () => searchLoad(url, pid, big.dataDir, o, log)) : null;
      const cpuBefore = cpuSeconds(pid);
      const load = o.dailyLoad
        ? await step('loadWhileServing', () => runCli(['ingest', big.townDir, '--data-dir', big.dataDir, '--force'], log))
        : null;
      serverSteps = {
        rssAtStartMb: rssAtStart,
        tx,
        search,
        fullLoadWhileServing: load && {
          seconds: round(load.seconds),
          cpuSeconds: round(load.cpuSeconds),
          peakRssMb: load.peakRssMb,
          serverCpuSeconds: round(cpuSeconds(pid) - cpuBefore),
        },
        peakRssMb: peakRssMb(pid),
      };
    } finally {
      const code = await server.stop();
      if (code !== 0) log(`警告: サーバーの終了コード ${code}`);
    }
    const logDayBytes = folderBytes(path.join(big.dataDir, 'logs'));
    const bk = await step('backup', () => backup(big.dataDir, dir, o, log));
    const rpa = o.rpaJobs > 0 ? await step('rpa', () => rpaEvidence(o.rpaJobs, log)) : null;

    const per = (g: { usedBytes: number; rows: Record<string, number>; logBytes: number; serverCpuSeconds: number }, n: number) => ({
      dbBytes: Math.round(g.usedBytes / Math.max(1, n)),
      // The server's CPU for the whole counter flow of one (every HTTP request, the printed request PDF included).
      serverCpuMs: round((g.serverCpuSeconds * 1000) / Math.max(1, n), 1),
      rpaJobs: round((g.rows.rpa_jobs ?? 0) / Math.max(1, n), 2),
      auditRows: round((g.rows.audit_trail ?? 0) / Math.max(1, n), 1),
      logBytes: Math.round(g.logBytes / Math.max(1, n)),
    });
    return {
      bench: 'sizing',
      at: new Date().toISOString(),
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      towns: towns.map((t) => ({
        people: t.people,
        residentsRows: t.residentsRows,
        households: t.households,
        historyRows: t.historyRows,
        csvBytes: t.csvBytes,
        dbBytes: t.dbBytes,
        dbBytesPerResident: t.dbBytesPerResident,
        dbBytesAfterDailyLoad: t.dbBytesAfterDailyLoad,
        residentsTableBytesPerResident: Math.round((t.tableBytes.residents ?? 0) / t.people),
        historyTableBytesPerResident: Math.round((t.tableBytes.resident_history ?? 0) / t.people),
        load: t.load,
        dailyFullLoad: t.dailyFullLoad,
        diff: t.diff,
      })),
      linearity,
      perNotice: per(serverSteps.tx.notices, o.notices),
      perCertificateRequest: per(serverSteps.tx.certificates, o.certificates),
      noticeTables: serverSteps.tx.notices.tables,
      certificateTables: serverSteps.tx.certificates.tables,
      search: serverSteps.search && {
        ...serverSteps.search,
        logBytesPerRequest: round(serverSteps.search.logBytes / Math.max(1, serverSteps.search.requests), 2),
      },
      server: {
        rssAtStartMb: serverSteps.rssAtStartMb,
        peakRssMbAfterSearch: serverSteps.search?.peakRssMb ?? null,
        peakRssMb: serverSteps.peakRssMb,
        fullLoadWhileServing: serverSteps.fullLoadWhileServing,
      },
      logBytesWholeRun: logDayBytes,
      backup: bk,
      rpa,
      steps,
      totalSeconds: round(secondsSince(started), 1),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

function count(args: string[], name: string, fallback: number, min = 0): number {
  const v = Number(option(args, name, String(fallback)).replace(/_/g, ''));
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} は ${min} 以上の整数です`);
  return v;
}

export async function benchSizing(args: string[]): Promise<Record<string, unknown>> {
  const people = option(args, 'people', '30000,100000')
    .split(',')
    .map((s) => Number(s.trim().replace(/_/g, '')));
  if (!people.length || people.some((n) => !Number.isInteger(n) || n < 10))
    throw new Error('--people は 10 以上の整数 (カンマ区切り) です');
  return measureSizing({
    people: [...people].sort((x, y) => x - y),
    notices: count(args, 'notices', 100, 1),
    certificates: count(args, 'certificates', 100, 1),
    terminals: count(args, 'terminals', 20, 1),
    searchSeconds: count(args, 'seconds', 20, 1),
    rpaJobs: count(args, 'rpa-jobs', 6),
    gzip: !args.includes('--no-gzip'),
    dailyLoad: !args.includes('--no-daily-load'),
  });
}
