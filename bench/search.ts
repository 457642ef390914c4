/**
 * `npm run bench -- search [--people N] [--terminals T] [--seconds S] [--warmup W]
 *   [--mix kana=40,nameBirth=25,address=15,person=20] [--config DIR] [--trace FILE]`
 *
 * The counter floor at full stretch: T logged-in terminals search a town of N residents through
 * the HTTP API of a real `madoguchi serve` (its own process, production heap cap), each sending
 * its next request as soon as the previous answer arrives. The town (CP932 files) and its loaded
 * cache are kept under tmp/bench-search-<N>/ and reused by later runs with the same N. Every
 * terminal's keep-alive connection is opened before the load starts.
 *
 * Latency percentiles are the server's own time (`Server-Timing: app;dur=`) of the answers that
 * succeeded; `clientP99Ms` is the round trip seen by the terminals, queueing included. `requests`
 * counts every answer (and network error) that arrived inside the measurement window, `errors`
 * those that were not 2xx. After the load, SEQUENTIAL_KANA kana-prefix searches one at a time
 * give `kanaPrefixP50Ms`/`kanaPrefixP99Ms` (server-side).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Client,
  forEachLimit,
  formatMix,
  login,
  OPERATIONS,
  parseMix,
  percentile,
  preconnect,
  runLoad,
  sortedCopy,
  type Operation,
} from './searchLoad.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'server/bin/madoguchi.js');
/** The flag the launcher's shebang gives the CLI in production (server/bin/madoguchi.js). */
const HEAP = '--max-old-space-size=192';
const SEED = 'bench';
const AS_OF = '2026-11-01';
const BENCH_LOGIN = 'bench-search';
const SAMPLES = 5000;
const SEQUENTIAL_KANA = 200;
const PROBES = 20;
const LOGIN_CONCURRENCY = 8;

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

function positiveInt(args: string[], name: string, fallback: number, min = 1): number {
  const v = Number(option(args, name, String(fallback)).replace(/_/g, ''));
  if (!Number.isInteger(v) || v < min) throw new Error(`--${name} は ${min} 以上の整数です`);
  return v;
}

const log = (s: string) => process.stderr.write(`${s}\n`);
const round2 = (x: number) => (Number.isFinite(x) ? Number(x.toFixed(2)) : null);
const secondsSince = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;

/** Runs a CLI command to completion; its output goes to stderr (progress bars included). */
function runCli(configDir: string, command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [HEAP, cli, '--config', configDir, command, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => process.stderr.write(d));
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(secondsSince(started));
      else reject(new Error(`madoguchi ${command} exited with ${code ?? signal}`));
    });
  });
}

interface Prepared {
  dataDir: string;
  generateSeconds: number;
  ingestSeconds: number;
  reused: boolean;
}

/** The town and its loaded cache, made once per N under tmp/ (a marker file says each step finished). */
async function prepareData(people: number, configDir: string): Promise<Prepared> {
  const base = path.join(root, 'tmp', `bench-search-${people}`);
  const town = path.join(base, 'town');
  const dataDir = path.join(base, 'data');
  const generated = path.join(base, 'generated.json');
  const ingested = path.join(base, 'ingested.json');
  mkdirSync(base, { recursive: true });
  const marker = (file: string): { people: number; seconds: number } | undefined => {
    try {
      const m = JSON.parse(readFileSync(file, 'utf8')) as { people: number; seed: string; asOf: string; seconds: number };
      return m.people === people && m.seed === SEED && m.asOf === AS_OF ? m : undefined;
    } catch {
      return undefined;
    }
  };
  const write = (file: string, seconds: number) =>
    writeFileSync(file, JSON.stringify({ people, seed: SEED, asOf: AS_OF, seconds, at: new Date().toISOString() }) + '\n');

  let gen = existsSync(town) ? marker(generated) : undefined;
  let reused = true;
  if (gen) log(`町を再利用します: ${town} (${people.toLocaleString('ja-JP')} 人、生成 ${gen.seconds.toFixed(1)} 秒)`);
  else {
    reused = false;
    for (const p of [town, dataDir, generated, ingested]) rmSync(p, { recursive: true, force: true });
    log(`町を生成しています (${people.toLocaleString('ja-JP')} 人、CP932) → ${town}`);
    const seconds = await runCli(configDir, 'generate', [
      '--people',
      String(people),
      '--out',
      town,
      '--encoding',
      'cp932',
      '--seed',
      SEED,
      '--as-of',
      AS_OF,
    ]);
    write(generated, seconds);
    gen = { people, seconds };
    log(`生成: ${seconds.toFixed(1)} 秒`);
  }
  let ing = existsSync(path.join(dataDir, 'madoguchi.sqlite')) ? marker(ingested) : undefined;
  if (ing) log(`取込済みのキャッシュを再利用します: ${dataDir} (取込 ${ing.seconds.toFixed(1)} 秒)`);
  else {
    reused = false;
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(ingested, { force: true });
    log(`取込しています → ${dataDir}`);
    const seconds = await runCli(configDir, 'ingest', [town, '--data-dir', dataDir]);
    write(ingested, seconds);
    ing = { people, seconds };
    log(`取込: ${seconds.toFixed(1)} 秒`);
  }
  return { dataDir, generateSeconds: gen.seconds, ingestSeconds: ing.seconds, reused };
}

export interface Sample {
  addressee_no: string;
  name: string;
  name_kana: string;
  birth_date: string | null;
  town_name: string;
  block_number: string;
}

/**
 * Opens the cache as the server does, makes sure the bench member of staff exists (group
 * `counter`) with a fresh random password and no old sessions, and draws the sample residents.
 */
export async function prepareStaff(
  configDir: string,
  dataDir: string,
): Promise<{ password: string; counters: string[]; samples: Sample[] }> {
  const { loadAppConfig } = await import('../server/src/config/appConfig.js');
  const { migrateLatest, openDatabase } = await import('../server/src/db/connect.js');
  const { createStaff } = await import('../server/src/auth/staffRepo.js');
  const { hashPassword, randomPassword } = await import('../server/src/auth/passwords.js');
  const config = loadAppConfig(configDir);
  if (config.database.client !== 'sqlite') throw new Error('search ベンチマークは SQLite のキャッシュだけを対象にします');
  const knex = openDatabase(config.database, dataDir);
  try {
    await migrateLatest(knex);
    const password = randomPassword(16);
    const existing = (await knex('staff').where({ login_id: BENCH_LOGIN }).first('id')) as { id: number } | undefined;
    if (!existing) {
      await createStaff(
        knex,
        {
          loginId: BENCH_LOGIN,
          displayName: 'ベンチマーク 職員',
          section: '住民課',
          password,
          groups: ['counter'],
          mustChangePassword: false,
        },
        { staffLogin: 'bench' },
      );
      log(`職員 ${BENCH_LOGIN} (グループ counter) を作成しました`);
    } else {
      // Its password is not kept anywhere: each run sets a new one and ends the old sessions.
      const hash = await hashPassword(password);
      await knex.transaction(async (trx) => {
        await trx('staff').where({ id: existing.id }).update({
          password_hash: hash,
          password_changed_at: new Date(),
          must_change_password: false,
          failed_logins: 0,
          locked_at: null,
          disabled: false,
        });
        await trx('staff_sessions').where({ staff_id: existing.id }).del();
      });
      log(`職員 ${BENCH_LOGIN} のパスワードを新しくしました`);
    }
    const samples = (
      (await knex('residents')
        .where({ resident_status: '1' })
        .orderByRaw('random()')
        .limit(SAMPLES)
        .select('addressee_no', 'name', 'name_kana', 'birth_date', 'town_name', 'block_number')) as Sample[]
    ).map((s) => ({ ...s, addressee_no: String(s.addressee_no) }));
    if (!samples.length) throw new Error('住民 (resident_status=1) がいません');
    return { password, counters: config.counters.map((c) => c.id), samples };
  } finally {
    await knex.destroy();
  }
}

export interface Server {
  child: ChildProcess;
  url: string;
  /** Why the server is gone, once it is. */
  gone: () => string | undefined;
  errorLines: string[];
  stop(): Promise<number | null>;
}

/** `madoguchi serve` on a free port; the URL comes from its start line, as in the CLI tests. */
/** `forward: false` keeps the server's lines to itself (error lines are still collected). */
export function startServer(configDir: string, dataDir: string, forward = true): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [HEAP, cli, '--config', configDir, 'serve', '--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let partial = '';
    let goneWhy: string | undefined;
    const errorLines: string[] = [];
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 120_000);
    const onData = (d: Buffer) => {
      const text = d.toString();
      out += text;
      // Forwarded line by line with a prefix; error lines are kept for the summary.
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (/^\[error\]/.test(line)) errorLines.push(line);
        if (forward) process.stderr.write(`[server] ${line}\n`);
      }
      const m = /起動しました: (http:\/\/\S+)/.exec(out);
      if (m && !server.url) {
        clearTimeout(timer);
        server.url = m[1]!;
        resolve(server);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const exited = new Promise<number | null>((res) => {
      child.on('exit', (code, signal) => {
        goneWhy = `サーバーが終了しました (${code ?? signal})`;
        clearTimeout(timer);
        if (!server.url) reject(new Error(`server exited with ${code ?? signal}:\n${out}`));
        res(code);
      });
    });
    const server: Server = {
      child,
      url: '',
      errorLines,
      gone: () => goneWhy,
      stop() {
        if (!goneWhy) child.kill('SIGTERM');
        return exited;
      },
    };
  });
}

const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

/** CPU seconds (user + system) used so far by a live process, from /proc (Linux); NaN elsewhere. */
export function cpuSeconds(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /s, '')
      .split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
/** Peak resident set of a live process, from /proc (Linux). */
export function peakRssMb(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : -1;
  } catch {
    return -1;
  }
}

function isCalendarDate(s: string | null): s is string {
  const m = s ? /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(s) : null;
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

const pickOne = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const toHiragana = (s: string) => s.replace(/[\u30a1-\u30f6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60));
const KANJI_NUMBERS = ['〇', '一', '二', '三', '四', '五', '六', '七', '八', '九', '十'];

/** 2–4 kana from the start of the フリガナ (spaces skipped), as a clerk types them: katakana or hiragana. */
function kanaPrefix(s: Sample): string {
  const kana = [...s.name_kana.replace(/[\s\u3000]/g, '')];
  const prefix = kana.slice(0, 2 + Math.floor(Math.random() * 3)).join('');
  return Math.random() < 0.5 ? prefix : toHiragana(prefix);
}

/**
 * The town and the first number of the lot, half as registered (「緑ケ丘四丁目1番」), half as typed
 * (「緑ケ丘4-1」).
 */
function addressPrefix(s: Sample): string {
  const block = /^[0-9０-９]+/.exec(s.block_number.normalize('NFKC'))?.[0] ?? '';
  if (Math.random() < 0.5) return `${s.town_name}${block ? `${block}番` : ''}`;
  const town = s.town_name
    .replace(/([〇一二三四五六七八九十]+)丁目$/, (_m, n: string) => `${n.length === 1 ? KANJI_NUMBERS.indexOf(n) : n === '十' ? 10 : n}-`)
    .replace(/-$/, block ? '-' : '');
  return `${town}${block}`;
}

export async function benchSearch(args: string[]): Promise<Record<string, unknown>> {
  const people = positiveInt(args, 'people', 1_000_000);
  const terminals = positiveInt(args, 'terminals', 350);
  const seconds = positiveInt(args, 'seconds', 60);
  const warmupSeconds = positiveInt(args, 'warmup', 10, 0);
  const mix = parseMix(option(args, 'mix', 'kana=40,nameBirth=25,address=15,person=20'));
  const configDir = path.resolve(option(args, 'config', path.join(root, 'config')));
  const traceFile = option(args, 'trace', '');

  const prepStarted = process.hrtime.bigint();
  const data = await prepareData(people, configDir);
  const { password, counters, samples } = await prepareStaff(configDir, data.dataDir);
  // The generated town holds a few deliberately impossible dates (1999-02-29), which the API rightly
  // refuses: a clerk could not type them either, so they are left out of the name + birth date searches.
  const withBirth = samples.filter((s) => isCalendarDate(s.birth_date));
  const impossible = samples.filter((s) => s.birth_date && !isCalendarDate(s.birth_date));
  log(
    `データ準備: ${secondsSince(prepStarted).toFixed(1)} 秒${data.reused ? ' (キャッシュ再利用)' : ''}、標本 ${samples.length} 人 (生年月日あり ${withBirth.length} 人)`,
  );
  if (impossible.length)
    log(`  実在しない生年月日の標本 ${impossible.length} 人 (例: ${impossible[0]!.birth_date}) は氏名＋生年月日の検索に使いません`);

  const pathFor = (op: Operation): string => {
    switch (op) {
      case 'kana':
        return `/api/v1/residents?kana=${encodeURIComponent(kanaPrefix(pickOne(samples)))}`;
      case 'nameBirth': {
        const s = pickOne(withBirth.length ? withBirth : samples);
        return `/api/v1/residents?name=${encodeURIComponent(s.name)}&birthDate=${s.birth_date ?? ''}`;
      }
      case 'address':
        return `/api/v1/residents?address=${encodeURIComponent(addressPrefix(pickOne(samples)))}`;
      case 'person':
        return `/api/v1/residents/${pickOne(samples).addressee_no}`;
    }
  };

  log('サーバーを起動しています…');
  const server = await startServer(configDir, data.dataDir);
  const client = new Client(server.url, terminals);
  let stopped = false;
  const stopServer = async (): Promise<number | null> => {
    stopped = true;
    client.close();
    return server.stop();
  };
  try {
    log(`起動しました: ${server.url} (pid ${server.child.pid})。${terminals} 端末がログインします…`);
    const loginStarted = process.hrtime.bigint();
    const cookies: string[] = new Array<string>(terminals);
    let loggedIn = 0;
    await forEachLimit(terminals, LOGIN_CONCURRENCY, async (i) => {
      cookies[i] = await login(client, BENCH_LOGIN, password, counters[i % counters.length] ?? 'shimin-1');
      if (++loggedIn % 50 === 0 && loggedIn < terminals) log(`  ログイン ${loggedIn}/${terminals}`);
    });
    log(`ログイン ${terminals} 件: ${secondsSince(loginStarted).toFixed(1)} 秒`);

    // A look at what the queries find, before the load: a search that finds nobody would be fast for nothing.
    const probeHeaders = { cookie: cookies[0]!, accept: 'application/json' };
    for (const op of OPERATIONS.filter((x) => mix[x] > 0)) {
      const found: number[] = [];
      const statuses = new Map<number, number>();
      for (let i = 0; i < PROBES; i++) {
        const r = await client.request('GET', pathFor(op), probeHeaders, undefined, true);
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        if (r.status !== 200) continue;
        const body = JSON.parse(r.body) as { results?: unknown[]; total?: number; household?: unknown[] };
        found.push(body.results ? (body.total ?? body.results.length) : (body.household?.length ?? 1));
      }
      const what = op === 'person' ? '世帯員' : '該当';
      const example = decodeURIComponent(pathFor(op));
      log(
        `  試行 ${op}: 応答 ${[...statuses].map(([st, n]) => `${st}×${n}`).join(' ')}、${what} 平均 ${(found.reduce((a, b) => a + b, 0) / Math.max(1, found.length)).toFixed(1)} 件 (0 件 ${found.filter((n) => n === 0).length} 回)、例 ${example}`,
      );
    }

    const connectStarted = process.hrtime.bigint();
    const connections = await preconnect(client, terminals);
    log(`接続 ${connections} 本を開きました (${secondsSince(connectStarted).toFixed(1)} 秒)`);
    log(`負荷: ${terminals} 端末、ウォームアップ ${warmupSeconds} 秒 + 計測 ${seconds} 秒、構成 ${formatMix(mix)}、思考時間 0`);
    const pid = server.child.pid!;
    // --trace FILE: one CSV line per answer, for looking at the run afterwards.
    const trace = traceFile ? openSync(traceFile, 'w') : undefined;
    if (trace !== undefined) writeSync(trace, 'terminal,op,startMs,endMs,status,serverMs\n');
    const onReply =
      trace === undefined
        ? undefined
        : (r: { terminal: number; op: Operation; startMs: number; endMs: number; status: number; serverMs: number }) =>
            writeSync(trace, `${r.terminal},${r.op},${r.startMs.toFixed(2)},${r.endMs.toFixed(2)},${r.status},${r.serverMs}\n`);
    const load = await runLoad({
      client,
      cookies,
      mix,
      pathFor,
      warmupSeconds,
      seconds,
      serverGone: server.gone,
      cpuSeconds: () => cpuSeconds(pid),
      ...(onReply ? { onReply } : {}),
    }).finally(() => {
      if (trace !== undefined) closeSync(trace);
    });
    const gone = server.gone();
    if (gone) throw new Error(`負荷の途中で${gone}`);

    // The first page of a kana-prefix search, one at a time, on an otherwise idle server.
    const sequential: number[] = [];
    let sequentialErrors = 0;
    const headers = { cookie: cookies[0]!, accept: 'application/json' };
    for (let i = 0; i < SEQUENTIAL_KANA; i++) {
      const r = await client.request('GET', `/api/v1/residents?kana=${encodeURIComponent(kanaPrefix(pickOne(samples)))}`, headers);
      if (r.status === 200 && Number.isFinite(r.serverMs)) sequential.push(r.serverMs);
      else {
        sequentialErrors++;
        if (sequentialErrors <= 3) log(`カナ前方一致 (逐次) のエラー: ${r.status} ${r.body.slice(0, 200)}`);
      }
    }
    const seq = sortedCopy(sequential);

    const peak = peakRssMb(server.child.pid!);
    const code = await stopServer();
    if (code !== 0) {
      log(`警告: サーバーが SIGTERM で終了コード ${code} を返しました (0 のはず)`);
      process.exitCode = 1;
    } else log('サーバーは SIGTERM で正常に停止しました (終了コード 0)');

    // Per operation, then all together.
    const all = { server: [] as number[], client: [] as number[], ok: 0, errors: 0 };
    for (const op of OPERATIONS) {
      const s = load.perOp[op];
      if (!s.ok && !s.errors) continue;
      const sv = sortedCopy(s.serverMs);
      const cl = sortedCopy(s.clientMs);
      log(
        `  ${op.padEnd(9)} 成功 ${String(s.ok).padStart(8)}  エラー ${String(s.errors).padStart(6)}  サーバー p50 ${percentile(sv, 50).toFixed(2)} / p99 ${percentile(sv, 99).toFixed(2)} / p99.9 ${percentile(sv, 99.9).toFixed(2)} ms  端末 p50 ${percentile(cl, 50).toFixed(2)} / p99 ${percentile(cl, 99).toFixed(2)} ms`,
      );
      for (const x of s.serverMs) all.server.push(x);
      for (const x of s.clientMs) all.client.push(x);
      all.ok += s.ok;
      all.errors += s.errors;
    }
    for (const [kind, e] of load.errorKinds) log(`  エラー ${kind}: ${e.count} 件 — 例: ${e.sample}`);
    if (load.warmupErrors) log(`  (ウォームアップ中のエラー ${load.warmupErrors} / ${load.warmupRequests} 件は数えていません)`);
    for (const [kind, e] of load.warmupErrorKinds) log(`  ウォームアップ中のエラー ${kind}: ${e.count} 件 — 例: ${e.sample}`);
    if (sequentialErrors) log(`  カナ前方一致 (逐次) のエラー ${sequentialErrors} / ${SEQUENTIAL_KANA} 件`);
    if (server.errorLines.length) {
      log(`  サーバーのエラーログ ${server.errorLines.length} 行、最初の数行:`);
      for (const line of server.errorLines.slice(0, 5)) log(`    ${line.slice(0, 500)}`);
    }
    const sv = sortedCopy(all.server);
    const requests = all.ok + all.errors;
    log(
      `  サーバーの CPU: ${load.serverCpuSeconds.toFixed(1)} 秒 / 計測 ${seconds} 秒 (${((load.serverCpuSeconds / seconds) * 100).toFixed(0)}%)、1 件あたり ${((load.serverCpuSeconds * 1000) / Math.max(1, requests)).toFixed(2)} ms`,
    );
    log(
      `  計測終了時に応答待ち ${load.inFlightAtEnd} 件 (最も古いもの ${(load.oldestInFlightMs / 1000).toFixed(1)} 秒)、全体で最長の往復 ${(load.maxClientMs / 1000).toFixed(1)} 秒`,
    );
    return {
      bench: 'search',
      people,
      terminals,
      requests,
      rps: round2(requests / load.seconds),
      p50Ms: round2(percentile(sv, 50)),
      p99Ms: round2(percentile(sv, 99)),
      p999Ms: round2(percentile(sv, 99.9)),
      clientP99Ms: round2(percentile(sortedCopy(all.client), 99)),
      kanaPrefixP50Ms: round2(percentile(seq, 50)),
      kanaPrefixP99Ms: round2(percentile(seq, 99)),
      peakRssMb: peak,
      errors: all.errors,
    };
  } finally {
    if (!stopped) await stopServer();
  }
}
