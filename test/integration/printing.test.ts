import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../server/src/config/yamlFile.js';
import { FontSet } from '../../server/src/printing/fonts.js';
import { FormRenderError, MissingGlyphError, renderForms, type FormData, type PersonData } from '../../server/src/printing/render.js';
import { loadFormTemplate, loadFormTemplates, type FormTemplate } from '../../server/src/printing/template.js';
import { configDir, repoRoot, tempDir } from '../helpers/paths.js';

const IVS_NAME = '𠮷田 邉\u{E0110}'; // 邉 + VS33: an MJ variant IPAmj has (its own glyph, not the base one)

function members(): PersonData[] {
  return [
    { name: '髙橋 﨑子', kana: 'タカハシ サキコ', birthDate: '1985-04-01', sex: '2', relationship: '世帯主' },
    { name: IVS_NAME, kana: 'ヨシダ ワタナベ', birthDate: '1989-01-08', sex: '1', relationship: '夫' },
    { name: '髙橋 一郎', kana: 'タカハシ イチロウ', birthDate: '2019-05-01', sex: '1', relationship: '子' },
    { name: '髙橋 花子', kana: 'タカハシ ハナコ', birthDate: '2021-12-31', sex: '2', relationship: '子' },
  ];
}

function sample(): FormData {
  return {
    visit: { visitNo: 'A-012', date: '2025-04-01' },
    subject: { name: '髙橋 﨑子', phone: '090-1234-5678', address: '窓口市本町一丁目1番1号', birthDate: '1985-04-01' },
    household: { head: { name: '髙橋 﨑子' }, members: members() },
    notice: {
      notifiedOn: '2025-04-01',
      movedOn: '2025-03-28',
      newAddress: '窓口市本町一丁目1番1号 メゾン窓口101号',
      oldAddress: '東京都千代田区霞が関一丁目2番3号',
      kind: 'movein',
      honseki: '東京都千代田区千代田1番',
      hittousha: '髙橋 﨑子',
    },
    answers: { memo: '転入学の手続きあり' },
    certificate: {
      purpose: '勤務先に提出',
      total: 1200,
      requester: { name: '髙橋 﨑子', address: '窓口市本町一丁目1番1号', relationship: '本人' },
      lines: [
        { label: '住民票の写し', options: '世帯全員・本籍あり', count: 3, amount: 900 },
        { label: '印鑑登録証明書', count: 1, amount: 300 },
      ],
    },
  };
}

/** Renders, writes the PDF and gives back its text as `pdftotext -raw` reads it. */
async function renderToText(
  dir: string,
  name: string,
  forms: { template: FormTemplate; data: FormData }[],
): Promise<{ file: string; text: string; bytes: number }> {
  const pdf = await renderForms(FontSet.load(), forms);
  const file = path.join(dir, `${name}.pdf`);
  writeFileSync(file, pdf);
  return { file, text: execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' }), bytes: pdf.length };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the promise to be rejected');
}

describe('printing: form templates rendered with IPAmj明朝, read back from the PDF', function () {
  this.timeout(60_000);
  const t = tempDir('madoguchi-print-');
  let templates: Map<string, FormTemplate>;
  let idou: FormTemplate;
  let seikyu: FormTemplate;

  before(() => {
    templates = loadFormTemplates(configDir);
    idou = templates.get('juminidou')!;
    seikyu = templates.get('shomei-seikyu')!;
  });
  after(() => t.remove());

  it('ships the 住民異動届 (2 pages) and the 証明書交付請求書 templates, valid', () => {
    expect([...templates.keys()]).to.include.members(['juminidou', 'shomei-seikyu']);
    expect(idou.page).to.deep.equal({ size: 'A4', orientation: 'portrait' });
    expect(idou.pages).to.have.length(2);
    expect(idou.pages[0]!.tables[0]!.rows).to.equal(4);
  });

  it('knows the font coverage: plane 2, IVS the font has, IVS and PUA it lacks', () => {
    const fonts = FontSet.load();
    expect(fonts.fontName('mincho')).to.equal('IPAmjMincho');
    expect(fonts.missingGlyphs('髙橋 﨑子 𠮷田 邉\u{E0110}', 'mincho')).to.deep.equal([]);
    // IPAmj's cmap 14 has 邉 with E010F…E011F but not E0102: the base glyph would print silently.
    expect(fonts.missingGlyphs('邉\u{E0102}', 'mincho')).to.deep.equal([{ char: '邉\u{E0102}', codePoint: 'U+9089 U+E0102' }]);
    expect(fonts.missingGlyphs('外\u{E000}字丆', 'mincho')).to.deep.equal([
      { char: '\u{E000}', codePoint: 'U+E000' },
      { char: '丆', codePoint: 'U+4E06' },
    ]);
    // IPAex Gothic (labels) has no 𠮷.
    expect(fonts.missingGlyphs('𠮷', 'gothic')).to.deep.equal([{ char: '𠮷', codePoint: 'U+20BB7' }]);
  });

  it('prints the 異動届 for 4 people: exact names (IVS kept), 和暦 parts, boxes, IPAmj subset embedded; PNG kept', async () => {
    const { file, text } = await renderToText(t.dir, 'juminidou', [{ template: idou, data: sample() }]);
    const lines = text.split('\n');
    expect(lines).to.include('髙橋 﨑子 髙橋 﨑子'); // 世帯主 and 届出人 on one line
    const ivsLine = lines.find((l) => l.startsWith('𠮷田'));
    expect(ivsLine, text).to.be.a('string');
    expect(ivsLine!.startsWith(IVS_NAME)).to.equal(true, `IVS not read back: ${JSON.stringify(ivsLine)}`);
    expect([...ivsLine!.slice(0, IVS_NAME.length)].map((c) => c.codePointAt(0)!.toString(16))).to.deep.equal([
      '20bb7',
      '7530',
      '20',
      '9089',
      'e0110',
    ]);
    expect(text).to.include('髙橋 一郎').and.include('髙橋 花子');
    expect(text).to.include('令和 7 4 1 令和 7 3 28'); // 届出日 and 異動日 in parts
    expect(text).to.include('昭和 60年').and.include('平成 元年');
    expect(text).to.include('タ カ ハ シ サ キ コ'); // one character per box
    expect(text).to.include('窓口市本町一丁目1番1号 メゾン窓口101号');
    expect(text).to.include('住民異動届（2枚目）');
    expect(text).to.include('令和7年4月1日');
    const pages = execFileSync('pdfinfo', [file], { encoding: 'utf8' });
    expect(pages).to.match(/Pages:\s+2\n/);
    expect(pages).to.match(/Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)/);
    const fonts = execFileSync('pdffonts', [file], { encoding: 'utf8' });
    expect(fonts).to.match(/[A-Z]{6}\+IPAmjMincho\s+CID TrueType\s+Identity-H\s+yes yes yes/);
    expect(fonts).to.match(/[A-Z]{6}\+IPAexGothic\s+CID TrueType\s+Identity-H\s+yes yes yes/);
    expect(fonts).not.to.match(/Helvetica/);

    const shots = path.join(repoRoot, 'docs/screenshots');
    mkdirSync(shots, { recursive: true });
    const before = Date.now();
    execFileSync('pdftoppm', ['-png', '-r', '80', '-singlefile', file, path.join(shots, 'form-juminidou')]);
    const png = path.join(shots, 'form-juminidou.png');
    expect(statSync(png).mtimeMs).to.be.at.least(before - 1000);
    expect(readFileSync(png).subarray(1, 4).toString()).to.equal('PNG');
    execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '2', '-singlefile', file, path.join(shots, 'form-juminidou-2')]);
  });

  it('prints the 証明書交付請求書 with its lines and fee total; bundles both forms in one PDF', async () => {
    const { file, text } = await renderToText(t.dir, 'bundle', [
      { template: idou, data: sample() },
      { template: seikyu, data: sample() },
    ]);
    expect(execFileSync('pdfinfo', [file], { encoding: 'utf8' })).to.match(/Pages:\s+3\n/);
    expect(text).to.include('証明書交付請求書');
    expect(text).to.match(/住民票の写し 世帯全員・本籍あり 3通 900 円/);
    expect(text).to.match(/印鑑登録証明書 1通 300 円/);
    // -raw gives text in drawing order: labels first, then the values.
    expect(text).to.match(/^合計 円$/m);
    expect(text).to.match(/^1,200$/m);
    expect(text).to.include('勤務先に提出');
    expect(text).to.include('昭和60年4月1日');
    const pageFiles = path.join(repoRoot, 'docs/screenshots/form-shomei-seikyu');
    execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '3', '-singlefile', file, pageFiles]);
  });

  it('prints the caller’s mask text for masked fields (支援措置), not the address', async () => {
    const data = sample();
    data.masks = { 'notice.newAddress': '（支援措置のため表示しません）', 'subject.address': '＊＊＊＊' };
    const { text } = await renderToText(t.dir, 'masked', [
      { template: idou, data },
      { template: seikyu, data },
    ]);
    expect(text).to.include('（支援措置のため表示しません）');
    expect(text).not.to.include('メゾン窓口101号');
    expect(text).to.include('＊＊＊＊');
    expect(text).to.include('東京都千代田区霞が関一丁目2番3号'); // not masked: no mask given for it
  });

  it('fails with the character, its code point, the field and the template when the font lacks a glyph', async () => {
    const data = sample();
    data.household!.members![1]!.name = '丆田 太郎'; // U+4E06: not in IPAmj
    const e = await rejection(renderForms(FontSet.load(), [{ template: idou, data }]));
    expect(e).to.be.instanceOf(MissingGlyphError);
    const m = e as MissingGlyphError;
    expect([m.char, m.codePoint, m.field, m.template]).to.deep.equal(['丆', 'U+4E06', 'members[1].name', 'juminidou']);
    expect(m.message).to.include('「丆」(U+4E06)').and.include('members[1].name').and.include('IPAmjMincho');

    const pua = sample();
    pua.notice!.newAddress = '窓口市\u{E000}町1番';
    const e2 = (await rejection(renderForms(FontSet.load(), [{ template: idou, data: pua }]))) as MissingGlyphError;
    expect([e2.char, e2.codePoint, e2.field]).to.deep.equal(['\u{E000}', 'U+E000', 'newAddress']);

    const ivs = sample();
    ivs.household!.head!.name = '渡邉\u{E0102}';
    const e3 = (await rejection(renderForms(FontSet.load(), [{ template: idou, data: ivs }]))) as MissingGlyphError;
    expect([e3.codePoint, e3.field]).to.deep.equal(['U+9089 U+E0102', 'headName']);
  });

  it('shrinks long text to fit, and fails when it cannot or boxes overflow', async () => {
    const data = sample();
    data.notice!.newAddress = '窓口市本町一丁目1番1号 メゾン窓口ウエストタワー・レジデンス東棟 2001号室（管理人室隣）';
    const { text } = await renderToText(t.dir, 'shrink', [{ template: idou, data }]);
    expect(text).to.include('メゾン窓口ウエストタワー・レジデンス東棟 2001号室（管理人室隣）');

    const tooLong = sample();
    tooLong.notice!.newAddress = '長'.repeat(200);
    const e = await rejection(renderForms(FontSet.load(), [{ template: idou, data: tooLong }]));
    expect(e).to.be.instanceOf(FormRenderError);
    expect(e.message).to.match(/juminidou の項目 newAddress: 文字が 5 pt まで小さくしても収まりません/);

    const kana = sample();
    kana.household!.members![0]!.kana = 'タカハシ サキコサキコサキコサキコ';
    const e2 = await rejection(renderForms(FontSet.load(), [{ template: idou, data: kana }]));
    expect(e2.message).to.include('members[0].kana: 17 文字ありますが、枠は 16 個です');

    const five = sample();
    five.household!.members!.push({ name: '髙橋 次郎' });
    const e3 = await rejection(renderForms(FontSet.load(), [{ template: idou, data: five }]));
    expect(e3.message).to.include('表 members: 5 件ありますが、欄は 4 行です');
  });

  it('rejects a template with errors, naming file:line:col and the reason in Japanese', () => {
    const file = path.join(t.dir, 'broken.yaml');
    writeFileSync(
      file,
      [
        'id: broken', // 1
        'title: 壊れた様式', // 2
        'page: { size: A4 }', // 3
        'pages:', // 4
        '  - fields:', // 5
        '      - { id: a, x: 10, y: 10, w: 50, h: 8, bind: subject.nickname }', // 6
        '      - { id: b, x: 10, y: 20, w: 50, h: 8, size: -3, bind: subject.name }', // 7
        '      - id: c', // 8
        '        x: 10', // 9
        '        y: 30', // 10
        '        w: 50', // 11
        '        h: 8', // 12
        '        boxes: { count: 10 }', // 13
        '        bind: subject.kana', // 14
        '',
      ].join('\n'),
    );
    let err: unknown;
    try {
      loadFormTemplate(file);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    const msg = (err as ConfigError).message;
    // Schema errors first (size, boxes.pitch); the unknown bind is a semantic check, run on a valid shape.
    expect(msg).to.match(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:7:\\d+: pages\\[0\\]\\.fields\\[1\\]\\.size: .*0`));
    expect(msg).to.include(`${file}:13:`);
    expect(msg).to.match(/pages\[0\]\.fields\[2\]\.boxes\.pitch: 必須の項目がありません/);

    writeFileSync(file, readFileSync(file, 'utf8').replace('size: -3', 'size: 9').replace('{ count: 10 }', '{ count: 10, pitch: 6 }'));
    let err2: unknown;
    try {
      loadFormTemplate(file);
    } catch (e) {
      err2 = e;
    }
    const msg2 = (err2 as ConfigError).message;
    expect(msg2).to.match(
      new RegExp(`broken\\.yaml:6:\\d+: pages\\[0\\]\\.fields\\[0\\]\\.bind: 不明な bind です \\(subject\\.nickname\\)`),
    );
    expect(msg2).to.match(
      /broken\.yaml:13:\d+: pages\[0\]\.fields\[2\]\.boxes\.pitch: 枠の合計幅 \(10 × 6 = 60 mm\) が項目の幅 w \(50 mm\) を超えます/,
    );
    expect((err2 as ConfigError).issues).to.have.length(2);
  });

  it('keeps a 4-person 異動届 small: fonts are subset, not embedded whole (time is measured by npm run bench -- print)', async () => {
    const pdf = await renderForms(FontSet.load(), [{ template: idou, data: sample() }]);
    expect(pdf.length).to.be.below(500_000);
  });
});
