import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import type { Knex } from 'knex';
import { applyFiles, type FileResult } from '../../server/src/linkage/forward/apply.js';
import { GaijiMap } from '../../server/src/linkage/forward/gaiji.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { configDir } from '../helpers/paths.js';
import { migratedSqlite, type TempDatabase } from '../helpers/db.js';

// The error kinds are shown on the 支援措置 layout's columns with `critical` off: the real layout is
// all or nothing (any bad row quarantines it; see linkage-traps.test.ts), which would hide the thresholds.
const configured = LayoutRegistry.load(configDir);
const registry = new LayoutRegistry(
  configured.specIds().flatMap((id) => configured.editions(id).map((l) => (id === '001o013' ? { ...l, critical: false } : l))),
);
const HEADER = '宛名番号,支援措置区分,支援措置開始年月日,支援措置終了年月日,備考';
const goodRows = Array.from({ length: 20 }, (_, i) => `${1000000000 + i},1,2026-0${(i % 9) + 1}-01,2027-01-01,`);
const skip = { maxRows: 10, maxRatio: 1 };
const strict = { maxRows: 0, maxRatio: 0 };

describe('forward linkage: every error kind, reported exactly', function () {
  this.timeout(60_000);
  let db: TempDatabase;
  let knex: Knex;
  let n = 0;

  before(async () => {
    db = await migratedSqlite();
    knex = db.knex;
  });
  after(() => db.close());

  /** Writes 001o013 rows (line 1 = header) with one line replaced, and applies the file. */
  async function applyWith(replace: Record<number, string>, threshold = skip, extra: string[] = [], header = HEADER): Promise<FileResult> {
    const lines = [header, ...goodRows, ...extra];
    for (const [line, text] of Object.entries(replace)) lines[Number(line) - 1] = text;
    const dir = path.join(db.dir, String(++n));
    mkdirSync(dir);
    const file = path.join(dir, `001o013_439991_2026110${n % 10}020000.csv`);
    writeFileSync(file, lines.join('\r\n') + '\r\n');
    const [r] = await applyFiles(knex, registry, [{ specId: '001o013', file }], { threshold });
    return r!;
  }

  const cases: { name: string; line: number; text: string; column?: string; reason: string; value?: string }[] = [
    {
      name: 'bad code value',
      line: 3,
      text: '1000000001,7,2026-02-01,2027-01-01,',
      column: '支援措置区分',
      reason: 'コード表 supportMeasureKind にない値です',
      value: '7',
    },
    {
      name: 'over-length (in code points, personal value masked)',
      line: 4,
      text: `1000000002,1,2026-03-01,2027-01-01,${'𠮷'.repeat(201)}`,
      column: '備考',
      reason: '桁数超過 (201 文字 > 200 文字)',
      value: `𠮷${'*'.repeat(8)}`,
    },
    {
      name: 'bad date',
      line: 5,
      text: '1000000003,1,2026-13-01,2027-01-01,',
      column: '支援措置開始年月日',
      reason: '日付の範囲が不正です',
      value: '2026-13-01',
    },
    {
      name: 'malformed date',
      line: 6,
      text: '1000000004,1,2026/04/01,2027-01-01,',
      column: '支援措置開始年月日',
      reason: '日付の形式が不正です',
      value: '2026/04/01',
    },
    { name: 'empty required item', line: 7, text: ',1,2026-05-01,2027-01-01,', column: '宛名番号', reason: '必須項目が空です', value: '' },
    {
      name: 'letters in a digits item',
      line: 8,
      text: '10000A0006,1,2026-06-01,2027-01-01,',
      column: '宛名番号',
      reason: '数字以外の文字があります',
      value: '10000A0006',
    },
    { name: 'wrong column count', line: 9, text: '1000000007,1,2026-07-01', reason: '列数が違います (3 列、ヘッダーは 5 列)' },
    {
      name: 'duplicate key',
      line: 10,
      text: '1000000000,1,2026-01-01,2027-01-01,',
      column: '宛名番号+支援措置開始年月日',
      reason: 'キーが重複しています (宛名番号+支援措置開始年月日)',
    },
  ];

  for (const c of cases) {
    it(`${c.name}: skipped below the threshold with line ${c.line}${c.column ? ` [${c.column}]` : ''}`, async () => {
      const r = await applyWith({ [c.line]: c.text });
      expect(r.outcome).to.equal('applied');
      expect(r.rowsRejected).to.equal(1);
      expect(r.rowsApplied).to.equal(19);
      expect(r.issues).to.have.length(1);
      const i = r.issues[0]!;
      expect(i.line).to.equal(c.line);
      expect(i.column).to.equal(c.column);
      expect(i.reason).to.equal(c.reason);
      if (c.value !== undefined) expect(i.value).to.equal(c.value);
      const stored = (await knex('linkage_run_issues').where({ run_id: r.runId })) as {
        line: number;
        column_name: string | null;
        reason: string;
      }[];
      expect(stored.map((s) => [s.line, s.column_name, s.reason])).to.deep.equal([[c.line, c.column ?? null, c.reason]]);
    });
  }

  it('quarantines the same problem under a strict threshold and keeps the previous data', async () => {
    const good = await applyWith({});
    expect(good.outcome).to.equal('applied');
    const before = (await knex('support_measures').select('addressee_no', 'start_date').orderBy('id')) as object[];
    const r = await applyWith({ 3: '1000000001,7,2026-02-01,2027-01-01,', 4: '1000000099,1,2026-02-01,2027-01-01,' }, strict);
    expect(r.outcome).to.equal('quarantined');
    expect(r.message).to.contain('しきい値');
    expect((await knex('support_measures').select('addressee_no', 'start_date').orderBy('id')) as object[]).to.deep.equal(before);
    const run = (await knex('linkage_runs').where({ id: r.runId }).first()) as { result: string; rows_applied: number };
    expect(run).to.include({ result: 'quarantined', rows_applied: 0 });
  });

  it('accepts non-calendar dates (1999-02-29) as the standard demands', async () => {
    const r = await applyWith({ 2: '1000000000,1,1999-02-29,2027-01-01,' }, strict);
    expect(r.outcome).to.equal('applied');
    const row = (await knex('support_measures').where({ addressee_no: '1000000000' }).first()) as { start_date: string };
    expect(row.start_date).to.equal('1999-02-29');
  });

  it('quarantines broken quoting whatever the threshold, naming the line', async () => {
    const r = await applyWith({ 6: '1000000004,1,2026-04-01,2027-01-01,"unterminated' }, skip);
    expect(r.outcome).to.equal('quarantined');
    expect(r.issues[0]!.reason).to.contain('CSV の形式エラー');
    expect(r.issues[0]!.line).to.be.at.least(6);
    expect(r.issues[0]!.fatal).to.equal(true);
  });

  it('quarantines an unknown header and a file of another spec', async () => {
    const r = await applyWith({}, skip, [], `${HEADER},謎の項目`);
    expect(r.outcome).to.equal('quarantined');
    expect(r.issues[0]).to.include({ line: 1 });
    expect(r.issues[0]!.reason).to.contain('未知の項目 謎の項目');
  });

  it('quarantines bytes that are not valid UTF-8 in a file that started as UTF-8', async () => {
    const dir = path.join(db.dir, 'enc');
    mkdirSync(dir);
    const file = path.join(dir, 'bad.csv');
    const head = Buffer.from(`\uFEFF${HEADER}\r\n${goodRows.join('\r\n')}\r\n`, 'utf8');
    writeFileSync(file, Buffer.concat([head, Buffer.from([0x31, 0x2c, 0x82, 0xa0, 0x0d, 0x0a])]));
    const [r] = await applyFiles(knex, registry, [{ specId: '001o013', file }], { threshold: skip });
    expect(r!.outcome).to.equal('quarantined');
    expect(r!.issues[0]!.reason).to.contain('UTF-8');
  });

  it('flags unmapped 外字 per row, counts them, and maps CP932 〜 to the JIS wave dash', async () => {
    const dir = path.join(db.dir, 'gaiji', '001o013');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'g.csv');
    const body = Buffer.concat([
      iconv.encode(`${HEADER}\r\n1000000001,1,2026-01-01,2027-01-01,`, 'cp932'),
      Buffer.from([0xf0, 0x40, 0xf0, 0x41]), // F040 mapped, F041 not
      iconv.encode('\r\n1000000002,1,2026-01-01,2027-01-01,朝〜夕\r\n'.replace('〜', '～'), 'cp932'),
    ]);
    writeFileSync(file, body);
    const map = new GaijiMap([{ sjis: 0xf040, text: '𠮷' }]);
    // Two rows replace the earlier tests' twenty: past the shrink guard, which is not what this test is about.
    const [r] = await applyFiles(knex, registry, [{ specId: '001o013', file }], { gaiji: map, threshold: skip, allowShrink: true });
    expect(r!.outcome).to.equal('applied');
    expect(r!.encoding).to.equal('cp932');
    expect(r!.unmappedGaiji).to.equal(1);
    const rows = (await knex('support_measures').orderBy('addressee_no').select('addressee_no', 'note', 'unmapped_gaiji')) as {
      note: string;
      unmapped_gaiji: number;
    }[];
    expect(rows[0]).to.deep.include({ note: `𠮷${String.fromCodePoint(0xe001)}`, unmapped_gaiji: 1 });
    expect(rows[1]).to.deep.include({ note: '朝\u301C夕', unmapped_gaiji: 0 });
    // The unmapped 外字 is reported with its line, item and code point, its value shown as 〓.
    expect(r!.issues).to.deep.equal([{ line: 2, column: '備考', value: '𠮷*', reason: '同定マップにない外字があります (U+E001)' }]);
    expect(r!.message).to.contain('同定マップにない外字');
    const [m] = await applyFiles(knex, registry, [{ specId: '001o013', file: file }], {
      gaiji: map,
      threshold: skip,
      cp932Mapping: 'microsoft',
    });
    expect(m!.outcome).to.equal('skipped'); // same bytes: already applied
  });
});

describe('forward linkage: a new layout edition from configuration alone', () => {
  it('applies a file of a new edition once its layout file is added', async () => {
    const db = await migratedSqlite();
    const { knex } = db;
    try {
      const cfg = path.join(db.dir, 'config');
      mkdirSync(path.join(cfg, 'layouts'), { recursive: true });
      const v1 = readFileSync(path.join(configDir, 'layouts', '001o013@1.0.yaml'), 'utf8');
      writeFileSync(path.join(cfg, 'layouts', '001o013@1.0.yaml'), v1);
      // 第2版: 備考 renamed 備考欄, and a new item that is read and checked but not stored.
      const v2 =
        v1.replace('edition: "1.0"', 'edition: "2.0"').replace('{header: 備考, column: note,', '{header: 備考欄, column: note,') +
        '  - {header: 支援措置申出区分, type: digits, length: 1}\n';
      const file = path.join(db.dir, '001o013_v2.csv');
      writeFileSync(
        file,
        '宛名番号,支援措置区分,支援措置開始年月日,支援措置終了年月日,備考欄,支援措置申出区分\r\n1000000001,1,2026-04-01,2027-03-31,第2版,1\r\n',
      );
      const before = await applyFiles(knex, LayoutRegistry.load(cfg), [{ specId: '001o013', file }]);
      expect(before[0]!.outcome).to.equal('quarantined');
      expect(before[0]!.issues[0]!.reason).to.contain('未知の項目 備考欄、支援措置申出区分');
      writeFileSync(path.join(cfg, 'layouts', '001o013@2.0.yaml'), v2);
      const [r] = await applyFiles(knex, LayoutRegistry.load(cfg), [{ specId: '001o013', file }]);
      expect(r!.outcome).to.equal('applied');
      expect(r!.edition).to.equal('2.0');
      const row = (await knex('support_measures').first()) as { note: string };
      expect(row.note).to.equal('第2版');
    } finally {
      await db.close();
    }
  });
});

describe('forward linkage: differential details', () => {
  let db: TempDatabase;
  let knex: Knex;
  const DIFF_HEADER =
    '処理区分,宛名番号,世帯番号,住民種別,住民状態,氏名,氏名_フリガナ,性別,続柄コード1,続柄表記,住所_市区町村コード,住所_町字,住所_番地号表記,異動事由';
  const write = (name: string, lines: string[]) => {
    const file = path.join(db.dir, name);
    writeFileSync(file, lines.join('\r\n') + '\r\n');
    return file;
  };
  before(async () => {
    db = await migratedSqlite();
    knex = db.knex;
  });
  after(() => db.close());

  it('merges a partial update over the stored row, keeping the search keys whole', async () => {
    const add = write('add.csv', [
      DIFF_HEADER,
      '1,1000000001,5000000001,1,1,髙橋　一郎,タカハシ　イチロウ,1,02,世帯主,439991,本町一丁目,1番1号,01',
    ]);
    const added = (await applyFiles(knex, registry, [{ specId: '001o005', file: add }]))[0]!;
    expect(added.outcome, JSON.stringify(added.issues)).to.equal('applied');
    // An update that leaves out the optional フリガナ: the stored one and its key must stay.
    const upd = write('upd.csv', [
      '処理区分,宛名番号,世帯番号,住民種別,住民状態,氏名,性別,続柄コード1,続柄表記,住所_市区町村コード,住所_町字,住所_番地号表記,異動事由',
      '2,1000000001,5000000001,1,1,髙橋　一郎,1,02,世帯主,439991,緑ケ丘二丁目,3番4号,41',
    ]);
    const [r] = await applyFiles(knex, registry, [{ specId: '001o005', file: upd }]);
    expect(r!.outcome).to.equal('applied');
    const row = (await knex('residents').where({ addressee_no: '1000000001' }).first()) as Record<string, unknown>;
    expect(row).to.include({
      name: '髙橋　一郎',
      name_kana: 'タカハシ　イチロウ',
      name_kana_key: 'たかはしいちろう',
      town_name: '緑ケ丘二丁目',
      change_reason_code: '41',
    });
    expect(row.name_variant_key).to.equal('高橋一郎');
    expect(String(row.address_key)).to.contain('緑ケ丘2-3-4');
  });

  it('applies the same key several times in order (delete, then add again)', async () => {
    const f = write('twice.csv', [
      DIFF_HEADER,
      '3,1000000001,5000000001,1,1,髙橋　一郎,タカハシ　イチロウ,1,02,世帯主,439991,本町一丁目,1番1号,01',
      '1,1000000001,5000000001,1,1,髙橋　一郎,タカハシ　イチロウ,1,02,世帯主,439991,本町一丁目,2番2号,01',
    ]);
    const [r] = await applyFiles(knex, registry, [{ specId: '001o005', file: f }]);
    expect(r!.outcome).to.equal('applied');
    expect(r!.rowsApplied).to.equal(2);
    const row = (await knex('residents').where({ addressee_no: '1000000001' }).first()) as { block_number: string };
    expect(row.block_number).to.equal('2番2号');
  });

  it('rejects rows whose CP932 bytes cannot be read, and --force re-applies identical content', async () => {
    const file = path.join(db.dir, 'bytes.csv');
    writeFileSync(
      file,
      Buffer.concat([
        iconv.encode(`${HEADER}\r\n1000000001,1,2026-01-01,2027-01-01,`, 'cp932'),
        Buffer.from([0x81, 0x20]),
        iconv.encode('\r\n', 'cp932'),
      ]),
    );
    const [r] = await applyFiles(knex, registry, [{ specId: '001o013', file }], {
      encoding: 'cp932',
      threshold: { maxRows: 0, maxRatio: 0 },
    });
    expect(r!.outcome).to.equal('quarantined');
    expect(r!.issues[0]!.reason).to.equal('CP932 として読めないバイトがあります (U+FFFD)');
    const good = write('good13.csv', [HEADER, '1000000001,1,2026-01-01,2027-01-01,']);
    expect((await applyFiles(knex, registry, [{ specId: '001o013', file: good }]))[0]!.outcome).to.equal('applied');
    expect((await applyFiles(knex, registry, [{ specId: '001o013', file: good }]))[0]!.outcome).to.equal('skipped');
    expect((await applyFiles(knex, registry, [{ specId: '001o013', file: good }], { force: true }))[0]!.outcome).to.equal('applied');
  });

  it('applies an older full file whose content differs from the latest (a rollback), but never a diff twice', async () => {
    const v1 = write('v1.csv', [HEADER, '1000000001,1,2026-01-01,2027-01-01,v1']);
    const v2 = write('v2.csv', [HEADER, '1000000001,1,2026-01-01,2027-01-01,v2']);
    for (const [f, want] of [
      [v1, 'applied'],
      [v2, 'applied'],
      [v1, 'applied'],
      [v1, 'skipped'],
    ] as const) {
      expect((await applyFiles(knex, registry, [{ specId: '001o013', file: f }]))[0]!.outcome, path.basename(f)).to.equal(want);
    }
    const d = write('d.csv', [`処理区分,${HEADER}`, '1,1000000002,1,2026-01-01,2027-01-01,diff']);
    expect((await applyFiles(knex, registry, [{ specId: '001o013', file: d }]))[0]!.outcome).to.equal('applied');
    await applyFiles(knex, registry, [{ specId: '001o013', file: v2 }]);
    expect((await applyFiles(knex, registry, [{ specId: '001o013', file: d }]))[0]!.outcome).to.equal('skipped');
  });
});
