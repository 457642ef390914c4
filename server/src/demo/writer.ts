import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import iconv from 'iconv-lite';
import { csvField } from '../domain/text.js';
import type { Layout } from '../linkage/forward/layouts.js';

export type Encoding = 'utf8' | 'cp932';

/**
 * Legacy 外字 as an old core system would export them in CP932: each sequence that CP932 cannot
 * hold (a plane-2 character, an IVS sequence, a plane-16 GJ code point) has a code in the
 * user-defined area F040–F9FC. The generator writes the matching 同定マップ.
 */
export const legacyGaiji: readonly { sjis: number; text: string; mjName: string; note: string }[] = [
  { sjis: 0xf040, text: '𠮷', mjName: 'MJ013845', note: 'つちよし' },
  { sjis: 0xf041, text: '邉\u{E0101}', mjName: '', note: '邉 (IVS E0101)' },
  { sjis: 0xf042, text: '葛\u{E0100}', mjName: '', note: '葛 (IVS E0100)' },
  { sjis: 0xf043, text: '辻\u{E0100}', mjName: '', note: '一点しんにょう辻 (IVS E0100)' },
  { sjis: 0xf044, text: '\u{10DE92}', mjName: '', note: '行政事務標準文字 追加文字 (第16面私用領域)' },
  { sjis: 0xf045, text: '𡈽', mjName: '', note: '𡈽 (つちや)' },
];

const gaijiBytes = new Map(legacyGaiji.map((g) => [g.text, Buffer.from([g.sjis >> 8, g.sjis & 0xff])]));
const gaijiPattern = new RegExp(legacyGaiji.map((g) => g.text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gu');
// The ranges include variation selectors on purpose: any of them needs the 外字 path.
// eslint-disable-next-line no-misleading-character-class
const NEEDS_CARE = /[\u{E000}-\u{F8FF}\u{10000}-\u{10FFFF}\u{FE00}-\u{FE0F}]/u;

/** Encodes to CP932, writing 外字 through the legacy table and refusing any silent "?". */
export function encodeCp932(text: string): Buffer {
  const parts: Buffer[] = [];
  let last = 0;
  if (NEEDS_CARE.test(text)) {
    for (const m of text.matchAll(gaijiPattern)) {
      parts.push(strictCp932(text.slice(last, m.index)));
      parts.push(gaijiBytes.get(m[0])!);
      last = m.index! + m[0].length;
    }
  }
  parts.push(strictCp932(text.slice(last)));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

function strictCp932(text: string): Buffer {
  const buf = iconv.encode(text, 'cp932');
  // 0x3F never occurs as a trail byte in Shift_JIS, so counting it finds substituted characters.
  let q = 0;
  for (const b of buf) if (b === 0x3f) q++;
  const expected = text.split('?').length - 1;
  if (q !== expected) {
    const bad = [...text].find((c) => c !== '?' && iconv.encode(c, 'cp932').includes(0x3f));
    throw new Error(`CP932 で表せない文字があります: ${bad} (U+${bad?.codePointAt(0)?.toString(16).toUpperCase()})`);
  }
  return buf;
}

export type RowValues = Record<string, unknown>;

function format(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v);
}

/** Writes one linkage CSV in the column order of its layout (CRLF, header row first). */
export class SpecWriter {
  private readonly out: WriteStream;
  private pending = '';
  rows = 0;
  readonly file: string;

  constructor(
    private readonly layout: Layout,
    file: string,
    private readonly encoding: Encoding,
    private readonly differential = false,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.file = file;
    this.out = createWriteStream(file);
    const headers = layout.columns.map((c) => c.header);
    if (differential) headers.unshift(layout.processingKindHeader);
    this.pending = headers.map(csvField).join(',') + '\r\n';
  }

  async write(values: RowValues, processingKind?: '1' | '2' | '3'): Promise<void> {
    const fields = this.layout.columns.map((c) => csvField(format(values[c.column ?? c.header])));
    if (this.differential) fields.unshift(processingKind ?? '1');
    this.pending += fields.join(',') + '\r\n';
    this.rows++;
    if (this.pending.length > 1 << 16) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.pending) return;
    const buf = this.encoding === 'utf8' ? Buffer.from(this.pending, 'utf8') : encodeCp932(this.pending);
    this.pending = '';
    if (!this.out.write(buf)) await once(this.out, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}
