import cron from 'node-cron';
import type { Knex } from 'knex';
import type { LinkageSettings } from '../../config/appConfig.js';
import { todayInJapan } from '../../domain/dates.js';
import type { Logger } from '../../ops/logger.js';

export interface MissingFileAlert {
  specId: string;
  date: string;
  expectedBy: string;
  message: string;
}

/** Start of the given Japanese calendar day, as a UTC instant. */
function startOfJapanDay(date: string): Date {
  return new Date(Date.parse(`${date}T00:00:00+09:00`));
}

function japanTime(now: Date): string {
  return new Date(now.getTime() + 9 * 3600_000).toISOString().slice(11, 16);
}

/**
 * For each spec with a deadline: past it today (JST) and no file applied (or re-dropped) since
 * midnight → an open `missingFile` alert; once a file has come, today's alert is resolved.
 * Returns the alerts still open for today.
 */
export async function checkMissingFiles(knex: Knex, settings: LinkageSettings, now: Date = new Date()): Promise<MissingFileAlert[]> {
  const today = todayInJapan(now);
  const since = startOfJapanDay(today);
  const open: MissingFileAlert[] = [];
  for (const [specId, s] of Object.entries(settings.specs)) {
    if (!s.expectedBy) continue;
    const arrived = await knex('linkage_runs').where({ spec_id: specId }).whereIn('result', ['applied', 'skipped']).andWhere('started_at', '>=', since).first('id');
    if (arrived) {
      await knex('linkage_alerts').where({ spec_id: specId, alert_date: today, kind: 'missingFile' }).whereNull('resolved_at').update({ resolved_at: now });
      continue;
    }
    if (japanTime(now) < s.expectedBy) continue;
    const message = `${specId} の本日分の連携ファイルが ${s.expectedBy} までに届いていません`;
    const exists = await knex('linkage_alerts').where({ spec_id: specId, alert_date: today, kind: 'missingFile' }).first('id');
    if (!exists) await knex('linkage_alerts').insert({ spec_id: specId, alert_date: today, kind: 'missingFile', message, raised_at: now });
    open.push({ specId, date: today, expectedBy: s.expectedBy, message });
  }
  return open;
}

/** Runs the check every five minutes; a new alert is logged as a warning once. */
export function startWatchdog(knex: Knex, settings: LinkageSettings, logger: Logger): { stop(): void } {
  const warned = new Set<string>();
  const task = cron.schedule('*/5 * * * *', async () => {
    try {
      for (const a of await checkMissingFiles(knex, settings)) {
        const key = `${a.specId}:${a.date}`;
        if (!warned.has(key)) logger.warn('linkage file missing', { specId: a.specId, date: a.date, expectedBy: a.expectedBy });
        warned.add(key);
      }
    } catch (e) {
      logger.error('linkage watchdog failed', { error: e });
    }
  }, { timezone: 'Asia/Tokyo', noOverlap: true, name: 'linkage-watchdog' });
  return { stop: () => void task.stop() };
}
