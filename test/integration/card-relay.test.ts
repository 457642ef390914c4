import { expect } from 'chai';
import { registerApiClient } from '../../server/src/auth/apiClients.js';
import type { CardReading, CardRequest, ReaderState } from '../../server/src/cards/cardApi.js';
import { MASKED_ADDRESS } from '../../server/src/residents/warnings.js';
import { CardHelper, type CardSource } from '../../rpa-agent/src/card/helper.js';
import { CardServerApi } from '../../rpa-agent/src/card/server.js';
import { makeProtectedResident, makeResident } from '../helpers/factories.js';
import { getAs, postForm } from '../helpers/http.js';
import type { LoggedIn } from '../helpers/login.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The relay between a counter PC's card reader helper and the staff page, over real HTTP with the
 * real helper loop (rpa-agent/src/card/helper.ts). The card itself is a stand-in CardSource here;
 * test/integration/card-reader.test.ts reads a virtual card through a real pcscd.
 */
const PIN = '4821';
const CARD: CardReading = {
  cardType: 'myNumberCard',
  name: '髙橋 𠮷男',
  address: '熊本県窓口郡まどぐち町緑ケ丘二丁目３番地４',
  birthDate: '1985-01-02',
  sex: '1',
  myNumber: '123456789018',
};

class StandInCard implements CardSource {
  card: ReaderState['card'] = 'myNumberCard';
  triesLeft = 3;
  reading: CardReading = CARD;
  asked: CardRequest[] = [];
  private changed: (() => void) | null = null;
  async state(): Promise<ReaderState> {
    return { reader: 'Test Reader 00', card: this.card, ...(this.card === 'myNumberCard' ? { triesLeft: this.triesLeft } : {}) };
  }
  onChange(cb: () => void): void {
    this.changed = cb;
  }
  place(card: ReaderState['card']): void {
    this.card = card;
    this.changed?.();
  }
  async read(request: CardRequest): Promise<CardReading> {
    this.asked.push({ ...request, ...(request.pin ? { pin: '(seen)' } : {}) });
    if (request.cardType === 'myNumberCard' && request.pin !== PIN) {
      this.triesLeft--;
      throw Object.assign(new Error(`暗証番号が違います。あと ${this.triesLeft} 回まちがえるとロックされます`), {
        code: 'wrongPin',
        triesLeft: this.triesLeft,
      });
    }
    this.triesLeft = 3;
    const { myNumber, ...rest } = this.reading as CardReading & { myNumber?: string };
    return (request.withMyNumber && myNumber ? { ...rest, myNumber } : rest) as CardReading;
  }
  async close(): Promise<void> {}
}

describe('card reader relay: helper → server → the staff page at that counter', function () {
  this.timeout(60_000);
  let server: TestServer;
  let source: StandInCard;
  let helper: CardHelper;
  let running: Promise<void>;
  let clerk: LoggedIn;
  let visitId: number;
  const logs: string[] = [];

  const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> });
  const status = (s: LoggedIn, visit: number, request?: string) =>
    getAs(`${server.url}card-reader/status?visit=${visit}${request ? `&request=${request}` : ''}`, s, { accept: 'application/json' }).then(
      json,
    );
  const ask = (s: LoggedIn, visit: number, body: Record<string, string>) =>
    fetch(`${server.url}visits/${visit}/card-reading`, {
      method: 'POST',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    }).then(json);
  const openVisit = async (s: LoggedIn): Promise<number> => {
    const res = await postForm(`${server.url}visits`, s, {});
    return Number(/\/visits\/(\d+)/.exec(res.headers.get('location') ?? '')![1]);
  };
  /** Polls as the page does until the read is no longer waiting or reading. */
  const settle = async (s: LoggedIn, visit: number, request: string) => {
    for (let i = 0; i < 100; i++) {
      const r = await status(s, visit, request);
      const phase = (r.body.request as { phase: string }).phase;
      if (phase !== 'waiting' && phase !== 'reading')
        return r.body.request as { phase: string; error?: { code: string; message: string; triesLeft?: number } };
      await new Promise((ok) => setTimeout(ok, 50));
    }
    throw new Error('the read did not settle');
  };
  const readingOf = (s: LoggedIn, visit: number, request: string) =>
    getAs(`${server.url}visits/${visit}/card-reading/${request}`, s, { accept: 'application/json' }).then(json);

  before(async () => {
    server = await startTestServer();
    const token = await registerApiClient(server.knex, 'card-shimin-1', 'cardReader', { staffLogin: 'test' }, 'shimin-1');
    source = new StandInCard();
    helper = new CardHelper(new CardServerApi(server.url, token), source, (level, msg, extra) =>
      logs.push(JSON.stringify({ level, msg, ...extra })),
    );
    running = helper.run();
    clerk = await server.login(['counter']);
    visitId = await openVisit(clerk);
    for (let i = 0; i < 100 && !(await status(clerk, visitId)).body.reader; i++) await new Promise((ok) => setTimeout(ok, 50));
  });
  after(async () => {
    helper?.stop();
    await running;
    await server?.close();
  });

  it('shows the reader of the clerk’s counter and the card on it, with the PIN tries left', async () => {
    const r = await status(clerk, visitId);
    expect(r.status).to.equal(200);
    expect(r.body.counter).to.deep.equal({ id: 'shimin-1', name: '住民窓口 1番' });
    expect(r.body.reader).to.include({ connected: true, name: 'Test Reader 00', card: 'myNumberCard', triesLeft: 3 });
  });

  it('reads with the PIN, hands the reading once to the session and visit that asked, and never keeps the PIN', async () => {
    const asked = await ask(clerk, visitId, { cardType: 'myNumberCard', pin: PIN });
    expect(asked.status).to.equal(200);
    const requestId = String(asked.body.requestId);
    expect((await settle(clerk, visitId, requestId)).phase).to.equal('done');
    // Another clerk at the same counter, and the same clerk for another visit, get nothing.
    const other = await server.login(['counter']);
    expect((await readingOf(other, visitId, requestId)).status).to.equal(409);
    const otherVisit = await openVisit(clerk);
    expect((await readingOf(clerk, otherVisit, requestId)).status).to.equal(409);

    const got = await readingOf(clerk, visitId, requestId);
    expect(got.status).to.equal(200);
    const fill = got.body.fill as Record<string, unknown>;
    expect([...String(fill.name)]).to.deep.equal([...CARD.name]);
    expect(fill).to.include({ documentType: 'myNumberCard', birthDate: '昭和60年1月2日', sex: '1', addressMasked: false });
    expect(fill.address).to.equal(CARD.address);
    // A counter clerk has no My Number right: the helper was not asked for it and none is shown.
    expect(source.asked.at(-1)!.withMyNumber).to.equal(false);
    expect(got.body.myNumber).to.equal(null);
    // Once only.
    expect((await readingOf(clerk, visitId, requestId)).status).to.equal(409);

    const trail = JSON.stringify(await server.knex('audit_trail').select('action', 'detail', 'target_ids'));
    expect(trail).to.include('card.request').and.include('card.read').and.include('card.deliver');
    expect(trail).not.to.include(PIN);
    expect(trail).not.to.include('𠮷');
    expect(logs.join('\n')).not.to.include(PIN);
  });

  it('reports a wrong PIN with the tries left beside the field, and refuses a malformed PIN before asking the reader', async () => {
    const before = source.asked.length;
    const bad = await ask(clerk, visitId, { cardType: 'myNumberCard', pin: '12a4' });
    expect(bad.status).to.equal(400);
    expect(JSON.stringify(bad.body)).to.include('数字 4 桁').and.not.include('12a4');
    expect(source.asked.length).to.equal(before);

    const asked = await ask(clerk, visitId, { cardType: 'myNumberCard', pin: '0000' });
    const settled = await settle(clerk, visitId, String(asked.body.requestId));
    expect(settled.phase).to.equal('failed');
    expect(settled.error).to.include({ code: 'wrongPin', triesLeft: 2 });
    expect(settled.error!.message).to.include('あと 2 回');
    for (let i = 0; i < 100 && ((await status(clerk, visitId)).body.reader as { triesLeft: number }).triesLeft !== 2; i++)
      await new Promise((ok) => setTimeout(ok, 50));
    expect(((await status(clerk, visitId)).body.reader as { triesLeft: number }).triesLeft).to.equal(2);
  });

  it('reads the 個人番号 only for staff holding the My Number right', async () => {
    const shien = await server.login(['supportMeasures']);
    const visit = await openVisit(shien);
    const asked = await ask(shien, visit, { cardType: 'myNumberCard', pin: PIN });
    expect((await settle(shien, visit, String(asked.body.requestId))).phase).to.equal('done');
    expect(source.asked.at(-1)!.withMyNumber).to.equal(true);
    const got = await readingOf(shien, visit, String(asked.body.requestId));
    expect(got.body.myNumber).to.equal(CARD.myNumber);
    expect(JSON.stringify(await server.knex('audit_trail').select('detail'))).not.to.include(CARD.myNumber!);
  });

  it('compares the card with the register and masks a protected address for staff without the right', async () => {
    await makeResident(server.knex, {
      name: '髙橋 𠮷男',
      birth_date: '1985-01-02',
      sex: '1',
      prefecture: '熊本県',
      city: '窓口郡まどぐち町',
      town_name: '本町',
      block_number: '1番地',
    });
    let asked = await ask(clerk, visitId, { cardType: 'myNumberCard', pin: PIN });
    await settle(clerk, visitId, String(asked.body.requestId));
    let got = await readingOf(clerk, visitId, String(asked.body.requestId));
    const register = got.body.register as { matches: unknown[]; differences: { field: string }[] };
    expect(register.matches).to.have.length(1);
    expect(register.differences.map((d) => d.field)).to.deep.equal(['address']);

    // The same person under a support measure: the card's address and the register's are masked.
    source.reading = { ...CARD, name: '葛󠄀城 花子', sex: '2', birthDate: '1990-05-06' };
    await makeProtectedResident(server.knex, {
      name: '葛󠄀城 花子',
      birth_date: '1990-05-06',
      sex: '2',
      town_name: '秘匿町',
      block_number: '1番地',
    });
    // Every group that handles visits without the right sees the mask; 支援措置担当 sees both addresses.
    for (const group of ['counter', 'certificates', 'insurance', 'welfare', 'supportMeasures']) {
      const who = await server.login([group]);
      const visit = await openVisit(who);
      asked = await ask(who, visit, { cardType: 'myNumberCard', pin: PIN });
      expect((await settle(who, visit, String(asked.body.requestId))).phase, group).to.equal('done');
      got = await readingOf(who, visit, String(asked.body.requestId));
      const text = JSON.stringify(got.body);
      if (group === 'supportMeasures') {
        expect(text, group).to.include('緑ケ丘').and.include('秘匿町');
        continue;
      }
      expect(text, group).not.to.include('緑ケ丘').and.not.to.include('秘匿町');
      expect((got.body.fill as { address: unknown }).address, group).to.equal(null);
      expect((got.body.fill as { addressMasked: boolean }).addressMasked, group).to.equal(true);
      expect(text, group).to.include(MASKED_ADDRESS);
    }
    // A card whose own address is a protected one (another person's) is masked too.
    source.reading = { ...CARD, name: '別人 一郎', birthDate: '1970-01-01', address: '熊本県窓口郡まどぐち町秘匿町1番地' };
    asked = await ask(clerk, visitId, { cardType: 'myNumberCard', pin: PIN });
    await settle(clerk, visitId, String(asked.body.requestId));
    got = await readingOf(clerk, visitId, String(asked.body.requestId));
    expect(JSON.stringify(got.body)).not.to.include('秘匿町');
    source.reading = CARD;
  });

  it('marks the identity check 「ICカード読取」 with the reading, and drops the mark when the document changes', async () => {
    const asked = await ask(clerk, visitId, { cardType: 'myNumberCard', pin: PIN });
    const requestId = String(asked.body.requestId);
    await settle(clerk, visitId, requestId);
    await readingOf(clerk, visitId, requestId);
    const form = { visitorRole: 'subject', identityDocument: 'myNumberCard', visitorName: CARD.name, cardReading: requestId };
    const identityCard = async () =>
      ((await server.knex('visits').where({ id: visitId }).first('identity_card')) as { identity_card: string | null }).identity_card;
    expect((await postForm(`${server.url}visits/${visitId}/visitor`, clerk, form)).status).to.equal(303);
    expect(await identityCard()).to.equal('myNumberCard');
    const page = await (await getAs(`${server.url}visits/${visitId}`, clerk)).text();
    expect(page).to.include('id="identity-ic"').and.include('ICカード読取');
    // Saved again as typed (no reading): kept while the document is the card.
    await postForm(`${server.url}visits/${visitId}/visitor`, clerk, { ...form, cardReading: '' });
    expect(await identityCard()).to.equal('myNumberCard');
    // A reading id another session collected does not mark; nor does a changed document.
    await postForm(`${server.url}visits/${visitId}/visitor`, clerk, { ...form, identityDocument: 'passport', cardReading: requestId });
    expect(await identityCard()).to.equal(null);
    const other = await server.login(['counter']);
    await postForm(`${server.url}visits/${visitId}/visitor`, other, form);
    expect(await identityCard()).to.equal(null);
  });

  it('binds everything to the counter: another counter sees no reader, a helper without a counter and an RPA agent are refused', async () => {
    const elsewhere = await server.loginDemo('hoken', 'hoken-5');
    const visit = await openVisit(elsewhere);
    expect((await status(elsewhere, visit)).body.reader).to.equal(null);
    const refused = await ask(elsewhere, visit, { cardType: 'myNumberCard', pin: PIN });
    expect(refused.status).to.equal(409);
    expect(JSON.stringify(refused.body)).to.include('保険年金窓口 5番');

    const unbound = await registerApiClient(server.knex, 'card-nowhere', 'cardReader', { staffLogin: 'test' });
    const agent = await registerApiClient(server.knex, 'rpa-x', 'rpaAgent', { staffLogin: 'test' });
    for (const token of [unbound, agent]) {
      const res = await fetch(`${server.url}api/v1/card-reader/state`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ reader: 'x', card: 'none' }),
      });
      expect(res.status).to.equal(403);
    }
    // A reviewer (no visit.handle) cannot ask.
    const reviewer = await server.login(['reviewer']);
    expect((await ask(reviewer, visitId, { cardType: 'myNumberCard', pin: PIN })).status).to.equal(403);
  });

  it('shows the panel on the visit page of a clerk with a counter, and takes the residence card’s number', async () => {
    const page = await (await getAs(`${server.url}visits/${visitId}`, clerk)).text();
    expect(page).to.include('id="card-reader"').and.include('/static/card.js').and.include('id="card-pin"');
    source.place('residenceCard');
    source.reading = {
      cardType: 'residenceCard',
      documentKind: 'residenceCard',
      cardNumber: 'AB12345678CD',
      address: '熊本県窓口郡まどぐち町本町１番地',
      addressDate: '2025-04-01',
      municipalityCode: '439991',
    };
    const bad = await ask(clerk, visitId, { cardType: 'residenceCard', cardNumber: 'AB1234' });
    expect(bad.status).to.equal(400);
    const asked = await ask(clerk, visitId, { cardType: 'residenceCard', cardNumber: 'ａｂ１２３４５６７８ｃｄ' });
    expect(asked.status).to.equal(200);
    expect((await settle(clerk, visitId, String(asked.body.requestId))).phase).to.equal('done');
    expect(source.asked.at(-1)!.cardNumber).to.equal('AB12345678CD');
    const got = await readingOf(clerk, visitId, String(asked.body.requestId));
    expect(got.body.fill).to.include({ documentType: 'residenceCard', name: null, documentNote: '在留カード AB12345678CD (ICカード読取)' });
    source.reading = CARD;
    source.place('myNumberCard');
  });
});
