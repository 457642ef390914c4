import { DomainError } from '../errors/domainError.js';

/**
 * Reads an uploaded file sent as the raw request body (the staff CSV import, the 転出証明書情報
 * file), refusing it with 413 as soon as it passes `limitBytes`, before more is read.
 */
export async function readRawBody(req: NodeJS.ReadableStream, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += b.length;
    if (size > limitBytes) throw new DomainError('input.tooLarge', { limit: `${Math.round(limitBytes / 1024 / 1024)} MB` });
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
