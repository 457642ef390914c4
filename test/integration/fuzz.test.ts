import { expect } from 'chai';
import { runFuzz } from '../../bench/fuzz.js';

/**
 * The shortened fuzz run (issue 15 item 6; the full one is `npm run soak -- fuzz`, bench/fuzz.ts):
 * 1,500 requests over every declared route with mutated inputs, as anonymous, staff of every
 * shipped group and the RPA agent, against the server in a child process with the production
 * heap. No 5xx, no crash, and the audit trail verifies afterwards.
 */
describe('fuzz (shortened): no input gives a 5xx or crashes the server', function () {
  this.timeout(300_000);

  it('answers 1,500 mutated requests over every declared route without a 5xx or a crash; audit verify is ok', async () => {
    const lines: string[] = [];
    const r = await runFuzz({ requests: 1500, concurrency: 20, seed: 7, people: 100, log: (l) => lines.push(l) });
    const problems = [
      ...r.failures.map((f) => `${f.status} ${f.method} ${f.route} (${f.kind}, ${f.who}) ${f.url}\n  ${f.logLine}`),
      ...r.crashLogs,
    ].join('\n');
    expect(r.requests).to.equal(1500);
    expect(r.routes, 'declared routes reached').to.be.above(90);
    expect(r.crashes, problems).to.equal(0);
    expect(r.status5xx, problems).to.equal(0);
    expect(r.auditVerify, lines.join('\n')).to.equal('ok');
  });
});
