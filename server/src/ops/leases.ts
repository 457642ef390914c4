import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { dialectOf, type LeaseOp } from '../db/dialects/index.js';
import { dbDate } from '../db/values.js';
import { DomainError } from '../errors/domainError.js';
import type { Logger } from './logger.js';

/**
 * Several app nodes on one database (issue 21 §4): the work that must run once — the linkage
 * watcher, the schedules — runs on the node that holds its lease row in `leases` (this module owns
 * the table). A holder renews every `renewSeconds`; when it dies, its lease expires after
 * `leaseSeconds` and another node takes it over (token + 1) and starts the work there.
 *
 * Fencing: a lease that expired is not yet lost — it is lost when another node took it (the token
 * moved on). Work that commits to the database checks its token inside the same transaction
 * (`fence`), which also locks the lease row until the commit, so that no taker can start between
 * the check and the commit: nothing is applied twice, by construction.
 *
 * Each node also holds `node:<nodeId>` (presence), so that the nodes alive can be listed.
 */

export interface LeaseStart {
  token: number;
  /** The node that held the lease before (null: first holder), e.g. to say whose work is taken over. */
  previousHolder: string | null;
}

export interface LeaseWork {
  stop(): Promise<void>;
}

export interface GuardedJob {
  /** Starts the work once this node holds the lease; the returned `stop` ends it (lease lost or stop). */
  start(lease: LeaseStart): Promise<LeaseWork>;
  /**
   * The work checks its token inside its own transactions (`fence`): it is stopped only when the
   * lease is seen taken, never because a renewal failed or waited (a long SQLite load holds the
   * renewal back in the transaction queue; stopping it then would abort the load over and over).
   */
  fenced?: boolean;
}

export interface LeaseState {
  token: number | null;
  held: boolean;
}

/** The lease is gone to another node: the work must not commit (its transaction rolls back). */
export class LeaseLostError extends Error {
  constructor(readonly lease: string) {
    super(`このサーバーは「${lease}」の担当ではなくなりました (別のサーバーが引き継ぎました)`);
  }
}

export interface LeaseKeeperOptions {
  nodeId: string;
  leaseSeconds: number;
  /** Default a third of the lease. */
  renewSeconds?: number;
  logger: Logger;
}

export const PRESENCE_PREFIX = 'node:';

interface Slot {
  job: GuardedJob | null;
  token: number | null;
  work: LeaseWork | null;
  /** Local time of the last successful acquisition or renewal. */
  okAt: number;
}

/**
 * The node id when `cluster.nodeId` is not set: `<hostname>:<port>`. With port 0 (a port chosen at
 * each start: tests, tools) a short hash of the data directory stands for it, so that a restart is
 * still the same node and takes its own lease back at once instead of waiting for it to expire.
 */
export function defaultNodeId(port: number, dataDir: string): string {
  if (port) return `${os.hostname()}:${port}`;
  return `${os.hostname()}:${createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 8)}`;
}

export class LeaseKeeper {
  private readonly slots = new Map<string, Slot>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly renewMs: number;

  constructor(
    private readonly knex: Knex,
    private readonly opts: LeaseKeeperOptions,
  ) {
    this.renewMs = (opts.renewSeconds ?? opts.leaseSeconds / 3) * 1000;
    this.slots.set(PRESENCE_PREFIX + opts.nodeId, { job: null, token: null, work: null, okAt: 0 });
  }

  get nodeId(): string {
    return this.opts.nodeId;
  }

  /** Runs `job` on this node while it holds lease `name` (registered before `start`). */
  guard(name: string, job: GuardedJob): void {
    if (name.startsWith(PRESENCE_PREFIX) || this.slots.has(name)) throw new Error(`lease ${name} already guarded`);
    this.slots.set(name, { job, token: null, work: null, okAt: 0 });
  }

  current(name: string): LeaseState {
    const s = this.slots.get(name);
    return { token: s?.token ?? null, held: s?.token != null };
  }

  /** The first round (free leases are taken and their work started before this returns), then one each `renewSeconds`. */
  async start(): Promise<void> {
    await this.round();
  }

  /**
   * The fencing check, inside the transaction whose commit it guards: renews the lease if this node
   * still holds it under the same token, else throws LeaseLostError (the transaction rolls back).
   */
  async fence(trx: Knex.Transaction, name: string): Promise<void> {
    const token = this.slots.get(name)?.token;
    if (token == null) throw new LeaseLostError(name);
    const row = firstRow(
      await dialectOf(trx).leaseQuery(trx, {
        kind: 'renew',
        name,
        holder: this.opts.nodeId,
        token,
        seconds: this.opts.leaseSeconds,
      }),
    );
    if (!row) throw new LeaseLostError(name);
  }

  /** Other nodes alive (their presence lease unexpired). */
  async otherNodes(): Promise<string[]> {
    const rows = await listLeases(this.knex);
    return rows.filter((r) => r.name.startsWith(PRESENCE_PREFIX) && r.live && r.holder !== this.opts.nodeId).map((r) => r.holder);
  }

  /** Graceful stop: ends the work and releases every lease, so that another node takes over at once. */
  async stop(): Promise<{ released: string[] }> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    const released: string[] = [];
    for (const [name, s] of this.slots) {
      await this.endWork(name, s);
      if (s.token == null) continue;
      const token = s.token;
      s.token = null;
      try {
        if (await this.run({ kind: 'release', name, holder: this.opts.nodeId, token })) released.push(name);
      } catch (e) {
        this.opts.logger.warn('lease not released', { lease: name, error: e });
      }
    }
    return { released };
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.round(), this.renewMs);
    this.timer.unref();
  }

  /** One round now: renew what is held, take what is free (the timer runs them; tests call it). */
  round(): Promise<void> {
    clearTimeout(this.timer);
    // Rounds never overlap: one waits for the one before it.
    this.ticking = this.ticking
      .then(async () => {
        clearTimeout(this.timer);
        for (const [name, s] of this.slots) {
          if (this.stopped) break;
          await this.keep(name, s);
        }
      })
      .catch((e: unknown) => void this.opts.logger.error('lease round failed', { error: e }))
      .finally(() => this.schedule());
    return this.ticking;
  }

  private async keep(name: string, s: Slot): Promise<void> {
    const { nodeId, leaseSeconds, logger } = this.opts;
    if (s.token != null) {
      try {
        const row = await this.run({ kind: 'renew', name, holder: nodeId, token: s.token, seconds: leaseSeconds });
        if (row) {
          s.okAt = Date.now();
          return;
        }
        logger.warn('lease lost to another node', { lease: name, token: s.token });
      } catch (e) {
        // The database is away: the work goes on until the lease could have expired, then stops
        // (self-fencing for the work that does not check its token in the database). A renewal
        // that only waited for this process's own transactions (SQLite) is no sign of that.
        const waited = e instanceof DomainError && e.code === 'server.busy';
        if (s.job?.fenced || waited || Date.now() - s.okAt < leaseSeconds * 1000) {
          logger.warn('lease not renewed; will retry', { lease: name, error: e });
          return;
        }
        logger.error('lease not renewed within its time; stopping its work', { lease: name, error: e });
      }
      s.token = null;
      await this.endWork(name, s);
    }
    // Read first: a lease another node holds is not written to (on SQLite a write would wait for its lock).
    let before: LeaseRow | undefined;
    try {
      before = (await listLeases(this.knex, name))[0];
    } catch (e) {
      logger.warn('lease not read', { lease: name, error: e });
      return;
    }
    if (before?.live && before.holder !== nodeId) return;
    let row: Record<string, unknown> | undefined;
    try {
      row = await this.run({ kind: 'acquire', name, holder: nodeId, seconds: leaseSeconds });
    } catch (e) {
      logger.warn('lease not acquired; will retry', { lease: name, error: e });
      return;
    }
    if (!row) return;
    s.token = Number(row.token);
    s.okAt = Date.now();
    const previousHolder = before ? before.holder : null;
    if (!s.job) return;
    logger.info('lease acquired', { lease: name, token: s.token, previousHolder, previousLive: before?.live ?? false });
    try {
      s.work = await s.job.start({ token: s.token, previousHolder });
    } catch (e) {
      logger.error('leased work did not start; lease released', { lease: name, error: e });
      const token = s.token;
      s.token = null;
      await this.run({ kind: 'release', name, holder: nodeId, token }).catch(() => undefined);
    }
  }

  private async endWork(name: string, s: Slot): Promise<void> {
    const work = s.work;
    s.work = null;
    if (!work) return;
    try {
      await work.stop();
      this.opts.logger.info('leased work stopped', { lease: name });
    } catch (e) {
      this.opts.logger.error('leased work did not stop cleanly', { lease: name, error: e });
    }
  }

  /** One lease statement; on SQLite inside the process's transaction queue (db/connect.ts), so that it never waits for a lock on the event loop. */
  private async run(op: LeaseOp): Promise<Record<string, unknown> | undefined> {
    return this.knex.transaction(async (trx) => firstRow(await dialectOf(trx).leaseQuery(trx, op)));
  }
}

function firstRow(res: unknown): Record<string, unknown> | undefined {
  const rows = (Array.isArray(res) ? res : ((res as { rows?: unknown[] } | undefined)?.rows ?? [])) as Record<string, unknown>[];
  return rows[0];
}

export interface LeaseRow {
  name: string;
  holder: string;
  token: number;
  acquiredAt: string | null;
  renewedAt: string | null;
  expiresAt: string | null;
  /** Unexpired by the database's clock. */
  live: boolean;
}

/** The lease rows with the database's current time beside them (`db_now`). */
export function leaseRowsQuery(knex: Knex, name?: string): Knex.QueryBuilder {
  const q = knex('leases')
    .select('*', knex.raw('? as ??', [dialectOf(knex).now(knex), 'db_now']))
    .orderBy('name');
  return name === undefined ? q : q.where({ name });
}

/** The lease rows (or one), read with the database's own time (status screens, CLI, the keeper). */
export async function listLeases(knex: Knex, name?: string): Promise<LeaseRow[]> {
  const q = knex('leases')
    .select('*', knex.raw('? as ??', [dialectOf(knex).now(knex), 'db_now']))
    .orderBy('name');
  if (name !== undefined) void q.where({ name });
  const rows = (await q) as Record<string, unknown>[];
  const iso = (v: unknown) => dbDate(v)?.toISOString() ?? null;
  return rows.map((r) => {
    const expires = dbDate(r.expires_at);
    const now = dbDate(r.db_now);
    return {
      name: String(r.name),
      holder: String(r.holder),
      token: Number(r.token),
      acquiredAt: iso(r.acquired_at),
      renewedAt: iso(r.renewed_at),
      expiresAt: iso(r.expires_at),
      live: !!expires && !!now && expires.getTime() > now.getTime(),
    };
  });
}

/** What a node holds, for /healthz and the dashboard: node ids and lease names only. */
export interface ClusterStatus {
  /** Nodes alive (presence unexpired). */
  nodes: string[];
  /** Each work lease: who holds it (null: nobody — expired or released). */
  leases: { name: string; holder: string | null; token: number; expiresAt: string | null }[];
}

export async function clusterStatus(knex: Knex): Promise<ClusterStatus> {
  const rows = await listLeases(knex);
  return {
    nodes: rows.filter((r) => r.name.startsWith(PRESENCE_PREFIX) && r.live).map((r) => r.holder),
    leases: rows
      .filter((r) => !r.name.startsWith(PRESENCE_PREFIX))
      .map((r) => ({ name: r.name, holder: r.live ? r.holder : null, token: r.token, expiresAt: r.expiresAt })),
  };
}
