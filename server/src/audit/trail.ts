import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { dbDate } from '../db/values.js';
import { japanDateTime, japanDayBounds, startOfJapanDay, todayInJapan } from '../domain/japanTime.js';
import { csvText } from '../text/index.js';

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

async function insertRecord(trx: Knex.Transaction, r: AuditRecord): Promise<void> {
  await trx('audit_trail').insert({
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
  });
}

/**
 * Appends to the audit trail inside the caller's transaction, so that the record commits or
 * rolls back with the change it describes. The first record of a Japanese calendar day is
 * preceded by an anchor for the day before (its record count and last hash), which can be
 * printed or sent elsewhere as an outside checkpoint.
 */
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
      staffLogin: e.staffLogin ?? null,
      role: e.role ?? null,
      counterId: e.counterId ?? null,
      clientAddress: e.clientAddress ?? null,
      action: e.action,
      targetKind: e.targetKind ?? null,
      targetIds: [...(e.targetIds ?? [])],
      result: e.result,
      detail: e.detail ? JSON.stringify(e.detail) : null,
      prevHash: prev,
    };
    const record = { ...base, hash: recordHash(base) };
    await insertRecord(trx, record);
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

export interface VerifyResult {
  ok: boolean;
  checked: number;
  /** The first record that does not fit the chain, and why. */
  broken?: { seq: number; reason: string };
}

/**
 * Recomputes the chain: each record's hash, its link to the one before, no gap in the
 * sequence, and the head matching the last record. With `from`, the record before it is
 * trusted as the starting point. Names the first broken record.
 */
export async function verifyAudit(knex: Knex, range: { from?: string; to?: string } = {}): Promise<VerifyResult> {
  const fromAt = range.from ? startOfJapanDay(range.from) : undefined;
  const toAt = range.to ? japanDayBounds(range.to).to : undefined;
  let q = knex('audit_trail').orderBy('seq');
  if (fromAt) q = q.where('recorded_at', '>=', fromAt);
  if (toAt) q = q.where('recorded_at', '<', toAt);
  const rows = ((await q) as Record<string, unknown>[]).map(fromRow);
  let checked = 0;
  let expectedPrev: string | undefined;
  let expectedSeq: number | undefined;
  if (!fromAt) {
    expectedPrev = GENESIS_HASH;
    expectedSeq = 1;
    const first = rows[0];
    // Records before the retention horizon may have been removed: start from the first one kept.
    if (first && first.seq !== 1) {
      const earlier = (await knex('audit_trail').where('seq', '<', first.seq).first('seq')) as unknown;
      if (!earlier) {
        expectedPrev = first.prevHash;
        expectedSeq = first.seq;
      }
    }
  }
  for (const r of rows) {
    if (expectedSeq !== undefined && r.seq !== expectedSeq)
      return {
        ok: false,
        checked,
        broken: {
          seq: r.seq,
          reason:
            r.seq > expectedSeq
              ? `連番が飛んでいます (${expectedSeq} から ${r.seq - 1} がありません: 削除の疑い)`
              : `連番が重複・逆行しています (${r.seq})`,
        },
      };
    if (expectedPrev !== undefined && r.prevHash !== expectedPrev)
      return { ok: false, checked, broken: { seq: r.seq, reason: '直前の記録のハッシュと一致しません (挿入・削除・改ざんの疑い)' } };
    const { hash, ...rest } = r;
    if (recordHash(rest) !== hash)
      return { ok: false, checked, broken: { seq: r.seq, reason: '記録の内容がハッシュと一致しません (改ざんの疑い)' } };
    expectedPrev = hash;
    expectedSeq = r.seq + 1;
    checked++;
  }
  if (!toAt) {
    const head = (await knex('audit_chain_head').where({ id: 1 }).first()) as { seq: number | string; hash: string } | undefined;
    const last = rows[rows.length - 1];
    if (head && last && (Number(head.seq) !== last.seq || head.hash !== last.hash)) {
      return {
        ok: false,
        checked,
        broken: { seq: last.seq + 1, reason: `末尾の記録がありません (最終番号は ${Number(head.seq)} のはず: 削除の疑い)` },
      };
    }
  }
  return { ok: true, checked };
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

/**
 * Removes records older than the retention period (whole years, at least 1). Verification then
 * starts from the first record kept; the daily anchors of the removed days remain in exports.
 */
export async function pruneAudit(knex: Knex, retentionYears: number, now: Date = new Date()): Promise<number> {
  if (!Number.isInteger(retentionYears) || retentionYears < 1) throw new Error('監査ログの保存期間は 1 年以上です');
  const cutoff = new Date(now);
  cutoff.setUTCFullYear(cutoff.getUTCFullYear() - retentionYears);
  return Number(await knex('audit_trail').where('recorded_at', '<', cutoff).del());
}
