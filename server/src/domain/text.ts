/**
 * Text helpers. Lengths in the standard's layouts count characters (code points), so a
 * surrogate pair (𠮷) is one; an IVS selector is a code point of its own, as the standard
 * counts it.
 */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function isPrivateUse(cp: number): boolean {
  return (cp >= 0xe000 && cp <= 0xf8ff) || (cp >= 0xf0000 && cp <= 0xffffd) || (cp >= 0x100000 && cp <= 0x10fffd);
}

export function isVariationSelector(cp: number): boolean {
  return (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef);
}

const SMALL_TO_LARGE: Record<string, string> = {
  ぁ: 'あ', ぃ: 'い', ぅ: 'う', ぇ: 'え', ぉ: 'お', っ: 'つ', ゃ: 'や', ゅ: 'ゆ', ょ: 'よ', ゎ: 'わ', ゕ: 'か', ゖ: 'け',
};

/**
 * Search key for kana (フリガナ): NFKC (width), katakana → hiragana, small kana → large, and
 * spaces removed. Only for the key column; the registered text is never changed.
 */
export function kanaKey(s: string): string {
  const nfkc = s.normalize('NFKC');
  let out = '';
  for (const ch of nfkc) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0x20 || cp === 0x3000) continue;
    let c = cp >= 0x30a1 && cp <= 0x30f6 ? String.fromCodePoint(cp - 0x60) : ch;
    c = SMALL_TO_LARGE[c] ?? c;
    out += c;
  }
  return out;
}

/**
 * Search key for a name in kanji or roman letters: variation selectors dropped, NFKC, spaces
 * removed, upper-cased. Variant kanji (髙→高) are folded by a separate, flagged fallback key.
 */
export function nameKey(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (isVariationSelector(cp)) continue;
    out += ch;
  }
  return out.normalize('NFKC').replace(/[\s\u3000]+/g, '').toUpperCase();
}

/** One RFC 4180 field: quoted when it holds a comma, quote, CR or LF. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
