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
export async function insertReturningId(
  db: { (table: string): { insert(row: object): { returning(col: string): PromiseLike<unknown> } } },
  table: string,
  row: object,
): Promise<number> {
  return insertedId(await db(table).insert(row).returning('id'));
}

/** A boolean column as the driver returns it (SQLite 0/1, SQL Server true/false). */
export function dbBool(v: unknown): boolean {
  return v === true || v === 1 || v === '1';
}
