import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { crc32 as zlibCrc32 } from 'node:zlib';
import codec from '../../server/static/pre-entry/codec.js';
import { formatWareki } from '../../server/src/domain/wareki.js';
import { repoRoot } from '../helpers/paths.js';

type Result = ReturnType<ReturnType<typeof codec.decoder>['push']>;

const codePoints = (s: string): number[] => [...s].map((c) => c.codePointAt(0)!);
/** 髙 (U+9AD9), 𠮷 (U+20BB7, outside the BMP) and 葛󠄀 (U+845B with the IVS selector U+E0100). */
const TAKA = '\u9AD9';
const YOSHI = '\u{20BB7}';
const KATSURA_IVS = '\u845B\u{E0100}';

const moveIn = {
  type: 'moveIn',
  effectiveDate: '2026-04-01',
  previousAddress: '東京都千代田区千代田一丁目1番1号 パークハウス千代田1203号室',
  newAddress: 'みどり町本町三丁目5番12号 グリーンハイツ201号室',
  honseki: '東京都千代田区千代田一丁目1番',
  hittousha: `${TAKA}橋 良夫`,
  members: [
    { name: `${TAKA}橋 良夫`, nameKana: 'タカハシ ヨシオ', birthDate: '1985-01-02', sex: '1', relationship: '世帯主', head: true },
    { name: `${KATSURA_IVS}城 花子`, nameKana: 'カツラギ ハナコ', birthDate: '1987-03-04', sex: '2', relationship: '妻' },
    { name: `${YOSHI}田 一`, nameKana: 'ヨシダ ハジメ', birthDate: '2015-05-06', sex: '1', relationship: '子' },
  ],
} as const;
const relocation = {
  type: 'relocation',
  effectiveDate: '2026-03-20',
  previousAddress: 'みどり町本町一丁目2番3号',
  newAddress: `みどり町${YOSHI}野二丁目4番5号`,
  members: [{ name: `${YOSHI}野 ${TAKA}子`, nameKana: 'ヨシノ タカコ', birthDate: '1960-12-31', sex: '2' }],
} as const;
const moveOut = {
  type: 'moveOut',
  effectiveDate: '2026-05-10',
  nextAddress: `大阪府大阪市北区梅田${TAKA}町1-1`,
  members: [
    { name: `${KATSURA_IVS}西 太郎`, birthDate: '1975-04-01', sex: '1', relationship: '世帯主' },
    { name: `${KATSURA_IVS}西 次郎`, birthDate: '2019-05-01', sex: '1', relationship: '子' },
  ],
} as const;
const certificates = {
  type: 'certificateRequest',
  relation: 'self',
  requester: { name: `${TAKA}${YOSHI}${KATSURA_IVS}`, nameKana: 'タカヨシカツラ', birthDate: '1989-01-08' },
  certificates: [
    { type: 'residentCopy', copies: 2, purpose: 'bank' },
    { type: 'incomeTax', copies: 1, purpose: 'employment', year: 2025 },
  ],
} as const;

/** The parts of a payload made by hand (for data the encoder refuses to make). */
function rawParts(json: string, id = 'AAAAAA', chunk = 300, version = 1): string[] {
  const bytes = codec.utf8Encode(json);
  const body = codec.base32Encode(bytes);
  const total = Math.max(1, Math.ceil(body.length / chunk));
  return Array.from({ length: total }, (_, i) => {
    const head = `MDG${version}-${id}-${i + 1}-${total}-${codec.crc32(bytes)}-${body.slice(i * chunk, (i + 1) * chunk)}`;
    return `${head}-${codec.crc32(head)}`;
  });
}
const pushAll = (parts: readonly string[]): Result[] => {
  const d = codec.decoder();
  return parts.map((p) => d.push(p));
};
const last = <T>(xs: readonly T[]): T => xs[xs.length - 1]!;
const errorOf = (r: Result) => {
  if (r.status !== 'error') throw new Error(`expected an error, got ${r.status}`);
  return r.error;
};

describe('pre-entry QR payload codec (static/pre-entry/codec.js)', () => {
  it('round-trips each notice type and a certificate request exactly, code point for code point (髙, 𠮷, IVS)', () => {
    for (const data of [moveIn, relocation, moveOut, certificates]) {
      const parts = codec.encode(data);
      const r = last(pushAll(parts));
      expect(r.status, data.type).to.equal('complete');
      if (r.status !== 'complete') continue;
      expect(r.data).to.deep.equal(data);
      expect(JSON.stringify(r.data)).to.equal(JSON.stringify(data));
    }
    const r = last(pushAll(codec.encode(moveIn)));
    if (r.status !== 'complete') throw new Error(r.status);
    expect(codePoints(r.data.members![1]!.name)).to.deep.equal([0x845b, 0xe0100, 0x57ce, 0x20, 0x82b1, 0x5b50]);
    expect(codePoints(r.data.members![2]!.name)[0]).to.equal(0x20bb7);
    expect(codePoints(r.data.hittousha!)[0]).to.equal(0x9ad9);
  });

  it('makes codes a keyboard-mode scanner types the same on any layout: A–Z, 0–9 and "-", at most MAX_PART_CHARS each', () => {
    for (const data of [moveIn, relocation, moveOut, certificates]) {
      for (const p of codec.encode(data)) {
        expect(p).to.match(/^MDG1-[A-Z2-7]{6}-\d{1,2}-\d{1,2}-[0-9A-F]{8}-[A-Z2-7]+-[0-9A-F]{8}$/);
        expect(p.length).to.be.at.most(codec.MAX_PART_CHARS);
      }
    }
    expect(codec.MAX_PART_CHARS).to.be.at.most(800);
  });

  it('splits a large household into several codes (1/n … n/n) and assembles them in any order, duplicates ignored', () => {
    const big = {
      ...moveIn,
      members: Array.from({ length: 12 }, (_, i) => ({
        ...moveIn.members[i % 3]!,
        head: i === 0 ? true : undefined,
        name: `${TAKA}橋 ${i + 1}郎`,
      })).map((m) => JSON.parse(JSON.stringify(m)) as Record<string, unknown>),
    };
    const parts = codec.encode(big, { id: 'K7QX2P' });
    expect(parts.length).to.be.within(4, codec.MAX_PARTS);
    parts.forEach((p, i) => expect(p.startsWith(`MDG1-K7QX2P-${i + 1}-${parts.length}-`)).to.equal(true));
    const orders = [[...parts].reverse(), [parts[2]!, parts[0]!, ...parts.slice(3), parts[1]!]];
    for (const order of orders) {
      const d = codec.decoder();
      const results = order.map((p) => d.push(p));
      results.slice(0, -1).forEach((r, i) => {
        expect(r.status).to.equal('progress');
        if (r.status === 'progress')
          expect([r.received, r.total, r.missing.length]).to.deep.equal([i + 1, parts.length, parts.length - i - 1]);
      });
      const done = last(results);
      expect(done.status).to.equal('complete');
      if (done.status === 'complete') expect(done.data).to.deep.equal(big);
    }
    const d = codec.decoder();
    d.push(parts[0]!);
    const again = d.push(parts[0]!);
    expect(again.status).to.equal('duplicate');
    if (again.status === 'duplicate') expect(again.received).to.equal(1);
    expect(d.pending()).to.deep.include({ id: 'K7QX2P', received: 1, total: parts.length });
  });

  it('refuses a code of another set while one is being read, and still completes the first set', () => {
    const a = codec.encode(moveIn, { id: 'AAAAAA', maxPartChars: 200 });
    const b = codec.encode(moveOut, { id: 'BBBBBB', maxPartChars: 200 });
    expect(a.length).to.be.greaterThan(2);
    const d = codec.decoder();
    expect(d.push(a[0]!).status).to.equal('progress');
    const mixed = errorOf(d.push(b[1]!));
    expect(mixed.code).to.equal('mixed');
    expect(mixed.message).to.include('別の組の QR コードが混ざっています');
    // The same id with another checksum (a second code set made from the same page) is another set too.
    const sameId = codec.encode(relocation, { id: 'AAAAAA', maxPartChars: 200 });
    expect(errorOf(d.push(sameId[0]!)).code).to.equal('mixed');
    const rest = a.slice(1).map((p) => d.push(p));
    const done = last(rest);
    expect(done.status).to.equal('complete');
    if (done.status === 'complete') expect(done.data).to.deep.equal(moveIn);
  });

  it('refuses a set whose data does not match its checksum, forgetting the set (nothing partial)', () => {
    const parts = rawParts(JSON.stringify(moveOut), 'CCCCCC', 100);
    // Change one character of the data and give the code a matching code checksum: only the
    // whole-data CRC-32 can tell.
    const second = parts[1]!;
    const fields = second.split('-');
    const data = fields[5]!;
    fields[5] = (data[0] === 'A' ? 'B' : 'A') + data.slice(1);
    const head = fields.slice(0, 6).join('-');
    const forged = [parts[0]!, `${head}-${codec.crc32(head)}`, ...parts.slice(2)];
    const d = codec.decoder();
    const results = forged.map((p) => d.push(p));
    const e = errorOf(last(results));
    expect(e.code).to.equal('checksum');
    expect(e.message).to.include('チェックサムが合いません');
    expect(d.pending()).to.equal(null);
    expect(results.some((r) => r.status === 'complete')).to.equal(false);
  });

  it('refuses a damaged or cut code at once, naming it, and keeps the codes already read', () => {
    const parts = codec.encode(moveIn, { maxPartChars: 200 });
    const d = codec.decoder();
    d.push(parts[0]!);
    const cut = errorOf(d.push(parts[1]!.slice(0, -3)));
    expect(cut.code).to.equal('truncated');
    const changed = parts[1]!.replace(
      /-([A-Z2-7])([A-Z2-7]+)-([0-9A-F]{8})$/,
      (_, c: string, rest: string, sum: string) => `-${c === 'A' ? 'B' : 'A'}${rest}-${sum}`,
    );
    const bad = errorOf(d.push(changed));
    expect(bad.message).to.equal(`2/${parts.length} の QR コードの読み取りに誤りがあります。もう一度読み取ってください。`);
    expect(d.pending()!.received).to.equal(1);
    const done = last(parts.slice(1).map((p) => d.push(p)));
    expect(done.status).to.equal('complete');
  });

  it('refuses a code of a newer or older payload version with a clear Japanese message', () => {
    const newer = errorOf(codec.decoder().push(rawParts(JSON.stringify(moveIn), 'AAAAAA', 2000, 2)[0]!));
    expect(newer.code).to.equal('newerVersion');
    expect(newer.message).to.match(/^この QR コードは新しい版の事前入力ページで作られています/);
    const older = errorOf(codec.decoder().push(codec.encode(moveIn)[0]!.replace(/^MDG1/, 'MDG0')));
    expect(older.code).to.equal('olderVersion');
    const other = errorOf(codec.decoder().push('https://www.city.example.lg.jp/'));
    expect(other.code).to.equal('notOurs');
    expect(other.message).to.equal('まどぐちの事前入力の QR コードではありません。');
  });

  it('reads codes as a keyboard-mode scanner may deliver them: Caps Lock, full-width (IME 全角英数), line ends; kana is refused', () => {
    const parts = codec.encode(relocation);
    const deliveries = [
      parts.map((p) => p.toLowerCase()),
      parts.map((p) => `${p}\r\n`),
      parts.map((p) => p.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0))),
    ];
    for (const delivered of deliveries) {
      const r = last(pushAll(delivered));
      expect(r.status).to.equal('complete');
      if (r.status === 'complete') expect(r.data).to.deep.equal(relocation);
    }
    const ime = errorOf(codec.decoder().push('ｍでぐ１ーかき'));
    expect(ime.code).to.equal('ime');
    expect(ime.message).to.include('日本語入力 (IME) がオン');
  });

  it('refuses an unknown procedure and data failing validation, each with a Japanese message per field', () => {
    const unknown = errorOf(last(pushAll(rawParts(JSON.stringify({ type: 'birth', members: [{ name: '窓口 一' }] })))));
    expect(unknown.code).to.equal('unknownType');
    expect(unknown.message).to.include('この QR コードの手続きは、この窓口では扱えません');

    const wrong = {
      type: 'moveIn',
      effectiveDate: '2026-02-30',
      previousAddress: '東京都\n千代田区',
      newAddress: 'みどり町本町1-1',
      members: [
        { name: '窓口 一', birthDate: '1985-13-01', sex: '3', head: true },
        { name: '', sex: '1', head: true },
      ],
      extra: 1,
    };
    const e = errorOf(last(pushAll(rawParts(JSON.stringify(wrong)))));
    expect(e.code).to.equal('invalid');
    expect(e.errors!.map((x) => `${x.field} ${x.code}`)).to.deep.equal([
      'extra unknownField',
      'previousAddress text',
      'effectiveDate date',
      'members.0.birthDate date',
      'members.0.sex sex',
      'members.1.name required',
      'members head',
    ]);
    expect(e.message).to.include('1 人目の生年月日が正しい日付ではありません');
    expect(e.message).to.include('1 人目の性別は 1 (男) か 2 (女) です');
    expect(e.message).to.include('異動日が正しい日付ではありません');

    const lines = {
      ...certificates,
      relation: 'friend',
      certificates: [
        { type: 'residentCopy', copies: 0 },
        { type: '住民票', copies: 1, year: 25 },
      ],
    };
    expect(codec.validate(lines).map((x) => `${x.field} ${x.code}`)).to.deep.equal([
      'relation id',
      'certificates.0.copies copies',
      'certificates.1.type id',
      'certificates.1.year year',
    ]);
    expect(codec.validate({ type: 'moveOut', members: [] }).map((x) => x.message)).to.deep.equal([
      '転出先の住所がありません',
      '対象者がありません',
    ]);
    // The encoder refuses the same data: a phone never shows a code the counter would refuse.
    try {
      codec.encode(wrong);
      expect.fail('encoded invalid data');
    } catch (err) {
      expect((err as { code: string }).code).to.equal('invalid');
      expect((err as { errors: unknown[] }).errors).to.have.length(7);
    }
  });

  it('refuses oversize data and oversize codes without crashing', () => {
    const long = 'あ'.repeat(100);
    const huge = {
      type: 'moveIn',
      previousAddress: long,
      newAddress: long,
      members: Array.from({ length: 20 }, () => ({ name: long, nameKana: long, relationship: '子' })),
    };
    expect(codec.validate(huge)).to.deep.equal([]);
    try {
      codec.encode(huge);
      expect.fail('encoded oversize data');
    } catch (err) {
      expect((err as { code: string }).code).to.equal('tooLarge');
      expect((err as Error).message).to.include('QR コードにできません');
    }
    expect(codec.validate({ ...huge, members: Array.from({ length: 21 }, () => ({ name: 'a' })) }).map((x) => x.code)).to.deep.equal([
      'tooMany',
    ]);
    expect(codec.validate({ ...moveIn, newAddress: 'x'.repeat(201) }).map((x) => x.code)).to.deep.equal(['tooLong']);

    const d = codec.decoder();
    expect(errorOf(d.push(`MDG1-AAAAAA-1-40-00000000-${'A'.repeat(100)}-00000000`)).code).to.equal('tooLarge');
    expect(errorOf(d.push(`MDG1-${'A'.repeat(1_000_000)}`)).code).to.equal('notOurs');
    expect(errorOf(d.push('MDG1-AAAAAA-3-2-00000000-AAAA-00000000')).code).to.equal('truncated');
    expect(errorOf(d.push(undefined as unknown as string)).code).to.equal('notOurs');
    expect(d.pending()).to.equal(null);
  });

  it('UTF-8 is strict both ways, base32 refuses changed tails, CRC-32 is zlib’s', () => {
    const text = `${TAKA}${YOSHI}${KATSURA_IVS} ABC ç €`;
    expect(codec.utf8Encode(text)).to.deep.equal([...Buffer.from(text, 'utf8')]);
    expect(codec.utf8Decode(Buffer.from(text, 'utf8'))).to.equal(text);
    expect(codec.utf8Encode('\ud800x')).to.deep.equal([0xef, 0xbf, 0xbd, 0x78]);
    for (const bad of [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe3, 0x81], [0x80]])
      expect(codec.utf8Decode(bad), JSON.stringify(bad)).to.equal(null);
    for (const n of [0, 1, 2, 3, 4, 5, 6, 7, 31, 32, 33]) {
      const bytes = Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);
      expect(codec.base32Decode(codec.base32Encode(bytes))).to.deep.equal(bytes);
      expect(codec.base32Encode(bytes)).to.equal(rfc4648Base32(bytes));
    }
    expect(codec.base32Decode('MZ')).to.equal(null); // "f" is MY: the last bits of Z are not zero
    expect(codec.base32Decode('M')).to.equal(null);
    expect(codec.base32Decode('m0')).to.equal(null);
    for (const s of ['', 'a', '123456789', text])
      expect(codec.crc32(codec.utf8Encode(s))).to.equal(zlibCrc32(Buffer.from(s, 'utf8')).toString(16).toUpperCase().padStart(8, '0'));
  });

  it('writes 和暦 exactly as the server does (era boundaries, 元年)', () => {
    const dates = [
      '1868-01-25',
      '1912-07-29',
      '1912-07-30',
      '1926-12-24',
      '1926-12-25',
      '1989-01-07',
      '1989-01-08',
      '2019-04-30',
      '2019-05-01',
      '2020-01-01',
      '2026-11-20',
    ];
    for (const d of dates) expect(codec.formatWareki(d), d).to.equal(formatWareki(d));
    expect(codec.formatWareki('2019-05-01')).to.equal('令和元年5月1日');
    expect(codec.isCalendarDate('2024-02-29')).to.equal(true);
    expect(codec.isCalendarDate('2025-02-29')).to.equal(false);
  });

  it('the page, the codec and the counter script are plain ES5 (old phones, thin clients)', () => {
    const require = createRequire(import.meta.url);
    const espree = require('espree') as { parse(code: string, options: object): unknown };
    for (const file of ['server/static/pre-entry/codec.js', 'server/static/pre-entry/pre-entry.js', 'server/static/pre-entry-counter.js']) {
      const code = readFileSync(path.join(repoRoot, file), 'utf8');
      expect(() => espree.parse(code, { ecmaVersion: 5, sourceType: 'script' }), file).not.to.throw();
    }
  });
});

/** RFC 4648 base32 without padding, written out plainly (the reference for the codec's). */
function rfc4648Base32(bytes: number[]): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bits = bytes.map((b) => b.toString(2).padStart(8, '0')).join('');
  let out = '';
  for (let i = 0; i < bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return out;
}
