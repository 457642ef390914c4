import { expect } from 'chai';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FontSet } from '../../server/src/printing/fonts.js';
import { GRID_MARKER, renderPreview, SAMPLE_IVS_NAME, SAMPLE_SUBJECT_NAME, sampleData } from '../../server/src/printing/preview.js';
import { loadFormTemplates, type FormTemplate } from '../../server/src/printing/template.js';
import { cliPath, configDir, repoRoot, tempDir } from '../helpers/paths.js';

const NEW_TEMPLATES = ['kokuho-kanyu', 'jidouteate', 'tennyugaku', 'kaigo-shikaku', 'inkan-touroku'];

function pdfText(file: string): string {
  return execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' });
}

function pageCount(file: string): number {
  const m = /^Pages:\s+(\d+)$/m.exec(execFileSync('pdfinfo', [file], { encoding: 'utf8' }));
  return m ? Number(m[1]) : -1;
}

function cli(args: string[]) {
  return spawnSync(process.execPath, [cliPath, ...args], { cwd: repoRoot, encoding: 'utf8' });
}

/** Does any field of the template print `bind` (in a table, `row.<x>` of household.members)? */
function binds(t: FormTemplate, bind: string): boolean {
  return t.pages.some(
    (p) =>
      p.fields.some((f) => f.bind === bind) ||
      p.tables.some((tb) => tb.source === 'household.members' && tb.fields.some((f) => `household.members.${f.bind}` === bind)),
  );
}

/** 1-based line of the first line of `file` containing `needle`. */
function lineOf(file: string, needle: string): number {
  const i = readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`${needle} not in ${file}`);
  return i + 1;
}

describe('forms: shipped templates previewed with sample data; madoguchi forms preview / check', function () {
  this.timeout(120_000);
  const t = tempDir('madoguchi-forms-');
  let templates: Map<string, FormTemplate>;

  before(() => {
    const build = spawnSync('npx', ['tsc', '-b'], { cwd: repoRoot, encoding: 'utf8' });
    expect(build.status, `${build.stdout}${build.stderr}`).to.equal(0);
    templates = loadFormTemplates(configDir);
  });
  after(() => t.remove());

  it('the sample household has 4 people with 髙, 﨑, 𠮷 and the IVS 邉+U+E0110', () => {
    const d = sampleData();
    expect(d.household!.members).to.have.length(4);
    expect(d.subject!.name).to.equal('髙橋 﨑子');
    const names = d.household!.members!.map((m) => m.name).join(' ');
    for (const c of ['髙', '﨑', '𠮷', '邉\u{E0110}']) expect(names).to.include(c);
    expect([...SAMPLE_IVS_NAME].map((c) => c.codePointAt(0)!.toString(16))).to.deep.equal(['6e21', '9089', 'e0110', '20', '20bb7', '5b50']);
  });

  it('ships the five procedure templates, A4 portrait, all valid', () => {
    expect([...templates.keys()]).to.include.members(NEW_TEMPLATES);
    for (const id of NEW_TEMPLATES) {
      expect(templates.get(id)!.page, id).to.deep.equal({ size: 'A4', orientation: 'portrait' });
      expect(path.basename(templates.get(id)!.file), id).to.equal(`${id}.yaml`);
    }
  });

  it('every shipped template renders with the sample data: exact names read back, IVS kept where the household is bound', async () => {
    const fonts = FontSet.load();
    expect(templates.size).to.be.at.least(7);
    const namesChecked: string[] = [];
    const ivsChecked: string[] = [];
    for (const [id, template] of templates) {
      const file = path.join(t.dir, `${id}.pdf`);
      writeFileSync(file, await renderPreview(fonts, template, { grid: false }));
      expect(pageCount(file), id).to.equal(template.pages.length);
      const text = pdfText(file);
      const lines = text.split('\n');
      expect(text, id).not.to.include(GRID_MARKER);
      if (binds(template, 'subject.name') || binds(template, 'household.head.name')) {
        // The whole name as one run of text, not a look-alike (髙 U+9AD9, 﨑 U+FA11).
        expect(text, id).to.match(new RegExp(`(^| )${SAMPLE_SUBJECT_NAME}( |$)`, 'm'));
        expect(text, id).to.include('\u9AD9\u6A4B \uFA11\u5B50');
        namesChecked.push(id);
      }
      if (binds(template, 'household.members.row.name')) {
        const row = lines.find((l) => l.startsWith('渡邉'));
        expect(row, `${id}:\n${text}`).to.be.a('string');
        expect(
          [...row!.slice(0, SAMPLE_IVS_NAME.length)].map((c) => c.codePointAt(0)!.toString(16)),
          id,
        ).to.deep.equal(['6e21', '9089', 'e0110', '20', '20bb7', '5b50']);
        expect(text, id).to.include('髙橋 一郎').and.include('髙橋 花子');
        ivsChecked.push(id);
      }
    }
    expect(namesChecked).to.include.members([...NEW_TEMPLATES, 'juminidou', 'shomei-seikyu']);
    expect(ivsChecked).to.include.members(['juminidou', 'kokuho-kanyu', 'jidouteate', 'tennyugaku', 'kaigo-shikaku']);
    expect(ivsChecked).not.to.include('inkan-touroku');
  });

  it('fills each new form the way the real one reads: 和暦 parts, boxes, check marks', async () => {
    const fonts = FontSet.load();
    const read = async (id: string) => {
      const file = path.join(t.dir, `${id}-detail.pdf`);
      writeFileSync(file, await renderPreview(fonts, templates.get(id)!, { grid: false }));
      return { file, text: pdfText(file) };
    };
    const kokuho = await read('kokuho-kanyu');
    expect(kokuho.text).to.include('令和 7 4 7 令和 7 4 1'); // 届出日 and 資格取得日 in parts
    expect(kokuho.text).to.include('タ カ ハ シ イ チ ロ ウ'); // one kana per box
    expect(kokuho.text).to.include('令和 元年'); // 2019-05-01
    expect(kokuho.text).to.include('全国健康保険協会 東京支部 令和7年3月31日');
    expect(kokuho.text.match(/✓/g)).to.have.length(2); // 転入 and 勤務先の保険に加入していない
    const jidou = await read('jidouteate');
    expect(jidou.text).to.include('1 2 3 4 5 6 7'); // 口座番号, one digit per box
    expect(jidou.text).to.include('まどぐち信用金庫').and.include('昭和60年4月1日');
    const gaku = await read('tennyugaku');
    expect(gaku.text).to.include('千代田区立麹町小学校').and.include('窓口町立本町小学校');
    const kaigo = await read('kaigo-shikaku');
    expect(kaigo.text).to.include('東京都千代田区').and.include('要介護1');
    const inkan = await read('inkan-touroku');
    expect(inkan.text).to.include('印鑑登録申請書').and.include('枠の中に押してください');
    expect(inkan.text.match(/✓/g)).to.have.length(5); // 新規・本人・女・マイナンバーカード・即日
    // Keep page 1 of the NHI and child-allowance forms as pictures for the manual.
    const shots = path.join(repoRoot, 'docs/screenshots');
    mkdirSync(shots, { recursive: true });
    const before = Date.now();
    for (const [name, file] of [
      ['form-kokuho-kanyu', kokuho.file],
      ['form-jidouteate', jidou.file],
    ] as const) {
      execFileSync('pdftoppm', ['-png', '-r', '80', '-f', '1', '-singlefile', file, path.join(shots, name)]);
      const png = path.join(shots, `${name}.png`);
      expect(statSync(png).mtimeMs).to.be.at.least(before - 1000);
      expect(readFileSync(png).subarray(1, 4).toString()).to.equal('PNG');
    }
  });

  it("`forms preview NAME` writes <data-dir>/preview-NAME.pdf with the template's pages; --grid adds the mm grid on every page", () => {
    const dataDir = path.join(t.dir, 'data');
    const plain = cli(['--data-dir', dataDir, 'forms', 'preview', 'juminidou']);
    expect(plain.status, plain.stderr).to.equal(0);
    const plainFile = path.join(dataDir, 'preview-juminidou.pdf');
    expect(plain.stdout.trim()).to.equal(plainFile);
    expect(pageCount(plainFile)).to.equal(2);
    expect(pdfText(plainFile)).not.to.include(GRID_MARKER);

    const out = path.join(t.dir, 'grid', 'juminidou-grid.pdf');
    const grid = cli(['--data-dir', dataDir, 'forms', 'preview', 'juminidou', '--grid', '--out', out]);
    expect(grid.status, grid.stderr).to.equal(0);
    expect(grid.stdout.trim()).to.equal(out);
    expect(pageCount(out)).to.equal(2);
    const text = pdfText(out);
    expect(text.split(GRID_MARKER)).to.have.length(3); // once per page
    // The x values along the top edge, 10 … 200 mm, and the y values down the left edge to 290 mm.
    expect(text).to.include('10 20 30 40 50 60 70 80 90 100 110 120 130 140 150 160 170 180 190 200');
    expect(text).to.match(/^280\n290$/m);
    // The form is still there, on top of the grid.
    expect(text).to.include('髙橋 﨑子').and.include('住民異動届（2枚目）');

    const one = cli(['--data-dir', dataDir, 'forms', 'preview', 'kokuho-kanyu', '--grid']);
    expect(one.status, one.stderr).to.equal(0);
    expect(pageCount(path.join(dataDir, 'preview-kokuho-kanyu.pdf'))).to.equal(1);
    expect(pdfText(path.join(dataDir, 'preview-kokuho-kanyu.pdf'))).to.include(GRID_MARKER);
  });

  it('`forms preview` of an unknown template exits 2 and lists the ones there are', () => {
    const r = cli(['--data-dir', path.join(t.dir, 'data'), 'forms', 'preview', 'no-such-form']);
    expect(r.status).to.equal(2);
    expect(r.stderr).to.include('様式「no-such-form」はありません').and.include('kokuho-kanyu');
    expect(existsSync(path.join(t.dir, 'data', 'preview-no-such-form.pdf'))).to.equal(false);
  });

  it('`forms check` passes the shipped config and exits 2 naming file:line for an unknown bind and for a name that does not fit', () => {
    const ok = cli(['--config', configDir, 'forms', 'check']);
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/様式 \d+ 件: エラーはありません/);
    for (const id of NEW_TEMPLATES) expect(ok.stdout).to.include(`${id}\t`);

    const config = path.join(t.dir, 'config');
    cpSync(configDir, config, { recursive: true });
    const jidou = path.join(config, 'forms/jidouteate.yaml');
    const badBind = lineOf(jidou, 'id: claimantName');
    writeFileSync(jidou, readFileSync(jidou, 'utf8').replace('bind: subject.name }', 'bind: subject.nickname }'));
    const kokuho = path.join(config, 'forms/kokuho-kanyu.yaml');
    const narrow = lineOf(kokuho, 'id: headName');
    writeFileSync(
      kokuho,
      readFileSync(kokuho, 'utf8').replace(
        '{ id: headName, x: 40, y: 47, w: 63, h: 8, size: 14,',
        '{ id: headName, x: 40, y: 47, w: 12, h: 8, size: 14, shrinkToFit: false,',
      ),
    );

    const r = cli(['--config', config, 'forms', 'check']);
    expect(r.status, r.stdout + r.stderr).to.equal(2);
    expect(r.stderr).to.match(
      new RegExp(`jidouteate\\.yaml:${badBind}:\\d+: pages\\[0\\]\\.fields\\[\\d+\\]\\.bind: 不明な bind です \\(subject\\.nickname\\)`),
    );
    expect(r.stderr).to.include(`kokuho-kanyu.yaml:${narrow}: 様式 kokuho-kanyu の項目 headName: 文字が幅に収まりません`);
    expect(r.stderr).to.include('様式にエラーが 2 件あります');
    // The broken file cannot be previewed either; the others still can.
    const p = cli(['--config', config, '--data-dir', path.join(t.dir, 'data2'), 'forms', 'preview', 'jidouteate']);
    expect(p.status).to.equal(2);
    expect(p.stderr).to.include(`jidouteate.yaml:${badBind}:`);
    const q = cli(['--config', config, '--data-dir', path.join(t.dir, 'data2'), 'forms', 'preview', 'kokuho-kanyu']);
    expect(q.status).to.equal(2);
    expect(q.stderr).to.include(`kokuho-kanyu.yaml:${narrow}:`);
    expect(cli(['--config', config, '--data-dir', path.join(t.dir, 'data2'), 'forms', 'preview', 'inkan-touroku']).status).to.equal(0);
  });
});
