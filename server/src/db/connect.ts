import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { createRequire } from 'node:module';
import type { DatabaseSettings, MssqlSettings } from '../config/appConfig.js';
import { resolveMssqlPassword } from '../config/appConfig.js';
import { migrationSource } from './migrations/index.js';
// The row types of every table, and the `knex/types/tables` augmentation that types `knex('notices')`.
export type { TableName } from './tables.generated.js';

const require = createRequire(import.meta.url);

interface SqlitePragmaConnection {
  pragma(sql: string): unknown;
}

export function sqliteKnex(file: string): Knex {
  mkdirSync(path.dirname(file), { recursive: true });
  return knexFactory({
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
  });
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

export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, names] = (await knex.migrate.latest({ migrationSource })) as [number, string[]];
  return names;
}

export async function migrateRollbackAll(knex: Knex): Promise<string[]> {
  const [, names] = (await knex.migrate.rollback({ migrationSource }, true)) as [number, string[]];
  return names;
}
