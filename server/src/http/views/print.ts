import { DomainError } from '../../errors/domainError.js';
import { FormRenderError, MissingGlyphError, UnmappedGaijiError } from '../../printing/render.js';
import type { Ctx } from '../kit.js';

/**
 * How printed forms leave the server: a PDF for the browser's viewer (staff print from there), and
 * the explanation staff get when a form cannot be printed as asked.
 */

/** Answers with a PDF shown inline (the browser's viewer prints it). */
export function sendPdf(ctx: Ctx, fileName: string, pdf: Buffer): void {
  ctx.type = 'application/pdf';
  ctx.set('Content-Disposition', `inline; filename="${fileName}"`);
  ctx.body = pdf;
}

/**
 * A form that cannot be printed as asked (a character the font lacks, a value that does not fit):
 * 422 with what to do, naming the template and the field. Other errors are returned unchanged.
 */
export function printProblem(e: unknown): unknown {
  // An unmapped 外字 names its code point in its own words (「未対応外字 (U+E001) があるため印刷できません: 氏名」).
  if (e instanceof UnmappedGaijiError)
    return new DomainError('print.unprintable', { detail: e.message, template: e.template, field: e.field });
  if (e instanceof MissingGlyphError)
    return new DomainError('print.missingGlyph', { char: e.char, codePoint: e.codePoint, template: e.template, field: e.field });
  if (e instanceof FormRenderError)
    return new DomainError('print.unprintable', { detail: e.message, template: e.template, field: e.field });
  return e;
}
