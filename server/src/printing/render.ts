import PDFDocument from 'pdfkit';
import { formatWareki, toWarekiParts } from '../domain/wareki.js';
import { codePointLabel, splitChars, type FontRole, type FontSet } from './fonts.js';
import { pageSizesMm, type FormField, type FormTable, type FormTemplate } from './template.js';

/** A person as forms show them; dates are `YYYY-MM-DD` (西暦), turned into 和暦 by the template. */
export interface PersonData {
  name?: string;
  kana?: string;
  birthDate?: string;
  /** `1` 男, `2` 女 (住基 code) or whatever the template's `when` compares with. */
  sex?: string;
  relationship?: string;
  address?: string;
  phone?: string;
}

export interface CertificateLine {
  label?: string;
  options?: string;
  count?: number;
  fee?: number;
  amount?: number;
  note?: string;
}

/**
 * What a form is filled with. Values arrive already masked for 支援措置 where the viewer lacks the
 * right: the caller decides. `masks` (by binding, e.g. `subject.address` or
 * `household.members[1].address`) gives the text printed as is by fields marked `masked: true`.
 */
export interface FormData {
  subject?: PersonData;
  visit?: { visitNo?: string; date?: string };
  household?: { head?: { name?: string; kana?: string }; address?: string; members?: PersonData[] };
  answers?: Record<string, unknown>;
  notice?: Record<string, unknown>;
  certificate?: {
    total?: number;
    purpose?: string;
    count?: number;
    requester?: { name?: string; kana?: string; address?: string; phone?: string; relationship?: string };
    lines?: CertificateLine[];
  };
  masks?: Record<string, string>;
}

export interface FormToRender {
  template: FormTemplate;
  data: FormData;
}

/** A form cannot be printed as asked: names the template and the field. */
export class FormRenderError extends Error {
  constructor(
    message: string,
    readonly template: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'FormRenderError';
  }
}

/** The font has no glyph for a character (pdfkit would print a blank `.notdef` box). */
export class MissingGlyphError extends FormRenderError {
  constructor(
    readonly char: string,
    readonly codePoint: string,
    field: string,
    template: string,
    readonly fontName: string,
    readonly text: string,
  ) {
    super(
      `様式 ${template} の項目 ${field}: 文字「${char}」(${codePoint}) がフォント ${fontName} にありません (値: ${text})。外字の登録か、字形の置き換えが必要です`,
      template,
      field,
    );
    this.name = 'MissingGlyphError';
  }
}

const PT_PER_MM = 72 / 25.4;
const pt = (mm: number) => mm * PT_PER_MM;
const marks = { check: '✓', circle: '○' } as const;

/** One field with its value resolved, ready to check and draw. */
interface Resolved {
  field: FormField;
  /** Name in messages: `birthEra` or `members[2].kana`. */
  name: string;
  text: string;
  /** The text is a caller's mask: printed on one line, whatever boxes or vertical say. */
  plain: boolean;
  /** Table rows are drawn lower by this much, mm. */
  dy: number;
  /** An image field's PNG (the resident's signature from the resident screen). */
  image?: Buffer;
}

interface ResolvedPage {
  background?: string;
  fields: Resolved[];
}

function lookup(root: unknown, segments: string[]): unknown {
  let v = root;
  for (const s of segments) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[s];
  }
  return v;
}

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === '' || v === 0) return false;
  if (typeof v === 'string' && ['0', 'false', 'no', 'いいえ'].includes(v.trim())) return false;
  return true;
}

function valueText(f: FormField, v: unknown, template: string, name: string): string {
  if (f.checkmark) {
    const on = f.when !== undefined ? v !== undefined && v !== null && String(v) === f.when : truthy(v);
    return on ? marks[f.mark ?? 'check'] : '';
  }
  if (v === undefined || v === null || v === '') return '';
  if (f.wareki) {
    const s = String(v);
    if (f.wareki === 'full') return formatWareki(s);
    const p = toWarekiParts(s);
    if (!p)
      throw new FormRenderError(
        `様式 ${template} の項目 ${name}: 「${s}」を和暦にできません (YYYY-MM-DD で渡してください)`,
        template,
        name,
      );
    if (f.wareki === 'era') return p.era;
    if (f.wareki === 'year') return p.year === 1 ? '元' : String(p.year);
    return String(f.wareki === 'month' ? p.month : p.day);
  }
  if (f.format === 'number' && typeof v === 'number' && Number.isFinite(v)) return v.toLocaleString('ja-JP');
  if (Array.isArray(v)) return v.map(String).join('、');
  return String(v);
}

function resolveField(
  t: FormTemplate,
  data: FormData,
  f: FormField,
  name: string,
  dy: number,
  row?: { table: FormTable; index: number; item: unknown },
): Resolved {
  let key: string;
  let v: unknown;
  if (f.bind.startsWith('static:')) {
    key = '';
    v = f.bind.slice('static:'.length);
  } else if (row && f.bind.startsWith('row.')) {
    const prop = f.bind.slice(4);
    key = `${row.table.source}[${row.index}].${prop}`;
    v = lookup(row.item, [prop]);
  } else {
    key = f.bind;
    v = lookup(data, f.bind.split('.'));
  }
  const mask = f.masked && key ? data.masks?.[key] : undefined;
  if (mask !== undefined) return { field: f, name, text: mask, plain: true, dy };
  // An image field prints a PNG it is given and nothing else (no text is drawn in its place).
  if (f.image)
    return Buffer.isBuffer(v) ? { field: f, name, text: ' ', plain: false, dy, image: v } : { field: f, name, text: '', plain: false, dy };
  return { field: f, name, text: valueText(f, v, t.id, name), plain: false, dy };
}

function resolve(t: FormTemplate, data: FormData): ResolvedPage[] {
  return t.pages.map((p, pi) => {
    const fields: Resolved[] = p.fields.map((f) => resolveField(t, data, f, f.id, 0));
    for (const table of p.tables) {
      const items = (table.source === 'household.members' ? data.household?.members : data.certificate?.lines) ?? [];
      if (items.length > table.rows) {
        throw new FormRenderError(
          `様式 ${t.id} の表 ${table.id}: ${items.length} 件ありますが、欄は ${table.rows} 行です (続きの用紙が必要です)`,
          t.id,
          table.id,
        );
      }
      items.forEach((item, index) => {
        for (const f of table.fields)
          fields.push(resolveField(t, data, f, `${table.id}[${index}].${f.id}`, index * table.rowPitch, { table, index, item }));
      });
    }
    const background = p.background ?? (pi === 0 ? t.background : undefined);
    return background ? { background, fields } : { fields };
  });
}

/** What staff call the value of a binding in messages (the field id when it has no name). */
const BIND_LABELS: Readonly<Record<string, string>> = {
  name: '氏名',
  kana: 'フリガナ',
  address: '住所',
  phone: '電話番号',
  relationship: '続柄',
  oldAddress: '従前の住所',
  newAddress: '新住所',
  honseki: '本籍',
  hittousha: '筆頭者',
};

function fieldLabel(r: Resolved): string {
  const bind = r.field.bind;
  const last = bind.split('.').pop() ?? '';
  const base = BIND_LABELS[last] ?? r.name;
  if (bind.startsWith('household.head.')) return `世帯主の${base}`;
  if (bind.startsWith('certificate.requester.')) return `請求者の${base}`;
  const row = /\[(\d+)\]/.exec(r.name);
  return row ? `${base} (${Number(row[1]) + 1} 行目)` : base;
}

/** BMP private use (U+E000–U+F8FF): a 外字 the 同定マップ did not map. Planes 15–16 are 行政事務標準文字 and pass. */
const UNMAPPED_GAIJI = /[\uE000-\uF8FF]/;

/**
 * A 外字 the 同定マップ did not map reached a form as a BMP private-use character. Whatever glyph a
 * font has there is not the person's character, so the form is refused whatever the font holds
 * (never printed with a wrong or blank character), naming the code point and the field in Japanese.
 */
export class UnmappedGaijiError extends MissingGlyphError {
  constructor(char: string, codePoint: string, field: string, label: string, template: string, fontName: string, text: string) {
    super(char, codePoint, field, template, fontName, text);
    this.message = `未対応外字 (${codePoint}) があるため印刷できません: ${label}`;
    this.name = 'UnmappedGaijiError';
  }
}

function checkUnmappedGaiji(fonts: FontSet, t: FormTemplate, r: Resolved): void {
  const m = UNMAPPED_GAIJI.exec(r.text);
  if (!m) return;
  throw new UnmappedGaijiError(m[0], codePointLabel(m[0]), r.name, fieldLabel(r), t.id, fonts.fontName(r.field.font), r.text);
}

/** Every character of every field and label against its font, before anything is drawn. */
function checkGlyphs(fonts: FontSet, t: FormTemplate, pages: ResolvedPage[]): void {
  for (const p of pages) for (const r of p.fields) if (r.text) checkUnmappedGaiji(fonts, t, r);
  const check = (text: string, role: FontRole, name: string) => {
    const missing = fonts.missingGlyphs(text, role);
    if (missing.length) throw new MissingGlyphError(missing[0]!.char, missing[0]!.codePoint, name, t.id, fonts.fontName(role), text);
  };
  pages.forEach((p, pi) => {
    for (const r of p.fields) if (r.text) check(r.text, r.field.font, r.name);
    t.pages[pi]!.labels.forEach((l, li) => check(l.text, 'gothic', `pages[${pi}].labels[${li}]`));
  });
}

type Doc = PDFKit.PDFDocument;

/** Largest size ≤ the field's that fits `width` pt at `perPt` pt of width per pt of size, or an error. */
function fitSize(f: FormField, perPt: number, widthPt: number, heightPt: number, t: FormTemplate, name: string, what: string): number {
  let size = Math.min(f.size, heightPt);
  if (perPt * size <= widthPt + 1e-6) return size;
  if (!f.shrinkToFit)
    throw new FormRenderError(`様式 ${t.id} の項目 ${name}: ${what}が幅に収まりません (shrinkToFit が false)`, t.id, name);
  size = Math.floor((widthPt / perPt) * 10) / 10;
  if (size < f.minSize) {
    throw new FormRenderError(
      `様式 ${t.id} の項目 ${name}: ${what}が ${f.minSize} pt まで小さくしても収まりません (${size.toFixed(1)} pt が必要)`,
      t.id,
      name,
    );
  }
  return size;
}

function drawField(doc: Doc, t: FormTemplate, r: Resolved): void {
  const f = r.field;
  if (!r.text) return;
  const x = pt(f.x);
  const y = pt(f.y + r.dy);
  const w = pt(f.w);
  const h = pt(f.h);
  if (r.image) {
    doc.image(r.image, x, y, { fit: [w, h], align: 'center', valign: 'center' });
    return;
  }
  doc.font(f.font);
  if (f.boxes && !r.plain) {
    const chars = splitChars(r.text);
    const { count, pitch } = f.boxes;
    if (chars.length > count) {
      throw new FormRenderError(
        `様式 ${t.id} の項目 ${r.name}: ${chars.length} 文字ありますが、枠は ${count} 個です (${r.text})`,
        t.id,
        r.name,
      );
    }
    doc.fontSize(1);
    const widest = Math.max(...chars.map((c) => doc.widthOfString(c)));
    const box = pt(pitch);
    const size = fitSize(f, widest, box * 0.92, h, t, r.name, '文字が枠');
    doc.fontSize(size);
    const start = f.align === 'right' ? count - chars.length : f.align === 'center' ? Math.floor((count - chars.length) / 2) : 0;
    chars.forEach((c, i) => {
      const bx = x + (start + i) * box;
      doc.text(c, bx + (box - doc.widthOfString(c)) / 2, y + h / 2, { lineBreak: false, baseline: 'middle' });
    });
    return;
  }
  if (f.vertical && !r.plain) {
    const chars = splitChars(r.text);
    doc.fontSize(1);
    const widest = Math.max(...chars.map((c) => doc.widthOfString(c)));
    // One character per line: the size is bound by the height shared out and by the width.
    let size = fitSize(f, chars.length, h, w, t, r.name, '縦書きの文字が高さ');
    if (widest * size > w) size = fitSize({ ...f, size }, widest, w, h, t, r.name, '縦書きの文字が幅');
    doc.fontSize(size);
    const top = f.align === 'right' ? y + h - chars.length * size : f.align === 'center' ? y + (h - chars.length * size) / 2 : y;
    chars.forEach((c, i) => {
      doc.text(c, x + (w - doc.widthOfString(c, { features: ['vert'] })) / 2, top + (i + 0.5) * size, {
        lineBreak: false,
        baseline: 'middle',
        features: ['vert'],
      });
    });
    return;
  }
  doc.fontSize(1);
  const perPt = doc.widthOfString(r.text);
  const size = fitSize(f, perPt, w, h, t, r.name, '文字');
  doc.fontSize(size);
  const tw = perPt * size;
  const tx = f.align === 'right' ? x + w - tw : f.align === 'center' || f.checkmark ? x + (w - tw) / 2 : x;
  doc.text(r.text, tx, y + h / 2, { lineBreak: false, baseline: 'middle' });
}

function drawPage(doc: Doc, t: FormTemplate, pi: number, page: ResolvedPage): void {
  const [wmm, hmm] = pageSizesMm[t.page.size];
  const size: [number, number] = t.page.orientation === 'landscape' ? [pt(hmm), pt(wmm)] : [pt(wmm), pt(hmm)];
  doc.addPage({ size, margin: 0 });
  if (page.background) doc.image(page.background, 0, 0, { width: size[0], height: size[1] });
  const p = t.pages[pi]!;
  doc.strokeColor('black').fillColor('black');
  for (const r of p.rects) doc.lineWidth(r.width).rect(pt(r.x), pt(r.y), pt(r.w), pt(r.h)).stroke();
  for (const l of p.lines) doc.lineWidth(l.width).moveTo(pt(l.x1), pt(l.y1)).lineTo(pt(l.x2), pt(l.y2)).stroke();
  // Character boxes that the background does not have.
  const boxed = [
    ...p.fields.map((f) => ({ f, dy: 0 })),
    ...p.tables.flatMap((tb) => Array.from({ length: tb.rows }, (_, i) => tb.fields.map((f) => ({ f, dy: i * tb.rowPitch }))).flat()),
  ];
  for (const { f, dy } of boxed) {
    if (!f.boxes?.outline) continue;
    doc.lineWidth(0.3);
    for (let i = 0; i < f.boxes.count; i++) doc.rect(pt(f.x + i * f.boxes.pitch), pt(f.y + dy), pt(f.boxes.pitch), pt(f.h)).stroke();
  }
  doc.font('gothic');
  for (const l of p.labels) {
    doc.fontSize(l.size);
    if (l.vertical) {
      splitChars(l.text).forEach((c, i) =>
        doc.text(c, pt(l.x), pt(l.y) + i * l.size, { lineBreak: false, baseline: 'top', features: ['vert'] }),
      );
      continue;
    }
    const tw = doc.widthOfString(l.text);
    const x = l.w === undefined || l.align === 'left' ? pt(l.x) : l.align === 'right' ? pt(l.x + l.w) - tw : pt(l.x) + (pt(l.w) - tw) / 2;
    doc.text(l.text, x, pt(l.y), { lineBreak: false, baseline: 'top' });
  }
  for (const r of page.fields) drawField(doc, t, r);
}

/**
 * One PDF with every form's pages, in order (a bundle when several). Every value is checked
 * against its font first: a character the font lacks throws MissingGlyphError and nothing is
 * printed. Fonts are embedded as subsets (pdfkit's default).
 */
export async function renderForms(
  fonts: FontSet,
  forms: FormToRender[],
  info: { title?: string; after?: (doc: PDFKit.PDFDocument) => void } = {},
): Promise<Buffer> {
  const resolved = forms.map(({ template, data }) => {
    const pages = resolve(template, data);
    checkGlyphs(fonts, template, pages);
    return { template, pages };
  });
  const doc = new PDFDocument({
    autoFirstPage: false,
    // No default Helvetica: only the two Japanese fonts are used and embedded.
    font: null as unknown as string,
    info: { Title: info.title ?? forms.map((f) => f.template.title).join('・'), Producer: 'madoguchi' },
    pdfVersion: '1.7',
    lang: 'ja-JP',
  } as PDFKit.PDFDocumentOptions);
  // pdfkit ≥ 0.18 takes the parsed fontkit object, so the 46 MB font is not parsed again.
  doc.registerFont('mincho', fonts.font('mincho') as unknown as Buffer);
  doc.registerFont('gothic', fonts.font('gothic') as unknown as Buffer);
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolveDone, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolveDone(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  try {
    for (const { template, pages } of resolved) pages.forEach((p, pi) => drawPage(doc, template, pi, p));
    // Pages laid out by the caller (the procedure guide of a visit bundle), in the same document.
    info.after?.(doc);
  } catch (e) {
    doc.end();
    await done.catch(() => undefined);
    throw e;
  }
  doc.end();
  return done;
}
