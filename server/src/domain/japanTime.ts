import { formatWareki } from './wareki.js';

/**
 * Japan time (UTC+9, no daylight saving) in one place. The server may run with any TZ (containers
 * and CI run in UTC), so nothing here uses the process time zone: every function shifts by the
 * fixed offset and reads the UTC fields of the shifted instant.
 */
const OFFSET_MS = 9 * 3600_000;
const DAY_MS = 86_400_000;
const DATE_RE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;

/** The cron time zone for schedules that follow office hours. */
export const JAPAN_TIME_ZONE = 'Asia/Tokyo';

/** `YYYY-MM-DDTHH:mm:ss.sss` of the instant in Japan (no zone suffix). */
function shifted(d: Date): string {
  return new Date(d.getTime() + OFFSET_MS).toISOString().slice(0, 23);
}

/** Today's date in Japan, `YYYY-MM-DD`. */
export function todayInJapan(now: Date = new Date()): string {
  return shifted(now).slice(0, 10);
}

/** The instant a Japanese calendar day (`YYYY-MM-DD`) starts. */
export function startOfJapanDay(date: string): Date {
  if (!DATE_RE.test(date)) throw new Error(`not a date: ${date}`);
  return new Date(Date.parse(`${date}T00:00:00+09:00`));
}

/** Half-open bounds [from, to) of the Japanese days `from`…`to` (both inclusive), for `>=` / `<` queries. */
export function japanDayBounds(from: string, to: string = from): { from: Date; to: Date } {
  return { from: startOfJapanDay(from), to: new Date(startOfJapanDay(to).getTime() + DAY_MS) };
}

/** Whole days since the epoch, counted in Japan time (for business-day arithmetic). */
export function japanDayNumber(d: Date): number {
  return Math.floor((d.getTime() + OFFSET_MS) / DAY_MS);
}

/** `HH:mm` in Japan time. */
export function japanClock(d: Date): string {
  return shifted(d).slice(11, 16);
}

/** `YYYY-MM-DD HH:mm:ss` in Japan time, for people and CSV files. */
export function japanDateTime(d: Date | string): string {
  return shifted(typeof d === 'string' ? new Date(d) : d)
    .slice(0, 19)
    .replace('T', ' ');
}

/** `YYYYMMDD-HHmmss` in Japan time, for file and folder names. */
export function japanStamp(d: Date): string {
  const s = shifted(d);
  return `${s.slice(0, 4)}${s.slice(5, 7)}${s.slice(8, 10)}-${s.slice(11, 13)}${s.slice(14, 16)}${s.slice(17, 19)}`;
}

/** 和暦 date and `HH:mm` in Japan time (「令和8年12月7日 11:48」), or '' for no time. */
export function japanWarekiTime(t: Date | string | null | undefined): string {
  if (t === null || t === undefined || t === '') return '';
  const d = typeof t === 'string' ? new Date(t) : t;
  if (Number.isNaN(d.getTime())) return '';
  const s = shifted(d);
  return `${formatWareki(s.slice(0, 10))} ${s.slice(11, 16)}`;
}
