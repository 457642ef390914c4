import { eras, toWarekiParts } from '@madoguchi/server/domain/wareki';

/**
 * Values in scenarios: `{{ subject.birthDate | wareki }}`, `{{ head.name | default('') }}`, text
 * around the braces kept. A path reads the job's payload; filters shape the value the way the core
 * system's screen wants it (和暦, widths, codes).
 */
export type Maps = Readonly<Record<string, Readonly<Record<string, string>>>>;

export interface FilterCall {
  name: string;
  arg?: string;
}

export interface Expression {
  path: string[];
  filters: FilterCall[];
}

export type TemplatePart = string | Expression;

export class TemplateError extends Error {}

const era = (iso: string) => {
  const p = toWarekiParts(iso);
  if (!p) throw new TemplateError(`日付ではありません: ${iso}`);
  return { ...p, letter: eras.find((e) => e.name === p.era)!.letter };
};

const toFullWidth = (s: string) => s.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)).replace(/ /g, '\u3000');
const toKatakana = (s: string) => s.normalize('NFKC').replace(/[\u3041-\u3096]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60));

type Filter = (value: string, arg: string | undefined, maps: Maps) => string;

/** Every filter a scenario may use; the scenario check refuses any other name. */
export const filters: Readonly<Record<string, Filter>> = {
  /** `R8.11.20` */
  wareki: (v) => (v ? ((p) => `${p.letter}${p.year}.${p.month}.${p.day}`)(era(v)) : ''),
  /** `令和8年11月20日` (元年 for year 1) */
  warekiText: (v) => (v ? ((p) => `${p.era}${p.year === 1 ? '元' : p.year}年${p.month}月${p.day}日`)(era(v)) : ''),
  /** The era's letter (`R`), for an era drop-down. */
  era: (v) => (v ? era(v).letter : ''),
  eraName: (v) => (v ? era(v).era : ''),
  eraYear: (v) => (v ? String(era(v).year) : ''),
  month: (v) => (v ? String(era(v).month) : ''),
  day: (v) => (v ? String(era(v).day) : ''),
  fullwidth: (v) => toFullWidth(v),
  halfwidth: (v) => v.normalize('NFKC').replace(/\u3000/g, ' '),
  /** Hiragana and half-width kana to full-width katakana. */
  katakana: (v) => toKatakana(v),
  nospace: (v) => v.replace(/[\s\u3000]/g, ''),
  /** A code from the scenario's `maps:`; an unknown value stays as it is (the core system then refuses it). */
  map: (v, arg, maps) => {
    const table = maps[arg ?? ''];
    if (!table) throw new TemplateError(`変換表 ${arg ?? ''} がありません`);
    return table[v] ?? v;
  },
  default: (v, arg) => (v === '' ? (arg ?? '') : v),
  /** The first N characters (code points), for a field with a length limit. */
  first: (v, arg) => [...v].slice(0, Number(arg ?? '0')).join(''),
};

const exprRe = /\{\{(.*?)\}\}/g;
const filterRe = /^([A-Za-z]+)(?:\(\s*(?:'([^']*)'|"([^"]*)"|([A-Za-z0-9_.-]*))\s*\))?$/;
const pathRe = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

/** Parses a template; throws TemplateError naming what is wrong. */
export function parseTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of text.matchAll(exprRe)) {
    if (m.index! > last) parts.push(text.slice(last, m.index));
    const [head, ...rest] = m[1]!.split('|').map((s) => s.trim());
    if (!head || !pathRe.test(head)) throw new TemplateError(`値の指定「${m[0]}」が正しくありません (例: {{ subject.name }})`);
    const calls = rest.map((f) => {
      const fm = filterRe.exec(f);
      if (!fm) throw new TemplateError(`変換「${f}」の書き方が正しくありません (例: wareki, map(sex), default('0'))`);
      if (!(fm[1]! in filters)) throw new TemplateError(`変換「${fm[1]!}」はありません (使えるもの: ${Object.keys(filters).join(', ')})`);
      const arg = fm[2] ?? fm[3] ?? fm[4];
      return arg === undefined ? { name: fm[1]! } : { name: fm[1]!, arg };
    });
    parts.push({ path: head.split('.'), filters: calls });
    last = m.index! + m[0].length;
  }
  if (text.slice(last).includes('{{') || text.slice(last).includes('}}'))
    throw new TemplateError(`「{{」と「}}」の対応が取れていません: ${text}`);
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

function lookup(data: unknown, path: readonly string[]): string {
  let v: unknown = data;
  for (const key of path) {
    if (v === null || v === undefined || typeof v !== 'object') return '';
    v = (v as Record<string, unknown>)[key];
  }
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'true' : '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function renderTemplate(parts: readonly TemplatePart[], data: unknown, maps: Maps): string {
  return parts
    .map((p) => (typeof p === 'string' ? p : p.filters.reduce((v, f) => filters[f.name]!(v, f.arg, maps), lookup(data, p.path))))
    .join('');
}

/** A `when:` or a checkbox value: empty, `false`, `0` and `no` are false. */
export function truthy(s: string): boolean {
  return !['', 'false', '0', 'no'].includes(s.trim().toLowerCase());
}
