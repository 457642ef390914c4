import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import PDFDocument from 'pdfkit';
import { ConfigError, formatIssue, type ConfigIssue } from '../config/yamlFile.js';
import type { FontSet } from './fonts.js';
import { FormRenderError, renderForms, type FormData, type PersonData } from './render.js';
import { loadFormTemplate, type FormTemplate } from './template.js';

/**
 * `madoguchi forms preview NAME [--grid]` and `madoguchi forms check`: a template printed with
 * made-up data (and, on request, a millimetre grid), so staff can build and adjust templates
 * without a programmer.
 */

/** 4 人目 (母) の氏名: 渡邉 (IVS U+9089 U+E0110, IPAmj の異体字) と 𠮷 (第 2 面). */
export const SAMPLE_IVS_NAME = '渡邉\u{E0110} 𠮷子';
export const SAMPLE_SUBJECT_NAME = '髙橋 﨑子';
/** Printed by the grid in the bottom margin of every page: `pdftotext` finds it. */
export const GRID_MARKER = 'プレビュー用方眼 細線5mm・太線10mm (数字は用紙左上からのmm)';

const ADDRESS = '窓口市本町一丁目1番1号 メゾン窓口101号';

function members(): PersonData[] {
  return [
    { name: SAMPLE_SUBJECT_NAME, kana: 'タカハシ サキコ', birthDate: '1985-04-01', sex: '2', relationship: '世帯主', address: ADDRESS },
    { name: '髙橋 一郎', kana: 'タカハシ イチロウ', birthDate: '2015-06-15', sex: '1', relationship: '子', address: ADDRESS },
    { name: '髙橋 花子', kana: 'タカハシ ハナコ', birthDate: '2019-05-01', sex: '2', relationship: '子', address: ADDRESS },
    { name: SAMPLE_IVS_NAME, kana: 'ワタナベ ヨシコ', birthDate: '1959-01-08', sex: '2', relationship: '母', address: ADDRESS },
  ];
}

/**
 * Made-up data for previews: a 4-person household (世帯主 髙橋 﨑子, two children, her mother
 * 渡邉󠄐 𠮷子 written with an IVS), a move-in on 令和7年4月1日, and answers for the questions the
 * shipped templates bind. Dates are 西暦 text and include era edges (令和元年5月1日).
 */
export function sampleData(): FormData {
  return {
    visit: { visitNo: 'A-012', date: '2025-04-07' },
    subject: {
      name: SAMPLE_SUBJECT_NAME,
      kana: 'タカハシ サキコ',
      birthDate: '1985-04-01',
      sex: '2',
      relationship: '世帯主',
      address: ADDRESS,
      phone: '090-1234-5678',
    },
    household: { head: { name: SAMPLE_SUBJECT_NAME, kana: 'タカハシ サキコ' }, address: ADDRESS, members: members() },
    notice: {
      kind: 'movein',
      notifiedOn: '2025-04-07',
      movedOn: '2025-04-01',
      newAddress: ADDRESS,
      oldAddress: '東京都千代田区霞が関一丁目2番3号',
      honseki: '東京都千代田区千代田1番',
      hittousha: SAMPLE_SUBJECT_NAME,
    },
    answers: {
      memo: '転入学の手続きあり',
      // 国民健康保険 (nhiEnrol)
      employeeInsurance: false,
      previousInsurance: '全国健康保険協会 東京支部',
      previousInsuranceEnd: '2025-03-31',
      // 児童手当 (childAllowanceClaim)
      claimantPension: '厚生年金',
      spouse: false,
      bankName: 'まどぐち信用金庫',
      branchName: '本町支店',
      accountType: '普通',
      accountNumber: '1234567',
      accountHolderKana: 'タカハシ サキコ',
      // 転入学 (schoolTransfer)
      schoolStage: 'elementary',
      previousSchool: '千代田区立麹町小学校',
      grade: '4',
      newSchool: '窓口町立本町小学校',
      outOfDistrict: false,
      // 介護保険 (careQualify, careCertificationTransfer)
      hasCareCertificate: true,
      addressException: false,
      previousInsurer: '東京都千代田区',
      careLevel: '要介護1',
      // 印鑑登録 (sealRegistration)
      wantsSealRegistration: true,
      applicant: 'self',
      idDocument: 'myNumberCard',
      registration: 'sameDay',
    },
    certificate: {
      purpose: '勤務先に提出',
      count: 4,
      total: 1200,
      requester: { name: SAMPLE_SUBJECT_NAME, kana: 'タカハシ サキコ', address: ADDRESS, phone: '090-1234-5678', relationship: '本人' },
      lines: [
        { label: '住民票の写し', options: '世帯全員・本籍あり', count: 3, fee: 300, amount: 900 },
        { label: '印鑑登録証明書', count: 1, fee: 300, amount: 300 },
      ],
    },
  };
}

const PT_PER_MM = 72 / 25.4;
const GRID_LINE = '#a8c8e8';
const GRID_LINE_10 = '#7fb0de';
const GRID_TEXT = '#5b93c8';

/** Thin lines every 5 mm, stronger every 10 mm, labelled with the mm value every 10 mm. */
function drawGrid(doc: PDFKit.PDFDocument): void {
  const wPt = doc.page.width;
  const hPt = doc.page.height;
  const wMm = Math.floor(wPt / PT_PER_MM + 1e-6);
  const hMm = Math.floor(hPt / PT_PER_MM + 1e-6);
  doc.save();
  for (let x = 0; x <= wMm; x += 5) {
    doc.lineWidth(x % 10 === 0 ? 0.35 : 0.15).strokeColor(x % 10 === 0 ? GRID_LINE_10 : GRID_LINE);
    doc
      .moveTo(x * PT_PER_MM, 0)
      .lineTo(x * PT_PER_MM, hPt)
      .stroke();
  }
  for (let y = 0; y <= hMm; y += 5) {
    doc.lineWidth(y % 10 === 0 ? 0.35 : 0.15).strokeColor(y % 10 === 0 ? GRID_LINE_10 : GRID_LINE);
    doc
      .moveTo(0, y * PT_PER_MM)
      .lineTo(wPt, y * PT_PER_MM)
      .stroke();
  }
  doc.font('gothic').fontSize(4.5).fillColor(GRID_TEXT);
  // x values along the top edge and every 50 mm down the page; y values along the left edge and
  // every 50 mm across, so a number is never far from the place being measured.
  for (let row = 0; row < hMm; row += 50) {
    for (let x = 10; x < wMm; x += 10)
      doc.text(String(x), x * PT_PER_MM + 0.8, row * PT_PER_MM + 0.8, { lineBreak: false, baseline: 'top' });
  }
  for (let col = 0; col < wMm; col += 50) {
    for (let y = 10; y < hMm; y += 10)
      doc.text(String(y), col * PT_PER_MM + 0.8, y * PT_PER_MM + 0.8, { lineBreak: false, baseline: 'top' });
  }
  doc.fontSize(6).text(GRID_MARKER, 12 * PT_PER_MM, hPt - 6 * PT_PER_MM, { lineBreak: false, baseline: 'top' });
  doc.restore();
  doc.strokeColor('black').fillColor('black').lineWidth(1);
}

interface DocProto {
  addPage(this: PDFKit.PDFDocument, ...args: unknown[]): PDFKit.PDFDocument;
  image(this: PDFKit.PDFDocument, ...args: unknown[]): PDFKit.PDFDocument;
}

/**
 * The template filled with `data` (default: sampleData()). With `grid`, every page first gets a
 * millimetre grid in light blue, under the template's lines, labels and values (and over the
 * background image of the official form, when the template has one).
 *
 * renderForms has no drawing hook, and render.ts is not changed for previews: pdfkit's
 * `addPage` and `image` are wrapped while renderForms builds the document. That happens
 * synchronously (the promise only waits for the stream to end), so no other render can see the
 * wrappers; they are put back before this function first awaits. If a later change made
 * renderForms draw asynchronously, the page count check below fails loudly instead of printing a
 * preview without its grid.
 */
export async function renderPreview(
  fonts: FontSet,
  template: FormTemplate,
  options: { grid: boolean },
  data: FormData = sampleData(),
): Promise<Buffer> {
  const info = { title: `${template.title} (プレビュー)` };
  if (!options.grid) return renderForms(fonts, [{ template, data }], info);
  const proto = PDFDocument.prototype as unknown as DocProto;
  const { addPage, image } = proto;
  let gridPages = 0;
  let pending: Promise<Buffer>;
  proto.addPage = function (this: PDFKit.PDFDocument, ...args: unknown[]) {
    const doc = addPage.apply(this, args);
    drawGrid(this);
    gridPages++;
    return doc;
  };
  proto.image = function (this: PDFKit.PDFDocument, ...args: unknown[]) {
    const doc = image.apply(this, args);
    // The scanned official form covers the whole page: the grid goes on top of it again.
    if (args[1] === 0 && args[2] === 0) drawGrid(this);
    return doc;
  };
  try {
    pending = renderForms(fonts, [{ template, data }], info);
  } finally {
    proto.addPage = addPage;
    proto.image = image;
  }
  const pdf = await pending;
  if (gridPages !== template.pages.length)
    throw new Error(`方眼を描けませんでした (${template.pages.length} ページ中 ${gridPages} ページ)`);
  return pdf;
}

function templateFiles(configDir: string): string[] {
  const dir = path.join(configDir, 'forms');
  try {
    return readdirSync(dir)
      .filter((n) => /\.ya?ml$/.test(n))
      .sort()
      .map((n) => path.join(dir, n));
  } catch {
    return [];
  }
}

/** The line of `id: NAME` for a field named in a render error (`members[2].kana` → `kana`). */
export function fieldLine(file: string, fieldName: string): number {
  const parts = fieldName.replace(/\[[0-9]+\]/g, '').split('.');
  const lines = readFileSync(file, 'utf8').split('\n');
  // A table field: look for the field after the table's own id.
  let from = 0;
  if (parts.length > 1) {
    const t = lines.findIndex((l) => new RegExp(`\\bid:\\s*["']?${escapeRe(parts[0]!)}["']?\\s*(,|}|$)`).test(l));
    if (t >= 0) from = t;
  }
  const re = new RegExp(`\\bid:\\s*["']?${escapeRe(parts[parts.length - 1]!)}["']?\\s*(,|}|$)`);
  const i = lines.findIndex((l, n) => n >= from && re.test(l));
  return i >= 0 ? i + 1 : 0;
}

/** `file:line` of the field a render error names, or just `file` (a label, a table as a whole). */
export function where(file: string, fieldName: string): string {
  const line = /^pages\[/.test(fieldName) ? 0 : fieldLine(file, fieldName);
  return line ? `${file}:${line}` : file;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface FormsCheck {
  templates: FormTemplate[];
  /** `file:line:column: path: reason` or `file:line: 様式 … の項目 …: reason`, one per problem. */
  problems: string[];
}

/**
 * Every `<configDir>/forms/*.yaml`: the file's structure (schema, binds, sizes; with its line),
 * duplicate ids, then a render with the sample data (missing glyphs, text that does not fit, more
 * rows than the table has). With no `fonts`, only the files are checked.
 */
export async function checkForms(configDir: string, fonts?: FontSet): Promise<FormsCheck> {
  const templates: FormTemplate[] = [];
  const problems: string[] = [];
  const ids = new Map<string, string>();
  for (const file of templateFiles(configDir)) {
    let t: FormTemplate;
    try {
      t = loadFormTemplate(file);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      problems.push(...e.issues.map((i: ConfigIssue) => formatIssue(i)));
      continue;
    }
    const other = ids.get(t.id);
    if (other) {
      problems.push(`${file}:${idLine(file)}: 様式 id ${t.id} が ${other} と重複しています`);
      continue;
    }
    ids.set(t.id, file);
    templates.push(t);
  }
  if (fonts) {
    for (const t of templates) {
      try {
        await renderPreview(fonts, t, { grid: false });
      } catch (e) {
        if (!(e instanceof FormRenderError)) throw e;
        problems.push(`${where(t.file, e.field)}: ${e.message}`);
      }
    }
  }
  return { templates, problems };
}

function idLine(file: string): number {
  const i = readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => /^id:/.test(l));
  return i + 1;
}

/**
 * The template whose id is `name`, read from its file alone (another file being edited does not
 * stop a preview). Throws the file's ConfigError when the file named `name.yaml` (or the one
 * with that id) is broken; undefined when no file has that id.
 */
export function findTemplate(configDir: string, name: string): FormTemplate | undefined {
  let broken: ConfigError | undefined;
  for (const file of templateFiles(configDir)) {
    try {
      const t = loadFormTemplate(file);
      if (t.id === name) return t;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const declared = /^id:\s*["']?([A-Za-z0-9_-]+)/m.exec(readFileSync(file, 'utf8'))?.[1];
      if (path.basename(file).replace(/\.ya?ml$/, '') === name || declared === name) broken = e;
    }
  }
  if (broken) throw broken;
  return undefined;
}

/** Ids of the templates that load, for the "no such template" message. */
export function templateIds(configDir: string): string[] {
  const out: string[] = [];
  for (const file of templateFiles(configDir)) {
    try {
      out.push(loadFormTemplate(file).id);
    } catch {
      // reported by `forms check`
    }
  }
  return out;
}
