import type { CardRequest, CardResult, ReaderState } from '@madoguchi/server/cards/cardApi';
import { ServerApi, ServerAway, ServerError } from '../api.js';

/**
 * The card reader helper's calls to the madoguchi server (`/api/v1/card-reader/*`, contract in
 * the server's cards/cardApi.ts), over the same HTTPS client as the RPA agent.
 */
export class CardServerApi extends ServerApi {
  constructor(server: string, token: string, ca?: string) {
    // The long poll waits up to LONG_POLL_SECONDS on the server: the socket timeout is longer.
    super(server, token, ca, (LONG_POLL_SECONDS + 15) * 1000);
  }

  reportState(state: ReaderState): Promise<unknown> {
    return this.json('POST', 'api/v1/card-reader/state', state);
  }

  /** The next read asked for at this counter, or null when none came within the long poll. */
  async nextRequest(): Promise<CardRequest | null> {
    const res = await this.request('GET', `api/v1/card-reader/request?wait=${LONG_POLL_SECONDS}`);
    if (res.status === 204) return null;
    if (res.status >= 500 || res.status === 0) throw new ServerAway(`サーバーが HTTP ${res.status} を返しました`);
    if (res.status >= 400) throw new ServerError(res.status, res.body.toString('utf8').slice(0, 300));
    return (JSON.parse(res.body.toString('utf8')) as { request: CardRequest }).request;
  }

  sendResult(result: CardResult): Promise<unknown> {
    return this.json('POST', 'api/v1/card-reader/result', result);
  }
}

export const LONG_POLL_SECONDS = 20;
