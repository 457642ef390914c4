import PDFDocument from 'pdfkit';
import { todayInJapan } from '../domain/japanTime.js';
import { procedureStatusLabels, type ProcedureStatus } from '../notices/visitProcedures.js';
import type { GuideItem, ProcedureGuide } from '../notices/procedureGuide.js';
import { FontSet } from '../printing/fonts.js';
import { MissingGlyphError } from '../printing/render.js';
import { guideFontFamilies, guideFontsFor, type GuideFontRole, type GuideFonts, type GuideText } from './guideFonts.js';
import { BASE_LANGUAGE, type Languages, type Lookup, type ProcedureText } from './languages.js';

/**
 * The procedure guide (手続きのご案内, H-30) in a language of config/languages.
 *
 * The layout is printing/visitPrint.ts's `drawGuide` (A4, margin 50; title 18 pt, the visit line
 * 10 pt, the count 13 pt, per procedure its name 12 pt, then place · deadline · status, things to
 * bring and the guidance in 10 pt), duplicated here rather than shared: that guide's output is
 * pinned by its tests, and this one differs in ways a shared function would have to switch on —
 * texts from the language files, several fonts in one line (the language's own, and the printing
 * fonts for the town, the counters and whatever falls back to Japanese), the checkbox drawn
 * instead of 済/□ (not every script's font has those), the Japanese procedure name under a
 * translated one (to show at the counter), and a footer.
 *
 * The guide is first laid out as paragraphs of text segments (`guideParagraphs`): the same list is
 * checked glyph by glyph (`checkGuideIn`) and drawn, so what is checked is what is printed.
 */

/** A guide item, with the ids when the caller has them (else found by the Japanese name and status label). */
export type LocalizableGuideItem = GuideItem & { procedureId?: string; statusCode?: ProcedureStatus };
export type LocalizableGuide = Omit<ProcedureGuide, 'items'> & { items: LocalizableGuideItem[] };

export interface Segment {
  text: string;
  script: GuideText['script'];
}

export interface GuideParagraph {
  field: string;
  role: GuideFontRole;
  size: number;
  color?: string;
  /** A checkbox before the text: empty for a procedure still to do, ticked for one done. */
  box?: 'todo' | 'done';
  /** Space before, in lines (pdfkit's moveDown). */
  before?: number;
  segments: Segment[];
}

const statusByLabel = new Map(Object.entries(procedureStatusLabels).map(([code, label]) => [label, code as ProcedureStatus]));

/**
 * A language text with its {params} filled in, as segments: the text itself is in the language
 * (or in Japanese where it fell back), each value in its own script.
 */
function fill(code: string, found: Lookup, params: Record<string, Segment | string> = {}): Segment[] {
  const own: Segment['script'] = found.from === BASE_LANGUAGE && code !== BASE_LANGUAGE ? 'ja' : 'local';
  const out: Segment[] = [];
  let last = 0;
  for (const m of found.text.matchAll(/\{([A-Za-z][A-Za-z0-9]*)\}/g)) {
    const value = params[m[1]!];
    if (value === undefined) throw new Error(`差し込み {${m[1]}} の値がありません (${found.text})`);
    if (m.index > last) out.push({ text: found.text.slice(last, m.index), script: own });
    out.push(typeof value === 'string' ? { text: value, script: own } : value);
    last = m.index + m[0].length;
  }
  if (last < found.text.length) out.push({ text: found.text.slice(last), script: own });
  return out.filter((s) => s.text !== '');
}

/** The paragraphs of the guide in language `code`, in order. */
export function guideParagraphs(code: string, guide: LocalizableGuide, town: string, languages: Languages): GuideParagraph[] {
  const info = languages.info(code);
  const japanese = guideFontFamilies[info.font].japanese;
  const t = (key: string, params?: Record<string, Segment | string>) => fill(code, languages.lookup(code, key), params);
  const local = (text: string): Segment => ({ text, script: 'local' });
  const ja = (text: string): Segment => ({ text, script: 'ja' });
  const from = (lang: string) => (lang === BASE_LANGUAGE && code !== BASE_LANGUAGE ? 'ja' : 'local');
  const date = (d: string) => local(languages.formatDate(code, d));

  const out: GuideParagraph[] = [
    { field: 'guide.title', role: 'heading', size: 18, segments: t('guide.title', { town: ja(town) }) },
    {
      field: 'guide.visitLine',
      role: 'heading',
      size: 10,
      segments: t('guide.visitLine', { visitNo: local(guide.visitNo), date: date(todayInJapan(guide.openedAt)) }),
    },
  ];
  const left = guide.items.filter((i) => !i.done).length;
  out.push({
    field: left ? 'guide.remaining' : 'guide.allDone',
    role: 'heading',
    size: 13,
    before: 1,
    segments: left ? t('guide.remaining', { count: local(String(left)) }) : t('guide.allDone'),
  });

  const separator = t('guide.separator');
  const listSeparator = languages.lookup(code, 'guide.listSeparator').text;
  for (const [i, item] of guide.items.entries()) {
    const id = item.procedureId ?? languages.procedures.find((p) => p.name === item.name)?.id;
    const def: ProcedureText = { id: id ?? '', name: item.name, guidance: item.guidance, bring: item.bring };
    const p = id ? languages.procedure(code, def) : { ...def, bring: [...def.bring], from: { name: 'ja', guidance: 'ja', bring: 'ja' } };
    // Named by the language key when the procedure is known, so a missing glyph points at the text to fix.
    const field = (f: string) => (id ? `procedures.${id}.${f}` : `items[${i}].${f}`);
    out.push({
      field: field('name'),
      role: 'heading',
      size: 12,
      before: 0.6,
      box: item.done ? 'done' : 'todo',
      segments: [{ text: p.name, script: from(p.from.name) }],
    });
    // The Japanese name under a translated one, to show at the counter.
    if (!japanese && p.from.name !== BASE_LANGUAGE)
      out.push({ field: `items[${i}].japaneseName`, role: 'body', size: 8, color: '#555555', segments: [ja(item.name)] });
    const status = item.statusCode ?? statusByLabel.get(item.status);
    const where: Segment[] = [...t('guide.place', { place: ja(`${item.section} ${item.counter}`.trim()) })];
    if (item.deadline) where.push(...separator, ...t('guide.deadline', { date: date(item.deadline) }));
    where.push(...separator, ...(status ? t(`guide.status.${status}`) : [ja(item.status)]));
    out.push({ field: `items[${i}].where`, role: 'body', size: 10, segments: where });
    if (p.bring.length)
      out.push({
        field: field('bring'),
        role: 'body',
        size: 10,
        segments: t('guide.bring', {
          items: { text: p.bring.join(p.from.bring === code ? listSeparator : '、'), script: from(p.from.bring) },
        }),
      });
    if (p.guidance)
      out.push({
        field: field('guidance'),
        role: 'body',
        size: 10,
        color: '#333333',
        segments: [{ text: p.guidance, script: from(p.from.guidance) }],
      });
  }
  out.push({ field: 'guide.footer', role: 'body', size: 9, before: 1.2, segments: t('guide.footer') });
  if (!japanese)
    out.push({ field: 'guide.translationNote', role: 'body', size: 8, color: '#555555', segments: t('guide.translationNote') });
  return out;
}

/** The strings of the paragraphs, for the glyph check. */
export function guideTexts(paragraphs: readonly GuideParagraph[]): GuideText[] {
  return paragraphs.flatMap((p) => p.segments.map((s) => ({ field: p.field, text: s.text, role: p.role, script: s.script })));
}

/** Throws MissingGlyphError for the first character of the guide that its fonts cannot print. */
export function checkGuideIn(
  code: string,
  guide: LocalizableGuide,
  town: string,
  languages: Languages,
  fonts: FontSet = FontSet.load(),
): void {
  const gf = guideFontsFor(languages.info(code), fonts);
  const missing = gf.missingGlyphs(guideTexts(guideParagraphs(code, guide, town, languages)))[0];
  if (missing)
    throw new MissingGlyphError(missing.char, missing.codePoint, missing.field, `procedureGuide (${code})`, missing.font, missing.text);
}

function drawParagraph(doc: PDFKit.PDFDocument, gf: GuideFonts, p: GuideParagraph): void {
  const left = doc.page.margins.left;
  const runs = p.segments.flatMap((s) => gf.runs(s.text, p.role, s.script)).filter((r) => r.text !== '');
  if (!runs.length) return;
  // pdfkit sets each font on its own baseline (its ascender below the line's top) and advances by
  // the line height of the font that ends the line: fonts of different heights in one paragraph
  // (Lohit Devanagari is much taller than IPAexゴシック) would sit unevenly and overlap. So every
  // run is set on one baseline and every line advances by the tallest font of the paragraph.
  const metrics = [...new Set(runs.map((r) => r.font))].map((f) => gf.metrics(f));
  const baseline = Math.max(...metrics.map((m) => m.ascender)) * p.size;
  const lineHeight = Math.max(...metrics.map((m) => m.lineHeight)) * p.size;
  if (p.before) doc.moveDown(p.before);
  doc.fontSize(p.size).fillColor(p.color ?? 'black');
  if (p.box) {
    // A checkbox drawn, not a glyph (済, □, ✓ are not in every script's font), standing on the baseline.
    const s = p.size * 0.72;
    const y = doc.y + baseline - s;
    doc.save().lineWidth(0.8).strokeColor('black').rect(left, y, s, s).stroke();
    if (p.box === 'done')
      doc
        .moveTo(left + s * 0.18, y + s * 0.55)
        .lineTo(left + s * 0.42, y + s * 0.8)
        .lineTo(left + s * 0.85, y + s * 0.2)
        .lineWidth(1.2)
        .stroke();
    doc.restore();
    doc.x = left + p.size * 1.2;
  }
  runs.forEach((r, i) => {
    const gap = lineHeight - gf.metrics(r.font).lineHeight * p.size;
    doc.font(r.font).text(r.text, { continued: i < runs.length - 1, baseline: -baseline, lineGap: gap || 1e-6 });
  });
  doc.x = left;
  doc.fillColor('black');
}

/** Draws the guide from a new A4 page of `doc`, whose fonts `GuideFonts.registered()` has registered. */
export function drawGuideIn(doc: PDFKit.PDFDocument, gf: GuideFonts, paragraphs: readonly GuideParagraph[]): void {
  doc.addPage({ size: 'A4', margin: 50 });
  for (const p of paragraphs) drawParagraph(doc, gf, p);
}

export interface RenderGuideOptions {
  /** The printing fonts (municipality.yaml `printing.fonts`); they set the Japanese on every guide. */
  fonts?: FontSet;
}

/**
 * The procedure guide of a visit as a PDF in language `code`: every character checked against the
 * fonts first (MissingGlyphError), the language's fonts and the Japanese printing fonts embedded
 * as subsets.
 */
export async function renderGuideIn(
  code: string,
  guide: LocalizableGuide,
  town: string,
  languages: Languages,
  options: RenderGuideOptions = {},
): Promise<Buffer> {
  const fonts = options.fonts ?? FontSet.load();
  const info = languages.info(code);
  const gf = guideFontsFor(info, fonts);
  const paragraphs = guideParagraphs(code, guide, town, languages);
  const missing = gf.missingGlyphs(guideTexts(paragraphs))[0];
  if (missing)
    throw new MissingGlyphError(missing.char, missing.codePoint, missing.field, `procedureGuide (${code})`, missing.font, missing.text);
  // font: null keeps pdfkit from adding Helvetica; the parsed fonts are passed as they are (warm).
  const doc = new PDFDocument({
    autoFirstPage: false,
    font: null as unknown as string,
    lang: info.locale,
    info: { Title: languages.t(code, 'guide.documentTitle', { visitNo: guide.visitNo }) },
  } as PDFKit.PDFDocumentOptions);
  for (const [name, font] of gf.registered()) doc.registerFont(name, font as unknown as Buffer);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));
  drawGuideIn(doc, gf, paragraphs);
  doc.end();
  return done;
}

/**
 * A guide with every procedure of the catalog on it (not done, with a deadline): what
 * `madoguchi languages check` checks the fonts against, so that no guide of any visit can lack a glyph.
 */
export function guideOfAllProcedures(
  procedures: readonly (ProcedureText & { section?: string; counter?: string })[],
  counters: readonly { id: string; name: string }[],
): LocalizableGuide {
  return {
    visitNo: '20260401-001',
    openedAt: new Date('2026-04-01T00:00:00Z'),
    items: procedures.map((p) => ({
      procedureId: p.id,
      name: p.name,
      section: p.section ?? '',
      counter: counters.find((c) => c.id === p.counter)?.name ?? p.counter ?? '',
      done: false,
      status: procedureStatusLabels.pending,
      statusCode: 'pending' as const,
      guidance: p.guidance,
      bring: [...p.bring],
      deadline: '2026-04-15',
    })),
  };
}
