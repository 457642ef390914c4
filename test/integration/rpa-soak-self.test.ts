import { expect } from 'chai';
import { mulberry32 } from '../fixtures/core-sim/server.js';
import type { SelfEntry } from '../fixtures/core-sim/selfNumbering.js';
import {
  entriesOf,
  fieldErrorsOf,
  plan,
  runSelfNumberingSoak,
  seededResidents,
  selfsimMaps,
  type SelfSoakResult,
} from '../helpers/rpaSoakSelf.js';

/**
 * `npm run soak -- rpa --profile selfNumbering` at suite size: the second vendor's screens (own
 * numbers, no reference field, households in one entry), agents killed at random and right after
 * a save, "saved, then 500", lost clicks. Entries are matched to jobs by their data.
 */
describe('RPA fault run on the selfNumbering core system: households, data probes, no reference field', function () {
  this.timeout(600_000);
  let r: SelfSoakResult;

  before(async () => {
    r = await runSelfNumberingSoak({
      jobs: 16,
      agents: 2,
      seed: 5,
      killAfterSave: 0.12,
      killEveryMs: 6000,
      leaseSeconds: 6,
      faults: {
        seed: 5,
        rules: [
          { kind: 'http500', probability: 0.03 },
          { kind: 'lostClick', probability: 0.04 },
          { kind: 'errorAfterSave', probability: 0.1 },
        ],
      },
      timeoutMs: 420_000,
    });
    console.log(`      ${JSON.stringify(r)}`);
  });

  it('ends every job, with 0 lost, 0 entered twice, 0 wrong numbers, 0 field errors and 0 households split', () => {
    expect(r.jobs).to.equal(16);
    expect(r.succeeded + r.needsAttention).to.equal(16);
    expect(r).to.include({ lost: 0, duplicates: 0, wrongRef: 0, fieldErrors: 0, householdsSplit: 0, enteredAnyway: 0 });
    expect(r.faultsFired + r.agentKills, 'faults and kills happened').to.be.greaterThan(0);
  });

  it('counts what it checks: a household entered as two entries is split, a wrong 番地 is a field error', () => {
    const residents = seededResidents(8);
    const jobs = plan(16, mulberry32(5), residents);
    const household = jobs.find((j) => j.kind === 'moveIn' && !j.refused && (j.payload.movers as unknown[]).length > 1)!;
    expect(household, 'the plan has a household').to.not.equal(undefined);
    const p = household.payload as {
      effectiveDate: string;
      movers: { name: string; nameKana: string; birthDate: string; sex: string; relationship: string }[];
      addresses: { new: { banchi: string; go: string; chome: string; suffix: null } };
    };
    const maps = selfsimMaps();
    const person = (m: (typeof p.movers)[number], k: number) => ({
      atenaNo: String(9900000000 + k),
      shimei: m.name,
      kana: m.nameKana,
      seinen: m.birthDate,
      seibetsu: m.sex,
      zokugara: maps.zokugara![m.relationship]!,
    });
    const entry = (persons: ReturnType<typeof person>[], banchi: string): SelfEntry => ({
      shoriNo: '20261207-0001',
      kind: 'tennyu',
      kindName: '転入',
      idoYmd: p.effectiveDate,
      persons,
      address: {
        prefCode: '43',
        prefName: '熊本県',
        cityName: 'まどぐち町',
        cityCode: '439991',
        townCode: '004',
        townName: '桜台',
        chome: '2',
        banchi,
        go: '3',
        katagaki: '',
      },
      previousAddress: {
        prefCode: '27',
        prefName: '大阪府',
        cityName: '大阪市北区',
        cityCode: '271276',
        choiki: '梅田一丁目2番3号',
        katagaki: '',
      },
      oldAddress: null,
      certificate: null,
      fields: {},
      user: 'rpa01',
      day: '2026-12-07',
      savedAt: '',
    });
    const all = p.movers.map(person);
    expect(fieldErrorsOf(household, entry(all, p.addresses.new.banchi), maps)).to.deep.equal([]);
    expect(fieldErrorsOf(household, entry(all, '999'), maps)).to.deep.equal([`banchi: 999 ≠ ${p.addresses.new.banchi}`]);
    const split = [entry(all.slice(0, 1), p.addresses.new.banchi), entry(all.slice(1), p.addresses.new.banchi)];
    expect(entriesOf(household, split)).to.have.length(2);
  });
});
