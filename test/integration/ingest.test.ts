import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest } from '../../server/src/db/connect.js';
import { GaijiMap } from '../../server/src/linkage/forward/gaiji.js';
import { applyFiles } from '../../server/src/linkage/forward/apply.js';
import { planIngest } from '../../server/src/linkage/forward/ingest.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { readCsv } from '../helpers/csv.js';
import { databaseTargets, openTarget } from '../helpers/db.js';
import { configDir, tempDir } from '../helpers/paths.js';
import { makeTown, specFile } from '../helpers/town.js';
import type { GenerateSummary } from '../../server/src/demo/generator.js';

const registry = LayoutRegistry.load(configDir);

for (const target of databaseTargets) {
  describe(`loading linkage files on ${target.name}`, function () {
    this.timeout(120_000);
    const t = tempDir();
    let knex: Knex;
    let town: GenerateSummary;
    let gaiji: GaijiMap;
    const townDir = path.join(t.dir, 'town');

    before(async function () {
      knex = await openTarget(this, target, t.dir);
      await migrateLatest(knex);
      town = await makeTown(townDir, 1500, 'cp932', 'ingest');
      gaiji = GaijiMap.load(path.join(townDir, 'gaiji-map.csv'));
    });
    after(async () => {
      await knex?.destroy();
      t.remove();
    });

    it('loads a folder of CP932 full files in one go and records each run', async () => {
      const planned = planIngest(townDir, registry);
      expect(planned.map((p) => p.specId)).to.include.members(['001o005', '024o007', 'ext-address-master']);
      const reports = await applyFiles(knex, registry, planned, { gaiji });
      expect(reports.every((r) => r.outcome === 'applied')).to.equal(true);
      const residents = reports.find((r) => r.specId === '001o005')!;
      expect(residents.encoding).to.equal('cp932');
      expect(residents.unmappedGaiji).to.equal(0);
      const current = (await knex('residents').where({ resident_status: '1' }).count({ n: '*' }).first()) as { n: number };
      expect(Number(current.n)).to.equal(1500);
      const runs = (await knex('linkage_runs').where({ result: 'applied' })) as {
        spec_id: string;
        file_sha256: string;
        rows_applied: number;
      }[];
      expect(runs).to.have.length(planned.length);
      expect(runs.every((r) => /^[0-9a-f]{64}$/.test(r.file_sha256))).to.equal(true);
      const nhi = (await knex('entitlements').where({ kind: 'nationalHealthInsurance' }).count({ n: '*' }).first()) as { n: number };
      expect(Number(nhi.n)).to.equal(readCsv(specFile(town, '024o007'), 'cp932').length);
    });

    it('round-trips MJ, IVS and plane-16 names exactly through load and read', async () => {
      const source = readCsv(specFile(town, '001o005'), 'cp932', gaiji);
      const hard = source.filter((r) => /[髙﨑𠮷𡈽]|[\u{E0100}-\u{E01EF}]|[\u{100000}-\u{10FFFD}]/u.test(r['氏名']!));
      expect(hard.length).to.be.greaterThan(3);
      expect(hard.some((r) => r['氏名']!.includes('\u{10DE92}'))).to.equal(true);
      expect(hard.some((r) => r['氏名']!.includes('邉\u{E0101}'))).to.equal(true);
      const rows = (await knex('residents')
        .whereIn(
          'addressee_no',
          hard.map((r) => r['宛名番号']!),
        )
        .select('addressee_no', 'name', 'name_key', 'name_variant_key')) as {
        addressee_no: string;
        name: string;
        name_key: string;
        name_variant_key: string;
      }[];
      const byNo = new Map(rows.map((r) => [r.addressee_no, r]));
      for (const r of hard) expect(byNo.get(r['宛名番号']!)!.name).to.equal(r['氏名']);
      const watanabe = rows.find((r) => r.name.includes('邉\u{E0101}'))!;
      expect(watanabe.name_key).to.not.contain('\u{E0101}');
      expect(watanabe.name_variant_key.startsWith('渡辺')).to.equal(true);
    });

    it('quarantines a broken file with file, line and column, keeping the previous data', async () => {
      const before = (await knex('support_measures').count({ n: '*' }).first()) as { n: number };
      const dir = path.join(t.dir, 'broken', '001o013');
      mkdirSync(dir, { recursive: true });
      const good = readFileSync(specFile(town, '001o013'));
      const text = new TextDecoder('shift_jis').decode(good).split('\r\n');
      text[2] = text[2]!.replace(/,([12]),/, ',7,'); // 支援措置区分 7 does not exist
      const file = path.join(dir, '001o013_439991_20261102020000.csv');
      writeFileSync(file, text.join('\r\n'), 'utf8');
      const [r] = await applyFiles(knex, registry, planIngest(dir, registry));
      expect(r!.outcome).to.equal('quarantined');
      expect(r!.issues[0]).to.include({ line: 3, column: '支援措置区分', value: '7' });
      const after = (await knex('support_measures').count({ n: '*' }).first()) as { n: number };
      expect(Number(after.n)).to.equal(Number(before.n));
      const run = (await knex('linkage_runs').where({ id: r!.runId }).first()) as {
        spec_id: string;
        result: string;
        rows_rejected: number;
      };
      expect(run).to.include({ spec_id: '001o013', result: 'quarantined', rows_rejected: 1 });
      const issues = (await knex('linkage_run_issues').where({ run_id: r!.runId })) as {
        line: number;
        column_name: string;
        reason: string;
      }[];
      expect(issues).to.have.length(1);
      expect(issues[0]).to.include({ line: 3, column_name: '支援措置区分' });
    });

    it('masks personal values in error reports and rejects unknown headers', async () => {
      const dir = path.join(t.dir, 'broken2', '001o005');
      mkdirSync(dir, { recursive: true });
      const lines = new TextDecoder('shift_jis').decode(readFileSync(specFile(town, '001o005'))).split('\r\n');
      const cells = lines[1]!.split(',');
      const original = cells[4]!;
      cells[4] = 'あ'.repeat(101); // 氏名 over 100 characters
      lines[1] = cells.join(',');
      writeFileSync(path.join(dir, 'a.csv'), lines.slice(0, 3).join('\r\n'));
      const [r] = await applyFiles(knex, registry, [{ specId: '001o005', file: path.join(dir, 'a.csv') }]);
      expect(r!.outcome).to.equal('quarantined');
      expect(r!.issues[0]).to.include({ line: 2, column: '氏名' });
      expect(r!.issues[0]!.reason).to.contain('桁数超過');
      expect(r!.issues[0]!.value).to.equal(`あ${'*'.repeat(8)}`);
      const residents = (await knex('residents').where({ name: original }).count({ n: '*' }).first()) as { n: number };
      expect(Number(residents.n)).to.be.greaterThan(0);

      writeFileSync(path.join(dir, 'b.csv'), `宛名番号,謎の項目\r\n1,2\r\n`);
      const [h] = await applyFiles(knex, registry, [{ specId: '001o005', file: path.join(dir, 'b.csv') }]);
      expect(h!.outcome).to.equal('quarantined');
      expect(h!.issues[0]!.line).to.equal(1);
      expect(h!.issues[0]!.reason).to.contain('謎の項目');
    });

    // Through the row worker (every file, small as they are), the next file of a batch is read
    // while the last one's indexes are rebuilt, its rows packed before its own run exists.
    it('gives the rows of a file read ahead in the row worker the id of its own run', async () => {
      const planned = planIngest(townDir, registry);
      const indexNames = async () =>
        target.name === 'sqlite'
          ? (
              (await knex.raw(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`)) as {
                name: string;
              }[]
            ).map((r) => r.name)
          : [];
      const indexesBefore = await indexNames();
      const reports = await applyFiles(knex, registry, planned, { gaiji, force: true, workerMinBytes: 0 });
      expect(reports.map((r) => r.outcome)).to.deep.equal(planned.map(() => 'applied'));
      const runIds = async (table: string, where: Record<string, string> = {}) =>
        ((await knex(table).where(where).distinct('linkage_run_id')) as { linkage_run_id: number }[]).map((r) => Number(r.linkage_run_id));
      const runOf = (specId: string) => reports.find((r) => r.specId === specId)!.runId;
      expect(await runIds('residents')).to.deep.equal([runOf('001o005')]);
      expect(await runIds('households')).to.deep.equal([runOf('001o007')]);
      expect(await runIds('entitlements', { kind: 'nationalHealthInsurance' })).to.deep.equal([runOf('024o007')]);
      expect(await runIds('address_master')).to.deep.equal([runOf('ext-address-master')]);
      const current = (await knex('residents').where({ resident_status: '1' }).count({ n: '*' }).first()) as { n: number };
      expect(Number(current.n)).to.equal(1500);
      // Five files load entitlements: its indexes are dropped once and rebuilt once, all of them.
      expect(await indexNames()).to.deep.equal(indexesBefore);
      if (target.name === 'sqlite')
        expect(indexesBefore).to.include.members(['entitlements_addressee_no_index', 'residents_name_kana_key_index']);
    });

    it('rolls back a batch given up while its next file is read ahead, and loads the next batch', async () => {
      const dir = path.join(t.dir, 'ahead');
      const residents = path.join(dir, '001o005');
      const households = path.join(dir, '001o007');
      mkdirSync(residents, { recursive: true });
      mkdirSync(households, { recursive: true });
      const lines = new TextDecoder('shift_jis').decode(readFileSync(specFile(town, '001o005'))).split('\r\n');
      const header = lines[0]!.split(',');
      const birth = header.indexOf('生年月日');
      // 30 bad dates: past the threshold, so the residents file is quarantined after all its rows were taken.
      for (let i = 1; i <= 30; i++) {
        const cells = lines[i]!.split(',');
        cells[birth] = '20261399';
        lines[i] = cells.join(',');
      }
      writeFileSync(path.join(residents, '001o005_439991_20261103020000.csv'), lines.join('\r\n'), 'utf8');
      writeFileSync(path.join(households, '001o007_439991_20261103020000.csv'), readFileSync(specFile(town, '001o007')));
      const before = (await knex('households').max({ id: 'linkage_run_id' }).first()) as { id: number };
      const reports = await applyFiles(knex, registry, planIngest(dir, registry), { gaiji, force: true, workerMinBytes: 0 });
      expect(reports.map((r) => [r.specId, r.outcome])).to.deep.equal([
        ['001o005', 'quarantined'],
        ['001o007', 'failed'],
      ]);
      expect(reports[1]!.message).to.contain('隔離されたため、取り消しました');
      const after = (await knex('households').max({ id: 'linkage_run_id' }).first()) as { id: number };
      expect(after.id).to.equal(before.id);
      // The worker stopped the file read ahead: the households file alone loads at once.
      const [again] = await applyFiles(
        knex,
        registry,
        [{ specId: '001o007', file: path.join(households, '001o007_439991_20261103020000.csv') }],
        {
          gaiji,
          force: true,
          workerMinBytes: 0,
        },
      );
      expect(again!.outcome).to.equal('applied');
    });
  });
}
