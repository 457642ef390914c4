/**
 * A streaming RFC 4180 reader for large files (forward linkage): comma separated, `"` quoting
 * with `""` as an escaped quote, CRLF or LF, empty lines skipped. Quote-free lines — nearly all
 * of a linkage file — take a fast path through String#split; that speed on files of hundreds of
 * megabytes is why this is not csv-parse (used for every other CSV, see `csv.ts`). Each record
 * carries the line it starts on, and broken quoting is an error naming its line.
 */
export interface CsvRecord {
  line: number;
  fields: string[];
  /** Legacy characters that `mapLine` could not map, in this record. */
  unmapped: number;
  /** The record holds U+FFFD: bytes the decoder could not read (CP932 decodes them silently). */
  undecodable: boolean;
  /** The last record of a text that does not end with a line end (a file cut short, or written so). */
  unterminated?: boolean;
}

export class CsvSyntaxError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'CsvSyntaxError';
  }
}

/** Maps a record's raw text before it is split (legacy 外字, CP932 → JIS); may count misses. */
export type LineMapper = (text: string) => { text: string; unmapped: number };

function parseQuoted(text: string, line: number): string[] {
  const fields: string[] = [];
  let i = 0;
  let atLine = line;
  for (;;) {
    if (text.charCodeAt(i) === 34) {
      let value = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new CsvSyntaxError(line, `${line} 行目から始まる引用符 (") が閉じていません`);
        value += text.slice(i, q);
        if (text.charCodeAt(q + 1) === 34) {
          value += '"';
          i = q + 2;
          continue;
        }
        for (let k = i; k < q; k++) if (text.charCodeAt(k) === 10) atLine++;
        i = q + 1;
        break;
      }
      fields.push(value);
      const next = text.charCodeAt(i);
      if (i >= text.length) return fields;
      if (next !== 44) throw new CsvSyntaxError(atLine, `${atLine} 行目: 閉じた引用符の後に区切り (,) がありません`);
      i++;
    } else {
      const comma = text.indexOf(',', i);
      const end = comma < 0 ? text.length : comma;
      const value = text.slice(i, end);
      if (value.includes('"')) throw new CsvSyntaxError(atLine, `${atLine} 行目: 引用符 (") が項目の途中にあります`);
      fields.push(value);
      if (comma < 0) return fields;
      i = comma + 1;
      if (i === text.length) {
        fields.push('');
        return fields;
      }
    }
  }
}

/** Where the record starting at `start` ends (index of its terminating LF, or -1 if more text is needed). */
function recordEnd(buf: string, start: number): number {
  let inQuotes = false;
  let fieldStart = true;
  for (let i = start; i < buf.length; i++) {
    const c = buf.charCodeAt(i);
    if (inQuotes) {
      if (c !== 34) continue;
      if (i + 1 >= buf.length) return -1; // `"` then more text, or the end: need more to decide
      if (buf.charCodeAt(i + 1) === 34) i++;
      else inQuotes = false;
      continue;
    }
    // Only a quote that opens a field quotes it; a stray one is left for parseQuoted to report.
    if (c === 34 && fieldStart) inQuotes = true;
    else if (c === 10) return i;
    fieldStart = c === 44;
  }
  return -1;
}

/**
 * The records of a CSV text in arrays of up to CSV_BATCH_RECORDS, in order: one step of the
 * async iteration per array, not per record (three async generators stacked per record cost the
 * row worker about 0.5 µs a row). An error (broken quoting, bad bytes in the next chunk) comes
 * after the records before it. Small arrays: the row worker's young generation is 8 MB, and with
 * 256 records an array (and its rows) outlived it: the worker's GC went from 1.1 to 2.5 s in a
 * 200k-people load. With 64, its CPU time fell from 8.6–10.1 to 7.4–8.2 s (2026-12-08).
 */
const CSV_BATCH_RECORDS = 64;
export async function* readCsvBatches(chunks: AsyncIterable<string>, mapLine?: LineMapper): AsyncGenerator<CsvRecord[]> {
  let out: CsvRecord[] = [];
  let buf = '';
  let line = 1;
  let first = true;
  const emit = (raw: string, at: number): CsvRecord | null => {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text === '') return null;
    const mapped = mapLine ? mapLine(text) : { text, unmapped: 0 };
    const fields = mapped.text.indexOf('"') < 0 ? mapped.text.split(',') : parseQuoted(mapped.text, at);
    return { line: at, fields, unmapped: mapped.unmapped, undecodable: mapped.text.indexOf('\uFFFD') >= 0 };
  };
  for await (const chunk of chunks) {
    buf = buf ? buf + chunk : chunk;
    let start = 0;
    try {
      if (first && buf.length) {
        if (buf.charCodeAt(0) === 0xfeff) buf = buf.slice(1);
        first = false;
      }
      // The next `"` and the next U+FFFD at or after the record start, each found once and reused:
      // most chunks hold neither, and then no line is searched for them, nor sliced twice
      // (101,234 rows of 001o005 through this reader alone: 280 → 255 ms).
      let quote = -1;
      let bad = -1;
      for (;;) {
        const lf = buf.indexOf('\n', start);
        if (lf < 0) break;
        if (quote < start) {
          quote = buf.indexOf('"', start);
          if (quote < 0) quote = Infinity;
        }
        let end = lf;
        if (quote < lf) {
          end = recordEnd(buf, start);
          if (end < 0) break; // a quoted field runs past this chunk
        }
        const at = line;
        if (end !== lf) for (let k = start; k < end; k++) if (buf.charCodeAt(k) === 10) line++;
        line++;
        const from = start;
        const stop = end > from && buf.charCodeAt(end - 1) === 13 ? end - 1 : end;
        start = end + 1;
        if (stop === from) continue; // an empty line
        const text = buf.slice(from, stop);
        if (bad < from) {
          bad = buf.indexOf('\uFFFD', from);
          if (bad < 0) bad = Infinity;
        }
        let fields: string[];
        let unmapped = 0;
        let undecodable: boolean;
        const mapped = mapLine ? mapLine(text) : undefined;
        if (mapped && mapped.text !== text) {
          // The mapper changed the text: what was found in the buffer no longer describes it.
          unmapped = mapped.unmapped;
          fields = mapped.text.indexOf('"') < 0 ? mapped.text.split(',') : parseQuoted(mapped.text, at);
          undecodable = mapped.text.indexOf('\uFFFD') >= 0;
        } else {
          if (mapped) unmapped = mapped.unmapped;
          fields = quote < stop ? parseQuoted(text, at) : text.split(',');
          undecodable = bad < stop;
        }
        if (out.push({ line: at, fields, unmapped, undecodable }) >= CSV_BATCH_RECORDS) {
          yield out;
          out = [];
        }
      }
    } catch (e) {
      // The records before the error first, as one by one.
      if (out.length) yield out;
      throw e;
    }
    buf = buf.slice(start);
    // Before the next chunk is read: an error reading it (bad UTF-8) comes after these records.
    if (out.length) {
      yield out;
      out = [];
    }
  }
  if (buf.length) {
    if (buf.indexOf('"') >= 0 && recordEnd(buf + '\n', 0) < 0) {
      if (out.length) yield out;
      throw new CsvSyntaxError(
        line,
        `${line} 行目から始まる引用符 (") が閉じないままファイルが終わっています (途中で切れたファイルの可能性があります)`,
      );
    }
    let rec: CsvRecord | null;
    try {
      rec = emit(buf, line);
    } catch (e) {
      if (out.length) yield out;
      throw e;
    }
    if (rec) out.push({ ...rec, unterminated: true });
  }
  if (out.length) yield out;
}

/** `readCsvBatches` one record at a time. */
export async function* readCsv(chunks: AsyncIterable<string>, mapLine?: LineMapper): AsyncGenerator<CsvRecord> {
  for await (const batch of readCsvBatches(chunks, mapLine)) yield* batch;
}

/**
 * The same reader over a text already in memory, synchronously and one record at a time (the
 * staff CSV import, the 転出証明書情報 file): nothing is kept per record beyond the record itself,
 * so a caller can stop at a row limit without the rest of the text being split. (csv-parse, with
 * `relax_column_count` and `info`, builds an Error with a copy of its options for every row whose
 * length differs from the header and keeps it on that row: 500 KB of short rows filled a 192 MB heap.)
 */
export function* csvRecordsOf(text: string): Generator<Omit<CsvRecord, 'unmapped'>> {
  const buf = text.endsWith('\n') ? text : text + '\n';
  let start = buf.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  // The next quote at or after `start`, found once and reused: a search per line would be quadratic.
  let quote = -1;
  while (start < buf.length) {
    const lf = buf.indexOf('\n', start);
    let end = lf;
    if (quote !== Infinity && quote < start) {
      quote = buf.indexOf('"', start);
      if (quote < 0) quote = Infinity;
    }
    const quoted = quote < lf;
    if (quoted) {
      end = recordEnd(buf, start);
      if (end < 0) throw new CsvSyntaxError(line, `${line} 行目から始まる引用符 (") が閉じていません`);
    }
    const at = line;
    if (end !== lf) for (let k = start; k < end; k++) if (buf.charCodeAt(k) === 10) line++;
    line++;
    let raw = buf.slice(start, end);
    start = end + 1;
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    if (raw === '') continue;
    yield { line: at, fields: quoted ? parseQuoted(raw, at) : raw.split(','), undecodable: raw.indexOf('\uFFFD') >= 0 };
  }
}
