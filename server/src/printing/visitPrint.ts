import PDFDocument from 'pdfkit';
import { formatWareki } from '../domain/wareki.js';
import { todayInJapan } from '../domain/japanTime.js';
import type { ProcedureGuide } from '../notices/procedureGuide.js';
import type { FontSet } from './fonts.js';
import { MissingGlyphError } from './render.js';

/**
 * The procedure guide (手続き案内書, H-30): a list of variable length, so it is laid out as flowing
 * text rather than from a fixed template. Every character is checked against the font first.
 */
export function checkGuideGlyphs(fonts: FontSet, guide: ProcedureGuide, town: string): void {
  const texts: [string, string][] = [
    ['title', `${town} 手続きのご案内`],
    ['visitNo', guide.visitNo],
  ];
  for (const [i, it] of guide.items.entries()) {
    texts.push(
      [`items[${i}].name`, it.name],
      [`items[${i}].where`, `${it.section} ${it.counter}`],
      [`items[${i}].guidance`, it.guidance],
      [`items[${i}].bring`, it.bring.join('、')],
    );
  }
  for (const [field, text] of texts) {
    // Titles and names are set in Gothic, the rest in Mincho: check each against the fonts it uses.
    for (const role of field === 'title' || field.endsWith('.name') ? (['gothic', 'mincho'] as const) : (['mincho'] as const)) {
      const missing = fonts.missingGlyphs(text, role)[0];
      if (missing) throw new MissingGlyphError(missing.char, missing.codePoint, field, 'procedureGuide', fonts.fontName(role), text);
    }
  }
}

/** Draws the guide from a new A4 page of `doc` (its fonts registered as mincho and gothic). */
export function drawGuide(doc: PDFKit.PDFDocument, guide: ProcedureGuide, town: string): void {
  doc.addPage({ size: 'A4', margin: 50 });
  doc.font('gothic').fontSize(18).text(`${town} 手続きのご案内`);
  doc
    .font('gothic')
    .fontSize(10)
    .text(`来庁番号 ${guide.visitNo} ・ ${formatWareki(todayInJapan(guide.openedAt))}`);
  doc.moveDown();
  const left = guide.items.filter((i) => !i.done);
  doc
    .font('gothic')
    .fontSize(13)
    .text(left.length ? `これから行う手続き (${left.length} 件)` : 'すべての手続きが終わりました');
  for (const it of guide.items) {
    doc.moveDown(0.6);
    doc
      .font('gothic')
      .fontSize(12)
      .text(`${it.done ? '済' : '□'} ${it.name}`);
    doc
      .font('mincho')
      .fontSize(10)
      .text(`場所: ${it.section} ${it.counter}${it.deadline ? ` ・ 期限: ${formatWareki(it.deadline)}` : ''} ・ ${it.status}`);
    if (it.bring.length) doc.text(`持ち物: ${it.bring.join('、')}`);
    if (it.guidance) doc.fillColor('#333333').text(it.guidance).fillColor('black');
  }
}

export async function renderGuide(fonts: FontSet, guide: ProcedureGuide, town: string): Promise<Buffer> {
  checkGuideGlyphs(fonts, guide, town);
  // font: null keeps pdfkit from adding Helvetica; the parsed fonts are passed as they are (warm).
  const doc = new PDFDocument({
    autoFirstPage: false,
    font: null as unknown as string,
    info: { Title: `手続きのご案内 ${guide.visitNo}` },
  } as PDFKit.PDFDocumentOptions);
  doc.registerFont('mincho', fonts.font('mincho') as unknown as Buffer);
  doc.registerFont('gothic', fonts.font('gothic') as unknown as Buffer);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));
  drawGuide(doc, guide, town);
  doc.end();
  return done;
}
