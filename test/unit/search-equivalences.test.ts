import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { addressKey, kanaExactKey, kanaFoldKey, nameExactKey, nameVariantKey } from '../../server/src/domain/searchKeys.js';
import {
  currentVariantTable,
  foldVariants,
  loadVariantTable,
  parseVariantTable,
  setVariantTable,
  shippedVariantTableFile,
  variantTableFor,
  variantTableOf,
  VariantTableError,
} from '../../server/src/domain/variants.js';
import { configDir, tempDir } from '../helpers/paths.js';

const cp = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase()}`;
const shipped = () => loadVariantTable(shippedVariantTableFile());

describe('search equivalences: what staff type meets what is registered', () => {
  describe('wave dash and tildes (〜 U+301C, ～ U+FF5E, ~, ∼ U+223C, ⁓ U+2053) are one character in every key', () => {
    const forms = ['\u301C', '\uFF5E', '~', '\u223C', '\u2053'];
    for (const t of forms.slice(1)) {
      it(`${cp('\u301C')} meets ${cp(t)}`, () => {
        expect(nameExactKey(`あ\u301Cい`)).to.equal(nameExactKey(`あ${t}い`));
        expect(nameVariantKey(`髙\u301C`)).to.equal(nameVariantKey(`高${t}`));
        expect(kanaExactKey(`ア\u301Cイ`)).to.equal(kanaExactKey(`あ${t}い`));
        expect(kanaFoldKey(`ア\u301Cイ`)).to.equal(kanaFoldKey(`あ${t}い`));
        expect(addressKey(`本町1\u301C3`)).to.equal(addressKey(`本町1${t}3`));
      });
    }
    it('keys hold the JIS form 〜 U+301C', () => {
      expect(nameExactKey('株式会社まどぐち～本店')).to.equal('株式会社まどぐち\u301C本店');
      expect(addressKey('本町1～3')).to.equal('本町1\u301C3');
    });
    it('keeps 〰 (WAVY DASH) and ー apart from 〜', () => {
      expect(nameExactKey('あ〰い')).to.not.equal(nameExactKey('あ〜い'));
      expect(kanaExactKey('アーイ')).to.not.equal(kanaExactKey('ア〜イ'));
    });
  });

  describe('dashes between numbers in addresses', () => {
    const dashes: [string, string][] = [
      ['-', 'HYPHEN-MINUS'],
      ['\u2212', 'MINUS SIGN'],
      ['\uFF0D', 'FULLWIDTH HYPHEN-MINUS'],
      ['\u2010', 'HYPHEN'],
      ['\u2011', 'NON-BREAKING HYPHEN'],
      ['\u2012', 'FIGURE DASH'],
      ['\u2013', 'EN DASH'],
      ['\u2014', 'EM DASH'],
      ['\u2015', 'HORIZONTAL BAR'],
      ['\u30FC', 'KATAKANA-HIRAGANA PROLONGED SOUND MARK'],
      ['\uFF70', 'HALFWIDTH PROLONGED SOUND MARK'],
      ['\u2500', 'BOX DRAWINGS LIGHT HORIZONTAL'],
      ['\u2501', 'BOX DRAWINGS HEAVY HORIZONTAL'],
      ['\uFE63', 'SMALL HYPHEN-MINUS'],
      ['\uFE58', 'SMALL EM DASH'],
      ['\u2043', 'HYPHEN BULLET'],
      ['\u2E3A', 'TWO-EM DASH'],
      ['\u207B', 'SUPERSCRIPT MINUS'],
    ];
    // Every pair: each form, with full-width and ASCII digits, gives the one key.
    for (const [d, name] of dashes) {
      it(`${cp(d)} ${name}: 緑ケ丘２${d}３${d}４ = 緑ヶ丘2${d}3${d}4 = 緑ケ丘2-3-4`, () => {
        expect(addressKey(`緑ケ丘２${d}３${d}４`)).to.equal('緑ケ丘2-3-4');
        expect(addressKey(`緑ヶ丘2${d}3${d}4`)).to.equal('緑ケ丘2-3-4');
        expect(addressKey(`緑が丘二${d}三${d}四`)).to.equal('緑ケ丘2-3-4');
      });
    }
    it('the brief’s pairs: 2－3－4 = 2-3-4 = 2ー3ー4 = 2−3−4', () => {
      const keys = ['緑ケ丘２－３－４', '緑ヶ丘2ー3ー4', '緑ケ丘2-3-4', '緑ケ丘2−3−4', '緑ヶ丘2‐3‐4'].map(addressKey);
      expect(new Set(keys)).to.deep.equal(new Set(['緑ケ丘2-3-4']));
    });
    it('keeps ー, ─ and ━ as they are away from numbers (コーポ, a drawn line in a name)', () => {
      expect(addressKey('緑ケ丘2-3-4 コーポ─さくら')).to.equal('緑ケ丘2-3-4コーポ─さくら');
      expect(addressKey('ニュータウン━1')).to.equal('ニュータウン━1');
    });
  });

  describe('the shipped 異体字 table (config/search-variants.csv)', () => {
    const table = shipped();
    it('loads with the common pairs of surnames and place names (at least 150)', () => {
      expect(table.folds.size).to.be.at.least(150);
      expect(table.source).to.equal(path.join(configDir, 'search-variants.csv'));
      expect(table.sha256).to.match(/^[0-9a-f]{64}$/);
    });
    it('is the table in use by default', () => {
      expect(currentVariantTable().sha256).to.equal(table.sha256);
    });
    const brief: [string, string][] = [
      ['鷗', '鴎'],
      ['髙', '高'],
      ['﨑', '崎'],
      ['邉', '辺'],
      ['邊', '辺'],
      ['齋', '斎'],
      ['齊', '斉'],
      ['濵', '浜'],
      ['濱', '浜'],
      ['德', '徳'],
      ['櫻', '桜'],
      ['澤', '沢'],
      ['廣', '広'],
      ['國', '国'],
      ['嶋', '島'],
      ['嶌', '島'],
      ['冨', '富'],
      ['眞', '真'],
      ['惠', '恵'],
      ['榮', '栄'],
      ['龍', '竜'],
      ['瀨', '瀬'],
      ['淺', '浅'],
      ['關', '関'],
      ['靜', '静'],
      ['彌', '弥'],
      ['實', '実'],
      ['槗', '橋'],
      ['﨔', '欅'],
      ['𠮷', '吉'],
    ];
    for (const [variant, common] of brief) {
      it(`${variant} meets ${common} in the variant key only`, () => {
        expect(nameVariantKey(`${variant}田 花子`)).to.equal(nameVariantKey(`${common}田花子`));
        expect(nameExactKey(`${variant}田`)).to.not.equal(nameExactKey(`${common}田`));
      });
    }
    it('folds every listed 異体字 to its 代表字 in the variant key (each pair of the file)', () => {
      const misses = [...table.folds].filter(([v, c]) => nameVariantKey(`山${v}`) !== nameVariantKey(`山${c}`) || nameVariantKey(v) !== c);
      expect(misses).to.deep.equal([]);
    });
    it('merges compatibility ideographs through NFKC (塚 U+FA10, 神 U+FA19, 祐 U+FA4F, 福 U+FA1B)', () => {
      for (const [compat, unified] of [
        ['\uFA10', '\u585A'],
        ['\uFA19', '\u795E'],
        ['\uFA4F', '\u7950'],
        ['\uFA1B', '\u798F'],
      ] as const)
        expect(nameVariantKey(compat)).to.equal(unified);
    });
    it('keeps 斎 and 斉 apart (different characters, not variants of each other)', () => {
      expect(nameVariantKey('斎藤')).to.not.equal(nameVariantKey('斉藤'));
    });
  });

  describe('reading a table file', () => {
    const parse = (body: string) => parseVariantTable(`# 試験\n異体字,代表字,備考\n${body}`, 'search-variants.csv');
    const error = (body: string): string => {
      try {
        parse(body);
      } catch (e) {
        expect(e).to.be.instanceOf(VariantTableError);
        return (e as Error).message;
      }
      throw new Error('expected an error');
    };

    it('reads pairs, skipping comments and blank lines, with a quoted 備考', () => {
      const t = parse('髙,高,はしご高\n\n# 崎\n﨑,崎,"たつさき, 異体字"\r\n');
      expect([...t.folds]).to.deep.equal([
        ['髙', '高'],
        ['﨑', '崎'],
      ]);
    });
    it('fingerprints the pairs, not their order or notes', () => {
      expect(parse('髙,高,a\n﨑,崎,b').sha256).to.equal(parse('﨑,崎,c\n髙,高,').sha256);
      expect(parse('髙,高').sha256).to.not.equal(parse('髙,高\n﨑,崎').sha256);
    });
    it('names file and line: one character each', () => {
      expect(error('髙,高\n渡邉,渡辺')).to.equal('search-variants.csv:4: 異体字と代表字は 1 文字ずつです (「渡邉」「渡辺」)');
      expect(error('髙,')).to.equal('search-variants.csv:3: 異体字と代表字は 1 文字ずつです (「髙」「」)');
    });
    it('refuses a chain (a → b → c must be written a → c) and a cycle', () => {
      expect(error('邉,邊\n邊,辺')).to.equal(
        'search-variants.csv:3: 代表字「邊」が 4 行目で「辺」に寄せられています (連鎖)。「邉」の代表字は「辺」と書いてください',
      );
      expect(error('島,嶋\n嶋,島')).to.contain('search-variants.csv:3: 代表字「嶋」が 4 行目で「島」に寄せられています (連鎖)');
    });
    it('refuses a repeated 異体字, a pair of one character, a selector and an NFKC conflict', () => {
      expect(error('髙,高\n髙,高')).to.equal('search-variants.csv:4: 異体字「髙」は 3 行目にもあります');
      expect(error('高,高')).to.equal('search-variants.csv:3: 異体字と代表字が同じ文字です (「高」)');
      expect(error('\u{E0100},高')).to.contain('search-variants.csv:3: 異体字セレクタ (U+E0100)');
      expect(error('\uFA10,土')).to.equal(
        'search-variants.csv:3: 「\uFA10」(U+FA10) は検索キーでは NFKC により「\u585A」になるため、代表字は「\u585A」です',
      );
      expect(error('髙,\uFA10')).to.contain('search-variants.csv:3: 代表字「\uFA10」(U+FA10) は NFKC で「\u585A」になる文字です');
      // Listed with its NFKC form, a compatibility ideograph is accepted and left out (the key never holds it).
      expect(parse('\uFA10,\u585A').folds.size).to.equal(0);
    });
    it('needs its header', () => {
      expect(() => parseVariantTable('髙,高\n', 'x.csv')).to.throw(VariantTableError, 'x.csv:1: 見出しは「異体字,代表字,備考」です');
      expect(() => parseVariantTable('# only a comment\n', 'x.csv')).to.throw(
        VariantTableError,
        'x.csv: 見出し「異体字,代表字,備考」がありません',
      );
    });
  });

  describe("a municipality's own table", () => {
    let t: ReturnType<typeof tempDir>;
    before(() => (t = tempDir()));
    after(() => {
      setVariantTable(shipped());
      t.remove();
    });

    it('is used when its config folder holds search-variants.csv, else the shipped one', () => {
      const own = path.join(t.dir, 'own');
      mkdirSync(own);
      writeFileSync(path.join(own, 'search-variants.csv'), '異体字,代表字,備考\n鬭,闘,\n');
      expect([...variantTableFor(own).folds]).to.deep.equal([['鬭', '闘']]);
      expect(variantTableFor(t.dir).sha256).to.equal(shipped().sha256);
    });
    it('changes the variant key once set (setVariantTable)', () => {
      setVariantTable(variantTableOf([['鬭', '闘']]));
      expect(foldVariants('鬭髙')).to.equal('闘髙');
      expect(nameVariantKey('鬭野')).to.equal(nameVariantKey('闘野'));
      setVariantTable(shipped());
      expect(foldVariants('鬭髙')).to.equal('鬭高');
    });
    it('names the file when it cannot be read', () => {
      const bad = path.join(t.dir, 'bad');
      mkdirSync(bad);
      writeFileSync(path.join(bad, 'search-variants.csv'), '異体字,代表字,備考\n髙,高\n髙,高\n');
      expect(() => variantTableFor(bad)).to.throw(
        VariantTableError,
        `${path.join(bad, 'search-variants.csv')}:3: 異体字「髙」は 2 行目にもあります`,
      );
    });
  });
});
