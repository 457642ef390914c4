import { randomBytes } from 'node:crypto';
import type { CardRequest, CardResult, CardType, ReaderState } from './cardApi.js';

/**
 * The relay between a counter's card reader helper and the staff page at that counter, in this
 * process's memory only. The page asks (`ask`), the helper takes the request (`take`, a long poll),
 * reads the card and answers (`complete`); the page collects the reading once (`collect`).
 *
 * Why memory and not a table: the request carries the resident's PIN, which must never be stored,
 * and a reading is wanted for a minute at most. A restart loses both, which is what expiry does
 * anyway: the clerk asks again. (With several app nodes the helper and the page of one counter must
 * reach the same node: docs/manual/card-reader.md.)
 *
 * Everything is bound: a request to the counter and to the visit and the session that asked; a
 * reading is handed only to that session, for that visit, at that counter, before it expires.
 */

/** A request the helper has not taken by then is dropped (with its PIN). */
export const REQUEST_TTL_MS = 60_000;
/** A reading the page has not collected by then is dropped. */
export const READING_TTL_MS = 120_000;
/** A helper that has not reported its reader for this long is shown as not connected (it reports every 20 s). */
export const READER_STALE_MS = 45_000;
/** After collection, the visit remembers for this long that the reading was a card's (the identity save marks it). */
const READ_MARK_TTL_MS = 30 * 60_000;

export interface Asker {
  counterId: string;
  visitId: number;
  sessionId: string;
}

export type RequestPhase = 'waiting' | 'reading' | 'done' | 'failed' | 'expired';

export interface RequestStatus {
  requestId: string;
  /** Unknown once the request has expired. */
  cardType?: CardType;
  phase: RequestPhase;
  error?: { code: string; message: string; triesLeft?: number };
}

interface Pending extends Asker {
  request: CardRequest;
  createdAt: number;
  takenAt: number | null;
}

interface Finished extends Asker {
  requestId: string;
  cardType: CardType;
  result: CardResult | null;
  at: number;
  collectedAt: number | null;
}

export interface ReaderView {
  state: ReaderState;
  client: string;
  seenAt: number;
  connected: boolean;
}

export class CardRelay {
  private readonly readers = new Map<string, { state: ReaderState; client: string; seenAt: number }>();
  /** One request at a time per counter: a new one replaces (and forgets) the previous one. */
  private readonly pending = new Map<string, Pending>();
  private readonly finished = new Map<string, Finished>();
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The helper's report of its reader (also its heartbeat). */
  reportState(counterId: string, client: string, state: ReaderState): void {
    this.readers.set(counterId, { state, client, seenAt: this.now() });
  }

  reader(counterId: string): ReaderView | null {
    const r = this.readers.get(counterId);
    if (!r) return null;
    return { ...r, connected: this.now() - r.seenAt <= READER_STALE_MS };
  }

  /** The page asks for a read; returns the request id. The PIN stays only until the helper takes it. */
  ask(who: Asker, what: Omit<CardRequest, 'requestId'>): string {
    this.sweep();
    const requestId = randomBytes(18).toString('base64url');
    this.pending.set(who.counterId, { ...who, request: { ...what, requestId }, createdAt: this.now(), takenAt: null });
    for (const wake of this.waiters.get(who.counterId) ?? []) wake();
    return requestId;
  }

  /** The helper's long poll: the counter's request not yet taken, or null after `waitMs`. */
  async take(counterId: string, waitMs: number): Promise<CardRequest | null> {
    const ready = (): CardRequest | null => {
      this.sweep();
      const p = this.pending.get(counterId);
      if (!p || p.takenAt !== null) return null;
      p.takenAt = this.now();
      const handed = p.request;
      // Handed once: the copy kept for matching the answer has no PIN.
      const { pin: _pin, ...kept } = handed;
      p.request = kept;
      return handed;
    };
    const now = ready();
    if (now || waitMs <= 0) return now;
    const set = this.waiters.get(counterId) ?? new Set<() => void>();
    this.waiters.set(counterId, set);
    return new Promise<CardRequest | null>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        set.delete(done);
        resolve(ready());
      };
      const timer = setTimeout(done, waitMs);
      set.add(done);
    });
  }

  /** The helper's answer to the request it took; false when there is no such request at its counter. */
  complete(counterId: string, result: CardResult): boolean {
    this.sweep();
    const p = this.pending.get(counterId);
    if (!p || p.takenAt === null || p.request.requestId !== result.requestId) return false;
    // A reading of another card type than the one asked for is not this request's answer.
    if (result.ok && result.reading.cardType !== p.request.cardType) return false;
    this.pending.delete(counterId);
    this.finished.set(result.requestId, {
      counterId: p.counterId,
      visitId: p.visitId,
      sessionId: p.sessionId,
      requestId: result.requestId,
      cardType: p.request.cardType,
      result,
      at: this.now(),
      collectedAt: null,
    });
    return true;
  }

  /** Where a request of this asker stands (the page polls it); null when it is not theirs or unknown. */
  status(who: Asker, requestId: string): RequestStatus | null {
    this.sweep();
    const p = this.pending.get(who.counterId);
    if (p && p.request.requestId === requestId) {
      if (!sameAsker(p, who)) return null;
      return { requestId, cardType: p.request.cardType, phase: p.takenAt === null ? 'waiting' : 'reading' };
    }
    const f = this.finished.get(requestId);
    if (!f || !sameAsker(f, who)) return { requestId, phase: 'expired' };
    if (f.result && !f.result.ok)
      return {
        requestId,
        cardType: f.cardType,
        phase: 'failed',
        error: {
          code: f.result.code,
          message: f.result.message,
          ...(f.result.triesLeft !== undefined ? { triesLeft: f.result.triesLeft } : {}),
        },
      };
    return { requestId, cardType: f.cardType, phase: f.result ? 'done' : 'expired' };
  }

  /** The reading, handed once to its asker; afterwards only the fact that it was a card's remains. */
  collect(who: Asker, requestId: string): CardResult | null {
    this.sweep();
    const f = this.finished.get(requestId);
    if (!f || !sameAsker(f, who) || !f.result || !f.result.ok) return null;
    const result = f.result;
    f.result = null;
    f.collectedAt = this.now();
    return result;
  }

  /** The card type whose reading this asker collected for this visit (the identity save marks 「ICカード読取」). */
  collectedCard(who: Omit<Asker, 'counterId'>, requestId: string): CardType | null {
    this.sweep();
    const f = this.finished.get(requestId);
    if (!f || f.collectedAt === null || f.visitId !== who.visitId || f.sessionId !== who.sessionId) return null;
    return f.cardType;
  }

  /** Drops what has expired: requests (and their PINs), readings, and old marks. */
  sweep(): void {
    const t = this.now();
    for (const [k, p] of this.pending) if (t - p.createdAt > REQUEST_TTL_MS) this.pending.delete(k);
    for (const [k, f] of this.finished) {
      if (f.collectedAt === null && t - f.at > READING_TTL_MS) this.finished.delete(k);
      else if (f.collectedAt !== null && t - f.collectedAt > READ_MARK_TTL_MS) this.finished.delete(k);
    }
  }
}

const sameAsker = (a: Asker, b: Asker): boolean => a.counterId === b.counterId && a.visitId === b.visitId && a.sessionId === b.sessionId;
