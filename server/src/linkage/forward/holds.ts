import type { Knex } from 'knex';
import { dbDate } from '../../db/values.js';
import { insertReturningId } from '../../db/values.js';

/**
 * Held full files (owner of `linkage_holds`). A full file that would shrink its data set by more
 * than the shrink guard allows is not applied: it waits in `held/<spec>/` until an administrator
 * confirms it with a reason, or a later full file of the same spec replaces it. The register keeps
 * the last good snapshot meanwhile.
 */

export interface ShrinkGuard {
  /** A drop by more than this share of the current rows holds the file (0.02 = 2 %). */
  maxShare: number;
  /** A drop of at most this many rows never holds a file (small data sets: one 転出 is 20 % of 5). */
  minRows: number;
}

export const DEFAULT_SHRINK_GUARD: ShrinkGuard = { maxShare: 0.02, minRows: 10 };

/** Why a full file of `rowsInFile` rows must not replace `rowsBefore` rows without a confirmation, or null. */
export function shrinkReason(rowsBefore: number, rowsAfter: number, guard: ShrinkGuard, kind: 'full' | 'diff' = 'full'): string | null {
  if (rowsAfter >= rowsBefore) return null;
  const drop = rowsBefore - rowsAfter;
  const share = drop / rowsBefore;
  if (rowsAfter === 0 || (drop > guard.minRows && share > guard.maxShare))
    return (
      `${kind === 'full' ? '全件ファイル' : '差分ファイルの削除'}で件数が現在より大きく減るため保留しました (現在 ${rowsBefore.toLocaleString('ja-JP')} 件 → ` +
      `取込後 ${rowsAfter.toLocaleString('ja-JP')} 件、${(share * 100).toFixed(1)}% 減。` +
      `許容は ${(guard.maxShare * 100).toFixed(1)}% かつ ${guard.minRows} 件まで)`
    );
  return null;
}

export type HoldResolution = 'confirmed' | 'superseded';

export interface HoldRecord {
  id: number;
  runId: number;
  specId: string;
  fileName: string;
  heldPath: string;
  sha256: string;
  rowsBefore: number;
  rowsInFile: number;
  heldAt: string;
  resolution: HoldResolution | null;
  resolvedAt: string | null;
  resolvedBy: number | null;
  reason: string | null;
  resolvedRunId: number | null;
}

function toHold(r: Record<string, unknown>): HoldRecord {
  return {
    id: Number(r.id),
    runId: Number(r.run_id),
    specId: String(r.spec_id),
    fileName: String(r.file_name),
    heldPath: String(r.held_path),
    sha256: String(r.file_sha256),
    rowsBefore: Number(r.rows_before),
    rowsInFile: Number(r.rows_in_file),
    heldAt: dbDate(r.held_at)?.toISOString() ?? '',
    resolution: (r.resolution as HoldResolution | null) ?? null,
    resolvedAt: dbDate(r.resolved_at)?.toISOString() ?? null,
    resolvedBy: r.resolved_by === null || r.resolved_by === undefined ? null : Number(r.resolved_by),
    reason: (r.reason as string | null) ?? null,
    resolvedRunId: r.resolved_run_id === null || r.resolved_run_id === undefined ? null : Number(r.resolved_run_id),
  };
}

export async function recordHold(
  knex: Knex,
  h: { runId: number; specId: string; fileName: string; heldPath: string; sha256: string; rowsBefore: number; rowsInFile: number },
): Promise<number> {
  return insertReturningId(knex, 'linkage_holds', {
    run_id: h.runId,
    spec_id: h.specId,
    file_name: h.fileName,
    held_path: h.heldPath,
    file_sha256: h.sha256,
    rows_before: h.rowsBefore,
    rows_in_file: h.rowsInFile,
    held_at: new Date(),
  });
}

/** Holds still waiting for a decision, oldest first. */
export async function pendingHolds(knex: Knex, specId?: string): Promise<HoldRecord[]> {
  const q = knex('linkage_holds').whereNull('resolution').orderBy('id');
  if (specId) q.where({ spec_id: specId });
  return ((await q.select('*')) as Record<string, unknown>[]).map(toHold);
}

export async function findHold(knex: Knex, id: number): Promise<HoldRecord | undefined> {
  const row = (await knex('linkage_holds').where({ id }).first()) as Record<string, unknown> | undefined;
  return row ? toHold(row) : undefined;
}

/** Marks a pending hold resolved; false when it was already resolved (a second click, a race). */
export async function resolveHold(
  knex: Knex,
  id: number,
  r: { resolution: HoldResolution; staffId?: number | null; reason?: string | null; resolvedRunId?: number | null },
): Promise<boolean> {
  const n = await knex('linkage_holds')
    .where({ id })
    .whereNull('resolution')
    .update({
      resolution: r.resolution,
      resolved_at: new Date(),
      resolved_by: r.staffId ?? null,
      reason: r.reason ?? null,
      resolved_run_id: r.resolvedRunId ?? null,
    });
  return Number(n) > 0;
}
