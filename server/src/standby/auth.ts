import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Shipping requests between the two machines are signed with HMAC-SHA256 over the shared secret
 * (`<data-dir>/standby/secret`), and so are the answers. Chosen over a bearer token because the
 * secret never crosses the wire (a misconfigured plain-HTTP pair still does not leak it) and the
 * signature covers the body's SHA-256: a changed chunk or manifest is refused before it is read.
 * The timestamp bounds replays to ±MAX_SKEW_MS; a replay inside it is harmless because shipments
 * carry an epoch and a sequence number the standby only lets grow. Confidentiality is TLS's job
 * (https peer URLs, verified against the system CAs or `peerCa`).
 */
export const SIGNATURE_HEADER = 'x-madoguchi-standby';
export const BODY_SHA_HEADER = 'x-content-sha256';
export const MAX_SKEW_MS = 300_000;

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
export const EMPTY_SHA = sha256('');

const mac = (secret: Buffer, text: string) => createHmac('sha256', secret).update(text).digest('hex');

export function requestSignature(secret: Buffer, method: string, pathAndQuery: string, t: number, bodySha: string): string {
  return mac(secret, `req\n${method.toUpperCase()}\n${pathAndQuery}\n${t}\n${bodySha}`);
}

export function responseSignature(secret: Buffer, requestSig: string, status: number, t: number, bodySha: string): string {
  return mac(secret, `res\n${requestSig}\n${status}\n${t}\n${bodySha}`);
}

export const formatHeader = (t: number, sig: string): string => `t=${t};sig=${sig}`;

export function parseHeader(v: string | undefined): { t: number; sig: string } | null {
  const m = /^t=([0-9]{1,16});sig=([0-9a-f]{64})$/.exec(v ?? '');
  return m ? { t: Number(m[1]), sig: m[2]! } : null;
}

export function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export type SignatureCheck = { ok: true; sig: string } | { ok: false; reason: 'missing' | 'skew' | 'bad' };

/** Checks a request's signature header (the body's hash is checked by whoever reads the body). */
export function checkRequest(
  secret: Buffer,
  headers: { signature: string | undefined; bodySha: string | undefined },
  method: string,
  pathAndQuery: string,
  now = Date.now(),
): SignatureCheck {
  const h = parseHeader(headers.signature);
  if (!h || !/^[0-9a-f]{64}$/.test(headers.bodySha ?? '')) return { ok: false, reason: 'missing' };
  if (Math.abs(now - h.t) > MAX_SKEW_MS) return { ok: false, reason: 'skew' };
  const want = requestSignature(secret, method, pathAndQuery, h.t, headers.bodySha!);
  return sameHex(want, h.sig) ? { ok: true, sig: h.sig } : { ok: false, reason: 'bad' };
}
