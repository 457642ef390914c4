import { expect } from 'chai';
import { CsvSyntaxError, readCsv, readCsvBatches, type CsvRecord, type LineMapper } from '../../server/src/text/csvStream.js';

async function* chunked(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function read(text: string, size = 1 << 20, map?: LineMapper): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const r of readCsv(chunked(text, size), map)) out.push(r);
  return out;
}

async function error(text: string, size = 1 << 20): Promise<CsvSyntaxError> {
  try {
    await read(text, size);
  } catch (e) {
    return e as CsvSyntaxError;
  }
  throw new Error('expected a CsvSyntaxError');
}

describe('linkage CSV reader (RFC 4180)', () => {
  const cases: [string, string, string[][], number[]][] = [
    [
      'plain CRLF',
      'a,b,c\r\n1,2,3\r\n',
      [
        ['a', 'b', 'c'],
        ['1', '2', '3'],
      ],
      [1, 2],
    ],
    [
      'LF only, no final newline',
      'a,b\n1,2',
      [
        ['a', 'b'],
        ['1', '2'],
      ],
      [1, 2],
    ],
    [
      'empty fields and trailing comma',
      'a,,c\r\n,,\r\n',
      [
        ['a', '', 'c'],
        ['', '', ''],
      ],
      [1, 2],
    ],
    ['quoted comma', 'a,"b,c",d\r\n', [['a', 'b,c', 'd']], [1]],
    ['escaped quote', '"say ""hi""",x\r\n', [['say "hi"', 'x']], [1]],
    ['quoted empty and quoted last field', '"",x,""\r\n', [['', 'x', '']], [1]],
    ['line break inside quotes counts lines', 'h\r\n"one\r\ntwo",3\r\nnext,4\r\n', [['h'], ['one\r\ntwo', '3'], ['next', '4']], [1, 2, 4]],
    ['empty lines skipped but counted', 'a\r\n\r\nb\r\n\r\n', [['a'], ['b']], [1, 3]],
    ['BOM removed', '\uFEFFa,b\r\n', [['a', 'b']], [1]],
    ['Japanese, surrogate pairs and IVS kept', '𠮷田,渡邉\u{E0101}\r\n', [['𠮷田', '渡邉\u{E0101}']], [1]],
  ];
  for (const [name, text, fields, lines] of cases) {
    it(`${name} (whole and in 1-, 2- and 7-character chunks)`, async () => {
      for (const size of [1 << 20, 1, 2, 7]) {
        const records = await read(text, size);
        expect(
          records.map((r) => r.fields),
          `chunk ${size}`,
        ).to.deep.equal(fields);
        expect(
          records.map((r) => r.line),
          `chunk ${size}`,
        ).to.deep.equal(lines);
      }
    });
  }

  it('names the line of an unclosed quote, a quote inside a field, and text after a closing quote', async () => {
    const unclosed = await error('a\r\nb\r\n"open,x\r\nc\r\n');
    expect(unclosed.line).to.equal(3);
    expect(unclosed.message).to.contain('引用符 (") が閉じないままファイルが終わっています');
    const inside = await error('a\r\nab"c,d\r\n', 3);
    expect(inside.line).to.equal(2);
    expect(inside.message).to.contain('項目の途中');
    const after = await error('"a"b,c\r\n');
    expect(after.line).to.equal(1);
    expect(after.message).to.contain('区切り');
  });

  it('maps each record before splitting and reports what the mapper could not map', async () => {
    const map: LineMapper = (t) => ({ text: t.replace(/\uE000/g, '𠮷'), unmapped: (t.match(/\uE001/g) ?? []).length });
    const records = await read('\uE000田,x\r\n"\uE001",\uE001\r\n', 3, map);
    expect(records.map((r) => r.fields)).to.deep.equal([
      ['𠮷田', 'x'],
      ['\uE001', '\uE001'],
    ]);
    expect(records.map((r) => r.unmapped)).to.deep.equal([0, 2]);
  });

  it('flags records holding U+FFFD (bytes the decoder could not read)', async () => {
    const records = await read('a,b\r\n1,\uFFFD\r\n');
    expect(records.map((r) => r.undecodable)).to.deep.equal([false, true]);
  });

  // The reader gives its records in small arrays (one async step per array): the arrays must hold
  // the records one by one would, and nothing may be lost when reading fails part way.
  it('gives the records in arrays of at most 64, the same as one by one, over any chunking', async () => {
    const text = 'h1,h2\r\n' + Array.from({ length: 300 }, (_, i) => `${i},"x""${i}"`).join('\r\n') + '\r\n';
    const one = await read(text);
    for (const size of [1 << 20, 7, 1000]) {
      const arrays: CsvRecord[][] = [];
      for await (const a of readCsvBatches(chunked(text, size))) arrays.push(a);
      expect(arrays.every((a) => a.length >= 1 && a.length <= 64)).to.equal(true);
      expect(arrays.flat()).to.deep.equal(one);
    }
  });

  it('gives every record before a chunk that cannot be read, then the error', async () => {
    async function* failing(): AsyncGenerator<string> {
      yield 'a,b\r\n1,2\r\n3,';
      yield '4\r\n';
      throw new Error('読めないバイト');
    }
    const got: string[][] = [];
    let failed: Error | undefined;
    try {
      for await (const a of readCsvBatches(failing())) for (const r of a) got.push(r.fields);
    } catch (e) {
      failed = e as Error;
    }
    expect(got).to.deep.equal([
      ['a', 'b'],
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(failed?.message).to.equal('読めないバイト');
  });

  it('gives every record before broken quoting, then the error naming its line', async () => {
    const lines = ['a,b', ...Array.from({ length: 100 }, (_, i) => `${i},x`), '7,"open', '8,y'];
    const got: CsvRecord[] = [];
    let failed: CsvSyntaxError | undefined;
    try {
      for await (const a of readCsvBatches(chunked(lines.join('\n') + '\n', 1 << 20))) got.push(...a);
    } catch (e) {
      failed = e as CsvSyntaxError;
    }
    expect(got.map((r) => r.line)).to.deep.equal(Array.from({ length: 101 }, (_, i) => i + 1));
    expect(failed).to.be.instanceOf(CsvSyntaxError);
    expect(failed!.line).to.equal(102);
  });
});
