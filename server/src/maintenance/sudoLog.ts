import { open } from 'node:fs/promises';
import { redactCommandLine } from './redact.js';

/**
 * Sudo's own log file (`Defaults logfile=…, log_year, log_host, loglinelen=0`, written by the
 * maintenance_vpn role): one entry per command a maintenance user ran with sudo, e.g.
 *
 *   Dec  7 20:49:20 2026 : vendor1 : HOST=vm ; TTY=pts/0 ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/id -un
 *   Dec  7 20:49:20 2026 : vendor1 : command not allowed ; HOST=vm ; PWD=/tmp ; USER=root ; COMMAND=/usr/bin/cat /etc/shadow
 *
 * Without loglinelen=0 sudo wraps long entries onto lines indented by four spaces; those are joined.
 * A line that does not read as an entry is kept as such (shown, never dropped).
 */
export interface SudoEntry {
  kind: 'entry';
  line: number;
  file?: string;
  /** Local time of the server (sudo writes no zone). */
  at: Date;
  user: string;
  /** `command not allowed`, `3 incorrect password attempts`, …; null when the command ran. */
  refusal: string | null;
  host: string | null;
  tty: string | null;
  pwd: string | null;
  runAs: string | null;
  /** Redacted (secrets and My Numbers). */
  command: string;
}

export interface SudoUnreadable {
  kind: 'unreadable';
  line: number;
  /** Which file (the log or its rotated predecessor), when read from disk. */
  file?: string;
  /** Redacted too: a broken line can still hold a secret. */
  text: string;
  reason: string;
}

export type SudoLine = SudoEntry | SudoUnreadable;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const HEAD = /^([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) : ([^\s:;]+) : (.*)$/;
const HEAD_NO_YEAR = /^[A-Z][a-z]{2} {1,2}\d{1,2} \d{2}:\d{2}:\d{2} : /;
const FIELD = /^([A-Z_]+)=(.*)$/s;

function parseEntry(text: string, line: number): SudoLine {
  const unreadable = (reason: string): SudoUnreadable => ({ kind: 'unreadable', line, text: redactCommandLine(text), reason });
  const m = HEAD.exec(text);
  if (!m) {
    if (HEAD_NO_YEAR.test(text)) return unreadable('年がありません (sudoers の Defaults に log_year が必要です)');
    return unreadable('sudo の記録の形ではありません');
  }
  const month = MONTHS.indexOf(m[1]!);
  const at = new Date(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  if (month < 0 || Number.isNaN(at.getTime()) || at.getDate() !== Number(m[2])) return unreadable('日時が読めません');
  // COMMAND= is last and may itself hold " ; ": split the fields before it only.
  const rest = m[8]!;
  const cmdAt = rest.search(/(?:^| ; )COMMAND=/);
  if (cmdAt < 0) return unreadable('COMMAND= がありません (途中で切れた行)');
  const command = rest.slice(cmdAt).replace(/^ ; /, '').slice('COMMAND='.length);
  const fields = new Map<string, string>();
  let refusal: string | null = null;
  const before = cmdAt > 0 ? rest.slice(0, cmdAt).split(' ; ') : [];
  for (const [i, part] of before.entries()) {
    const f = FIELD.exec(part);
    if (f) fields.set(f[1]!, f[2]!);
    else if (i === 0) refusal = part;
    else return unreadable(`項目が読めません: ${part.slice(0, 40)}`);
  }
  if (!command.trim()) return unreadable('コマンドが空です');
  return {
    kind: 'entry',
    line,
    at,
    user: m[7]!,
    refusal,
    host: fields.get('HOST') ?? null,
    tty: fields.get('TTY') ?? null,
    pwd: fields.get('PWD') ?? null,
    runAs: fields.get('USER') ?? null,
    command: redactCommandLine(command),
  };
}

/**
 * The server runs with a small heap, and a maintenance user can make sudo log megabytes per refused
 * command (its full argv): only the last `SUDO_LOG_TAIL_BYTES` of a file are read, and each entry is
 * cut at `SUDO_ENTRY_MAX_CHARS`. A file cut this way begins with a line that says so (shown as
 * unreadable, with the number of bytes left out), never silently.
 */
export const SUDO_LOG_TAIL_BYTES = 4 * 1024 * 1024;
export const SUDO_ENTRY_MAX_CHARS = 4096;

async function readTail(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - SUDO_LOG_TAIL_BYTES);
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    let text = buf.toString('utf8');
    if (start > 0) {
      // The first line is cut in the middle: it is replaced by the note.
      const nl = text.indexOf('\n');
      text = `(この記録ファイルの先頭 ${start + Math.max(0, nl + 1)} バイトは大きすぎるため表示していません)\n${nl < 0 ? '' : text.slice(nl + 1)}`;
    }
    return text;
  } finally {
    await fh.close();
  }
}

/** Every line of the log, entries and unreadable lines in file order (line numbers of the file). */
export function parseSudoLog(text: string): SudoLine[] {
  const out: SudoLine[] = [];
  const lines = text.split('\n');
  let pending: { text: string; line: number } | null = null;
  const flush = () => {
    if (pending)
      out.push(
        parseEntry(
          pending.text.length > SUDO_ENTRY_MAX_CHARS ? `${pending.text.slice(0, SUDO_ENTRY_MAX_CHARS)}…(以下省略)` : pending.text,
          pending.line,
        ),
      );
    pending = null;
  };
  lines.forEach((raw, i) => {
    const l = raw.replace(/\r$/, '');
    if (l.startsWith('    ') && pending) {
      // sudo's own wrapping (loglinelen): the break replaced a space.
      pending.text += ` ${l.trimStart()}`;
      return;
    }
    flush();
    if (l.trim() === '') return;
    pending = { text: l, line: i + 1 };
  });
  flush();
  return out;
}

export type SudoLogRead =
  { state: 'ok'; file: string; lines: SudoLine[] } | { state: 'missing' | 'unreadable'; file: string; message: string };

/**
 * Reads the log and the one rotated before it (`<file>.1`, kept uncompressed by the role's
 * logrotate); a missing or unreadable file is a state the screen shows, not an error.
 */
export async function readSudoLog(file: string): Promise<SudoLogRead> {
  try {
    const current = await readTail(file);
    const previous = await readTail(`${file}.1`).catch(() => null);
    const lines = [
      ...(previous === null ? [] : parseSudoLog(previous).map((l) => ({ ...l, file: `${file}.1` }))),
      ...parseSudoLog(current).map((l) => ({ ...l, file })),
    ];
    return { state: 'ok', file, lines };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return { state: 'missing', file, message: 'sudo の記録ファイルがありません (保守用 VPN のロールを適用すると作られます)' };
    return { state: 'unreadable', file, message: `sudo の記録ファイルを読めません (${code ?? String(e)})` };
  }
}

/** The entries of one user within [from, to] (sudo's seconds: `from` is taken down to its second). */
export function sudoEntriesOf(lines: readonly SudoLine[], user: string, from: Date, to: Date): SudoEntry[] {
  const since = Math.floor(from.getTime() / 1000) * 1000;
  return lines.filter((l): l is SudoEntry => l.kind === 'entry' && l.user === user && l.at.getTime() >= since && l.at <= to);
}
