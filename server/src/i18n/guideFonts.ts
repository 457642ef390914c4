import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { codePointLabel, FontSet, splitChars, type FontkitFont, type MissingGlyph } from '../printing/fonts.js';

/**
 * The fonts of the procedure guide in each language (issue 20). pdfkit has no font fallback: a
 * character the font lacks prints as an empty box. So each language names, in its file under
 * `config/languages/`, a font family of this table (`font:`), and every character the guide would
 * print is checked against it before anything is drawn (`missingGlyphs`), as the MJ check of
 * printing/fonts.ts does for names.
 *
 * What is Japanese on a guide in another language — the town, the counters and sections, and the
 * texts that fall back to Japanese — is set in the printing fonts (IPAexゴシック, then IPAmj明朝).
 *
 * The families, each the smallest Debian 12 package found that covers the script (installed sizes):
 * - `ipa-mincho` / `ipa-gothic`: the printing fonts themselves (fonts-ipamj-mincho, fonts-ipaexfont-gothic);
 * - `dejavu-sans`: fonts-dejavu-core (2.9 MB): Latin with Vietnamese (all of U+1EA0–1EF9), Portuguese, Filipino;
 * - `arphic-gb`: fonts-arphic-gbsn00lp (5.0 MB): AR PL SungtiL GB, every GB 2312 hanzi (简体字);
 *   fonts-wqy-microhei is as small but makes itself fontconfig's preferred sans-serif for every
 *   language (Japanese screens in Chromium would switch to a Chinese font), and fonts-noto-cjk is ~89 MB;
 * - `lexi-gulim`: fonts-lexi-gulim (1.5 MB): all 11,172 Hangul syllables with Latin (fonts-nanum is 32.5 MB);
 * - `lohit-devanagari`: fonts-lohit-deva (0.2 MB): Devanagari with Basic Latin; fontkit shapes the
 *   conjuncts, reph and the i-matra (Lohit Nepali lacks Latin letters).
 */
export type GuideFontRole = 'heading' | 'body';

export interface GuideFontFile {
  path: string;
  /** The Debian package that installs it (scripts/ensure-system-deps.sh `server`). */
  debianPackage: string;
}

export interface GuideFontFamily {
  heading: GuideFontFile;
  body: GuideFontFile;
  /** The family is the printing fonts themselves (Japanese): no separate Japanese fallback. */
  japanese: boolean;
}

const IPAEX_GOTHIC: GuideFontFile = {
  path: '/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf',
  debianPackage: 'fonts-ipaexfont-gothic',
};
const IPAMJ_MINCHO: GuideFontFile = { path: '/usr/share/fonts/truetype/ipamj/ipamjm.ttf', debianPackage: 'fonts-ipamj-mincho' };

export const guideFontFamilies = {
  /** 日本語: headings in IPAexゴシック, text in IPAmj明朝 (as the Japanese guide of printing/visitPrint.ts). */
  'ipa-mincho': { heading: IPAEX_GOTHIC, body: IPAMJ_MINCHO, japanese: true },
  /** やさしい日本語: IPAexゴシック throughout (a Gothic face reads more easily). */
  'ipa-gothic': { heading: IPAEX_GOTHIC, body: IPAEX_GOTHIC, japanese: true },
  'dejavu-sans': {
    heading: { path: '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf', debianPackage: 'fonts-dejavu-core' },
    body: { path: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', debianPackage: 'fonts-dejavu-core' },
    japanese: false,
  },
  'arphic-gb': {
    heading: { path: '/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf', debianPackage: 'fonts-arphic-gbsn00lp' },
    body: { path: '/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf', debianPackage: 'fonts-arphic-gbsn00lp' },
    japanese: false,
  },
  'lexi-gulim': {
    heading: { path: '/usr/share/fonts/truetype/lexi/LexiGulim.ttf', debianPackage: 'fonts-lexi-gulim' },
    body: { path: '/usr/share/fonts/truetype/lexi/LexiGulim.ttf', debianPackage: 'fonts-lexi-gulim' },
    japanese: false,
  },
  'lohit-devanagari': {
    heading: { path: '/usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf', debianPackage: 'fonts-lohit-deva' },
    body: { path: '/usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf', debianPackage: 'fonts-lohit-deva' },
    japanese: false,
  },
} as const satisfies Record<string, GuideFontFamily>;

export type GuideFontFamilyName = keyof typeof guideFontFamilies;
export const guideFontFamilyNames = Object.keys(guideFontFamilies) as GuideFontFamilyName[];

export function isGuideFontFamily(name: string): name is GuideFontFamilyName {
  return Object.hasOwn(guideFontFamilies, name);
}

/** What the guide needs to know of a language to choose its fonts (`Languages.info(code)`). */
export interface LanguageFonts {
  code: string;
  font: GuideFontFamilyName;
}

/** The font files of a language's guide: its family's heading and body faces. */
export function guideFontFiles(language: LanguageFonts): { heading: GuideFontFile; body: GuideFontFile } {
  const f: GuideFontFamily = guideFontFamilies[language.font];
  return { heading: f.heading, body: f.body };
}

/** The Debian packages every family needs (for scripts/ensure-system-deps.sh and the manual). */
export function guideFontPackages(): string[] {
  const all: GuideFontFamily[] = Object.values(guideFontFamilies);
  return [...new Set(all.flatMap((f) => [f.heading.debianPackage, f.body.debianPackage]))].sort();
}

interface FontkitModule {
  create(buffer: Uint8Array, postscriptName?: string): FontkitFont | { fonts: FontkitFont[] };
}
const fontkit = createRequire(import.meta.url)('fontkit') as FontkitModule;

/** A parsed font file, kept for the life of the process (as FontSet keeps the printing fonts). */
export interface LoadedGuideFont {
  path: string;
  font: FontkitFont;
  /** PostScript name, e.g. `DejaVuSans-Bold`. */
  name: string;
  covers(char: string): boolean;
}

const loaded = new Map<string, LoadedGuideFont>();

function wrap(path: string, font: FontkitFont): LoadedGuideFont {
  const memo = new Map<string, boolean>();
  return {
    path,
    font,
    name: font.postscriptName,
    covers(char) {
      let ok = memo.get(char);
      if (ok === undefined) {
        // A variation selector after a base character is the printing fonts' business (IVS): the
        // language fonts are asked for the base character only.
        ok = font.hasGlyphForCodePoint(char.codePointAt(0)!);
        memo.set(char, ok);
      }
      return ok;
    },
  };
}

/** Reads a font file once; the error names the Debian package to install. */
export function loadGuideFont(file: GuideFontFile): LoadedGuideFont {
  let f = loaded.get(file.path);
  if (!f) {
    let buffer: Buffer;
    try {
      buffer = readFileSync(file.path);
    } catch (e) {
      throw new Error(
        `案内書のフォントを読み込めません (${file.path}): ${(e as Error).message}。Debian パッケージ ${file.debianPackage} を入れてください`,
      );
    }
    const created = fontkit.create(buffer);
    f = wrap(file.path, 'fonts' in created ? created.fonts[0]! : created);
    loaded.set(file.path, f);
  }
  return f;
}

/** The Japanese printing fonts as guide fonts (the parsed fonts of the FontSet, not read again). */
function fromFontSet(set: FontSet, role: 'gothic' | 'mincho'): LoadedGuideFont {
  const path = set.path(role);
  const key = `fontset:${path}`;
  let f = loaded.get(key);
  if (!f) {
    const font = set.font(role);
    const base = wrap(path, font);
    // The printing fonts answer for IVS sequences too (FontSet.missingGlyphs reads cmap 14).
    f = { ...base, covers: (ch) => set.missingGlyphs(ch, role).length === 0 };
    loaded.set(key, f);
  }
  return f;
}

/** A string the guide prints, with what it is and in which face. */
export interface GuideText {
  /** Where it comes from, for messages: `title`, `items[2].guidance`, `procedures.nhiEnrol.bring`. */
  field: string;
  text: string;
  role: GuideFontRole;
  /**
   * `local`: in the language of the guide (its own font must have every character);
   * `ja`: Japanese on a guide in another language — the town, counters, the texts that fall back
   * to Japanese — set in the printing fonts.
   */
  script: 'local' | 'ja';
}

export interface GuideMissingGlyph extends MissingGlyph {
  field: string;
  /** The font (or fonts, `A / B`) that should have had it. */
  font: string;
  text: string;
}

/** A run of text in one font: what pdfkit draws in one go. */
export interface FontRun {
  text: string;
  /** The name the font is registered under in the document (`GuideFonts.registered`). */
  font: string;
}

/**
 * The fonts of one language's guide: the family's two faces and the printing fonts for Japanese.
 * `runs` splits a text into runs by the first font of its chain that has each character: a
 * language's own text goes to its font and only what it lacks (a Japanese name inside) to the
 * Japanese fonts; Japanese text goes to the Japanese fonts.
 */
export class GuideFonts {
  private readonly faces = new Map<string, LoadedGuideFont>();
  private readonly chains: Record<GuideText['script'], Record<GuideFontRole, string[]>>;

  constructor(
    readonly language: LanguageFonts,
    japanese: FontSet,
  ) {
    const family: GuideFontFamily = guideFontFamilies[language.font];
    const jaGothic = fromFontSet(japanese, 'gothic');
    const jaMincho = fromFontSet(japanese, 'mincho');
    // The Japanese families are the printing fonts as configured (printing.fonts of municipality.yaml).
    const face = (file: GuideFontFile): LoadedGuideFont =>
      file === IPAEX_GOTHIC ? jaGothic : file === IPAMJ_MINCHO ? jaMincho : loadGuideFont(file);
    this.faces.set('heading', face(family.heading));
    this.faces.set('body', face(family.body));
    this.faces.set('jaGothic', jaGothic);
    this.faces.set('jaMincho', jaMincho);
    const unique = (names: string[]) => names.filter((n, i) => names.findIndex((m) => this.faces.get(m) === this.faces.get(n)) === i);
    const ja = (role: GuideFontRole) => (family.japanese ? role : 'jaGothic');
    this.chains = {
      local: { heading: unique(['heading', 'jaGothic', 'jaMincho']), body: unique(['body', 'jaGothic', 'jaMincho']) },
      ja: { heading: unique([ja('heading'), 'jaGothic', 'jaMincho']), body: unique([ja('body'), 'jaGothic', 'jaMincho']) },
    };
  }

  /** The fonts to register in a document: name → parsed font (pdfkit takes the fontkit object). */
  registered(): [string, FontkitFont][] {
    const seen = new Set<LoadedGuideFont>();
    const out: [string, FontkitFont][] = [];
    for (const [name, f] of this.faces) {
      if (seen.has(f)) continue;
      seen.add(f);
      out.push([name, f.font]);
    }
    return out;
  }

  /** The registered name of the face in this slot (one font may fill several slots). */
  private slotName(slot: string): string {
    const f = this.faces.get(slot)!;
    for (const [name, g] of this.faces) if (g === f) return name;
    return slot;
  }

  fontName(slot: string): string {
    return this.faces.get(slot)!.name;
  }

  /**
   * The vertical metrics of a registered font per point of size, as pdfkit reads them (hhea):
   * `ascender` (top of the line to the baseline) and `lineHeight` (with the font's line gap).
   */
  metrics(registered: string): { ascender: number; lineHeight: number } {
    const f = this.faces.get(registered)!.font as FontkitFont & { ascent: number; descent: number; lineGap: number };
    return { ascender: f.ascent / f.unitsPerEm, lineHeight: (f.ascent - f.descent + f.lineGap) / f.unitsPerEm };
  }

  /**
   * The characters of the texts that no font of their chain has. A language's own text (`local`)
   * must be covered by the language's face itself: a translation is not silently completed from
   * a Japanese font.
   */
  missingGlyphs(texts: readonly GuideText[]): GuideMissingGlyph[] {
    const out: GuideMissingGlyph[] = [];
    for (const t of texts) {
      const chain = t.script === 'local' ? [t.role] : this.chains.ja[t.role];
      const seen = new Set<string>();
      for (const ch of splitChars(t.text.normalize('NFC'))) {
        if (layoutChars.has(ch) || seen.has(ch)) continue;
        seen.add(ch);
        if (!chain.some((slot) => this.faces.get(slot)!.covers(ch)))
          out.push({
            char: ch,
            codePoint: codePointLabel(ch),
            field: t.field,
            font: [...new Set(chain.map((s) => this.fontName(s)))].join(' / '),
            text: t.text,
          });
      }
    }
    return out;
  }

  /** The text cut into runs of one font each (the first of its chain that has the character). */
  runs(text: string, role: GuideFontRole, script: GuideText['script']): FontRun[] {
    const chain = this.chains[script][role];
    const out: FontRun[] = [];
    for (const ch of splitChars(text.normalize('NFC'))) {
      // Spaces and line breaks stay in the run they are in (every font has a space).
      const slot = layoutChars.has(ch) || ch === ' ' ? undefined : (chain.find((s) => this.faces.get(s)!.covers(ch)) ?? chain[0]!);
      const font = slot ? this.slotName(slot) : (out[out.length - 1]?.font ?? this.slotName(chain[0]!));
      const last = out[out.length - 1];
      if (last && last.font === font) last.text += ch;
      else out.push({ text: ch, font });
    }
    return out;
  }
}

const layoutChars = new Set(['\n', '\r', '\t']);

/** One GuideFonts per language and printing font set, kept (the faces are parsed once). */
const perLanguage = new Map<string, GuideFonts>();

export function guideFontsFor(language: LanguageFonts, japanese: FontSet = FontSet.load()): GuideFonts {
  const key = `${language.code}\n${language.font}\n${japanese.path('gothic')}\n${japanese.path('mincho')}`;
  let g = perLanguage.get(key);
  if (!g) {
    g = new GuideFonts(language, japanese);
    perLanguage.set(key, g);
  }
  return g;
}

/**
 * The characters of `texts` the guide in language `code` could not print: a language's own text
 * is checked against its font family, Japanese text against the printing fonts. Empty when the
 * guide prints every glyph.
 */
export function missingGlyphs(
  code: string,
  texts: readonly GuideText[],
  languages: { info(code: string): LanguageFonts },
  japanese?: FontSet,
): GuideMissingGlyph[] {
  return guideFontsFor(languages.info(code), japanese).missingGlyphs(texts);
}
