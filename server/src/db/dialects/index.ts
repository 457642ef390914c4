import type { Knex } from 'knex';
import { mssqlDialect } from './mssql.js';
import { isSqlite, sqliteDialect } from './sqlite.js';
import type { Dialect } from './types.js';

export type { Dialect, JsonFlag, LeaseOp, Row } from './types.js';
export { MSSQL_MAX_PARAMETERS } from './mssql.js';

export function dialectOf(knex: Knex): Dialect {
  if (isSqlite(knex)) return sqliteDialect;
  if (knex.client.config.client === 'mssql') return mssqlDialect;
  throw new Error(`unsupported database client: ${String(knex.client.config.client)}`);
}
