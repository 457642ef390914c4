import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { encodeCommand, transmit, triesFromSw } from '../../rpa-agent/src/card/apdu.js';
import { CardError } from '../../rpa-agent/src/card/cardError.js';
import { myNumberPinTries, parseAttributes, parseMyNumber, readMyNumberCard } from '../../rpa-agent/src/card/myNumberCard.js';
import { probeCard } from '../../rpa-agent/src/card/probe.js';
import { cardTypeOf, readResidenceCard, retailMac, sessionKey, tdesCbc } from '../../rpa-agent/src/card/residenceCard.js';
import { encodeTlv, parseTlv, parseTlvList, requireChild, TlvError } from '../../rpa-agent/src/card/tlv.js';
import {
  attributesFile,
  directLink,
  MyNumberCardSim,
  PERSON_IVS,
  PERSON_MJ,
  PERSON_PLANE2,
  ResidenceCardSim,
  tlv,
  UnknownCardSim,
  type Person,
} from '../helpers/virtualCard.js';

/**
 * The card layer without PC/SC: TLV and APDU helpers, and the My Number and residence card
 * readers against the fake cards of test/helpers/virtualCard.ts (which implement the card side
 * independently), linked directly instead of through pcscd.
 */

const h = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');
const codePoints = (s: string): number[] => [...s].map((c) => c.codePointAt(0)!);

async function cardError(p: Promise<unknown>): Promise<CardError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(CardError);
    return err as CardError;
  }
  expect.fail('expected a CardError');
}

describe('card layer: BER-TLV', () => {
  it('parses two- and three-byte tags and long lengths (81, 82)', () => {
    const name = new Uint8Array(200).fill(0x41);
    const addr = new Uint8Array(300).fill(0x42);
    const file = encodeTlv(0xff20, Buffer.concat([encodeTlv(0xdf21, Uint8Array.of(1)), encodeTlv(0xdf22, name), encodeTlv(0xdf23, addr)]));
    expect([...file.subarray(0, 4)]).to.deep.equal([0xff, 0x20, 0x82, 0x02]);
    const outer = parseTlv(file);
    expect(outer).to.include({ tag: 0xff20, tagClass: 'private', constructed: true, tagNumber: 32, end: file.length });
    const kids = parseTlvList(outer.value);
    expect(kids.map((k) => k.tag)).to.deep.equal([0xdf21, 0xdf22, 0xdf23]);
    expect(kids[1]!.value.length).to.equal(200);
    expect([...encodeTlv(0xdf22, name).subarray(0, 4)]).to.deep.equal([0xdf, 0x22, 0x81, 200]);
    expect(requireChild(kids, 0xdf23).length).to.equal(300);
    expect(parseTlv(h('9F8101 01 AA'))).to.include({ tag: 0x9f8101, tagNumber: 129, tagClass: 'context' });
  });

  it('encodes the length boundaries 7F / 80 / FF / 100', () => {
    for (const [n, head] of [
      [0x7f, [0x86, 0x7f]],
      [0x80, [0x86, 0x81, 0x80]],
      [0xff, [0x86, 0x81, 0xff]],
      [0x100, [0x86, 0x82, 0x01, 0x00]],
    ] as const) {
      const enc = encodeTlv(0x86, new Uint8Array(n));
      expect([...enc.subarray(0, head.length)]).to.deep.equal(head);
      expect(parseTlv(enc).value.length).to.equal(n);
    }
  });

  it('throws TlvError on malformed input instead of reading past the end', () => {
    expect(() => parseTlv(new Uint8Array(0))).to.throw(TlvError);
    const bad = [
      'DF', // tag cut off
      'DF 81', // multi-byte tag cut off
      'DF 81 81 81 01 00', // tag longer than 3 bytes
      '86', // no length
      '86 81', // long length cut off
      'DF21 82 01', // truncated two-byte length
      '86 05 01 02', // length past the end
      'FF20 82 FFFF 00', // length far past the end
      '86 80 00 00', // indefinite length
      '86 84 00 00 00 01 00', // four length bytes
      '00 01 00', // padding is not a tag
    ];
    for (const hexText of bad) expect(() => parseTlvList(h(hexText)), hexText).to.throw(TlvError);
    expect(() => requireChild(parseTlvList(h('DF21 01 00 DF21 01 00')), 0xdf21)).to.throw(TlvError);
    expect(() => requireChild([], 0xdf22)).to.throw(TlvError);
  });

  it('never hangs or reads out of bounds on random and truncated input', () => {
    const file = attributesFile(PERSON_PLANE2);
    for (let cut = 0; cut < file.length; cut++) expect(() => parseTlv(file.subarray(0, cut))).to.throw(TlvError);
    const start = Date.now();
    for (let i = 0; i < 3000; i++) {
      const buf = randomBytes(1 + (i % 40));
      try {
        for (const t of parseTlvList(buf)) expect(t.end).to.be.at.most(buf.length);
      } catch (err) {
        expect(err).to.be.instanceOf(TlvError);
      }
    }
    expect(Date.now() - start).to.be.below(2000);
  });
});

describe('card layer: APDUs', () => {
  it('encodes the four short cases (Le 256 as 00)', () => {
    expect([...encodeCommand({ cla: 0, ins: 0x20, p1: 0, p2: 0x80 })]).to.deep.equal([0, 0x20, 0, 0x80]);
    expect([...encodeCommand({ cla: 0, ins: 0xb0, p1: 1, p2: 2, le: 256 })]).to.deep.equal([0, 0xb0, 1, 2, 0]);
    expect([...encodeCommand({ cla: 0, ins: 0xa4, p1: 2, p2: 0x0c, data: Uint8Array.of(0, 0x11) })]).to.deep.equal([
      0, 0xa4, 2, 0x0c, 2, 0, 0x11,
    ]);
    expect([...encodeCommand({ cla: 0, ins: 0x82, p1: 0, p2: 0, data: Uint8Array.of(9), le: 40 })]).to.deep.equal([
      0, 0x82, 0, 0, 1, 9, 40,
    ]);
    expect(() => encodeCommand({ cla: 0, ins: 0, p1: 0, p2: 0, data: new Uint8Array(256) })).to.throw(RangeError);
  });

  it('reads the tries from 63Cn and 6983', () => {
    expect(triesFromSw(0x63c3)).to.equal(3);
    expect(triesFromSw(0x63c0)).to.equal(0);
    expect(triesFromSw(0x6983)).to.equal(0);
    expect(triesFromSw(0x9000)).to.equal(undefined);
  });

  it('follows 61xx with GET RESPONSE and repeats a 6Cxx command with the right Le', async () => {
    const sim = new MyNumberCardSim(PERSON_MJ);
    sim.delivery = 'getResponse';
    const { link, log } = directLink(sim);
    expect((await transmit(link, { cla: 0, ins: 0xa4, p1: 4, p2: 0x0c, data: h('D3921000310001010408') })).sw).to.equal(0x9000);
    const r = await readMyNumberCard(link, { pin: '1234', withMyNumber: true });
    expect(r.myNumber).to.equal(PERSON_MJ.myNumber);
    expect(log.count('GET RESPONSE')).to.be.greaterThan(2);

    const res = new ResidenceCardSim({ cardNumber: 'AB12345678CD', kind: 'residenceCard' });
    const direct = directLink(res);
    expect((await readResidenceCard(direct.link, { cardNumber: 'AB12345678CD' })).documentKind).to.equal('residenceCard');
    // The plain reads of MF EF01/EF02 ask Le 00 and are told the exact length (6Cxx) first.
    expect(direct.log.count('READ BINARY SFI 02')).to.equal(2);
  });
});

describe('card layer: My Number card (fake card, no PC/SC)', () => {
  for (const person of [PERSON_MJ, PERSON_IVS, PERSON_PLANE2]) {
    it(`reads the basic four exactly: ${person.name}`, async () => {
      const { link, log } = directLink(new MyNumberCardSim(person));
      const r = await readMyNumberCard(link, { pin: '1234', withMyNumber: false });
      expect(codePoints(r.name)).to.deep.equal(codePoints(person.name));
      expect(codePoints(r.address)).to.deep.equal(codePoints(person.address));
      expect(r.birthDate).to.equal(`${person.birth.slice(0, 4)}-${person.birth.slice(4, 6)}-${person.birth.slice(6)}`);
      expect(r.sex).to.equal(person.sex);
      expect(r).to.not.have.property('myNumber');
      expect(log.steps()).to.not.include('SELECT EF 0001');
    });
  }

  it('reads the 個人番号 only when asked', async () => {
    const { link, log } = directLink(new MyNumberCardSim(PERSON_IVS));
    expect((await readMyNumberCard(link, { pin: '1234', withMyNumber: true })).myNumber).to.equal(PERSON_IVS.myNumber);
    expect(log.count('SELECT EF 0001')).to.equal(1);
  });

  it('accepts EF 0001 with tag D0, DF10 or FF10 and nothing but 12 digits', () => {
    for (const tag of [[0xd0], [0xdf, 0x10], [0xff, 0x10]])
      expect(parseMyNumber(tlv(tag, Buffer.from('123456789018')))).to.equal('123456789018');
    for (const bad of [
      tlv([0xdf, 0x10], Buffer.from('12345678901')),
      tlv([0xdf, 0x10], Buffer.from('12345678901X')),
      tlv([0xdf, 0x11], Buffer.from('123456789018')),
    ]) {
      expect(() => parseMyNumber(bad))
        .to.throw(CardError)
        .with.property('code', 'readFailed');
    }
  });

  it('refuses EF 0002 that is not UTF-8, not a real date, empty or cut off', () => {
    const person = (p: Partial<Person>): Uint8Array => attributesFile({ ...PERSON_MJ, ...p });
    const sjisName = tlv(
      [0xff, 0x20],
      tlv([0xdf, 0x22], h('fbfc 8bb4')), // 髙橋 in Shift_JIS
      tlv([0xdf, 0x23], Buffer.from('東京都')),
      tlv([0xdf, 0x24], Buffer.from('19850102')),
      tlv([0xdf, 0x25], Buffer.from('1')),
    );
    const full = person({});
    for (const file of [
      sjisName,
      person({ birth: '19850230' }),
      person({ birth: '1985012' }),
      person({ name: '' }),
      person({ sex: '3' as '1' }),
      full.subarray(0, full.length - 1),
    ]) {
      expect(() => parseAttributes(file))
        .to.throw(CardError)
        .with.property('code', 'readFailed');
    }
    expect(parseAttributes(full).name).to.equal(PERSON_MJ.name);
  });

  it('sends nothing for a malformed PIN', async () => {
    for (const pin of ['', '123', '12345', '12a4', '１２３４', ' 1234']) {
      const { link, log } = directLink(new MyNumberCardSim(PERSON_MJ));
      expect((await cardError(readMyNumberCard(link, { pin, withMyNumber: false }))).code).to.equal('badPin');
      expect(log.length).to.equal(0);
    }
  });

  it('counts the tries down, stops at one without VERIFY, and a right PIN resets them', async () => {
    const sim = new MyNumberCardSim(PERSON_MJ);
    const { link, log } = directLink(sim);
    const first = await cardError(readMyNumberCard(link, { pin: '0000', withMyNumber: false }));
    expect(first).to.include({ code: 'wrongPin', triesLeft: 2 });
    expect(first.message).to.contain('あと 2 回');
    expect(first.message + (first.detail ?? '')).to.not.contain('0000');
    sim.reset();
    expect(await readMyNumberCard(link, { pin: '1234', withMyNumber: false })).to.have.property('name');
    expect(sim.triesLeft).to.equal(3);

    for (const left of [2, 1]) {
      sim.reset();
      expect(await cardError(readMyNumberCard(link, { pin: '9999', withMyNumber: false }))).to.include({
        code: 'wrongPin',
        triesLeft: left,
      });
    }
    sim.reset();
    log.clear();
    const stopped = await cardError(readMyNumberCard(link, { pin: '1234', withMyNumber: false }));
    expect(stopped).to.include({ code: 'pinNearlyLocked', triesLeft: 1 });
    expect(log.count('VERIFY 80 +data')).to.equal(0);
    expect(sim.triesLeft).to.equal(1);
    sim.reset();
    expect(await myNumberPinTries(link)).to.equal(1);
  });

  it('reports a locked PIN without sending one', async () => {
    const { link, log } = directLink(new MyNumberCardSim(PERSON_MJ, { triesLeft: 0 }));
    expect(await cardError(readMyNumberCard(link, { pin: '1234', withMyNumber: true }))).to.include({ code: 'locked', triesLeft: 0 });
    expect(log.count('VERIFY 80 +data')).to.equal(0);
  });
});

describe('card layer: residence card crypto and reading (fake card, no PC/SC)', () => {
  it('matches the ICAO 9303 worked example for 3DES, retail MAC and the session key', () => {
    // ICAO Doc 9303 part 11, appendix D (BAC): the same primitives as the residence card.
    const kEnc = h('AB94FDECF2674FDFB9B391F85D7F76F2');
    const kMac = h('7962D9ECE03D1ACD4C76089DCE131543');
    const s = h('781723860C06C226 4608F91988702212 0B795240CB7049B01C19B33E32804F0B');
    const eIfd = tdesCbc(kEnc, s, true);
    expect(eIfd.toString('hex').toUpperCase()).to.equal('72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2');
    expect(retailMac(kMac, eIfd).toString('hex').toUpperCase()).to.equal('5F1448EEA8AD90A7');
    expect(tdesCbc(kEnc, eIfd, false).equals(s)).to.equal(true);
    const ks = sessionKey(h('0B795240CB7049B01C19B33E32804F0B'), h('0B4F80323EB3191CB04970CB4052790B'));
    expect(ks.toString('hex').toUpperCase()).to.equal('979EC13B1CBFE9DCD01AB0FED307EAE5');
  });

  const address = { date: '20240401', code: '131016', text: '東京都千代田区霞が関一丁目１番１号　中央合同庁舎第６号館' };

  it('reads both card kinds, with the card type as ASCII or binary', async () => {
    for (const [kind, typeEncoding] of [
      ['residenceCard', 'ascii'],
      ['specialPermanentResident', 'binary'],
      ['residenceCard', 'binary'],
      ['specialPermanentResident', 'ascii'],
    ] as const) {
      const { link, log } = directLink(new ResidenceCardSim({ cardNumber: 'AB12345678CD', kind, typeEncoding, address }));
      const r = await readResidenceCard(link, { cardNumber: 'AB12345678CD' });
      expect(r).to.deep.equal({
        cardType: 'residenceCard',
        documentKind: kind,
        cardNumber: 'AB12345678CD',
        address: address.text,
        addressDate: '2024-04-01',
        municipalityCode: '131016',
      });
      expect(log.steps()).to.include.members(['GET CHALLENGE', 'MUTUAL AUTHENTICATE', 'SM VERIFY 86 +data', 'SM READ BINARY SFI 01']);
    }
  });

  it('reads a long 住居地 in several secure-messaging chunks, and none when there is none', async () => {
    const long = { ...address, text: '北海道札幌市中央区北一条西二丁目１番地'.repeat(6) };
    const { link, log } = directLink(new ResidenceCardSim({ cardNumber: 'ZZ00000001AA', kind: 'residenceCard', address: long }));
    expect((await readResidenceCard(link, { cardNumber: 'ZZ00000001AA' })).address).to.equal(long.text);
    expect(log.steps().filter((s) => s.startsWith('SM READ BINARY')).length).to.be.greaterThan(1);

    const empty = directLink(new ResidenceCardSim({ cardNumber: 'ZZ00000001AA', kind: 'residenceCard', address: null }));
    const r = await readResidenceCard(empty.link, { cardNumber: 'ZZ00000001AA' });
    expect(r).to.include({ address: null, addressDate: null, municipalityCode: null });
  });

  it('refuses a 住居地 that is not UTF-8 (its encoding is unconfirmed) or has a bad date', async () => {
    for (const file of [
      Buffer.concat([tlv([0xd2], Buffer.from('20240401')), tlv([0xd3], Buffer.from('131016')), tlv([0xd4], h('938c8b9e937393'))]),
      Buffer.concat([tlv([0xd2], Buffer.from('20240431')), tlv([0xd4], Buffer.from('東京都'))]),
    ]) {
      const sim = new ResidenceCardSim({ cardNumber: 'AB12345678CD', kind: 'residenceCard' });
      sim.addressFile = file;
      expect((await cardError(readResidenceCard(directLink(sim).link, { cardNumber: 'AB12345678CD' }))).code).to.equal('readFailed');
    }
  });

  it('says wrongCardNumber for another number and badCardNumber (nothing sent) for a malformed one', async () => {
    const sim = new ResidenceCardSim({ cardNumber: 'AB12345678CD', kind: 'residenceCard', address });
    expect((await cardError(readResidenceCard(directLink(sim).link, { cardNumber: 'AB12345678CE' }))).code).to.equal('wrongCardNumber');
    for (const cardNumber of ['ab12345678cd', 'AB1234567CD', 'AB12345678CDE', 'ＡＢ12345678CD', 'AB-12345678CD', '']) {
      const { link, log } = directLink(sim);
      expect((await cardError(readResidenceCard(link, { cardNumber }))).code).to.equal('badCardNumber');
      expect(log.length).to.equal(0);
    }
  });

  it('says readFailed when the card answer fails its MAC or random check', async () => {
    for (const tamper of ['mac', 'rnd'] as const) {
      const sim = new ResidenceCardSim({ cardNumber: 'AB12345678CD', kind: 'residenceCard', address, tamper });
      const { link, log } = directLink(sim);
      expect((await cardError(readResidenceCard(link, { cardNumber: 'AB12345678CD' }))).code).to.equal('readFailed');
      expect(log.steps()).to.not.include('SM VERIFY 86 +data');
    }
  });

  it('tells the card type apart: C1 TLV or bare byte, ASCII or binary', () => {
    expect(cardTypeOf(h('C10131'))).to.equal('residenceCard');
    expect(cardTypeOf(h('C10132'))).to.equal('specialPermanentResident');
    expect(cardTypeOf(h('01'))).to.equal('residenceCard');
    expect(cardTypeOf(h('32'))).to.equal('specialPermanentResident');
    for (const bad of ['', '33', 'C10133', 'C102', 'C1023131']) expect(cardTypeOf(h(bad)), bad).to.equal(null);
  });
});

describe('card layer: probe and unknown cards', () => {
  it('finds which card it is without a PIN or a card number', async () => {
    const my = directLink(new MyNumberCardSim(PERSON_MJ, { triesLeft: 2 }));
    expect(await probeCard(my.link)).to.deep.equal({ card: 'myNumberCard', triesLeft: 2 });
    expect(my.log.count('VERIFY 80 +data')).to.equal(0);
    expect(
      await probeCard(directLink(new ResidenceCardSim({ cardNumber: 'AB12345678CD', kind: 'specialPermanentResident' })).link),
    ).to.deep.equal({
      card: 'residenceCard',
    });
    expect(await probeCard(directLink(new UnknownCardSim()).link)).to.deep.equal({ card: 'unknown' });
  });

  it('says unknownCard when a reader is used on the wrong card', async () => {
    const unknown = directLink(new UnknownCardSim()).link;
    expect((await cardError(readMyNumberCard(unknown, { pin: '1234', withMyNumber: false }))).code).to.equal('unknownCard');
    expect((await cardError(readResidenceCard(unknown, { cardNumber: 'AB12345678CD' }))).code).to.equal('unknownCard');
    const my = directLink(new MyNumberCardSim(PERSON_MJ)).link;
    expect((await cardError(readResidenceCard(my, { cardNumber: 'AB12345678CD' }))).code).to.equal('unknownCard');
    const res = directLink(new ResidenceCardSim({ cardNumber: 'AB12345678CD', kind: 'residenceCard' })).link;
    expect((await cardError(readMyNumberCard(res, { pin: '1234', withMyNumber: false }))).code).to.equal('unknownCard');
  });
});
