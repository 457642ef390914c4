import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The two faces a form uses: 明朝 for names and addresses, ゴシック for labels. */
export type FontRole = 'mincho' | 'gothic';
export const fontRoles: readonly FontRole[] = ['mincho', 'gothic'];

export interface FontPaths {
  mincho: string;
  gothic: string;
}

/** Debian `fonts-ipamj-mincho` and `fonts-ipaexfont-gothic` (scripts/ensure-system-deps.sh server). */
export const defaultFontPaths: FontPaths = {
  mincho: '/usr/share/fonts/truetype/ipamj/ipamjm.ttf',
  gothic: '/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf',
};

const debianPackage: Record<FontRole, string> = { mincho: 'fonts-ipamj-mincho', gothic: 'fonts-ipaexfont-gothic' };

export interface MissingGlyph {
  /** The character as written, with its variation selector when it has one. */
  char: string;
  /** `U+9089` or, for an IVS, `U+9089 U+E0102`. */
  codePoint: string;
}

// fontkit ships no types; this is the part of its API used here (fontkit 2.0.4, src/TTFFont.js and
// src/CmapProcessor.js). `_cmapProcessor.uvs` is the parsed cmap format 14 subtable.
interface UvsSelector {
  varSelector: number;
  defaultUVS?:
    { startUnicodeValue: number; additionalCount: number }[] | { toArray(): { startUnicodeValue: number; additionalCount: number }[] };
  nonDefaultUVS?: { unicodeValue: number; glyphID: number }[] | { toArray(): { unicodeValue: number; glyphID: number }[] };
}
/** The fontkit font object; pdfkit (≥ 0.18) accepts it as a font source, which keeps it parsed. */
export interface FontkitFont {
  postscriptName: string;
  familyName: string;
  unitsPerEm: number;
  hasGlyphForCodePoint(codePoint: number): boolean;
  layout(text: string): { glyphs: { id: number }[] };
  _cmapProcessor?: { uvs?: { varSelectors: { toArray(): UvsSelector[] } } | null };
}
interface FontkitModule {
  create(buffer: Uint8Array, postscriptName?: string): FontkitFont | { fonts: FontkitFont[] };
}
const fontkit = createRequire(import.meta.url)('fontkit') as FontkitModule;

/** Is this code point a variation selector (VS1–16 or the IVS range VS17–256)? */
export function isVariationSelector(cp: number): boolean {
  return (cp >= 0xfe00 && cp <= 0xfe0f) || (cp >= 0xe0100 && cp <= 0xe01ef);
}

export function codePointLabel(char: string): string {
  return Array.from(char, (c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(' ');
}

/** Splits text into characters, a base character and its variation selector kept together. */
export function splitChars(text: string): string[] {
  const out: string[] = [];
  for (const c of text) {
    const cp = c.codePointAt(0)!;
    if (isVariationSelector(cp) && out.length) out[out.length - 1] += c;
    else out.push(c);
  }
  return out;
}

/** Which base characters each variation selector maps to a glyph (cmap format 14). */
class VariationTable {
  private readonly bySelector = new Map<number, { defaults: [number, number][]; glyphs: Map<number, number> }>();
  constructor(font: FontkitFont) {
    const selectors = font._cmapProcessor?.uvs?.varSelectors.toArray() ?? [];
    const arr = <T>(x: T[] | { toArray(): T[] } | undefined): T[] => (!x ? [] : Array.isArray(x) ? x : x.toArray());
    for (const s of selectors) {
      this.bySelector.set(s.varSelector, {
        defaults: arr(s.defaultUVS).map((r) => [r.startUnicodeValue, r.startUnicodeValue + r.additionalCount] as [number, number]),
        glyphs: new Map(arr(s.nonDefaultUVS).map((r) => [r.unicodeValue, r.glyphID])),
      });
    }
  }
  /** True when the font has this base + selector sequence, as its own glyph or as the default one. */
  has(base: number, selector: number): boolean {
    const s = this.bySelector.get(selector);
    if (!s) return false;
    if (s.glyphs.has(base)) return true;
    return s.defaults.some(([lo, hi]) => base >= lo && base <= hi);
  }
}

interface LoadedFont {
  role: FontRole;
  path: string;
  buffer: Buffer;
  font: FontkitFont;
  /** Display name for messages, e.g. `IPAmjMincho`. */
  name: string;
  variations: VariationTable | null;
  covered: Map<string, boolean>;
}

/** Characters that are layout, not glyphs: they never reach the page as a glyph. */
const layoutChars = new Set(['\n', '\r', '\t']);

/**
 * The fonts of the printouts, read once and kept: the Buffers and the parsed fontkit objects
 * are reused by every PDF (parsing IPAmj's 46 MB costs ~150 ms; a warm render does not pay it).
 * pdfkit has no font fallback, so `missingGlyphs` is asked before anything is drawn.
 */
export class FontSet {
  private static readonly shared = new Map<string, FontSet>();
  private readonly fonts: Record<FontRole, LoadedFont>;

  private constructor(paths: FontPaths) {
    const load = (role: FontRole): LoadedFont => {
      const path = paths[role];
      let buffer: Buffer;
      try {
        buffer = readFileSync(path);
      } catch (e) {
        throw new Error(
          `フォントを読み込めません (${role === 'mincho' ? '明朝' : 'ゴシック'}: ${path}): ${(e as Error).message}。` +
            `Debian パッケージ ${debianPackage[role]} を入れるか、フォントのパスを設定してください`,
        );
      }
      const created = fontkit.create(buffer);
      const font = 'fonts' in created ? created.fonts[0]! : created;
      return { role, path, buffer, font, name: font.postscriptName, variations: null, covered: new Map() };
    };
    this.fonts = { mincho: load('mincho'), gothic: load('gothic') };
  }

  /** Reads the fonts; the same paths give the same (warm) FontSet for the life of the process. */
  static load(paths: Partial<FontPaths> = {}): FontSet {
    const full: FontPaths = { ...defaultFontPaths, ...paths };
    const key = `${full.mincho}\n${full.gothic}`;
    let set = FontSet.shared.get(key);
    if (!set) {
      set = new FontSet(full);
      FontSet.shared.set(key, set);
    }
    return set;
  }

  /** The parsed font for pdfkit's `registerFont` (pdfkit subsets it per document). */
  font(role: FontRole): FontkitFont {
    return this.fonts[role].font;
  }
  buffer(role: FontRole): Buffer {
    return this.fonts[role].buffer;
  }
  path(role: FontRole): string {
    return this.fonts[role].path;
  }
  /** PostScript name, e.g. `IPAmjMincho`. */
  fontName(role: FontRole): string {
    return this.fonts[role].name;
  }

  /**
   * The characters of `text` the font cannot draw, each once, in order of appearance. A base
   * character followed by a variation selector (IVS) is covered only when the font's cmap 14
   * has that sequence: otherwise the base glyph would print silently in place of the variant.
   */
  missingGlyphs(text: string, role: FontRole): MissingGlyph[] {
    const f = this.fonts[role];
    const out: MissingGlyph[] = [];
    const seen = new Set<string>();
    for (const ch of splitChars(text)) {
      if (layoutChars.has(ch) || seen.has(ch)) continue;
      seen.add(ch);
      let ok = f.covered.get(ch);
      if (ok === undefined) {
        ok = this.covers(f, ch);
        f.covered.set(ch, ok);
      }
      if (!ok) out.push({ char: ch, codePoint: codePointLabel(ch) });
    }
    return out;
  }

  private covers(f: LoadedFont, ch: string): boolean {
    const cps = Array.from(ch, (c) => c.codePointAt(0)!);
    const base = cps[0]!;
    if (isVariationSelector(base)) return false; // a selector with nothing before it
    if (!f.font.hasGlyphForCodePoint(base)) return false;
    for (const vs of cps.slice(1)) {
      f.variations ??= new VariationTable(f.font);
      if (!f.variations.has(base, vs)) return false;
    }
    return true;
  }
}
