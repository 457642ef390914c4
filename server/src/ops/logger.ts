import path from 'node:path';
import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';

/**
 * A 12-digit run (half- or full-width, optionally grouped 4-4-4 by a space or hyphen) that is
 * not part of a longer number: the shape of a My Number. Masking every such run also masks some
 * harmless numbers; a My Number must never reach a log (番号法), so that trade is deliberate.
 */
const MY_NUMBER_RE = /(?<![0-9０-９])[0-9０-９]{4}[ \-－]?[0-9０-９]{4}[ \-－]?[0-9０-９]{4}(?![0-9０-９])/g;

export function maskMyNumbers(text: string): string {
  return text.replace(MY_NUMBER_RE, '[個人番号マスク]');
}

function maskDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskMyNumbers(value);
  if (typeof value === 'number' && Number.isInteger(value)) {
    const s = String(value);
    return s.length === 12 ? maskMyNumbers(s) : value;
  }
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error)
    return { name: value.name, message: maskMyNumbers(value.message), stack: value.stack && maskMyNumbers(value.stack) };
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskDeep(v, depth + 1);
  return out;
}

const maskFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    (info as Record<string, unknown>)[key] = maskDeep((info as Record<string, unknown>)[key]);
  }
  return info;
});

export interface LoggerOptions {
  dataDir?: string;
  level?: string;
  retainDays?: number;
  console?: boolean;
}

export type Logger = winston.Logger;

export function createLogger(opts: LoggerOptions = {}): Logger {
  const transports: winston.transport[] = [];
  if (opts.dataDir) {
    transports.push(
      new DailyRotateFile({
        dirname: path.join(opts.dataDir, 'logs'),
        filename: 'madoguchi-%DATE%.log',
        datePattern: 'YYYY-MM-DD',
        maxFiles: `${opts.retainDays ?? 400}d`,
        format: winston.format.json(),
      }),
    );
  }
  if (opts.console !== false) {
    transports.push(
      new winston.transports.Console({
        stderrLevels: ['error', 'warn', 'info', 'debug'],
        format: winston.format.combine(
          winston.format.printf((i) => {
            const { level, message, timestamp: _t, ...rest } = i;
            const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
            return `[${level}] ${String(message)}${extra}`;
          }),
        ),
      }),
    );
  }
  if (!transports.length) transports.push(new winston.transports.Console({ silent: true }));
  return winston.createLogger({
    level: opts.level ?? 'info',
    format: winston.format.combine(maskFormat(), winston.format.timestamp()),
    transports,
  });
}

const within = <T>(p: Promise<T>, ms: number): Promise<T | void> => Promise.race([p, new Promise<void>((r) => setTimeout(r, ms).unref())]);

/**
 * Flushes the file transports to disk before the process exits: the logger ends, each file
 * transport finishes taking writes, then its file stream is closed and flushed.
 */
export async function closeLogger(logger: Logger): Promise<void> {
  const files = logger.transports.filter((t): t is DailyRotateFile => t instanceof DailyRotateFile);
  const accepted = files.map((t) => new Promise<void>((resolve) => t.once('finish', () => resolve())));
  logger.end();
  await within(Promise.all(accepted), 3000);
  await within(
    Promise.all(
      files.map(
        (t) =>
          new Promise<void>((resolve) => {
            t.once('finish', () => resolve());
            t.close?.();
          }),
      ),
    ),
    3000,
  );
}
