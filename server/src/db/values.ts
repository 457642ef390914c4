/** A timestamp as the driver returns it (SQLite: epoch ms or text; SQL Server: Date) → Date. */
export function dbDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(typeof v === 'number' ? v : String(v));
  return Number.isNaN(d.getTime()) ? null : d;
}
