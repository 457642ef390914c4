import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const configDir = path.join(repoRoot, 'config');
export const cliPath = path.join(repoRoot, 'server/bin/madoguchi.js');

/** A fresh temporary directory, removed after the suite (call in before/after hooks). */
export function tempDir(prefix = 'madoguchi-test-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A copy of the shipped config whose drop-folder watcher settles after 300 ms (tests wait less). */
export function fastWatchConfig(dir: string): string {
  const config = path.join(dir, 'config');
  cpSync(configDir, config, { recursive: true });
  const yaml = path.join(config, 'municipality.yaml');
  writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('stableMs: 2000', 'stableMs: 300'));
  return config;
}
