import { japanDayNumber } from '../../domain/japanTime.js';

export interface RetentionSettings {
  /** Keep at least this many verified backups, however old. */
  keepGenerations: number;
  /** Keep every backup until this many business days have fully passed after the day it was taken. */
  keepBusinessDays: number;
  /** Days the town hall is closed (`YYYY-MM-DD`), not counted as business days. */
  closedDates?: string[];
}

export interface RetentionCandidate {
  name: string;
  createdAt: Date;
  verified: boolean | null;
}

const DAY = 86_400_000;

/**
 * Business days that lie wholly between the day a backup was taken and today (both excluded),
 * on the Japanese calendar. A business day is a weekday not in `closedDates`. National holidays
 * are not computed: counting one as a business day only shortens the window by that day, and
 * the generation minimum still holds (a closed day can be listed in openingHours.closedDates).
 */
export function businessDaysBetween(taken: Date, now: Date, closedDates: readonly string[] = []): number {
  const closed = new Set(closedDates);
  let n = 0;
  for (let day = japanDayNumber(taken) + 1; day < japanDayNumber(now); day++) {
    const weekday = new Date(day * DAY).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    if (closed.has(new Date(day * DAY).toISOString().slice(0, 10))) continue;
    n++;
  }
  return n;
}

/**
 * Which backups to keep: the newest `keepGenerations` verified ones, every one younger than
 * `keepBusinessDays` full business days (any result, so that failures stay visible), and
 * always the newest verified one. A backup taken less than 24 hours ago is always within the
 * business-day window (at most one day boundary lies between), so 24 h are kept as well.
 */
export function planRetention<T extends RetentionCandidate>(
  entries: readonly T[],
  settings: RetentionSettings,
  now: Date,
): { keep: T[]; remove: T[] } {
  const newestFirst = [...entries].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  const keep = new Set<T>();
  const verified = newestFirst.filter((e) => e.verified === true);
  for (const e of verified.slice(0, Math.max(1, settings.keepGenerations))) keep.add(e);
  for (const e of newestFirst) {
    if (e.createdAt.getTime() > now.getTime() || businessDaysBetween(e.createdAt, now, settings.closedDates) < settings.keepBusinessDays)
      keep.add(e);
  }
  return { keep: newestFirst.filter((e) => keep.has(e)), remove: newestFirst.filter((e) => !keep.has(e)) };
}
