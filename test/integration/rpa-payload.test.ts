import { derivedKeys } from '../../server/src/linkage/forward/keys.js';
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { loadCertificateCatalog } from '../../server/src/certificates/catalog.js';
import { priceRequest } from '../../server/src/certificates/fees.js';
import { enqueueCertificateRequest, enqueueNotice } from '../../server/src/rpa/jobs.js';
import { JobPayloadSchema, PAYLOAD_VERSION, payloadPaths, type NoticePayloadV2 } from '../../server/src/rpa/payload.js';
import { makeNotice, makeResident, makeStaff, makeVisit } from '../helpers/factories.js';
import { configDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const settings = { leaseSeconds: 60, maxAttempts: 3, backoffSeconds: 1 };
const always = () => true;
const HOME = { municipality_code: '439991', prefecture: '熊本県', city: '窓口郡まどぐち町' };

/** The job payload, version 2: what a scenario may use, as the schema says, with addresses split for the screens. */
describe('RPA job payload (version 2)', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
    const rows = [
      {
        municipality_code: '439991',
        town_code: '0001001',
        town_kind: '2',
        oaza_name: '本町',
        chome: 1,
        town_name: '本町一丁目',
        block_number: '1番2号',
        address_suffix: '',
        postal_code: '8691101',
        residential_addressing: true,
      },
      {
        municipality_code: '439991',
        town_code: '0010000',
        town_kind: '1',
        oaza_name: '緑ケ丘',
        chome: null,
        town_name: '緑ケ丘',
        block_number: '3番地',
        address_suffix: '',
        postal_code: '8691111',
        residential_addressing: false,
      },
      // The factory's notices move into 本町1番地: accepting checks the new address against the master.
      {
        municipality_code: '439991',
        town_code: '0002000',
        town_kind: '1',
        oaza_name: '本町',
        chome: null,
        town_name: '本町',
        block_number: '1番地',
        address_suffix: '',
        postal_code: '8691100',
        residential_addressing: false,
      },
    ];
    await server.knex('address_master').insert(rows.map((r) => ({ ...r, ...derivedKeys.address_master!(r) })));
  });
  after(async () => server.close());

  async function jobsOf(noticeId: number): Promise<NoticePayloadV2[]> {
    const rows = (await server.knex('rpa_jobs').where({ notice_id: noticeId }).orderBy('id').select('payload')) as { payload: string }[];
    return rows.map((r) => JSON.parse(r.payload) as NoticePayloadV2);
  }

  it('a move-in carries persons with 和暦 parts, and the previous (out of town) and new (in town) addresses split', async () => {
    await makeResident(server.knex, { ...HOME, town_code: '0001001', town_name: '本町一丁目', block_number: '1番2号' });
    const staff = await makeStaff(server.knex, ['counter']);
    const visit = await makeVisit(server.knex, staff);
    const notice = await makeNotice(server.knex, visit, staff, 'accepted', [
      { name: '転入 一郎', nameKana: 'テンニュウ イチロウ', birthDate: '1989-01-08', relationship: '02', head: true },
      { name: '転入 花子', nameKana: 'テンニュウ ハナコ', birthDate: '2019-05-01', sex: '2', relationship: '03' },
    ]);
    notice.data = { previousAddress: '大阪府大阪市北区中之島1丁目3番20号 中之島ビル101', newAddress: '本町一丁目1番2号 サンハイツ201' };
    await server.knex.transaction((trx) => enqueueNotice(trx, notice, settings, always));
    const payloads = await jobsOf(notice.id);
    expect(payloads).to.have.length(2);
    for (const p of payloads)
      expect(Value.Check(JobPayloadSchema, p), JSON.stringify([...Value.Errors(JobPayloadSchema, p)][0])).to.equal(true);
    const p = payloads[0]!;
    expect(p.version).to.equal(PAYLOAD_VERSION);
    expect(p.subject.birth).to.include({ iso: '1989-01-08', era: '平成', eraLetter: 'H', eraYear: 1, wareki: '平成元年1月8日' });
    expect(p.members[1]!.birth).to.include({ era: '令和', eraYear: 1 });
    expect(p.subject.relationshipCode).to.deep.equal({ code: '02', name: '世帯主' });
    expect(p.addresses.previous).to.deep.include({
      prefecture: { name: '大阪府', code: '27' },
      municipality: { name: '大阪市北区', code: '271276' },
      chome: '1',
      banchi: '3',
      go: '20',
      suffix: '中之島ビル101',
      error: null,
    });
    expect(p.addresses.previous!.town).to.deep.equal({ code: null, name: '中之島' });
    expect(p.addresses.new).to.deep.include({
      prefecture: { name: '熊本県', code: '43' },
      municipality: { name: '窓口郡まどぐち町', code: '439991' },
      town: { code: '0001001', name: '本町' },
      chome: '1',
      banchi: '1',
      go: '2',
      suffix: 'サンハイツ201',
      postalCode: '8691101',
      error: null,
    });
  });

  it('an address that cannot be split carries the reason and no parts (a scenario using a part stops for staff)', async () => {
    const staff = await makeStaff(server.knex, ['counter']);
    const visit = await makeVisit(server.knex, staff);
    const notice = await makeNotice(server.knex, visit, staff, 'accepted');
    // 府中市 is in 東京都 and 広島県; 存在町 is not in the town's address master.
    notice.data = { previousAddress: '府中市宮西町2丁目24番地', newAddress: '存在町9番地' };
    await server.knex.transaction((trx) => enqueueNotice(trx, notice, settings, always));
    const [p] = await jobsOf(notice.id);
    expect(p!.addresses.previous).to.include({ prefecture: null, municipality: null, banchi: null });
    expect(p!.addresses.previous!.error).to.contain('府中市');
    expect(p!.addresses.new!.error).to.contain('住所マスタにありません');
  });

  it('per: notice makes one job for the household (first mover as subject, every mover in movers); per: person one per mover', async () => {
    const staff = await makeStaff(server.knex, ['counter']);
    const visit = await makeVisit(server.knex, staff);
    const household = [
      {
        name: '世帯 一郎',
        nameKana: 'セタイ イチロウ',
        birthDate: '1980-02-03',
        relationship: '02',
        head: true,
        moving: true,
        event: false,
      },
      { name: '世帯 花子', nameKana: 'セタイ ハナコ', birthDate: '1982-04-05', sex: '2', relationship: '03', moving: true, event: false },
      { name: '世帯 次郎', nameKana: 'セタイ ジロウ', birthDate: '2010-06-07', relationship: '04', moving: false, event: false },
    ];
    const perNotice = Object.assign(() => true, { per: () => 'notice' as const });
    const one = await makeNotice(server.knex, visit, staff, 'accepted', household);
    await server.knex.transaction((trx) => enqueueNotice(trx, one, settings, perNotice));
    const [job, ...more] = await jobsOf(one.id);
    expect(more).to.deep.equal([]);
    expect(Value.Check(JobPayloadSchema, job), JSON.stringify([...Value.Errors(JobPayloadSchema, job)][0])).to.equal(true);
    expect(job!.subject.name).to.equal('世帯 一郎');
    expect(job!.movers.map((m) => m.name)).to.deep.equal(['世帯 一郎', '世帯 花子']);
    expect(job!.members.map((m) => m.name)).to.deep.equal(['世帯 一郎', '世帯 花子', '世帯 次郎']);
    expect(job!.movers[1]!.birth).to.include({ era: '昭和', eraYear: 57 });

    // A registered mover the counter did not retype: kana, birth date and sex from the register, for every mover.
    const r1 = await makeResident(server.knex, { name: '登録 一郎', name_kana: 'トウロク イチロウ', birth_date: '1970-07-07', sex: '1' });
    const r2 = await makeResident(server.knex, { name: '登録 花子', name_kana: 'トウロク ハナコ', birth_date: '1972-08-08', sex: '2' });
    const moving = await makeNotice(server.knex, visit, staff, 'accepted', [
      { addresseeNo: r1.addressee_no, name: r1.name, nameKana: null, birthDate: null, sex: null, moving: true, event: false },
      { addresseeNo: r2.addressee_no, name: r2.name, nameKana: null, birthDate: null, sex: null, moving: true, event: false },
    ]);
    await server.knex.transaction((trx) => enqueueNotice(trx, moving, settings, perNotice));
    const [filled] = await jobsOf(moving.id);
    expect(filled!.per).to.equal('notice');
    expect(filled!.movers.map((m) => [m.nameKana, m.birthDate, m.sex])).to.deep.equal([
      ['トウロク イチロウ', '1970-07-07', '1'],
      ['トウロク ハナコ', '1972-08-08', '2'],
    ]);

    const perPerson = Object.assign(() => true, { per: () => 'person' as const });
    const two = await makeNotice(server.knex, visit, staff, 'accepted', household);
    await server.knex.transaction((trx) => enqueueNotice(trx, two, settings, perPerson));
    expect((await jobsOf(two.id)).map((p) => p.subject.name)).to.deep.equal(['世帯 一郎', '世帯 花子']);
  });

  it('a certificate job carries the registered address split from the register, and the schema accepts it', async () => {
    const r = await makeResident(server.knex, {
      ...HOME,
      town_code: '0010000',
      town_name: '緑ケ丘',
      block_number: '3番地4',
      postal_code: '8691111',
    });
    const priced = priceRequest(loadCertificateCatalog(configDir), {
      lines: [
        { typeId: 'residentCopy', subject: { addresseeNo: r.addressee_no }, copies: 1, purposeId: 'self', options: { scope: 'household' } },
      ],
    });
    const [id] = await server.knex.transaction((trx) => enqueueCertificateRequest(trx, 999, priced, settings, always));
    const p = JSON.parse(((await server.knex('rpa_jobs').where({ id }).first('payload')) as { payload: string }).payload) as Record<
      string,
      unknown
    >;
    expect(Value.Check(JobPayloadSchema, p), JSON.stringify([...Value.Errors(JobPayloadSchema, p)][0])).to.equal(true);
    expect((p.subject as { addressParts: unknown }).addressParts).to.deep.include({
      prefecture: { name: '熊本県', code: '43' },
      municipality: { name: '窓口郡まどぐち町', code: '439991' },
      town: { code: '0010000', name: '緑ケ丘' },
      banchi: '3',
      go: '4',
      postalCode: '8691111',
    });
  });

  it('lists the paths a scenario may use, and the shipped scenarios use only those', () => {
    const paths = payloadPaths();
    for (const p of [
      'subject.birth.eraYear',
      'members[].name',
      'addresses.new.municipality.code',
      'data.*',
      'subject.addressParts.town.code',
    ])
      expect(paths.has(p), p).to.equal(true);
    expect(paths.has('subject.adresseeNo')).to.equal(false);
    // Every `{{ path }}` in the shipped scenarios names a path of the schema (members.N → members[], item.x → movers[].x).
    for (const folder of ['sim', 'selfsim']) {
      const dir = path.join(configDir, 'scenarios', folder);
      for (const file of ['moveIn.yaml', 'relocation.yaml', 'residentCopy.yaml']) {
        const text = readFileSync(path.join(dir, file), 'utf8')
          .split('\n')
          .filter((l) => !/^\s*#/.test(l))
          .join('\n');
        for (const m of text.matchAll(/\{\{\s*([A-Za-z][\w.]*)/g)) {
          // Inside a forEach: `row` is the row number, `item.…` the mover of the row (the shipped loops are over movers).
          if (m[1] === 'row') continue;
          const used = m[1]!.replace(/^item\./, 'movers[].').replace(/\.[0-9]+(?=\.|$)/g, '[]');
          const known = paths.has(used) || [...paths].some((p) => p.endsWith('.*') && used.startsWith(p.slice(0, -1)));
          expect(known, `${folder}/${file}: ${m[1]}`).to.equal(true);
        }
      }
    }
  });
});

describe('docs/manual/rpa.md: the payload reference', () => {
  it('lists exactly the payload schema (regenerate with payloadReferenceMarkdown() when the schema changes)', async () => {
    const { payloadReferenceMarkdown } = await import('../../server/src/rpa/payload.js');
    const doc = readFileSync(path.join(configDir, '..', 'docs', 'manual', 'rpa.md'), 'utf8');
    const section = /<!-- payload:start -->\n([\s\S]*?)\n<!-- payload:end -->/.exec(doc)?.[1];
    expect(section, 'markers in rpa.md').to.be.a('string');
    expect(section).to.equal(payloadReferenceMarkdown());
  });
});
