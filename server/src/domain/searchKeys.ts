/**
 * Search keys for the resident register (pure functions). The registered text is never changed;
 * these keys only fill indexed key columns and normalize what staff type. Rank exact-key hits
 * before fold-key hits, and flag variant-key hits (嶋/島 are legally different surnames).
 */
import { isVariationSelector } from './text.js';
import { foldVariants } from './variants.js';

/**
 * The version of the key rules below. Raise it with any change that gives some text a different
 * key: stored keys are then recomputed at the next start (`linkage/forward/rekey.ts`), or rows
 * keyed under the old rules would be missed. 2: wave dashes and tildes meet; more dashes in addresses.
 */
export const SEARCH_KEY_RULES = 2;

const SPACES_AND_DOTS = /[\s・·]/gu; // after NFKC: U+3000 and NBSP are ' ', ･ is ・
// After NFKC, ～ (U+FF5E, what Windows IMEs and CP932 give) is '~'; 〜 (U+301C, the JIS form
// that standard files use) stays. Both, and ∼ U+223C and ⁓ U+2053, become 〜 in every key.
const TILDES = /[~\u223C\u2053\u301C]/gu;
const ANY_TILDE = /[~\u223C\u2053\u301C]/u;
const foldTildes = (s: string): string => (ANY_TILDE.test(s) ? s.replace(TILDES, '\u301C') : s);
const KANA_DASH = /(?<=[\p{Script=Hiragana}ー])[‐‑‒–—―−-]/gu;

/** Any variation selector (see `isVariationSelector`): text without one is returned as it is. */
const ANY_VARIATION_SELECTOR = /[\uFE00-\uFE0F\u{E0100}-\u{E01EF}]/u;

function stripVariationSelectors(s: string): string {
  if (!ANY_VARIATION_SELECTOR.test(s)) return s;
  let out = '';
  for (const ch of s) if (!isVariationSelector(ch.codePointAt(0)!)) out += ch;
  return out;
}

const WA_ROW_V: Record<string, string> = { ヷ: 'ゔぁ', ヸ: 'ゔぃ', ヹ: 'ゔぇ', ヺ: 'ゔぉ' };

/**
 * Exact key for フリガナ: NFKC (ｶﾞ → ガ), katakana → hiragana, spaces and middle dots removed.
 * ー is kept; a hyphen or dash right after a kana is read as ー (IME slip: オ－ノ).
 * ヷヸヹヺ have no hiragana form and become ゔぁ ゔぃ ゔぇ ゔぉ, the same sounds as ヴァ…. Tildes → 〜.
 */
export function kanaExactKey(s: string): string {
  // Spacing ゛゜ would become ' ' + combining mark under NFKC; make them combining so they join.
  const nfkc = s
    .replace(/\u309B/g, '\u3099')
    .replace(/\u309C/g, '\u309A')
    .normalize('NFKC');
  let out = '';
  for (const ch of foldTildes(nfkc).replace(SPACES_AND_DOTS, '')) {
    const cp = ch.codePointAt(0)!;
    if ((cp >= 0x30a1 && cp <= 0x30f6) || cp === 0x30fd || cp === 0x30fe) out += String.fromCodePoint(cp - 0x60);
    else out += WA_ROW_V[ch] ?? ch;
  }
  return out.replace(KANA_DASH, 'ー');
}

const V_SOUNDS: Record<string, string> = { '': 'ぶ', ぁ: 'ば', ぃ: 'び', ぇ: 'べ', ぉ: 'ぼ', ゃ: 'びゃ', ゅ: 'びゅ', ょ: 'びょ' };
const SMALL_TO_LARGE: Record<string, string> = {
  ぁ: 'あ',
  ぃ: 'い',
  ぅ: 'う',
  ぇ: 'え',
  ぉ: 'お',
  っ: 'つ',
  ゃ: 'や',
  ゅ: 'ゆ',
  ょ: 'よ',
  ゎ: 'わ',
  ゕ: 'か',
  ゖ: 'け',
};
const SIMPLE_FOLDS: Record<string, string> = { ぢ: 'じ', づ: 'ず', を: 'お', ゐ: 'い', ゑ: 'え', ー: '' };

/**
 * Loose key for フリガナ, after Groonga NormalizerNFKC150's options. Order matters:
 * 1. v sounds (ゔぁ→ば, ゔ→ぶ) while the small kana and the ゛ are still there to read;
 * 2. ぢ→じ, づ→ず, を→お (and old ゐ→い, ゑ→え) before ゛ removal, or ぢ/じ would split to ち/し;
 * 3. ー removed (Groonga would write the vowel: オー→オオ; we drop it so オーノ meets オノ,
 *    which means オオノ does not meet オーノ);
 * 4. small kana → large; 5. ゛゜ removed (が→か, ぱ→は, ゞ→ゝ).
 */
export function kanaFoldKey(s: string): string {
  let k = kanaExactKey(s).replace(/ゔ([ぁぃぇぉゃゅょ]?)/g, (_m, small: string) => V_SOUNDS[small]!);
  k = k.replace(/[ぢづをゐゑー]/g, (c) => SIMPLE_FOLDS[c]!);
  k = k.replace(/[ぁぃぅぇぉっゃゅょゎゕゖ]/g, (c) => SMALL_TO_LARGE[c]!);
  return k
    .normalize('NFD')
    .replace(/[\u3099\u309A]/g, '')
    .normalize('NFC');
}

/**
 * Exact key for a name in kanji or roman letters: variation selectors dropped, NFKC, spaces and
 * middle dots removed, tildes (～ ~ ∼ ⁓) → 〜, ASCII a–z upper-cased (only ASCII: é stays é). Private-use code points
 * (外字, 行政事務標準文字 additions) pass through untouched. NFKC leaves the 12 "unified"
 * compatibility ideographs alone (﨑 U+FA11 stays apart from 崎) but maps the others to their
 * unified form (塚 U+FA10 → 塚 U+585A): that merge is NFKC's own and is accepted here.
 */
export function nameExactKey(s: string): string {
  let k = foldTildes(stripVariationSelectors(s).normalize('NFKC'));
  if (ANY_SPACE_OR_DOT.test(k)) k = k.replace(SPACES_AND_DOTS, '');
  return ANY_LOWER_ASCII.test(k) ? k.replace(/[a-z]+/g, (m) => m.toUpperCase()) : k;
}
const ANY_SPACE_OR_DOT = /[\s・·]/u;
const ANY_LOWER_ASCII = /[a-z]/;

/** Fallback key: nameExactKey with variant kanji folded (髙→高, 﨑→崎). Hits must be flagged. */
export function nameVariantKey(s: string): string {
  return foldVariants(nameExactKey(s));
}

const KANJI_DIGITS: Record<string, number> = { 〇: 0, 一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };
const KANJI_UNITS: Record<string, number> = { 十: 10, 百: 100, 千: 1000 };
const KNUM = '〇一二三四五六七八九十百千';

/** A run of 漢数字 as digits: 二十三 → 23; positional runs (一〇五) keep every digit. Shared with addressParser.ts. */
export function kanjiNumber(run: string): string {
  // Positional runs (一〇五) keep every digit, so long or zero-led runs survive.
  if (!/[十百千]/.test(run)) return [...run].map((c) => KANJI_DIGITS[c]).join('');
  let total = 0;
  let current = 0;
  for (const ch of run) {
    const unit = KANJI_UNITS[ch];
    if (unit !== undefined) {
      total += (current || 1) * unit;
      current = 0;
    } else current = current * 10 + (KANJI_DIGITS[ch] ?? 0);
  }
  return String(total + current);
}

// A whole 漢数字 run is a number only when it is not at the very start (九十九…, 一宮…) and is followed by
// 丁目, 番地, 番 (not 番町/番丁/番街: 一番町), 号, の/ノ/之 + number, a hyphen, a space or the end.
const NUMERAL_RUN = new RegExp(`(?<=[^${KNUM}])[${KNUM}]+(?=丁目|番地|番(?![町丁街])|号|[のノ之][0-9${KNUM}]|-|\\s|$)`, 'gu');
// Dashes that always mean a hyphen in an address (NFKC has already made ﹣ ⁻ ₋ '-' and ﹘ '—').
const DASHES = /[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\u2E3A\u2E3B\uFE63\uFF0D]/gu;
// ー (also ｰ after NFKC) and box-drawing lines ─ ━ are dashes only between two numbers (2ー3ー4).
const LONG_DASH_BETWEEN_NUMBERS = new RegExp(`(?<=[0-9${KNUM}])[ー─━](?=[0-9${KNUM}])`, 'gu');
const KANA_OR_HAN = '\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}';

/**
 * Address key, so that 「緑ヶ丘二丁目3番地の4」 and 「緑ケ丘２－３－４」 meet. Steps, in order:
 * NFKC, tildes → 〜; dashes → '-' (ー ─ ━ only between numbers); 漢数字 → digits (rule at NUMERAL_RUN); 丁目/番地/番/号
 * dropped after the last number of a part (before a space or the end); a space between two
 * numbers → '-' (「2-3-4 101」 = 「2-3-4-101」), other spaces removed; 丁目/番地/番/号/の/ノ/之/-
 * between numbers → '-'; 大字 dropped, 字 between place-name characters dropped (not in 十文字);
 * ヶ/ケ/ヵ/が/ガ after kana or kanji and before kanji → ケ; ノ between kanji → の.
 * A 方書 after the lot number keeps its text with the same folds: 「コーポさくら 203号室」 →
 * 「コーポさくら203号室」 (号 is dropped only before a space or the end).
 */
export function addressKey(s: string): string {
  // Each step runs only when its text can be there (a test is a fraction of a replace with
  // lookarounds): the keys are the same, at 1.3 µs an address instead of 5.2 (80,000 households, measured).
  let k = foldTildes(stripVariationSelectors(s).normalize('NFKC').trim());
  if (ANY_DASH.test(k)) k = k.replace(DASHES, '-').replace(LONG_DASH_BETWEEN_NUMBERS, '-');
  if (ANY_KNUM.test(k)) k = k.replace(NUMERAL_RUN, kanjiNumber);
  if (ANY_DIGIT.test(k)) {
    k = k.replace(LOT_SUFFIX_AT_END, '');
    k = k.replace(SPACE_BETWEEN_NUMBERS, '-');
  }
  if (ANY_SPACE.test(k)) k = k.replace(SPACES, '');
  if (ANY_DIGIT.test(k)) k = k.replace(SEPARATOR_BETWEEN_NUMBERS, '-');
  if (k.includes('字')) k = k.replace(OAZA, '').replace(AZA, '');
  if (ANY_KE.test(k)) k = k.replace(KE_BEFORE_KANJI, 'ケ');
  return k.includes('ノ') ? k.replace(NO_BETWEEN_KANJI, 'の') : k;
}

const ANY_DASH = /[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\u2E3A\u2E3B\uFE63\uFF0Dー─━]/u;
const ANY_KNUM = new RegExp(`[${KNUM}]`, 'u');
const ANY_DIGIT = /[0-9]/u;
const ANY_SPACE = /\s/u;
const ANY_KE = /[ヶケヵゕがガ]/u;
const LOT_SUFFIX_AT_END = /(?<=[0-9])(?:丁目|番地|番|号)(?=\s|$)/gu;
const SPACE_BETWEEN_NUMBERS = /(?<=[0-9])\s+(?=[0-9])/gu;
const SPACES = /\s+/gu;
const SEPARATOR_BETWEEN_NUMBERS = /(?<=[0-9])(?:丁目|番地|番|号|[のノ之]|-)+(?=[0-9])/gu;
const OAZA = /大字/gu;
const AZA = new RegExp(`(?<=^|[${KANA_OR_HAN}])(?<!文)字(?=\\p{Script=Han})`, 'gu');
const KE_BEFORE_KANJI = new RegExp(`(?<=[${KANA_OR_HAN}])[ヶケヵゕがガ](?=\\p{Script=Han})`, 'gu');
const NO_BETWEEN_KANJI = /(?<=\p{Script=Han})ノ(?=\p{Script=Han})/gu;

/**
 * Bounds for a prefix search on a key column: `key >= lower AND key < upper`. upper is the prefix
 * with its last code point incremented (U+D7FF skips to U+E000). The bounds hold in code-point
 * order (SQLite BINARY on UTF-8, PostgreSQL "C"). An empty prefix, or one ending in U+10FFFF,
 * gets prefix + U+10FFFF: every key except those continuing with that noncharacter.
 */
export function kanaPrefixRange(prefix: string): [string, string] {
  const cps = [...prefix].map((c) => c.codePointAt(0)!);
  const last = cps.pop();
  if (last === undefined || last === 0x10ffff) return [prefix, prefix + '\u{10FFFF}'];
  return [prefix, String.fromCodePoint(...cps, last === 0xd7ff ? 0xe000 : last + 1)];
}
