/** 和暦 (Japanese era) formatting for screens and forms; files keep 西暦. */
export interface Era {
  name: string;
  letter: string;
  start: string; // first day, YYYY-MM-DD
}

export const eras: readonly Era[] = [
  { name: '令和', letter: 'R', start: '2019-05-01' },
  { name: '平成', letter: 'H', start: '1989-01-08' },
  { name: '昭和', letter: 'S', start: '1926-12-25' },
  { name: '大正', letter: 'T', start: '1912-07-30' },
  { name: '明治', letter: 'M', start: '1868-01-25' },
];

export interface WarekiParts {
  era: string;
  year: number;
  month: number;
  day: number;
}

/**
 * Works on the text, not on a Date, so that non-calendar register dates (1999-02-29) still
 * format. The era is chosen by comparing the text with each era's first day.
 */
export function toWarekiParts(date: string): WarekiParts | null {
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(date);
  if (!m) return null;
  const era = eras.find((e) => date >= e.start);
  if (!era) return null;
  return {
    era: era.name,
    year: Number(m[1]) - Number(era.start.slice(0, 4)) + 1,
    month: Number(m[2]),
    day: Number(m[3]),
  };
}

/** `令和7年4月1日`; year 1 is written 元年. Falls back to the input when it is not a date. */
export function formatWareki(date: string | null | undefined): string {
  if (!date) return '';
  const p = toWarekiParts(date);
  if (!p) return date;
  return `${p.era}${p.year === 1 ? '元' : p.year}年${p.month}月${p.day}日`;
}
