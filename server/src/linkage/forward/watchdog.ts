import cron from 'node-cron';
import type { Knex } from 'knex';
import type { LinkageSettings } from '../../config/appConfig.js';
import { JAPAN_TIME_ZONE, japanClock, startOfJapanDay, todayInJapan } from '../../domain/japanTime.js';
import type { Logger } from '../../ops/logger.js';
import { pruneArchive } from './watcher.js';

export interface MissingFileAlert {
  specId: string;
  date: string;
  expectedBy: string;
  message: string;
}

/**
 * For each spec with a deadline: past it today (JST) and no file applied (or re-dropped) since
 * midnight → an open `missingFile` alert; once a file has come, today's alert is resolved.
 * Returns the alerts still open for today.
 */
export interface CheckOptions {
  now?: Date;
  /** Dates the office is closed (openingHours.closedDates): no business-day file is expected. */
  closedDates?: readonly string[];
  /** Write alerts (the scheduled check) or only compute them (a status page). */
  record?: boolean;
}

export function isBusinessDay(date: string, closedDates: readonly string[] = []): boolean {
  const weekday = new Date(`${date}T00:00:00Z`).getUTCDay();
  return weekday !== 0 && weekday !== 6 && !closedDates.includes(date);
}

export async function checkMissingFiles(knex: Knex, settings: LinkageSettings, opts: CheckOptions = {}): Promise<MissingFileAlert[]> {
  const now = opts.now ?? new Date();
  const record = opts.record ?? true;
  const today = todayInJapan(now);
  const since = startOfJapanDay(today);
  const open: MissingFileAlert[] = [];
  for (const [specId, s] of Object.entries(settings.specs)) {
    if (!s.expectedBy) continue;
    if ((s.expectedOn ?? 'businessDays') === 'businessDays' && !isBusinessDay(today, opts.closedDates)) continue;
    // "As of now": a run after `now` (only possible when checking a past moment) does not count.
    const arrived = await knex('linkage_runs')
      .where({ spec_id: specId })
      .whereIn('result', ['applied', 'skipped'])
      .andWhere('started_at', '>=', since)
      .andWhere('started_at', '<=', now)
      .first('id');
    if (arrived) {
      if (record)
        await knex('linkage_alerts')
          .where({ spec_id: specId, alert_date: today, kind: 'missingFile' })
          .whereNull('resolved_at')
          .update({ resolved_at: now });
      continue;
    }
    if (japanClock(now) < s.expectedBy) continue;
    const message = `${specId} の本日分の連携ファイルが ${s.expectedBy} までに届いていません`;
    if (record) {
      const exists = await knex('linkage_alerts').where({ spec_id: specId, alert_date: today, kind: 'missingFile' }).first('id');
      if (!exists)
        await knex('linkage_alerts').insert({ spec_id: specId, alert_date: today, kind: 'missingFile', message, raised_at: now });
    }
    open.push({ specId, date: today, expectedBy: s.expectedBy, message });
  }
  return open;
}

/**
 * Runs the check every five minutes (a new alert is logged as a warning once) and prunes the
 * archive of applied files once a night.
 */
export function startWatchdog(
  knex: Knex,
  settings: LinkageSettings,
  logger: Logger,
  opts: { closedDates?: readonly string[]; root?: string } = {},
): { stop(): void } {
  const warned = new Set<string>();
  const prune = opts.root
    ? cron.schedule(
        '30 3 * * *',
        () => {
          const removed = pruneArchive(opts.root!, settings.archiveDays);
          if (removed) logger.info('linkage archive pruned', { removed, days: settings.archiveDays });
        },
        { timezone: JAPAN_TIME_ZONE, name: 'linkage-archive-prune' },
      )
    : undefined;
  const task = cron.schedule(
    '*/5 * * * *',
    async () => {
      try {
        for (const a of await checkMissingFiles(knex, settings, opts.closedDates ? { closedDates: opts.closedDates } : {})) {
          const key = `${a.specId}:${a.date}`;
          if (!warned.has(key)) logger.warn('linkage file missing', { specId: a.specId, date: a.date, expectedBy: a.expectedBy });
          warned.add(key);
        }
      } catch (e) {
        logger.error('linkage watchdog failed', { error: e });
      }
    },
    { timezone: JAPAN_TIME_ZONE, noOverlap: true, name: 'linkage-watchdog' },
  );
  return {
    stop: () => {
      void task.stop();
      void prune?.stop();
    },
  };
}
