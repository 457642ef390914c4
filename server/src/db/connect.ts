import { mkdirSync, readFileSync } from 'node:fs';
import { AsyncLocalStorage } from 'node:async_hooks';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { createRequire } from 'node:module';
import type { DatabaseSettings, MssqlSettings } from '../config/appConfig.js';
import { resolveMssqlPassword } from '../config/appConfig.js';
import { DomainError } from '../errors/domainError.js';
import { migrationSource } from './migrations/index.js';
// The row types of every table, and the `knex/types/tables` augmentation that types `knex('notices')`.
export type { TableName } from './tables.generated.js';

const require = createRequire(import.meta.url);

interface SqlitePragmaConnection {
  pragma(sql: string): unknown;
}

/** How long a transaction waits for the one before it (then 503: the database is busy, e.g. a long load). */
const TRANSACTION_WAIT_MS = 30_000;

/**
 * Runs the transactions of one SQLite database one at a time, in this process.
 *
 * better-sqlite3 is synchronous: a second connection that wants the write lock while another
 * transaction of this same process holds it sleeps in SQLite's busy handler *on the event loop*,
 * so the holder can never finish, and after busy_timeout the waiter fails with "database is
 * locked" (measured: a visit page with five subjects, each view auditing in its own transaction,
 * hung 10–60 s and answered 500). Queued here instead, each waits without blocking anything.
 * A transaction opened from inside another (same async context) is not queued: it would wait
 * for itself. Reads outside transactions are unaffected and use the other pooled connections.
 */
function queueTransactions(knex: Knex): Knex {
  const original = knex.transaction.bind(knex) as (...args: unknown[]) => unknown;
  const inside = new AsyncLocalStorage<true>();
  let tail: Promise<void> = Promise.resolve();
  const queued = (...args: unknown[]): unknown => {
    if (typeof args[0] !== 'function' || inside.getStore()) return original(...args);
    const before = tail;
    let release!: () => void;
    tail = new Promise<void>((r) => (release = r));
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new DomainError('server.busy')), TRANSACTION_WAIT_MS);
      void before.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return waited
      .then(() => inside.run(true, () => original(...args) as Promise<unknown>))
      .finally(() => {
        // A waiter that gave up still passes the turn on only after the one before it is done.
        void before.then(release);
      });
  };
  // knex defines its methods as non-writable (but configurable) properties.
  Object.defineProperty(knex, 'transaction', { value: queued, configurable: true, writable: true });
  return knex;
}

export function sqliteKnex(file: string): Knex {
  mkdirSync(path.dirname(file), { recursive: true });
  return queueTransactions(
    knexFactory({
      client: 'better-sqlite3',
      connection: { filename: file },
      useNullAsDefault: true,
      // Several connections so that reads go on while a linkage transaction writes (WAL).
      pool: {
        min: 1,
        max: 4,
        afterCreate(conn: SqlitePragmaConnection, done: (err: Error | null, conn: unknown) => void) {
          try {
            conn.pragma('journal_mode = WAL');
            conn.pragma('foreign_keys = ON');
            conn.pragma('busy_timeout = 10000');
            conn.pragma('synchronous = NORMAL');
            done(null, conn);
          } catch (e) {
            done(e as Error, conn);
          }
        },
      },
    }),
  );
}

export interface MssqlConnection extends MssqlSettings {
  password: string;
}

export function mssqlKnexConfig(m: MssqlConnection): Knex.Config {
  const tedious = require('tedious') as { TYPES: { DateTime2: unknown } };
  return {
    client: 'mssql',
    connection: {
      server: m.server,
      port: m.port,
      user: m.user,
      password: m.password,
      database: m.database,
      requestTimeout: 30000,
      options: {
        encrypt: m.encrypt,
        trustServerCertificate: m.trustServerCertificate,
        ...(m.caFile ? { cryptoCredentialsDetails: { ca: readFileSync(m.caFile) } } : {}),
        ...(m.instanceName ? { instanceName: m.instanceName } : {}),
        appName: 'madoguchi',
        useUTC: true,
        // Dates go to SQL Server as datetime2, not the legacy datetime (1/300 s).
        mapBinding: (v: unknown) => (v instanceof Date ? { value: v, type: tedious.TYPES.DateTime2 } : undefined),
      },
    } as Knex.MsSqlConnectionConfig,
    pool: { min: 0, max: 10 },
  };
}

/** `mssql://user:password@host:port/database?encrypt=false&trustServerCertificate=true` */
export function parseMssqlUrl(url: string): MssqlConnection {
  const u = new URL(url);
  if (u.protocol !== 'mssql:' && u.protocol !== 'sqlserver:') throw new Error(`MSSQL_URL must start with mssql:// (${u.protocol})`);
  const flag = (name: string, dflt: boolean): boolean => {
    const v = u.searchParams.get(name);
    return v === null ? dflt : v === 'true' || v === '1';
  };
  return {
    server: u.hostname,
    port: u.port ? Number(u.port) : 1433,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.replace(/^\//, '') || 'master',
    encrypt: flag('encrypt', true),
    trustServerCertificate: flag('trustServerCertificate', false),
  };
}

export function openDatabase(settings: DatabaseSettings, dataDir: string, env: NodeJS.ProcessEnv = process.env): Knex {
  if (settings.client === 'mssql') {
    const m = settings.mssql!;
    return knexFactory(mssqlKnexConfig({ ...m, password: resolveMssqlPassword(m, env) }));
  }
  return sqliteKnex(path.resolve(dataDir, settings.sqlite.file));
}

/**
 * Brings the schema up to date. Several app nodes may start at once after an upgrade: the one that
 * holds knex's migration lock migrates, the others wait for it (up to `lockWaitMs`) and find nothing left.
 */
export async function migrateLatest(knex: Knex, lockWaitMs = 120_000): Promise<string[]> {
  const until = Date.now() + lockWaitMs;
  for (;;) {
    try {
      const [, names] = (await knex.migrate.latest({ migrationSource })) as [number, string[]];
      return names;
    } catch (e) {
      if ((e as Error).name !== 'MigrationLocked' || Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

export async function migrateRollbackAll(knex: Knex): Promise<string[]> {
  const [, names] = (await knex.migrate.rollback({ migrationSource }, true)) as [number, string[]];
  return names;
}
