import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import iconv from 'iconv-lite';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { LinkageFileError, openLinkageFile, type ParsedRow } from '../../server/src/linkage/forward/reader.js';
import { MOVE_OUT_CERTIFICATE_COLUMNS, parseMoveOutCertificateData } from '../../server/src/notices/moveOutCertificate.js';
import {
  CsvEncodingError,
  csvField,
  csvText,
  decodeCp932,
  decodeCsv,
  decodeText,
  detectEncoding,
  encodeCp932,
  encodeCsv,
  firstUnencodable,
  TextEncodingError,
  UnencodableCharacterError,
  utf16Kind,
  utf16Message,
} from '../../server/src/text/index.js';
import { configDir, tempDir } from '../helpers/paths.js';

const sjis = (text: string) => iconv.encode(text, 'cp932');

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('text module: encodings, the CP932 mapping, CSV', () => {
  describe('detection', () => {
    it('tells UTF-8 with and without BOM from CP932', () => {
      expect(detectEncoding(Buffer.from('\uFEFF氏名,住所\r\n', 'utf8'))).to.deep.equal({
        encoding: 'utf8',
        bom: true,
        reason: 'BOM 付き UTF-8',
      });
      expect(detectEncoding(Buffer.from('氏名,住所\r\n', 'utf8'))).to.include({ encoding: 'utf8', bom: false });
      expect(detectEncoding(sjis('氏名,住所\r\n'))).to.include({ encoding: 'cp932', bom: false });
      expect(detectEncoding(Buffer.from('abc,123\r\n'))).to.include({ encoding: 'utf8' }); // ASCII reads the same either way
      expect(decodeText(Buffer.from('\uFEFF髙橋', 'utf8')).text).to.equal('髙橋');
      expect(decodeText(sjis('髙橋,﨑')).text).to.equal('髙橋,﨑');
    });

    it('keeps a multi-byte character cut at the end of a partial sample from turning UTF-8 into CP932', () => {
      const cut = Buffer.from('住所', 'utf8').subarray(0, 4);
      expect(detectEncoding(cut, { partial: true }).encoding).to.equal('utf8');
      expect(detectEncoding(cut).encoding).to.equal('cp932');
    });

    it('names UTF-16 (by BOM or by its NUL bytes) in a Japanese error instead of reading it as CP932', () => {
      const le = Buffer.from('氏名,住所\r\nabc,1\r\n', 'utf16le');
      const be = Buffer.from(le).swap16();
      expect(utf16Kind(Buffer.concat([Buffer.from([0xff, 0xfe]), le]))).to.equal('UTF-16LE');
      expect(utf16Kind(Buffer.concat([Buffer.from([0xfe, 0xff]), be]))).to.equal('UTF-16BE');
      expect(utf16Kind(le)).to.equal('UTF-16LE');
      expect(utf16Kind(be)).to.equal('UTF-16BE');
      expect(utf16Kind(sjis('氏名,住所\r\n'))).to.equal(null);
      for (const [bytes, name] of [
        [le, 'UTF-16 (リトルエンディアン)'],
        [be, 'UTF-16 (ビッグエンディアン)'],
      ] as const) {
        const e = thrown(() => decodeText(bytes));
        expect(e).to.be.instanceOf(TextEncodingError);
        expect(e).to.include({ kind: 'utf16', status: 400 });
        expect(e.message).to.contain(name).and.contain('UTF-8 か CP932 (Shift_JIS) で保存し直してください');
      }
      // A setting of cp932 does not turn UTF-16 into garbage either.
      expect(() => detectEncoding(le, { setting: 'cp932' })).to.throw(TextEncodingError, 'UTF-16');
    });

    it('quarantines a UTF-16 linkage file with the encoding named, not as a header mismatch', async () => {
      const t = tempDir();
      try {
        const file = path.join(t.dir, '001o013.csv');
        writeFileSync(file, Buffer.from('宛名番号,支援措置区分,支援措置開始年月日,支援措置終了年月日,備考\r\n', 'utf16le'));
        const e = await openLinkageFile(file, '001o013', LayoutRegistry.load(configDir)).then(
          () => null,
          (err: unknown) => err,
        );
        expect(e).to.be.instanceOf(LinkageFileError);
        expect((e as LinkageFileError).issues).to.deep.equal([{ line: 1, reason: utf16Message('UTF-16LE'), fatal: true }]);
      } finally {
        t.remove();
      }
    });

    it('names the line of bytes that neither UTF-8 nor CP932 can read, and refuses invalid UTF-8 under a BOM', () => {
      const bad = Buffer.concat([sjis('見出し\r\n1行目\r\n'), Buffer.from([0x85, 0x40, 0x0d, 0x0a])]);
      const u = thrown(() => decodeText(bad));
      expect(u).to.include({
        kind: 'undecodable',
        line: 3,
        message: '3 行目: UTF-8 としても CP932 (Shift_JIS) としても読めない文字があります',
      });
      const e = thrown(() => decodeText(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), sjis('氏名')])));
      expect(e).to.include({ kind: 'invalidUtf8' });
      expect(e.message).to.contain('BOM 付き UTF-8');
    });
  });

  describe('the one CP932 mapping', () => {
    const twins: [number, string, string][] = [
      [0x8160, '\u301C', '\uFF5E'],
      [0x817c, '\u2212', '\uFF0D'],
      [0x8161, '\u2016', '\u2225'],
      [0x8191, '\u00A2', '\uFFE0'],
      [0x8192, '\u00A3', '\uFFE1'],
      [0x81ca, '\u00AC', '\uFFE2'],
    ];

    it('decodes the six twins to the JIS forms (as UTF-8 standard files hold them)', () => {
      for (const [code, jis, ms] of twins) {
        const bytes = Buffer.from([code >> 8, code & 0xff]);
        expect(decodeCp932(bytes), code.toString(16)).to.equal(jis);
        expect(decodeCp932(bytes, 'microsoft'), code.toString(16)).to.equal(ms);
      }
    });

    it('encodes both forms of each twin (and U+2014) to the same bytes, so writing never refuses what was read', () => {
      for (const [code, jis, ms] of twins) {
        const bytes = Buffer.from([code >> 8, code & 0xff]);
        expect(encodeCp932(jis), `U+${jis.codePointAt(0)!.toString(16)}`).to.deep.equal(bytes);
        expect(encodeCp932(ms), `U+${ms.codePointAt(0)!.toString(16)}`).to.deep.equal(bytes);
        expect(decodeCp932(encodeCp932(jis))).to.equal(jis);
      }
      expect(encodeCp932('\u2014')).to.deep.equal(Buffer.from([0x81, 0x5c]));
      expect(encodeCp932('髙﨑 ?')).to.deep.equal(Buffer.from([0xfb, 0xfc, 0xfa, 0xb1, 0x20, 0x3f]));
    });

    it('refuses a character CP932 cannot hold, naming it', () => {
      expect(firstUnencodable('山田?太郎')).to.equal(null);
      expect(firstUnencodable('𠮷田')).to.equal('𠮷');
      const e = thrown(() => encodeCp932('吉田と𠮷田'));
      expect(e).to.be.instanceOf(UnencodableCharacterError);
      expect(e).to.include({ character: '𠮷', status: 422 });
      expect(e.message).to.equal('CP932 (Shift_JIS) で表せない文字があります:「𠮷」(U+20BB7)');
    });

    it('reads CP932 0x817C the same in the forward linkage reader and the 転出証明書情報 reader', async () => {
      const t = tempDir();
      try {
        const file = path.join(t.dir, '001o013.csv');
        writeFileSync(
          file,
          sjis('宛名番号,支援措置区分,支援措置開始年月日,支援措置終了年月日,備考\r\n1000000001,1,2026-01-01,2027-01-01,1－2－3\r\n'),
        );
        const opened = await openLinkageFile(file, '001o013', LayoutRegistry.load(configDir));
        const rows: ParsedRow[] = [];
        for await (const r of opened.rows) rows.push(r);
        const fromLinkage = rows[0]!.values.note;

        const header = MOVE_OUT_CERTIFICATE_COLUMNS.join(',');
        const values: Record<string, string> = {
          氏名: '転出 花子',
          生年月日: '1990-01-01',
          性別: '2',
          転出前住所_都道府県: '東京都',
          転出前住所_市区郡町村名: '千代田区',
          転出前住所_番地号表記: '1－2－3',
          転出予定年月日: '2026-07-01',
          送信元市区町村コード: '131016',
        };
        const line = MOVE_OUT_CERTIFICATE_COLUMNS.map((c) => values[c] ?? '').join(',');
        const cert = parseMoveOutCertificateData(sjis(`${header}\r\n${line}\r\n`));

        expect(fromLinkage).to.equal('1\u22122\u22123');
        expect(cert.data.previousAddress).to.equal('東京都千代田区1\u22122\u22123');
      } finally {
        t.remove();
      }
    });
  });

  describe('CSV', () => {
    it('quotes a field only when it holds a comma, quote or line break', () => {
      expect(csvField('山田')).to.equal('山田');
      expect(csvField('a,b')).to.equal('"a,b"');
      expect(csvField('髙﨑 "1番"')).to.equal('"髙﨑 ""1番"""');
      expect(csvField('1行目\n2行目')).to.equal('"1行目\n2行目"');
      expect(csvField('\r')).to.equal('"\r"');
      expect(csvText(['a', 'b'], [['1', 'x,y']])).to.equal('a,b\r\n1,"x,y"\r\n');
      expect(csvText(['a'], [], { bom: true })).to.equal('\uFEFFa\r\n');
    });

    it('writes UTF-8 with a BOM or CP932, and reads both back to the same records', () => {
      const header = ['氏名', '備考'];
      const rows = [
        ['髙橋 "一", 二', '朝〜夕 1−2'],
        ['山田', '改行\r\nあり'],
      ];
      const utf8 = encodeCsv(header, rows, 'utf8');
      expect([...utf8.subarray(0, 3)]).to.deep.equal([0xef, 0xbb, 0xbf]);
      const cp932 = encodeCsv(header, rows, 'cp932');
      expect(cp932.includes(0x3f)).to.equal(false);
      for (const buf of [utf8, cp932]) {
        expect(decodeCsv(buf)).to.deep.equal([header, ...rows]);
        expect(buf.subarray(-2).toString('latin1')).to.equal('\r\n');
      }
      expect(decodeCsv(cp932, 'cp932')).to.deep.equal([header, ...rows]);
    });

    it('refuses a CP932 CSV with an unencodable character, naming row, column and character', () => {
      const e = thrown(() =>
        encodeCsv(
          ['番号', '氏名'],
          [
            ['1', '山田'],
            ['2', '𠮷田'],
          ],
          'cp932',
          (i) => `番号 ${i + 1}`,
        ),
      );
      expect(e).to.be.instanceOf(CsvEncodingError);
      expect(e).to.include({ row: 2, column: '氏名', character: '𠮷', status: 422 });
      expect(e.message).to.equal(
        'CP932 (Shift_JIS) で表せない文字があります: 2 件目 (番号 2) の列「氏名」の「𠮷」(U+20BB7)。UTF-8 で出力するか、設定の文字を見直してください',
      );
      expect(thrown(() => encodeCsv(['𠮷'], [], 'cp932'))).to.include({ row: 0, column: '見出し' });
    });
  });
});
