import type { Knex } from 'knex';

export type Row = Record<string, unknown>;

/** A boolean inside a JSON text column: `column` and a JSON path such as `$.protection.supportMeasure`. */
export interface JsonFlag {
  column: string;
  path: string;
}

/** The path is written into the SQL text (SQL Server 2016 wants a literal), so only plain names pass. */
export function checkedJsonPath(path: string): string {
  if (!/^\$(\.[A-Za-z][A-Za-z0-9]*)+$/.test(path)) throw new Error(`unsupported JSON path: ${path}`);
  return path;
}

/**
 * One statement on the `leases` table (server/src/ops/leases.ts), atomic on its own; every time is
 * the database's clock, so that nodes with skewed clocks agree.
 * - `acquire`: takes the lease when it is absent, expired, or held under the same holder id (the
 *   holder's own previous process); the token grows by one.
 * - `renew`: extends the lease while holder and token are still ours (also the fencing check,
 *   inside the transaction whose commit it guards: the row stays locked until the commit).
 * - `release`: lets the lease expire now, while still ours.
 * Each returns the lease row, or no row when the condition did not hold.
 */
export type LeaseOp =
  | { kind: 'acquire'; name: string; holder: string; seconds: number }
  | { kind: 'renew'; name: string; holder: string; token: number; seconds: number }
  | { kind: 'release'; name: string; holder: string; token: number };

/** What differs between SQLite and SQL Server; everything else is plain knex. */
export interface Dialect {
  readonly name: 'sqlite' | 'mssql';
  /** Current UTC time as an SQL expression. */
  now(knex: Knex): Knex.Raw;
  /** Rows per INSERT so that no statement exceeds the driver's parameter limit. */
  batchRows(columnCount: number): number;
  /** Inserts many rows inside the given transaction, as fast as the dialect allows. */
  bulkInsert(trx: Knex.Transaction, table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void>;
  /**
   * Drops the table's secondary indexes for a bulk load and returns what rebuilds them, inside the
   * same transaction where the dialect allows it: building an index once is far cheaper than
   * maintaining it row by row. A dialect that cannot returns a rebuild that does nothing.
   */
  deferIndexes(trx: Knex.Transaction, table: string): Promise<() => Promise<void>>;
  /** Insert or update by key columns. */
  upsertQuery(knex: Knex, table: string, row: Row, keys: readonly string[]): Knex.QueryBuilder | Knex.Raw;
  /**
   * Atomically takes the first row matching `where` (ordered by `orderBy`) and sets `set` on it;
   * returns the updated row or undefined. Safe when several workers claim at once. With `skipFlagged`,
   * rows whose JSON text column holds `true` at the path are never taken (an absent value counts
   * as false; any other value as flagged).
   */
  claimQuery(
    knex: Knex,
    table: string,
    where: Row,
    orderBy: readonly string[],
    set: Row,
    extra?: { sql: string; bindings: Knex.Value[] },
    skipFlagged?: JsonFlag,
  ): Knex.Raw;
  /** A lease statement (see `LeaseOp`); the result rows as the driver gives them. */
  leaseQuery(knex: Knex, op: LeaseOp): Knex.Raw;
}
