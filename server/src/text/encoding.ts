import iconv from 'iconv-lite';

/**
 * Character encodings of the files madoguchi reads and writes: UTF-8 (with or without BOM) and
 * CP932 (Windows Shift_JIS, what Excel and older core systems write). UTF-16, UTF-32, ISO-2022-JP
 * and EUC-JP are recognised only to be named in the error: reading them as UTF-8 or CP932 would
 * give garbage, or a misleading CSV or header message, without a word about the encoding.
 *
 * Every decoder and encoder goes through this file, so a character reads and writes the same
 * way in linkage files, uploads and exports.
 */
export type TextEncoding = 'utf8' | 'cp932';
export type EncodingSetting = TextEncoding | 'auto';

export interface DetectedEncoding {
  encoding: TextEncoding;
  bom: boolean;
  /** Why this encoding was chosen, for reports (never a silent guess). */
  reason: string;
}

/** A file that is not UTF-8 or CP932, or holds bytes neither can read. */
export class TextEncodingError extends Error {
  readonly status = 400;
  readonly expose = true;
  constructor(
    /**
     * `utf16`, `utf32`, `iso2022jp`, `eucjp`: a file in that encoding (named in the reason);
     * `invalidUtf8`: bad bytes under a UTF-8 BOM or setting; `undecodable`: neither UTF-8 nor CP932.
     */
    readonly kind: 'utf16' | 'utf32' | 'iso2022jp' | 'eucjp' | 'invalidUtf8' | 'undecodable',
    /** The message without the line, for callers that show the line in a column of their own. */
    readonly reason: string,
    /** The line the bad bytes are on, when known (1-based). */
    readonly line?: number,
  ) {
    super(line === undefined ? reason : `${line} 行目: ${reason}`);
    this.name = 'TextEncodingError';
  }
}

/**
 * What CP932's six JIS/Microsoft twins decode to: `jis` (U+301C 〜, U+2212 −, U+2016 ‖, U+00A2 ¢,
 * U+00A3 £, U+00AC ¬) or `microsoft` (U+FF5E ～, U+FF0D －, U+2225 ∥, U+FFE0 ￠, U+FFE1 ￡, U+FFE2 ￢).
 */
export type Cp932Mapping = 'jis' | 'microsoft';

/**
 * The one mapping for decoding: JIS. Standard-layout UTF-8 files and the MJ / 行政事務標準文字
 * sets use the JIS code points, so with it a name read from a CP932 file is the same string as
 * from a UTF-8 file (search keys, comparisons and printing agree). Linkage has used it since the
 * start; `microsoft` remains a linkage setting for sites whose UTF-8 files use the other forms.
 */
export const CP932_MAPPING: Cp932Mapping = 'jis';

const MICROSOFT_TO_JIS: Readonly<Record<string, string>> = {
  '\uFF5E': '\u301C', // 〜 WAVE DASH
  '\uFF0D': '\u2212', // − MINUS SIGN
  '\u2225': '\u2016', // ‖ DOUBLE VERTICAL LINE
  '\uFFE0': '\u00A2', // ¢
  '\uFFE1': '\u00A3', // £
  '\uFFE2': '\u00AC', // ¬
};
const MICROSOFT_TO_JIS_RE = /[\uFF5E\uFF0D\u2225\uFFE0\uFFE1\uFFE2]/g;

/**
 * For encoding: the JIS forms (and U+2014 EM DASH, which JIS-mapping decoders give for 0x815C)
 * become the forms CP932 encodes, so writing never refuses what a decoder produced.
 */
const JIS_TO_MICROSOFT: Readonly<Record<string, string>> = {
  '\u301C': '\uFF5E',
  '\u2212': '\uFF0D',
  '\u2016': '\u2225',
  '\u00A2': '\uFFE0',
  '\u00A3': '\uFFE1',
  '\u00AC': '\uFFE2',
  '\u2014': '\u2015',
};
const JIS_TO_MICROSOFT_RE = /[\u301C\u2212\u2016\u00A2\u00A3\u00AC\u2014]/g;

/** CP932-decoded text (Microsoft forms) in the given mapping. */
export function applyCp932Mapping(text: string, mapping: Cp932Mapping = CP932_MAPPING): string {
  return mapping === 'jis' ? text.replace(MICROSOFT_TO_JIS_RE, (c) => MICROSOFT_TO_JIS[c]!) : text;
}

/** Text with every character that has a CP932 twin in the form CP932 encodes. */
export function toCp932Forms(text: string): string {
  return text.replace(JIS_TO_MICROSOFT_RE, (c) => JIS_TO_MICROSOFT[c]!);
}

/** `U+2212`, `U+20BB7`: how messages name a character. */
export function codePointName(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

// ---------------------------------------------------------------------------------------------
// Detection

const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;
const UTF16_SAMPLE = 4096;

export const hasUtf8Bom = (b: Uint8Array): boolean => b.length >= 3 && b[0] === UTF8_BOM[0] && b[1] === UTF8_BOM[1] && b[2] === UTF8_BOM[2];

/**
 * `UTF-16LE` / `UTF-16BE` by BOM, or by NUL bytes falling mostly on odd (LE) or even (BE)
 * positions: UTF-8 and CP932 text never hold NUL, UTF-16 puts one beside every ASCII character.
 */
export function utf16Kind(sample: Uint8Array): 'UTF-16LE' | 'UTF-16BE' | null {
  if (sample.length >= 2 && sample[0] === 0xff && sample[1] === 0xfe) return 'UTF-16LE';
  if (sample.length >= 2 && sample[0] === 0xfe && sample[1] === 0xff) return 'UTF-16BE';
  let even = 0;
  let odd = 0;
  const end = Math.min(sample.length, UTF16_SAMPLE) & ~1;
  for (let i = 0; i < end; i += 2) {
    if (sample[i] === 0) even++;
    if (sample[i + 1] === 0) odd++;
  }
  if (odd >= 2 && odd >= 4 * even) return 'UTF-16LE';
  if (even >= 2 && even >= 4 * odd) return 'UTF-16BE';
  return null;
}

/** An encoding madoguchi does not read but names, so that the sender knows what to change. */
export type ForeignEncoding = 'UTF-16LE' | 'UTF-16BE' | 'UTF-32LE' | 'UTF-32BE' | 'ISO-2022-JP' | 'EUC-JP';

const FOREIGN_NAMES: Readonly<Record<ForeignEncoding, string>> = {
  'UTF-16LE': 'UTF-16 (リトルエンディアン)',
  'UTF-16BE': 'UTF-16 (ビッグエンディアン)',
  'UTF-32LE': 'UTF-32 (リトルエンディアン)',
  'UTF-32BE': 'UTF-32 (ビッグエンディアン)',
  'ISO-2022-JP': 'ISO-2022-JP (JIS コード)',
  'EUC-JP': 'EUC-JP',
};
const FOREIGN_KINDS: Readonly<Record<ForeignEncoding, 'utf16' | 'utf32' | 'iso2022jp' | 'eucjp'>> = {
  'UTF-16LE': 'utf16',
  'UTF-16BE': 'utf16',
  'UTF-32LE': 'utf32',
  'UTF-32BE': 'utf32',
  'ISO-2022-JP': 'iso2022jp',
  'EUC-JP': 'eucjp',
};

/** The Japanese message naming a file's encoding, with what to do. */
export function foreignEncodingMessage(kind: ForeignEncoding): string {
  return `${FOREIGN_NAMES[kind]} のファイルは読めません。UTF-8 か CP932 (Shift_JIS) で保存し直してください`;
}

/** The Japanese message naming a UTF-16 file. */
export function utf16Message(kind: 'UTF-16LE' | 'UTF-16BE'): string {
  return foreignEncodingMessage(kind);
}

/**
 * `UTF-32LE` / `UTF-32BE` by BOM, or by every aligned group of four bytes looking like one code
 * point (≤ U+10FFFF: the high byte NUL, the next at most 0x10). UTF-16 text fails this within a
 * few characters (every second one would have to be a control character). Checked before
 * `utf16Kind`, whose BOM FF FE is the start of UTF-32LE's FF FE 00 00.
 */
export function utf32Kind(sample: Uint8Array): 'UTF-32LE' | 'UTF-32BE' | null {
  const b = sample;
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) return 'UTF-32LE';
  if (b.length >= 4 && b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) return 'UTF-32BE';
  const end = Math.min(b.length, UTF16_SAMPLE) & ~3;
  if (end < 16) return null;
  let le = true;
  let be = true;
  for (let i = 0; i < end && (le || be); i += 4) {
    if (b[i + 3] !== 0 || b[i + 2]! > 0x10) le = false;
    if (b[i] !== 0 || b[i + 1]! > 0x10) be = false;
  }
  return le ? 'UTF-32LE' : be ? 'UTF-32BE' : null;
}

/**
 * ISO-2022-JP (7-bit, so it passes as UTF-8) by an escape sequence into kanji: ESC $ @ or ESC $ B
 * (JIS X 0208), ESC $ ( D / O / Q (JIS X 0212, 0213). Text files madoguchi reads never hold ESC,
 * so one such sequence is enough.
 */
export function isIso2022Jp(sample: Uint8Array): boolean {
  const b = sample;
  const end = Math.min(b.length, UTF16_SAMPLE);
  for (let i = 0; i + 2 < end; i++) {
    if (b[i] !== 0x1b || b[i + 1] !== 0x24) continue;
    const c = b[i + 2];
    if (c === 0x40 || c === 0x42 || (c === 0x28 && (b[i + 3] === 0x44 || b[i + 3] === 0x4f || b[i + 3] === 0x51))) return true;
  }
  return false;
}

/**
 * EUC-JP, for bytes that are not UTF-8: every byte ≥ 0x80 sits in an EUC-JP sequence (two bytes
 * of A1–FE; 8E + A1–DF; 8F + two of A1–FE), there are at least four of them, and no byte of
 * 80–A0 stands outside them. CP932 Japanese text always has such bytes (hiragana lead 0x82,
 * katakana 0x83, punctuation 0x81, most kanji 0x88–0x9F), and EUC-JP never does, so a CP932
 * file is not mistaken for EUC-JP (one holding only half-width kana in even runs would be: no
 * linkage file is, as their headers are kanji). Looks at the first 4 KB.
 */
export function isEucJp(sample: Uint8Array, partial = false): boolean {
  const b = sample;
  const end = Math.min(b.length, UTF16_SAMPLE);
  // A sequence cut by the end of the sample (or of the part looked at) counts as whole.
  const cut = partial || end < b.length;
  const inRange = (i: number, lo: number, hi: number) => (i >= end ? cut : b[i]! >= lo && b[i]! <= hi);
  let sequences = 0;
  for (let i = 0; i < end;) {
    const c = b[i]!;
    if (c < 0x80) i++;
    else if (c === 0x8e && inRange(i + 1, 0xa1, 0xdf)) i += 2;
    else if (c === 0x8f && inRange(i + 1, 0xa1, 0xfe) && inRange(i + 2, 0xa1, 0xfe)) i += 3;
    else if (c >= 0xa1 && c <= 0xfe && inRange(i + 1, 0xa1, 0xfe)) i += 2;
    else return false;
    if (c >= 0x80) sequences++;
  }
  return sequences >= 4;
}

/**
 * The encoding of a sample that madoguchi does not read, or null. `utf8Valid`: whether the
 * sample is valid UTF-8 (EUC-JP is looked for only when it is not).
 */
export function foreignEncoding(sample: Uint8Array, opts: { utf8Valid?: boolean; partial?: boolean } = {}): ForeignEncoding | null {
  const utf32 = utf32Kind(sample);
  if (utf32) return utf32;
  const utf16 = utf16Kind(sample);
  if (utf16) return utf16;
  if (hasUtf8Bom(sample)) return null;
  if (isIso2022Jp(sample)) return 'ISO-2022-JP';
  if (opts.utf8Valid === false && isEucJp(sample, opts.partial)) return 'EUC-JP';
  return null;
}

/** Throws the `TextEncodingError` naming a foreign encoding. */
function throwForeign(kind: ForeignEncoding): never {
  throw new TextEncodingError(FOREIGN_KINDS[kind], foreignEncodingMessage(kind));
}

/** A possibly cut multi-byte UTF-8 sequence at the end of a partial sample, left off before checking. */
function trimCutSequence(sample: Uint8Array): Uint8Array {
  let end = sample.length;
  let back = 0;
  while (back < 4 && end > 0 && (sample[end - 1]! & 0xc0) === 0x80) {
    end--;
    back++;
  }
  if (end > 0 && sample[end - 1]! >= 0xc0) end--;
  return sample.subarray(0, end);
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * Chooses the encoding of bytes from the setting, a BOM, or strict UTF-8 validity; else CP932.
 * `partial`: `sample` is the start of a longer file (a sequence may be cut at its end).
 * Throws `TextEncodingError` naming UTF-16, UTF-32, ISO-2022-JP or EUC-JP, whatever the setting.
 */
export function detectEncoding(sample: Uint8Array, opts: { setting?: EncodingSetting; partial?: boolean } = {}): DetectedEncoding {
  const setting = opts.setting ?? 'auto';
  const bom = hasUtf8Bom(sample);
  const utf8Valid = !bom && isUtf8(opts.partial ? trimCutSequence(sample) : sample);
  const foreign = foreignEncoding(sample, { utf8Valid, partial: opts.partial ?? false });
  if (foreign) throwForeign(foreign);
  if (setting === 'cp932') return { encoding: 'cp932', bom: false, reason: '設定により CP932' };
  if (bom) return { encoding: 'utf8', bom: true, reason: 'BOM 付き UTF-8' };
  if (setting === 'utf8') return { encoding: 'utf8', bom: false, reason: '設定により UTF-8' };
  return utf8Valid
    ? { encoding: 'utf8', bom: false, reason: 'UTF-8 として正しいバイト列' }
    : { encoding: 'cp932', bom: false, reason: 'UTF-8 として不正なため CP932' };
}

// ---------------------------------------------------------------------------------------------
// Decoding

const UTF8_INVALID = 'UTF-8 として不正なバイト列があります (文字コードの設定を確認してください)';

/** A streaming decoder: `write` each chunk, then `end`. UTF-8 is strict (throws `TextEncodingError`). */
export interface ChunkDecoder {
  write(chunk: Uint8Array): string;
  end(): string;
}

/**
 * The decoder for a detected encoding: strict UTF-8 (a BOM is dropped), or CP932 through
 * iconv-lite in `mapping`. CP932 never fails: bytes it cannot read become U+FFFD, for the
 * caller to report with their line.
 */
export function createDecoder(encoding: TextEncoding, mapping: Cp932Mapping = CP932_MAPPING): ChunkDecoder {
  if (encoding === 'utf8') {
    const d = new TextDecoder('utf-8', { fatal: true });
    const guard = (f: () => string) => {
      try {
        return f();
      } catch {
        throw new TextEncodingError('invalidUtf8', UTF8_INVALID);
      }
    };
    return { write: (chunk) => guard(() => d.decode(chunk, { stream: true })), end: () => guard(() => d.decode()) };
  }
  const d = iconv.getDecoder('cp932');
  return {
    write: (chunk) => applyCp932Mapping(d.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)), mapping),
    end: () => applyCp932Mapping(d.end() ?? '', mapping),
  };
}

/** CP932 bytes as text in the one mapping (U+FFFD for bytes it cannot read). */
export function decodeCp932(bytes: Uint8Array, mapping: Cp932Mapping = CP932_MAPPING): string {
  const d = createDecoder('cp932', mapping);
  return d.write(bytes) + d.end();
}

export interface DecodedText {
  /** Without the BOM. */
  text: string;
  encoding: DetectedEncoding;
}

/**
 * A whole file's bytes as text: detected (or set) encoding, BOM dropped, strict. Throws
 * `TextEncodingError` for UTF-16, UTF-32, ISO-2022-JP, EUC-JP, invalid UTF-8 under a UTF-8 BOM or setting, and bytes that
 * CP932 cannot read either (naming their line).
 */
export function decodeText(bytes: Uint8Array, opts: { setting?: EncodingSetting; mapping?: Cp932Mapping } = {}): DecodedText {
  const encoding = detectEncoding(bytes, opts.setting ? { setting: opts.setting } : {});
  if (encoding.encoding === 'utf8') {
    try {
      const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(hasUtf8Bom(bytes) ? bytes.subarray(3) : bytes);
      return { text, encoding };
    } catch {
      throw new TextEncodingError(
        'invalidUtf8',
        encoding.bom ? 'BOM 付き UTF-8 のファイルですが、UTF-8 として不正なバイト列があります' : UTF8_INVALID,
      );
    }
  }
  const text = decodeCp932(bytes, opts.mapping);
  const bad = text.indexOf('\uFFFD');
  if (bad >= 0) {
    const line = text.slice(0, bad).split(/\r\n|\r|\n/).length;
    throw new TextEncodingError('undecodable', 'UTF-8 としても CP932 (Shift_JIS) としても読めない文字があります', line);
  }
  return { text, encoding };
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** Text as UTF-8 with a BOM: how files meant for Excel or Notepad on Windows are written. */
export function utf8WithBom(text: string): Buffer {
  return Buffer.from('\uFEFF' + text, 'utf8');
}

/** A character CP932 cannot represent, named for the person who has to change it. */
export class UnencodableCharacterError extends Error {
  readonly status = 422;
  readonly expose = true;
  constructor(readonly character: string) {
    super(`CP932 (Shift_JIS) で表せない文字があります:「${character}」(${codePointName(character)})`);
    this.name = 'UnencodableCharacterError';
  }
}

/**
 * The first character of `text` that CP932 cannot encode, or null. iconv-lite writes `?` (0x3F)
 * for those, and 0x3F is never a CP932 trail byte, so counting `?` finds them.
 */
export function firstUnencodable(text: string): string | null {
  const prepared = toCp932Forms(text);
  const bytes = iconv.encode(prepared, 'cp932');
  let q = 0;
  for (const b of bytes) if (b === 0x3f) q++;
  if (q === prepared.split('?').length - 1) return null;
  for (const c of text) if (c !== '?' && iconv.encode(toCp932Forms(c), 'cp932').includes(0x3f)) return c;
  return null;
}

/** Text as CP932, accepting both forms of each twin; throws `UnencodableCharacterError` rather than write `?`. */
export function encodeCp932(text: string): Buffer {
  const bad = firstUnencodable(text);
  if (bad !== null) throw new UnencodableCharacterError(bad);
  return iconv.encode(toCp932Forms(text), 'cp932');
}
