import { expect } from 'chai';
import {
  addressKey,
  kanaExactKey,
  kanaFoldKey,
  kanaPrefixRange,
  nameExactKey,
  nameVariantKey,
} from '../../server/src/domain/searchKeys.js';

const hex = (s: string): string => [...s].map((c) => c.codePointAt(0)!.toString(16).toUpperCase()).join(' ');

describe('searchKeys: kanaExactKey', () => {
  const rows: [string, string][] = [
    ['ｻｲﾄｳ', 'さいとう'],
    ['サイトウ', 'さいとう'],
    ['さいとう', 'さいとう'],
    ['サイ　トウ', 'さいとう'],
    ['サイ トウ', 'さいとう'],
    ['\tサイ\u00A0トウ ', 'さいとう'],
    ['ヤマダ　タロウ', 'やまだたろう'],
    ['ｶﾞｸ', 'がく'],
    ['ﾊﾟﾝ', 'ぱん'],
    ['ｳﾞｨｸﾄﾙ', 'ゔぃくとる'],
    ['ヴィクトル', 'ゔぃくとる'],
    ['キョウコ', 'きょうこ'],
    ['ｷｮｳｺ', 'きょうこ'],
    ['ハットリ', 'はっとり'],
    ['ヵヶ', 'ゕゖ'],
    ['ヷ', 'ゔぁ'],
    ['ヸ', 'ゔぃ'],
    ['ヹ', 'ゔぇ'],
    ['ヺ', 'ゔぉ'],
    ['ﾜﾞ', 'ゔぁ'],
    ['オーノ', 'おーの'],
    ['ｵｰﾉ', 'おーの'],
    ['オ－ノ', 'おーの'], // full-width hyphen typed for ー
    ['オ‐ノ', 'おーの'],
    ['グエン・ヴァン・アン', 'ぐえんゔぁんあん'],
    ['ｸﾞｴﾝ･ﾊﾞﾝ', 'ぐえんばん'],
    ['か゛', 'が'], // spacing ゛ joins, no stray space
    ['ハ゜', 'ぱ'],
    ['ミヅキ', 'みづき'],
    ['ヂュン', 'ぢゅん'],
    ['ヲノ', 'をの'],
    ['サヽキ', 'さゝき'],
    ['ＪＯＨＮ', 'JOHN'],
  ];
  for (const [input, expected] of rows) {
    it(`${input} → ${expected}`, () => expect(kanaExactKey(input)).to.equal(expected));
  }
  const distinct: [string, string][] = [
    ['キョウコ', 'キヨウコ'],
    ['サイトウ', 'サイドウ'],
    ['オーノ', 'オノ'],
    ['ミヅキ', 'ミズキ'],
    ['ヴィクトル', 'ビクトル'],
  ];
  for (const [a, b] of distinct) {
    it(`keeps ${a} and ${b} apart`, () => expect(kanaExactKey(a)).to.not.equal(kanaExactKey(b)));
  }
});

describe('searchKeys: kanaFoldKey', () => {
  const same: [string, string][] = [
    ['キョウコ', 'キヨウコ'],
    ['サイトウ', 'サイドウ'],
    ['ヴィクトル', 'ビクトル'],
    ['オーノ', 'オノ'],
    ['ジュン', 'ヂュン'],
    ['ミヅキ', 'ミズキ'],
    ['ｶﾞｸ', 'ガク'],
    ['ヴァイオリン', 'バイオリン'],
    ['ヴェルディ', 'ベルディ'],
    ['ヴォルフ', 'ボルフ'],
    ['ヴュー', 'ビュー'],
    ['ヴ', 'ブ'],
    ['ヷイオリン', 'バイオリン'],
    ['ヲノ', 'オノ'],
    ['ハットリ', 'ハツトリ'],
    ['シャチ', 'シヤチ'],
    ['クヮ', 'クワ'],
    ['ヵ', 'カ'],
    ['ｷｮｳｺ', 'きようこ'],
    ['パン', 'ハン'],
    ['ヰ', 'イ'],
    ['ヱ', 'エ'],
    ['サイ・トウ', 'サイトウ'],
    ['ラーメン', 'ラメン'],
  ];
  for (const [a, b] of same) {
    it(`${a} meets ${b}`, () => expect(kanaFoldKey(a)).to.equal(kanaFoldKey(b)));
  }
  const rows: [string, string][] = [
    ['ヴィクトル', 'ひくとる'],
    ['ヴァ', 'は'],
    ['ヴ', 'ふ'],
    ['ヴュ', 'ひゆ'],
    ['ヂュン', 'しゆん'],
    ['ミヅキ', 'みすき'],
    ['オーノ', 'おの'],
    ['ガッコウ', 'かつこう'],
    ['ｶﾞｸ', 'かく'],
    ['ヲノ', 'おの'],
    ['ゞ', 'ゝ'],
    ['わ゛', 'わ'],
    ['ゎゕゖ', 'わかけ'],
  ];
  for (const [input, expected] of rows) {
    it(`${input} → ${expected}`, () => expect(kanaFoldKey(input)).to.equal(expected));
  }
  const distinct: [string, string][] = [
    ['サトウ', 'カトウ'],
    ['オオノ', 'オノ'], // ー is dropped, not spelled out as a vowel: a real 大野/小野 difference stays
    ['サイトウ', 'サイト'],
    ['タナカ', 'タカナ'],
    ['スズキ', 'ススム'],
  ];
  for (const [a, b] of distinct) {
    it(`keeps ${a} and ${b} apart`, () => expect(kanaFoldKey(a)).to.not.equal(kanaFoldKey(b)));
  }
  const idempotent = ['ヴィクトル', 'ｷｮｳｺ', 'ヂュン', 'オーノ', 'ヷイオリン', 'グエン・ヴァン'];
  for (const s of idempotent) {
    it(`is stable on its own output and on the exact key: ${s}`, () => {
      expect(kanaFoldKey(kanaFoldKey(s))).to.equal(kanaFoldKey(s));
      expect(kanaFoldKey(kanaExactKey(s))).to.equal(kanaFoldKey(s));
    });
  }
});

describe('searchKeys: nameExactKey', () => {
  const rows: [string, string][] = [
    ['ＮＧＵＹＥＮ van an', 'NGUYENVANAN'],
    ['ＪＯＨＮ　ＳＭＩＴＨ', 'JOHNSMITH'],
    ["o'brien", "O'BRIEN"],
    ['Mary-Jane', 'MARY-JANE'],
    ['José', 'JOSé'], // only ASCII is upper-cased
    ['渡邉\u{E0101}　浩二', '渡邉浩二'],
    ['葛\u{E0100}飾', '葛飾'],
    ['山田\uFE00太郎', '山田太郎'],
    ['髙橋', '髙橋'],
    ['𠮷田', '𠮷田'],
    ['\u{10DE92}子', '\u{10DE92}子'],
    ['\uE000太郎', '\uE000太郎'],
    ['\u{F0001}\u{E0100}', '\u{F0001}'],
    ['ｸﾞｴﾝ・ﾊﾞﾝ', 'グエンバン'],
    ['\u2F2D田', '山田'], // Kangxi radical ⼭ → 山 (NFKC)
  ];
  for (const [input, expected] of rows) {
    it(`${input} → ${expected}`, () => expect(hex(nameExactKey(input))).to.equal(hex(expected)));
  }
  it('NFKC on Node leaves 﨑 U+FA11 alone but maps 塚 U+FA10 to 塚 U+585A', () => {
    expect(hex('\uFA11'.normalize('NFKC'))).to.equal('FA11');
    expect(hex('\uFA10'.normalize('NFKC'))).to.equal('585A');
    expect(hex(nameExactKey('\uFA11'))).to.equal('FA11');
    expect(hex(nameExactKey('\uFA10'))).to.equal('585A'); // NFKC's own merge, accepted
    expect(hex(nameExactKey('髙'))).to.equal('9AD9');
  });
  const distinct: [string, string][] = [
    ['山\uFA11', '山崎'],
    ['髙橋', '高橋'],
    ['渡邉', '渡辺'],
    ['𠮷田', '吉田'],
    ['嶋田', '島田'],
    ['\u{10DE92}', '\u{10DE93}'],
  ];
  for (const [a, b] of distinct) {
    it(`keeps ${a} and ${b} apart`, () => expect(nameExactKey(a)).to.not.equal(nameExactKey(b)));
  }
});

describe('searchKeys: nameVariantKey', () => {
  const rows: [string, string][] = [
    ['髙橋', '高橋'],
    ['山\uFA11', '山崎'],
    ['渡邉', '渡辺'],
    ['渡邊', '渡辺'],
    ['齋藤', '斎藤'],
    ['𠮷田', '吉田'],
    ['渡邉\u{E0101} 浩二', '渡辺浩二'],
    ['ＮＧＵＹＥＮ van', 'NGUYENVAN'],
    ['\u{10DE92}髙', '\u{10DE92}高'],
    ['\uFA10本', '\u585A本'],
  ];
  for (const [input, expected] of rows) {
    it(`${input} → ${expected}`, () => expect(hex(nameVariantKey(input))).to.equal(hex(expected)));
  }
  const same: [string, string][] = [
    ['髙橋', '高橋'],
    ['澤田', '沢田'],
    ['嶋田　一郎', '島田一郎'],
  ];
  for (const [a, b] of same) {
    it(`${a} meets ${b}`, () => expect(nameVariantKey(a)).to.equal(nameVariantKey(b)));
  }
});

describe('searchKeys: addressKey', () => {
  const sameAsMidori = [
    '緑ヶ丘二丁目3番地の4',
    '緑ケ丘2-3-4',
    '緑ケ丘２－３－４',
    '緑が丘二丁目三番四号',
    '緑ヶ丘2丁目3番4号',
    '緑ヵ丘2-3-4',
    '緑ガ丘二丁目三番地四',
    '緑ケ丘 2‐3‐4',
    '緑ケ丘2−3−4',
    '緑ケ丘2ー3ー4',
    '緑ケ丘2ｰ3ｰ4',
    '緑ケ丘2–3—4',
    '緑ケ丘2―3﹣4',
    '緑ケ丘2‑3‒4',
    '緑ケ丘2丁目3-4',
    '緑ケ丘2の3の4',
    '緑ケ丘2ノ3之4',
    '緑ケ丘二ー三ー四',
  ];
  for (const s of sameAsMidori) {
    it(`${s} → 緑ケ丘2-3-4`, () => expect(addressKey(s)).to.equal('緑ケ丘2-3-4'));
  }
  const rows: [string, string][] = [
    // numerals
    ['本町二十三番地', '本町23'],
    ['本町百五番', '本町105'],
    ['本町千二百番地', '本町1200'],
    ['本町一〇五番地の二', '本町105-2'],
    ['本町十番', '本町10'],
    ['本町三十', '本町30'],
    ['本町二千三百四十五', '本町2345'],
    ['本町二〇', '本町20'],
    ['本町五-六', '本町5-6'],
    // place names keep their kanji
    ['三軒茶屋', '三軒茶屋'],
    ['世田谷区三軒茶屋二丁目5番3号', '世田谷区三軒茶屋2-5-3'],
    ['四日市市安島一丁目', '四日市市安島1'],
    ['三重県四日市市', '三重県四日市市'],
    ['一宮市本町三丁目', '一宮市本町3'],
    ['愛知県一宮市', '愛知県一宮市'],
    ['八王子市元本郷町三丁目24番1号', '八王子市元本郷町3-24-1'],
    ['東京都八王子市', '東京都八王子市'],
    ['九十九里町', '九十九里町'],
    ['千葉県山武郡九十九里町', '千葉県山武郡九十九里町'],
    ['九十九', '九十九'], // a run at the very start is never a number
    ['二丁目3-4', '二丁目3-4'], // …even this one (decided: place names first)
    ['千代田区一番町', '千代田区一番町'], // 番町 is not a lot number
    ['千代田区三番町5', '千代田区三番町5'],
    ['仙台市青葉区一番町一丁目1番1号', '仙台市青葉区一番町1-1-1'],
    ['名古屋市中区三の丸三丁目1番1号', '名古屋市中区三の丸3-1-1'],
    ['江戸川区一之江一丁目', '江戸川区一之江1'],
    ['六本木六丁目10番1号', '六本木6-10-1'],
    ['十日町市', '十日町市'],
    ['浜松市北区三ヶ日町', '浜松市北区三ケ日町'],
    // ambiguous, decided: 麻布十番's 十番 is read as a number, but both spellings meet
    ['麻布十番二丁目3-4', '麻布10-2-3-4'],
    ['麻布十番2-3-4', '麻布10-2-3-4'],
    // 大字 / 字
    ['大字平川字東原', '平川東原'],
    ['千葉県袖ケ浦市大字平川字東原１２３番地', '千葉県袖ケ浦市平川東原123'],
    ['字東原5', '東原5'],
    ['大字平川字一〇五', '平川字105'],
    ['平川字105', '平川字105'],
    ['横手市十文字町', '横手市十文字町'],
    // ヶ/ケ/が and ノ/の
    ['霞ヶ関', '霞ケ関'],
    ['霞が関', '霞ケ関'],
    ['霞ガ関', '霞ケ関'],
    ['霞ヵ関', '霞ケ関'],
    ['つつじヶ丘', 'つつじケ丘'],
    ['つつじが丘', 'つつじケ丘'],
    ['ながの', 'ながの'],
    ['丸ノ内1ー9ー2', '丸の内1-9-2'],
    ['東京都千代田区丸の内一丁目9番2号', '東京都千代田区丸の内1-9-2'],
    ['台東区三ノ輪二丁目', '台東区三の輪2'],
    // 方書 after a space, spaces, IVS
    ['緑ヶ丘二丁目3番地の4 コーポさくら 203号室', '緑ケ丘2-3-4コーポさくら203号室'],
    ['緑ケ丘2-3-4　コーポさくら二〇三号室', '緑ケ丘2-3-4コーポさくら203号室'],
    ['緑ケ丘2-3-4 101', '緑ケ丘2-3-4-101'],
    ['緑ケ丘2丁目3番4号 101号室', '緑ケ丘2-3-4-101号室'],
    ['緑ケ丘2-3-4 A棟', '緑ケ丘2-3-4A棟'],
    ['東京都　千代田区 丸の内 1-9-2', '東京都千代田区丸の内1-9-2'],
    ['葛\u{E0100}飾区立石一丁目', '葛飾区立石1'],
  ];
  for (const [input, expected] of rows) {
    it(`${input} → ${expected}`, () => expect(addressKey(input)).to.equal(expected));
  }
  const distinct: [string, string][] = [
    ['緑ケ丘2-34', '緑ケ丘23-4'],
    ['緑ケ丘1-2-3 45', '緑ケ丘1-2-34 5'],
    ['千代田区一番町', '千代田区1'],
    ['三の丸', '3の丸'],
  ];
  for (const [a, b] of distinct) {
    it(`keeps ${a} and ${b} apart`, () => expect(addressKey(a)).to.not.equal(addressKey(b)));
  }
});

describe('searchKeys: kanaPrefixRange', () => {
  const rows: [string, [string, string]][] = [
    ['さい', ['さい', 'さぅ']],
    ['a', ['a', 'b']],
    ['', ['', '\u{10FFFF}']],
    ['𠮷', ['𠮷', '\u{20BB8}']],
    ['\uD7FF', ['\uD7FF', '\uE000']],
    ['\u{10FFFF}', ['\u{10FFFF}', '\u{10FFFF}\u{10FFFF}']],
  ];
  for (const [prefix, expected] of rows) {
    it(`${hex(prefix) || '(empty)'} → [${hex(expected[0])}, ${hex(expected[1])}]`, () =>
      expect(kanaPrefixRange(prefix)).to.deep.equal(expected));
  }
  const keys = ['さ', 'さい', 'さいとう', 'さいど', 'さぃ', 'さう', 'さぅ', 'ざい', 'わ', 'ん', 'んー', '', '𠮷だ', '𠮸'];
  for (const prefix of ['さい', 'さ', '', 'ん', '𠮷']) {
    it(`selects exactly the keys starting with "${prefix}"`, () => {
      const [lo, hi] = kanaPrefixRange(prefix);
      const inRange = keys.filter((k) => k >= lo && k < hi);
      expect(inRange).to.deep.equal(keys.filter((k) => k.startsWith(prefix)));
    });
  }
});
