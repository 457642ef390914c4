import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCsv } from '../text/csv.js';
import { readTextFile } from '../text/files.js';
import { isValidMunicipalityCode } from './addresseeNo.js';
import { kanjiNumber } from './searchKeys.js';
import { isVariationSelector } from './text.js';
import { currentVariantTable, type VariantTable } from './variants.js';

/**
 * Splits an address typed as one string (a move-in's previous address, outside the town) into
 * what the core system's screens ask for: 都道府県, 市区町村 (with 郡 and 政令市の区), 町字,
 * 丁目, 番地, 号 and 方書 (docs/addresses.md). Pure: the national list of local governments
 * (`server/data/local-governments.csv`) is read once, on first use.
 *
 * Matching runs on a folded copy of the text (NFKC, variation selectors dropped, 異体字 folded
 * with the search-variant table, ヶ→ケ); every part returned is cut from the original text, so
 * 𠮷, 髙 and IVS survive. 都道府県 and 市区町村 names are returned as the list writes them.
 */

export const LOCAL_GOVERNMENTS_FILE = 'local-governments.csv';
const HEADER = ['団体コード', '種別', '都道府県', '郡', '市', '名称', 'よみ', '別表記'] as const;
const KINDS = ['都道府県', '政令市', '区', '特別区', '市', '町', '村'] as const;
export type LocalGovernmentKind = (typeof KINDS)[number];

/** One row of the list: a 都道府県, 市, 政令市, 政令市の区, 特別区, 町 or 村. */
export interface LocalGovernment {
  /** 全国地方公共団体コード, 6 digits with the check digit. */
  readonly code: string;
  readonly kind: LocalGovernmentKind;
  readonly prefecture: string;
  /** 郡名 of a 町村 in a 郡 (虻田郡), else ''. */
  readonly county: string;
  /** For a 区: the 政令市 it belongs to, else ''. */
  readonly city: string;
  readonly name: string;
  /** Reading in hiragana. */
  readonly kana: string;
  /** Other ways the name is written (八丈島八丈町, 檮原町). */
  readonly aliases: readonly string[];
}

export interface ParsedAddress {
  /** The input, exactly. */
  whole: string;
  /** A leading 〒 postal code, 7 digits, when one was typed. */
  postalCode?: string;
  /** JIS X 0401 code, 2 digits. Filled in from the 市区町村 when the text has no 都道府県. */
  prefecture: { name: string; code: string };
  /** For a 政令市, `code` is the city's and `ward` the 区. `county` is the list's 郡, typed or not. */
  municipality: { name: string; code: string; county?: string; ward?: { name: string; code: string } };
  /** 町字 as written (大字/字 kept); '' when the text has none. */
  town: string;
  /** Numbers in half-width digits (漢数字 converted), as written otherwise (leading zeros kept). */
  chome?: string;
  banchi?: string;
  go?: string;
  /** 方書: building, room (after a space or after the 号/番地 part). */
  suffix?: string;
}

export interface AddressParseError {
  error: string;
}

/** A line of the list that cannot be used, named as `file:line: reason`. */
export class LocalGovernmentListError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = 'LocalGovernmentListError';
  }
}

/**
 * Reads the list: `#` lines and empty lines skipped, then the header, then one body per line.
 * Codes must carry a valid check digit and be unique; every 区 names a 政令市 of its 都道府県.
 */
export function parseLocalGovernments(text: string, file: string): LocalGovernment[] {
  const fail = (line: number, reason: string): never => {
    throw new LocalGovernmentListError(file, line, reason);
  };
  const rows: LocalGovernment[] = [];
  const lineOf = new Map<string, number>();
  let header = false;
  for (const [i, raw] of text
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\r|\n/)
    .entries()) {
    const line = i + 1;
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    let fields: string[];
    try {
      fields = parseCsv(raw)[0] ?? [];
    } catch (e) {
      return fail(line, `CSV として読めません (${(e as Error).message})`);
    }
    if (!header) {
      if (fields.join(',') !== HEADER.join(',')) fail(line, `見出しは「${HEADER.join(',')}」です`);
      header = true;
      continue;
    }
    const [code = '', kind = '', prefecture = '', county = '', city = '', name = '', kana = '', aliases = ''] = fields;
    if (!isValidMunicipalityCode(code)) fail(line, `団体コード「${code}」は 6 桁で検査数字が合う番号ではありません`);
    if (lineOf.has(code)) fail(line, `団体コード ${code} は ${lineOf.get(code)} 行目にもあります`);
    if (!(KINDS as readonly string[]).includes(kind)) fail(line, `種別「${kind}」は ${KINDS.join('・')} のどれでもありません`);
    if (!name || !prefecture) fail(line, '都道府県と名称は必須です');
    if ((kind === '区') !== (city !== '')) fail(line, '「市」は政令市の区だけに書きます');
    if (kind === '都道府県' && (code.slice(2, 5) !== '000' || name !== prefecture)) fail(line, `都道府県の行 (${code}) が正しくありません`);
    lineOf.set(code, line);
    rows.push({
      code,
      kind: kind as LocalGovernmentKind,
      prefecture,
      county,
      city,
      name,
      kana,
      aliases: aliases ? aliases.split('|') : [],
    });
  }
  if (!header) fail(0, `見出し「${HEADER.join(',')}」がありません`);
  const prefByCode = new Map(rows.filter((r) => r.kind === '都道府県').map((r) => [r.code.slice(0, 2), r.name]));
  for (const r of rows) {
    const line = lineOf.get(r.code)!;
    if (prefByCode.get(r.code.slice(0, 2)) !== r.prefecture) fail(line, `都道府県「${r.prefecture}」が団体コード ${r.code} と合いません`);
    if (r.kind === '区' && !rows.some((c) => c.kind === '政令市' && c.name === r.city && c.prefecture === r.prefecture))
      fail(line, `政令市「${r.city}」が${r.prefecture}にありません`);
  }
  return rows;
}

/** The shipped list: `server/data/` of the repository or of the installed release (from `src/domain` or `dist/domain`, two up). */
export function localGovernmentsFile(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../data', LOCAL_GOVERNMENTS_FILE);
}

let list: readonly LocalGovernment[] | undefined;

/** Every body of the shipped list, in code order (read on first use). */
export function localGovernments(): readonly LocalGovernment[] {
  if (!list) {
    const file = localGovernmentsFile();
    if (!existsSync(file)) throw new LocalGovernmentListError(file, 0, 'ファイルがありません');
    list = parseLocalGovernments(readTextFile(file).text, file);
  }
  return list;
}

// ---------------------------------------------------------------------------------------------
// Folding for matching

interface Folded {
  /** The folded text, matched against. */
  s: string;
  /** For each UTF-16 unit of `s`, the offset in the original where its character starts; then the original's length. */
  at: number[];
}

const isCombining = (cp: number) => cp === 0x3099 || cp === 0x309a || cp === 0x309b || cp === 0x309c || cp === 0xff9e || cp === 0xff9f;

/**
 * NFKC per character (a base with its dakuten or variation selector), selectors dropped, 異体字
 * folded (髙→高), ヶ→ケ and ヵ→カ, ノ→の after a kanji or digit. Offsets map back to the original.
 */
function fold(text: string, folds: ReadonlyMap<string, string>): Folded {
  let s = '';
  const at: number[] = [];
  const cps = [...text];
  let offset = 0;
  for (let k = 0; k < cps.length;) {
    const start = offset;
    let cluster = cps[k]!;
    offset += cps[k]!.length;
    k++;
    while (k < cps.length && (isCombining(cps[k]!.codePointAt(0)!) || isVariationSelector(cps[k]!.codePointAt(0)!))) {
      cluster += cps[k]!;
      offset += cps[k]!.length;
      k++;
    }
    // Spacing ゛゜ would become a space and a combining mark under NFKC: make them combining.
    const nfkc = cluster
      .replace(/\u309B/g, '\u3099')
      .replace(/\u309C/g, '\u309A')
      .normalize('NFKC');
    for (const ch of nfkc) {
      if (isVariationSelector(ch.codePointAt(0)!)) continue;
      const out = (folds.get(ch) ?? ch).replace('ヶ', 'ケ').replace('ヵ', 'カ');
      s += out;
      for (let u = 0; u < out.length; u++) at.push(start);
    }
  }
  at.push(text.length);
  return { s: s.replace(/(?<=[\p{Script=Han}0-9])ノ/gu, 'の'), at };
}

const isSpace = (c: string | undefined) => c !== undefined && /\s/u.test(c);
const skipSpaces = (s: string, i: number) => {
  while (isSpace(s[i])) i++;
  return i;
};

/** Where `key` ends when it is written at `i` (spaces between its characters allowed), or -1. */
function matchAt(s: string, i: number, key: string): number {
  let j = i;
  for (let k = 0; k < key.length; k++) {
    if (k > 0) j = skipSpaces(s, j);
    if (s[j] !== key[k]) return -1;
    j++;
  }
  return j;
}

// ---------------------------------------------------------------------------------------------
// The index of names

interface Form {
  key: string;
  gov: LocalGovernment;
}

interface Index {
  folds: ReadonlyMap<string, string>;
  prefectures: Form[];
  /** 市区町村 (政令市, 市, 特別区, 町, 村) by 2-digit prefecture code, with their 郡 forms and aliases. */
  byPrefecture: Map<string, Form[]>;
  all: Form[];
  /** 区 of each 政令市, by the city's code. */
  wards: Map<string, Form[]>;
  /** 都道府県 by JIS code (2 digits). */
  prefectureOf: Map<string, LocalGovernment>;
}

function buildIndex(folds: ReadonlyMap<string, string>): Index {
  const key = (name: string) => fold(name, folds).s.replace(/\s/gu, '');
  const govs = localGovernments();
  const built: Index = { folds, prefectures: [], byPrefecture: new Map(), all: [], wards: new Map(), prefectureOf: new Map() };
  for (const gov of govs) {
    const names = [gov.name, ...gov.aliases];
    if (gov.kind === '都道府県') {
      built.prefectures.push({ key: key(gov.name), gov });
      built.prefectureOf.set(gov.code.slice(0, 2), gov);
    } else if (gov.kind === '区') {
      const city = govs.find((c) => c.kind === '政令市' && c.name === gov.city && c.prefecture === gov.prefecture)!;
      const wards = built.wards.get(city.code) ?? [];
      for (const n of names) wards.push({ key: key(n), gov });
      built.wards.set(city.code, wards);
    } else {
      const forms = names.flatMap((n) => (gov.county ? [n, gov.county + n] : [n])).map((n) => ({ key: key(n), gov }));
      const pref = gov.code.slice(0, 2);
      built.byPrefecture.set(pref, [...(built.byPrefecture.get(pref) ?? []), ...forms]);
      built.all.push(...forms);
    }
  }
  return built;
}

let exactIndex: Index | undefined;
let variantIndex: { table: VariantTable; index: Index } | undefined;

/** Names as written (NFKC, selectors dropped, ヶ→ケ): 鹿嶋市 and 鹿島市 stay apart. */
const exactNames = () => (exactIndex ??= buildIndex(new Map()));

/** Names with 異体字 folded by the search-variant table in use (髙知県 → 高知県). */
function variantNames(): Index {
  const table = currentVariantTable();
  if (variantIndex?.table !== table) variantIndex = { table, index: buildIndex(table.folds) };
  return variantIndex.index;
}

/** The forms written at `i` that reach furthest, and where they end. */
function longest(s: string, i: number, forms: readonly Form[]): { end: number; govs: LocalGovernment[] } {
  let end = -1;
  let govs: LocalGovernment[] = [];
  for (const f of forms) {
    const e = matchAt(s, i, f.key);
    if (e < 0 || e < end) continue;
    if (e > end) {
      end = e;
      govs = [];
    }
    if (!govs.includes(f.gov)) govs.push(f.gov);
  }
  return { end, govs };
}

// ---------------------------------------------------------------------------------------------
// 丁目・番地・号

const KNUM = '〇一二三四五六七八九十百千';
// After NFKC: － is '-', ｰ is ー; ー and the box-drawing lines count only between numbers (the grammar needs a number after).
const DASHES = '-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\uFE63ー─━';
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isKanjiDigit = (c: string | undefined) => c !== undefined && KNUM.includes(c);
const isNumeral = (c: string | undefined) => isDigit(c) || isKanjiDigit(c);
const isHan = (c: string | undefined) => c !== undefined && /\p{Script=Han}/u.test(c);

type Marker = '' | '丁目' | '番地' | '番' | '号';

interface Num {
  value: string;
  kanji: boolean;
  /** End of the digits. */
  end: number;
  marker: Marker;
  /** End of the digits and the marker. */
  after: number;
}

function readNumber(s: string, q: number): { value: string; kanji: boolean; end: number } | null {
  let e = q;
  if (isDigit(s[q])) {
    while (isDigit(s[e])) e++;
    return { value: s.slice(q, e), kanji: false, end: e };
  }
  if (isKanjiDigit(s[q])) {
    while (isKanjiDigit(s[e])) e++;
    return { value: kanjiNumber(s.slice(q, e)), kanji: true, end: e };
  }
  return null;
}

function readMarker(s: string, q: number): { marker: Marker; end: number } {
  if (s.startsWith('丁目', q)) return { marker: '丁目', end: q + 2 };
  if (s.startsWith('番地', q)) return { marker: '番地', end: q + 2 };
  // 一番町, 二番丁, 五番街 are town names, not 番.
  if (s[q] === '番' && !'町丁街'.includes(s[q + 1] ?? '')) return { marker: '番', end: q + 1 };
  if (s[q] === '号') return { marker: '号', end: q + 1 };
  return { marker: '', end: q };
}

/** The numbers written from `p` (at most three), or null when `p` does not start a 丁目/番地 part. */
function readNumbers(s: string, p: number): { chome?: Num; banchi?: Num; go?: Num; end: number } | null {
  const nums: Num[] = [];
  let q = p;
  while (nums.length < 3) {
    const n = readNumber(s, q);
    if (!n) break;
    const m = readMarker(s, n.end);
    nums.push({ ...n, marker: m.marker, after: m.end });
    if (m.marker === '号') break;
    let r = m.end;
    if (m.marker === '丁目') r = skipSpaces(s, r);
    if ((DASHES.includes(s[r] ?? '\0') || s[r] === 'の') && isNumeral(s[r + 1])) r++;
    else if (m.marker === '') break; // a bare number goes on only after a dash or の
    if (!isNumeral(s[r])) break;
    q = r;
  }
  // A bare 漢数字 at the end, before a kanji, belongs to what follows (二番地三田ビル).
  while (nums.length > 1 && nums.at(-1)!.kanji && nums.at(-1)!.marker === '' && isHan(s[nums.at(-1)!.end])) nums.pop();
  const first = nums[0];
  if (!first) return null;
  // 漢数字 start a part only with a marker (一宮, 三田, 十日町 are names); a lone bare number
  // before a kanji is part of the name (北1条西, 第2地割).
  if (first.kanji && first.marker === '') return null;
  if (nums.length === 1 && first.marker === '' && isHan(s[first.end])) return null;
  if (nums.slice(1).some((n) => n.marker === '丁目')) return null;
  if (first.marker === '丁目') return { chome: first, banchi: nums[1], go: nums[2], end: nums.at(-1)!.after };
  if (first.marker === '' && nums.length === 3) return { chome: first, banchi: nums[1], go: nums[2], end: nums[2]!.after };
  const used = nums.slice(0, 2);
  return { banchi: used[0], go: used[1], end: used.at(-1)!.after };
}

// ---------------------------------------------------------------------------------------------

const list_ = (names: readonly string[]) => names.join('、');

/** What was typed from `i` up to a 市区町村 ending (for messages), as written. */
function written(text: string, f: Folded, i: number): string {
  const rest = f.s.slice(i);
  const m = /^[^\s0-9]{0,12}?[市区町村]/u.exec(rest) ?? /^[^\s0-9]{0,10}/u.exec(rest)!;
  const end = i + m[0].length;
  const cut = text.slice(f.at[i], f.at[end]);
  return cut || text.slice(f.at[i], f.at[Math.min(i + 10, f.s.length)]);
}

/**
 * Splits an address (see the module comment and docs/addresses.md). Refuses, with a message for
 * staff, a 市区町村 not in the list, one whose name is in several 都道府県 when none is typed,
 * and a 政令市 without its 区.
 */
export function parseAddress(text: string): ParsedAddress | AddressParseError {
  // Names as written first; only when none is found, with 異体字 folded.
  const exact = parseWith(text, exactNames());
  if (!('error' in exact) || exact.final) return 'error' in exact ? { error: exact.error } : exact;
  const folded = parseWith(text, variantNames());
  return 'error' in folded ? { error: folded.error } : folded;
}

/** `final`: folding 異体字 cannot help (nothing typed, or a name already found in several places). */
type Failure = AddressParseError & { final?: boolean };

function parseWith(text: string, idx: Index): ParsedAddress | Failure {
  const f = fold(text, idx.folds);
  const s = f.s;
  const orig = (from: number, to: number) => text.slice(f.at[from], f.at[to]);
  let i = skipSpaces(s, 0);
  if (i >= s.length) return { error: '住所が入力されていません', final: true };

  let postalCode: string | undefined;
  const zip = /^(?:〒\s*)?([0-9]{3})[-\u2010-\u2015\u2212ー]?([0-9]{4})(?![0-9])/u.exec(s.slice(i));
  if (zip) {
    postalCode = zip[1]! + zip[2]!;
    i = skipSpaces(s, i + zip[0].length);
  }

  let prefecture: LocalGovernment | undefined;
  for (const p of idx.prefectures) {
    const e = matchAt(s, i, p.key);
    if (e >= 0) {
      prefecture = p.gov;
      i = skipSpaces(s, e);
      break;
    }
  }
  if (prefecture && i >= s.length) return { error: `${prefecture.name}の後に市区町村名がありません` };

  const scope = prefecture ? (idx.byPrefecture.get(prefecture.code.slice(0, 2)) ?? []) : idx.all;
  const found = longest(s, i, scope);
  if (found.end < 0) {
    return prefecture
      ? { error: `市区町村名「${written(text, f, i)}」は${prefecture.name}にありません` }
      : { error: `市区町村名「${written(text, f, i)}」が見つかりません。都道府県から入力してください` };
  }
  if (found.govs.length > 1) {
    const name = orig(i, found.end).replace(/\s/gu, '');
    const prefs = [...new Set(found.govs.map((g) => g.prefecture))];
    if (prefs.length > 1)
      return { error: `市区町村名「${name}」は複数の都道府県にあります (${list_(prefs)})。都道府県から入力してください`, final: true };
    return {
      error: `市区町村名「${name}」は${prefs[0]}に複数あります (${list_(found.govs.map((g) => g.county || g.name))})。郡名から入力してください`,
      final: true,
    };
  }
  const gov = found.govs[0]!;
  prefecture ??= idx.prefectureOf.get(gov.code.slice(0, 2))!;
  i = skipSpaces(s, found.end);

  let ward: LocalGovernment | undefined;
  if (gov.kind === '政令市') {
    const wards = idx.wards.get(gov.code) ?? [];
    const w = longest(s, i, wards);
    const names = list_([...new Set(wards.map((x) => x.gov.name))]);
    if (w.end < 0) {
      const typed = i < s.length ? written(text, f, i) : '';
      return typed.endsWith('区')
        ? { error: `区名「${typed}」は${gov.name}にありません (${names})` }
        : { error: `${gov.name}の後に区名がありません (${names})` };
    }
    ward = w.govs[0]!;
    i = skipSpaces(s, w.end);
  }

  const result: ParsedAddress = {
    whole: text,
    ...(postalCode ? { postalCode } : {}),
    prefecture: { name: prefecture.name, code: prefecture.code.slice(0, 2) },
    municipality: {
      name: gov.name,
      code: gov.code,
      ...(gov.county ? { county: gov.county } : {}),
      ...(ward ? { ward: { name: ward.name, code: ward.code } } : {}),
    },
    town: '',
  };

  // 町字, then the 丁目/番地/号 part: the first place a number part starts.
  let numbers: ReturnType<typeof readNumbers> = null;
  let p = i;
  for (; p < s.length; p++) {
    if (!isNumeral(s[p])) continue;
    if (p > i && (isDigit(s[p]) ? isDigit(s[p - 1]) : isKanjiDigit(s[p - 1]))) continue;
    numbers = readNumbers(s, p);
    if (numbers) break;
  }
  const trimmed = (from: number, to: number) => orig(from, to).trim();
  if (!numbers) {
    const space = s.slice(i).search(/\s/u);
    if (space < 0) result.town = trimmed(i, s.length);
    else {
      result.town = trimmed(i, i + space);
      const suffix = trimmed(i + space, s.length);
      if (suffix) result.suffix = suffix;
    }
    return result;
  }
  result.town = trimmed(i, p);
  if (numbers.chome) result.chome = numbers.chome.value;
  if (numbers.banchi) result.banchi = numbers.banchi.value;
  if (numbers.go) result.go = numbers.go.value;
  let rest = skipSpaces(s, numbers.end);
  // A fourth number after a dash (1-2-3-405) is the room: the 方書 starts at its digits.
  if (DASHES.includes(s[rest] ?? '\0') && isDigit(s[rest + 1])) rest++;
  const suffix = trimmed(rest, s.length);
  if (suffix) result.suffix = suffix;
  return result;
}
