import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { LinkageFileError, openLinkageFile } from '../../server/src/linkage/forward/reader.js';
import {
  decodeCsv,
  detectEncoding,
  detectFileEncoding,
  foreignEncodingMessage,
  TextEncodingError,
  type ForeignEncoding,
} from '../../server/src/text/index.js';
import { configDir, tempDir } from '../helpers/paths.js';

/** Unexpected encodings are named in the error (issue 16), never read as CP932 or UTF-8 garbage. */
const TEXT =
  '宛名番号,氏名,フリガナ,住所\r\n000000000001,山田 太郎,ヤマダ タロウ,緑ケ丘2-3-4\r\n000000000002,髙橋 花子,タカハシ ハナコ,本町1\r\n';
const HEADER_ONLY = '宛名番号,支援措置区分,支援措置開始年月日,支援措置終了年月日,備考\r\n';

const utf16le = (t: string) => Buffer.from(t, 'utf16le');
const utf16be = (t: string) => Buffer.from(t, 'utf16le').swap16();
const BOM16LE = Buffer.from([0xff, 0xfe]);
const BOM16BE = Buffer.from([0xfe, 0xff]);
const utf32 = (t: string, bom = false, be = false) => iconv.encode(t, be ? 'utf32be' : 'utf32le', { addBOM: bom });

/** ISO-2022-JP as a mail client writes it (iconv-lite has no encoder for it): EUC-JP's bytes less 0x80 between ESC $ B and ESC ( B. */
function iso2022jp(t: string): Buffer {
  const euc = iconv.encode(t, 'euc-jp');
  const out: number[] = [];
  let kanji = false;
  for (let i = 0; i < euc.length;) {
    if (euc[i]! >= 0xa1) {
      if (!kanji) out.push(0x1b, 0x24, 0x42);
      kanji = true;
      out.push(euc[i]! - 0x80, euc[i + 1]! - 0x80);
      i += 2;
    } else {
      if (kanji) out.push(0x1b, 0x28, 0x42);
      kanji = false;
      out.push(euc[i]!);
      i++;
    }
  }
  return Buffer.from(out);
}

function encodingError(f: () => unknown): TextEncodingError {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(TextEncodingError);
    return e as TextEncodingError;
  }
  throw new Error('expected a TextEncodingError');
}

const cases: [string, Buffer, ForeignEncoding, string, string][] = [
  ['UTF-16LE with BOM', Buffer.concat([BOM16LE, utf16le(TEXT)]), 'UTF-16LE', 'utf16', 'UTF-16 (リトルエンディアン)'],
  ['UTF-16LE without BOM', utf16le(TEXT), 'UTF-16LE', 'utf16', 'UTF-16 (リトルエンディアン)'],
  ['UTF-16BE with BOM', Buffer.concat([BOM16BE, utf16be(TEXT)]), 'UTF-16BE', 'utf16', 'UTF-16 (ビッグエンディアン)'],
  ['UTF-16BE without BOM', utf16be(TEXT), 'UTF-16BE', 'utf16', 'UTF-16 (ビッグエンディアン)'],
  ['UTF-32LE with BOM', utf32(TEXT, true), 'UTF-32LE', 'utf32', 'UTF-32 (リトルエンディアン)'],
  ['UTF-32LE without BOM', utf32(TEXT), 'UTF-32LE', 'utf32', 'UTF-32 (リトルエンディアン)'],
  ['UTF-32BE with BOM', utf32(TEXT, true, true), 'UTF-32BE', 'utf32', 'UTF-32 (ビッグエンディアン)'],
  ['UTF-32BE without BOM', utf32(TEXT, false, true), 'UTF-32BE', 'utf32', 'UTF-32 (ビッグエンディアン)'],
  ['ISO-2022-JP', iso2022jp(TEXT), 'ISO-2022-JP', 'iso2022jp', 'ISO-2022-JP (JIS コード)'],
  ['EUC-JP', iconv.encode(TEXT, 'euc-jp'), 'EUC-JP', 'eucjp', 'EUC-JP'],
];

describe('text module: unexpected encodings are named', () => {
  for (const [label, bytes, encoding, kind, name] of cases) {
    it(`${label}: TextEncodingError naming ${name}, whatever the setting`, () => {
      for (const setting of ['auto', 'utf8', 'cp932'] as const) {
        const e = encodingError(() => detectEncoding(bytes, { setting }));
        expect(e, setting).to.include({ kind, status: 400, reason: foreignEncodingMessage(encoding) });
        expect(e.reason).to.equal(`${name} のファイルは読めません。UTF-8 か CP932 (Shift_JIS) で保存し直してください`);
      }
      // Uploads (staff import, 転出証明書情報) decode through the same detection.
      expect(encodingError(() => decodeCsv(bytes)).kind).to.equal(kind);
    });
  }

  it('finds UTF-16 without BOM by its NUL bytes in the first KB, even in a long file', () => {
    const long = utf16le(TEXT.repeat(200));
    expect(long.length).to.be.greaterThan(8192);
    expect(encodingError(() => detectEncoding(long, { partial: true })).kind).to.equal('utf16');
  });

  it('still reads UTF-8 (with and without BOM) and CP932, including half-width kana and 〜 ～', () => {
    expect(detectEncoding(Buffer.from(TEXT, 'utf8')).encoding).to.equal('utf8');
    expect(detectEncoding(Buffer.from('\uFEFF' + TEXT, 'utf8')).encoding).to.equal('utf8');
    expect(detectEncoding(iconv.encode(TEXT, 'cp932')).encoding).to.equal('cp932');
    // Half-width kana in even runs only would be valid EUC-JP; the kanji header keeps it CP932.
    expect(detectEncoding(iconv.encode('氏名,フリガナ\r\nｶﾅ,ﾀﾛｳﾀ\r\n', 'cp932')).encoding).to.equal('cp932');
    expect(detectEncoding(iconv.encode('ｱｲ,ｳｴ\r\n', 'cp932')).encoding).to.equal('cp932'); // fewer than four pairs
    expect(detectEncoding(iconv.encode('株式会社～本店,１〜３\r\n', 'cp932')).encoding).to.equal('cp932');
    expect(detectEncoding(Buffer.from('abc,123\r\n')).encoding).to.equal('utf8');
    expect(detectEncoding(Buffer.alloc(0)).encoding).to.equal('utf8');
  });

  describe('files', () => {
    let t: ReturnType<typeof tempDir>;
    before(() => (t = tempDir()));
    after(() => t.remove());

    it('detectFileEncoding names each encoding', async () => {
      for (const [label, bytes, , kind] of cases) {
        const file = path.join(t.dir, `${kind}-${label.replace(/\W+/g, '_')}.csv`);
        writeFileSync(file, bytes);
        const e = await detectFileEncoding(file).then(
          () => null,
          (err: unknown) => err,
        );
        expect(e, label).to.be.instanceOf(TextEncodingError);
        expect((e as TextEncodingError).kind, label).to.equal(kind);
      }
    });

    it('a linkage file in UTF-32 or ISO-2022-JP is refused with the encoding named, not a CSV or header message', async () => {
      const registry = LayoutRegistry.load(configDir);
      for (const [bytes, encoding] of [
        [utf32(HEADER_ONLY, true), 'UTF-32LE'],
        [iso2022jp(HEADER_ONLY), 'ISO-2022-JP'],
        [iconv.encode(HEADER_ONLY, 'euc-jp'), 'EUC-JP'],
        [utf16le(HEADER_ONLY), 'UTF-16LE'],
      ] as const) {
        const file = path.join(t.dir, '001o013.csv');
        writeFileSync(file, bytes);
        const e = await openLinkageFile(file, '001o013', registry).then(
          () => null,
          (err: unknown) => err,
        );
        expect(e, encoding).to.be.instanceOf(LinkageFileError);
        expect((e as LinkageFileError).issues, encoding).to.deep.equal([
          { line: 1, reason: foreignEncodingMessage(encoding), fatal: true },
        ]);
      }
    });
  });
});
