import { CardError, swHex } from './cardError.js';
import type { CardLink } from './pcsc.js';
import { parseTlvHeader, TlvError } from './tlv.js';

/** Command APDUs (short form only: Lc ≤ 255, Le ≤ 256) and the status words the readers act on. */

export const SW_OK = 0x9000;
/** 6282: end of file reached before Le bytes (the data that exists is returned). */
export const SW_END_OF_FILE = 0x6282;
/** 6983: the PIN is blocked. */
export const SW_BLOCKED = 0x6983;
export const SW_NOT_FOUND = 0x6a82;

export interface Command {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data?: Uint8Array;
  /** Expected response length, 1–256 (256 is sent as 00). */
  le?: number;
}

export function encodeCommand(c: Command): Uint8Array {
  const data = c.data ?? new Uint8Array(0);
  if (data.length > 255) throw new RangeError('APDU data longer than 255 bytes');
  if (c.le !== undefined && (c.le < 1 || c.le > 256)) throw new RangeError(`bad Le ${c.le}`);
  const out = [c.cla, c.ins, c.p1, c.p2];
  if (data.length > 0) out.push(data.length, ...data);
  if (c.le !== undefined) out.push(c.le & 0xff);
  return Uint8Array.from(out);
}

export const selectAid = (aid: Uint8Array): Command => ({ cla: 0x00, ins: 0xa4, p1: 0x04, p2: 0x0c, data: aid });
export const selectEf = (fid: number): Command => ({ cla: 0x00, ins: 0xa4, p1: 0x02, p2: 0x0c, data: Uint8Array.of(fid >> 8, fid & 0xff) });
/** SELECT MF by its file id 3F00, as the residence card specification writes it (P2 00). */
export const selectMf = (): Command => ({ cla: 0x00, ins: 0xa4, p1: 0x00, p2: 0x00, data: Uint8Array.of(0x3f, 0x00) });

/** READ BINARY of the current EF at `offset` (0–32767). */
export function readBinary(offset: number, le: number): Command {
  if (offset < 0 || offset > 0x7fff) throw new RangeError(`offset ${offset}`);
  return { cla: 0x00, ins: 0xb0, p1: offset >> 8, p2: offset & 0xff, le };
}
/** READ BINARY by short EF identifier (1–30), which also selects that EF. */
export const readBinarySfi = (sfi: number, le: number): Command => ({ cla: 0x00, ins: 0xb0, p1: 0x80 | sfi, p2: 0x00, le });
/** VERIFY for the reference `p2`; without data it asks for the tries left. */
export const verify = (p2: number, data?: Uint8Array): Command => ({ cla: 0x00, ins: 0x20, p1: 0x00, p2, ...(data ? { data } : {}) });
export const getChallenge = (): Command => ({ cla: 0x00, ins: 0x84, p1: 0x00, p2: 0x00, le: 8 });
export const getResponse = (le: number): Command => ({ cla: 0x00, ins: 0xc0, p1: 0x00, p2: 0x00, le });

export interface Response {
  data: Uint8Array;
  sw: number;
}

export function splitResponse(r: Uint8Array): Response {
  if (r.length < 2) throw new CardError('readFailed', { detail: `response of ${r.length} bytes` });
  return { data: r.subarray(0, r.length - 2), sw: (r[r.length - 2]! << 8) | r[r.length - 1]! };
}

/** 63Cn → n; 6983 → 0; anything else → undefined. */
export function triesFromSw(sw: number): number | undefined {
  if ((sw & 0xfff0) === 0x63c0) return sw & 0x0f;
  if (sw === SW_BLOCKED) return 0;
  return undefined;
}

/**
 * Sends one command and returns the whole answer: 61xx is followed by GET RESPONSE (the data
 * joined), 6Cxx by the same command with Le = xx. Each is done a bounded number of times.
 */
export async function transmit(link: CardLink, cmd: Command): Promise<Response> {
  let current = cmd;
  for (let retry = 0; ; retry++) {
    let res = splitResponse(await link.transmit(encodeCommand(current)));
    if (res.sw >> 8 === 0x6c && retry < 2 && current.ins !== 0xc0) {
      current = { ...current, le: res.sw & 0xff || 256 };
      continue;
    }
    const parts: Uint8Array[] = [res.data];
    for (let n = 0; res.sw >> 8 === 0x61; n++) {
      if (n === 64) throw new CardError('readFailed', { detail: 'too many GET RESPONSE' });
      res = splitResponse(await link.transmit(encodeCommand(getResponse(res.sw & 0xff || 256))));
      parts.push(res.data);
    }
    return { data: concat(parts), sw: res.sw };
  }
}

/** `transmit`, throwing CardError readFailed unless the card answered 9000. */
export async function expectOk(link: CardLink, cmd: Command, step: string): Promise<Uint8Array> {
  const res = await transmit(link, cmd);
  if (res.sw !== SW_OK) throw new CardError('readFailed', { detail: `${step}: SW ${swHex(res.sw)}` });
  return res.data;
}

/**
 * Reads the current EF as one BER-TLV: first a few bytes to learn its length, then the rest in
 * chunks. Bytes after the TLV are not read; a TLV longer than `maxBytes` is refused.
 */
export async function readTlvFile(link: CardLink, step: string, maxBytes = 0x7fff): Promise<Uint8Array> {
  const head = await readChunk(link, 0, 7, step);
  let total: number;
  try {
    const h = parseTlvHeader(head);
    total = h.headerLength + h.valueLength;
  } catch (err) {
    if (!(err instanceof TlvError)) throw err;
    throw new CardError('readFailed', { detail: `${step}: ${err.message}` });
  }
  if (total > maxBytes) throw new CardError('readFailed', { detail: `${step}: ${total} bytes` });
  const parts = [head.subarray(0, total)];
  for (let offset = head.length; offset < total;) {
    const chunk = await readChunk(link, offset, Math.min(256, total - offset), step);
    if (chunk.length === 0) throw new CardError('readFailed', { detail: `${step}: file ends at ${offset} of ${total}` });
    parts.push(chunk.subarray(0, total - offset));
    offset += chunk.length;
  }
  return concat(parts);
}

async function readChunk(link: CardLink, offset: number, le: number, step: string): Promise<Uint8Array> {
  const res = await transmit(link, readBinary(offset, le));
  // 6282: the file is shorter than asked; what exists came back.
  if (res.sw !== SW_OK && res.sw !== SW_END_OF_FILE)
    throw new CardError('readFailed', { detail: `${step} @${offset}: SW ${swHex(res.sw)}` });
  if (res.data.length > le) throw new CardError('readFailed', { detail: `${step} @${offset}: ${res.data.length} bytes for Le ${le}` });
  return res.data;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
}
