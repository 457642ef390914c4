import type { Knex } from 'knex';

/**
 * Column helpers shared by the migrations, so that every dialect gets the same shape:
 * `string` → nvarchar(n) on SQL Server. Lengths in the standard count code points, while
 * nvarchar counts UTF-16 units (𠮷 is 2, an IVS selector is 2 more), so registered text gets
 * twice the standard's length.
 */
export function registeredText(t: Knex.CreateTableBuilder, name: string, codePoints: number): Knex.ColumnBuilder {
  return t.string(name, Math.min(4000, codePoints * 2));
}

/** A register date: text `YYYY-MM-DD` (non-calendar dates allowed) with its 不詳 flag and text. */
export function registerDate(t: Knex.CreateTableBuilder, name: string, withUnknown = true): void {
  t.string(name, 10);
  if (withUnknown) {
    t.boolean(`${name}_unknown`).notNullable().defaultTo(false);
    t.string(`${name}_unknown_text`, 144);
  }
}

/** The address columns of the standard (住所_…), with an optional prefix (`from_`, `to_`). */
export function addressColumns(t: Knex.CreateTableBuilder, prefix = '', full = true): void {
  if (full) {
    t.string(`${prefix}municipality_code`, 6);
    t.string(`${prefix}town_code`, 7);
  }
  registeredText(t, `${prefix}prefecture`, 4);
  registeredText(t, `${prefix}city`, 12);
  registeredText(t, `${prefix}town_name`, 120);
  registeredText(t, `${prefix}block_number`, 50);
  registeredText(t, `${prefix}address_suffix`, 300);
  if (full) t.string(`${prefix}postal_code`, 7);
}

/** Every cached row remembers the linkage run that wrote it. */
export function linkageColumns(t: Knex.CreateTableBuilder): void {
  t.integer('linkage_run_id');
}
