import type { CardErrorCode, CardReading, CardRequest, CardResult, ReaderState } from '@madoguchi/server/cards/cardApi';
import { ServerError } from '../api.js';
import type { Log } from '../agent.js';
import type { CardServerApi } from './server.js';

/** Whatever reads the cards at this counter: PC/SC in production (pcscSource.ts), the same with a virtual card in the tests. */
export interface CardSource {
  /** The reader and the card on it now (probes a newly placed card: type, PIN tries left). */
  state(): Promise<ReaderState>;
  /** Called when a reader or card comes or goes. */
  onChange(cb: () => void): void;
  /** Reads the card for a request; throws an error with a `code` of cardApi's CardErrorCode and a Japanese message. */
  read(request: CardRequest): Promise<CardReading>;
  close(): Promise<void>;
}

/** The helper reports its reader at least this often: the server shows a silent helper as not connected. */
export const HEARTBEAT_MS = 20_000;
const RETRY_MS = 3_000;

/**
 * The counter PC's card reader helper: reports the reader to the server, takes the reads that staff
 * at this counter ask for (long poll), reads the card and posts the result. It keeps nothing: the
 * PIN lives in the request object for the length of one read, and is never logged.
 */
export class CardHelper {
  private stopping = false;
  private wakeState: (() => void) | null = null;
  private last: ReaderState | null = null;
  private dirty = true;
  reads = 0;

  constructor(
    private readonly api: CardServerApi,
    private readonly source: CardSource,
    private readonly log: Log,
  ) {
    source.onChange(() => {
      this.dirty = true;
      this.wakeState?.();
    });
  }

  /** Stops both loops; the long poll in flight is cut (its socket closed). */
  stop(): void {
    this.stopping = true;
    this.wakeState?.();
    this.api.close();
  }

  async run(): Promise<void> {
    await Promise.all([this.stateLoop(), this.requestLoop()]);
    await this.source.close();
    this.api.close();
  }

  /** Reports the reader when it changes and as a heartbeat. */
  private async stateLoop(): Promise<void> {
    while (!this.stopping) {
      try {
        if (this.dirty || !this.last) {
          this.dirty = false;
          this.last = await this.source.state();
        }
        await this.api.reportState(this.last);
      } catch (e) {
        this.log('warn', '読取装置の状態を送れませんでした', { error: messageOf(e) });
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, HEARTBEAT_MS);
        function done(): void {
          clearTimeout(t);
          resolve();
        }
        this.wakeState = done;
      });
      this.wakeState = null;
    }
  }

  private async requestLoop(): Promise<void> {
    while (!this.stopping) {
      let request: CardRequest | null;
      try {
        request = await this.api.nextRequest();
      } catch (e) {
        this.log('warn', 'サーバーから依頼を受け取れません', { error: messageOf(e) });
        if (e instanceof ServerError && (e.status === 401 || e.status === 403)) {
          this.log('error', 'トークンが無効か、この端末は窓口に結び付いていません (madoguchi card-reader register)', {});
          this.stop();
          return;
        }
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
      if (!request || this.stopping) continue;
      await this.answer(request);
    }
  }

  private async answer(request: CardRequest): Promise<void> {
    const started = Date.now();
    let result: CardResult;
    try {
      const reading = await this.source.read(request);
      result = { requestId: request.requestId, ok: true, reading };
    } catch (e) {
      const err = e as { code?: string; message?: string; triesLeft?: number };
      const code = (typeof err.code === 'string' ? err.code : 'readFailed') as CardErrorCode;
      result = {
        requestId: request.requestId,
        ok: false,
        code,
        message:
          typeof err.code === 'string' && err.message
            ? err.message
            : 'カードを読み取れませんでした。カードを置き直してからやり直してください',
        ...(typeof err.triesLeft === 'number' ? { triesLeft: err.triesLeft } : {}),
      };
    }
    this.reads++;
    // Which card and how it went; never the PIN, never what the card holds.
    this.log('info', result.ok ? 'カードを読み取りました' : 'カードを読み取れませんでした', {
      request: request.requestId,
      card: request.cardType,
      ...(result.ok ? {} : { code: result.code }),
      ms: Date.now() - started,
    });
    try {
      await this.api.sendResult(result);
    } catch (e) {
      this.log('warn', '読み取り結果を送れませんでした (職員の画面では期限切れになります)', { error: messageOf(e) });
    }
    // The tries left may have changed: report the reader again.
    this.dirty = true;
    this.wakeState?.();
  }
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
