import { expect } from 'chai';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../server/src/config/yamlFile.js';
import { eudcToSjis, formatCodePoints, GaijiMap, parseCodePoints, sjisToEudc } from '../../server/src/linkage/forward/gaiji.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { configDir, tempDir } from '../helpers/paths.js';

describe('linkage layouts as data', () => {
  it('loads every shipped layout, provisional ones marked', () => {
    const r = LayoutRegistry.load(configDir);
    expect(r.specIds()).to.include.members([
      '001o005',
      '001o007',
      '001o009',
      '001o013',
      '023o002',
      '024o007',
      '025o005',
      '026o001',
      '027o003',
    ]);
    for (const id of r.specIds()) expect(r.latest(id).provisional, id).to.equal(true);
    expect(r.latest('024o007').fixed).to.deep.equal({ kind: 'nationalHealthInsurance' });
  });

  it('detects the edition from the header and explains a mismatch', () => {
    const r = LayoutRegistry.load(configDir);
    const headers = r.latest('001o013').columns.map((c) => c.header);
    const l = r.detect('001o013', headers);
    expect('error' in l).to.equal(false);
    const bad = r.detect('001o013', [...headers, '謎の項目']);
    expect(bad).to.have.property('error').that.contains('謎の項目');
    const missing = r.detect(
      '001o013',
      headers.filter((h) => h !== '支援措置区分'),
    );
    expect(missing).to.have.property('error').that.contains('支援措置区分');
  });

  it('picks up a new edition from config alone', () => {
    const t = tempDir();
    try {
      mkdirSync(path.join(t.dir, 'layouts'));
      for (const f of readdirSync(path.join(configDir, 'layouts')))
        copyFileSync(path.join(configDir, 'layouts', f), path.join(t.dir, 'layouts', f));
      const v1 = readFileSync(path.join(configDir, 'layouts', '001o013@1.0.yaml'), 'utf8');
      const v2 = v1
        .replace('edition: "1.0"', 'edition: "2.0"')
        .replace('  - {header: 備考', '  - {header: 支援措置種別, column: note, type: string, length: 50}\n  - {header: 備考old');
      writeFileSync(path.join(t.dir, 'layouts', '001o013@2.0.yaml'), v2.replace('{header: 備考old, column: note,', '{header: 備考,'));
      const r = LayoutRegistry.load(t.dir);
      expect(r.editions('001o013').map((l) => l.edition)).to.deep.equal(['1.0', '2.0']);
      writeFileSync(path.join(t.dir, 'layouts', '001o013@1.10.yaml'), v1.replace('edition: "1.0"', 'edition: "1.10"'));
      writeFileSync(path.join(t.dir, 'layouts', '001o013@1.9.yaml'), v1.replace('edition: "1.0"', 'edition: "1.9"'));
      expect(
        LayoutRegistry.load(t.dir)
          .editions('001o013')
          .map((l) => l.edition),
      ).to.deep.equal(['1.0', '1.9', '1.10', '2.0']);
      rmSync(path.join(t.dir, 'layouts', '001o013@1.10.yaml'));
      rmSync(path.join(t.dir, 'layouts', '001o013@1.9.yaml'));
      const v2Headers = r.editions('001o013')[1]!.columns.map((c) => c.header);
      const picked = r.detect('001o013', v2Headers);
      expect(picked).to.have.property('edition', '2.0');
      const v1Headers = r.editions('001o013')[0]!.columns.map((c) => c.header);
      expect(r.detect('001o013', v1Headers)).to.have.property('edition', '1.0');
    } finally {
      t.remove();
    }
  });

  it('rejects a broken layout with file, path and reason', () => {
    const t = tempDir();
    try {
      mkdirSync(path.join(t.dir, 'layouts'));
      writeFileSync(
        path.join(t.dir, 'layouts', '001o013@1.0.yaml'),
        'specId: "001o013"\nedition: "1.0"\ntitle: x\nprovisional: true\nsource: s\ntable: support_measures\nkeys: [宛名番号]\ncolumns:\n  - {header: 宛名番号, column: addressee_no, type: digits}\n  - {header: 区分, column: measure_code, type: code, code: noSuchTable}\n',
      );
      let err: ConfigError | undefined;
      try {
        LayoutRegistry.load(t.dir);
      } catch (e) {
        err = e as ConfigError;
      }
      expect(err).to.be.instanceOf(ConfigError);
      expect(err!.issues[0]!.path).to.equal('columns[1].code');
      expect(err!.issues[0]!.line).to.equal(10);
      expect(err!.issues[0]!.reason).to.contain('noSuchTable');
      // An entitlements layout must name one of the glossary's kinds.
      const nhi = readFileSync(path.join(configDir, 'layouts', '024o007@1.0.yaml'), 'utf8').replace(
        'fixed: {kind: nationalHealthInsurance}',
        'fixed: {kind: nhi}',
      );
      writeFileSync(
        path.join(t.dir, 'layouts', '001o013@1.0.yaml'),
        readFileSync(path.join(configDir, 'layouts', '001o013@1.0.yaml'), 'utf8'),
      );
      writeFileSync(path.join(t.dir, 'layouts', '024o007@1.0.yaml'), nhi);
      let kindErr: ConfigError | undefined;
      try {
        LayoutRegistry.load(t.dir);
      } catch (e) {
        kindErr = e as ConfigError;
      }
      expect(kindErr!.issues.map((i) => i.path)).to.deep.equal(['fixed.kind']);
      expect(kindErr!.issues[0]!.reason).to.contain('nationalHealthInsurance');
    } finally {
      t.remove();
    }
  });
});

describe('外字 (gaiji) map', () => {
  it('maps the CP932 user-defined area onto U+E000–U+E757 and back, all 1,880 cells', () => {
    expect(sjisToEudc(0xf040)).to.equal(0xe000);
    expect(sjisToEudc(0xf07e)).to.equal(0xe03e);
    expect(sjisToEudc(0xf080)).to.equal(0xe03f);
    expect(sjisToEudc(0xf9fc)).to.equal(0xe757);
    for (let cp = 0xe000; cp <= 0xe757; cp++) expect(sjisToEudc(eudcToSjis(cp))).to.equal(cp);
    // The same as Node's own decoder.
    const dec = new TextDecoder('shift_jis');
    expect(dec.decode(Buffer.from([0xf5, 0x9a])).codePointAt(0)).to.equal(sjisToEudc(0xf59a));
    expect(() => sjisToEudc(0x8140)).to.throw();
  });

  it('replaces mapped characters with IVS and plane-16 sequences, keeps and counts unknown ones', () => {
    const map = new GaijiMap([
      { sjis: 0xf041, text: '邉\u{E0101}' },
      { sjis: 0xf044, text: '\u{10DE92}' },
    ]);
    const input = `渡${String.fromCodePoint(0xe001)}・${String.fromCodePoint(0xe004)}野・${String.fromCodePoint(0xe100)}`;
    const r = map.apply(input);
    expect(r.text).to.equal(`渡邉\u{E0101}・\u{10DE92}野・${String.fromCodePoint(0xe100)}`);
    expect(r.unmapped).to.equal(1);
  });

  it('reads and writes the 同定マップ CSV and names a bad line', () => {
    expect(parseCodePoints('U+9089 U+E0101')).to.equal('邉\u{E0101}');
    expect(formatCodePoints('邉\u{E0101}')).to.equal('U+9089 U+E0101');
    const t = tempDir();
    try {
      const map = new GaijiMap([{ sjis: 0xf040, text: '𠮷', mjName: 'MJ013845', note: 'つちよし' }]);
      const f = path.join(t.dir, 'map.csv');
      writeFileSync(f, map.toCsv());
      const back = GaijiMap.load(f);
      expect(back.apply(String.fromCodePoint(0xe000)).text).to.equal('𠮷');
      writeFileSync(f, map.toCsv() + 'F041,X+1234,?,,\r\n');
      expect(() => GaijiMap.load(f)).to.throw(/map\.csv:3: Unicode/);
    } finally {
      t.remove();
    }
  });
});
