import { expect } from 'chai';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { loadAppConfig, type LinkageSettings } from '../../server/src/config/appConfig.js';
import { migrateLatest, sqliteKnex } from '../../server/src/db/connect.js';
import type { FileResult } from '../../server/src/linkage/forward/apply.js';
import { GaijiMap } from '../../server/src/linkage/forward/gaiji.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { checkMissingFiles } from '../../server/src/linkage/forward/watchdog.js';
import { DropFolderWatcher, linkagePaths, pruneArchive } from '../../server/src/linkage/forward/watcher.js';
import { createLogger } from '../../server/src/ops/logger.js';
import { readCsv } from '../helpers/csv.js';
import { configDir, tempDir } from '../helpers/paths.js';
import { makeTown, specFile } from '../helpers/town.js';
import type { GenerateSummary } from '../../server/src/demo/generator.js';

const registry = LayoutRegistry.load(configDir);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('forward linkage: drop-folder watcher', function () {
  this.timeout(120_000);
  const t = tempDir();
  let knex: Knex;
  let town: GenerateSummary;
  let gaiji: GaijiMap;
  let watcher: DropFolderWatcher | undefined;
  const results: FileResult[] = [];
  const root = path.join(t.dir, 'linkage');

  function settings(overrides: Partial<LinkageSettings> = {}): LinkageSettings {
    const base = loadAppConfig(configDir).linkage;
    return { ...base, watch: { usePolling: false, pollIntervalMs: 200, stableMs: 500 }, ...overrides };
  }

  async function startWatcher(s = settings()): Promise<DropFolderWatcher> {
    await watcher?.stop();
    watcher = new DropFolderWatcher({
      knex,
      registry,
      settings: s,
      root,
      applyOptions: { gaiji, threshold: s.rejectThreshold },
      logger: createLogger({ console: false }),
      onResult: (r) => results.push(r),
    });
    await watcher.start();
    return watcher;
  }

  async function waitFor<T>(fn: () => T | undefined | false, ms = 20_000): Promise<T> {
    const until = Date.now() + ms;
    for (;;) {
      const v = fn();
      if (v) return v;
      if (Date.now() > until) throw new Error('timed out');
      await sleep(50);
    }
  }

  const count = async (table: string, where: Record<string, string> = {}) =>
    Number(((await knex(table).where(where).count({ n: '*' }).first()) as { n: number }).n);

  before(async () => {
    knex = sqliteKnex(path.join(t.dir, 'db.sqlite'));
    await migrateLatest(knex);
    town = await makeTown(path.join(t.dir, 'town'), 1200, 'cp932', 'watch', true);
    gaiji = GaijiMap.load(path.join(t.dir, 'town', 'gaiji-map.csv'));
  });
  after(async () => {
    await watcher?.stop();
    await knex.destroy();
    t.remove();
  });

  it('takes a file written in chunks only once it is complete', async () => {
    await startWatcher();
    const source = readFileSync(specFile(town, '001o005'));
    const target = path.join(linkagePaths(root, '001o005').drop, path.basename(specFile(town, '001o005')));
    const fd = openSync(target, 'w');
    const chunk = Math.ceil(source.length / 5);
    for (let i = 0; i < 5; i++) {
      writeSync(fd, source.subarray(i * chunk, (i + 1) * chunk));
      await sleep(200);
      expect(results, `taken after chunk ${i + 1}`).to.have.length(0);
    }
    closeSync(fd);
    const r = await waitFor(() => results.find((x) => x.specId === '001o005'));
    expect(r.outcome).to.equal('applied');
    expect(r.rowsApplied).to.equal(readCsv(specFile(town, '001o005'), 'cp932').length);
    expect(await count('residents', { resident_status: '1' })).to.equal(1200);
    expect(readdirSync(linkagePaths(root, '001o005').archive)).to.deep.equal([path.basename(target)]);
    expect(readdirSync(linkagePaths(root, '001o005').processing)).to.deep.equal([]);
  });

  it('ignores *.tmp until renamed, and takes files of one spec in name order', async () => {
    const drop = linkagePaths(root, '024o007').drop;
    const full = specFile(town, '024o007');
    const lines = readFileSync(full);
    writeFileSync(path.join(drop, 'b_024o007.csv.tmp'), lines);
    await sleep(1200);
    expect(results.filter((r) => r.specId === '024o007')).to.have.length(0);
    // Two files at once: the later name must be applied last.
    const header = new TextDecoder('shift_jis').decode(lines).split('\r\n')[0]!;
    writeFileSync(path.join(drop, 'a_024o007.csv'), `${header}\r\n`);
    renameSync(path.join(drop, 'b_024o007.csv.tmp'), path.join(drop, 'b_024o007.csv'));
    await waitFor(() => results.filter((r) => r.specId === '024o007').length === 2);
    const order = results.filter((r) => r.specId === '024o007').map((r) => path.basename(r.file));
    expect(order).to.deep.equal(['a_024o007.csv', 'b_024o007.csv']);
    expect(await count('entitlements', { kind: 'nationalHealthInsurance' })).to.equal(readCsv(full, 'cp932').length);
  });

  it('treats a re-dropped file (same checksum) as a no-op and reports it', async () => {
    const before = results.length;
    const rowsBefore = await count('residents');
    copyFileSync(specFile(town, '001o005'), path.join(linkagePaths(root, '001o005').drop, 'again.csv'));
    const r = await waitFor(() => results.slice(before).find((x) => x.specId === '001o005'));
    expect(r.outcome).to.equal('skipped');
    expect(r.message).to.contain('取込済み');
    expect(await count('residents')).to.equal(rowsBefore);
    expect(readdirSync(linkagePaths(root, '001o005').archive)).to.include('again.csv');
  });

  it('quarantines a bad file with JSON and text reports, and the old data stays', async () => {
    const before = results.length;
    const rowsBefore = await count('support_measures');
    const lines = new TextDecoder('shift_jis').decode(readFileSync(specFile(town, '001o013'))).split('\r\n');
    lines[1] = lines[1]!.replace(/^([0-9]+),[12],/, '$1,9,');
    writeFileSync(path.join(linkagePaths(root, '001o013').drop, 'bad.csv'), lines.join('\r\n'));
    const r = await waitFor(() => results.slice(before).find((x) => x.specId === '001o013'));
    expect(r.outcome).to.equal('quarantined');
    const q = linkagePaths(root, '001o013').quarantine;
    expect(readdirSync(q).sort()).to.deep.equal(['bad.csv', 'bad.csv.report.json', 'bad.csv.report.txt']);
    const json = JSON.parse(readFileSync(path.join(q, 'bad.csv.report.json'), 'utf8')) as {
      outcome: string;
      issues: { line: number; column: string; value: string; reason: string }[];
    };
    expect(json.outcome).to.equal('quarantined');
    expect(json.issues[0]).to.deep.include({ line: 2, column: '支援措置区分', value: '9' });
    const text = readFileSync(path.join(q, 'bad.csv.report.txt'), 'utf8');
    expect(text).to.contain('2 行目 [支援措置区分]: コード表 supportMeasureKind にない値です (値: 9)');
    expect(await count('support_measures')).to.equal(rowsBefore);
    const run = (await knex('linkage_runs').where({ id: r.runId }).first()) as { report_file: string };
    expect(run.report_file).to.equal(path.join(q, 'bad.csv.report.txt'));
  });

  it('applies a differential file: adds, updates and deletes by key in one transaction', async () => {
    const diffFile = town.files.find((f) => f.includes(`${path.sep}diff${path.sep}001o005`))!;
    const rows = readCsv(diffFile, 'cp932', gaiji);
    const adds = rows.filter((r) => r['処理区分'] === '1');
    const updates = rows.filter((r) => r['処理区分'] === '2');
    expect(adds.length + updates.length).to.be.greaterThan(0);
    // A delete row of our own: remove the first former resident.
    const former = (await knex('residents').whereNot({ resident_status: '1' }).first('addressee_no')) as { addressee_no: string };
    const text = new TextDecoder('shift_jis').decode(readFileSync(diffFile)).split('\r\n').filter(Boolean);
    const cells = text[1]!.split(',');
    cells[0] = '3';
    cells[1] = former.addressee_no;
    text.push(cells.join(','));
    const file = path.join(linkagePaths(root, '001o005').drop, 'zz_diff.csv');
    writeFileSync(file + '.part', iconvLike(text.join('\r\n') + '\r\n'));
    renameSync(file + '.part', file);
    const before = results.length;
    const r = await waitFor(() => results.slice(before).find((x) => x.specId === '001o005'));
    expect(r.outcome).to.equal('applied');
    expect(r.kind).to.equal('diff');
    expect(r.rowsApplied).to.equal(rows.length + 1);
    for (const a of adds) expect(await count('residents', { addressee_no: a['宛名番号']! })).to.equal(1);
    for (const u of updates) {
      const row = (await knex('residents').where({ addressee_no: u['宛名番号']! }).first()) as {
        resident_status: string;
        change_reason_code: string;
        name_key: string;
      };
      expect(row.resident_status).to.equal(u['住民状態']);
      expect(row.change_reason_code).to.equal(u['異動事由']);
    }
    expect(await count('residents', { addressee_no: former.addressee_no })).to.equal(0);
  });

  it('waits for a .done sidecar when configured, and quarantines an MD5 mismatch', async () => {
    await startWatcher(settings({ sidecar: 'done' }));
    const before = results.length;
    const drop = linkagePaths(root, 'ext-arrears').drop;
    copyFileSync(specFile(town, 'ext-arrears'), path.join(drop, 'arrears.csv'));
    await sleep(1500);
    expect(results.slice(before)).to.have.length(0);
    writeFileSync(path.join(drop, 'arrears.csv.done'), '');
    const r = await waitFor(() => results.slice(before).find((x) => x.specId === 'ext-arrears'));
    expect(r.outcome).to.equal('applied');
    expect(existsSync(path.join(drop, 'arrears.csv.done'))).to.equal(false);

    await startWatcher(settings({ sidecar: 'md5' }));
    const good = readFileSync(specFile(town, 'ext-issuance-ban'));
    const bdrop = linkagePaths(root, 'ext-issuance-ban').drop;
    writeFileSync(path.join(bdrop, 'ban.csv'), good);
    writeFileSync(path.join(bdrop, 'ban.csv.md5'), `${createHash('md5').update('something else').digest('hex')}  ban.csv\n`);
    const q = linkagePaths(root, 'ext-issuance-ban').quarantine;
    await waitFor(() => existsSync(path.join(q, 'ban.csv.report.txt')));
    expect(readFileSync(path.join(q, 'ban.csv.report.txt'), 'utf8')).to.contain('MD5 が一致しません');
    const md5Run = (await knex('linkage_runs').where({ spec_id: 'ext-issuance-ban', result: 'quarantined' }).first()) as {
      file_name: string;
      message: string;
      report_file: string;
    };
    expect(md5Run).to.include({ file_name: 'ban.csv', report_file: path.join(q, 'ban.csv.report.txt') });
    writeFileSync(path.join(bdrop, 'ban2.csv'), good);
    writeFileSync(path.join(bdrop, 'ban2.csv.md5'), createHash('md5').update(good).digest('hex'));
    const ok = await waitFor(() => results.find((x) => x.specId === 'ext-issuance-ban' && path.basename(x.file) === 'ban2.csv'));
    expect(ok.outcome).to.equal('applied');
  });

  it('on start, first re-does a file left in processing/ by a crash', async () => {
    await watcher?.stop();
    watcher = undefined;
    const p = linkagePaths(root, 'ext-corporation');
    mkdirSync(p.processing, { recursive: true });
    copyFileSync(specFile(town, 'ext-corporation'), path.join(p.processing, 'left-behind.csv'));
    const before = results.length;
    await startWatcher();
    const r = await waitFor(() => results.slice(before).find((x) => x.specId === 'ext-corporation'));
    expect(r.outcome).to.equal('applied');
    expect(await count('corporations')).to.equal(readCsv(specFile(town, 'ext-corporation'), 'cp932').length);
    expect(readdirSync(p.processing)).to.deep.equal([]);
  });

  it('raises a missing-file alert after the deadline and resolves it when the file comes', async () => {
    const s = settings({
      specs: {
        '001o005': { expectedBy: '06:00', expectedOn: 'businessDays' },
        '026o001': { expectedBy: '06:00', expectedOn: 'businessDays' },
      },
    });
    const early = new Date('2026-11-23T20:00:00Z'); // 05:00 JST on Tuesday the 24th
    expect(await checkMissingFiles(knex, s, { now: early })).to.deep.equal([]);
    const late = new Date('2026-11-23T22:00:00Z'); // 07:00 JST
    expect(await checkMissingFiles(knex, s, { now: late, record: false })).to.have.length(2);
    expect(await count('linkage_alerts')).to.equal(0); // a status view computes, it does not write
    const alerts = await checkMissingFiles(knex, s, { now: late });
    expect(alerts.map((a) => a.specId).sort()).to.deep.equal(['001o005', '026o001']);
    expect(alerts[0]!.message).to.contain('06:00 までに届いていません');
    expect(await count('linkage_alerts', { alert_date: '2026-11-24' })).to.equal(2);
    await knex('linkage_runs').insert({
      spec_id: '026o001',
      file_name: 'x.csv',
      kind: 'full',
      started_at: new Date('2026-11-23T22:30:00Z'),
      result: 'applied',
    });
    const later = await checkMissingFiles(knex, s, { now: new Date('2026-11-23T22:40:00Z') });
    expect(later.map((a) => a.specId)).to.deep.equal(['001o005']);
    const resolved = (await knex('linkage_alerts').where({ spec_id: '026o001' }).first()) as { resolved_at: unknown };
    expect(resolved.resolved_at).to.not.equal(null);
    // Saturday, and a closed date: no business-day file is expected; an every-day spec still is.
    const saturday = new Date('2026-11-27T22:00:00Z'); // 07:00 JST Sat 28th
    expect(await checkMissingFiles(knex, s, { now: saturday, record: false })).to.deep.equal([]);
    expect(await checkMissingFiles(knex, s, { now: late, record: false, closedDates: ['2026-11-24'] })).to.deep.equal([]);
    const daily = settings({ specs: { '001o005': { expectedBy: '06:00', expectedOn: 'everyDay' } } });
    expect((await checkMissingFiles(knex, daily, { now: saturday, record: false })).map((a) => a.specId)).to.deep.equal(['001o005']);
  });

  it('applies files dropped at the same moment in several specs one at a time, none failing on a locked database', async () => {
    await startWatcher();
    const before = results.length;
    const specs = ['023o002', '025o005', 'ext-nonresident'];
    // All three written first, then renamed in the same tick: the watcher sees them together.
    for (const id of specs) copyFileSync(specFile(town, id), path.join(linkagePaths(root, id).drop, `${id}_together.csv.part`));
    for (const id of specs)
      renameSync(
        path.join(linkagePaths(root, id).drop, `${id}_together.csv.part`),
        path.join(linkagePaths(root, id).drop, `${id}_together.csv`),
      );
    const done = await waitFor(() => {
      const mine = results.slice(before).filter((x) => specs.includes(x.specId));
      return mine.length === specs.length && mine;
    });
    expect(done.map((r) => [r.specId, r.outcome, r.message.includes('locked')]).sort()).to.deep.equal(
      specs.map((id) => [id, 'applied', false]).sort(),
    );
    const failed = (await knex('linkage_runs').whereIn('spec_id', specs).where({ result: 'failed' }).count({ n: '*' }).first()) as {
      n: number;
    };
    expect(Number(failed.n)).to.equal(0);
    expect(await count('non_residents')).to.equal(readCsv(specFile(town, 'ext-nonresident'), 'cp932').length);
  });

  it('prunes archived files older than archiveDays', () => {
    const archive = linkagePaths(root, '001o005').archive;
    const before = readdirSync(archive).length;
    expect(before).to.be.greaterThan(0);
    expect(pruneArchive(root, 30)).to.equal(0);
    expect(pruneArchive(root, 30, new Date(Date.now() + 31 * 86_400_000))).to.be.at.least(before);
    expect(readdirSync(archive)).to.deep.equal([]);
  });
});

/** The diff lines were decoded from CP932; write them back the same way. */
function iconvLike(text: string): Buffer {
  return Buffer.from(new Uint8Array(encodeCp932(text)));
}
import { encodeCp932 } from '../../server/src/demo/writer.js';
