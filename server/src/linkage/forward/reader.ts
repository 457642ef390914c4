import path from 'node:path';
import { codeTables } from '../../domain/codes.js';
import { parseRegisterDate, parseRegisterMonth } from '../../domain/dates.js';
import { codePointLength } from '../../domain/text.js';
import {
  CsvSyntaxError,
  detectFileEncoding,
  readCsvBatches,
  readTextChunks,
  TextEncodingError,
  type Cp932Mapping,
  type CsvRecord,
  type DetectedEncoding,
  type EncodingSetting,
} from '../../text/index.js';
import { GaijiMap } from './gaiji.js';
import type { Layout, LayoutColumn, LayoutRegistry } from './layouts.js';

/** One problem in a linkage file, precise enough for the municipality's IT staff to fix it. */
export interface RowIssue {
  line: number;
  /** The item (header) name, when the problem belongs to one column. */
  column?: string;
  /** The value as read; masked when the item is personal data. */
  value?: string;
  reason: string;
  /** The rest of the file cannot be read (broken quoting, bad bytes): the file is quarantined whatever the threshold. */
  fatal?: boolean;
}

export class LinkageFileError extends Error {
  constructor(
    readonly file: string,
    readonly issues: RowIssue[],
  ) {
    const first = issues
      .slice(0, 5)
      .map(
        (i) =>
          `${path.basename(file)}:${i.line}${i.column ? ` [${i.column}]` : ''} ${i.reason}${i.value !== undefined ? ` (値: ${i.value})` : ''}`,
      );
    super(`連携ファイルにエラーがあります: ${file}\n${first.join('\n')}${issues.length > 5 ? `\n…ほか ${issues.length - 5} 件` : ''}`);
    this.name = 'LinkageFileError';
  }
}

export interface ParsedRow {
  line: number;
  /** Cache column → value, typed (string | number | boolean | null). */
  values: Record<string, unknown>;
  /** 処理区分 of a differential file (1 追加, 2 更新, 3 削除); null in a full file. */
  processingKind: string | null;
  issues: RowIssue[];
  unmappedGaiji: number;
  /**
   * 外字 the 同定マップ does not know, one per item with its code point. The row is still stored
   * (a resident must not vanish over one glyph) but the problem counts against the threshold.
   */
  gaijiIssues?: RowIssue[];
}

/** The CP932 user-defined area as decoded (F040–F9FC → U+E000–U+E757): 外字 left unmapped. */
const UNMAPPED_GAIJI = /[\uE000-\uE757]/gu;

function gaijiIssuesOf(
  fields: readonly string[],
  headers: readonly string[],
  plan: readonly { col: LayoutColumn; index: number }[],
  line: number,
): RowIssue[] {
  const out: RowIssue[] = [];
  for (const p of plan) {
    const v = fields[p.index]!;
    const found = v.match(UNMAPPED_GAIJI);
    if (!found) continue;
    const codes = [...new Set(found)].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase()}`);
    out.push({
      line,
      column: headers[p.index]!,
      value: p.col.personal ? maskValue(v.replace(UNMAPPED_GAIJI, '〓')) : v.replace(UNMAPPED_GAIJI, '〓'),
      reason: `同定マップにない外字があります (${codes.join(' ')})`,
    });
  }
  return out;
}

export interface OpenedFile {
  file: string;
  layout: Layout;
  encoding: DetectedEncoding;
  headers: string[];
  differential: boolean;
  rows: AsyncGenerator<ParsedRow>;
  /**
   * The same rows in arrays (the row worker takes them so). One file is read either way, not
   * both: `rows` takes its arrays from here.
   */
  batches?: AsyncGenerator<ParsedRow[]>;
  /** Bytes read so far (progress). */
  bytesRead(): number;
}

export interface ReadOptions {
  encoding?: EncodingSetting;
  gaiji?: GaijiMap;
  /** What CP932's 〜 − ‖ ¢ £ ¬ decode to; default the text module's `CP932_MAPPING` (jis). */
  cp932Mapping?: Cp932Mapping;
  /** The core system's fixed width of 宛名番号 (municipality.yaml `addresseeNo.digits`); unset = up to the layout's length. */
  addresseeNoDigits?: number;
}

/** Masks personal data in a report: the first character, then at most eight `*`. */
export function maskValue(v: string): string {
  const n = codePointLength(v);
  return n <= 1 ? '*' : `${[...v][0]}${'*'.repeat(Math.min(n - 1, 8))}`;
}

/**
 * One item's typed value; a problem is pushed to `issues` (and the value is null). No object per
 * item: a resident row has 71 items, and a `{ value, issue }` pair for each was garbage the row
 * worker collected by the million.
 */
function convert(
  col: LayoutColumn,
  raw: string,
  line: number,
  isKey: boolean,
  addresseeNoDigits: number | undefined,
  issues: RowIssue[],
): unknown {
  // The masked value is built only when there is a problem to report.
  const fail = (reason: string) => {
    issues.push({ line, column: col.header, value: col.personal ? maskValue(raw) : raw, reason });
    return null;
  };
  if (raw === '') {
    if (col.required) return fail('必須項目が空です');
    if (col.type === 'flag') return false;
    return isKey ? '' : null;
  }
  // 宛名番号 has the core system's own fixed width (municipality.yaml addresseeNo.digits); other items the standard's.
  const exact = col.exactLength === 'addresseeNo' ? addresseeNoDigits : col.exactLength ? col.length : undefined;
  if (exact !== undefined && raw.length !== exact) {
    const n = codePointLength(raw);
    if (n !== exact) return fail(`桁数が違います (${n} 桁。${exact} 桁であること)`);
  }
  // A string never has more code points than UTF-16 units: count only when it might be too long.
  if (col.length !== undefined && raw.length > col.length) {
    const n = codePointLength(raw);
    if (n > col.length) return fail(`桁数超過 (${n} 文字 > ${col.length} 文字)`);
  }
  switch (col.type) {
    case 'string':
      return raw;
    case 'digits':
      return DIGITS.test(raw) ? raw : fail('数字以外の文字があります');
    case 'integer':
      return INTEGER.test(raw) ? Number(raw) : fail('整数ではありません');
    case 'flag':
      return raw === '0' || raw === '1' ? raw === '1' : fail('フラグは 0 または 1 です');
    case 'code': {
      const table = codeTables[col.code!]!;
      return table[raw] !== undefined ? raw : fail(`コード表 ${col.code} にない値です`);
    }
    case 'date':
      try {
        return parseRegisterDate(raw);
      } catch (e) {
        return fail((e as Error).message.replace(/: .*$/, ''));
      }
    case 'month':
      try {
        return parseRegisterMonth(raw);
      } catch (e) {
        return fail((e as Error).message.replace(/: .*$/, ''));
      }
  }
}

/**
 * Builds the `values` of a row from the layout's fixed values and the items' typed values, as one
 * object literal made once per file (its keys are the layout's column names, quoted as JSON).
 * Assigning 71 keys to `{}` one by one makes a dictionary-mode object: 3 µs a resident row; a
 * literal of the same keys is a fast object made from one template: 0.4 µs (a 200k-row loop,
 * measured 2026-12-08). Same keys in the same order, and a later duplicate wins, as before.
 */
type ValuesFactory = (fixed: readonly unknown[], items: readonly unknown[]) => Record<string, unknown>;
function valuesFactory(fixedKeys: readonly string[], itemKeys: readonly (string | undefined)[]): ValuesFactory {
  const parts = [
    ...fixedKeys.map((k, i) => `${JSON.stringify(k)}: f[${i}]`),
    ...itemKeys.flatMap((k, i) => (k === undefined ? [] : [`${JSON.stringify(k)}: v[${i}]`])),
  ];
  return new Function('f', 'v', `return {${parts.join(', ')}};`) as ValuesFactory;
}

const DIGITS = /^[0-9]+$/;
const INTEGER = /^-?[0-9]+$/;

/**
 * Opens a linkage CSV: detects the encoding, reads the header, picks the layout edition from
 * it, and yields typed rows with their problems. Nothing is written here; the caller decides
 * what a problem means (the foundation loader rejects the file, the watcher applies thresholds).
 */
export async function openLinkageFile(file: string, specId: string, registry: LayoutRegistry, opts: ReadOptions = {}): Promise<OpenedFile> {
  let encoding: DetectedEncoding;
  try {
    encoding = await detectFileEncoding(file, opts.encoding ?? 'auto');
  } catch (e) {
    if (e instanceof TextEncodingError) throw new LinkageFileError(file, [{ line: e.line ?? 1, reason: e.reason, fatal: true }]);
    throw e;
  }
  const gaiji = opts.gaiji ?? new GaijiMap();
  const legacy = gaiji.size > 0 || encoding.encoding === 'cp932';
  let bytes = 0;
  const chunks = readTextChunks(file, encoding, {
    ...(opts.cp932Mapping ? { mapping: opts.cp932Mapping } : {}),
    onBytes: (chunk) => {
      bytes += chunk.length;
    },
  });
  // 外字 work on the whole line: replacements never hold , " or line breaks.
  const mapLine = legacy ? (text: string) => gaiji.apply(text) : undefined;
  const records = readCsvBatches(chunks, mapLine);
  const close = () => void records.return(undefined);

  let firstBatch: IteratorResult<CsvRecord[]>;
  try {
    firstBatch = await records.next();
  } catch (e) {
    throw new LinkageFileError(file, [{ line: 1, reason: `ヘッダー行を読めません: ${(e as Error).message}`, fatal: true }]);
  }
  if (firstBatch.done) throw new LinkageFileError(file, [{ line: 1, reason: 'ファイルが空です (ヘッダー行がありません)' }]);
  // The CSV reader never gives an empty array: the first holds the header, then the first records.
  const header = firstBatch.value[0]!;
  const afterHeader = firstBatch.value.slice(1);
  const headers = header.fields.map((h) => h.trim());
  const detected = registry.detect(specId, headers);
  if ('error' in detected) {
    close();
    throw new LinkageFileError(file, [{ line: header.line, reason: detected.error }]);
  }
  const layout = detected;
  const dupHeader = headers.find((h, i) => headers.indexOf(h) !== i);
  if (dupHeader) {
    close();
    throw new LinkageFileError(file, [{ line: header.line, column: dupHeader, reason: 'ヘッダーに同じ項目が 2 回あります' }]);
  }
  const differential = headers.includes(layout.processingKindHeader);
  const kindIndex = headers.indexOf(layout.processingKindHeader);
  const keySet = new Set(layout.keys);
  const plan = layout.columns
    .map((col) => ({ col, index: headers.indexOf(col.header), isKey: keySet.has(col.header), name: col.column }))
    .filter((p) => p.index >= 0);
  const fixedEntries = Object.entries(layout.fixed);
  const makeValues = valuesFactory(
    fixedEntries.map(([k]) => k),
    plan.map((p) => p.name),
  );
  const fixedValues = fixedEntries.map(([, v]) => v);
  /** The typed items of the current row, and its problems (both reused from row to row). */
  const items = new Array<unknown>(plan.length).fill(null);
  const found: RowIssue[] = [];

  // One record of lookahead: only the last record can show that the file was cut short.
  const read = async (): Promise<{ records: CsvRecord[] } | { done: true } | { error: ParsedRow }> => {
    try {
      const n = await records.next();
      return n.done ? { done: true } : { records: n.value };
    } catch (e) {
      const line = e instanceof CsvSyntaxError ? e.line : 0;
      const reason = e instanceof CsvSyntaxError ? `CSV の形式エラー: ${e.message}` : (e as Error).message;
      return { error: { line, values: {}, processingKind: null, issues: [{ line, reason, fatal: true }], unmappedGaiji: 0 } };
    }
  };
  const cut = (line: number, reason: string): ParsedRow => ({
    line,
    values: {},
    processingKind: null,
    issues: [{ line, reason: `ファイルが途中で切れています (${reason})。ファイル全体を送り直してください`, fatal: true }],
    unmappedGaiji: 0,
  });

  /** One record as a row; `last` when it is the file's last (then a cut-short file ends the rows: `end`). */
  const rowOf = (current: CsvRecord, last: boolean): { row: ParsedRow; end?: true } => {
    const { fields, line, unmapped, undecodable } = current;
    if (last && current.unterminated && layout.requireFinalLineEnd)
      return { row: cut(line, `最後の ${line} 行目に改行がありません`), end: true };
    if (last && fields.length < headers.length)
      return { row: cut(line, `最後の ${line} 行目の項目が足りません: ${fields.length} 列、ヘッダーは ${headers.length} 列`), end: true };
    if (undecodable)
      return {
        row: {
          line,
          values: {},
          processingKind: null,
          issues: [{ line, reason: `${encoding.encoding === 'cp932' ? 'CP932' : 'UTF-8'} として読めないバイトがあります (U+FFFD)` }],
          unmappedGaiji: 0,
        },
      };
    if (fields.length !== headers.length)
      return {
        row: {
          line,
          values: {},
          processingKind: null,
          issues: [{ line, reason: `列数が違います (${fields.length} 列、ヘッダーは ${headers.length} 列)` }],
          unmappedGaiji: 0,
        },
      };
    for (let i = 0; i < plan.length; i++) {
      const p = plan[i]!;
      items[i] = convert(p.col, fields[p.index]!, line, p.isKey, opts.addresseeNoDigits, found);
    }
    const values = makeValues(fixedValues, items);
    let issues = found.length ? found.splice(0) : undefined;
    let processingKind: string | null = null;
    if (differential) {
      processingKind = fields[kindIndex]!;
      if (processingKind !== '1' && processingKind !== '2' && processingKind !== '3')
        (issues ??= []).push({
          line,
          column: layout.processingKindHeader,
          value: processingKind,
          reason: '処理区分は 1 (追加)・2 (更新)・3 (削除) です',
        });
    }
    const gaijiIssues = unmapped ? gaijiIssuesOf(fields, headers, plan, line) : undefined;
    return {
      row: {
        line,
        values,
        processingKind,
        issues: issues ?? NO_ISSUES,
        unmappedGaiji: unmapped,
        ...(gaijiIssues?.length ? { gaijiIssues } : {}),
      },
    };
  };

  /**
   * The rows in arrays, as the CSV reader gives its records (a step of async iteration per array,
   * not per row). The next array is read before the last record of this one is made a row: only
   * the file's last record is checked for a cut (see `rowOf`).
   */
  async function* batches(): AsyncGenerator<ParsedRow[]> {
    let current: { records: CsvRecord[] } | { done: true } | { error: ParsedRow } = afterHeader.length
      ? { records: afterHeader }
      : await read();
    for (;;) {
      if ('error' in current) {
        yield [current.error];
        return;
      }
      if ('done' in current) return;
      const recs = current.records;
      const out: ParsedRow[] = [];
      for (let i = 0; i < recs.length - 1; i++) out.push(rowOf(recs[i]!, false).row);
      const ahead = await read();
      const made = rowOf(recs[recs.length - 1]!, 'done' in ahead);
      out.push(made.row);
      yield out;
      if (made.end) return;
      current = ahead;
    }
  }
  const batched = batches();
  async function* rows(): AsyncGenerator<ParsedRow> {
    try {
      for (;;) {
        const n = await batched.next();
        if (n.done) return;
        yield* n.value;
      }
    } finally {
      await batched.return(undefined);
    }
  }

  return { file, layout, encoding, headers, differential, rows: rows(), batches: batched, bytesRead: () => bytes };
}

const NO_ISSUES: RowIssue[] = [];
