import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { inspect } from 'node:util';
import type { CardLink } from '../../rpa-agent/src/card/pcsc.js';

/**
 * Fake cards for the card reader tests, and a vpcd client that presents them to a real pcscd.
 *
 * vpcd protocol (vsmartcard VirtualSmartcard.py): frames of a 2-byte big-endian length and a
 * body; a 1-byte body is a control (0 power off, 1 power on, 2 reset, 4 send the ATR), anything
 * else a C-APDU answered by one R-APDU. An open connection is an inserted card, closing it
 * removes the card.
 *
 * The cards (My Number card 入力補助AP, residence card, unknown card) are written from the card
 * side and share no code with rpa-agent/src/card, so the tests check the reader against an
 * independent implementation. Every C-APDU is recorded in an ApduLog, which never prints its bytes
 * (VERIFY carries the PIN): tests look at short step names instead.
 */

// ---------- APDU plumbing ----------

interface Cmd {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data: Uint8Array;
  /** Expected length; 256 for Le 00; null when absent. */
  le: number | null;
}

function parseCmd(a: Uint8Array): Cmd | null {
  if (a.length < 4) return null;
  const [cla, ins, p1, p2] = [a[0]!, a[1]!, a[2]!, a[3]!];
  if (a.length === 4) return { cla, ins, p1, p2, data: new Uint8Array(0), le: null };
  if (a.length === 5) return { cla, ins, p1, p2, data: new Uint8Array(0), le: a[4]! || 256 };
  const lc = a[4]!;
  if (lc === 0) return null; // extended length is not used by these cards
  if (a.length === 5 + lc) return { cla, ins, p1, p2, data: a.subarray(5, 5 + lc), le: null };
  if (a.length === 6 + lc) return { cla, ins, p1, p2, data: a.subarray(5, 5 + lc), le: a[5 + lc]! || 256 };
  return null;
}

const reply = (sw: number, data: Uint8Array = new Uint8Array(0)): Uint8Array => Uint8Array.from([...data, sw >> 8, sw & 0xff]);
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const hex = (a: Uint8Array): string => Buffer.from(a).toString('hex').toUpperCase();
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** One TLV, tag given as its bytes. */
export function tlv(tag: number[], ...values: Uint8Array[]): Uint8Array {
  const value = Buffer.concat(values);
  const n = value.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Uint8Array.from([...tag, ...len, ...value]);
}

/** A short, PIN-free name for a C-APDU, as tests compare them. */
export function describeApdu(a: Uint8Array): string {
  const c = parseCmd(a);
  if (!c) return `malformed (${a.length} bytes)`;
  const sm = c.cla === 0x08 ? 'SM ' : '';
  const p = (c.p1 << 8) | c.p2;
  switch (c.ins) {
    case 0xa4:
      if (c.p1 === 0x04) return `SELECT AID ${hex(c.data)}`;
      if (c.p1 === 0x02) return `SELECT EF ${hex(c.data)}`;
      if (c.p1 === 0x00 && hex(c.data) === '3F00') return 'SELECT MF';
      return `SELECT ${c.p1.toString(16)}`;
    case 0xb0:
      return c.p1 & 0x80 ? `${sm}READ BINARY SFI ${(c.p1 & 0x1f).toString(16).padStart(2, '0')}` : `${sm}READ BINARY @${p}`;
    case 0x20:
      return `${sm}VERIFY ${c.p2.toString(16).toUpperCase()}${c.data.length > 0 ? ' +data' : ''}`;
    case 0x84:
      return 'GET CHALLENGE';
    case 0x82:
      return 'MUTUAL AUTHENTICATE';
    case 0xc0:
      return 'GET RESPONSE';
    default:
      return `INS ${c.ins.toString(16)}`;
  }
}

/** The C-APDUs a card received. Its bytes never reach the console (inspect and JSON show a count). */
export class ApduLog {
  #apdus: Uint8Array[] = [];
  push(apdu: Uint8Array): void {
    this.#apdus.push(Uint8Array.from(apdu));
  }
  /** Step names in order (see describeApdu). */
  steps(): string[] {
    return this.#apdus.map(describeApdu);
  }
  count(step: string): number {
    return this.steps().filter((s) => s === step).length;
  }
  get length(): number {
    return this.#apdus.length;
  }
  clear(): void {
    this.#apdus = [];
  }
  [inspect.custom](): string {
    return `ApduLog(${this.#apdus.length} APDUs)`;
  }
  toJSON(): string {
    return `ApduLog(${this.#apdus.length} APDUs)`;
  }
}

/** A generic T=1 ATR (TCK included); the readers never look at it. */
const ATR = Uint8Array.from([0x3b, 0x88, 0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x09]);

export interface CardSim {
  readonly atr: Uint8Array;
  /** Power off, on or reset: selection, verified PIN and secure-messaging session are lost. */
  reset(): void;
  /** One C-APDU in, one R-APDU out. */
  apdu(cmd: Uint8Array): Uint8Array;
}

abstract class BaseSim implements CardSim {
  readonly atr = ATR;
  /** 'getResponse': answers 61xx and hands the data out on GET RESPONSE, as a T=0 card does. */
  delivery: 'direct' | 'getResponse' = 'direct';
  /** 'exact': READ BINARY with a wrong Le is answered 6Cxx (xx = the right length). */
  lengths: 'lenient' | 'exact' = 'lenient';
  #pending: Uint8Array | null = null;

  abstract reset(): void;
  protected abstract handle(c: Cmd): Uint8Array;

  apdu(raw: Uint8Array): Uint8Array {
    const c = parseCmd(raw);
    if (!c) return reply(0x6700);
    if (c.ins === 0xc0 && c.cla === 0x00) {
      const p = this.#pending;
      this.#pending = null;
      if (!p) return reply(0x6985);
      const n = Math.min(c.le ?? 256, p.length);
      if (n < p.length) {
        this.#pending = p.subarray(n);
        return reply(0x6100 | (this.#pending.length & 0xff), p.subarray(0, n));
      }
      return reply(0x9000, p);
    }
    this.#pending = null;
    const r = this.handle(c);
    if (this.delivery === 'getResponse' && r.length > 2 && r[r.length - 2] === 0x90 && r[r.length - 1] === 0x00) {
      this.#pending = r.subarray(0, r.length - 2);
      return reply(0x6100 | (this.#pending.length & 0xff));
    }
    return r;
  }

  protected readBinary(file: Uint8Array, offset: number, le: number | null): Uint8Array {
    if (offset >= file.length) return reply(0x6b00);
    const rest = file.length - offset;
    const want = le ?? 256;
    if (want <= rest) return reply(0x9000, file.subarray(offset, offset + want));
    if (this.lengths === 'exact') return reply(0x6c00 | (rest & 0xff));
    // Le 00 asks for "up to 256"; a larger explicit Le gets the rest with 6282 (end of file).
    return reply(le === 256 ? 0x9000 : 0x6282, file.subarray(offset));
  }
}

// ---------- My Number card (券面事項入力補助AP) ----------

export const TEXT_AP = Uint8Array.of(0xd3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08);

export interface Person {
  name: string;
  address: string;
  /** YYYYMMDD */
  birth: string;
  sex: '1' | '2' | '9';
  /** 12 digits */
  myNumber: string;
}

/** EF 0002 as the card stores it: FF20 { DF21 header, DF22 氏名, DF23 住所, DF24 生年月日, DF25 性別 }. */
export function attributesFile(p: Person): Uint8Array {
  return tlv(
    [0xff, 0x20],
    tlv([0xdf, 0x21], Uint8Array.of(0x01, 0x02, 0x03)),
    tlv([0xdf, 0x22], utf8(p.name)),
    tlv([0xdf, 0x23], utf8(p.address)),
    tlv([0xdf, 0x24], ascii(p.birth)),
    tlv([0xdf, 0x25], ascii(p.sex)),
  );
}

export class MyNumberCardSim extends BaseSim {
  static readonly maxTries = 3;
  triesLeft: number;
  readonly pin: string;
  /** EF 0002 and EF 0001 contents; tests may replace them with malformed ones. */
  ef0002: Uint8Array;
  ef0001: Uint8Array;
  #apSelected = false;
  #ef: number | null = null;
  #verified = false;

  constructor(person: Person, opts: { pin?: string; triesLeft?: number } = {}) {
    super();
    this.pin = opts.pin ?? '1234';
    this.triesLeft = opts.triesLeft ?? MyNumberCardSim.maxTries;
    this.ef0002 = attributesFile(person);
    // Tag number 16 of the private class, as jpki/myna reads it; two filler bytes make 17.
    this.ef0001 = Uint8Array.from([...tlv([0xdf, 0x10], ascii(person.myNumber)), 0x00, 0x00]);
  }

  reset(): void {
    this.#apSelected = false;
    this.#ef = null;
    this.#verified = false;
  }

  protected handle(c: Cmd): Uint8Array {
    if (c.cla !== 0x00) return reply(0x6e00);
    switch (c.ins) {
      case 0xa4:
        if (c.p1 === 0x04) {
          this.reset();
          this.#apSelected = same(c.data, TEXT_AP);
          return reply(this.#apSelected ? 0x9000 : 0x6a82);
        }
        if (c.p1 === 0x00) {
          this.reset();
          return reply(0x9000); // the card has an MF, with nothing the readers look for
        }
        if (c.p1 === 0x02 && this.#apSelected && c.data.length === 2) {
          const fid = (c.data[0]! << 8) | c.data[1]!;
          if (![0x0001, 0x0002, 0x0011].includes(fid)) return reply(0x6a82);
          this.#ef = fid;
          return reply(0x9000);
        }
        return reply(0x6a82);
      case 0x20: {
        if (this.#ef !== 0x0011 || c.p1 !== 0x00 || c.p2 !== 0x80) return reply(0x6a86);
        if (this.triesLeft === 0) return reply(0x6983);
        if (c.data.length === 0) return reply(0x63c0 | this.triesLeft);
        if (same(c.data, ascii(this.pin))) {
          this.triesLeft = MyNumberCardSim.maxTries;
          this.#verified = true;
          return reply(0x9000);
        }
        this.triesLeft--;
        this.#verified = false;
        return reply(0x63c0 | this.triesLeft);
      }
      case 0xb0: {
        if (c.p1 & 0x80) return reply(0x6981);
        if (this.#ef !== 0x0001 && this.#ef !== 0x0002) return reply(0x6986);
        if (!this.#verified) return reply(0x6982);
        return this.readBinary(this.#ef === 0x0001 ? this.ef0001 : this.ef0002, (c.p1 << 8) | c.p2, c.le);
      }
      default:
        return reply(0x6d00);
    }
  }
}

// ---------- residence card (在留カード等) ----------

export const DF1 = Uint8Array.of(0xd3, 0x92, 0xf0, 0x00, 0x4f, 0x02, ...new Array<number>(10).fill(0));
export const DF2 = Uint8Array.of(0xd3, 0x92, 0xf0, 0x00, 0x4f, 0x03, ...new Array<number>(10).fill(0));
export const DF3 = Uint8Array.of(0xd3, 0x92, 0xf0, 0x00, 0x4f, 0x04, ...new Array<number>(10).fill(0));

export interface ResidenceCardData {
  cardNumber: string;
  kind: 'residenceCard' | 'specialPermanentResident';
  /** How MF EF02 stores the kind: C1 01 '1' (ascii) or the bare byte 01 (binary). */
  typeEncoding?: 'ascii' | 'binary';
  /** 住居地 (none on a card issued before the first notification). */
  address?: { date: string; code: string; text: string } | null;
  /** Answers MUTUAL AUTHENTICATE with a broken MAC or a wrong RND.IFD. */
  tamper?: 'mac' | 'rnd';
}

/** 2-key 3DES CBC, zero IV, block by block over ECB (the reader uses OpenSSL's CBC instead). */
function cbc(key: Uint8Array, data: Uint8Array, encrypt: boolean): Buffer {
  const ecb = (block: Uint8Array): Buffer => {
    const c = encrypt ? createCipheriv('des-ede-ecb', key, null) : createDecipheriv('des-ede-ecb', key, null);
    c.setAutoPadding(false);
    return Buffer.concat([c.update(block), c.final()]);
  };
  const out: Buffer[] = [];
  let prev: Buffer = Buffer.alloc(8);
  for (let i = 0; i < data.length; i += 8) {
    const block = Buffer.from(data.subarray(i, i + 8));
    const x = Buffer.alloc(8);
    if (encrypt) {
      for (let j = 0; j < 8; j++) x[j] = block[j]! ^ prev[j]!;
      prev = ecb(x);
      out.push(prev);
    } else {
      const d = ecb(block);
      for (let j = 0; j < 8; j++) x[j] = d[j]! ^ prev[j]!;
      out.push(x);
      prev = block;
    }
  }
  return Buffer.concat(out);
}

const pad80 = (d: Uint8Array): Buffer => Buffer.concat([d, Buffer.from([0x80]), Buffer.alloc(7 - (d.length % 8))]);

/** ISO 9797-1 MAC algorithm 3: single-DES CBC-MAC (as EDE with K1||K1), then D(K2), E(K1). */
function mac3(key: Uint8Array, data: Uint8Array): Buffer {
  const k1 = Buffer.from(key.subarray(0, 8));
  const k2 = Buffer.from(key.subarray(8, 16));
  const chain = createCipheriv('des-ede-cbc', Buffer.concat([k1, k1]), Buffer.alloc(8));
  chain.setAutoPadding(false);
  const all = Buffer.concat([chain.update(pad80(data)), chain.final()]);
  const d = createDecipheriv('des-ede-ecb', Buffer.concat([k2, k2]), null);
  d.setAutoPadding(false);
  const e = createCipheriv('des-ede-ecb', Buffer.concat([k1, k1]), null);
  e.setAutoPadding(false);
  const h = Buffer.concat([d.update(all.subarray(all.length - 8)), d.final()]);
  return Buffer.concat([e.update(h), e.final()]);
}

export class ResidenceCardSim extends BaseSim {
  readonly data: ResidenceCardData;
  /** DF2 EF01; tests may replace it. */
  addressFile: Uint8Array;
  #df: 'none' | 'mf' | 'df1' | 'df2' | 'df3' = 'none';
  #challenge: Buffer | null = null;
  #ks: Buffer | null = null;
  #verified = false;

  constructor(data: ResidenceCardData) {
    super();
    this.data = data;
    this.lengths = 'exact';
    const a = data.address;
    this.addressFile = a
      ? Buffer.concat([tlv([0xd2], ascii(a.date)), tlv([0xd3], ascii(a.code)), tlv([0xd4], utf8(a.text))])
      : new Uint8Array(0);
  }

  reset(): void {
    this.#df = 'none';
    this.#challenge = null;
    this.#ks = null;
    this.#verified = false;
  }

  #mfFile(sfi: number): Uint8Array | null {
    if (sfi === 1) return tlv([0xc0], ascii('15'));
    if (sfi !== 2) return null;
    const code = this.data.kind === 'residenceCard' ? 1 : 2;
    return this.data.typeEncoding === 'binary' ? Uint8Array.of(code) : tlv([0xc1], ascii(String(code)));
  }

  protected handle(c: Cmd): Uint8Array {
    if (c.ins === 0xa4 && c.cla === 0x00) {
      if (c.p1 === 0x00 && hex(c.data) === '3F00') {
        this.#df = 'mf';
        return reply(0x9000);
      }
      if (c.p1 === 0x04) {
        const df = [DF1, DF2, DF3].findIndex((aid) => same(aid, c.data));
        if (df < 0) return reply(0x6a82);
        this.#df = (['df1', 'df2', 'df3'] as const)[df]!;
        return reply(0x9000);
      }
      return reply(0x6a82);
    }
    if (c.ins === 0xb0 && c.cla === 0x00) {
      if (!(c.p1 & 0x80)) return reply(0x6986);
      if (this.#df !== 'mf') return reply(0x6982);
      const file = this.#mfFile(c.p1 & 0x1f);
      return file ? this.readBinary(file, c.p2, c.le) : reply(0x6a82);
    }
    if (c.ins === 0x84 && c.cla === 0x00) {
      this.#challenge = randomBytes(8);
      return reply(0x9000, this.#challenge);
    }
    if (c.ins === 0x82 && c.cla === 0x00) return this.#mutualAuthenticate(c);
    if (c.ins === 0x20 && c.cla === 0x08 && c.p2 === 0x86) return this.#verify(c);
    if (c.ins === 0xb0 && c.cla === 0x08) return this.#readSecure(c);
    return reply(0x6d00);
  }

  #mutualAuthenticate(c: Cmd): Uint8Array {
    const challenge = this.#challenge;
    this.#challenge = null;
    if (!challenge) return reply(0x6985);
    if (c.data.length !== 40) return reply(0x6700);
    const k = createHash('sha1').update(this.data.cardNumber).digest().subarray(0, 16);
    const eIfd = c.data.subarray(0, 32);
    if (!mac3(k, eIfd).equals(c.data.subarray(32))) return reply(0x6300);
    const s = cbc(k, eIfd, false);
    if (!s.subarray(8, 16).equals(challenge)) return reply(0x6300);
    const kIcc = randomBytes(16);
    const r = Buffer.concat([challenge, s.subarray(0, 8), kIcc]);
    if (this.data.tamper === 'rnd') r[8] = r[8]! ^ 0x01;
    const eIcc = cbc(k, r, true);
    const mIcc = mac3(k, eIcc);
    if (this.data.tamper === 'mac') mIcc[0] = mIcc[0]! ^ 0x01;
    const seed = Buffer.concat([s.subarray(16, 32).map((b, i) => b ^ kIcc[i]!), Buffer.of(0, 0, 0, 1)]);
    const ks = createHash('sha1').update(seed).digest().subarray(0, 16);
    // Odd DES parity in each low bit, as the specification states (DES itself ignores that bit).
    const ones = (b: number): number => [...(b >> 1).toString(2)].filter((x) => x === '1').length;
    this.#ks = Buffer.from(ks.map((b) => (b & 0xfe) | (ones(b) % 2 === 0 ? 1 : 0)));
    return reply(0x9000, Buffer.concat([eIcc, mIcc]));
  }

  #verify(c: Cmd): Uint8Array {
    if (!this.#ks) return reply(0x6982);
    const d = c.data;
    if (d[0] !== 0x86 || d[1] !== d.length - 2 || d[2] !== 0x01 || (d.length - 3) % 8 !== 0) return reply(0x6988);
    const plain = cbc(this.#ks, d.subarray(3), false);
    this.#verified = same(plain, pad80(ascii(this.data.cardNumber)));
    return reply(this.#verified ? 0x9000 : 0x6300);
  }

  #readSecure(c: Cmd): Uint8Array {
    if (!this.#verified || !this.#ks) return reply(0x6982);
    if (this.#df !== 'df2') return reply(0x6986);
    if ((c.p1 & 0x80 && (c.p1 & 0x1f) !== 1) || c.data[0] !== 0x96 || c.data[1] !== 2) return reply(0x6a82);
    const offset = c.p1 & 0x80 ? c.p2 : (c.p1 << 8) | c.p2;
    const ne = (c.data[2]! << 8) | c.data[3]! || 256;
    const file = this.addressFile;
    if (offset > file.length || (offset === file.length && offset > 0)) return reply(0x6b00);
    const cryptogram = Buffer.concat([Buffer.of(0x01), cbc(this.#ks, pad80(file.subarray(offset, offset + ne)), true)]);
    return reply(0x9000, tlv([0x86], cryptogram));
  }
}

/** A card that is neither: every command is answered 6A82. */
export class UnknownCardSim extends BaseSim {
  reset(): void {}
  protected handle(): Uint8Array {
    return reply(0x6a82);
  }
}

/** A CardLink straight to a fake card (no PC/SC), recording what it sends. */
export function directLink(sim: CardSim): { link: CardLink; log: ApduLog } {
  const log = new ApduLog();
  return {
    log,
    link: {
      transmit: async (apdu) => {
        log.push(apdu);
        return sim.apdu(apdu);
      },
    },
  };
}

// ---------- the vpcd side ----------

/**
 * A card slot of a vpcd reader. `insert` connects (pcscd sees the card within its poll, about
 * 0.4 s), `remove` closes the connection. `swap` puts another card in without a removal, which
 * pcscd cannot see: a shortcut for tests that only care about what the card answers.
 */
export class VirtualCard {
  readonly log = new ApduLog();
  #target: net.NetConnectOpts;
  #socket: net.Socket | null = null;
  #sim: CardSim | null = null;
  #ejectOn: ((step: string) => boolean) | null = null;

  constructor(target: { path: string } | { host: string; port: number }) {
    this.#target = target;
  }

  get inserted(): boolean {
    return this.#socket !== null;
  }

  async insert(sim: CardSim): Promise<void> {
    this.swap(sim);
    if (this.#socket) return;
    const socket = net.connect(this.#target);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const n = buf.readUInt16BE(0);
        const frame = buf.subarray(2, 2 + n);
        buf = buf.subarray(2 + n);
        const answer = this.#frame(Uint8Array.from(frame));
        if (answer === 'eject') return void socket.destroy();
        if (answer) socket.write(Buffer.concat([Buffer.from([answer.length >> 8, answer.length & 0xff]), answer]));
      }
    });
    socket.on('error', () => {}); // a removal seen from the other side
    socket.on('close', () => {
      if (this.#socket === socket) this.#socket = null;
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    this.#socket = socket;
  }

  swap(sim: CardSim): void {
    sim.reset();
    this.#sim = sim;
  }

  async remove(): Promise<void> {
    const s = this.#socket;
    if (!s) return;
    this.#socket = null;
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve());
      s.destroy();
    });
  }

  /** The next C-APDU whose step matches is not answered: the card is pulled out instead. */
  ejectOn(match: (step: string) => boolean): void {
    this.#ejectOn = match;
  }

  #frame(frame: Uint8Array): Uint8Array | 'eject' | null {
    const sim = this.#sim;
    if (!sim) return null;
    if (frame.length === 1) {
      if (frame[0] === 4) return sim.atr;
      sim.reset(); // 0 off, 1 on, 2 reset
      return null;
    }
    this.log.push(frame);
    if (this.#ejectOn?.(describeApdu(frame))) {
      this.#ejectOn = null;
      this.#socket = null;
      return 'eject';
    }
    return sim.apdu(frame);
  }

  [inspect.custom](): string {
    return `VirtualCard(${this.inserted ? 'inserted' : 'removed'}, ${this.log.length} APDUs)`;
  }
}

// ---------- test people ----------

/** 髙 (U+9AD9) and 𠮷 (U+20BB7, outside the BMP); the address has full-width digits. */
export const PERSON_MJ: Person = {
  name: '髙橋 𠮷男',
  address: '東京都千代田区霞が関一丁目１番１号',
  birth: '19850102',
  sex: '1',
  myNumber: '123456789018',
};

/** 葛 with the variation selector U+E0100 (IVS, 葛󠄀): must come back with the selector. */
export const PERSON_IVS: Person = {
  name: '\u845B\u{E0100}城 花子',
  address: '奈良県葛\u{E0100}城市長尾１２３番地の４５',
  birth: '19900228',
  sex: '2',
  myNumber: '987654321000',
};

/** 𠀋 (U+2000B, plane 2) and an address long enough (over 255 bytes) for several READ BINARY. */
export const PERSON_PLANE2: Person = {
  name: '𠀋田 一',
  address: `北海道札幌市中央区北一条西二丁目１番地${'　札幌市役所本庁舎一階市民窓口'.repeat(7)}`,
  birth: '20000229',
  sex: '9',
  myNumber: '000000000019',
};
