import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * The anchor file: the audit chain's head written outside the database, one line per anchor,
 * appended only (O_APPEND, fsync). Each line is seven tab-separated fields:
 *
 *   time  kind  seq  hash  start  prev  line-hash
 *
 * - time: ISO 8601 (UTC) when the anchor was written;
 * - kind: daily | backup | manual | prune;
 * - seq, hash: the chain head at that moment (the `audit.anchor` / `audit.prune` record that the
 *   same transaction appended, whose detail names this line);
 * - start: the sequence the chain starts at (1, or where the last retention prune cut it);
 * - prev: the line-hash of the line before (64 zeros on the first line);
 * - line-hash: SHA-256 of `prev⇥time⇥kind⇥seq⇥hash⇥start`, so that a line cannot be edited,
 *   removed or inserted without breaking every line after it.
 */
export const ANCHOR_KINDS = ['daily', 'backup', 'manual', 'prune'] as const;
export type AnchorKind = (typeof ANCHOR_KINDS)[number];

export const FIRST_PREV = '0'.repeat(64);
const HEX64 = /^[0-9a-f]{64}$/;
const INT = /^[0-9]+$/;

export interface AnchorLine {
  /** 1-based line number in the file. */
  line: number;
  at: string;
  kind: AnchorKind;
  seq: number;
  hash: string;
  start: number;
  prev: string;
  lineHash: string;
}

export interface AnchorFileRead {
  file: string;
  exists: boolean;
  /** The lines up to the first one that does not fit. */
  lines: AnchorLine[];
  /** The first line that does not fit the file's own hash chain, and why. */
  problem?: { line: number; seq: number | null; reason: string };
}

/** `<data>/audit-anchors.log` unless `audit.anchorFile` says otherwise (relative to the data directory). */
export function anchorFilePath(config: { audit: { anchorFile?: string } }, dataDir: string): string {
  return path.resolve(dataDir, config.audit.anchorFile ?? 'audit-anchors.log');
}

export function lineHash(prev: string, l: Pick<AnchorLine, 'at' | 'kind' | 'seq' | 'hash' | 'start'>): string {
  return createHash('sha256')
    .update([prev, l.at, l.kind, String(l.seq), l.hash, String(l.start)].join('\t'))
    .digest('hex');
}

function parseLine(text: string, n: number, prev: string): AnchorLine | { seq: number | null; reason: string } {
  const f = text.split('\t');
  const seq = f[2] !== undefined && INT.test(f[2]) ? Number(f[2]) : null;
  if (f.length !== 7) return { seq, reason: `項目の数が違います (${f.length} 個、7 個のはず)` };
  const [at, kind, , hash, start, p, h] = f as [string, string, string, string, string, string, string];
  if (Number.isNaN(Date.parse(at)) || !(ANCHOR_KINDS as readonly string[]).includes(kind) || seq === null || !HEX64.test(hash))
    return { seq, reason: '書式が正しくありません' };
  if (!INT.test(start) || !HEX64.test(p) || !HEX64.test(h)) return { seq, reason: '書式が正しくありません' };
  if (p !== prev) return { seq, reason: '前の行の行ハッシュと一致しません (行の削除・挿入・並べ替えの疑い)' };
  const line: AnchorLine = { line: n, at, kind: kind as AnchorKind, seq, hash, start: Number(start), prev: p, lineHash: h };
  if (lineHash(p, line) !== h) return { seq, reason: '行の内容が行ハッシュと一致しません (書き換えの疑い)' };
  return line;
}

/** Reads and checks the file's own hash chain; stops at the first line that does not fit. */
export function readAnchorFile(file: string): AnchorFileRead {
  if (!existsSync(file)) return { file, exists: false, lines: [] };
  const text = readFileSync(file, 'utf8');
  const lines: AnchorLine[] = [];
  if (!text) return { file, exists: true, lines };
  const raw = text.split('\n');
  const complete = raw.pop() === '';
  let prev = FIRST_PREV;
  for (let i = 0; i < raw.length; i++) {
    const parsed = parseLine(raw[i]!, i + 1, prev);
    if (!('line' in parsed)) return { file, exists: true, lines, problem: { line: i + 1, ...parsed } };
    lines.push(parsed);
    prev = parsed.lineHash;
  }
  if (!complete) {
    const n = raw.length + 1;
    return { file, exists: true, lines, problem: { line: n, seq: null, reason: '最終行が途中で切れています' } };
  }
  return { file, exists: true, lines };
}

/**
 * Appends one line (O_APPEND, created 0600) and fsyncs it, and the folder when the file is new.
 * `read` is the file as read by the caller under the audit chain's lock, so that two writers
 * never number the same line. Refuses to build on a file whose own chain is broken.
 */
export function appendAnchorLine(read: AnchorFileRead, l: Pick<AnchorLine, 'at' | 'kind' | 'seq' | 'hash' | 'start'>): AnchorLine {
  if (read.problem)
    throw new Error(`アンカーファイルの ${read.problem.line} 行目が壊れているため書き足しません (${read.file}): ${read.problem.reason}`);
  const prev = read.lines[read.lines.length - 1]?.lineHash ?? FIRST_PREV;
  const line: AnchorLine = { ...l, line: read.lines.length + 1, prev, lineHash: lineHash(prev, l) };
  const text = `${[line.at, line.kind, line.seq, line.hash, line.start, line.prev, line.lineHash].join('\t')}\n`;
  mkdirSync(path.dirname(read.file), { recursive: true, mode: 0o700 });
  const created = !existsSync(read.file);
  const fd = openSync(read.file, 'a', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (created) {
    const dir = openSync(path.dirname(read.file), 'r');
    try {
      fsyncSync(dir);
    } catch {
      // some filesystems cannot fsync a folder; the file itself is on disk
    } finally {
      closeSync(dir);
    }
  }
  return line;
}
