/**
 * A set of row keys held as 64-bit hashes in typed arrays: a million keys take 16 MB instead of
 * the ~80 MB of a Set of strings. Two different keys share a 64-bit hash with a chance of about
 * 1 in 10^7 per million-row file; such a row would be reported as a duplicate (visible, never
 * silent), and the table's unique index still guards real duplicates.
 */
export class KeySet {
  private hi: Uint32Array;
  private lo: Uint32Array;
  private used = 0;

  constructor(capacity = 1 << 12) {
    this.hi = new Uint32Array(capacity);
    this.lo = new Uint32Array(capacity);
  }

  get size(): number {
    return this.used;
  }

  /** Adds the key; returns false when it was already there. */
  add(key: string): boolean {
    let h1 = 0x811c9dc5;
    let h2 = 0x01000193 ^ key.length;
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
      h2 ^= h2 >>> 15;
    }
    h1 = (h1 ^ (h1 >>> 16)) >>> 0;
    h2 = (h2 ^ (h2 >>> 13)) >>> 0;
    // 0/0 marks an empty slot.
    if (h1 === 0 && h2 === 0) h2 = 1;
    if ((this.used + 1) * 2 > this.hi.length) this.grow();
    return this.insert(h1, h2);
  }

  private insert(h1: number, h2: number): boolean {
    const mask = this.hi.length - 1;
    for (let i = (h1 ^ Math.imul(h2, 0x9e3779b1)) & mask; ; i = (i + 1) & mask) {
      const a = this.hi[i]!;
      const b = this.lo[i]!;
      if (a === 0 && b === 0) {
        this.hi[i] = h1;
        this.lo[i] = h2;
        this.used++;
        return true;
      }
      if (a === h1 && b === h2) return false;
    }
  }

  private grow(): void {
    const { hi, lo } = this;
    this.hi = new Uint32Array(hi.length * 2);
    this.lo = new Uint32Array(lo.length * 2);
    this.used = 0;
    for (let i = 0; i < hi.length; i++) if (hi[i] !== 0 || lo[i] !== 0) this.insert(hi[i]!, lo[i]!);
  }
}
