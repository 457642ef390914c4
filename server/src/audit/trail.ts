import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { dbDate } from '../db/values.js';
import { japanDateTime, japanDayBounds, startOfJapanDay, todayInJapan } from '../domain/japanTime.js';
import { csvText } from '../text/index.js';
import { appendAnchorLine, readAnchorFile, type AnchorKind, type AnchorLine } from './anchorFile.js';

/** What happened, by whom, to what. Target ids only: never a My Number or a name. */
export interface AuditEntry {
  staffId?: number | null;
  staffLogin?: string | null;
  role?: string | null;
  counterId?: string | null;
  clientAddress?: string | null;
  action: string;
  targetKind?: string | null;
  targetIds?: readonly string[];
  result: 'success' | 'failure' | 'denied';
  /** Non-personal details (e.g. search conditions as keys, counts). */
  detail?: Record<string, unknown>;
}

export interface AuditRecord {
  seq: number;
  recordedAt: string;
  staffId: number | null;
  staffLogin: string | null;
  role: string | null;
  counterId: string | null;
  clientAddress: string | null;
  action: string;
  targetKind: string | null;
  targetIds: string[];
  result: string;
  detail: string | null;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/**
 * A text as the database will give it back: a lone surrogate (a login id or a path typed by
 * anyone) is stored as U+FFFD, so the hash is taken over that, or the chain would read as broken.
 */
function wellFormed<T extends string | null>(s: T): T {
  // String.prototype.toWellFormed (ES2024) is in Node 20; the project's lib setting predates it.
  return (s === null ? s : (s as string & { toWellFormed(): string }).toWellFormed()) as T;
}
export const ANCHOR_ACTION = 'audit.dailyAnchor';

/** The fields that are hashed, in a fixed order; any edit to one of them breaks the chain. */
export function recordHash(r: Omit<AuditRecord, 'hash'>): string {
  const canonical = JSON.stringify([
    r.seq,
    r.recordedAt,
    r.staffId,
    r.staffLogin,
    r.role,
    r.counterId,
    r.clientAddress,
    r.action,
    r.targetKind,
    r.targetIds,
    r.result,
    r.detail,
    r.prevHash,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export function fromRow(row: Record<string, unknown>): AuditRecord {
  return {
    seq: Number(row.seq),
    recordedAt: dbDate(row.recorded_at)!.toISOString(),
    staffId: row.staff_id === null || row.staff_id === undefined ? null : Number(row.staff_id),
    staffLogin: (row.staff_login as string | null) ?? null,
    role: (row.role as string | null) ?? null,
    counterId: (row.counter_id as string | null) ?? null,
    clientAddress: (row.client_address as string | null) ?? null,
    action: String(row.action),
    targetKind: (row.target_kind as string | null) ?? null,
    targetIds: row.target_ids ? (JSON.parse(String(row.target_ids)) as string[]) : [],
    result: String(row.result),
    detail: (row.detail as string | null) ?? null,
    prevHash: String(row.prev_hash),
    hash: String(row.hash),
  };
}

/** A record as the `audit_trail` row that holds it (the tests rewrite rows with it to tamper). */
export function toAuditRow(r: AuditRecord) {
  return {
    seq: r.seq,
    recorded_at: new Date(r.recordedAt),
    staff_id: r.staffId,
    staff_login: r.staffLogin,
    role: r.role,
    counter_id: r.counterId,
    client_address: r.clientAddress,
    action: r.action,
    target_kind: r.targetKind,
    target_ids: JSON.stringify(r.targetIds),
    result: r.result,
    detail: r.detail,
    prev_hash: r.prevHash,
    hash: r.hash,
  };
}

async function insertRecord(trx: Knex.Transaction, r: AuditRecord): Promise<void> {
  await trx('audit_trail').insert(toAuditRow(r));
}

/**
 * Appends to the audit trail inside the caller's transaction, so that the record commits or
 * rolls back with the change it describes. The first record of a Japanese calendar day is
 * preceded by an anchor for the day before (its record count and last hash), which can be
 * printed or sent elsewhere as an outside checkpoint.
 */
/**
 * Counts the records appended while a request runs, so the HTTP kit can tell whether a handler that
 * served personal data audited it itself, and audit it when it did not (http/kit.ts).
 */
const auditScope = new AsyncLocalStorage<{ appended: number }>();

/** Runs `fn`, returning what it returned and how many audit records it appended. */
export async function withAuditCount<T>(fn: () => Promise<T>): Promise<{ value: T; appended: number }> {
  const store = { appended: 0 };
  const value = await auditCounted(store, fn);
  return { value, appended: store.appended };
}

/** Runs `fn`, counting the records it appends in `store` (readable also when `fn` throws). */
export function auditCounted<T>(store: { appended: number }, fn: () => Promise<T>): Promise<T> {
  return auditScope.run(store, fn);
}

export async function appendAudit(trx: Knex.Transaction, entry: AuditEntry, now: Date = new Date()): Promise<AuditRecord> {
  // Writing the head row first takes its lock, which serialises concurrent appends.
  const locked = Number(
    await trx('audit_chain_head')
      .where({ id: 1 })
      .update({ seq: trx.raw('seq') }),
  );
  if (!locked) await trx('audit_chain_head').insert({ id: 1, seq: 0, hash: GENESIS_HASH, last_day: null });
  const head = (await trx('audit_chain_head').where({ id: 1 }).first()) as { seq: number | string; hash: string; last_day: string | null };
  let seq = Number(head.seq);
  let prev = head.hash;
  const today = todayInJapan(now);
  const append = async (e: AuditEntry, at: Date): Promise<AuditRecord> => {
    const base = {
      seq: ++seq,
      recordedAt: at.toISOString(),
      staffId: e.staffId ?? null,
      staffLogin: wellFormed(e.staffLogin ?? null),
      role: wellFormed(e.role ?? null),
      counterId: wellFormed(e.counterId ?? null),
      clientAddress: wellFormed(e.clientAddress ?? null),
      action: wellFormed(e.action),
      targetKind: wellFormed(e.targetKind ?? null),
      targetIds: (e.targetIds ?? []).map((id) => wellFormed(id)),
      result: wellFormed(e.result),
      detail: e.detail ? JSON.stringify(e.detail) : null,
      prevHash: prev,
    };
    const record = { ...base, hash: recordHash(base) };
    await insertRecord(trx, record);
    const scope = auditScope.getStore();
    if (scope) scope.appended++;
    prev = record.hash;
    return record;
  };
  if (head.last_day && head.last_day < today) {
    const count = (await trx('audit_trail')
      .where('recorded_at', '>=', startOfJapanDay(head.last_day))
      .andWhere('recorded_at', '<', startOfJapanDay(today))
      .count({ n: '*' })
      .first()) as { n: number | string };
    await append(
      { action: ANCHOR_ACTION, result: 'success', detail: { day: head.last_day, records: Number(count.n), lastHash: prev } },
      now,
    );
  }
  const record = await append(entry, now);
  await trx('audit_chain_head').where({ id: 1 }).update({ seq, hash: prev, last_day: today });
  return record;
}

/** Records that name where the chain starts (and, with an anchor file, the line they wrote). */
export const ANCHOR_RECORD_ACTION = 'audit.anchor';
export const PRUNE_ACTION = 'audit.prune';
const START_ACTIONS = [ANCHOR_RECORD_ACTION, PRUNE_ACTION];

interface StartDetail {
  kind: string;
  start: number;
  line: number | null;
}

function startDetail(r: { action: string; detail: string | null }): StartDetail | null {
  if (!START_ACTIONS.includes(r.action) || !r.detail) return null;
  try {
    const d = JSON.parse(r.detail) as { kind?: unknown; start?: unknown; line?: unknown };
    if (!Number.isInteger(d.start)) return null;
    return { kind: String(d.kind), start: Number(d.start), line: Number.isInteger(d.line) ? Number(d.line) : null };
  } catch {
    return null;
  }
}

/** Where the newest anchor or retention-prune record says the chain starts; null before the first one. */
async function recordedStart(knex: Knex): Promise<{ seq: number; start: number } | null> {
  const rows = (await knex('audit_trail')
    .whereIn('action', START_ACTIONS)
    .orderBy('seq', 'desc')
    .limit(20)
    .select('seq', 'action', 'detail')) as { seq: number | string; action: string; detail: string | null }[];
  for (const r of rows) {
    const d = startDetail(r);
    if (d) return { seq: Number(r.seq), start: d.start };
  }
  return null;
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  /** Anchor lines compared with the database (only when an anchor file was given). */
  anchors?: number;
  /** The first record that does not fit the chain or its anchors, and why. */
  broken?: { seq: number; reason: string };
}

export interface VerifyAuditOptions {
  /** The anchor file (anchorFile.ts) to check the database against; without it, the chain alone. */
  anchorFile?: string;
}

const BATCH = 2000;

async function* recordBatches(knex: Knex, fromAt?: Date, toAt?: Date): AsyncGenerator<AuditRecord[]> {
  let after = -1;
  for (;;) {
    let q = knex('audit_trail').where('seq', '>', after).orderBy('seq').limit(BATCH);
    if (fromAt) q = q.where('recorded_at', '>=', fromAt);
    if (toAt) q = q.where('recorded_at', '<', toAt);
    const rows = ((await q) as Record<string, unknown>[]).map(fromRow);
    if (!rows.length) return;
    yield rows;
    after = rows[rows.length - 1]!.seq;
    if (rows.length < BATCH) return;
  }
}

const anchorName = (l: AnchorLine) => `アンカーファイル ${l.line} 行目、${japanDateTime(l.at)}`;

/**
 * Recomputes the chain and checks it against its anchors:
 * - the chain starts at its first sequence: 1, or where the newest retention prune recorded the
 *   cut (an `audit.prune` / `audit.anchor` record, and the anchor file's newest line);
 * - each record's hash, its link to the one before, no gap in the sequence, and the head
 *   matching the last record;
 * - with an anchor file: the file's own line-hash chain; at every anchored sequence a record
 *   with the anchored hash; the head not below the newest anchor; and every line that a record
 *   says it wrote still in the file.
 * With `from`, the record before it is trusted as the starting point. Names the first broken record.
 */
export async function verifyAudit(
  knex: Knex,
  range: { from?: string; to?: string } = {},
  opts: VerifyAuditOptions = {},
): Promise<VerifyResult> {
  const fromAt = range.from ? startOfJapanDay(range.from) : undefined;
  const toAt = range.to ? japanDayBounds(range.to).to : undefined;
  const withAnchors = opts.anchorFile !== undefined;
  let checked = 0;
  let anchors = 0;
  const fail = (seq: number, reason: string): VerifyResult => ({
    ok: false,
    checked,
    ...(withAnchors ? { anchors } : {}),
    broken: { seq, reason },
  });

  const read = withAnchors ? readAnchorFile(opts.anchorFile!) : undefined;
  if (read?.problem) {
    const p = read.problem;
    return fail(
      p.seq ?? 0,
      `アンカーファイル (${read.file}) の ${p.line} 行目${p.seq !== null ? ` (連番 ${p.seq} のアンカー)` : ''}が正しくありません: ${p.reason}`,
    );
  }
  const lines = read?.lines ?? [];
  const newest = lines[lines.length - 1];

  let expectedStart: number | undefined;
  if (!fromAt) {
    const recorded = await recordedStart(knex);
    const dbStart = recorded?.start ?? 1;
    if (newest && newest.start !== dbStart)
      return fail(
        recorded?.seq ?? newest.seq,
        `チェーンの開始位置が監査ログ (連番 ${dbStart} から) とアンカー (${anchorName(newest)}: 連番 ${newest.start} から) で違います (保存期間による削除の記録の改ざんの疑い)`,
      );
    expectedStart = newest?.start ?? dbStart;
  }
  const anchored = new Map<number, AnchorLine>();
  for (const l of lines) if (expectedStart === undefined || l.seq >= expectedStart) anchored.set(l.seq, l);
  /** Records that say they wrote an anchor line. */
  const lineRefs: { line: number; seq: number }[] = [];

  let expectedPrev: string | undefined;
  let expectedSeq: number | undefined;
  let first: AuditRecord | undefined;
  let last: AuditRecord | undefined;
  let sinceAnchor = 0;
  for await (const batch of recordBatches(knex, fromAt, toAt)) {
    for (const r of batch) {
      if (!first) {
        first = r;
        sinceAnchor = r.seq;
        if (expectedStart !== undefined) {
          if (r.seq > expectedStart)
            return fail(
              expectedStart,
              `先頭の記録がありません: 連番 ${expectedStart}〜${r.seq - 1} が削除されています (チェーンは連番 ${expectedStart} から始まるはず: 先頭の削除の疑い)`,
            );
          if (r.seq < expectedStart)
            return fail(
              r.seq,
              `連番 ${r.seq} は保存期間による削除で消えているはずの記録です (チェーンは連番 ${expectedStart} から始まるはず: 削除の記録の改ざんの疑い)`,
            );
          expectedSeq = expectedStart;
          expectedPrev = expectedStart === 1 ? GENESIS_HASH : r.prevHash;
        }
      }
      if (expectedSeq !== undefined && r.seq !== expectedSeq)
        return fail(
          r.seq,
          r.seq > expectedSeq
            ? `連番が飛んでいます (${expectedSeq} から ${r.seq - 1} がありません: 削除の疑い)`
            : `連番が重複・逆行しています (${r.seq})`,
        );
      if (expectedPrev !== undefined && r.prevHash !== expectedPrev)
        return fail(r.seq, '直前の記録のハッシュと一致しません (挿入・削除・改ざんの疑い)');
      const { hash, ...rest } = r;
      if (recordHash(rest) !== hash) return fail(r.seq, '記録の内容がハッシュと一致しません (改ざんの疑い)');
      const anchor = anchored.get(r.seq);
      if (anchor) {
        if (anchor.hash !== hash)
          return fail(
            r.seq,
            `連番 ${r.seq} のハッシュがアンカー (${anchorName(anchor)}) と一致しません: 連番 ${sinceAnchor}〜${r.seq} のどこかが書き換えられ、それ以降のハッシュが計算し直されています (改ざんの疑い)`,
          );
        anchored.delete(r.seq);
        anchors++;
        sinceAnchor = r.seq + 1;
      }
      const d = startDetail(r);
      if (d?.line != null) lineRefs.push({ line: d.line, seq: r.seq });
      expectedPrev = hash;
      expectedSeq = r.seq + 1;
      last = r;
      checked++;
    }
  }

  if (!toAt) {
    const head = (await knex('audit_chain_head').where({ id: 1 }).first()) as { seq: number | string; hash: string } | undefined;
    if (!last && head && Number(head.seq) > 0 && !fromAt)
      return fail(expectedStart ?? 1, `記録が 1 件もありません (最終番号は ${Number(head.seq)} のはず: 全件削除の疑い)`);
    if (last && !head) return fail(last.seq + 1, 'チェーンの末尾の情報 (audit_chain_head) がありません (末尾の削除の疑い)');
    if (head && last && (Number(head.seq) !== last.seq || head.hash !== last.hash)) {
      return fail(last.seq + 1, `末尾の記録がありません (最終番号は ${Number(head.seq)} のはず: 削除の疑い)`);
    }
    const lastSeq = last?.seq ?? (head ? Number(head.seq) : 0);
    if (newest && newest.seq > lastSeq)
      return fail(
        lastSeq + 1,
        `末尾の記録がありません: 連番 ${lastSeq + 1}〜${newest.seq} が削除されています (${anchorName(newest)} には連番 ${newest.seq} までの記録があります: 末尾の削除の疑い)`,
      );
  }
  if (first && last) {
    for (const [seq, l] of anchored) {
      if (seq >= first.seq && seq <= last.seq)
        return fail(seq, `連番 ${seq} の記録がありません (${anchorName(l)} に記録があります: 削除の疑い)`);
    }
  }
  if (read) {
    for (const ref of lineRefs) {
      const l = lines[ref.line - 1];
      if (!l)
        return fail(
          ref.seq,
          read.exists
            ? `アンカーファイル (${read.file}) に ${ref.line} 行目がありません (連番 ${ref.seq} の記録がこの行を書いています: アンカーファイルの切り詰めの疑い)`
            : `アンカーファイル (${read.file}) がありません (連番 ${ref.seq} の記録がその ${ref.line} 行目を書いています: アンカーファイルの削除の疑い)`,
        );
      if (l.seq !== ref.seq)
        return fail(
          ref.seq,
          `アンカーファイル (${read.file}) の ${ref.line} 行目は連番 ${l.seq} のアンカーです (連番 ${ref.seq} の記録がこの行を書いています: アンカーファイルの差し替えの疑い)`,
        );
    }
  }
  return { ok: true, checked, ...(withAnchors ? { anchors } : {}) };
}

/** The export columns (documented in docs/data-dictionary.md). */
export const AUDIT_EXPORT_COLUMNS = [
  '連番',
  '日時',
  '職員ID',
  'ログインID',
  'ロール',
  '窓口',
  '端末アドレス',
  '操作',
  '対象種別',
  '対象ID',
  '結果',
  '詳細',
  '前ハッシュ',
  'ハッシュ',
] as const;

/** The records of the Japanese days `from`…`to` as CSV text (UTF-8 with BOM for Excel, CRLF). */
export async function exportAuditCsv(knex: Knex, range: { from: string; to: string }): Promise<string> {
  const { from: fromAt, to: toAt } = japanDayBounds(range.from, range.to);
  const rows = (
    (await knex('audit_trail').where('recorded_at', '>=', fromAt).andWhere('recorded_at', '<', toAt).orderBy('seq')) as Record<
      string,
      unknown
    >[]
  ).map(fromRow);
  const text = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  const lines = rows.map((r) =>
    [
      r.seq,
      japanDateTime(r.recordedAt),
      r.staffId,
      r.staffLogin,
      r.role,
      r.counterId,
      r.clientAddress,
      r.action,
      r.targetKind,
      r.targetIds.join(' '),
      r.result,
      r.detail,
      r.prevHash,
      r.hash,
    ].map(text),
  );
  return csvText(AUDIT_EXPORT_COLUMNS, lines, { bom: true });
}

/** The logger's `info`, so that this module does not depend on the ops layer. */
export interface AnchorLog {
  info(message: string, meta: Record<string, unknown>): unknown;
}

export interface AnchorWritten {
  kind: AnchorKind;
  at: string;
  /** The chain head: the `audit.anchor` (or `audit.prune`) record this anchor appended. */
  seq: number;
  hash: string;
  /** Where the chain starts. */
  start: number;
  /** The line in the anchor file (null when none was given). */
  line: number | null;
  file: string | null;
}

/** Takes the chain's lock (the head row) before the anchor file is read, as appendAudit does. */
async function lockChain(trx: Knex.Transaction): Promise<void> {
  await trx('audit_chain_head')
    .where({ id: 1 })
    .update({ seq: trx.raw('seq') });
}

/**
 * Inside the caller's transaction, under the chain's lock: appends the record naming the anchor
 * line (kind, start, line) and then the line itself, so that a file that cannot be written rolls
 * the record back.
 */
async function anchorInTransaction(
  trx: Knex.Transaction,
  o: { file?: string; kind: AnchorKind; action: string; start: number; extra?: Record<string, unknown>; now: Date },
): Promise<AnchorWritten> {
  const read = o.file !== undefined ? readAnchorFile(o.file) : undefined;
  if (read?.problem)
    throw new Error(`アンカーファイルの ${read.problem.line} 行目が壊れているため書き足しません (${read.file}): ${read.problem.reason}`);
  const line = read ? read.lines.length + 1 : null;
  const record = await appendAudit(
    trx,
    { staffLogin: 'system', action: o.action, result: 'success', detail: { kind: o.kind, start: o.start, line, ...o.extra } },
    o.now,
  );
  const written = read
    ? appendAnchorLine(read, { at: o.now.toISOString(), kind: o.kind, seq: record.seq, hash: record.hash, start: o.start })
    : null;
  return {
    kind: o.kind,
    at: o.now.toISOString(),
    seq: record.seq,
    hash: record.hash,
    start: o.start,
    line: written?.line ?? null,
    file: read?.file ?? null,
  };
}

/**
 * The hash in groups of 8 joined by `:`, as it goes to the log: the logger masks every run of
 * exactly 12 digits (the shape of a My Number), which about one SHA-256 in 30 contains.
 */
export function loggedHash(hash: string): string {
  return hash.replace(/(.{8})(?=.)/g, '$1:');
}

function logAnchor(log: AnchorLog | undefined, a: AnchorWritten, extra: Record<string, unknown> = {}): void {
  log?.info('audit anchor', { kind: a.kind, seq: a.seq, hash: loggedHash(a.hash), start: a.start, line: a.line, file: a.file, ...extra });
}

/**
 * Writes the chain head outside the database: appends an `audit.anchor` record, the line naming
 * it to the anchor file, and a JSON line `audit anchor` (seq, hash) to the system log. Daily (the
 * server's schedule), at every backup and on `madoguchi audit anchor`.
 */
export async function writeAnchor(
  knex: Knex,
  o: { file: string; kind: Exclude<AnchorKind, 'prune'>; log?: AnchorLog; now?: Date },
): Promise<AnchorWritten> {
  const now = o.now ?? new Date();
  const a = await knex.transaction(async (trx) => {
    await lockChain(trx);
    const newestLine = readAnchorFile(o.file).lines.at(-1);
    let start = newestLine?.start ?? (await recordedStart(trx))?.start;
    if (start === undefined) {
      // The first anchor ever: the chain starts where it starts now (pruned before anchors existed).
      const first = (await trx('audit_trail').min({ s: 'seq' }).first()) as { s: number | string | null } | undefined;
      const head = (await trx('audit_chain_head').where({ id: 1 }).first()) as { seq: number | string } | undefined;
      start = first?.s !== null && first?.s !== undefined ? Number(first.s) : Number(head?.seq ?? 0) + 1;
    }
    return anchorInTransaction(trx, { file: o.file, kind: o.kind, action: ANCHOR_RECORD_ACTION, start, now });
  });
  logAnchor(o.log, a);
  return a;
}

/**
 * Removes records older than the retention period (whole years, at least 1): every record up to
 * the newest one recorded before the cutoff, so that the chain stays one unbroken run. The same
 * transaction appends an `audit.prune` record saying where the chain now starts and, with an
 * anchor file, its line there, so that verification expects the new start instead of reporting
 * the removal. The daily anchors of the removed days remain in exports.
 */
export async function pruneAudit(
  knex: Knex,
  retentionYears: number,
  now: Date = new Date(),
  opts: { anchorFile?: string; log?: AnchorLog } = {},
): Promise<number> {
  if (!Number.isInteger(retentionYears) || retentionYears < 1) throw new Error('監査ログの保存期間は 1 年以上です');
  const cutoff = new Date(now);
  cutoff.setUTCFullYear(cutoff.getUTCFullYear() - retentionYears);
  const done = await knex.transaction(async (trx) => {
    await lockChain(trx);
    const cut = (await trx('audit_trail').where('recorded_at', '<', cutoff).max({ s: 'seq' }).first()) as
      { s: number | string | null } | undefined;
    if (cut?.s === null || cut?.s === undefined) return null;
    const cutSeq = Number(cut.s);
    const removed = Number(await trx('audit_trail').where('seq', '<=', cutSeq).del());
    const anchor = await anchorInTransaction(trx, {
      ...(opts.anchorFile !== undefined ? { file: opts.anchorFile } : {}),
      kind: 'prune',
      action: PRUNE_ACTION,
      start: cutSeq + 1,
      extra: { removed, before: cutoff.toISOString() },
      now,
    });
    return { removed, anchor };
  });
  if (!done) return 0;
  logAnchor(opts.log, done.anchor, { removed: done.removed });
  return done.removed;
}
