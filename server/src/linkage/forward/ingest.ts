import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { dialectOf } from '../../db/dialects/index.js';
import type { EncodingSetting } from './decode.js';
import { GaijiMap } from './gaiji.js';
import { derivedKeyColumns, derivedKeys } from './keys.js';
import type { LayoutRegistry } from './layouts.js';
import { LinkageFileError, openLinkageFile, type ParsedRow } from './reader.js';

export interface IngestProgress {
  specId: string;
  file: string;
  rows: number;
  bytes: number;
  totalBytes: number;
}

export interface IngestOptions {
  encoding?: EncodingSetting;
  gaiji?: GaijiMap;
  onProgress?: (p: IngestProgress) => void;
}

export interface FileReport {
  runId: number;
  specId: string;
  edition: string;
  file: string;
  sha256: string;
  encoding: string;
  rowsRead: number;
  rowsApplied: number;
  unmappedGaiji: number;
}

export interface PlannedFile {
  specId: string;
  file: string;
}

const BATCH_ROWS = 5000;

/**
 * What to load from PATH: a folder holding one sub-folder per spec id (the newest *.csv of each,
 * by name — the standard's file names end with a timestamp), a single spec folder, or one file
 * (spec id from its folder or its name prefix).
 */
export function planIngest(target: string, registry: LayoutRegistry): PlannedFile[] {
  const known = registry.specIds();
  const specOf = (name: string): string | undefined => known.find((id) => name === id || name.startsWith(`${id}_`));
  const newestCsv = (dir: string): string | undefined =>
    readdirSync(dir)
      .filter((n) => /\.csv$/i.test(n))
      .sort()
      .pop();
  if (!existsSync(target)) throw new Error(`指定されたパスがありません: ${target}`);
  if (statSync(target).isFile()) {
    const spec = specOf(path.basename(path.dirname(target))) ?? specOf(path.basename(target));
    if (!spec) throw new Error(`ファイルの連携仕様 ID が分かりません (フォルダ名かファイル名の先頭を仕様 ID にしてください): ${target}`);
    return [{ specId: spec, file: target }];
  }
  const own = specOf(path.basename(target));
  if (own) {
    const f = newestCsv(target);
    return f ? [{ specId: own, file: path.join(target, f) }] : [];
  }
  const planned: PlannedFile[] = [];
  for (const id of known) {
    const dir = path.join(target, id);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    const f = newestCsv(dir);
    if (f) planned.push({ specId: id, file: path.join(dir, f) });
  }
  if (!planned.length) throw new Error(`読み込む連携ファイルがありません (仕様 ID のフォルダ ${known.join(', ')} のいずれかに CSV を置いてください): ${target}`);
  return planned;
}

async function nextBatch(rows: AsyncGenerator<ParsedRow>, size: number): Promise<ParsedRow[]> {
  const out: ParsedRow[] = [];
  while (out.length < size) {
    const n = await rows.next();
    if (n.done) break;
    out.push(n.value);
  }
  return out;
}

/**
 * Loads full files into the cache, all of them in one transaction: each file's data set
 * (its table, scoped by the layout's fixed columns) is replaced. Any error rolls everything
 * back, so readers see yesterday's data or today's, never a mix; the failure is then recorded
 * as a linkage run of its own.
 */
export async function ingestFullFiles(knex: Knex, registry: LayoutRegistry, planned: PlannedFile[], opts: IngestOptions = {}): Promise<FileReport[]> {
  const dialect = dialectOf(knex);
  const startedAt = new Date();
  const reports: FileReport[] = [];
  let current: PlannedFile | undefined;
  try {
    await knex.transaction(async (trx) => {
      for (const p of planned) {
        current = p;
        const opened = await openLinkageFile(p.file, p.specId, registry, { encoding: opts.encoding ?? 'auto', gaiji: opts.gaiji ?? new GaijiMap() });
        const { layout } = opened;
        if (opened.differential) throw new LinkageFileError(p.file, [{ line: 1, column: layout.processingKindHeader, reason: '差分ファイルです。全件ファイルを指定してください' }]);
        const totalBytes = statSync(p.file).size;
        const fileColumns = layout.columns.filter((c) => c.column && opened.headers.includes(c.header)).map((c) => c.column!);
        const columns = [...Object.keys(layout.fixed), ...fileColumns, ...derivedKeyColumns(layout.table), 'linkage_run_id'];
        const derive = derivedKeys[layout.table];
        const [runRow] = await trx('linkage_runs')
          .insert({ spec_id: layout.specId, edition: layout.edition, file_name: path.basename(p.file), kind: 'full', encoding: opened.encoding.encoding, started_at: new Date(), result: 'running' })
          .returning('id');
        const runId = typeof runRow === 'object' ? (runRow as { id: number }).id : Number(runRow);
        await trx(layout.table).where(layout.fixed).del();
        let rowsRead = 0;
        let unmappedGaiji = 0;
        const seenKeys = new Set<string>();
        const keyColumns = layout.columns.filter((c) => layout.keys.includes(c.header)).map((c) => c.column!);
        for (;;) {
          const batch = await nextBatch(opened.rows, BATCH_ROWS);
          if (!batch.length) break;
          const values: unknown[][] = [];
          for (const r of batch) {
            rowsRead++;
            if (r.issues.length) throw new LinkageFileError(p.file, r.issues);
            const key = keyColumns.map((c) => String(r.values[c] ?? '')).join('\u0000');
            if (seenKeys.has(key)) throw new LinkageFileError(p.file, [{ line: r.line, column: layout.keys.join('+'), reason: 'キーが重複しています' }]);
            seenKeys.add(key);
            unmappedGaiji += r.unmappedGaiji;
            const row = derive ? { ...r.values, ...derive(r.values) } : r.values;
            row.linkage_run_id = runId;
            values.push(columns.map((c) => row[c] ?? null));
          }
          await dialect.bulkInsert(trx, layout.table, columns, values);
          opts.onProgress?.({ specId: p.specId, file: p.file, rows: rowsRead, bytes: opened.bytesRead(), totalBytes });
        }
        const sha256 = opened.sha256();
        await trx('linkage_runs').where({ id: runId }).update({
          file_sha256: sha256,
          finished_at: new Date(),
          rows_read: rowsRead,
          rows_applied: rowsRead,
          unmapped_gaiji: unmappedGaiji,
          result: 'applied',
          message: opened.encoding.reason,
        });
        reports.push({ runId, specId: layout.specId, edition: layout.edition, file: p.file, sha256, encoding: opened.encoding.encoding, rowsRead, rowsApplied: rowsRead, unmappedGaiji });
      }
    });
  } catch (e) {
    await knex('linkage_runs').insert({
      spec_id: current?.specId ?? '-',
      file_name: current ? path.basename(current.file) : '-',
      kind: 'full',
      started_at: startedAt,
      finished_at: new Date(),
      result: 'failed',
      message: (e as Error).message.slice(0, 4000),
    });
    throw e;
  }
  return reports;
}
