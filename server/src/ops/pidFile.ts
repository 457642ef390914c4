import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `<data-dir>/madoguchi.pid`: written by `madoguchi serve` and `madoguchi demo` once the server
 * listens, removed on a clean stop. `madoguchi ups-event LOWBATT|FSD` signals the process it
 * names; `madoguchi restore` refuses while that process runs. The file holds the pid alone (one
 * line), so that `kill $(cat madoguchi.pid)` keeps working for operators.
 *
 * A crash or a power cut leaves the file behind, and its number may since have been given to
 * another process. So a pid read from the file is trusted only after checking, on Linux, that
 * the process is still the one that wrote the file (`identify`).
 */
export const PID_FILE = 'madoguchi.pid';

/**
 * How much later than the pid file a process may appear to have started and still be its
 * writer. The server writes the file after it has started (seconds after the process began),
 * so the writer always started before the file; the allowance covers the rounding of the boot
 * clock and small clock corrections (a forward step of the wall clock while the server runs makes
 * it look younger). A larger step makes `signalServer` refuse: systemd's stop still sends SIGTERM.
 */
const START_SLACK_MS = 10_000;
/** Linux's USER_HZ, the unit of /proc/<pid>/stat's start time (100 on every architecture we run on). */
const CLOCK_TICKS_PER_SECOND = 100;

export const pidFilePath = (dataDir: string): string => path.join(dataDir, PID_FILE);

/** Writes this process's pid, under a temporary name then renamed, so that a reader never sees half a number. */
export function writePidFile(dataDir: string, pid: number = process.pid): string {
  const file = pidFilePath(dataDir);
  const tmp = path.join(dataDir, `.${PID_FILE}.${pid}.tmp`);
  writeFileSync(tmp, `${pid}\n`);
  renameSync(tmp, file);
  return file;
}

/** The pid in the file, or null when there is no file or it does not hold a pid. */
export function readPidFile(dataDir: string): number | null {
  let text: string;
  try {
    text = readFileSync(pidFilePath(dataDir), 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Removes the file if it still names `pid` (a newer server's file is left alone). */
export function removePidFile(dataDir: string, pid: number = process.pid): void {
  const current = readPidFile(dataDir);
  if (current === null || current === pid) rmSync(pidFilePath(dataDir), { force: true });
}

/** What the pid in the file is now. */
export type PidFileState =
  /** No pid file, or one that does not hold a pid. */
  | { state: 'none' }
  /** No process has that pid: a pid file left by a crash. */
  | { state: 'stale'; pid: number }
  /** A process has that pid but is not the server that wrote the file (`why`, for the operator, says how we know). */
  | { state: 'reused'; pid: number; why: string }
  /** The server that wrote the file. `verified` is false where /proc cannot be read (only the signal check ran). */
  | { state: 'running'; pid: number; verified: boolean };

export interface IdentifyOptions {
  /**
   * Also require that the process started before the pid file was written (default true). Off,
   * only the command line is compared: for callers that must not take a running server for a
   * stale file (restore), since a wall-clock step can make the server look younger than its file.
   */
  checkStartTime?: boolean;
}

/** The argument list of a process (/proc/<pid>/cmdline), or null where it cannot be read. */
function commandLine(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

/** When the process started (wall clock, ms), from /proc, or null where it cannot be read. */
function startedAt(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]); // field 22, starttime, counted from field 3
    const uptimeSeconds = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    if (!Number.isFinite(startTicks) || !Number.isFinite(uptimeSeconds)) return null;
    return Date.now() - (uptimeSeconds - startTicks / CLOCK_TICKS_PER_SECOND) * 1000;
  } catch {
    return null;
  }
}

/** True for `node …/madoguchi.js serve|demo …` and the like: a madoguchi server rather than another command or program. */
export function isServerCommand(args: readonly string[]): boolean {
  return args.some((a) => a.includes('madoguchi')) && args.some((a) => a === 'serve' || a === 'demo');
}

/** Whether the pid in `<data-dir>/madoguchi.pid` is still the server that wrote it. */
export function identify(dataDir: string, opts: IdentifyOptions = {}): PidFileState {
  const pid = readPidFile(dataDir);
  if (pid === null) return { state: 'none' };
  if (pid === process.pid) return { state: 'reused', pid, why: 'この処理自身の番号です' };
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to another user (the checks below still apply).
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return { state: 'stale', pid };
  }
  const args = commandLine(pid);
  if (args === null) return { state: 'running', pid, verified: false }; // no /proc here: trust the signal check
  if (!isServerCommand(args)) return { state: 'reused', pid, why: `別のプログラムです: ${args.join(' ').slice(0, 120)}` };
  if (opts.checkStartTime !== false) {
    const started = startedAt(pid);
    let written: number | null = null;
    try {
      written = statSync(pidFilePath(dataDir)).mtimeMs;
    } catch {
      // removed meanwhile: the start time cannot be compared
    }
    if (started !== null && written !== null && started > written + START_SLACK_MS)
      return { state: 'reused', pid, why: 'pid ファイルより後に起動したプロセスです' };
  }
  return { state: 'running', pid, verified: true };
}

/**
 * The pid of the running server of this data directory, or null. Only the command line is
 * compared (see `IdentifyOptions.checkStartTime`): taking a running server for a stopped one is
 * the mistake that matters here, refusing because of an unrelated madoguchi server is not.
 */
export function runningServerPid(dataDir: string): number | null {
  const s = identify(dataDir, { checkStartTime: false });
  return s.state === 'running' ? s.pid : null;
}

export type SignalResult =
  | { outcome: 'signalled'; pid: number }
  | { outcome: 'noPidFile' }
  | { outcome: 'notRunning'; pid: number }
  | { outcome: 'reused'; pid: number; why: string }
  | { outcome: 'failed'; pid: number; error: string };

/**
 * Sends `signal` to the server named by the pid file, only when that process is still the
 * server that wrote the file: a number reused by another program is never signalled.
 */
export function signalServer(dataDir: string, signal: NodeJS.Signals): SignalResult {
  const s = identify(dataDir);
  switch (s.state) {
    case 'none':
      return { outcome: 'noPidFile' };
    case 'stale':
      return { outcome: 'notRunning', pid: s.pid };
    case 'reused':
      return { outcome: 'reused', pid: s.pid, why: s.why };
    case 'running':
      try {
        process.kill(s.pid, signal);
        return { outcome: 'signalled', pid: s.pid };
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'ESRCH') return { outcome: 'notRunning', pid: s.pid }; // it ended between the check and the signal
        return { outcome: 'failed', pid: s.pid, error: err.message };
      }
  }
}
