/**
 * What counter staff type as a date (birth dates in resident search): 和暦 with an era letter or
 * kanji, テンキー era codes, digits only with the screen's era selector, or 西暦. The era table and
 * its boundaries come from wareki.ts; an era ends the day before the next one starts.
 */
import { addDays, isCalendarDate } from './dates.js';
import { eras, formatWareki, toWarekiParts, type Era } from './wareki.js';

export type EraKey = 'M' | 'T' | 'S' | 'H' | 'R';
/** A day or a range (year only / year+month give the whole range). */
export type DateInput = { ok: true; from: string; to: string; label: string } | { ok: false; message: string };

const ERA_REQUIRED_MESSAGE = '元号を指定してください (例: S50.4.1、昭和50年4月1日、または元号キーを選んでから 500401)';
const EMPTY_MESSAGE = '日付を入力してください';

interface EraSpan {
  era: Era;
  start: string;
  /** Last day, or null for the current era. */
  end: string | null;
}

/** Oldest first; the position + 1 is the テンキー era code (1 = 明治 … 5 = 令和). */
const spans: readonly EraSpan[] = [...eras]
  .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))
  .map((era, i, all) => {
    const next = all[i + 1];
    return { era, start: era.start, end: next ? addDays(next.start, -1) : null };
  });

const firstSpan = spans[0]!;

function spanByLetter(letter: string): EraSpan | undefined {
  const l = letter.toUpperCase();
  return spans.find((s) => s.era.letter === l);
}

interface Parts {
  year: number;
  month?: number;
  day?: number;
}

// Separators between year, month and day: . / - space, and the dashes an IME may give for '-'.
const SEP = String.raw`(?:\s*[./\-‐‑‒–—―−ー・]\s*|\s+)`;
const ERA_YEAR = String.raw`(\d{1,3}|元)`;
const ERA_PACKED_RE = /^(\d{2})(\d{2})(\d{2})$/;
const ERA_KANJI_RE = new RegExp(String.raw`^${ERA_YEAR}\s*年\s*(?:(\d{1,2})\s*月\s*(?:(\d{1,2})\s*日)?)?$`);
const ERA_SEP_RE = new RegExp(String.raw`^${ERA_YEAR}(?:${SEP}(\d{1,2})(?:${SEP}(\d{1,2}))?)?$`);
const WESTERN_PACKED_RE = /^(\d{4})(\d{2})(\d{2})$/;
const WESTERN_KANJI_RE = /^(\d{4})\s*年\s*(?:(\d{1,2})\s*月\s*(?:(\d{1,2})\s*日)?)?$/;
const WESTERN_SEP_RE = new RegExp(String.raw`^(\d{4})(?:${SEP}(\d{1,2})(?:${SEP}(\d{1,2}))?)?$`);
const ERA_CODE_RE = /^([1-9])(\d{2})(\d{2})(\d{2})$/;

function toParts(m: RegExpExecArray): Parts {
  const parts: Parts = { year: m[1] === '元' ? 1 : Number(m[1]) };
  if (m[2] !== undefined) parts.month = Number(m[2]);
  if (m[3] !== undefined) parts.day = Number(m[3]);
  return parts;
}

/** The part after an era: `50.4.1`, `50 4 1`, `500401`, `50年4月1日`, `元年`, `50`, `50.4`. */
function parseEraBody(body: string): Parts | null {
  const m = ERA_PACKED_RE.exec(body) ?? ERA_KANJI_RE.exec(body) ?? ERA_SEP_RE.exec(body);
  return m ? toParts(m) : null;
}

function parseWesternBody(body: string): Parts | null {
  const m = WESTERN_PACKED_RE.exec(body) ?? WESTERN_KANJI_RE.exec(body) ?? WESTERN_SEP_RE.exec(body);
  return m ? toParts(m) : null;
}

/** Splits a leading era (letter, 明治…令和, or 明/大/昭/平/令) from the rest. */
function splitEra(s: string): { span: EraSpan; body: string } | null {
  const letter = /^([A-Za-z])\s*(.*)$/.exec(s);
  if (letter) {
    const span = spanByLetter(letter[1]!);
    return span ? { span, body: letter[2]! } : null;
  }
  for (const span of spans) {
    const name = span.era.name;
    if (s.startsWith(name)) return { span, body: s.slice(name.length).trim() };
  }
  for (const span of spans) {
    if (s.startsWith(span.era.name.charAt(0))) return { span, body: s.slice(1).trim() };
  }
  return null;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `64年1月7日`, `元年1月8日`: a day written within its own era. */
function eraRelative(date: string): string {
  const p = toWarekiParts(date);
  if (!p) return date;
  return `${p.year === 1 ? '元' : p.year}年${p.month}月${p.day}日`;
}

function yearLabel(era: string, year: number): string {
  return `${era}${year === 1 ? '元' : year}年`;
}

function labelFor(from: string, to: string, precision: 'year' | 'month' | 'day'): string {
  if (precision === 'day') return formatWareki(from);
  const one = (date: string): string => {
    const p = toWarekiParts(date);
    if (!p) return date;
    return yearLabel(p.era, p.year) + (precision === 'month' ? `${p.month}月` : '');
  };
  const a = one(from);
  const b = one(to);
  return a === b ? a : `${a}・${b}`;
}

/**
 * Turns parts into a checked day or range. `year` is 西暦 when `span` is null, else the era's year.
 * A year or month range is clipped to the era (or, for 西暦, to 明治 onwards).
 */
function resolve(text: string, parts: Parts, span: EraSpan | null): DateInput {
  if (parts.year === 0) {
    return { ok: false, message: `「${text}」は年が0です (最初の年は1年または元年と入力してください)` };
  }
  const westernYear = span ? Number(span.start.slice(0, 4)) + parts.year - 1 : parts.year;
  const y = pad(westernYear, 4);
  let from: string;
  let to: string;
  let precision: 'year' | 'month' | 'day';
  if (parts.month !== undefined && parts.day !== undefined) {
    from = to = `${y}-${pad(parts.month)}-${pad(parts.day)}`;
    if (!isCalendarDate(from)) return { ok: false, message: `「${text}」は存在しない日付です` };
    precision = 'day';
  } else if (parts.month !== undefined) {
    if (parts.month < 1 || parts.month > 12) return { ok: false, message: `「${text}」は存在しない月です` };
    from = `${y}-${pad(parts.month)}-01`;
    to = addDays(parts.month === 12 ? `${pad(westernYear + 1, 4)}-01-01` : `${y}-${pad(parts.month + 1)}-01`, -1);
    precision = 'month';
  } else {
    from = `${y}-01-01`;
    to = `${y}-12-31`;
    precision = 'year';
  }

  const start = span ? span.start : firstSpan.start;
  const end = span ? span.end : null;
  if (to < start) {
    if (!span) {
      return {
        ok: false,
        message: `「${text}」は${firstSpan.era.name}より前の日付です (${firstSpan.era.name}は${formatWestern(start)}から)`,
      };
    }
    return { ok: false, message: `「${text}」は${span.era.name}の期間外です (${span.era.name}は${eraRelative(start)}から)` };
  }
  if (end !== null && from > end && span) {
    return { ok: false, message: `「${text}」は${span.era.name}の期間外です (${span.era.name}は${eraRelative(end)}まで)` };
  }
  if (from < start) from = start;
  if (end !== null && to > end) to = end;
  return { ok: true, from, to, label: labelFor(from, to, precision) };
}

function formatWestern(date: string): string {
  return `${Number(date.slice(0, 4))}年${Number(date.slice(5, 7))}月${Number(date.slice(8, 10))}日`;
}

/**
 * Parses a date typed at the counter. `eraKey` is the screen's era selector: it applies only to
 * input without an era of its own (`500401`, `50.4.1`); a 4- or 8-digit year is always 西暦.
 */
export function parseDateInput(text: string, eraKey?: EraKey): DateInput {
  const s = text.normalize('NFKC').trim().replace(/\s+/g, ' ');
  if (s === '') return { ok: false, message: EMPTY_MESSAGE };
  const unreadable: DateInput = {
    ok: false,
    message: `「${s}」は日付として読み取れません (例: S50.4.1、昭和50年4月1日、1975-04-01)`,
  };

  const withEra = splitEra(s);
  if (withEra) {
    const parts = parseEraBody(withEra.body);
    return parts ? resolve(s, parts, withEra.span) : unreadable;
  }

  const code = ERA_CODE_RE.exec(s);
  if (code) {
    const span = spans[Number(code[1]) - 1];
    if (!span) return unreadable;
    return resolve(s, { year: Number(code[2]), month: Number(code[3]), day: Number(code[4]) }, span);
  }

  const western = parseWesternBody(s.replace(/^西暦\s*/, ''));
  if (western) return resolve(s, western, null);

  const bare = parseEraBody(s);
  if (bare) {
    const span = eraKey ? spanByLetter(eraKey) : undefined;
    return span ? resolve(s, bare, span) : { ok: false, message: ERA_REQUIRED_MESSAGE };
  }
  return unreadable;
}
