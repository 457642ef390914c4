import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ResidenceCardReading } from '@madoguchi/server/cards/cardApi';
import { concat, getChallenge, readBinarySfi, selectAid, selectMf, SW_END_OF_FILE, SW_OK, transmit, type Command } from './apdu.js';
import { CardError, swHex } from './cardError.js';
import { isoDate } from './myNumberCard.js';
import type { CardLink } from './pcsc.js';
import { encodeTlv, parseTlv, parseTlvList, TlvError, type Tlv } from './tlv.js';

/**
 * The residence card (在留カード) and special permanent resident certificate, after the Immigration
 * Services Agency's public 在留カード等仕様書: MF EF01/EF02 in plain, then mutual authentication
 * with a key derived from the card number, VERIFY of the number under secure messaging, and DF2
 * EF01 (住居地) under secure messaging. The face image and photo (DF1) are not read.
 *
 * Not confirmed against a real card or the PDF itself (the public readers consulted disagree):
 * the layout of DF2 EF01 (taken as TLVs D2 追記書き込み年月日, D3 市町村コード, D4 住居地) and the
 * character encoding of 住居地. It is decoded as strict UTF-8 so that any other encoding fails as
 * readFailed instead of showing garbled text.
 */

export const DF2_AID = Uint8Array.of(0xd3, 0x92, 0xf0, 0x00, 0x4f, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
const SFI_COMMON = 1;
const SFI_CARD_TYPE = 2;
const SFI_ADDRESS = 1;
const TAG_CARD_TYPE = 0xc1;
const TAG_ADDRESS_DATE = 0xd2;
const TAG_MUNICIPALITY = 0xd3;
const TAG_ADDRESS = 0xd4;
/** Plain bytes asked per SM READ BINARY: the padded cryptogram then still fits a short response. */
const SM_CHUNK = 0xe0;

export const CARD_NUMBER = /^[A-Z]{2}[0-9]{8}[A-Z]{2}$/;

export type DocumentKind = ResidenceCardReading['documentKind'];

export async function readResidenceCard(link: CardLink, opts: { cardNumber: string }): Promise<ResidenceCardReading> {
  const { cardNumber } = opts;
  if (!CARD_NUMBER.test(cardNumber)) throw new CardError('badCardNumber');

  const documentKind = await readDocumentKind(link);
  if (documentKind === null) throw new CardError('unknownCard', { detail: 'no residence card type in MF EF02' });

  const sessionKey = await authenticate(link, cardNumber);
  const verifyCmd: Command = {
    cla: 0x08,
    ins: 0x20,
    p1: 0x00,
    p2: 0x86,
    data: encodeTlv(0x86, concat([Uint8Array.of(0x01), tdesCbc(sessionKey, pad(ascii(cardNumber)), true)])),
  };
  const verified = await transmit(link, verifyCmd);
  if (verified.sw !== SW_OK) throw new CardError('wrongCardNumber', { detail: `VERIFY: SW ${swHex(verified.sw)}` });

  const df2 = await transmit(link, selectAid(DF2_AID));
  if (df2.sw !== SW_OK) throw new CardError('readFailed', { detail: `SELECT DF2: SW ${swHex(df2.sw)}` });
  const file = await readSecure(link, sessionKey, SFI_ADDRESS);
  return { cardType: 'residenceCard', documentKind, cardNumber, ...parseAddressFile(file) };
}

/** SELECT MF and read EF01 (共通データ要素) and EF02 (カード種別) in plain; null when this is no such card. */
export async function readDocumentKind(link: CardLink): Promise<DocumentKind | null> {
  const mf = await transmit(link, selectMf());
  if (mf.sw !== SW_OK) return null;
  const common = await transmit(link, readBinarySfi(SFI_COMMON, 256));
  if (common.sw !== SW_OK && common.sw !== SW_END_OF_FILE) return null;
  const type = await transmit(link, readBinarySfi(SFI_CARD_TYPE, 256));
  if (type.sw !== SW_OK && type.sw !== SW_END_OF_FILE) return null;
  return cardTypeOf(type.data);
}

/**
 * EF02 holds one byte, '1' (0x31) for a residence card and '2' for a special permanent resident
 * certificate, inside a C1 TLV; some readers treat it as the binary 01/02. Both are accepted.
 */
export function cardTypeOf(ef02: Uint8Array): DocumentKind | null {
  let value = ef02;
  if (ef02[0] === TAG_CARD_TYPE) {
    try {
      value = parseTlv(ef02).value;
    } catch {
      return null;
    }
  }
  if (value.length !== 1) return null;
  if (value[0] === 0x31 || value[0] === 0x01) return 'residenceCard';
  if (value[0] === 0x32 || value[0] === 0x02) return 'specialPermanentResident';
  return null;
}

/**
 * GET CHALLENGE and MUTUAL AUTHENTICATE with K.ENC = K.MAC = SHA-1(card number)[0..16]; returns
 * the session key. The card refuses a key from a wrong number (wrongCardNumber); an answer whose
 * MAC or randoms do not match is not from this card (readFailed).
 */
async function authenticate(link: CardLink, cardNumber: string): Promise<Buffer> {
  const challenge = await transmit(link, getChallenge());
  if (challenge.sw !== SW_OK || challenge.data.length !== 8)
    throw new CardError('readFailed', { detail: `GET CHALLENGE: SW ${swHex(challenge.sw)}` });
  const rndIcc = Buffer.from(challenge.data);
  const key = cardKey(cardNumber);
  const rndIfd = randomBytes(8);
  const kIfd = randomBytes(16);
  const eIfd = tdesCbc(key, Buffer.concat([rndIfd, rndIcc, kIfd]), true);
  const res = await transmit(link, { cla: 0x00, ins: 0x82, p1: 0x00, p2: 0x00, data: Buffer.concat([eIfd, retailMac(key, eIfd)]), le: 40 });
  if (res.sw !== SW_OK) throw new CardError('wrongCardNumber', { detail: `MUTUAL AUTHENTICATE: SW ${swHex(res.sw)}` });
  if (res.data.length !== 40) throw new CardError('readFailed', { detail: `MUTUAL AUTHENTICATE: ${res.data.length} bytes` });
  const eIcc = res.data.subarray(0, 32);
  if (!timingSafeEqual(retailMac(key, eIcc), res.data.subarray(32)))
    throw new CardError('readFailed', { detail: 'MUTUAL AUTHENTICATE: MAC mismatch' });
  const r = tdesCbc(key, eIcc, false);
  if (!timingSafeEqual(r.subarray(0, 8), rndIcc) || !timingSafeEqual(r.subarray(8, 16), rndIfd)) {
    throw new CardError('readFailed', { detail: 'MUTUAL AUTHENTICATE: random mismatch' });
  }
  return sessionKey(kIfd, r.subarray(16, 32));
}

/**
 * READ BINARY under secure messaging (CLA 08): the command carries the expected length in DO 96,
 * the answer the padded plain text encrypted with the session key in DO 86 (first byte 01, the
 * padding indicator). Reads by SFI, then by offset until the card returns less than asked.
 */
async function readSecure(link: CardLink, key: Buffer, sfi: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let offset = 0; ;) {
    if (offset > 0x7fff - SM_CHUNK) throw new CardError('readFailed', { detail: 'SM READ BINARY: file too long' });
    const [p1, p2] = offset === 0 ? [0x80 | sfi, 0] : [offset >> 8, offset & 0xff];
    const res = await transmit(link, { cla: 0x08, ins: 0xb0, p1, p2, data: Uint8Array.of(0x96, 0x02, 0x00, SM_CHUNK), le: 256 });
    if (offset > 0 && (res.sw === 0x6b00 || res.sw === SW_END_OF_FILE) && res.data.length === 0) break;
    if (res.sw !== SW_OK) throw new CardError('readFailed', { detail: `SM READ BINARY @${offset}: SW ${swHex(res.sw)}` });
    const plain = openCryptogram(key, res.data);
    if (plain.length > SM_CHUNK) throw new CardError('readFailed', { detail: `SM READ BINARY @${offset}: ${plain.length} bytes` });
    parts.push(plain);
    offset += plain.length;
    if (plain.length < SM_CHUNK) break;
  }
  return concat(parts);
}

/** The plain text of the DO 86 in an SM answer (other DOs, e.g. 99, are ignored). */
export function openCryptogram(key: Buffer, data: Uint8Array): Uint8Array {
  let dos: Tlv[];
  try {
    dos = parseTlvList(data);
  } catch (err) {
    throw new CardError('readFailed', { detail: `SM answer: ${(err as Error).message}` });
  }
  const cryptogram = dos.find((d) => d.tag === 0x86)?.value;
  if (!cryptogram || cryptogram[0] !== 0x01 || cryptogram.length < 9 || (cryptogram.length - 1) % 8 !== 0) {
    throw new CardError('readFailed', { detail: 'SM answer: no DO 86 cryptogram' });
  }
  const plain = unpad(tdesCbc(key, cryptogram.subarray(1), false));
  if (plain === null) throw new CardError('readFailed', { detail: 'SM answer: bad padding' });
  return plain;
}

/** DF2 EF01: D2 追記書き込み年月日 (YYYYMMDD), D3 市町村コード, D4 住居地; empty fields → null. */
export function parseAddressFile(file: Uint8Array): Pick<ResidenceCardReading, 'address' | 'addressDate' | 'municipalityCode'> {
  try {
    const dos = parseTlvList(file);
    const field = (tag: number): Uint8Array | null => {
      const found = dos.filter((d) => d.tag === tag);
      if (found.length > 1) throw new TlvError(`${tag.toString(16)} repeated`);
      const value = found[0] ? trimPadding(found[0].value) : null;
      return value && value.length > 0 ? value : null;
    };
    const dateBytes = field(TAG_ADDRESS_DATE);
    const codeBytes = field(TAG_MUNICIPALITY);
    const textBytes = field(TAG_ADDRESS);
    const addressDate = dateBytes === null ? null : isoDate(dateBytes);
    if (dateBytes !== null && addressDate === null) throw new TlvError('D2 is not a date');
    const municipalityCode = codeBytes === null ? null : String.fromCharCode(...codeBytes);
    if (municipalityCode !== null && !/^[0-9]{5,6}$/.test(municipalityCode)) throw new TlvError('D3 is not a code');
    let address: string | null = null;
    if (textBytes !== null) {
      try {
        address = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(textBytes);
      } catch {
        throw new TlvError('D4 is not UTF-8 (encoding unconfirmed)');
      }
      // eslint-disable-next-line no-control-regex
      if ([...address].length > 400 || /[\u0000-\u001f\u007f]/.test(address)) throw new TlvError('D4 is not text');
    }
    return { address, addressDate, municipalityCode };
  } catch (err) {
    if (err instanceof TlvError) throw new CardError('readFailed', { detail: `DF2 EF01: ${err.message}` });
    throw err;
  }
}

/** Fixed-length fields are padded at the end with NUL, spaces or ideographic spaces (E3 80 80). */
function trimPadding(b: Uint8Array): Uint8Array {
  let end = b.length;
  for (;;) {
    if (end > 0 && (b[end - 1] === 0x00 || b[end - 1] === 0x20)) end--;
    else if (end >= 3 && b[end - 3] === 0xe3 && b[end - 2] === 0x80 && b[end - 1] === 0x80) end -= 3;
    else return b.subarray(0, end);
  }
}

// ---- cryptography (2-key 3DES, ISO/IEC 9797-1 MAC algorithm 3 with padding method 2) ----

/** K.ENC = K.MAC: the first 16 bytes of SHA-1 over the card number in ASCII. */
export const cardKey = (cardNumber: string): Buffer => createHash('sha1').update(cardNumber, 'ascii').digest().subarray(0, 16);

/** KSenc = SHA-1((K.IFD xor K.ICC) || 00000001)[0..16], DES parity adjusted. */
export function sessionKey(kIfd: Uint8Array, kIcc: Uint8Array): Buffer {
  const seed = Buffer.alloc(20);
  for (let i = 0; i < 16; i++) seed[i] = kIfd[i]! ^ kIcc[i]!;
  seed[19] = 1;
  return desParity(createHash('sha1').update(seed).digest().subarray(0, 16));
}

/** Each byte gets odd parity in its low bit (DES ignores that bit; kept as the specification says). */
export function desParity(key: Uint8Array): Buffer {
  const out = Buffer.from(key);
  for (let i = 0; i < out.length; i++) {
    let ones = 0;
    for (let b = out[i]! >> 1; b; b >>= 1) ones += b & 1;
    out[i] = (out[i]! & 0xfe) | (ones % 2 === 0 ? 1 : 0);
  }
  return out;
}

/** 2-key 3DES (EDE) in CBC mode with a zero IV, on data already a multiple of 8 bytes. */
export function tdesCbc(key: Uint8Array, data: Uint8Array, encrypt: boolean): Buffer {
  const iv = Buffer.alloc(8);
  const c = encrypt ? createCipheriv('des-ede-cbc', key, iv) : createDecipheriv('des-ede-cbc', key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(data), c.final()]);
}

/**
 * Retail MAC: single-DES CBC with the first key half over the padded data, then decrypt with the
 * second half and encrypt with the first. Single DES is 'des-ede-ecb' with K||K (OpenSSL 3 has
 * plain DES only in its legacy provider).
 */
export function retailMac(key: Uint8Array, data: Uint8Array): Buffer {
  const ka = key.subarray(0, 8);
  const kb = key.subarray(8, 16);
  const des = (k: Uint8Array, block: Uint8Array, enc: boolean): Buffer => {
    const kk = Buffer.concat([k, k]);
    const c = enc ? createCipheriv('des-ede-ecb', kk, null) : createDecipheriv('des-ede-ecb', kk, null);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(block), c.final()]);
  };
  const padded = pad(data);
  let h: Buffer = Buffer.alloc(8);
  for (let i = 0; i < padded.length; i += 8) {
    const x = Buffer.alloc(8);
    for (let j = 0; j < 8; j++) x[j] = h[j]! ^ padded[i + j]!;
    h = des(ka, x, true);
  }
  return des(ka, des(kb, h, false), true);
}

/** ISO/IEC 9797-1 padding method 2: 80, then 00 up to a multiple of 8. */
export function pad(data: Uint8Array): Buffer {
  const out = Buffer.alloc((Math.floor(data.length / 8) + 1) * 8);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

/** Removes method-2 padding; null when there is none. */
export function unpad(data: Uint8Array): Uint8Array | null {
  for (let i = data.length - 1; i >= Math.max(0, data.length - 8); i--) {
    if (data[i] === 0x80) return data.subarray(0, i);
    if (data[i] !== 0x00) return null;
  }
  return null;
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
