import type { MyNumberCardReading } from '@madoguchi/server/cards/cardApi';
import { expectOk, readTlvFile, selectAid, selectEf, SW_OK, transmit, triesFromSw, verify } from './apdu.js';
import { CardError, swHex } from './cardError.js';
import type { CardLink } from './pcsc.js';
import { parseTlv, parseTlvList, requireChild, TlvError } from './tlv.js';

/**
 * The My Number card's 券面事項入力補助AP: the basic four (氏名・住所・生年月日・性別) and, only
 * when asked, the 個人番号. Sequence and file layout: jpki/myna (libmyna/text_ap.go, src/text.rs).
 * The PIN is never logged, stored or put in an error; it exists only in the one VERIFY command.
 */

/** 券面事項入力補助AP. */
export const TEXT_AP_AID = Uint8Array.of(0xd3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08);
const EF_MY_NUMBER = 0x0001;
const EF_ATTRIBUTES = 0x0002;
const EF_PIN = 0x0011;
/** VERIFY reference of the 券面事項入力補助用 PIN (a local PIN of the selected EF). */
const PIN_REFERENCE = 0x80;

const TAG_ATTRIBUTES = 0xff20;
const TAG_NAME = 0xdf22;
const TAG_ADDRESS = 0xdf23;
const TAG_BIRTH = 0xdf24;
const TAG_SEX = 0xdf25;

export interface MyNumberReadOptions {
  /** The resident's 4-digit PIN; leave out only when `link.verifyPinOnPad` lets the reader take it. */
  pin?: string;
  /** Read EF 0001 (個人番号) as well; when false that EF is never selected. */
  withMyNumber: boolean;
}

/** Selects the AP; false when the card has none (then it is not a My Number card). */
export async function selectTextAp(link: CardLink): Promise<boolean> {
  return (await transmit(link, selectAid(TEXT_AP_AID))).sw === SW_OK;
}

/**
 * With the AP selected: selects EF 0011 and asks for its tries left with a VERIFY without data
 * (63Cn → n, 6983 → 0); undefined when the card answers anything else.
 */
export async function queryPinTries(link: CardLink): Promise<number | undefined> {
  if ((await transmit(link, selectEf(EF_PIN))).sw !== SW_OK) return undefined;
  return triesFromSw((await transmit(link, verify(PIN_REFERENCE))).sw);
}

/** The tries the 券面事項入力補助用 PIN has left, without sending a PIN; unknownCard without the AP. */
export async function myNumberPinTries(link: CardLink): Promise<number> {
  if (!(await selectTextAp(link))) throw new CardError('unknownCard', { detail: 'no 入力補助AP' });
  const tries = await queryPinTries(link);
  if (tries === undefined) throw new CardError('readFailed', { detail: 'PIN tries not readable' });
  return tries;
}

export async function readMyNumberCard(link: CardLink, opts: MyNumberReadOptions): Promise<MyNumberCardReading> {
  const usePad = opts.pin === undefined && link.verifyPinOnPad !== undefined;
  // Checked before anything is sent: a malformed PIN never reaches the card.
  if (!usePad && !/^[0-9]{4}$/.test(opts.pin ?? '')) throw new CardError('badPin');

  const tries = await myNumberPinTries(link);
  if (tries === 0) throw new CardError('locked', { triesLeft: 0 });
  // One try left: a wrong PIN now would lock the card, so the helper stops and says so.
  if (tries === 1) throw new CardError('pinNearlyLocked', { triesLeft: 1 });

  const sw = usePad ? await link.verifyPinOnPad!(PIN_REFERENCE, 4) : (await transmit(link, verify(PIN_REFERENCE, ascii(opts.pin!)))).sw;
  if (sw !== SW_OK) {
    const left = triesFromSw(sw);
    if (left === 0) throw new CardError('locked', { triesLeft: 0 });
    if (left !== undefined) throw new CardError('wrongPin', { triesLeft: left });
    throw new CardError('readFailed', { detail: `VERIFY: SW ${swHex(sw)}` });
  }

  await expectOk(link, selectEf(EF_ATTRIBUTES), 'SELECT EF 0002');
  const reading = parseAttributes(await readTlvFile(link, 'READ EF 0002'));
  if (!opts.withMyNumber) return reading;

  await expectOk(link, selectEf(EF_MY_NUMBER), 'SELECT EF 0001');
  return { ...reading, myNumber: parseMyNumber(await readTlvFile(link, 'READ EF 0001', 64)) };
}

/** FF20 { DF21 header, DF22 氏名, DF23 住所, DF24 生年月日, DF25 性別 }, strings kept exactly as stored. */
export function parseAttributes(file: Uint8Array): MyNumberCardReading {
  try {
    const outer = parseTlv(file);
    if (outer.tag !== TAG_ATTRIBUTES || outer.end !== file.length) throw new TlvError('not one FF20');
    const children = parseTlvList(outer.value);
    const name = cardText(requireChild(children, TAG_NAME), 200, 'DF22');
    const address = cardText(requireChild(children, TAG_ADDRESS), 400, 'DF23');
    const birthDate = isoDate(requireChild(children, TAG_BIRTH));
    if (birthDate === null) throw new TlvError('DF24 is not a date');
    const sex = new TextDecoder('ascii').decode(requireChild(children, TAG_SEX));
    if (sex !== '1' && sex !== '2' && sex !== '9') throw new TlvError('DF25 is not ISO 5218');
    return { cardType: 'myNumberCard', name, address, birthDate, sex };
  } catch (err) {
    throw asReadFailed(err, 'EF 0002');
  }
}

/** EF 0001: one TLV of tag number 16, private class (D0, or the long form DF10/FF10), 12 ASCII digits. */
export function parseMyNumber(file: Uint8Array): string {
  try {
    const tlv = parseTlv(file);
    if (tlv.tagClass !== 'private' || tlv.tagNumber !== 16) throw new TlvError(`EF 0001 tag ${tlv.tag.toString(16)}`);
    const digits = String.fromCharCode(...tlv.value);
    if (!/^[0-9]{12}$/.test(digits)) throw new TlvError('EF 0001 is not 12 digits');
    return digits;
  } catch (err) {
    throw asReadFailed(err, 'EF 0001');
  }
}

/** UTF-8 decoded strictly (no replacement, no normalisation, BOM kept), non-empty, no control characters. */
export function cardText(bytes: Uint8Array, maxLength: number, what: string): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new TlvError(`${what} is not UTF-8`);
  }
  // Counted in code points, as the contract's JSON schema counts (𠮷 is one).
  const length = [...text].length;
  if (length === 0 || length > maxLength) throw new TlvError(`${what} has ${length} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) throw new TlvError(`${what} holds a control character`);
  return text;
}

/** "YYYYMMDD" of a real calendar day → "YYYY-MM-DD"; anything else → null. */
export function isoDate(bytes: Uint8Array): string | null {
  const s = String.fromCharCode(...bytes);
  const m = /^([0-9]{4})([0-9]{2})([0-9]{2})$/.exec(s);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (y < 1800 || date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return `${m[1]}-${m[2]}-${m[3]}`;
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

function asReadFailed(err: unknown, what: string): unknown {
  if (err instanceof TlvError) return new CardError('readFailed', { detail: `${what}: ${err.message}` });
  return err;
}
