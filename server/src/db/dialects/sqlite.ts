import type { Knex } from 'knex';
import { checkedJsonPath, type Dialect, type Row } from './types.js';

interface BetterSqliteConnection {
  prepare(sql: string): { run(...params: unknown[]): unknown };
}

const quote = (id: string): string => `"${id.replace(/"/g, '""')}"`;

const insertSqls = new Map<string, string>();
/** The INSERT of one row, remembered: quoting 79 column names per call of a few hundred rows showed in profiles. */
function insertSql(table: string, columns: readonly string[]): string {
  const key = `${table}\u0000${columns.join('\u0000')}`;
  let sql = insertSqls.get(key);
  if (sql === undefined) {
    if (insertSqls.size >= 64) insertSqls.clear();
    insertSqls.set(
      key,
      (sql = `INSERT INTO ${quote(table)} (${columns.map(quote).join(',')}) VALUES (${columns.map(() => '?').join(',')})`),
    );
  }
  return sql;
}

type Statement = ReturnType<BetterSqliteConnection['prepare']>;
const statements = new WeakMap<BetterSqliteConnection, Map<string, Statement>>();
/**
 * The connection's statement for this SQL, prepared once: a load inserts a few hundred rows per
 * call, and preparing an INSERT of 79 columns each time would cost more than its rows. SQLite
 * prepares it again by itself when the schema changes (the indexes are dropped and rebuilt).
 */
function preparedOn(conn: BetterSqliteConnection, sql: string): Statement {
  let byConn = statements.get(conn);
  if (!byConn) statements.set(conn, (byConn = new Map()));
  let stmt = byConn.get(sql);
  if (!stmt) {
    if (byConn.size >= 32) byConn.clear();
    byConn.set(sql, (stmt = conn.prepare(sql)));
  }
  return stmt;
}

export const sqliteDialect: Dialect = {
  name: 'sqlite',
  now: (knex) => knex.raw(`strftime('%Y-%m-%dT%H:%M:%fZ','now')`),
  // SQLITE_MAX_VARIABLE_NUMBER is 32766 since 3.32.
  batchRows: (columnCount) => Math.max(1, Math.floor(32000 / columnCount)),
  async bulkInsert(trx, table, columns, rows) {
    if (!rows.length) return;
    // One prepared statement on the transaction's own connection: far faster than building
    // multi-row SQL text, and the rows stay inside the knex transaction.
    const conn = (await trx.client.acquireConnection()) as BetterSqliteConnection;
    const stmt = preparedOn(conn, insertSql(table, columns));
    // The values as arguments, not as one array: better-sqlite3 reads an array element by element
    // through V8's API, arguments straight off the call (a resident row of 79 values: 8.5 → 6.4 µs).
    // Several rows per statement (64 × 79 values) bound no faster and only added a second statement.
    for (const r of rows) {
      let bool = false;
      for (let i = 0; i < r.length; i++)
        if (typeof r[i] === 'boolean') {
          bool = true;
          break;
        }
      stmt.run(...(bool ? r.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v)) : r));
    }
  },
  async deferIndexes(trx, table) {
    // DDL is transactional in SQLite: readers keep the old snapshot, indexes included.
    const indexes = (await trx.raw(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, [
      table,
    ])) as { name: string; sql: string }[];
    for (const i of indexes) await trx.raw(`DROP INDEX ${quote(i.name)}`);
    return async () => {
      for (const i of indexes) {
        // Each build is one synchronous call of a few hundred ms: between them the event loop runs,
        // so that the row worker can be started on the next file meanwhile (apply.ts `ahead`).
        await new Promise((resolve) => setImmediate(resolve));
        await trx.raw(i.sql);
      }
    };
  },
  upsertQuery(knex, table, row, keys) {
    const update = Object.keys(row).filter((k) => !keys.includes(k));
    return knex(table)
      .insert(row)
      .onConflict([...keys])
      .merge(update);
  },
  claimQuery(knex, table, where, orderBy, set, extra, skipFlagged) {
    const setCols = Object.keys(set);
    const whereCols = Object.keys(where);
    // json_extract gives 1 for true, 0 for false, NULL when absent.
    const flag = skipFlagged
      ? ` AND IFNULL(json_extract(${quote(skipFlagged.column)}, '${checkedJsonPath(skipFlagged.path)}'), 0) = 0`
      : '';
    const sql =
      `UPDATE ${quote(table)} SET ${setCols.map((c) => `${quote(c)} = ?`).join(', ')} ` +
      `WHERE rowid = (SELECT rowid FROM ${quote(table)} WHERE ${whereCols.map((c) => `${quote(c)} = ?`).join(' AND ')}${extra ? ` AND (${extra.sql})` : ''}${flag} ` +
      `ORDER BY ${orderBy.map(quote).join(', ')} LIMIT 1) RETURNING *`;
    return knex.raw(sql, [
      ...setCols.map((c) => set[c] as Knex.Value),
      ...whereCols.map((c) => where[c] as Knex.Value),
      ...(extra?.bindings ?? []),
    ]);
  },
  leaseQuery(knex, op) {
    // Text timestamps of one fixed format compare in time order.
    const now = `strftime('%Y-%m-%dT%H:%M:%fZ','now')`;
    const until = `strftime('%Y-%m-%dT%H:%M:%fZ','now',?)`;
    const span = (seconds: number) => `+${seconds.toFixed(3)} seconds`;
    switch (op.kind) {
      case 'acquire':
        return knex.raw(
          `INSERT INTO "leases" ("name", "holder", "token", "acquired_at", "renewed_at", "expires_at") ` +
            `VALUES (?, ?, 1, ${now}, ${now}, ${until}) ` +
            `ON CONFLICT ("name") DO UPDATE SET "holder" = excluded."holder", "token" = "leases"."token" + 1, ` +
            `"acquired_at" = excluded."acquired_at", "renewed_at" = excluded."renewed_at", "expires_at" = excluded."expires_at" ` +
            `WHERE "leases"."holder" = excluded."holder" OR "leases"."expires_at" <= excluded."acquired_at" RETURNING *`,
          [op.name, op.holder, span(op.seconds)],
        );
      case 'renew':
        return knex.raw(
          `UPDATE "leases" SET "renewed_at" = ${now}, "expires_at" = ${until} WHERE "name" = ? AND "holder" = ? AND "token" = ? RETURNING *`,
          [span(op.seconds), op.name, op.holder, op.token],
        );
      case 'release':
        return knex.raw(`UPDATE "leases" SET "expires_at" = ${now} WHERE "name" = ? AND "holder" = ? AND "token" = ? RETURNING *`, [
          op.name,
          op.holder,
          op.token,
        ]);
    }
  },
};

export function isSqlite(knex: Knex): boolean {
  const c = String(knex.client.config.client);
  return c === 'better-sqlite3' || c === 'sqlite3';
}

export type { Row };
