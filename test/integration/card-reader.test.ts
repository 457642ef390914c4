import { expect } from 'chai';
import { CardError } from '../../rpa-agent/src/card/cardError.js';
import { readMyNumberCard, type MyNumberReadOptions } from '../../rpa-agent/src/card/myNumberCard.js';
import { openReaders, type Readers, type ReaderSnapshot } from '../../rpa-agent/src/card/pcsc.js';
import { probeCard } from '../../rpa-agent/src/card/probe.js';
import { readResidenceCard } from '../../rpa-agent/src/card/residenceCard.js';
import { pcscdAvailable, startPcscd, type Pcscd } from '../helpers/pcscd.js';
import {
  MyNumberCardSim,
  PERSON_IVS,
  PERSON_MJ,
  PERSON_PLANE2,
  ResidenceCardSim,
  UnknownCardSim,
  VirtualCard,
  type Person,
} from '../helpers/virtualCard.js';

/**
 * The card layer end to end through a real pcscd: rpa-agent/src/card/pcsc.ts (koffi and
 * libpcsclite) → pcscd 1.9.9 → vpcd → the fake cards of test/helpers/virtualCard.ts. One pcscd
 * for the file, isolated in its own mount and network namespace (test/helpers/pcscd.ts).
 * Skipped (pending) where pcscd cannot run, e.g. without root.
 */

const codePoints = (s: string): number[] => [...s].map((c) => c.codePointAt(0)!);
const isoBirth = (p: Person): string => `${p.birth.slice(0, 4)}-${p.birth.slice(4, 6)}-${p.birth.slice(6)}`;

async function cardError(p: Promise<unknown>): Promise<CardError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(CardError);
    return err as CardError;
  }
  expect.fail('expected a CardError');
}

describe('card reader: real pcscd, vpcd and a virtual card', function () {
  let pcscd: Pcscd | undefined;
  let readers: Readers | undefined;
  let card: VirtualCard;
  const events: ReaderSnapshot[] = [];
  const savedSocket = process.env.PCSCLITE_CSOCK_NAME;

  const r = (): Readers => readers!;
  const readMy = (opts: MyNumberReadOptions) => r().withCard((link) => readMyNumberCard(link, opts));
  const waitFor = async (what: string, ok: (s: ReaderSnapshot) => boolean, ms = 5000): Promise<void> => {
    for (const until = Date.now() + ms; !ok(r().state());) {
      if (Date.now() > until) throw new Error(`reader never showed ${what}: ${JSON.stringify(r().state())}\n${pcscd?.logs() ?? ''}`);
      await new Promise((res) => setTimeout(res, 20));
    }
  };
  /** Puts a fresh card on the reader: inserted once, later swapped in place (pcscd cannot tell). */
  const present = async (sim: MyNumberCardSim | ResidenceCardSim | UnknownCardSim): Promise<void> => {
    if (!card.inserted) {
      await card.insert(sim);
      await waitFor('a card', (s) => s.card === 'present');
    } else {
      card.swap(sim);
    }
    card.log.clear();
  };

  before(async function () {
    const reason = pcscdAvailable();
    if (reason) {
      console.log(`      card reader tests skipped: ${reason}`);
      this.skip();
    }
    pcscd = await startPcscd();
    // libpcsclite takes the socket from the environment at the first PC/SC call of the process.
    process.env.PCSCLITE_CSOCK_NAME = pcscd.env.PCSCLITE_CSOCK_NAME;
    card = new VirtualCard({ path: pcscd.cardSocket });
    readers = await openReaders();
    readers.onChange((s) => events.push(s));
  });

  after(async () => {
    await readers?.close();
    await card?.remove();
    await pcscd?.stop();
    if (savedSocket === undefined) delete process.env.PCSCLITE_CSOCK_NAME;
    else process.env.PCSCLITE_CSOCK_NAME = savedSocket;
  });

  it('uses the first reader, or the one named; without a card a read is noCard, without the reader noReader', async () => {
    expect(r().state()).to.deep.include({ reader: 'Virtual PCD 00 00', card: 'none' });
    expect((await cardError(readMy({ pin: '1234', withMyNumber: false }))).code).to.equal('noCard');
    const second = await openReaders({ readerName: 'Virtual PCD 00 01' });
    const missing = await openReaders({ readerName: 'SONY FeliCa', settleMs: 50 });
    try {
      expect(second.state()).to.deep.include({ reader: 'Virtual PCD 00 01', card: 'none' });
      expect(missing.state()).to.deep.include({ reader: null, card: 'none' });
      expect(await cardError(missing.withCard(async () => 'never'))).to.include({ code: 'noReader' });
    } finally {
      second.close();
      missing.close();
    }
  });

  it('sees a card put on the reader and finds a My Number card without any PIN', async () => {
    await present(new MyNumberCardSim(PERSON_MJ));
    expect(events.at(-1)).to.deep.include({ reader: 'Virtual PCD 00 00', card: 'present' });
    expect(await r().withCard(probeCard)).to.deep.equal({ card: 'myNumberCard', triesLeft: 3 });
    expect(card.log.count('VERIFY 80 +data')).to.equal(0);
    // vpcd has no control channel, so no PIN pad is found.
    expect(r().state().pinPad).to.equal(false);
  });

  for (const person of [PERSON_MJ, PERSON_IVS, PERSON_PLANE2]) {
    it(`reads the basic four exactly, and never EF 0001 unasked: ${person.name}`, async () => {
      await present(new MyNumberCardSim(person));
      const got = await readMy({ pin: '1234', withMyNumber: false });
      expect(codePoints(got.name)).to.deep.equal(codePoints(person.name));
      expect(codePoints(got.address)).to.deep.equal(codePoints(person.address));
      expect(got).to.deep.include({ cardType: 'myNumberCard', birthDate: isoBirth(person), sex: person.sex });
      expect(got).to.not.have.property('myNumber');
      expect(card.log.steps()).to.not.include('SELECT EF 0001');
      expect(card.log.count('SELECT EF 0002')).to.equal(1);
    });
  }

  it('reads the 個人番号 with withMyNumber', async () => {
    await present(new MyNumberCardSim(PERSON_PLANE2));
    const got = await readMy({ pin: '1234', withMyNumber: true });
    expect(got.myNumber).to.equal(PERSON_PLANE2.myNumber);
    expect(card.log.count('SELECT EF 0001')).to.equal(1);
  });

  it('counts wrong PINs down to 1, then stops without sending a PIN', async () => {
    const sim = new MyNumberCardSim(PERSON_IVS);
    await present(sim);
    for (const left of [2, 1]) {
      const err = await cardError(readMy({ pin: '4321', withMyNumber: false }));
      expect(err).to.include({ code: 'wrongPin', triesLeft: left });
      expect(err.message).to.contain(`あと ${left} 回`);
    }
    card.log.clear();
    expect(await cardError(readMy({ pin: '1234', withMyNumber: false }))).to.include({ code: 'pinNearlyLocked', triesLeft: 1 });
    expect(card.log.count('VERIFY 80 +data')).to.equal(0);
    expect(sim.triesLeft).to.equal(1);
    expect(await r().withCard(probeCard)).to.deep.equal({ card: 'myNumberCard', triesLeft: 1 });
  });

  it('resets the count on a right PIN, and reports a locked card without sending a PIN', async () => {
    const sim = new MyNumberCardSim(PERSON_MJ, { triesLeft: 2 });
    await present(sim);
    expect((await readMy({ pin: '1234', withMyNumber: false })).name).to.equal(PERSON_MJ.name);
    expect(sim.triesLeft).to.equal(3);

    await present(new MyNumberCardSim(PERSON_MJ, { triesLeft: 0 }));
    expect(await cardError(readMy({ pin: '1234', withMyNumber: false }))).to.include({ code: 'locked', triesLeft: 0 });
    expect(card.log.count('VERIFY 80 +data')).to.equal(0);
  });

  it('sends nothing for a PIN that is not 4 digits', async () => {
    await present(new MyNumberCardSim(PERSON_MJ));
    for (const pin of ['123', '１２３４']) expect((await cardError(readMy({ pin, withMyNumber: false }))).code).to.equal('badPin');
    expect(card.log.length).to.equal(0);
  });

  it('reads both kinds of residence card', async () => {
    const address = { date: '20250110', code: '011002', text: '北海道札幌市中央区北一条西二丁目１番地' };
    for (const [kind, typeEncoding] of [
      ['residenceCard', 'ascii'],
      ['specialPermanentResident', 'binary'],
    ] as const) {
      await present(new ResidenceCardSim({ cardNumber: 'UH17622299ER', kind, typeEncoding, address }));
      expect(await r().withCard(probeCard)).to.deep.equal({ card: 'residenceCard' });
      expect(await r().withCard((link) => readResidenceCard(link, { cardNumber: 'UH17622299ER' }))).to.deep.equal({
        cardType: 'residenceCard',
        documentKind: kind,
        cardNumber: 'UH17622299ER',
        address: address.text,
        addressDate: '2025-01-10',
        municipalityCode: '011002',
      });
    }
  });

  it('says wrongCardNumber for another number, badCardNumber (nothing sent) for a malformed one', async () => {
    await present(new ResidenceCardSim({ cardNumber: 'UH17622299ER', kind: 'residenceCard' }));
    const read = (cardNumber: string) => r().withCard((link) => readResidenceCard(link, { cardNumber }));
    expect((await cardError(read('UH17622299EQ'))).code).to.equal('wrongCardNumber');
    card.log.clear();
    expect((await cardError(read('uh17622299er'))).code).to.equal('badCardNumber');
    expect(card.log.length).to.equal(0);
  });

  it('says unknownCard for a card that is neither', async () => {
    await present(new UnknownCardSim());
    expect(await r().withCard(probeCard)).to.deep.equal({ card: 'unknown' });
    expect((await cardError(readMy({ pin: '1234', withMyNumber: false }))).code).to.equal('unknownCard');
    expect((await cardError(r().withCard((link) => readResidenceCard(link, { cardNumber: 'UH17622299ER' })))).code).to.equal('unknownCard');
  });

  it('gives a CardError, not a crash, when the card is pulled out during a read', async () => {
    await present(new MyNumberCardSim(PERSON_PLANE2));
    card.ejectOn((step) => step.startsWith('READ BINARY'));
    const err = await cardError(readMy({ pin: '1234', withMyNumber: false }));
    expect(['noCard', 'readFailed']).to.include(err.code);
    await waitFor('no card', (s) => s.card === 'none');
    expect(events.at(-1)).to.deep.include({ card: 'none' });
    expect((await cardError(readMy({ pin: '1234', withMyNumber: false }))).code).to.equal('noCard');
  });

  it('reports a card put on and taken off to onChange within 2 s', async () => {
    expect(card.inserted).to.equal(false); // the card pulled out above
    const seen: { card: ReaderSnapshot['card']; at: number }[] = [];
    const off = r().onChange((s) => seen.push({ card: s.card, at: Date.now() }));
    const reported = async (what: ReaderSnapshot['card'], since: number): Promise<number> => {
      for (;;) {
        const hit = seen.find((e) => e.card === what && e.at >= since);
        if (hit) return hit.at - since;
        if (Date.now() - since > 2000) throw new Error(`onChange never said card ${what} within 2 s: ${JSON.stringify(seen)}`);
        await new Promise((res) => setTimeout(res, 10));
      }
    };
    try {
      let since = Date.now();
      await card.insert(new MyNumberCardSim(PERSON_MJ));
      const placed = await reported('present', since);
      since = Date.now();
      await card.remove();
      const removed = await reported('none', since);
      expect(placed).to.be.below(2000);
      expect(removed).to.be.below(2000);
    } finally {
      off();
    }
  });

  it('ends the watch and releases PC/SC within 3 s on close()', async () => {
    const extra = await openReaders();
    expect(extra.state()).to.deep.include({ reader: 'Virtual PCD 00 00' });
    await new Promise((res) => setTimeout(res, 300)); // now waiting in SCardGetStatusChange
    const started = Date.now();
    await extra.close();
    expect(Date.now() - started).to.be.below(3000);
    expect((await cardError(extra.withCard(async () => 'never'))).code).to.equal('pcscUnavailable');
  });

  it('says pcscUnavailable when the PC/SC service is not there', async () => {
    await pcscd!.stop();
    expect((await cardError(openReaders())).code).to.equal('pcscUnavailable');
  });

  it('forgets the readers while the service is gone, and finds them again when it is back', async () => {
    await waitFor('no reader', (s) => s.reader === null);
    expect((await cardError(r().withCard(async () => 'never'))).code).to.equal('pcscUnavailable');
    pcscd = await startPcscd(); // the same socket path: libpcsclite read it once
    expect(pcscd.env.PCSCLITE_CSOCK_NAME).to.equal(process.env.PCSCLITE_CSOCK_NAME);
    await waitFor('the reader again', (s) => s.reader === 'Virtual PCD 00 00');
    // The read's own context died with the old pcscd: the next read makes a new one.
    card = new VirtualCard({ path: pcscd.cardSocket });
    await present(new MyNumberCardSim(PERSON_MJ));
    expect(await r().withCard(probeCard)).to.deep.equal({ card: 'myNumberCard', triesLeft: 3 });
  });
});
