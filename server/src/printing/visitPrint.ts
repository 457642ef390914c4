import type { Knex } from 'knex';
import PDFDocument from 'pdfkit';
import type { NoticeType } from '../domain/procedureTypes.js';
import { formatWareki } from '../domain/wareki.js';
import { todayInJapan } from '../domain/japanTime.js';
import type { Notice } from '../notices/notices.js';
import type { ProcedureGuide } from '../notices/procedureGuide.js';
import { presentNotice } from '../residents/present.js';
import { AddressPresenter, presenterFor, type Viewer } from '../residents/protection.js';
import { MASKED_ADDRESS } from '../residents/warnings.js';
import type { FontSet } from './fonts.js';
import { MissingGlyphError, type FormData } from './render.js';

/** The 異動の種別 check boxes of the 住民異動届 template. */
const KIND: Partial<Record<NoticeType, string>> = {
  moveIn: 'movein',
  specialMoveIn: 'movein',
  moveOut: 'moveout',
  specialMoveOut: 'moveout',
  moveAbroad: 'moveout',
  relocation: 'within',
  headChange: 'household',
  householdSplit: 'household',
  householdMerge: 'household',
  householdRestructure: 'household',
};

/**
 * The data of a notice for its form, through the one protection decision: a notice whose subject,
 * household, target household (転入 into a protected household) or typed address is protected
 * prints its addresses masked for a viewer without the right. The values themselves are replaced
 * (the presenter's output), and the masks tell the renderer which fields were masked.
 */
export async function noticeFormData(db: Knex, n: Notice, visitNo: string, viewer: Viewer | AddressPresenter): Promise<FormData> {
  const presenter = viewer instanceof AddressPresenter ? viewer : await presenterFor(db, viewer);
  const shown = presentNotice(presenter, n);
  const masked = shown.addressProtected && !presenter.canSee;
  const masks: Record<string, string> = masked ? { 'notice.newAddress': MASKED_ADDRESS, 'notice.oldAddress': MASKED_ADDRESS } : {};
  const head = n.members.find((m) => m.head) ?? n.members[0];
  const moving = n.members.filter((m) => m.moving);
  return {
    visit: { visitNo, date: n.reportedDate },
    subject: {
      name: head?.name ?? '',
      ...(head?.nameKana ? { kana: head.nameKana } : {}),
      ...(head?.birthDate ? { birthDate: head.birthDate } : {}),
    },
    household: {
      head: { name: head?.name ?? '' },
      members: moving.map((m) => ({
        name: m.name,
        kana: m.nameKana ?? '',
        birthDate: m.birthDate ?? '',
        sex: m.sex ?? '',
        relationship: m.relationship ?? '',
      })),
    },
    notice: {
      notifiedOn: n.reportedDate,
      movedOn: n.effectiveDate ?? '',
      newAddress: shown.data.newAddress ?? shown.data.nextAddress ?? '',
      oldAddress: shown.data.previousAddress ?? '',
      kind: KIND[n.type] ?? '',
    },
    answers: {},
    masks,
  };
}

/**
 * The procedure guide (手続き案内書, H-30): a list of variable length, so it is laid out as flowing
 * text rather than from a fixed template. Every character is checked against the font first.
 */
export async function renderGuide(fonts: FontSet, guide: ProcedureGuide, town: string): Promise<Buffer> {
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
  // font: null keeps pdfkit from adding Helvetica; the parsed fonts are passed as they are (warm).
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    font: null as unknown as string,
    info: { Title: `手続きのご案内 ${guide.visitNo}` },
  });
  doc.registerFont('mincho', fonts.font('mincho') as unknown as Buffer);
  doc.registerFont('gothic', fonts.font('gothic') as unknown as Buffer);
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));
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
  doc.end();
  return done;
}
