import type { IncomingMessage } from 'node:http';
import { DomainError } from '../errors/domainError.js';

/** How long the rest of a refused upload is read and thrown away before the connection is cut. */
const LINGER_MS = 30_000;

const sizeText = (bytes: number): string =>
  bytes >= 1024 * 1024 ? `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB` : `${Math.round(bytes / 1024)} KB`;

/** 413 naming the limit (the catalog's `input.tooLarge`). */
export const tooLarge = (limitBytes: number): DomainError => new DomainError('input.tooLarge', { limit: sizeText(limitBytes) });

type Upload = NodeJS.ReadableStream & Partial<Pick<IncomingMessage, 'headers' | 'socket' | 'complete' | 'readableEnded'>>;

/**
 * The rest of a refused body: read and dropped (nothing kept), so that the answer reaches a client
 * that is still sending (closing a socket with unread data resets it, and the client would see a
 * reset instead of the answer) and the kept-alive connection is clean for the next request (a body
 * left paused half-read made the next request on that connection hang); after LINGER_MS the
 * connection is cut (a client that never stops).
 */
export function discardRest(req: Upload): Promise<void> {
  if (req.complete || req.readableEnded) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      req.socket?.destroy();
      resolve();
    }, LINGER_MS);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    req.on('data', () => undefined);
    req.once('end', done);
    req.once('close', done);
    req.once('error', done);
    req.resume();
  });
}

/**
 * Reads an uploaded file sent as the raw request body (the staff CSV import, the 転出証明書情報
 * file, RPA evidence), streaming: a declared `Content-Length` over `limitBytes` is refused with
 * 413 before anything is read, and an undeclared (chunked) body as soon as it passes the limit —
 * at most `limitBytes` is ever held. A compressed body (`Content-Encoding` other than identity)
 * is refused with 400 (uploads are sent as they are; nothing here inflates), and a client that
 * breaks off the upload gets 400, never a 500.
 */
export async function readRawBody(req: Upload, limitBytes: number): Promise<Buffer> {
  const encoding = String(req.headers?.['content-encoding'] ?? 'identity')
    .trim()
    .toLowerCase();
  if (encoding !== 'identity' && encoding !== '') {
    void discardRest(req);
    throw new DomainError('input.badEncoding');
  }
  const declared = req.headers?.['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) {
    void discardRest(req);
    throw tooLarge(limitBytes);
  }
  if (req.complete || req.readableEnded) return Buffer.alloc(0);
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onError);
      req.removeListener('close', onClose);
    };
    const onData = (chunk: Buffer | string) => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += b.length;
      if (size > limitBytes) {
        cleanup();
        chunks.length = 0;
        void discardRest(req);
        reject(tooLarge(limitBytes));
        return;
      }
      chunks.push(b);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = () => {
      cleanup();
      reject(new DomainError('input.unreadable'));
    };
    const onClose = () => {
      // Closed before the end: the client broke off the upload.
      if (req.complete) return;
      cleanup();
      reject(new DomainError('input.unreadable'));
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
    req.once('close', onClose);
  });
}
