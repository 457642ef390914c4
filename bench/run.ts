/**
 * `npm run bench -- NAME [options]`: runs one benchmark and ends with one JSON line
 * {"bench":"NAME",…}. Goals live here, never in timed test assertions.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'server/bin/madoguchi.js');

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`madoguchi ${args[0]} exited with ${code}`))));
  });
}

/** The generator in its own process, so that its peak RSS is its own. */
async function benchGenerate(args: string[]): Promise<Record<string, unknown>> {
  const people = Number(option(args, 'people', '1000000'));
  const encoding = option(args, 'encoding', 'cp932');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'madoguchi-bench-'));
  try {
    const out = await run(['generate', '--people', String(people), '--out', dir, '--encoding', encoding, '--seed', 'bench', '--as-of', '2026-11-01', '--json']);
    const summary = JSON.parse(out.trim().split('\n').pop()!) as { seconds: number; peakRssMb: number; people: number };
    return { bench: 'generate', people: summary.people, encoding, seconds: Number(summary.seconds.toFixed(2)), peakRssMb: summary.peakRssMb };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const benches: Record<string, (args: string[]) => Promise<Record<string, unknown>>> = {
  generate: benchGenerate,
};

const [name, ...rest] = process.argv.slice(2);
const bench = name ? benches[name] : undefined;
if (!bench) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]`);
  process.exit(2);
}
const result = await bench(rest);
console.log(JSON.stringify(result));
