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

export function isVariationSelector(cp: number): boolean {
  return (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef);
}

/** CSV fields are written by the text module (one writer for every CSV). */
export { csvField } from '../text/csv.js';

/** BMP private-use characters: 外字 the 同定マップ did not know (pages show each as 〓). */
const BMP_PRIVATE_USE = /[\uE000-\uF8FF]/g;

/**
 * A form posts back what the page showed: a registered name with an unmapped 外字 comes back with
 * 〓 in its place. When the posted text is exactly the registered text as shown, the registered
 * text is the value (the 外字 survives, and printing still refuses it); otherwise the posted text.
 */
export function restoreShownGaiji(posted: string, registered: string | null | undefined): string {
  if (!registered || !BMP_PRIVATE_USE.test(registered)) return posted;
  BMP_PRIVATE_USE.lastIndex = 0;
  return posted === registered.replace(BMP_PRIVATE_USE, '〓') ? registered : posted;
}
