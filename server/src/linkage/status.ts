import type { Knex } from 'knex';
import type { LinkageSettings } from '../config/appConfig.js';
import { dbDate } from '../db/values.js';
import type { FileResult } from './forward/apply.js';
import { pendingHolds, type HoldRecord } from './forward/holds.js';
import type { LayoutRegistry } from './forward/layouts.js';
import { checkMissingFiles } from './forward/watchdog.js';
import type { LoadProgress } from './forward/watcher.js';

/**
 * The read model of the forward linkage: what each spec last did, the runs and their issues, the
 * loads in progress. The linkage screens, the JSON API and the health check read it; only the
 * apply step (forward/apply.ts) writes the tables behind it.
 */

export interface LinkageView {
  knex: Knex;
  registry: LayoutRegistry;
  settings: LinkageSettings;
  closedDates: readonly string[];
  loads: () => LoadProgress[];
  /**
   * Applies a held full file after an administrator's confirmation (the drop-folder watcher's
   * `confirmHold`). Absent where no watcher runs (a bare app in tests): confirming is refused.
   */
  confirmHold?: (holdId: number, staffId: number, reason: string) => Promise<FileResult>;
}

/** What one run of a file came to (linkage_runs.result); `held`: a full file waiting for a confirmation. */
export type RunResult = 'running' | 'applied' | 'skipped' | 'quarantined' | 'failed' | 'held';

export interface RunRecord {
  id: number;
  specId: string;
  edition: string | null;
  fileName: string;
  sha256: string | null;
  kind: string;
  encoding: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  rowsRead: number;
  rowsApplied: number;
  rowsRejected: number;
  unmappedGaiji: number;
  result: RunResult;
  message: string | null;
}

export interface SpecStatus {
  specId: string;
  title: string;
  edition: string;
  provisional: boolean;
  expectedBy: string | null;
  lastApplied: RunRecord | null;
  lastRun: RunRecord | null;
  state: 'ok' | 'loading' | 'missing' | 'held' | 'error' | 'none';
}

/** A held full file as the screens and the API show it (the path on the server stays out). */
export interface HeldFile {
  id: number;
  runId: number;
  specId: string;
  fileName: string;
  heldAt: string;
  /** Rows of the data set now (what the register keeps meanwhile). */
  rowsBefore: number;
  rowsInFile: number;
  /** How much smaller the data set would become, in percent (one decimal). */
  dropPercent: number;
}

export function toHeldFile(h: HoldRecord): HeldFile {
  const drop = h.rowsBefore > 0 ? ((h.rowsBefore - h.rowsInFile) / h.rowsBefore) * 100 : 0;
  return {
    id: h.id,
    runId: h.runId,
    specId: h.specId,
    fileName: h.fileName,
    heldAt: h.heldAt,
    rowsBefore: h.rowsBefore,
    rowsInFile: h.rowsInFile,
    dropPercent: Math.round(Math.max(0, drop) * 10) / 10,
  };
}

/** The full files waiting for an administrator's decision, oldest first. */
export async function heldFiles(knex: Knex): Promise<HeldFile[]> {
  return (await pendingHolds(knex)).map(toHeldFile);
}

const iso = (v: unknown): string | null => dbDate(v)?.toISOString() ?? null;

export function toRunRecord(r: Record<string, unknown>): RunRecord {
  const startedAt = iso(r.started_at);
  const finishedAt = iso(r.finished_at);
  return {
    id: Number(r.id),
    specId: String(r.spec_id),
    edition: (r.edition as string | null) ?? null,
    fileName: String(r.file_name),
    sha256: (r.file_sha256 as string | null) ?? null,
    kind: String(r.kind),
    encoding: (r.encoding as string | null) ?? null,
    startedAt,
    finishedAt,
    durationMs: startedAt && finishedAt ? Date.parse(finishedAt) - Date.parse(startedAt) : null,
    rowsRead: Number(r.rows_read),
    rowsApplied: Number(r.rows_applied),
    rowsRejected: Number(r.rows_rejected),
    unmappedGaiji: Number(r.unmapped_gaiji),
    result: String(r.result) as RunResult,
    message: (r.message as string | null) ?? null,
  };
}

export async function listRuns(knex: Knex, opts: { specId?: string; limit?: number } = {}): Promise<RunRecord[]> {
  let q = knex('linkage_runs')
    .orderBy('id', 'desc')
    .limit(Math.min(Math.max(opts.limit ?? 50, 1), 200));
  if (opts.specId) q = q.where({ spec_id: opts.specId });
  return ((await q) as Record<string, unknown>[]).map(toRunRecord);
}

export async function findRun(knex: Knex, id: number): Promise<RunRecord | null> {
  const row = (await knex('linkage_runs').where({ id }).first()) as Record<string, unknown> | undefined;
  return row ? toRunRecord(row) : null;
}

export async function runWithIssues(
  knex: Knex,
  id: number,
): Promise<{ run: RunRecord; issues: { line: number; column: string | null; value: string | null; reason: string }[] } | null> {
  const row = (await knex('linkage_runs').where({ id }).first()) as Record<string, unknown> | undefined;
  if (!row) return null;
  const issues = ((await knex('linkage_run_issues').where({ run_id: id }).orderBy('id').limit(1000)) as Record<string, unknown>[]).map(
    (i) => ({
      line: Number(i.line),
      column: (i.column_name as string | null) ?? null,
      value: (i.value as string | null) ?? null,
      reason: String(i.reason),
    }),
  );
  return { run: toRunRecord(row), issues };
}

export interface LinkageStatus {
  specs: SpecStatus[];
  loads: LoadProgress[];
  alerts: { specId: string; date: string; message: string }[];
  holds: HeldFile[];
}

export async function linkageStatus(v: LinkageView): Promise<LinkageStatus> {
  // Computed, not recorded: a page view never writes (the scheduled watchdog records alerts).
  const alerts = await checkMissingFiles(v.knex, v.settings, { record: false, closedDates: v.closedDates });
  const holds = await heldFiles(v.knex);
  const loads = v.loads();
  const specs: SpecStatus[] = [];
  for (const specId of Object.keys(v.settings.specs).sort()) {
    const layout = v.registry.latest(specId);
    const last = (await v.knex('linkage_runs').where({ spec_id: specId }).orderBy('id', 'desc').first()) as
      Record<string, unknown> | undefined;
    const applied = (await v.knex('linkage_runs').where({ spec_id: specId, result: 'applied' }).orderBy('id', 'desc').first()) as
      Record<string, unknown> | undefined;
    const lastRun = last ? toRunRecord(last) : null;
    const state: SpecStatus['state'] = loads.some((l) => l.specId === specId)
      ? 'loading'
      : holds.some((h) => h.specId === specId)
        ? 'held'
        : alerts.some((a) => a.specId === specId)
          ? 'missing'
          : lastRun && (lastRun.result === 'quarantined' || lastRun.result === 'failed')
            ? 'error'
            : applied
              ? 'ok'
              : 'none';
    specs.push({
      specId,
      title: layout.title,
      edition: layout.edition,
      provisional: layout.provisional,
      expectedBy: v.settings.specs[specId]?.expectedBy ?? null,
      lastApplied: applied ? toRunRecord(applied) : null,
      lastRun,
      state,
    });
  }
  return { specs, loads, alerts: alerts.map((a) => ({ specId: a.specId, date: a.date, message: a.message })), holds };
}
