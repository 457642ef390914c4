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
