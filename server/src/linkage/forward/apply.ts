import { statSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { dialectOf } from '../../db/dialects/index.js';
import { LeaseLostError } from '../../ops/leases.js';
import { insertReturningId } from '../../db/values.js';
import type { Cp932Mapping, EncodingSetting } from '../../text/index.js';
import {
  compareSequence,
  controlProblemBeforeLoad,
  countMismatch,
  fileSequence,
  readControlFiles,
  type ControlFiles,
} from './controlFiles.js';
import { hashFile } from './fileHash.js';
import { GaijiMap } from './gaiji.js';
import { DEFAULT_SHRINK_GUARD, shrinkReason, type ShrinkGuard } from './holds.js';
import { derivedKeyColumns, derivedKeys, insertRowBuilder } from './keys.js';
import { KeySet } from './keySet.js';
import type { Layout, LayoutRegistry } from './layouts.js';
import { activeMeasuresByPerson, recordEndings, type ActiveMeasure } from './protectionEndings.js';
import { LinkageFileError, type OpenedFile, type ParsedRow, type RowIssue } from './reader.js';
import { closeRows, openLinkageFileInWorker, prebuiltInsert, prepareInserts, readAhead, takeRows } from './rowWorker.js';

export interface PlannedFile {
  specId: string;
  file: string;
}

export interface ApplyProgress {
  specId: string;
  file: string;
  rows: number;
  bytes: number;
  totalBytes: number;
}

export interface ApplyOptions {
  encoding?: EncodingSetting | ((specId: string) => EncodingSetting);
  gaiji?: GaijiMap;
  cp932Mapping?: Cp932Mapping;
  /** The core system's fixed width of 宛名番号 (municipality.yaml `addresseeNo.digits`). */
  addresseeNoDigits?: number;
  /** More bad rows than either limit quarantines the file; defaults 10 rows / 0.1 %. */
  threshold?: { maxRows: number; maxRatio: number };
  onProgress?: (p: ApplyProgress) => void;
  /** Checked between batches: an aborted load rolls back and leaves the file to be done again. */
  signal?: AbortSignal;
  /** Name to record for the file (the original name when the file sits in a processing folder). */
  displayName?: (file: string) => string;
  /** Apply even content that was applied before (e.g. after the 同定マップ was corrected). */
  force?: boolean;
  /** How far a full file may shrink its data set before it is held (default 2 % and 10 rows). */
  shrinkGuard?: ShrinkGuard;
  /** Apply a full file even when it shrinks the data set past the guard (an administrator's confirmation, `--allow-shrink`). */
  allowShrink?: boolean;
  /** Where the control files (`.count`, `.md5`, `.done`) of a file are: the path they sit beside (default the file itself). */
  controlBase?: (file: string) => string;
  /**
   * Checked inside the transaction just before it commits (ops/leases.ts `fence`): throws
   * LeaseLostError when this node no longer holds the linkage lease, and the batch rolls back.
   */
  fence?: (trx: Knex.Transaction) => Promise<void>;
  /** Files smaller than this are read in this thread, not the row worker (default 1 MB; tests set 0). */
  workerMinBytes?: number;
}

export type Outcome = 'applied' | 'skipped' | 'quarantined' | 'held' | 'failed';

export interface FileResult {
  specId: string;
  file: string;
  sha256: string;
  outcome: Outcome;
  runId: number;
  edition: string | null;
  kind: 'full' | 'diff' | null;
  encoding: string | null;
  rowsRead: number;
  rowsApplied: number;
  rowsRejected: number;
  unmappedGaiji: number;
  /** The problems found (at most MAX_ISSUES). */
  issues: RowIssue[];
  message: string;
  /** A held full file: the rows the data set had and the rows the file holds. */
  shrink?: { rowsBefore: number; rowsInFile: number };
}

export const MAX_ISSUES = 1000;
export const NO_GAIJI_MAP =
  '同定マップを読み込んでいません (設定の linkage.gaijiMap、取込コマンドでは --gaiji-map で指定します)。外字はすべて同定マップにないものとして数えています';
const BATCH_ROWS = 5000;
const INSERT_ROWS = 256;

/** Thrown inside the transaction to roll a file back and quarantine (or hold) it. */
class QuarantineSignal extends Error {
  constructor(readonly result: FileResult) {
    super(result.message);
  }
}

async function nextBatch(opened: OpenedFile, size: number): Promise<ParsedRow[]> {
  return takeRows(opened, size);
}

function emptyResult(p: PlannedFile, sha256: string, outcome: Outcome, message: string): FileResult {
  return {
    specId: p.specId,
    file: p.file,
    sha256,
    outcome,
    runId: 0,
    edition: null,
    kind: null,
    encoding: null,
    rowsRead: 0,
    rowsApplied: 0,
    rowsRejected: 0,
    unmappedGaiji: 0,
    issues: [],
    message,
  };
}

function overThreshold(rejected: number, read: number, t: { maxRows: number; maxRatio: number }): boolean {
  return rejected > t.maxRows || (read > 0 && rejected / read > t.maxRatio);
}

async function recordIssues(db: Knex, runId: number, issues: RowIssue[]): Promise<void> {
  const rows = issues.slice(0, MAX_ISSUES).map((i) => ({
    run_id: runId,
    line: i.line,
    column_name: i.column ?? null,
    value: i.value?.slice(0, 100) ?? null,
    reason: i.reason.slice(0, 300),
  }));
  const dialect = dialectOf(db);
  const columns = ['run_id', 'line', 'column_name', 'value', 'reason'];
  if (rows.length)
    await db.transaction((trx) =>
      dialect.bulkInsert(
        trx,
        'linkage_run_issues',
        columns,
        rows.map((r) => columns.map((c) => (r as Record<string, unknown>)[c])),
      ),
    );
}

/**
 * The tables whose secondary indexes are dropped in this batch, with what rebuilds each. A table
 * loaded by several full files of one batch (the entitlements of five specs) has its indexes
 * rebuilt once, after the last of them, not after each (a 200k-people load: 5 rebuilds, 0.45 s).
 * A differential file needs them for its lookups by key: they are rebuilt before it.
 */
class DeferredIndexes {
  private readonly rebuilds = new Map<string, () => Promise<void>>();
  constructor(private readonly trx: Knex.Transaction) {}

  async drop(table: string): Promise<void> {
    if (!this.rebuilds.has(table)) this.rebuilds.set(table, await dialectOf(this.trx).deferIndexes(this.trx, table));
  }

  async rebuild(table: string): Promise<void> {
    const rebuild = this.rebuilds.get(table);
    if (!rebuild) return;
    this.rebuilds.delete(table);
    await rebuild();
  }

  async rebuildAll(): Promise<void> {
    for (const table of [...this.rebuilds.keys()]) await this.rebuild(table);
  }
}

/** The columns a file's rows are inserted in: fixed, the file's own, derived keys, then bookkeeping. */
function insertColumns(opened: OpenedFile): { fileColumns: string[]; columns: string[] } {
  const { layout } = opened;
  const fileColumns = layout.columns.filter((c) => c.column && opened.headers.includes(c.header)).map((c) => c.column!);
  const columns = [...Object.keys(layout.fixed), ...fileColumns, ...derivedKeyColumns(layout.table), 'unmapped_gaiji', 'linkage_run_id'];
  return { fileColumns, columns };
}

/**
 * Applies one opened file inside the transaction; returns its result or throws QuarantineSignal.
 * `allTaken` is called once every row has been taken, before the indexes are rebuilt.
 */
async function applyOne(
  trx: Knex.Transaction,
  opened: OpenedFile,
  p: PlannedFile,
  sha256: string,
  name: string,
  opts: ApplyOptions,
  control: ControlFiles,
  indexes: DeferredIndexes,
  allTaken: () => void = () => {},
): Promise<FileResult> {
  const { layout } = opened;
  if (opened.differential) await indexes.rebuild(layout.table);
  const dialect = dialectOf(trx);
  // A critical feed is all or nothing: one rejected row would end a protection or a ban.
  const threshold = layout.critical ? { maxRows: 0, maxRatio: 0 } : (opts.threshold ?? { maxRows: 10, maxRatio: 0.001 });
  const kind = opened.differential ? 'diff' : 'full';
  const totalBytes = statSync(p.file).size;
  const runId = await insertReturningId(trx, 'linkage_runs', {
    spec_id: layout.specId,
    edition: layout.edition,
    file_name: name,
    file_sha256: sha256,
    kind,
    encoding: opened.encoding.encoding,
    started_at: new Date(),
    result: 'running',
    file_sequence: fileSequence(name),
  });
  const { fileColumns, columns } = insertColumns(opened);
  const derive = derivedKeys[layout.table];
  const keyColumns = layout.columns.filter((c) => layout.keys.includes(c.header)).map((c) => c.column!);
  const keyLabel = layout.keys.join('+');
  const keyAt = keyColumns.map((c) => columns.indexOf(c));
  const keyOf = keyAt.every((i) => i >= 0)
    ? (insert: unknown[]) =>
        keyAt.length === 1 ? String(insert[keyAt[0]!] ?? '') : keyAt.map((i) => String(insert[i] ?? '')).join('\u0000')
    : (_insert: unknown[], r: ParsedRow) => keyColumns.map((c) => String(r.values[c] ?? '')).join('\u0000');
  // Builds the insert row straight in column order; booleans as 0/1 for every driver. The rows of
  // a full file come from the row worker with it built there, beside the parsing (rowWorker.ts).
  const buildRow = insertRowBuilder(columns, layout.table, runId);
  const toArray = (r: ParsedRow): unknown[] => prebuiltInsert(r) ?? buildRow(r);
  const toRow = (r: ParsedRow): Record<string, unknown> => {
    const arr = toArray(r);
    return Object.fromEntries(columns.map((c, i) => [c, arr[i]]));
  };
  const issues: RowIssue[] = [];
  let rowsRead = 0;
  let rowsApplied = 0;
  let rowsRejected = 0;
  let unmappedGaiji = 0;
  // A rejected row of a protected person would drop them from the cache, and with them the
  // protection of their household and address: such a file is quarantined whole (fail closed).
  const protectedNos = layout.table === 'residents' ? await protectedAddresseeNos(trx) : undefined;
  let protectedRejected: number | null = null;
  const reject = (more: RowIssue[], r?: ParsedRow) => {
    rowsRejected++;
    for (const i of more) if (issues.length < MAX_ISSUES) issues.push(i);
    const no = r?.values.addressee_no;
    if (protectedNos && typeof no === 'string' && protectedNos.has(no) && protectedRejected === null) protectedRejected = r!.line;
  };

  let fatal = false;
  let gaijiRows = 0;
  const rejectGaiji = (more: RowIssue[]) => {
    gaijiRows++;
    for (const i of more) if (issues.length < MAX_ISSUES) issues.push(i);
  };
  const rowsBefore = await countRows(trx, layout.table, layout.fixed);
  // Who is protected before the load, to list the protections this file ends (支援措置担当 sees them).
  const protectedBefore: Map<string, ActiveMeasure> | undefined =
    layout.table === 'support_measures' ? await activeMeasuresByPerson(trx) : undefined;
  if (kind === 'full') {
    // Dropped before the delete too: the old rows then leave no index entries to remove one by one.
    await indexes.drop(layout.table);
    await trx(layout.table).where(layout.fixed).del();
  }
  const seenKeys = new KeySet();
  const load = async (): Promise<void> => {
    if (kind === 'full') prepareInserts(opened, { columns, table: layout.table, runId });
    for (;;) {
      if (opts.signal?.aborted) throw new Error('取込を中断しました (停止要求)');
      const batch = await nextBatch(opened, BATCH_ROWS);
      if (!batch.length) break;
      const inserts: unknown[][] = [];
      for (const r of batch) {
        rowsRead++;
        if (r.issues.length) {
          reject(r.issues, r);
          if (r.issues.some((i) => i.fatal)) fatal = true;
          continue;
        }
        // A full file holds each key once; a differential file may touch a key several times, in order.
        let insert: unknown[] | undefined;
        if (kind === 'full') {
          // The key read from the insert row (every row of the file is built alike), not from the
          // values: a row from the worker decodes its values one by one (rowWorker.ts PackedRow).
          insert = toArray(r);
          if (!seenKeys.add(keyOf(insert, r))) {
            reject([{ line: r.line, column: keyLabel, reason: `キーが重複しています (${keyLabel})` }]);
            continue;
          }
        }
        unmappedGaiji += r.unmappedGaiji;
        if (r.gaijiIssues) rejectGaiji(r.gaijiIssues);
        if (insert) {
          // Inserted a few hundred rows at a time: rows kept for the whole batch outlived the young
          // generation (main-thread scavenges of a 200k-people load: 576 → 287 ms).
          if (inserts.push(insert) >= INSERT_ROWS) await dialect.bulkInsert(trx, layout.table, columns, inserts.splice(0));
          rowsApplied++;
          continue;
        }
        const where = { ...layout.fixed, ...Object.fromEntries(keyColumns.map((c) => [c, r.values[c] ?? ''])) };
        const problem = await applyDiffRow(trx, layout, r, where, fileColumns, derive, (row) => toRow({ ...r, values: row }), columns);
        if (problem) reject([{ line: r.line, column: layout.processingKindHeader, value: r.processingKind ?? '', reason: problem }]);
        else rowsApplied++;
      }
      if (inserts.length) await dialect.bulkInsert(trx, layout.table, columns, inserts);
      opts.onProgress?.({ specId: p.specId, file: p.file, rows: rowsRead, bytes: opened.bytesRead(), totalBytes });
      // Past the row limit the file will be quarantined whatever follows: stop reading it.
      if (fatal || rowsRejected + gaijiRows > threshold.maxRows) break;
    }
    closeRows(opened);
    allTaken();
  };
  await load();
  const result: FileResult = {
    specId: layout.specId,
    file: p.file,
    sha256,
    outcome: 'applied',
    runId,
    edition: layout.edition,
    kind,
    encoding: opened.encoding.encoding,
    rowsRead,
    rowsApplied,
    rowsRejected,
    unmappedGaiji,
    issues,
    message: gaijiRows ? `${opened.encoding.reason}。同定マップにない外字を含む行が ${gaijiRows} 行あります` : opened.encoding.reason,
  };
  if (fatal)
    throw new QuarantineSignal({
      ...result,
      outcome: 'quarantined',
      rowsApplied: 0,
      message: 'ファイルを最後まで読めないため隔離しました',
    });
  if (protectedRejected !== null)
    throw new QuarantineSignal({
      ...result,
      outcome: 'quarantined',
      rowsApplied: 0,
      message: `支援措置の対象者の行 (${protectedRejected} 行目) が不正なため、ファイル全体を隔離しました (その人と世帯・住所の保護が外れないように)`,
    });
  // Without any map every 外字 is "not in the map": say that no map was read, or the message reads
  // like a gap in the municipality's map (a folder ingested apart from the one holding gaiji-map.csv).
  const noMap = gaijiRows > 0 && !opts.gaiji?.size ? `。${NO_GAIJI_MAP}` : '';
  if (overThreshold(rowsRejected + gaijiRows, rowsRead, threshold)) {
    const what = gaijiRows
      ? `不正な行が ${rowsRejected} 行、同定マップにない外字を含む行が ${gaijiRows} 行あり`
      : `不正な行が ${rowsRejected} 行あり`;
    throw new QuarantineSignal({
      ...result,
      outcome: 'quarantined',
      rowsApplied: 0,
      message:
        (layout.critical
          ? `${what}、重要な連携 (${layout.title}) は 1 行でも問題があればファイル全体を隔離します (保護や禁止が黙って外れないように)`
          : `${what}、しきい値 (${threshold.maxRows} 行または ${(threshold.maxRatio * 100).toFixed(2)}%) を超えたため隔離しました`) + noMap,
    });
  }
  const miscounted = countMismatch(control, rowsRead);
  if (miscounted) throw new QuarantineSignal({ ...result, outcome: 'quarantined', rowsApplied: 0, message: miscounted });
  if (!opts.allowShrink) {
    // A full file replaces the data set; a differential file may delete: both are held past the guard.
    const rowsAfter = kind === 'full' ? rowsApplied : await countRows(trx, layout.table, layout.fixed);
    const held = shrinkReason(rowsBefore, rowsAfter, opts.shrinkGuard ?? DEFAULT_SHRINK_GUARD, kind);
    if (held)
      throw new QuarantineSignal({
        ...result,
        outcome: 'held',
        rowsApplied: 0,
        message: held,
        shrink: { rowsBefore, rowsInFile: rowsAfter },
      });
  }
  if (protectedBefore) await recordEndings(trx, protectedBefore, { runId, specId: layout.specId, fileName: name });
  await trx('linkage_runs')
    .where({ id: runId })
    .update({
      finished_at: new Date(),
      rows_read: rowsRead,
      rows_applied: rowsApplied,
      rows_rejected: rowsRejected,
      unmapped_gaiji: unmappedGaiji,
      result: 'applied',
      message: [
        opened.encoding.reason,
        rowsRejected ? `不正な ${rowsRejected} 行を除いて取り込みました` : '',
        gaijiRows
          ? `同定マップにない外字を含む ${gaijiRows} 行は〓で表示され、印刷できません (同定マップに追加して再送してください)${noMap}`
          : '',
      ]
        .filter(Boolean)
        .join('。'),
    });
  return result;
}

async function protectedAddresseeNos(trx: Knex.Transaction): Promise<Set<string>> {
  return new Set((await activeMeasuresByPerson(trx)).keys());
}

async function countRows(trx: Knex.Transaction, table: string, where: Record<string, string>): Promise<number> {
  const row = (await trx(table).where(where).count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}

/**
 * One row of a differential file: 1 追加, 2 更新, 3 削除 by key. An update may carry only some
 * items: it is merged over the stored row, so the search keys are derived from the whole record.
 * Returns a problem or null.
 */
async function applyDiffRow(
  trx: Knex.Transaction,
  layout: Layout,
  r: ParsedRow,
  where: Record<string, unknown>,
  fileColumns: string[],
  derive: ((row: Record<string, unknown>) => Record<string, unknown>) | undefined,
  toRow: (values: Record<string, unknown>) => Record<string, unknown>,
  columns: string[],
): Promise<string | null> {
  switch (r.processingKind) {
    case '1': {
      const exists = await trx(layout.table).where(where).first(trx.raw('1 as x'));
      if (exists) return '追加しようとした行は既にあります (処理区分 1)';
      await trx(layout.table).insert(toRow(r.values));
      return null;
    }
    case '2': {
      const stored = (await trx(layout.table).where(where).first()) as Record<string, unknown> | undefined;
      if (!stored) return '更新する行がありません (処理区分 2)';
      const merged: Record<string, unknown> = { ...stored };
      for (const c of fileColumns) merged[c] = r.values[c];
      const row = toRow(merged);
      const changed = derive ? [...fileColumns, ...Object.keys(derive({}))] : fileColumns;
      await trx(layout.table)
        .where(where)
        .update(
          Object.fromEntries(
            [...changed, 'unmapped_gaiji', 'linkage_run_id'].filter((c) => columns.includes(c)).map((c) => [c, row[c] ?? null]),
          ),
        );
      return null;
    }
    case '3': {
      const n = await trx(layout.table).where(where).del();
      return Number(n) === 0 ? '削除する行がありません (処理区分 3)' : null;
    }
    default:
      return '処理区分が不正です';
  }
}

/**
 * Whether a file was applied before, so that applying it again would be wrong:
 * - a differential file is identified by its NAME: the same name applied before is a no-op (a
 *   resend, or a crash after commit before the file was moved), while byte-identical content under
 *   a new name is a new file and is applied (a person deleted, re-added and deleted again produces
 *   the same bytes twice);
 * - a full file equal in content to the spec's latest applied file is a no-op; an older full file
 *   whose content differs from the latest is applied: that is a deliberate rollback by the core system.
 */
async function alreadyApplied(knex: Knex, specId: string, sha256: string, name: string): Promise<{ id: number; why: string } | undefined> {
  const sameName = (await knex('linkage_runs').where({ spec_id: specId, file_name: name, result: 'applied', kind: 'diff' }).first('id')) as
    { id: number } | undefined;
  if (sameName) return { id: sameName.id, why: `同じ名前の差分ファイルは取込済みです (取込番号 ${sameName.id})` };
  const latest = (await knex('linkage_runs')
    .where({ spec_id: specId, result: 'applied' })
    .orderBy('id', 'desc')
    .first('id', 'file_sha256', 'kind')) as { id: number; file_sha256: string; kind: string } | undefined;
  if (latest?.file_sha256 === sha256 && latest.kind === 'full')
    return { id: latest.id, why: `同じ内容のファイルは取込済みです (取込番号 ${latest.id})` };
  return undefined;
}

/** A differential file older than the last one applied would undo newer changes: refused. */
async function olderThanApplied(knex: Knex, specId: string, name: string): Promise<string | null> {
  const seq = fileSequence(name);
  if (!seq) return null;
  const rows = (await knex('linkage_runs')
    .where({ spec_id: specId, result: 'applied' })
    .whereIn('kind', ['diff', 'full'])
    .whereNotNull('file_sequence')
    .orderBy('id', 'desc')
    .limit(50)
    .select('id', 'file_sequence', 'file_name')) as { id: number; file_sequence: string; file_name: string }[];
  const newest = rows.reduce<(typeof rows)[number] | undefined>(
    (best, r) => (!best || compareSequence(r.file_sequence, best.file_sequence) > 0 ? r : best),
    undefined,
  );
  if (!newest || compareSequence(seq, newest.file_sequence) >= 0) return null;
  return (
    `通番 (ファイル名の番号) が取込済みのファイルより古いため取り込みません ` +
    `(このファイル ${seq}、取込済みの最新 ${newest.file_sequence}: ${newest.file_name}、取込番号 ${newest.id})。` +
    `順番が入れ替わっていないか基幹系で確認してください`
  );
}

/**
 * Applies linkage files in ONE transaction: a full file replaces its data set (its table, scoped
 * by the layout's fixed columns), a differential file adds, updates and deletes by key. Readers
 * see the old data or the new, never a mix (SQLite WAL snapshot; SQL Server READ COMMITTED).
 *
 * - A file whose content (SHA-256) was already applied is skipped (see `alreadyApplied`), so
 *   re-dropping is a no-op and a crash after commit but before the file is moved is harmless.
 * - Bad rows up to the threshold are skipped and reported; above it — or on a file-level error
 *   (header, encoding, broken quoting) — the whole batch rolls back and the file is quarantined.
 * - Every outcome is recorded as a linkage run with its problems (personal values masked).
 */
export async function applyFiles(
  knex: Knex,
  registry: LayoutRegistry,
  planned: PlannedFile[],
  opts: ApplyOptions = {},
): Promise<FileResult[]> {
  const results: FileResult[] = [];
  const todo: { p: PlannedFile; sha256: string }[] = [];
  const name = (f: string) => opts.displayName?.(f) ?? path.basename(f);
  for (const p of planned) {
    const sha256 = await hashFile(p.file);
    const earlier = opts.force ? undefined : await alreadyApplied(knex, p.specId, sha256, name(p.file));
    if (earlier) {
      const message = earlier.why;
      const runId = await insertReturningId(knex, 'linkage_runs', {
        spec_id: p.specId,
        file_name: name(p.file),
        file_sha256: sha256,
        kind: '-',
        started_at: new Date(),
        finished_at: new Date(),
        result: 'skipped',
        message,
      });
      results.push({ ...emptyResult(p, sha256, 'skipped', message), runId });
    } else todo.push({ p, sha256 });
  }
  if (!todo.length) return results;

  const applied: FileResult[] = [];
  let current: { p: PlannedFile; sha256: string } | undefined;
  try {
    await knex.transaction(async (trx) => {
      const quarantine = (t: (typeof todo)[number], message: string, issues: RowIssue[] = []) =>
        new QuarantineSignal({ ...emptyResult(t.p, t.sha256, 'quarantined', message), issues });
      /**
       * A file's checks before its rows (control files, header, layout) and its opening in the row
       * worker; throws QuarantineSignal. The next file's is started while the last one's indexes
       * are rebuilt (see `ahead`), and its errors are thrown in its own turn.
       */
      const prepare = async (t: (typeof todo)[number]): Promise<{ opened: OpenedFile; control: ControlFiles }> => {
        const encoding = typeof opts.encoding === 'function' ? opts.encoding(t.p.specId) : (opts.encoding ?? 'auto');
        const readOpts = {
          encoding,
          gaiji: opts.gaiji ?? new GaijiMap(),
          ...(opts.cp932Mapping ? { cp932Mapping: opts.cp932Mapping } : {}),
          ...(opts.addresseeNoDigits !== undefined ? { addresseeNoDigits: opts.addresseeNoDigits } : {}),
        };
        // Control files first: a missing mandatory one or a wrong MD5 means the data file is not what was sent.
        let control: ControlFiles;
        try {
          control = readControlFiles(opts.controlBase?.(t.p.file) ?? t.p.file);
        } catch (e) {
          throw quarantine(t, (e as Error).message);
        }
        const required = registry.editions(t.p.specId).at(-1)?.control ?? 'none';
        const controlProblem = await controlProblemBeforeLoad(t.p.file, control, required);
        if (controlProblem) throw quarantine(t, controlProblem);
        const worker = opts.workerMinBytes !== undefined ? { minBytes: opts.workerMinBytes } : {};
        const opened = await openLinkageFileInWorker(t.p.file, t.p.specId, registry, readOpts, worker).catch((e: unknown) => {
          if (e instanceof LinkageFileError)
            throw new QuarantineSignal({
              ...emptyResult(t.p, t.sha256, 'quarantined', 'ファイル全体のエラーのため隔離しました'),
              issues: e.issues,
            });
          throw e;
        });
        return { opened, control };
      };
      let next: Promise<{ opened: OpenedFile; control: ControlFiles }> | undefined;
      const indexes = new DeferredIndexes(trx);
      try {
        for (let k = 0; k < todo.length; k++) {
          const t = todo[k]!;
          current = t;
          const { opened, control } = await (next ?? prepare(t));
          next = undefined;
          if (opened.differential && !opts.force) {
            const older = await olderThanApplied(trx, t.p.specId, name(t.p.file));
            if (older) {
              closeRows(opened);
              throw quarantine(t, older);
            }
          }
          // The worker reads the next full file while this one's indexes are rebuilt. Its rows are
          // packed for insertion before its run exists: the run id is set as they are taken.
          const ahead = () => {
            const after = todo[k + 1];
            if (!after || next) return;
            next = prepare(after).then((n) => {
              if (!n.opened.differential) {
                prepareInserts(n.opened, { columns: insertColumns(n.opened).columns, table: n.opened.layout.table, runId: 0 });
                readAhead(n.opened);
              }
              return n;
            });
            // Handled in its own turn; until then a rejection is not unhandled.
            next.catch(() => {});
          };
          applied.push(await applyOne(trx, opened, t.p, t.sha256, name(t.p.file), opts, control, indexes, ahead));
          // The table's indexes are rebuilt after the batch's last file for it (see DeferredIndexes).
          const table = opened.layout.table;
          if (!todo.slice(k + 1).some((u) => registry.editions(u.p.specId).at(-1)?.table === table)) await indexes.rebuild(table);
        }
        await indexes.rebuildAll();
      } finally {
        // A batch given up with a file read ahead: the worker stops reading it.
        if (next)
          next.then(
            (n) => closeRows(n.opened),
            () => {},
          );
      }
      await opts.fence?.(trx);
    });
  } catch (e) {
    // Fenced out: the node that holds the lease now records the outcome, not this one.
    if (e instanceof LeaseLostError) throw e;
    // Nothing of the batch was committed: record why, outside the rolled-back transaction.
    const bad = e instanceof QuarantineSignal ? e.result : undefined;
    for (const t of todo) {
      const own = bad && t === current ? bad : undefined;
      const outcome: Outcome = own ? own.outcome : 'failed';
      const message = own
        ? own.message
        : bad
          ? `同時に取り込んだ別のファイルが${bad.outcome === 'held' ? '保留' : '隔離'}されたため、取り消しました`
          : `取込に失敗しました: ${(e as Error).message}`;
      const runId = await insertReturningId(knex, 'linkage_runs', {
        spec_id: t.p.specId,
        edition: own?.edition ?? null,
        file_name: name(t.p.file),
        file_sha256: t.sha256,
        kind: own?.kind ?? '-',
        encoding: own?.encoding ?? null,
        started_at: new Date(),
        finished_at: new Date(),
        rows_read: own?.rowsRead ?? 0,
        rows_applied: 0,
        rows_rejected: own?.rowsRejected ?? 0,
        unmapped_gaiji: own?.unmappedGaiji ?? 0,
        result: outcome,
        message: message.slice(0, 4000),
      });
      if (own) await recordIssues(knex, runId, own.issues);
      results.push(own ? { ...own, runId } : { ...emptyResult(t.p, t.sha256, outcome, message), runId });
    }
    if (!bad) throw e;
    return results;
  }
  for (const r of applied) await recordIssues(knex, r.runId, r.issues);
  return [...results, ...applied];
}
