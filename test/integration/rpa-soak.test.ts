import { expect } from 'chai';
import { runRpaSoak, type SoakResult } from '../helpers/rpaSoak.js';

/**
 * The fault run of `npm run soak -- rpa` at suite size: agents killed at random points and right
 * after the core system saved (before the report), injected core-system faults, refused data.
 */
describe('RPA fault run: 40 jobs, 2 agents killed and restarted, injected failures', function () {
  this.timeout(600_000);
  let r: SoakResult;

  before(async () => {
    r = await runRpaSoak({
      jobs: 40,
      agents: 2,
      seed: 3,
      killAfterSave: 0.08,
      killEveryMs: 7000,
      businessErrorShare: 0.06,
      leaseSeconds: 6,
      faults: {
        seed: 3,
        hangMs: 5000,
        rules: [
          { kind: 'http500', probability: 0.03 },
          { kind: 'lostClick', probability: 0.04 },
          { kind: 'errorAfterSave', probability: 0.04 },
          { kind: 'timeoutAfterSave', probability: 0.03 },
        ],
      },
      timeoutMs: 420_000,
    });
    console.log(`      ${JSON.stringify(r)}`);
  });

  it('ends every job succeeded or needing attention, with 0 entries lost and 0 entered twice', () => {
    expect(r.jobs).to.equal(40);
    expect(r.succeeded + r.needsAttention).to.equal(40);
    expect(r.lost).to.equal(0);
    expect(r.duplicates).to.equal(0);
    expect(r.wrongRef).to.equal(0);
    expect(r.enteredAnyway).to.equal(0);
  });

  it('really killed agents, also between the save and the report, and really injected faults', () => {
    expect(r.agentKills).to.be.greaterThanOrEqual(2);
    expect(r.killsAfterSave).to.be.greaterThanOrEqual(1);
    expect(r.faultsFired).to.be.greaterThanOrEqual(3);
    expect(r.needsAttention).to.be.greaterThanOrEqual(1);
  });
});
