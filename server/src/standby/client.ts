import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import {
  BODY_SHA_HEADER,
  EMPTY_SHA,
  formatHeader,
  parseHeader,
  requestSignature,
  responseSignature,
  sameHex,
  sha256,
  SIGNATURE_HEADER,
} from './auth.js';

export interface Peer {
  url: string;
  secret: Buffer;
  /** PEM of the CA behind the peer's certificate (https). */
  ca?: Buffer;
}

export const peerOf = (s: { peerUrl: string; peerCa?: string }, secret: Buffer): Peer => ({
  url: s.peerUrl,
  secret,
  ...(s.peerCa ? { ca: readFileSync(s.peerCa) } : {}),
});

export class PeerError extends Error {
  constructor(
    message: string,
    /** unreachable: no answer; refused: the peer answered with an error; forged: the answer is not signed by the peer. */
    readonly kind: 'unreachable' | 'refused' | 'forged',
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface PeerRequest {
  method: 'GET' | 'POST';
  /** Path and query, e.g. `/api/v1/standby/status`. */
  path: string;
  /** JSON (sent as application/json) or raw bytes (application/octet-stream). */
  json?: unknown;
  body?: Buffer;
  /** A large body streamed (the first shipment is the whole database), with its length and SHA-256. */
  stream?: { open: () => Readable; length: number; sha256: string };
  timeoutMs: number;
}

/** A signed request to the peer; the answer must be signed by the peer too, else PeerError('forged'). */
export function peerRequest<T>(peer: Peer, r: PeerRequest): Promise<T> {
  const body = r.json !== undefined ? Buffer.from(JSON.stringify(r.json)) : (r.body ?? Buffer.alloc(0));
  const bodySha = r.stream ? r.stream.sha256 : body.length ? sha256(body) : EMPTY_SHA;
  const length = r.stream ? r.stream.length : body.length;
  const t = Date.now();
  const sig = requestSignature(peer.secret, r.method, r.path, t, bodySha);
  const url = new URL(r.path, `${peer.url}/`);
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise<T>((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method: r.method,
        headers: {
          [SIGNATURE_HEADER]: formatHeader(t, sig),
          [BODY_SHA_HEADER]: bodySha,
          // Always raw: the receiving side reads and checks the body itself (no JSON body limit, no parsing before the hash).
          'content-type': 'application/octet-stream',
          'content-length': String(length),
          accept: 'application/json',
        },
        timeout: r.timeoutMs,
        ...(peer.ca ? { ca: peer.ca } : {}),
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('error', (e) => reject(new PeerError(`相手の応答を読めません: ${e.message}`, 'unreachable')));
        res.on('end', () => {
          const raw = Buffer.concat(parts);
          const status = res.statusCode ?? 0;
          const h = parseHeader(res.headers[SIGNATURE_HEADER] as string | undefined);
          let parsed: unknown = null;
          try {
            parsed = raw.length ? JSON.parse(raw.toString('utf8')) : null;
          } catch {
            parsed = null;
          }
          const signed = h !== null && sameHex(responseSignature(peer.secret, sig, status, h.t, sha256(raw)), h.sig);
          const err = parsed as { error?: { code?: string; message?: string }; message?: string; code?: string } | null;
          const code = err?.error?.code ?? err?.code;
          const message = err?.error?.message ?? err?.message;
          if (!signed) {
            return reject(
              new PeerError(
                status >= 400
                  ? `相手が断りました (HTTP ${status}${message ? `: ${message}` : ''})`
                  : `相手の応答に正しい署名がありません (HTTP ${status})。共有の秘密が両方の系で同じか確認してください。`,
                status >= 400 ? 'refused' : 'forged',
                status,
                // An unsigned answer's code is not believed: anything at the peer's address could send
                // `epoch.stale` and stop this primary. Only signed codes are acted on.
                undefined,
              ),
            );
          }
          if (status >= 400)
            return reject(new PeerError(`相手が断りました (HTTP ${status}${message ? `: ${message}` : ''})`, 'refused', status, code));
          resolve(parsed as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${r.timeoutMs} ms 以内に応答がありません`)));
    req.on('error', (e) => reject(new PeerError(`相手 (${peer.url}) に接続できません: ${e.message}`, 'unreachable')));
    if (!r.stream) return void req.end(body);
    const src = r.stream.open();
    src.on('error', (e) => req.destroy(e));
    src.pipe(req);
  });
}

/**
 * Whether the old primary may still be running (the fencing check before a promotion): any HTTP
 * answer, or a TLS handshake that fails for want of trust, means it is up. Only a refused
 * connection (the machine answers, nothing listens) proves madoguchi is down. A timeout or an
 * unreachable host proves nothing: a network split between the two looks exactly like that while
 * the old primary goes on serving its side, so it counts as answering (fail closed; after seeing
 * the machine is off, `--force --reason` remains).
 */
export function answers(url: string, timeoutMs: number): Promise<{ answers: boolean; detail: string }> {
  const u = new URL('/healthz', `${url}/`);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const req = mod.request(u, { method: 'GET', timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve({ answers: true, detail: `HTTP ${res.statusCode}` });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const down = e.code === 'ECONNREFUSED';
      const unproven = ['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN'].includes(e.code ?? '');
      resolve({
        answers: !down,
        detail: unproven
          ? `${e.code}: 応答がありませんが、止まったのか、ネットワークが切れているだけなのかを区別できません`
          : (e.code ?? e.message),
      });
    });
    req.end();
  });
}
