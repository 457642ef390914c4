import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isValidAddresseeNo } from '../../server/src/domain/addresseeNo.js';
import { ageOn, endOfSchoolYearReaching, isCalendarDate } from '../../server/src/domain/dates.js';
import { codeTables } from '../../server/src/domain/codes.js';
import { myNumberCheckDigit, corporateNumberCheckDigit, generateTown } from '../../server/src/demo/generator.js';
import { GaijiMap } from '../../server/src/linkage/forward/gaiji.js';
import { readCsv } from '../helpers/csv.js';
import { tempDir } from '../helpers/paths.js';
import { AS_OF, makeTown, specFile } from '../helpers/town.js';
import type { GenerateSummary } from '../../server/src/demo/generator.js';

function digest(files: string[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort()) h.update(path.basename(f)).update(readFileSync(f));
  return h.digest('hex');
}

describe('demo town generator', function () {
  this.timeout(120_000);
  const t = tempDir();
  let utf8: GenerateSummary;
  let cp932: GenerateSummary;
  let residents: Record<string, string>[];

  before(async () => {
    utf8 = await makeTown(path.join(t.dir, 'utf8'), 10_000, 'utf8', 'seed-a', true);
    cp932 = await makeTown(path.join(t.dir, 'cp932'), 10_000, 'cp932', 'seed-a', true);
    residents = readCsv(specFile(utf8, '001o005'));
  });
  after(() => t.remove());

  it('writes exactly N current residents, one folder per spec id', () => {
    expect(utf8.people).to.equal(10_000);
    expect(residents.filter((r) => r['住民状態'] === '1')).to.have.length(10_000);
    const folders = new Set(utf8.files.map((f) => path.basename(path.dirname(f))));
    expect([...folders]).to.include.members([
      '001o005',
      '001o007',
      '001o009',
      '001o013',
      '023o002',
      '024o007',
      '025o005',
      '026o001',
      '027o003',
      'ext-address-master',
    ]);
  });

  it('CP932 and UTF-8 outputs of one seed decode to the same names through the 同定マップ', () => {
    const map = GaijiMap.load(path.join(t.dir, 'cp932', 'gaiji-map.csv'));
    const legacy = readCsv(specFile(cp932, '001o005'), 'cp932', map);
    const raw = readCsv(specFile(cp932, '001o005'), 'cp932');
    expect(legacy.map((r) => r['氏名'])).to.deep.equal(residents.map((r) => r['氏名']));
    expect(legacy.map((r) => r['氏名_フリガナ'])).to.deep.equal(residents.map((r) => r['氏名_フリガナ']));
    // The legacy file really carries 外字 codes where the UTF-8 file has IVS / plane-16 characters.
    expect(raw.some((r) => /[\uE000-\uE757]/.test(r['氏名']!))).to.equal(true);
    expect(raw.some((r) => /\u{10DE92}|\u{E0101}/u.test(r['氏名']!))).to.equal(false);
  });

  it('is deterministic from the seed, and --diff does not change the full files', async () => {
    const again = await makeTown(path.join(t.dir, 'again'), 10_000, 'utf8', 'seed-a', false);
    const fullOnly = (s: GenerateSummary) => s.files.filter((f) => !f.includes(`${path.sep}diff${path.sep}`));
    expect(digest(fullOnly(again))).to.equal(digest(fullOnly(utf8)));
    const other = await makeTown(path.join(t.dir, 'other'), 10_000, 'utf8', 'seed-b', false);
    expect(digest(fullOnly(other))).to.not.equal(digest(fullOnly(utf8)));
  });

  it('gives every household exactly one head, matching the household file', () => {
    const current = residents.filter((r) => r['住民状態'] === '1');
    const heads = new Map<string, number>();
    for (const r of current) if (r['続柄コード1'] === '02') heads.set(r['世帯番号']!, (heads.get(r['世帯番号']!) ?? 0) + 1);
    const households = readCsv(specFile(utf8, '001o007'));
    expect(households).to.have.length(utf8.households);
    for (const h of households) expect(heads.get(h['世帯番号']!), h['世帯番号']).to.equal(1);
    const byNo = new Map(current.map((r) => [r['宛名番号']!, r]));
    for (const h of households) expect(byNo.get(h['世帯主宛名番号']!)?.['続柄コード1']).to.equal('02');
    expect(new Set(current.map((r) => r['世帯番号'])).size).to.equal(households.length);
  });

  it('uses valid check digits, codes and relationship chains', () => {
    for (const r of residents) {
      expect(isValidAddresseeNo(r['宛名番号']!), r['宛名番号']).to.equal(true);
      expect(isValidAddresseeNo(r['世帯番号']!), r['世帯番号']).to.equal(true);
      expect(codeTables.changeReason![r['異動事由']!], r['異動事由']).to.be.a('string');
      if (r['個人番号']) expect(myNumberCheckDigit(r['個人番号'].slice(0, 11))).to.equal(Number(r['個人番号'].slice(11)));
      const chain = [r['続柄コード1'], r['続柄コード2'], r['続柄コード3'], r['続柄コード4']].filter(Boolean);
      expect(chain.length).to.be.within(1, 4);
    }
    expect(residents.some((r) => r['続柄表記'] === '子の妻')).to.equal(true);
    expect(residents.some((r) => r['続柄表記'] === '子の子')).to.equal(true);
    for (const c of readCsv(specFile(utf8, 'ext-corporation')))
      expect(corporateNumberCheckDigit(c['法人番号']!.slice(1))).to.equal(Number(c['法人番号']![0]));
  });

  it('keeps entitlements consistent with age and household', () => {
    const byNo = new Map(residents.map((r) => [r['宛名番号']!, r]));
    const age = (no: string) => ageOn(byNo.get(no)!['生年月日']!, AS_OF);
    const late = readCsv(specFile(utf8, '025o005'));
    expect(late.length).to.be.greaterThan(100);
    for (const e of late) expect(age(e['宛名番号']!)).to.be.at.least(75);
    const over75 = residents.filter((r) => r['住民状態'] === '1' && ageOn(r['生年月日']!, AS_OF) >= 75).length;
    expect(late).to.have.length(over75);
    for (const e of readCsv(specFile(utf8, '024o007'))) expect(age(e['宛名番号']!)).to.be.below(75);
    for (const e of readCsv(specFile(utf8, '023o002'))) {
      if (e['被保険者区分コード'] === '1') expect(age(e['宛名番号']!)).to.be.at.least(65);
      else expect(age(e['宛名番号']!)).to.be.within(40, 64);
    }
    for (const e of readCsv(specFile(utf8, '026o001'))) expect(age(e['宛名番号']!)).to.be.within(20, 59);
    const child = readCsv(specFile(utf8, '027o003'));
    expect(child.length).to.be.greaterThan(100);
    for (const e of child) {
      const kid = byNo.get(e['対象児童宛名番号']!)!;
      const parent = byNo.get(e['宛名番号']!)!;
      expect(kid['世帯番号']).to.equal(parent['世帯番号']);
      expect(AS_OF <= endOfSchoolYearReaching(kid['生年月日']!, 18)).to.equal(true);
      expect(age(parent['宛名番号']!)).to.be.at.least(18);
    }
  });

  it('includes the cases staff must be warned about and the hard characters', () => {
    expect(readCsv(specFile(utf8, '001o013')).length).to.be.at.least(3);
    expect(readCsv(specFile(utf8, 'ext-issuance-ban')).length).to.be.at.least(1);
    expect(readCsv(specFile(utf8, 'ext-arrears')).length).to.be.at.least(1);
    const names = residents.map((r) => r['氏名']!);
    for (const ch of ['髙', '﨑', '𠮷', '邉\u{E0101}', '\u{10DE92}'])
      expect(
        names.some((n) => n.includes(ch)),
        ch,
      ).to.equal(true);
    const mj = names.filter((n) => /[髙﨑𠮷𡈽齋邊]|[\u{E0100}-\u{E01EF}]|[\u{100000}-\u{10FFFD}]/u.test(n)).length;
    expect(mj / names.length).to.be.within(0.005, 0.03);
    expect(residents.some((r) => r['生年月日'] === '1999-02-29' && !isCalendarDate(r['生年月日']))).to.equal(true);
    expect(residents.some((r) => r['生年月日_不詳フラグ'] === '1' && r['生年月日_不詳表記'] !== '')).to.equal(true);
  });

  it('has foreign residents, former residents, non-residents and corporations', () => {
    const foreign = residents.filter((r) => r['住民種別'] === '2');
    expect(foreign.length).to.be.greaterThan(50);
    expect(foreign.every((r) => /^[A-Z ]+$/.test(r['氏名_外国人ローマ字']!) && r['国籍名等'] !== '')).to.equal(true);
    expect(foreign.some((r) => r['通称'] !== '')).to.equal(true);
    expect(foreign.some((r) => r['第30条45規定区分'] === '02')).to.equal(true);
    expect(residents.some((r) => r['住民状態'] === '2' && r['転出先住所_市区郡町村名'] !== '')).to.equal(true);
    expect(residents.some((r) => r['住民状態'] === '3' && r['消除の異動年月日'] !== '')).to.equal(true);
    const history = readCsv(specFile(utf8, '001o009'));
    for (const reason of ['01', '03', '21', '23', '41'])
      expect(
        history.some((h) => h['異動事由'] === reason),
        reason,
      ).to.equal(true);
    expect(readCsv(specFile(utf8, 'ext-nonresident'))).to.have.length(500);
    expect(readCsv(specFile(utf8, 'ext-corporation'))).to.have.length(200);
  });

  it('lists every resident address in the address master', () => {
    const master = new Set(readCsv(specFile(utf8, 'ext-address-master')).map((a) => `${a['町字ID']}|${a['番地']}`));
    for (const r of residents) expect(master.has(`${r['住所_町字コード']}|${r['住所_番地号表記']}`), r['住所_番地号表記']).to.equal(true);
  });

  it('writes next-day differential files with 処理区分', () => {
    const diff = utf8.files.find((f) => f.includes(`${path.sep}diff${path.sep}001o005`))!;
    const rows = readCsv(diff);
    expect(rows.length).to.be.greaterThan(5);
    expect(new Set(rows.map((r) => r['処理区分']))).to.satisfy((s: Set<string>) => [...s].every((k) => k === '1' || k === '2'));
    expect(rows.some((r) => r['異動事由'] === '03' && r['処理区分'] === '1')).to.equal(true);
  });

  it('refuses a people count out of range', async () => {
    let err: unknown;
    try {
      await generateTown({
        people: 99,
        outDir: t.dir,
        encoding: 'utf8',
        seed: 'x',
        asOf: AS_OF,
        diff: false,
        municipality: { name: 'x', code: '439991', prefecture: 'x' },
        layouts: undefined as never,
      });
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.contain('100 から 1000000');
  });
});
