import { csvText, parseCsvObjects, readTextFile } from '../../text/index.js';

/**
 * Legacy 外字: CP932 user-defined area F040–F9FC, which decoders turn into U+E000–U+E757.
 * The municipality's 同定マップ maps each legacy code to its Unicode form (an MJ character,
 * possibly with an IVS selector, or a plane-16 code point for 行政事務標準文字 additions).
 */
export const EUDC_FIRST = 0xe000;
export const EUDC_LAST = 0xe757;

export function sjisToEudc(sjis: number): number {
  const lead = sjis >> 8;
  const trail = sjis & 0xff;
  if (lead < 0xf0 || lead > 0xf9 || trail < 0x40 || trail > 0xfc || trail === 0x7f)
    throw new Error(`not a CP932 外字 code: ${sjis.toString(16)}`);
  return EUDC_FIRST + (lead - 0xf0) * 188 + (trail - 0x40 - (trail > 0x7f ? 1 : 0));
}

export function eudcToSjis(cp: number): number {
  if (cp < EUDC_FIRST || cp > EUDC_LAST) throw new Error(`not a 外字 code point: U+${cp.toString(16)}`);
  const index = cp - EUDC_FIRST;
  const lead = 0xf0 + Math.floor(index / 188);
  let trail = 0x40 + (index % 188);
  if (trail >= 0x7f) trail += 1;
  return (lead << 8) | trail;
}

export interface GaijiEntry {
  sjis: number;
  text: string;
  mjName?: string;
  note?: string;
}

export const GAIJI_MAP_HEADER = ['外字コード', 'Unicode', '文字', 'MJ文字図形名', '備考'] as const;

/** `U+9089 U+E0101` → 邉󠄁 */
export function parseCodePoints(s: string): string {
  return s
    .trim()
    .split(/\s+/)
    .map((t) => {
      const m = /^U\+([0-9A-Fa-f]{4,6})$/.exec(t);
      if (!m) throw new Error(`Unicode の書き方が不正です: ${t} (例: U+9089 U+E0101)`);
      return String.fromCodePoint(parseInt(m[1]!, 16));
    })
    .join('');
}

export function formatCodePoints(text: string): string {
  return [...text].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(' ');
}

export interface GaijiResult {
  text: string;
  /** Legacy characters the map does not know: kept as they are and counted. */
  unmapped: number;
}

export class GaijiMap {
  private readonly byCodePoint = new Map<number, string>();

  constructor(readonly entries: readonly GaijiEntry[] = []) {
    for (const e of entries) this.byCodePoint.set(sjisToEudc(e.sjis), e.text);
  }

  get size(): number {
    return this.byCodePoint.size;
  }

  /**
   * Reads the 同定マップ CSV (header 外字コード,Unicode,文字,MJ文字図形名,備考). UTF-8 as written;
   * the text module also reads it after an Excel save as CP932 (only the Unicode column counts).
   */
  static load(file: string): GaijiMap {
    let text: string;
    try {
      text = readTextFile(file).text;
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
    const records = parseCsvObjects(text, { skip_empty_lines: true });
    const entries = records.map((r, i) => {
      const line = i + 2;
      const code = (r['外字コード'] ?? '').trim();
      if (!/^[0-9A-Fa-f]{4}$/.test(code)) throw new Error(`${file}:${line}: 外字コードは 4 桁の16進数です (${code})`);
      let text: string;
      try {
        text = parseCodePoints(r['Unicode'] ?? '');
      } catch (e) {
        throw new Error(`${file}:${line}: ${(e as Error).message}`);
      }
      const entry: GaijiEntry = { sjis: parseInt(code, 16), text };
      if (r['MJ文字図形名']) entry.mjName = r['MJ文字図形名'];
      if (r['備考']) entry.note = r['備考'];
      try {
        sjisToEudc(entry.sjis);
      } catch (e) {
        throw new Error(`${file}:${line}: ${(e as Error).message}`);
      }
      return entry;
    });
    return new GaijiMap(entries);
  }

  apply(value: string): GaijiResult {
    let unmapped = 0;
    let out = '';
    let last = 0;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < EUDC_FIRST || c > EUDC_LAST) continue;
      const mapped = this.byCodePoint.get(c);
      if (mapped === undefined) {
        unmapped++;
        continue;
      }
      out += value.slice(last, i) + mapped;
      last = i + 1;
    }
    return { text: last === 0 ? value : out + value.slice(last), unmapped };
  }

  toCsv(): string {
    return csvText(
      GAIJI_MAP_HEADER,
      this.entries.map((e) => [e.sjis.toString(16).toUpperCase(), formatCodePoints(e.text), e.text, e.mjName ?? '', e.note ?? '']),
    );
  }
}
