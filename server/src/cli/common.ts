import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import cliProgress from 'cli-progress';
import type { Knex } from 'knex';
import { ensureDefaultGroups } from '../auth/staffRepo.js';
import { loadAppConfig } from '../config/appConfig.js';
import { migrateLatest, openDatabase } from '../db/connect.js';

/** The global options every command reads (`--data-dir`, `--config`, `--port`, `--host`). */
export interface CommonOptions {
  dataDir: string;
  config: string;
  port: number;
  host: string;
}

/** A commander argument parser for an integer in [min, max] (`_` allowed as a digit separator). */
export const int =
  (name: string, min: number, max: number) =>
  (v: string): number => {
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} は ${min}〜${max} の整数です`);
    return n;
  };

/** The global options with the folders made absolute. */
export function common(cmd: Command): CommonOptions {
  const o = cmd.optsWithGlobals() as CommonOptions;
  return { ...o, dataDir: path.resolve(o.dataDir), config: path.resolve(o.config) };
}

/** A progress bar on stderr (quiet updates every 5 s when stderr is not a terminal). */
export function progressBar(label: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% {value}/{total} {unit}`,
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
}

/** A `YYYY-MM-DD` option value. */
export const DATE_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

/** Runs `f` on the migrated database (default groups ensured), then closes it. */
export async function withDb<T>(cmd: Command, f: (knex: Knex) => Promise<T>): Promise<T> {
  const o = common(cmd);
  const knex = openDatabase(loadAppConfig(o.config).database, o.dataDir);
  try {
    await migrateLatest(knex);
    await ensureDefaultGroups(knex);
    return await f(knex);
  } finally {
    await knex.destroy();
  }
}

/** The audit actor of a command run from the shell: `cli:<user>`, or `cli` without a user name. */
export function cliActor(): { staffLogin: string } {
  try {
    return { staffLogin: `cli:${os.userInfo().username}`.slice(0, 64) };
  } catch {
    // no user name (container without a passwd entry)
    return { staffLogin: 'cli' };
  }
}
