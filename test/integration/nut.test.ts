import { expect } from 'chai';
import { NutClient, NutError, parseStatus, quote, tokenize } from '../../server/src/ops/nut.js';
import { ADMIN_PASSWORD, ADMIN_USER, UPS_DESCRIPTION, startUpsd, type Upsd } from '../helpers/upsd.js';

/** The rejection of `p` (fails the test when `p` resolves). */
async function rejection(p: Promise<unknown>): Promise<NutError> {
  let value: unknown;
  try {
    value = await p;
  } catch (err) {
    expect(err).to.be.instanceOf(NutError);
    return err as NutError;
  }
  throw new Error(`expected a NutError, got ${JSON.stringify(value)}`);
}

describe('NUT protocol client against a real upsd with the dummy-ups driver', function () {
  this.timeout(20_000);
  let upsd: Upsd;
  let client: NutClient;
  const delays: number[] = [];

  before(async function () {
    upsd = await startUpsd();
    client = await NutClient.connect({ host: upsd.host, port: upsd.port, timeoutMs: 2000 });
  });
  after(async function () {
    client?.close();
    await upsd?.stop();
    if (delays.length) console.log(`      (status change visible in upsd after ${delays.join(', ')} ms)`);
  });

  it('quotes and tokenizes arguments with spaces, double quotes and backslashes', function () {
    expect(quote('a b"c\\d')).to.equal('"a b\\"c\\\\d"');
    expect(tokenize('VAR dummy x "a b\\"c\\\\d"')).to.deep.equal(['VAR', 'dummy', 'x', 'a b"c\\d']);
    expect(tokenize(quote('say "hi" \\o/'))).to.deep.equal(['say "hi" \\o/']);
    expect(() => quote('two\nlines'))
      .to.throw(NutError)
      .with.property('code', 'BAD-ARGUMENT');
    expect(parseStatus('FSD OB LB')).to.include({ forcedShutdown: true, onBattery: true, lowBattery: true, online: false });
  });

  it('lists the UPS and unescapes its description', async function () {
    expect(await client.listUps()).to.deep.equal(['dummy']);
    expect(await client.listUpsWithDescriptions()).to.deep.equal([{ name: 'dummy', description: UPS_DESCRIPTION }]);
    expect(await client.upsDescription('dummy')).to.equal(UPS_DESCRIPTION);
  });

  it('reads OL as online, with charge and runtime as numbers', async function () {
    const s = await client.status('dummy');
    expect(s).to.deep.equal({ raw: 'OL', flags: ['OL'], online: true, onBattery: false, lowBattery: false, forcedShutdown: false });
    expect(await client.charge('dummy')).to.equal(100);
    expect(await client.runtime('dummy')).to.equal(1800);
    const vars = await client.listVars('dummy');
    expect(vars).to.include({ 'ups.status': 'OL', 'battery.charge': '100', 'battery.runtime': '1800', 'ups.serial': 'MDG-0001' });
    expect(Object.keys(vars).length).to.be.greaterThan(4); // the driver adds driver.*, ups.mfr, …
  });

  it('follows OL → OB → OB LB → OL', async function () {
    delays.push(await upsd.setStatus('OB'));
    expect(await client.status('dummy')).to.include({ raw: 'OB', onBattery: true, online: false, lowBattery: false });

    delays.push(await upsd.setStatus('OB LB'));
    const s = await client.status('dummy');
    expect(s).to.include({ raw: 'OB LB', onBattery: true, lowBattery: true, online: false, forcedShutdown: false });
    expect(s.flags).to.deep.equal(['OB', 'LB']);

    delays.push(await upsd.setStatus('OL'));
    expect(await client.status('dummy')).to.include({ online: true, onBattery: false, lowBattery: false });
  });

  it('reads changed battery charge and runtime', async function () {
    await upsd.setVars({ 'battery.charge': '42', 'battery.runtime': '321' });
    expect(await client.charge('dummy')).to.equal(42);
    expect(await client.runtime('dummy')).to.equal(321);
  });

  it('turns ERR into typed errors (UNKNOWN-UPS, VAR-NOT-SUPPORTED, USERNAME-REQUIRED)', async function () {
    const unknown = await rejection(client.getVar('nosuchups', 'ups.status'));
    expect(unknown).to.include({ code: 'UNKNOWN-UPS', source: 'server' });
    expect(unknown.request).to.equal('GET VAR "nosuchups" "ups.status"');
    expect((await rejection(client.status('nosuchups'))).code).to.equal('UNKNOWN-UPS');
    expect((await rejection(client.getVar('dummy', 'no.such.var'))).code).to.equal('VAR-NOT-SUPPORTED');
    // no USERNAME/PASSWORD on this connection
    expect((await rejection(client.setVar('dummy', 'ups.model', 'x'))).code).to.equal('USERNAME-REQUIRED');
    // the session is still usable after errors
    expect(await client.listUps()).to.deep.equal(['dummy']);
  });

  it('round-trips quoted arguments: a password with space, quote and backslash; a value with spaces', async function () {
    const wrong = await NutClient.connect({ host: upsd.host, port: upsd.port, timeoutMs: 2000, username: ADMIN_USER, password: 'p w' });
    try {
      expect((await rejection(wrong.setVar('dummy', 'ups.model', 'x'))).code).to.equal('ACCESS-DENIED');
    } finally {
      wrong.close();
    }
    const admin = await NutClient.connect({
      host: upsd.host,
      port: upsd.port,
      timeoutMs: 2000,
      username: ADMIN_USER,
      password: ADMIN_PASSWORD,
    });
    try {
      const value = 'Acme Power Co 1500 VA';
      await admin.setVar('dummy', 'ups.model', value); // upsd answered OK: credentials matched
      // SET VAR goes on to the driver asynchronously: wait for it, then check with upsc too
      const until = Date.now() + 5000;
      let got = await admin.getVar('dummy', 'ups.model');
      while (got !== value && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 50));
        got = await admin.getVar('dummy', 'ups.model');
      }
      expect(got).to.equal(value);
      expect(await upsd.upsc('ups.model')).to.equal(value);
    } finally {
      admin.close();
    }
  });

  it('runs many concurrent requests over one socket, each answered in order', async function () {
    const c = await NutClient.connect({ host: upsd.host, port: upsd.port, timeoutMs: 3000 });
    try {
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 10; i++) {
        calls.push(c.charge('dummy'), c.runtime('dummy'), c.getVar('dummy', 'ups.serial'), c.listUps());
        calls.push(c.getVar('nosuchups', 'ups.status').catch((e: NutError) => e.code));
        calls.push(c.listVars('dummy').then((v) => v['battery.runtime']));
      }
      const results = await Promise.all(calls);
      for (let i = 0; i < 10; i++) {
        expect(results.slice(i * 6, i * 6 + 6)).to.deep.equal([42, 321, 'MDG-0001', ['dummy'], 'UNKNOWN-UPS', '321']);
      }
      expect(c.connectionCount).to.equal(1);
    } finally {
      c.close();
    }
  });

  it('times out (typed, no hang) while upsd is stopped, and reconnects when it is back', async function () {
    const c = await NutClient.connect({ host: upsd.host, port: upsd.port, timeoutMs: 400 });
    try {
      expect(await c.charge('dummy')).to.equal(42);
      upsd.suspend();
      const t0 = Date.now();
      const [first, second] = await Promise.all([rejection(c.status('dummy')), rejection(c.listUps())]);
      const took = Date.now() - t0;
      upsd.resume();
      expect(first).to.include({ code: 'TIMEOUT', source: 'client' });
      expect(second.code).to.equal('TIMEOUT'); // queued behind the first; its own deadline
      expect(took).to.be.within(350, 1500);
      expect(await c.listUps()).to.deep.equal(['dummy']); // reconnects on demand
      // both sessions that saw no answer were dropped (a late answer must not be taken for the
      // next request's): the first one, and the one opened for the queued request
      expect(c.connectionCount).to.equal(3);
    } finally {
      upsd.resume();
      c.close();
    }
  });

  it('fails fast with typed errors once upsd is gone, and refuses after close()', async function () {
    const c = await NutClient.connect({ host: upsd.host, port: upsd.port, timeoutMs: 5000 });
    expect(await c.listUps()).to.deep.equal(['dummy']);
    await upsd.stop();
    const t0 = Date.now();
    const err = await rejection(c.listUps());
    expect(['CONNECTION-CLOSED', 'CONNECT-FAILED']).to.include(err.code);
    expect((await rejection(c.listUps())).code).to.equal('CONNECT-FAILED');
    expect(Date.now() - t0).to.be.lessThan(2000);
    expect((await rejection(NutClient.connect({ host: upsd.host, port: upsd.port }))).code).to.equal('CONNECT-FAILED');
    c.close();
    expect((await rejection(c.listUps())).code).to.equal('CLIENT-CLOSED');
  });
});
