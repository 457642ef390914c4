import { maskMyNumbers } from '../ops/logger.js';

/**
 * Redaction of command lines before they are stored or shown (the maintenance log must not become
 * a place where a password or a My Number waits to be read). Secrets are replaced, not dropped,
 * so the reader still sees that one was given.
 */
export const REDACTED = '[伏せ字]';

/** Option names whose value is a secret: `--password`, `--db-password`, `--token`, `--api-key`, … (not `--passwords-out`, a file). */
const SECRET_OPTION = /^--?(?:[a-z0-9]+[-_])*(?:password|passwd|passphrase|pw|pin|secret|token|api[-_]?key|private[-_]?key|credentials?)$/i;
/** `NAME=value` words whose name says secret (`password=…`, `MADOGUCHI_DB_PASSWORD=…`, `token=…`). */
const SECRET_ASSIGNMENT = /^([A-Za-z0-9_.-]*(?:pass(?:word|wd|phrase)?|secret|token|api[-_]?key|credential)[A-Za-z0-9_.-]*)=(.*)$/is;
/** Short forms that take a secret: `sqlcmd -P pw`, `--pass`, `--db-pass`. */
const SECRET_SHORT = /^(?:-P|--(?:[a-z0-9]+-)*pass)$/;
/** `curl -u user:pass`, `--user user:pass`: only the part after the colon (`-u` alone is a unit or a user). */
const USER_OPTION = /^(?:-u|--user)$/;
/** `mysql -pSECRET` (the value glued to the option). */
const GLUED_PASSWORD = /^-p(.+)$/;
/** An HTTP header carrying a credential: `Authorization: Bearer …`, `X-Api-Key: …`. */
const AUTH_HEADER = /^((?:proxy-)?authorization|x-api-key|cookie)\s*:/i;
/** A URL with a password: `scheme://user:secret@host`. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:)[^\s/@]+@/gi;

/** One argument list, as the program received it: values of secret options and assignments replaced, My Numbers masked. */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  let secretNext = false;
  let userNext = false;
  for (const word of argv) {
    if (userNext) {
      userNext = false;
      const colon = word.indexOf(':');
      if (colon >= 0) {
        out.push(`${word.slice(0, colon + 1)}${REDACTED}`);
        continue;
      }
    }
    if (USER_OPTION.test(word)) userNext = true;
    if (secretNext) {
      out.push(REDACTED);
      secretNext = false;
      continue;
    }
    const eq = word.indexOf('=');
    if (word.startsWith('-') && eq > 0 && SECRET_OPTION.test(word.slice(0, eq))) {
      out.push(`${word.slice(0, eq)}=${REDACTED}`);
      continue;
    }
    if (AUTH_HEADER.test(word)) {
      out.push(`${word.slice(0, word.indexOf(':') + 1)} ${REDACTED}`);
      continue;
    }
    if (GLUED_PASSWORD.test(word)) {
      out.push(`-p${REDACTED}`);
      continue;
    }
    if (word.startsWith('-') && eq < 0 && (SECRET_OPTION.test(word) || SECRET_SHORT.test(word))) {
      out.push(word);
      secretNext = true;
      continue;
    }
    const assignment = SECRET_ASSIGNMENT.exec(word);
    if (assignment && !word.startsWith('-')) {
      out.push(`${assignment[1]}=${REDACTED}`);
      continue;
    }
    out.push(maskMyNumbers(word.replace(URL_PASSWORD, `$1${REDACTED}@`)));
  }
  return out;
}

/**
 * A command line as one string (sudo's log: words separated by spaces, quoted with '…' when they
 * hold spaces). Split on unquoted spaces, redacted word by word, joined again.
 */
export function redactCommandLine(line: string): string {
  const words = line.match(/'[^']*'|"[^"]*"|\S+/g) ?? [];
  const bare = words.map((w) => (/^(['"]).*\1$/s.test(w) ? w.slice(1, -1) : w));
  return redactArgv(bare)
    .map((w, i) => (w === bare[i] ? words[i]! : /\s/.test(w) ? `'${w}'` : w))
    .join(' ');
}
