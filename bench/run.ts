/**
 * `npm run bench -- NAME [options]`: runs one benchmark and ends with one JSON line
 * {"bench":"NAME",…}. Goals live here, never in timed test assertions.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchLogin } from './login.js';
import { benchPrint } from './print.js';
import { benchRpa } from './rpa.js';
import { benchSearch } from './search.js';
import { benchSizing } from './sizing.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'server/bin/madoguchi.js');

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

interface Ran {
  out: string;
  seconds: number;
  peakRssMb: number;
}

/** Runs the CLI in its own process; its peak RSS comes from bench/rss-hook.mjs. */
function run(args: string[]): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    // The flags the launcher's shebang gives the CLI in production (server/bin/madoguchi.js).
    const child = spawn(process.execPath, ['--max-old-space-size=192', '--import', path.join(root, 'bench/rss-hook.mjs'), cli, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      process.stderr.write(d);
    });
    child.on('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const rss = /@@peakRssMb=(\d+)/.exec(err);
      if (code === 0) resolve({ out, seconds, peakRssMb: rss ? Number(rss[1]) : -1 });
      else reject(new Error(`madoguchi ${args[0]} exited with ${code}`));
    });
  });
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The generator in its own process, so that its peak RSS is its own. */
async function benchGenerate(args: string[]): Promise<Record<string, unknown>> {
  const people = Number(option(args, 'people', '1000000'));
  const encoding = option(args, 'encoding', 'cp932');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'madoguchi-bench-'));
  try {
    const { out } = await run([
      'generate',
      '--people',
      String(people),
      '--out',
      dir,
      '--encoding',
      encoding,
      '--seed',
      'bench',
      '--as-of',
      '2026-11-01',
      '--json',
    ]);
    const summary = JSON.parse(out.trim().split('\n').pop()!) as { seconds: number; peakRssMb: number; people: number };
    return {
      bench: 'generate',
      people: summary.people,
      encoding,
      seconds: Number(summary.seconds.toFixed(2)),
      peakRssMb: summary.peakRssMb,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Ingest: CP932 files through `madoguchi ingest` into an empty cache, against the floor of
 * `sqlite3 .import --csv` of the same rows in UTF-8 into bare tables. Then a second town is
 * loaded over the first while this process runs kana-prefix searches on the same database
 * file, to measure how searches fare during a load.
 */
async function benchIngest(args: string[]): Promise<Record<string, unknown>> {
  const people = Number(option(args, 'people', '1000000'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'madoguchi-bench-ingest-'));
  try {
    const gen = (seed: string, enc: string, out: string) =>
      run([
        'generate',
        '--people',
        String(people),
        '--out',
        path.join(dir, out),
        '--encoding',
        enc,
        '--seed',
        seed,
        '--as-of',
        '2026-11-01',
      ]);
    await gen('bench', 'cp932', 'cp932');
    await gen('bench', 'utf8', 'utf8');
    await gen('bench-2', 'cp932', 'cp932-next');
    const dataDir = path.join(dir, 'data');
    const first = await run(['ingest', path.join(dir, 'cp932'), '--data-dir', dataDir]);

    // The floor: sqlite3's own CSV import of the same rows (UTF-8, no checks, no indexes).
    const bare = path.join(dir, 'bare.sqlite');
    const specs = readdirSync(path.join(dir, 'utf8')).filter((d) => statSync(path.join(dir, 'utf8', d)).isDirectory() && d !== 'diff');
    const commands = specs.map((spec, i) => {
      const file = readdirSync(path.join(dir, 'utf8', spec)).find((f) => f.endsWith('.csv'))!;
      return `.import --csv '${path.join(dir, 'utf8', spec, file)}' t${i}`;
    });
    const importStart = process.hrtime.bigint();
    const imported = spawnSync('sqlite3', [bare], { input: commands.join('\n') + '\n', encoding: 'utf8' });
    const sqliteImportSeconds = Number(process.hrtime.bigint() - importStart) / 1e9;
    if (imported.status !== 0) throw new Error(`sqlite3 .import failed: ${imported.stderr}`);
    const counted = spawnSync('sqlite3', [bare, specs.map((_, i) => `SELECT count(*) FROM t${i};`).join('')], { encoding: 'utf8' });
    const rows = counted.stdout
      .trim()
      .split('\n')
      .reduce((sum, n) => sum + Number(n), 0);

    // Searches during the second load, from this process, on the same database file.
    const { sqliteKnex } = await import('../server/src/db/connect.js');
    const { kanaExactKey, kanaPrefixRange } = await import('../server/src/domain/searchKeys.js');
    const reader = sqliteKnex(path.join(dataDir, 'madoguchi.sqlite'));
    const prefixes = [
      'さとう',
      'すずき',
      'たか',
      'たなか',
      'いとう',
      'わたなべ',
      'やま',
      'なかむら',
      'こばやし',
      'か',
      'よし',
      'まつ',
      'い',
      'お',
      'にし',
    ].map((p) => kanaPrefixRange(kanaExactKey(p)));
    const latencies: number[] = [];
    let loading = true;
    const searching = (async () => {
      for (let i = 0; loading; i++) {
        const [lo, hi] = prefixes[i % prefixes.length]!;
        const t0 = process.hrtime.bigint();
        await reader('residents')
          .where('name_kana_key', '>=', lo)
          .andWhere('name_kana_key', '<', hi)
          .andWhere({ resident_status: '1' })
          .orderBy('name_kana_key')
          .limit(20)
          .select('addressee_no', 'name', 'name_kana', 'birth_date');
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const second = await run(['ingest', path.join(dir, 'cp932-next'), '--data-dir', dataDir]);
    loading = false;
    await searching;
    await reader.destroy();
    latencies.sort((x, y) => x - y);
    return {
      bench: 'ingest',
      people,
      rows,
      seconds: Number(first.seconds.toFixed(2)),
      sqliteImportSeconds: Number(sqliteImportSeconds.toFixed(2)),
      ratio: Number((first.seconds / sqliteImportSeconds).toFixed(2)),
      peakRssMb: Math.max(first.peakRssMb, second.peakRssMb),
      secondLoadSeconds: Number(second.seconds.toFixed(2)),
      searches: latencies.length,
      searchP50MsDuringIngest: Number(percentile(latencies, 50).toFixed(2)),
      searchP99MsDuringIngest: Number(percentile(latencies, 99).toFixed(2)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const benches: Record<string, (args: string[]) => Promise<Record<string, unknown>>> = {
  generate: benchGenerate,
  ingest: benchIngest,
  search: benchSearch,
  print: benchPrint,
  rpa: benchRpa,
  login: benchLogin,
  sizing: benchSizing,
};

const [name, ...rest] = process.argv.slice(2);
const bench = name ? benches[name] : undefined;
if (!bench) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]`);
  process.exit(2);
}
const result = await bench(rest);
console.log(JSON.stringify(result));
