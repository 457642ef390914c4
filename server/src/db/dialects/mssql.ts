import type { Knex } from 'knex';
import { checkedJsonPath, type Dialect, type Row } from './types.js';

/** SQL Server rejects a request with more than 2,100 parameters and a VALUES list over 1,000 rows. */
export const MSSQL_MAX_PARAMETERS = 2100;
const PARAMETER_BUDGET = 2000;
const MAX_VALUES_ROWS = 1000;

const q = (id: string): string => `[${id.replace(/]/g, ']]')}]`;

export const mssqlDialect: Dialect = {
  name: 'mssql',
  now: (knex) => knex.raw('SYSUTCDATETIME()'),
  batchRows: (columnCount) => Math.max(1, Math.min(MAX_VALUES_ROWS, Math.floor(PARAMETER_BUDGET / columnCount))),
  async bulkInsert(trx, table, columns, rows) {
    const size = mssqlDialect.batchRows(columns.length);
    for (let i = 0; i < rows.length; i += size) {
      const chunk = rows.slice(i, i + size).map((r) => Object.fromEntries(columns.map((c, j) => [c, r[j]])));
      await trx(table).insert(chunk);
    }
  },
  // SQL Server keeps its indexes: dropping them would take schema locks that block every reader.
  deferIndexes: () => Promise.resolve(() => Promise.resolve()),
  upsertQuery(knex, table, row, keys) {
    // knex's onConflict() throws on mssql (knex#5646): a MERGE with HOLDLOCK instead.
    const cols = Object.keys(row);
    const update = cols.filter((c) => !keys.includes(c));
    const sql =
      `MERGE INTO ${q(table)} WITH (HOLDLOCK) AS t USING (VALUES (${cols.map(() => '?').join(', ')})) AS s (${cols.map(q).join(', ')}) ` +
      `ON ${keys.map((k) => `t.${q(k)} = s.${q(k)}`).join(' AND ')} ` +
      (update.length ? `WHEN MATCHED THEN UPDATE SET ${update.map((c) => `t.${q(c)} = s.${q(c)}`).join(', ')} ` : '') +
      `WHEN NOT MATCHED THEN INSERT (${cols.map(q).join(', ')}) VALUES (${cols.map((c) => `s.${q(c)}`).join(', ')});`;
    return knex.raw(
      sql,
      cols.map((c) => row[c] as Knex.Value),
    );
  },
  claimQuery(knex, table, where, orderBy, set, extra, skipFlagged) {
    // knex drops skipLocked() on mssql, so the claim is raw: READPAST skips rows another
    // worker holds, UPDLOCK keeps two workers from taking the same one (READ COMMITTED only).
    const setCols = Object.keys(set);
    const whereCols = Object.keys(where);
    // JSON_VALUE (SQL Server 2016+) gives 'true' / 'false' for a JSON boolean, NULL when absent.
    const flag = skipFlagged
      ? ` AND ISNULL(JSON_VALUE(${q(skipFlagged.column)}, '${checkedJsonPath(skipFlagged.path)}'), 'false') = 'false'`
      : '';
    const sql =
      `WITH next AS (SELECT TOP (1) * FROM ${q(table)} WITH (UPDLOCK, READPAST, ROWLOCK) ` +
      `WHERE ${whereCols.map((c) => `${q(c)} = ?`).join(' AND ')}${extra ? ` AND (${extra.sql})` : ''}${flag} ORDER BY ${orderBy.map(q).join(', ')}) ` +
      `UPDATE next SET ${setCols.map((c) => `${q(c)} = ?`).join(', ')} OUTPUT inserted.*;`;
    return knex.raw(sql, [
      ...whereCols.map((c) => where[c] as Knex.Value),
      ...(extra?.bindings ?? []),
      ...setCols.map((c) => set[c] as Knex.Value),
    ]);
  },
  leaseQuery(knex, op) {
    const now = 'SYSUTCDATETIME()';
    const until = `DATEADD(millisecond, ?, ${now})`;
    const ms = (seconds: number) => Math.round(seconds * 1000);
    switch (op.kind) {
      case 'acquire':
        // HOLDLOCK: two nodes that find no row cannot both insert one.
        return knex.raw(
          `MERGE INTO [leases] WITH (HOLDLOCK) AS t USING (VALUES (?, ?)) AS s ([name], [holder]) ON t.[name] = s.[name] ` +
            `WHEN MATCHED AND (t.[holder] = s.[holder] OR t.[expires_at] <= ${now}) THEN UPDATE SET t.[holder] = s.[holder], ` +
            `t.[token] = t.[token] + 1, t.[acquired_at] = ${now}, t.[renewed_at] = ${now}, t.[expires_at] = ${until} ` +
            `WHEN NOT MATCHED THEN INSERT ([name], [holder], [token], [acquired_at], [renewed_at], [expires_at]) ` +
            `VALUES (s.[name], s.[holder], 1, ${now}, ${now}, ${until}) OUTPUT inserted.*;`,
          [op.name, op.holder, ms(op.seconds), ms(op.seconds)],
        );
      case 'renew':
        return knex.raw(
          `UPDATE [leases] SET [renewed_at] = ${now}, [expires_at] = ${until} OUTPUT inserted.* WHERE [name] = ? AND [holder] = ? AND [token] = ?;`,
          [ms(op.seconds), op.name, op.holder, op.token],
        );
      case 'release':
        return knex.raw(`UPDATE [leases] SET [expires_at] = ${now} OUTPUT inserted.* WHERE [name] = ? AND [holder] = ? AND [token] = ?;`, [
          op.name,
          op.holder,
          op.token,
        ]);
    }
  },
};

export type { Row };
