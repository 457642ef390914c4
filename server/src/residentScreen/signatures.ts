import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import PDFDocument from 'pdfkit';
import { appendAudit } from '../audit/trail.js';
import type { AuditActor } from '../auth/staffRepo.js';
import { dbDate } from '../db/values.js';
import { DomainError } from '../errors/domainError.js';

/**
 * The resident's signature of a notice (the owner of `notice_signatures`): drawn on the resident
 * screen (a PNG of the strokes, its SHA-256 in the row and in the audit record) or on paper (the
 * notice records which). One per notice; signing again replaces it, and the audit trail keeps both.
 */

/** A signature image larger than this is refused: a full-width stroke PNG is 20–60 KB, and its base64 must fit the JSON body limit (256 KB). */
export const MAX_SIGNATURE_BYTES = 150_000;
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export type SignatureMethod = 'touch' | 'paper';
export const signatureMethodLabels: Readonly<Record<SignatureMethod, string>> = {
  touch: '電子署名 (タッチパネル)',
  paper: '紙に署名',
};

export interface NoticeSignature {
  noticeId: number;
  method: SignatureMethod;
  image: Buffer | null;
  sha256: string | null;
  signedAt: Date;
}

/**
 * The PNG of a `data:image/png;base64,…` URL, checked; a DomainError for anything else. The image
 * must embed in a PDF as the printer will embed it: a truncated or damaged PNG is refused when it
 * is signed, not found when the 届書 is printed (pdfkit throws 'Incomplete or corrupt PNG file').
 */
export async function signaturePng(dataUrl: string): Promise<Buffer> {
  const m = /^data:image\/png;base64,([A-Za-z0-9+/]+={0,2})$/.exec(dataUrl);
  if (!m) throw new DomainError('residentScreen.badSignature');
  const png = Buffer.from(m[1]!, 'base64');
  if (png.length > MAX_SIGNATURE_BYTES || png.length < 64 || !png.subarray(0, 8).equals(PNG_MAGIC) || !(await embeds(png)))
    throw new DomainError('residentScreen.badSignature');
  return png;
}

async function embeds(png: Buffer): Promise<boolean> {
  try {
    const doc = new PDFDocument({ size: [10, 10] });
    doc.on('data', () => undefined);
    const done = new Promise<void>((resolve, reject) => {
      doc.on('end', resolve);
      doc.on('error', reject);
    });
    doc.image(png, 0, 0, { fit: [10, 10] });
    doc.end();
    await done;
    return true;
  } catch {
    return false;
  }
}

export async function recordSignature(
  knex: Knex,
  s: { noticeId: number; method: SignatureMethod; image: Buffer | null; staffId: number; screenId: number | null },
  actor: AuditActor,
  now = new Date(),
): Promise<NoticeSignature> {
  const sha256 = s.image ? createHash('sha256').update(s.image).digest('hex') : null;
  await knex.transaction(async (trx) => {
    await trx('notice_signatures').where({ notice_id: s.noticeId }).del();
    await trx('notice_signatures').insert({
      notice_id: s.noticeId,
      method: s.method,
      image: s.image,
      sha256,
      signed_at: now,
      recorded_by: s.staffId,
      screen_id: s.screenId,
    });
    await appendAudit(trx, {
      ...actor,
      action: 'notice.sign',
      targetKind: 'notice',
      targetIds: [String(s.noticeId)],
      result: 'success',
      detail: { method: s.method, ...(sha256 ? { sha256 } : {}), ...(s.screenId ? { screen: s.screenId } : {}) },
    });
  });
  return { noticeId: s.noticeId, method: s.method, image: s.image, sha256, signedAt: now };
}

export async function signatureOf(knex: Knex, noticeId: number): Promise<NoticeSignature | null> {
  const r = await knex('notice_signatures').where({ notice_id: noticeId }).first();
  if (!r) return null;
  const image = r.image === null || r.image === undefined ? null : Buffer.from(r.image as Uint8Array);
  return { noticeId, method: r.method as SignatureMethod, image, sha256: r.sha256 ?? null, signedAt: dbDate(r.signed_at)! };
}
