import type { Knex } from 'knex';
import { listMaintenance, type MaintenanceCommand, type MaintenanceSession } from './log.js';
import { readSudoLog, sudoEntriesOf, type SudoEntry, type SudoUnreadable } from './sudoLog.js';

/** A session with the sudo commands its login ran within it (from sudo's log file). */
export interface SessionReport extends MaintenanceSession {
  sudo: SudoEntry[];
}

export interface MaintenanceReport {
  from: Date;
  to: Date;
  sessions: SessionReport[];
  unattached: MaintenanceCommand[];
  truncated: boolean;
  sudoLog: { file: string; state: 'ok' | 'missing' | 'unreadable'; message: string | null };
  /** Lines of the sudo log that could not be read, whatever their date (so none is lost from view). */
  unreadable: SudoUnreadable[];
  unreadableTotal: number;
}

const UNREADABLE_SHOWN = 100;

/** The log of [from, to): the sessions, the `madoguchi` runs in and outside them, and each session's sudo commands. */
export async function maintenanceReport(
  knex: Knex,
  sudoLogFile: string,
  range: { from: Date; to: Date },
  now: Date = new Date(),
): Promise<MaintenanceReport> {
  const [log, sudo] = await Promise.all([listMaintenance(knex, range), readSudoLog(sudoLogFile)]);
  const lines = sudo.state === 'ok' ? sudo.lines : [];
  const unreadable = lines.filter((l): l is SudoUnreadable => l.kind === 'unreadable');
  return {
    ...range,
    sessions: log.sessions.map((s) => ({ ...s, sudo: sudoEntriesOf(lines, s.login, s.openedAt, s.closedAt ?? now) })),
    unattached: log.unattached,
    truncated: log.truncated,
    sudoLog: { file: sudoLogFile, state: sudo.state, message: sudo.state === 'ok' ? null : sudo.message },
    unreadable: unreadable.slice(-UNREADABLE_SHOWN),
    unreadableTotal: unreadable.length,
  };
}

/** The report as plain JSON (dates as ISO strings) for `maintenance list --json`. */
export function reportJson(r: MaintenanceReport): unknown {
  return JSON.parse(JSON.stringify(r)) as unknown;
}

/** 「1 時間 5 分」, 「45 分」, 「30 秒」 */
export function durationText(from: Date, to: Date): string {
  const s = Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
  if (s < 60) return `${s} 秒`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} 分` : `${Math.floor(m / 60)} 時間 ${m % 60} 分`;
}

/** The result of a run for people: 「終了コード 0」, or 「実行中または記録なし」 when no end was recorded. */
export const exitText = (c: MaintenanceCommand): string => (c.exitCode === null ? '終了の記録なし' : `終了コード ${c.exitCode}`);

/** The sudo entry's outcome: the command ran as <user>, or sudo refused it (and why, as sudo wrote it). */
export const sudoText = (e: SudoEntry): string => (e.refusal ? `拒否 (${e.refusal})` : `${e.runAs ?? '?'} として実行`);
