import { expect } from 'chai';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GaijiMap } from '../../server/src/linkage/forward/gaiji.js';
import { derivedKeyColumns, insertRowBuilder } from '../../server/src/linkage/forward/keys.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { openLinkageFile, type OpenedFile, type ParsedRow } from '../../server/src/linkage/forward/reader.js';
import {
  closeRows,
  openLinkageFileInWorker,
  prebuiltInsert,
  prepareInserts,
  takeRows,
} from '../../server/src/linkage/forward/rowWorker.js';
import { configDir, repoRoot, tempDir } from '../helpers/paths.js';
import { makeTown } from '../helpers/town.js';

/**
 * The row worker (rowWorker.ts) reads linkage files in a worker thread and hands rows over in a
 * packed form: whatever the file, the rows, their problems, their values and their insert rows
 * must be exactly those of `openLinkageFile` in this thread, and its errors the same errors.
 */

const registry = LayoutRegistry.load(configDir);
const TRAPS = path.join(repoRoot, 'test/fixtures/linkage-traps');
/** The test files are small: through the worker all the same. */
const ALWAYS = { minBytes: 0 };

function csvFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    if (statSync(p).isDirectory()) return csvFiles(p);
    return /\.csv$/i.test(n) && n !== 'gaiji-map.csv' ? [p] : [];
  });
}

const specOf = (file: string) => registry.specIds().find((id) => path.basename(file).startsWith(`${id}_`))!;

/** All of a row but its values, and its values copied out (a packed row's values are a view). */
function plain(r: ParsedRow): Record<string, unknown> {
  const { values, ...rest } = r;
  return { ...rest, values: { ...values } };
}

async function read(opened: OpenedFile, plan: boolean): Promise<{ rows: Record<string, unknown>[]; inserts: unknown[][] }> {
  const { layout, headers } = opened;
  const fileColumns = layout.columns.filter((c) => c.column && headers.includes(c.header)).map((c) => c.column!);
  const columns = [...Object.keys(layout.fixed), ...fileColumns, ...derivedKeyColumns(layout.table), 'unmapped_gaiji', 'linkage_run_id'];
  const build = insertRowBuilder(columns, layout.table, 7);
  if (plan) prepareInserts(opened, { columns, table: layout.table, runId: 7 });
  const rows: Record<string, unknown>[] = [];
  const inserts: unknown[][] = [];
  for (;;) {
    // Odd sizes, so that takes end inside the worker's batches.
    const batch = await takeRows(opened, 777);
    if (!batch.length) break;
    for (const r of batch) {
      rows.push(plain(r));
      if (!r.issues.length) inserts.push(prebuiltInsert(r) ?? build(r));
    }
  }
  closeRows(opened);
  return { rows, inserts };
}

async function outcome(open: () => Promise<OpenedFile>, plan: boolean) {
  let opened: OpenedFile;
  try {
    opened = await open();
  } catch (e) {
    const err = e as Error & { issues?: unknown };
    return { error: { name: err.name, message: err.message, issues: err.issues } };
  }
  const { layout, encoding, headers, differential } = opened;
  return { specId: layout.specId, edition: layout.edition, encoding, headers, differential, ...(await read(opened, plan)) };
}

describe('linkage row worker', function () {
  this.timeout(120_000);
  const t = tempDir();
  const townDir = path.join(t.dir, 'town');
  let files: { file: string; gaiji: GaijiMap }[] = [];

  before(async () => {
    await makeTown(townDir, 700, 'cp932', 'row-worker');
    const townGaiji = GaijiMap.load(path.join(townDir, 'gaiji-map.csv'));
    const trapGaiji = GaijiMap.load(path.join(TRAPS, 'gaiji-map.csv'));
    files = [
      ...csvFiles(townDir).map((file) => ({ file, gaiji: townGaiji })),
      ...csvFiles(TRAPS).map((file) => ({ file, gaiji: trapGaiji })),
    ];
  });
  after(() => t.remove());

  it('gives the rows, problems, values and insert rows of openLinkageFile, and its errors', async () => {
    expect(files.length).to.be.greaterThan(30);
    for (const { file, gaiji } of files) {
      const spec = specOf(file);
      for (const plan of [true, false]) {
        const here = await outcome(() => openLinkageFile(file, spec, registry, { gaiji }), plan);
        const there = await outcome(() => openLinkageFileInWorker(file, spec, registry, { gaiji }, ALWAYS), plan);
        expect(there, `${path.relative(repoRoot, file)} (${plan ? 'with' : 'without'} insert plan)`).to.deep.equal(here);
      }
    }
  });

  it('reads the rows in the worker, not in this thread (small files here)', async () => {
    const file = files.find((f) => specOf(f.file) === '001o007')!;
    const opened = await openLinkageFileInWorker(file.file, '001o007', registry, { gaiji: file.gaiji }, ALWAYS);
    expect(Object.getOwnPropertySymbols(opened)).to.have.length(1);
    closeRows(opened);
    const small = await openLinkageFileInWorker(file.file, '001o007', registry, { gaiji: file.gaiji });
    expect(Object.getOwnPropertySymbols(small)).to.have.length(0);
    closeRows(small);
  });

  it('stops a file given up early, and reads the next', async () => {
    const [a, b] = files.filter((f) => specOf(f.file) === '001o005');
    const first = await openLinkageFileInWorker(a!.file, '001o005', registry, { gaiji: a!.gaiji }, ALWAYS);
    expect(await takeRows(first, 3)).to.have.length(3);
    closeRows(first);
    const second = await outcome(() => openLinkageFileInWorker(b!.file, '001o005', registry, { gaiji: b!.gaiji }, ALWAYS), true);
    expect(second).to.deep.equal(await outcome(() => openLinkageFile(b!.file, '001o005', registry, { gaiji: b!.gaiji }), true));
  });

  // The readers hand rows over 64 at a time, and only the file's last record is checked for a cut:
  // a file cut right at the end of such an array must still be found cut, in either thread.
  it("finds a file cut at the end of one of the reader's arrays of rows, in this thread and in the worker", async () => {
    const source = files.find((f) => specOf(f.file) === '001o005')!;
    const lines = readFileSync(source.file, 'latin1').split('\r\n');
    expect(lines.length).to.be.greaterThan(200);
    for (const records of [63, 64, 65, 128, 129]) {
      const kept = lines.slice(0, records + 1); // the header and `records` rows
      const noLineEnd = path.join(t.dir, `cut-${records}-a.csv`);
      writeFileSync(noLineEnd, kept.join('\r\n'), 'latin1');
      const midRow = path.join(t.dir, `cut-${records}-b.csv`);
      writeFileSync(midRow, [...kept.slice(0, -1), kept.at(-1)!.split(',').slice(0, 5).join(',')].join('\r\n') + '\r\n', 'latin1');
      for (const file of [noLineEnd, midRow])
        for (const open of [
          () => openLinkageFile(file, '001o005', registry, { gaiji: source.gaiji }),
          () => openLinkageFileInWorker(file, '001o005', registry, { gaiji: source.gaiji }, ALWAYS),
        ]) {
          const got = await outcome(open, true);
          expect(got, path.basename(file)).to.not.have.property('error');
          const rows = (got as unknown as { rows: { line: number; issues: { fatal?: boolean; reason: string }[] }[] }).rows;
          expect(rows, `${path.basename(file)}`).to.have.length(records);
          const last = rows.at(-1)!;
          expect(last.line, path.basename(file)).to.equal(records + 1);
          expect(last.issues[0]?.fatal, path.basename(file)).to.equal(true);
          expect(last.issues[0]!.reason).to.contain('ファイルが途中で切れています');
          expect(rows.slice(0, -1).every((r) => r.issues.length === 0)).to.equal(true);
        }
    }
  });
});
