import type { Knex } from 'knex';
import { returnAllLeases } from '../rpa/jobs.js';
import type { Logger } from './logger.js';

/**
 * The graceful stop (SIGTERM from systemd, or `madoguchi ups-event LOWBATT|FSD` from upsmon): every
 * step is logged with its duration, and the whole stop keeps inside a budget that is well under
 * upsmon's FINALDELAY, after which the machine powers off whatever is still running.
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

/** The value of `p`, or 'timeout' when `ms` pass first. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), Math.max(0, ms));
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Stops accepting connections and lets the requests in flight finish until `drainMs`; then closes
 * whatever is still open. Keep-alive sockets that fall idle are closed as they do (terminals keep one
 * connection open all day). `forced`: some connections were still busy at the deadline and were cut.
 */
export interface HttpListener {
  close(callback?: (err?: Error) => void): unknown;
  closeIdleConnections(): void;
  closeAllConnections(): void;
}

export async function drainHttp(servers: readonly HttpListener[], drainMs: number): Promise<{ forced: boolean }> {
  const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  let done = false;
  void closed.then(() => {
    done = true;
  });
  const deadline = Date.now() + drainMs;
  while (!done && Date.now() < deadline) {
    for (const s of servers) s.closeIdleConnections();
    await Promise.race([closed, sleep(50)]);
  }
  if (done) return { forced: false };
  for (const s of servers) s.closeAllConnections();
  await within(closed, 1000);
  return { forced: true };
}

/** RPA jobs an agent holds go back to the queue (the job owner does it: rpa/jobs.ts). */
export async function returnLeases(knex: Knex, now = new Date()): Promise<number[]> {
  return returnAllLeases(knex, 'serverStop', now);
}

/** SQLite: fold the WAL into the database file (a backup or copy after power-off is then whole), then close the pool. */
export async function closeDatabase(knex: Knex): Promise<Record<string, unknown>> {
  let checkpoint: Record<string, unknown> = {};
  if (knex.client.config.client === 'better-sqlite3') {
    const rows = (await knex.raw('PRAGMA wal_checkpoint(TRUNCATE)')) as Record<string, unknown>[];
    checkpoint = rows[0] ?? {};
  }
  await knex.destroy();
  return checkpoint;
}

export interface StopStep {
  name: string;
  /** Returns details for the log line. */
  run(): Promise<Record<string, unknown> | void>;
}

/**
 * Runs the steps in order, each bounded by what is left of the budget (at least `minStepMs`): a step
 * that hangs is logged and left behind so that the process can still exit before the power goes.
 */
export async function runStopSteps(
  steps: readonly StopStep[],
  budgetMs: number,
  logger: Logger,
  minStepMs = 1000,
): Promise<{ name: string; ms: number; ok: boolean }[]> {
  const started = Date.now();
  const results: { name: string; ms: number; ok: boolean }[] = [];
  for (const step of steps) {
    const t0 = Date.now();
    type Outcome = { ok: true; detail: Record<string, unknown> | void } | { ok: false; error: unknown };
    const outcome = await within(
      step.run().then(
        (detail): Outcome => ({ ok: true, detail }),
        (error: unknown): Outcome => ({ ok: false, error }),
      ),
      Math.max(minStepMs, budgetMs - (Date.now() - started)),
    );
    const ms = Date.now() - t0;
    results.push({ name: step.name, ms, ok: outcome !== 'timeout' && outcome.ok });
    if (outcome === 'timeout') logger.warn('stop step ran out of time', { step: step.name, ms });
    else if (!outcome.ok) logger.error('stop step failed', { step: step.name, ms, error: outcome.error });
    else logger.info('stop step done', { step: step.name, ms, ...(outcome.detail ?? {}) });
  }
  return results;
}
