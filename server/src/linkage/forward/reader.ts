import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { parse } from 'csv-parse';
import { codeTables } from '../../domain/codes.js';
import { parseRegisterDate, parseRegisterMonth } from '../../domain/dates.js';
import { codePointLength } from '../../domain/text.js';
import { decoderStream, detectEncoding, type DetectedEncoding, type EncodingSetting } from './decode.js';
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
    const first = issues.slice(0, 5).map((i) => `${path.basename(file)}:${i.line}${i.column ? ` [${i.column}]` : ''} ${i.reason}${i.value !== undefined ? ` (値: ${i.value})` : ''}`);
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
}

export interface OpenedFile {
  file: string;
  layout: Layout;
  encoding: DetectedEncoding;
  headers: string[];
  differential: boolean;
  rows: AsyncGenerator<ParsedRow>;
  /** SHA-256 of the bytes read so far (complete once `rows` is exhausted). */
  sha256(): string;
  bytesRead(): number;
}

export interface ReadOptions {
  encoding?: EncodingSetting;
  gaiji?: GaijiMap;
  /** See `cp932ToJis`; default `jis`. */
  cp932Mapping?: 'jis' | 'microsoft';
}

/**
 * CP932 decoders give Microsoft's code points for six JIS characters (0x8160 → U+FF5E FULLWIDTH
 * TILDE, not U+301C WAVE DASH …). Standard UTF-8 files and the MJ character set use the JIS
 * ones, so with `jis` a legacy file stores the same characters as a UTF-8 file would.
 */
const CP932_TO_JIS: Record<string, string> = {
  '\uFF5E': '\u301C', // 〜 WAVE DASH
  '\uFF0D': '\u2212', // − MINUS SIGN
  '\u2225': '\u2016', // ‖ DOUBLE VERTICAL LINE
  '\uFFE0': '\u00A2', // ¢
  '\uFFE1': '\u00A3', // £
  '\uFFE2': '\u00AC', // ¬
};
const CP932_TO_JIS_RE = /[\uFF5E\uFF0D\u2225\uFFE0\uFFE1\uFFE2]/g;

export function cp932ToJis(text: string): string {
  return text.replace(CP932_TO_JIS_RE, (c) => CP932_TO_JIS[c]!);
}

/** Masks personal data in a report: keeps the shape (length) but not the content. */
export function maskValue(v: string): string {
  const n = codePointLength(v);
  return n <= 1 ? '*' : `${[...v][0]}${'*'.repeat(Math.min(n - 1, 8))}`;
}

function convert(col: LayoutColumn, raw: string, line: number, isKey: boolean): { value: unknown; issue?: RowIssue } {
  const shown = col.personal ? maskValue(raw) : raw;
  const fail = (reason: string) => ({ value: null, issue: { line, column: col.header, value: shown, reason } });
  if (raw === '') {
    if (col.required) return fail('必須項目が空です');
    if (col.type === 'flag') return { value: false };
    return { value: isKey ? '' : null };
  }
  if (col.length !== undefined && codePointLength(raw) > col.length) return fail(`桁数超過 (${codePointLength(raw)} 文字 > ${col.length} 文字)`);
  switch (col.type) {
    case 'string':
      return { value: raw };
    case 'digits':
      return /^[0-9]+$/.test(raw) ? { value: raw } : fail('数字以外の文字があります');
    case 'integer':
      return /^-?[0-9]+$/.test(raw) ? { value: Number(raw) } : fail('整数ではありません');
    case 'flag':
      return raw === '0' || raw === '1' ? { value: raw === '1' } : fail('フラグは 0 または 1 です');
    case 'code': {
      const table = codeTables[col.code!]!;
      return table[raw] !== undefined ? { value: raw } : fail(`コード表 ${col.code} にない値です`);
    }
    case 'date':
      try {
        return { value: parseRegisterDate(raw) };
      } catch (e) {
        return fail((e as Error).message.replace(/: .*$/, ''));
      }
    case 'month':
      try {
        return { value: parseRegisterMonth(raw) };
      } catch (e) {
        return fail((e as Error).message.replace(/: .*$/, ''));
      }
  }
}

/**
 * Opens a linkage CSV: detects the encoding, reads the header, picks the layout edition from
 * it, and yields typed rows with their problems. Nothing is written here; the caller decides
 * what a problem means (the foundation loader rejects the file, the watcher applies thresholds).
 */
export async function openLinkageFile(file: string, specId: string, registry: LayoutRegistry, opts: ReadOptions = {}): Promise<OpenedFile> {
  const encoding = await detectEncoding(file, opts.encoding ?? 'auto');
  const gaiji = opts.gaiji ?? new GaijiMap();
  const hash = createHash('sha256');
  let bytes = 0;
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const tap = new PassThrough();
  raw.on('data', (chunk) => {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  });
  raw.on('error', (e) => tap.destroy(e));
  const parser = parse({ bom: true, skip_empty_lines: true, relax_column_count: true, info: true });
  const decoded = raw.pipe(decoderStream(encoding));
  decoded.on('error', (e) => parser.destroy(e));
  decoded.pipe(parser);

  const iterator = parser[Symbol.asyncIterator]() as AsyncIterator<{ record: string[]; info: { lines: number } }>;
  const first = await iterator.next().catch((e: Error) => {
    throw new LinkageFileError(file, [{ line: 1, reason: `ヘッダー行を読めません: ${e.message}` }]);
  });
  if (first.done) throw new LinkageFileError(file, [{ line: 1, reason: 'ファイルが空です (ヘッダー行がありません)' }]);
  const headers = first.value.record.map((h) => h.trim());
  const detected = registry.detect(specId, headers);
  if ('error' in detected) {
    raw.destroy();
    throw new LinkageFileError(file, [{ line: 1, reason: detected.error }]);
  }
  const layout = detected;
  const dupHeader = headers.find((h, i) => headers.indexOf(h) !== i);
  if (dupHeader) {
    raw.destroy();
    throw new LinkageFileError(file, [{ line: 1, column: dupHeader, reason: 'ヘッダーに同じ項目が 2 回あります' }]);
  }
  const differential = headers.includes(layout.processingKindHeader);
  const kindIndex = headers.indexOf(layout.processingKindHeader);
  const keySet = new Set(layout.keys);
  const legacy = gaiji.size > 0 || encoding.encoding === 'cp932';
  const jis = encoding.encoding === 'cp932' && (opts.cp932Mapping ?? 'jis') === 'jis';
  const plan = layout.columns
    .map((col) => ({ col, index: headers.indexOf(col.header), isKey: keySet.has(col.header) }))
    .filter((p) => p.index >= 0);

  async function* rows(): AsyncGenerator<ParsedRow> {
    for (;;) {
      let next: IteratorResult<{ record: string[]; info: { lines: number } }>;
      try {
        next = await iterator.next();
      } catch (e) {
        const err = e as Error & { lines?: number };
        const line = (err.lines ?? 0) || 0;
        const reason = /UTF-8/.test(err.message) ? err.message : `CSV の形式エラー (引用符の対応などを確認してください): ${err.message}`;
        yield { line, values: {}, processingKind: null, issues: [{ line, reason, fatal: true }], unmappedGaiji: 0 };
        return;
      }
      if (next.done) return;
      const { record, info } = next.value;
      const line = info.lines;
      const issues: RowIssue[] = [];
      if (record.length !== headers.length) {
        issues.push({ line, reason: `列数が違います (${record.length} 列、ヘッダーは ${headers.length} 列)` });
        yield { line, values: {}, processingKind: null, issues, unmappedGaiji: 0 };
        continue;
      }
      let unmappedGaiji = 0;
      const values: Record<string, unknown> = { ...layout.fixed };
      for (const p of plan) {
        let text = record[p.index]!;
        if (legacy) {
          const g = gaiji.apply(jis ? cp932ToJis(text) : text);
          text = g.text;
          unmappedGaiji += g.unmapped;
        }
        const { value, issue } = convert(p.col, text, line, p.isKey);
        if (issue) issues.push(issue);
        if (p.col.column) values[p.col.column] = value;
      }
      let processingKind: string | null = null;
      if (differential) {
        processingKind = record[kindIndex]!;
        if (!['1', '2', '3'].includes(processingKind)) issues.push({ line, column: layout.processingKindHeader, value: processingKind, reason: '処理区分は 1 (追加)・2 (更新)・3 (削除) です' });
      }
      yield { line, values, processingKind, issues, unmappedGaiji };
    }
  }

  let digest: string | undefined;
  return { file, layout, encoding, headers, differential, rows: rows(), sha256: () => (digest ??= hash.digest('hex')), bytesRead: () => bytes };
}
