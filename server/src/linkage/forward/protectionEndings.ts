import type { Knex } from 'knex';
import { dbDate } from '../../db/values.js';
import { todayInJapan } from '../../domain/japanTime.js';
import { activeSupportMeasureRows } from '../../residents/protection.js';

/**
 * 支援措置 ended by a linkage file (owner of `protection_endings`). A full or differential
 * 支援措置 file that leaves a person without an active measure they had before the load is
 * listed for 支援措置担当 — who, since when, which file — until someone acknowledges it: the
 * end of a protection is never silent, even when the file was right.
 */

export interface ActiveMeasure {
  addresseeNo: string;
  measureCode: string | null;
  startDate: string | null;
  endDate: string | null;
  /** Until when the person is protected: the latest end date of their active measures, null = open-ended. */
  until: string | null;
}

/** The active measures, one per person (the earliest start, the latest end), inside the load's transaction. */
export async function activeMeasuresByPerson(trx: Knex | Knex.Transaction): Promise<Map<string, ActiveMeasure>> {
  const rows = await activeSupportMeasureRows(trx, todayInJapan());
  const out = new Map<string, ActiveMeasure>();
  for (const r of rows) {
    const end = r.endDate || null;
    const known = out.get(r.addresseeNo);
    if (!known) {
      out.set(r.addresseeNo, { ...r, until: end });
      continue;
    }
    const until = known.until === null || end === null ? null : end > known.until ? end : known.until;
    out.set(r.addresseeNo, (r.startDate ?? '') < (known.startDate ?? '') ? { ...r, until } : { ...known, until });
  }
  return out;
}

/** Records the people who had an active measure before and have none after. Returns how many. */
export async function recordEndings(
  trx: Knex.Transaction,
  before: Map<string, ActiveMeasure>,
  run: { runId: number; specId: string; fileName: string },
): Promise<number> {
  if (!before.size) return 0;
  const after = await activeMeasuresByPerson(trx);
  // Ended now, or given an end (or an earlier end) that will end it later: a protection running out
  // at midnight is announced today, not discovered after.
  const shortened = (m: ActiveMeasure): boolean => {
    const a = after.get(m.addresseeNo);
    return !!a && a.until !== null && (m.until === null || a.until < m.until);
  };
  const ended = [...before.values()].filter((m) => !after.has(m.addresseeNo) || shortened(m));
  const now = new Date();
  for (const m of ended) {
    const scheduled = after.get(m.addresseeNo)?.until ?? null;
    if (scheduled) {
      await trx('protection_endings').insert({
        addressee_no: m.addresseeNo,
        measure_code: m.measureCode,
        start_date: m.startDate,
        end_date: scheduled,
        run_id: run.runId,
        spec_id: run.specId,
        file_name: run.fileName,
        detected_at: now,
      });
      continue;
    }
    const ending = (await trx('support_measures')
      .where({ addressee_no: m.addresseeNo })
      .orderBy('start_date', 'desc')
      .first('end_date')) as { end_date: string | null } | undefined;
    await trx('protection_endings').insert({
      addressee_no: m.addresseeNo,
      measure_code: m.measureCode,
      start_date: m.startDate,
      end_date: ending?.end_date || null,
      run_id: run.runId,
      spec_id: run.specId,
      file_name: run.fileName,
      detected_at: now,
    });
  }
  return ended.length;
}

export interface ProtectionEnding {
  id: number;
  addresseeNo: string;
  measureCode: string | null;
  startDate: string | null;
  /** The end date the file gave, or null when the person's rows were removed altogether. */
  endDate: string | null;
  runId: number;
  specId: string;
  fileName: string;
  detectedAt: string;
  acknowledgedAt: string | null;
  acknowledgedBy: number | null;
}

function toEnding(r: Record<string, unknown>): ProtectionEnding {
  return {
    id: Number(r.id),
    addresseeNo: String(r.addressee_no),
    measureCode: (r.measure_code as string | null) ?? null,
    startDate: (r.start_date as string | null) ?? null,
    endDate: (r.end_date as string | null) ?? null,
    runId: Number(r.run_id),
    specId: String(r.spec_id),
    fileName: String(r.file_name),
    detectedAt: dbDate(r.detected_at)?.toISOString() ?? '',
    acknowledgedAt: dbDate(r.acknowledged_at)?.toISOString() ?? null,
    acknowledgedBy: r.acknowledged_by === null || r.acknowledged_by === undefined ? null : Number(r.acknowledged_by),
  };
}

/** Endings, unacknowledged first, newest first; `all` includes the acknowledged ones. */
export async function listEndings(knex: Knex, opts: { all?: boolean; limit?: number } = {}): Promise<ProtectionEnding[]> {
  const q = knex('protection_endings')
    .orderByRaw('CASE WHEN acknowledged_at IS NULL THEN 0 ELSE 1 END')
    .orderBy('id', 'desc')
    .limit(opts.limit ?? 200);
  if (!opts.all) q.whereNull('acknowledged_at');
  return ((await q.select('*')) as Record<string, unknown>[]).map(toEnding);
}

export async function countUnacknowledgedEndings(knex: Knex): Promise<number> {
  const row = (await knex('protection_endings').whereNull('acknowledged_at').count({ n: '*' }).first()) as
    { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

/** Marks an ending seen; false when it was acknowledged already. */
export async function acknowledgeEnding(knex: Knex | Knex.Transaction, id: number, staffId: number): Promise<boolean> {
  const n = await knex('protection_endings')
    .where({ id })
    .whereNull('acknowledged_at')
    .update({ acknowledged_at: new Date(), acknowledged_by: staffId });
  return Number(n) > 0;
}
