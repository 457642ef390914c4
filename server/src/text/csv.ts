import { parse, type Options } from 'csv-parse/sync';
import { codePointName, decodeText, encodeCp932, firstUnencodable, utf8WithBom, type EncodingSetting } from './encoding.js';

/**
 * CSV files as madoguchi writes them (RFC 4180: CRLF after every line, a field quoted when it
 * holds a comma, quote or line break) and reads them (csv-parse). For Excel, UTF-8 files carry
 * a BOM; CP932 files refuse a character they cannot hold instead of writing `?`.
 */
export type CsvEncoding = 'utf8' | 'cp932';

/** One RFC 4180 field: quoted when it holds a comma, quote, CR or LF. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** One line, without its line end. */
export function csvLine(fields: readonly string[]): string {
  return fields.map(csvField).join(',');
}

/** Header and rows as CSV text, CRLF after every line; with `bom`, a leading U+FEFF (UTF-8 for Excel). */
export function csvText(header: readonly string[], rows: readonly (readonly string[])[], opts: { bom?: boolean } = {}): string {
  const body = [header, ...rows].map(csvLine).join('\r\n') + '\r\n';
  return opts.bom ? '\uFEFF' + body : body;
}

/** A value CP932 cannot represent: names the row, column and character, for the member of staff to fix. */
export class CsvEncodingError extends Error {
  readonly status = 422;
  readonly expose = true;
  constructor(
    readonly row: number,
    readonly column: string,
    readonly character: string,
    rowLabel: string,
  ) {
    super(
      `CP932 (Shift_JIS) で表せない文字があります: ${row} 件目${rowLabel ? ` (${rowLabel})` : ''} の列「${column}」の「${character}」(${codePointName(character)})。UTF-8 で出力するか、設定の文字を見直してください`,
    );
    this.name = 'CsvEncodingError';
  }
}

/**
 * A CSV file's bytes: UTF-8 with a BOM, or CP932 (both forms of 〜 − ‖ ¢ £ ¬ accepted) refusing
 * a character it cannot encode with a `CsvEncodingError` naming row (1 = first data row, 0 = the
 * header) and column. `rowLabel` says which record a row is, in the message.
 */
export function encodeCsv(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  encoding: CsvEncoding,
  rowLabel: (i: number) => string = () => '',
): Buffer {
  const text = csvText(header, rows);
  if (encoding === 'utf8') return utf8WithBom(text);
  if (firstUnencodable(text) !== null) {
    for (const [i, r] of rows.entries()) {
      for (const [j, v] of r.entries()) {
        const bad = firstUnencodable(v);
        if (bad !== null) throw new CsvEncodingError(i + 1, header[j] ?? String(j + 1), bad, rowLabel(i));
      }
    }
    throw new CsvEncodingError(0, '見出し', firstUnencodable(header.join(','))!, '');
  }
  return encodeCp932(text);
}

/** CSV text to records with csv-parse (a leading BOM is dropped). Options as csv-parse's. */
export function parseCsv(text: string, options: Options = {}): string[][] {
  return parse(text, { bom: true, ...options }) as string[][];
}

/** CSV text with a header line to one object per record, keyed by header (a leading BOM is dropped). */
export function parseCsvObjects(text: string, options: Options = {}): Record<string, string>[] {
  return parse(text, { bom: true, ...options, columns: true }) as unknown as Record<string, string>[];
}

/**
 * A CSV file's bytes back to records: decoded as detected (or as `encoding` says), in the one
 * CP932 mapping. Throws `TextEncodingError` for UTF-16 or unreadable bytes.
 */
export function decodeCsv(bytes: Uint8Array, encoding: EncodingSetting = 'auto', options: Options = {}): string[][] {
  return parseCsv(decodeText(bytes, { setting: encoding }).text, options);
}
