import { chmodSync, copyFileSync, cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DiskSettings } from '../../server/src/config/appConfig.js';
import { configDir, repoRoot } from './paths.js';

export const diskFixtures = path.join(repoRoot, 'test/fixtures/disk-health');

/** A copy of the shipped config whose `disks` block is replaced (JSON is YAML's flow style). */
export function diskConfig(dir: string, disks: Partial<DiskSettings>): string {
  const config = path.join(dir, 'config');
  cpSync(configDir, config, { recursive: true });
  const yaml = path.join(config, 'municipality.yaml');
  const text = readFileSync(yaml, 'utf8');
  const replaced = text.replace(/^disks:[\s\S]*?\n(?=\S)/m, `disks: ${JSON.stringify(disks)}\n\n`);
  if (replaced === text) throw new Error('no disks block in the shipped municipality.yaml');
  writeFileSync(yaml, replaced);
  return config;
}

/**
 * A stand-in for a disk tool (a real executable, run by the server like smartctl or storcli): it
 * prints `<dir>/<name>.out` for the last argument's basename (or `<dir>/all.out`), sleeps
 * `<name>.sleep` seconds first when that file exists and exits with `<name>.exit` (default 0).
 */
export function recordingTool(dir: string, name: string): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    `#!/bin/sh
for a; do last=$a; done
key=\${last##*/}
d=$(dirname "$0")
[ -f "$d/$key.out" ] || key=all
[ -f "$d/$key.sleep" ] && sleep "$(cat "$d/$key.sleep")"
cat "$d/$key.out"
exit "$(cat "$d/$key.exit" 2>/dev/null || echo 0)"
`,
  );
  chmodSync(file, 0o755);
  return file;
}

/** Puts a recording in place for the stand-in tool (`key`: the device's basename, or `all`). */
export function record(dir: string, key: string, fixture: string, exitCode = 0): void {
  copyFileSync(path.join(diskFixtures, fixture), path.join(dir, `${key}.out`));
  writeFileSync(path.join(dir, `${key}.exit`), String(exitCode));
}

/** The JSON lines the server's logger wrote under `<dataDir>/logs`. */
export function logLines(dataDir: string): { message: string; level: string; [k: string]: unknown }[] {
  const logs = path.join(dataDir, 'logs');
  let files: string[];
  try {
    files = readdirSync(logs).filter((f) => f.endsWith('.log'));
  } catch {
    return [];
  }
  return files.flatMap((f) =>
    readFileSync(path.join(logs, f), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { message: string; level: string }),
  );
}

/** Polls until `check` returns a value (not undefined/false), or throws after `ms`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
