import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCsv } from '../text/csv.js';
import { readTextFile } from '../text/files.js';
import { isVariationSelector } from './text.js';

/**
 * Variant kanji (異体字・旧字) folded to a common form for a *fallback* search key only; the
 * registered character is never replaced. No maintained npm package carries the MJ縮退マップ
 * (japanese-stack.md §3), so the table is data: `config/search-variants.csv` (異体字,代表字,備考),
 * hand-checked, replaced as a whole by a municipality's own file of that name in its `--config`
 * folder. Folding stays a pure function of the table set at start-up (`setVariantTable`); until
 * one is set, the shipped table is read on first use.
 */
export const VARIANT_TABLE_FILE = 'search-variants.csv';
const HEADER = ['異体字', '代表字', '備考'] as const;

export interface VariantTable {
  /** 異体字 → 代表字. */
  readonly folds: ReadonlyMap<string, string>;
  /** The file it was read from (for logs and messages). */
  readonly source: string;
  /** SHA-256 of the pairs in code-point order: part of the stored search-key fingerprint. */
  readonly sha256: string;
}

/** A line of the table that cannot be used, named as `file:line: reason`. */
export class VariantTableError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = 'VariantTableError';
  }
}

const codePoint = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/** The table from pairs, fingerprinted (no checks: `parseVariantTable` checks files). */
export function variantTableOf(pairs: Iterable<readonly [string, string]>, source = '(コード内)'): VariantTable {
  const folds = new Map(pairs);
  const canonical = [...folds]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([a, b]) => `${a}\t${b}\n`)
    .join('');
  return { folds, source, sha256: createHash('sha256').update(canonical).digest('hex') };
}

/**
 * Reads the table's text: `#` lines and empty lines are skipped; the first other line is the
 * header `異体字,代表字,備考`; then one pair per line. Each 異体字 and 代表字 is one character
 * (no variation selector); an 異体字 appears once; a 代表字 is never itself folded (a → b → c is
 * written a → c, which also rules out cycles). A compatibility ideograph that NFKC already merges
 * (塚 U+FA10 → 塚) may only be listed with that target, and is then left out (the key never holds it).
 */
export function parseVariantTable(text: string, file: string): VariantTable {
  const fail = (line: number, reason: string): never => {
    throw new VariantTableError(file, line, reason);
  };
  const pairs = new Map<string, { to: string; line: number }>();
  let header = false;
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    let fields: string[];
    try {
      // One line at a time, so that every message names its line (a quoted 備考 stays on its line).
      fields = (parseCsv(raw)[0] ?? []).map((f) => f.trim());
    } catch (e) {
      return fail(line, `CSV として読めません (${(e as Error).message})`);
    }
    if (!header) {
      if (fields.slice(0, 2).join(',') !== HEADER.slice(0, 2).join(',')) fail(line, `見出しは「${HEADER.join(',')}」です (「${raw}」)`);
      header = true;
      continue;
    }
    const [from = '', to = ''] = fields;
    const chars = (s: string) => [...s];
    if (chars(from).length !== 1 || chars(to).length !== 1) fail(line, `異体字と代表字は 1 文字ずつです (「${from}」「${to}」)`);
    for (const c of [from, to])
      if (isVariationSelector(c.codePointAt(0)!)) fail(line, `異体字セレクタ (${codePoint(c)}) だけの文字は書けません`);
    if (from === to) fail(line, `異体字と代表字が同じ文字です (「${from}」)`);
    if (to.normalize('NFKC') !== to)
      fail(line, `代表字「${to}」(${codePoint(to)}) は NFKC で「${to.normalize('NFKC')}」になる文字です。そちらを書いてください`);
    const merged = from.normalize('NFKC');
    if (merged !== from && merged !== to)
      fail(line, `「${from}」(${codePoint(from)}) は検索キーでは NFKC により「${merged}」になるため、代表字は「${merged}」です`);
    const before = pairs.get(from);
    if (before) fail(line, `異体字「${from}」は ${before.line} 行目にもあります`);
    if (merged === from) pairs.set(from, { to, line });
  }
  if (!header) fail(0, `見出し「${HEADER.join(',')}」がありません`);
  for (const [from, { to, line }] of pairs) {
    const next = pairs.get(to);
    if (next)
      fail(
        line,
        `代表字「${to}」が ${next.line} 行目で「${next.to}」に寄せられています (連鎖)。「${from}」の代表字は「${next.to}」と書いてください`,
      );
  }
  return variantTableOf(
    [...pairs].map(([from, { to }]) => [from, to] as const),
    file,
  );
}

/** Reads a table file (UTF-8; an Excel save as CP932 reads too). */
export function loadVariantTable(file: string): VariantTable {
  let text: string;
  try {
    text = readTextFile(file).text;
  } catch (e) {
    throw new VariantTableError(file, 0, (e as Error).message);
  }
  return parseVariantTable(text, file);
}

/**
 * The shipped table: `config/search-variants.csv` of the repository (from `server/src/domain` or
 * `server/dist/domain`, three folders up) or of the installed release (`app/server/dist/domain`,
 * four up: the bundle puts `config/` beside `app/`).
 */
export function shippedVariantTableFile(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [
    path.resolve(here, '../../../config', VARIANT_TABLE_FILE),
    path.resolve(here, '../../../../config', VARIANT_TABLE_FILE),
  ];
  return candidates.find((f) => existsSync(f)) ?? candidates[0]!;
}

/** The table for a configuration folder: its own `search-variants.csv` when present, else the shipped one. */
export function variantTableFor(configDir: string): VariantTable {
  const own = path.join(configDir, VARIANT_TABLE_FILE);
  return loadVariantTable(existsSync(own) ? own : shippedVariantTableFile());
}

let current: VariantTable | undefined;

/** Sets the table every later fold uses (at start-up, before any search key is made). */
export function setVariantTable(table: VariantTable): void {
  current = table;
}

/** The table in use: the one set, or the shipped one read on first use. */
export function currentVariantTable(): VariantTable {
  return (current ??= loadVariantTable(shippedVariantTableFile()));
}

/** Per table, a test for any of its 異体字: most names hold none, and are returned as they are. */
const anyVariant = new WeakMap<VariantTable, RegExp>();
function anyVariantOf(table: VariantTable): RegExp {
  let re = anyVariant.get(table);
  if (!re) {
    const chars = [...table.folds.keys()].map((k) => `\\u{${k.codePointAt(0)!.toString(16)}}`).join('');
    anyVariant.set(table, (re = new RegExp(`[${chars}]`, 'u')));
  }
  return re;
}

export function foldVariants(key: string): string {
  const table = currentVariantTable();
  if (!anyVariantOf(table).test(key)) return key;
  const folds = table.folds;
  let out = '';
  for (const ch of key) out += folds.get(ch) ?? ch;
  return out;
}
