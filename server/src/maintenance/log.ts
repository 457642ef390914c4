import type { Knex } from 'knex';
import { appendAudit } from '../audit/trail.js';
import { dbDate, dbJson, insertReturningId } from '../db/values.js';
import type { MaintenanceCommandRow, MaintenanceSessionRow } from '../db/tables.generated.js';

/**
 * The remote maintenance log: the owner of `maintenance_sessions` (written by the sshd PAM hook)
 * and `maintenance_commands` (written around every run of the `madoguchi` command).
 */

/** What pam_exec hands over (PAM_TYPE, PAM_USER, …), plus the sshd process that pairs open and close. */
export interface PamEvent {
  type: string;
  user: string;
  rhost: string | null;
  service: string;
  tty: string | null;
  sshdPid: number | null;
  host: string | null;
}

export type PamOutcome = { kind: 'opened' | 'closed'; sessionId: number } | { kind: 'unmatched' } | { kind: 'ignored' };

const clip = (s: string | null, n: number) => (s === null ? null : s.slice(0, n));
const actorOfLogin = (login: string, address: string | null) => ({ staffLogin: clip(`ssh:${login}`, 64), clientAddress: address });

/** Records a session opening or closing; other PAM types (auth, account, password) are ignored. */
export async function recordPamEvent(knex: Knex, e: PamEvent, now: Date = new Date()): Promise<PamOutcome> {
  if (e.type === 'open_session') {
    return knex.transaction(async (trx) => {
      const id = await insertReturningId(trx, 'maintenance_sessions', {
        login: clip(e.user, 64),
        remote_address: clip(e.rhost, 64),
        service: clip(e.service, 32),
        tty: clip(e.tty, 64),
        sshd_pid: e.sshdPid,
        host: clip(e.host, 64),
        opened_at: now,
      });
      await appendAudit(
        trx,
        {
          ...actorOfLogin(e.user, e.rhost),
          action: 'maintenance.sessionOpen',
          targetKind: 'maintenanceSession',
          targetIds: [String(id)],
          result: 'success',
          detail: { service: e.service, tty: e.tty, host: e.host },
        },
        now,
      );
      return { kind: 'opened', sessionId: id } as const;
    });
  }
  if (e.type !== 'close_session') return { kind: 'ignored' };
  return knex.transaction(async (trx) => {
    // The same sshd process opens and closes a session: its pid pairs them; without it, the newest open one from the address.
    const candidates = (await trx('maintenance_sessions')
      .where({ login: e.user })
      .whereNull('closed_at')
      .orderBy('opened_at', 'desc')
      .orderBy('id', 'desc')
      .limit(50)) as MaintenanceSessionRow[];
    // Should sshd ever close from another process than it opened, the newest open session from the
    // same address (and terminal) is closed: a close is not lost, at worst two parallel sessions swap ends.
    const open =
      candidates.find((s) => e.sshdPid !== null && s.sshd_pid === e.sshdPid) ??
      candidates.find((s) => s.remote_address === e.rhost && s.tty === e.tty) ??
      candidates.find((s) => s.remote_address === e.rhost);
    await appendAudit(
      trx,
      {
        ...actorOfLogin(e.user, e.rhost),
        action: 'maintenance.sessionClose',
        targetKind: 'maintenanceSession',
        targetIds: open ? [String(open.id)] : [],
        result: open ? 'success' : 'failure',
        detail: open ? { service: e.service } : { service: e.service, reason: 'no open session' },
      },
      now,
    );
    if (!open) return { kind: 'unmatched' } as const;
    await trx('maintenance_sessions').where({ id: open.id }).update({ closed_at: now });
    return { kind: 'closed', sessionId: open.id } as const;
  });
}

/** One run of the `madoguchi` command as recorded when it starts (argv already redacted). */
export interface CommandRun {
  runId: string;
  osUser: string;
  sudoUser: string | null;
  clientAddress: string | null;
  argv: readonly string[];
  host: string | null;
  startedAt: Date;
}

/** The open session the run belongs to: the login's (the sudo user's, when run through sudo), preferably from the same address. */
async function sessionOf(knex: Knex, run: CommandRun): Promise<number | null> {
  const login = run.sudoUser ?? run.osUser;
  const open = (await knex('maintenance_sessions')
    .where({ login })
    .whereNull('closed_at')
    .orderBy('opened_at', 'desc')
    .orderBy('id', 'desc')
    .limit(20)) as MaintenanceSessionRow[];
  const sameAddress = open.find((s) => run.clientAddress !== null && s.remote_address === run.clientAddress);
  return (sameAddress ?? open[0])?.id ?? null;
}

const commandRow = (run: CommandRun, sessionId: number | null) => ({
  run_id: run.runId,
  session_id: sessionId,
  os_user: clip(run.osUser, 64),
  sudo_user: clip(run.sudoUser, 64),
  client_address: clip(run.clientAddress, 64),
  argv: JSON.stringify(run.argv),
  host: clip(run.host, 64),
  started_at: run.startedAt,
});

export async function recordCommandStart(knex: Knex, run: CommandRun): Promise<void> {
  await knex('maintenance_commands').insert(commandRow(run, await sessionOf(knex, run)));
}

/**
 * Records how a run ended. When its start row is not there (the run replaced the database, e.g.
 * `restore`), the whole run is written now, so the restored database still shows it.
 */
export async function recordCommandEnd(knex: Knex, run: CommandRun, exitCode: number, finishedAt: Date = new Date()): Promise<void> {
  const n = await knex('maintenance_commands').where({ run_id: run.runId }).update({ finished_at: finishedAt, exit_code: exitCode });
  if (!Number(n))
    await knex('maintenance_commands').insert({
      ...commandRow(run, await sessionOf(knex, run)),
      finished_at: finishedAt,
      exit_code: exitCode,
    });
}

export interface MaintenanceCommand {
  id: number;
  sessionId: number | null;
  osUser: string;
  sudoUser: string | null;
  clientAddress: string | null;
  argv: string[];
  host: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  exitCode: number | null;
}

export interface MaintenanceSession {
  id: number;
  login: string;
  remoteAddress: string | null;
  service: string;
  tty: string | null;
  host: string | null;
  openedAt: Date;
  closedAt: Date | null;
  commands: MaintenanceCommand[];
}

export interface MaintenanceLog {
  sessions: MaintenanceSession[];
  /** Runs outside any session in the period (timers, the UPS hook, a console login). */
  unattached: MaintenanceCommand[];
  /** More rows than LIST_LIMIT: the period should be narrowed. */
  truncated: boolean;
}

export const LIST_LIMIT = 500;

const fromCommandRow = (r: MaintenanceCommandRow): MaintenanceCommand => ({
  id: r.id,
  sessionId: r.session_id,
  osUser: r.os_user,
  sudoUser: r.sudo_user,
  clientAddress: r.client_address,
  argv: dbJson<string[]>(r.argv),
  host: r.host,
  startedAt: dbDate(r.started_at)!,
  finishedAt: dbDate(r.finished_at),
  exitCode: r.exit_code === null ? null : Number(r.exit_code),
});

/** Sessions that overlap [from, to) (still open ones included), newest first, with their runs; and the runs outside sessions. */
export async function listMaintenance(knex: Knex, range: { from: Date; to: Date }): Promise<MaintenanceLog> {
  const rows = (await knex('maintenance_sessions')
    .where('opened_at', '<', range.to)
    .andWhere((w) => void w.whereNull('closed_at').orWhere('closed_at', '>=', range.from))
    .orderBy('opened_at', 'desc')
    .orderBy('id', 'desc')
    .limit(LIST_LIMIT + 1)) as MaintenanceSessionRow[];
  const sessionRows = rows.slice(0, LIST_LIMIT);
  const ids = sessionRows.map((s) => s.id);
  const commandRows = ids.length
    ? ((await knex('maintenance_commands').whereIn('session_id', ids).orderBy('started_at').orderBy('id')) as MaintenanceCommandRow[])
    : [];
  const unattachedRows = (await knex('maintenance_commands')
    .whereNull('session_id')
    .where('started_at', '>=', range.from)
    .andWhere('started_at', '<', range.to)
    .orderBy('started_at', 'desc')
    .orderBy('id', 'desc')
    .limit(LIST_LIMIT + 1)) as MaintenanceCommandRow[];
  const commands = commandRows.map(fromCommandRow);
  return {
    sessions: sessionRows.map((s) => ({
      id: s.id,
      login: s.login,
      remoteAddress: s.remote_address,
      service: s.service,
      tty: s.tty,
      host: s.host,
      openedAt: dbDate(s.opened_at)!,
      closedAt: dbDate(s.closed_at),
      commands: commands.filter((c) => c.sessionId === s.id),
    })),
    unattached: unattachedRows.slice(0, LIST_LIMIT).map(fromCommandRow),
    truncated: rows.length > LIST_LIMIT || unattachedRows.length > LIST_LIMIT,
  };
}
