import { expect } from 'chai';
import type { CardResult } from '../../server/src/cards/cardApi.js';
import { CardRelay, READER_STALE_MS, READING_TTL_MS, REQUEST_TTL_MS } from '../../server/src/cards/relay.js';

/** The relay's rules with a hand-moved clock: what is handed once, to whom, and when it is gone. */
describe('card relay: the PIN handed once, readings bound and expiring', () => {
  let now = 1_000_000;
  const relay = () => new CardRelay(() => now);
  const me = { counterId: 'shimin-1', visitId: 7, sessionId: 's-1' };
  const reading = (requestId: string): CardResult => ({
    requestId,
    ok: true,
    reading: { cardType: 'myNumberCard', name: '髙橋 𠮷男', address: '東京都', birthDate: '1985-01-02', sex: '1' },
  });

  it('hands the request with its PIN once; the copy it keeps has none', async () => {
    const r = relay();
    const id = r.ask(me, { cardType: 'myNumberCard', pin: '4821', withMyNumber: false });
    const first = await r.take('shimin-1', 0);
    expect(first).to.include({ requestId: id, pin: '4821' });
    expect(await r.take('shimin-1', 0)).to.equal(null);
    expect(JSON.stringify(r)).not.to.include('4821');
    expect(r.status(me, id)?.phase).to.equal('reading');
  });

  it('wakes a waiting helper when a request comes, and only the helper of that counter', async () => {
    const r = relay();
    const elsewhere = r.take('hoken-5', 200);
    const waiting = r.take('shimin-1', 5_000);
    r.ask(me, { cardType: 'myNumberCard', pin: '1111', withMyNumber: false });
    expect((await waiting)?.pin).to.equal('1111');
    expect(await elsewhere).to.equal(null);
  });

  it('drops a request the helper did not take within its time, PIN and all', async () => {
    const r = relay();
    const id = r.ask(me, { cardType: 'myNumberCard', pin: '2222', withMyNumber: false });
    now += REQUEST_TTL_MS + 1;
    expect(await r.take('shimin-1', 0)).to.equal(null);
    expect(r.status(me, id)?.phase).to.equal('expired');
  });

  it('accepts only the answer to the request taken at that counter, of the card type asked', async () => {
    const r = relay();
    const id = r.ask(me, { cardType: 'myNumberCard', pin: '3333', withMyNumber: false });
    expect(r.complete('shimin-1', reading(id)), 'not taken yet').to.equal(false);
    await r.take('shimin-1', 0);
    expect(r.complete('hoken-5', reading(id)), 'another counter').to.equal(false);
    expect(r.complete('shimin-1', reading('x'.repeat(24))), 'another request').to.equal(false);
    const residence: CardResult = {
      requestId: id,
      ok: true,
      reading: {
        cardType: 'residenceCard',
        documentKind: 'residenceCard',
        cardNumber: 'AB12345678CD',
        address: null,
        addressDate: null,
        municipalityCode: null,
      },
    };
    expect(r.complete('shimin-1', residence), 'another card type').to.equal(false);
    expect(r.complete('shimin-1', reading(id))).to.equal(true);
  });

  it('hands a reading once, to the session and visit that asked, and forgets it after its time', async () => {
    const r = relay();
    const id = r.ask(me, { cardType: 'myNumberCard', pin: '4444', withMyNumber: false });
    await r.take('shimin-1', 0);
    r.complete('shimin-1', reading(id));
    expect(r.status({ ...me, sessionId: 's-2' }, id)?.phase).to.equal('expired');
    expect(r.collect({ ...me, sessionId: 's-2' }, id)).to.equal(null);
    expect(r.collect({ ...me, visitId: 8 }, id)).to.equal(null);
    expect(r.collect(me, id)).to.deep.equal(reading(id));
    expect(r.collect(me, id)).to.equal(null);
    expect(r.collectedCard({ visitId: 7, sessionId: 's-1' }, id)).to.equal('myNumberCard');
    expect(r.collectedCard({ visitId: 7, sessionId: 's-2' }, id)).to.equal(null);

    const late = r.ask(me, { cardType: 'myNumberCard', pin: '5555', withMyNumber: false });
    await r.take('shimin-1', 0);
    r.complete('shimin-1', reading(late));
    now += READING_TTL_MS + 1;
    expect(r.collect(me, late)).to.equal(null);
  });

  it('shows a helper that stopped reporting as not connected', () => {
    const r = relay();
    r.reportState('shimin-1', 'card-shimin-1', { reader: 'R', card: 'none' });
    expect(r.reader('shimin-1')?.connected).to.equal(true);
    now += READER_STALE_MS + 1;
    expect(r.reader('shimin-1')?.connected).to.equal(false);
    expect(r.reader('hoken-5')).to.equal(null);
  });
});
