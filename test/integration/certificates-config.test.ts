import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FEES_FILE, loadCertificateCatalog } from '../../server/src/certificates/catalog.js';
import { ConfigError } from '../../server/src/config/yamlFile.js';
import { configDir, tempDir } from '../helpers/paths.js';

const shipped = readFileSync(path.join(configDir, FEES_FILE), 'utf8');

/** 1-based line of the first line containing `needle` (after the line containing `after`, if given). */
function lineOf(text: string, needle: string, after?: string): number {
  const lines = text.split('\n');
  const start = after === undefined ? 0 : lines.findIndex((l) => l.includes(after));
  if (start < 0) throw new Error(`anchor not found: ${after}`);
  const i = lines.findIndex((l, n) => n >= start && l.includes(needle));
  if (i < 0) throw new Error(`not found: ${needle}`);
  return i + 1;
}

/** 1-based lines of every line containing `needle`. */
function linesOf(text: string, needle: string): number[] {
  return text.split('\n').flatMap((l, n) => (l.includes(needle) ? [n + 1] : []));
}

/** Replaces exactly the first occurrence (after `after`, if given), failing when the text is not there. */
function replaceOnce(text: string, from: string, to: string, after?: string): string {
  const start = after === undefined ? 0 : text.indexOf(after);
  if (start < 0) throw new Error(`anchor not found: ${after}`);
  const i = text.indexOf(from, start);
  if (i < 0) throw new Error(`fixture text not found: ${from}`);
  return text.slice(0, i) + to + text.slice(i + from.length);
}

/** Loads `text` as fees.yaml from a temporary config directory; returns the ConfigError. */
function loadBroken(text: string): ConfigError {
  const t = tempDir('madoguchi-fees-');
  try {
    writeFileSync(path.join(t.dir, FEES_FILE), text);
    loadCertificateCatalog(t.dir);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  } finally {
    t.remove();
  }
  throw new Error('expected a ConfigError');
}

describe('certificate catalog (config/fees.yaml)', () => {
  it('loads the shipped file with its types, fees, purposes and defaults', () => {
    const c = loadCertificateCatalog(configDir);
    expect(c.maxCopies).to.equal(20);
    expect(c.purposes.map((p) => p.label)).to.deep.equal([
      '本人の手続き',
      '年金の請求',
      '児童扶養手当の申請',
      '官公署への提出 (公用)',
      '就職',
      '金融機関',
      '相続',
      'その他',
    ]);
    const fees = Object.fromEntries(c.certificates.map((t) => [t.name, t.fee]));
    expect(fees).to.deep.equal({
      住民票の写し: 300,
      住民票記載事項証明: 300,
      印鑑登録証明書: 300,
      '戸籍全部事項証明 (謄本)': 450,
      '戸籍個人事項証明 (抄本)': 450,
      '除籍・改製原戸籍 (謄本・抄本)': 750,
      戸籍の附票の写し: 300,
      '所得・課税証明': 300,
      納税証明: 300,
      '軽自動車税納税証明 (継続検査用)': 0,
      '資産税証明 (評価・公課)': 300,
    });
    expect(c.typeById.get('propertyTax')!.unit).to.equal('件');
    expect(c.typeById.get('sealCertificate')!.options).to.deep.equal([]);
    expect(c.typeById.get('lightVehicleTax')!.exemptPurposes).to.deep.equal([]);
    expect(c.typeById.get('residentCopy')!.options.map((o) => o.id)).to.include.members([
      'scope',
      'showDomicile',
      'showMyNumber',
      'showHouseholdHead',
    ]);
    expect(c.typeById.get('residentCopy')!.options.find((o) => o.id === 'showDomicile')!.required).to.equal(false);
    expect(c.typeById.get('incomeTax')!.options).to.deep.equal([{ id: 'year', label: '年度', type: 'year', required: true }]);
    expect(c.purposeById.get('official')!.exemptReason).to.equal('公用のため手数料免除');
    for (const t of c.certificates) for (const p of t.exemptPurposes) expect(c.purposeById.has(p), `${t.id}: ${p}`).to.equal(true);
  });

  it('an unknown exempt purpose id names file, line, column, path and the ids there are', () => {
    const text = replaceOnce(
      shipped,
      'exemptPurposes: [official, pension, childSupport]',
      'exemptPurposes: [official, pensoin, childSupport]',
    );
    const e = loadBroken(text);
    expect(e.issues).to.have.length(1);
    const i = e.issues[0]!;
    expect(i.file).to.match(/fees\.yaml$/);
    expect(i.line).to.equal(lineOf(text, 'pensoin'));
    expect(i.column).to.equal(text.split('\n')[i.line - 1]!.indexOf('pensoin') + 1);
    expect(i.path).to.equal('certificates[0].exemptPurposes[1]');
    expect(i.reason).to.equal(
      '免除の目的「pensoin」は purposes にありません。使えるのは self, pension, childSupport, official, employment, bank, inheritance, other です',
    );
    expect(e.message).to.contain(`fees.yaml:${i.line}:${i.column}: certificates[0].exemptPurposes[1]: 免除の目的「pensoin」`);
  });

  it('a negative fee is refused at its line', () => {
    const text = replaceOnce(shipped, 'fee: 450', 'fee: -450');
    const e = loadBroken(text);
    expect(e.issues).to.have.length(1);
    expect(e.issues[0]).to.include({
      line: lineOf(text, 'fee: -450'),
      path: 'certificates[3].fee',
      reason: '手数料 (fee) は 0 以上の整数 (円) で書いてください (例: 300。無料は 0)',
    });
    expect(loadBroken(replaceOnce(shipped, 'fee: 450', 'fee: "450円"')).issues[0]!.reason).to.contain('0 以上の整数 (円)');
  });

  it('duplicate certificate, purpose and option ids point at the second one and the first line', () => {
    let text = replaceOnce(shipped, 'id: kosekiIndividual', 'id: kosekiFull');
    text = replaceOnce(text, '{id: other, label: その他}', '{id: bank, label: その他}');
    text = replaceOnce(text, '{id: showResidentCode,', '{id: showDomicile,');
    const e = loadBroken(text);
    expect(e.issues.map((i) => [i.line, i.path])).to.deep.equal([
      [lineOf(text, '{id: bank, label: その他}'), 'purposes[7].id'],
      [lineOf(text, '{id: showDomicile, label: 住民票コード'), 'certificates[0].options[4].id'],
      [linesOf(text, '- id: kosekiFull')[1], 'certificates[4].id'],
    ]);
    expect(e.issues[0]!.reason).to.equal(
      `目的の ID「bank」が重複しています (${lineOf(text, '{id: bank, label: 金融機関}')} 行目でも使われています)`,
    );
    expect(e.issues[1]!.reason).to.equal(
      `「住民票の写し」の項目 ID「showDomicile」が重複しています (${lineOf(text, '{id: showDomicile, label: 本籍・筆頭者')} 行目でも使われています)`,
    );
    expect(e.issues[2]!.reason).to.equal(
      `証明書の ID「kosekiFull」が重複しています (${lineOf(text, 'id: kosekiFull')} 行目でも使われています)`,
    );
  });

  it('a wrong unit lists the units; an unknown key and a missing fee are named', () => {
    let text = replaceOnce(shipped, 'unit: 件', 'unit: 枚');
    text = replaceOnce(
      text,
      'section: 住民課\n    fee: 300\n    unit: 通\n    exemptPurposes: [official]\n',
      'section: 住民課\n    unit: 通\n    exemptPurposes: [official]\n',
    );
    text = replaceOnce(text, '    section: 税務課\n', '    section: 税務課\n    price: 300\n');
    const e = loadBroken(text);
    const byPath = Object.fromEntries(e.issues.map((i) => [i.path, i]));
    expect(byPath['certificates[10].unit']).to.include({
      line: lineOf(text, 'unit: 枚'),
      reason: '使える値ではありません。使えるのは 通, 件, 筆 です',
    });
    expect(byPath['certificates[2].fee']).to.include({
      line: lineOf(text, 'id: sealCertificate'),
      reason: '手数料 (fee) がありません。1 通あたりの円を書いてください (無料は 0)',
    });
    expect(byPath['certificates[7].price']).to.include({ line: lineOf(text, 'price: 300'), reason: 'このキーは使えません (price)' });
  });

  it('option mistakes: a choice without choices, a default not among the choices, a year with a default', () => {
    let text = replaceOnce(
      shipped,
      '      - {id: year, label: 年度, type: year, required: true}',
      '      - {id: year, label: 年度, type: year, default: 2025}',
      'id: taxPayment',
    );
    text = replaceOnce(text, 'default: household', 'default: single');
    text = replaceOnce(
      text,
      '      - {id: showDomicile, label: 本籍・筆頭者, type: boolean, default: false}',
      '      - {id: showDomicile, label: 本籍・筆頭者, type: choice}',
      'id: kosekiAttachment',
    );
    const e = loadBroken(text);
    expect(e.issues.map((i) => i.reason)).to.deep.equal([
      'default「single」は choices にありません。使えるのは household, members です',
      '項目「本籍・筆頭者」は選択式 (choice) ですが、choices (選択肢) がありません',
      '年度の項目「年度」には default を書けません (請求ごとに年度を指定します)',
    ]);
    expect(e.issues.map((i) => i.line)).to.deep.equal([
      lineOf(text, 'default: single'),
      lineOf(text, 'type: choice}'),
      lineOf(text, 'default: 2025'),
    ]);
  });

  it('a YAML syntax error and a missing file name the file', () => {
    const text = replaceOnce(shipped, '  - {id: self, label: 本人の手続き}', '  - {id: self, label: 本人の手続き');
    const e = loadBroken(text);
    expect(e.issues[0]!.file).to.match(/fees\.yaml$/);
    expect(e.issues[0]!.reason).to.match(/^YAML の構文エラー/);
    expect(e.issues[0]!.line).to.be.greaterThan(0);
    const t = tempDir('madoguchi-fees-');
    try {
      expect(() => loadCertificateCatalog(t.dir)).to.throw(ConfigError, /fees\.yaml: \(文書全体\): 読み込めません/);
    } finally {
      t.remove();
    }
  });
});
