import type { Knex } from 'knex';
import type { TableName, TableRows, WritableRow } from './tables.generated.js';

/** A timestamp as the driver returns it (SQLite: epoch ms or text; SQL Server: Date) → Date. */
export function dbDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(typeof v === 'number' ? v : String(v));
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * The id of a row inserted with `.insert(…).returning('id')`: SQLite and SQL Server give `{ id }`,
 * older drivers a bare number. Throws when there is none, so a lost id never becomes `NaN`.
 */
export function insertedId(rows: unknown): number {
  const row: unknown = Array.isArray(rows) ? rows[0] : rows;
  const id = typeof row === 'object' && row !== null ? Number((row as { id?: unknown }).id) : Number(row);
  if (!Number.isInteger(id) || id < 1) throw new Error('insert returned no id');
  return id;
}

/** Inserts one row and returns its id (the one way to get an inserted id: see `insertedId`). */
export async function insertReturningId<T extends TableWithId>(db: Knex, table: T, row: WritableRow<TableRows[T]>): Promise<number> {
  return insertedId(
    await db(table as string)
      .insert(row)
      .returning('id'),
  );
}

/** Tables whose rows have a numeric `id`. */
export type TableWithId = { [T in TableName]: TableRows[T] extends { id: number } ? T : never }[TableName];

/**
 * The number of a count query (`.count({ n: '*' }).first()`): SQLite gives a number, SQL Server
 * a number or, for bigint counts, text; no row (an empty group) is 0.
 */
export function countOf(row: unknown, column = 'n'): number {
  if (row === null || row === undefined) return 0;
  const v: unknown = typeof row === 'object' ? (row as Record<string, unknown>)[column] : row;
  const n = Number(v ?? 0);
  if (!Number.isFinite(n)) throw new Error(`count is not a number: ${String(v)}`);
  return n;
}

/** A JSON text column (`notices.data`, `visit_procedures.members`, …) → its value; NULL stays null. */
export function dbJson<T>(v: string): T;
export function dbJson<T>(v: string | null): T | null;
export function dbJson<T>(v: string | null): T | null {
  return v === null ? null : (JSON.parse(v) as T);
}

/** A boolean column as the driver returns it (SQLite 0/1, SQL Server true/false). */
export function dbBool(v: unknown): boolean {
  return v === true || v === 1 || v === '1';
}
