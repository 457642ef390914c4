import { expect } from 'chai';
import {
  addressKey,
  kanaExactKey,
  kanaFoldKey,
  kanaPrefixRange,
  kanjiNumber,
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

/**
 * The key functions skip a step when its text cannot be in the string (a cheap test before each
 * replace, for the speed of a load). The reference below is every step run unconditionally, as
 * the rules read: on random strings over the characters the steps look for, both must agree, or
 * a skipped step would give some address or name a different key from the one searches compute.
 */
describe('searchKeys: the skipped steps never change a key', () => {
  const KNUM = '〇一二三四五六七八九十百千';
  const KANA_OR_HAN = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}';
  const stripVs = (s: string) => [...s].filter((c) => !/[\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/u.test(c)).join('');
  const tildes = (s: string) => s.replace(/[~\u223C\u2053\u301C]/gu, '\u301C');
  const referenceAddressKey = (s: string): string => {
    let k = tildes(stripVs(s).normalize('NFKC').trim());
    k = k
      .replace(/[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\u2E3A\u2E3B\uFE63\uFF0D]/gu, '-')
      .replace(new RegExp(`(?<=[0-9${KNUM}])[ー─━](?=[0-9${KNUM}])`, 'gu'), '-');
    k = k.replace(new RegExp(`(?<=[^${KNUM}])[${KNUM}]+(?=丁目|番地|番(?![町丁街])|号|[のノ之][0-9${KNUM}]|-|\\s|$)`, 'gu'), kanjiNumber);
    k = k.replace(/(?<=[0-9])(?:丁目|番地|番|号)(?=\s|$)/gu, '');
    k = k.replace(/(?<=[0-9])\s+(?=[0-9])/gu, '-').replace(/\s+/gu, '');
    k = k.replace(/(?<=[0-9])(?:丁目|番地|番|号|[のノ之]|-)+(?=[0-9])/gu, '-');
    k = k.replace(/大字/gu, '').replace(new RegExp(`(?<=^|[${KANA_OR_HAN}])(?<!文)字(?=\\p{Script=Han})`, 'gu'), '');
    k = k.replace(new RegExp(`(?<=[${KANA_OR_HAN}])[ヶケヵゕがガ](?=\\p{Script=Han})`, 'gu'), 'ケ');
    return k.replace(/(?<=\p{Script=Han})ノ(?=\p{Script=Han})/gu, 'の');
  };
  const referenceNameExactKey = (s: string): string =>
    tildes(stripVs(s).normalize('NFKC'))
      .replace(/[\s・·]/gu, '')
      .replace(/[a-z]+/g, (m) => m.toUpperCase());

  // Deterministic: a failure names the string, and the same strings come back the next run.
  let seed = 20261208;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  const alphabet = [
    ...'0123456789０１２３',
    ...KNUM,
    ...'-‐‑‒–—―−⁃⸺⸻﹣－ー─━ｰ',
    ' ',
    '\u3000',
    '\t',
    ...'丁目番地号のノ之字大文ヶケヵゕがガ緑丘町市区あいカキ髙﨑高崎',
    ...'~∼⁓〜～・·aBzｱ',
    '\uFE00',
    '\u{E0100}',
    '𠮷',
    '葛\u{E0100}',
    '番町',
    '大字',
  ];
  const randomText = () => {
    let s = '';
    const n = 1 + Math.floor(random() * 14);
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)]!;
    return s;
  };

  it('addressKey equals the unconditional rules on 20,000 random addresses', () => {
    for (let i = 0; i < 20_000; i++) {
      const s = randomText();
      expect(addressKey(s), hex(s)).to.equal(referenceAddressKey(s));
    }
  });

  it('nameExactKey equals the unconditional rules on 20,000 random names', () => {
    for (let i = 0; i < 20_000; i++) {
      const s = randomText();
      expect(nameExactKey(s), hex(s)).to.equal(referenceNameExactKey(s));
    }
  });

  it('nameVariantKey folds every variant the table has, and leaves a name without one as it is', () => {
    expect(nameVariantKey('髙﨑')).to.equal('高崎');
    expect(nameVariantKey('森鷗外')).to.equal(nameVariantKey('森鴎外'));
    expect(nameVariantKey('田中太郎')).to.equal('田中太郎');
  });
});
