import { mkdtempSync, rmSync } from 'node:fs';
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
