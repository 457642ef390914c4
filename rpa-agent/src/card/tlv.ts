/**
 * BER-TLV as the cards use it: tags of one to three bytes (FF20, DF21, 86), definite lengths in
 * short form or 81/82/83 long form. Every read is bounds-checked: malformed input throws
 * TlvError and nothing reads past the end of the buffer.
 */

export class TlvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlvError';
  }
}

export interface Tlv {
  /** The tag bytes as one number: 0x86, 0xDF21, 0xFF20. */
  tag: number;
  tagClass: 'universal' | 'application' | 'context' | 'private';
  constructed: boolean;
  /** The tag number without class and form bits: FF20 → 32, DF21 → 33, D0 → 16. */
  tagNumber: number;
  value: Uint8Array;
  /** Offset of the first byte after this TLV in the parsed buffer. */
  end: number;
}

const classes = ['universal', 'application', 'context', 'private'] as const;

export interface TlvHeader {
  tag: number;
  tagClass: Tlv['tagClass'];
  constructed: boolean;
  tagNumber: number;
  headerLength: number;
  valueLength: number;
}

/**
 * Reads the tag and length at `offset`. Throws when they are malformed or cut off; does not look
 * at the value, so it also serves to learn an EF's total size from its first bytes.
 */
export function parseTlvHeader(buf: Uint8Array, offset = 0): TlvHeader {
  let i = offset;
  const byte = (): number => {
    if (i >= buf.length) throw new TlvError(`TLV cut off at byte ${i}`);
    return buf[i++]!;
  };
  const first = byte();
  // 00 is padding in ISO 7816 files, never a tag. (FF is: the My Number card's FF20.)
  if (first === 0x00) throw new TlvError(`tag 00 at byte ${offset}`);
  let tag = first;
  let tagNumber = first & 0x1f;
  if (tagNumber === 0x1f) {
    tagNumber = 0;
    for (let n = 0; ; n++) {
      if (n === 2) throw new TlvError(`tag longer than 3 bytes at byte ${offset}`);
      const b = byte();
      tag = tag * 256 + b;
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  const lenByte = byte();
  let valueLength: number;
  if (lenByte < 0x80) {
    valueLength = lenByte;
  } else if (lenByte === 0x80) {
    throw new TlvError(`indefinite length at byte ${i - 1}`);
  } else {
    const count = lenByte & 0x7f;
    if (count > 3) throw new TlvError(`length of ${count} bytes at byte ${i - 1}`);
    valueLength = 0;
    for (let n = 0; n < count; n++) valueLength = valueLength * 256 + byte();
  }
  return {
    tag,
    tagClass: classes[first >> 6]!,
    constructed: (first & 0x20) !== 0,
    tagNumber,
    headerLength: i - offset,
    valueLength,
  };
}

/** One TLV at `offset`; throws when its value runs past the end of `buf`. */
export function parseTlv(buf: Uint8Array, offset = 0): Tlv {
  const h = parseTlvHeader(buf, offset);
  const start = offset + h.headerLength;
  const end = start + h.valueLength;
  if (end > buf.length) throw new TlvError(`TLV ${h.tag.toString(16)} claims ${h.valueLength} bytes, ${buf.length - start} left`);
  return { tag: h.tag, tagClass: h.tagClass, constructed: h.constructed, tagNumber: h.tagNumber, value: buf.subarray(start, end), end };
}

/** Sibling TLVs filling `buf` exactly (a constructed value, or a whole EF). */
export function parseTlvList(buf: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let offset = 0; offset < buf.length;) {
    const tlv = parseTlv(buf, offset);
    out.push(tlv);
    offset = tlv.end;
  }
  return out;
}

/** The value of the one child with `tag`; throws when it is missing or repeated. */
export function requireChild(list: readonly Tlv[], tag: number): Uint8Array {
  const found = list.filter((t) => t.tag === tag);
  if (found.length !== 1) throw new TlvError(`expected one ${tag.toString(16).toUpperCase()}, found ${found.length}`);
  return found[0]!.value;
}

/** Encodes one TLV with a definite length (short form below 128). */
export function encodeTlv(tag: number, value: Uint8Array): Uint8Array {
  const tagBytes: number[] = [];
  for (let t = tag; ; t = Math.floor(t / 256)) {
    tagBytes.unshift(t & 0xff);
    if (t < 256) break;
  }
  const n = value.length;
  if (n > 0xffffff) throw new TlvError('value too long');
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(tagBytes.length + len.length + n);
  out.set(tagBytes, 0);
  out.set(len, tagBytes.length);
  out.set(value, tagBytes.length + len.length);
  return out;
}
