import { expect } from 'chai';
import knexFactory from 'knex';
import { registerApiClient } from '../../server/src/auth/apiClients.js';
import { mssqlDialect } from '../../server/src/db/dialects/mssql.js';
import { getAs, postForm } from '../helpers/http.js';
import { makeHousehold, makeProtectedResident, makeResident } from '../helpers/factories.js';
import type { LoggedIn } from '../helpers/login.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Claimed {
  job: {
    id: number;
    reference: string;
    scenario: string;
    keepEvidence: boolean;
    protection: { supportMeasure: boolean };
    payload: { protection: { supportMeasure: boolean }; noticeId?: number; subject: { addresseeNo: string | null } };
  };
}

const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 1)]);

/**
 * Jobs of protected persons (issue 15 item 4): the payload carries the 支援措置 flag, only an agent
 * whose group holds resident.viewProtectedAddress claims them, and their evidence is for 支援措置担当.
 */
describe('RPA: protected jobs carry the flag, go only to a dedicated agent, and their evidence needs the right', function () {
  this.timeout(60_000);
  let server: TestServer;
  let clerk: LoggedIn;
  let reviewer: LoggedIn;
  let shien: LoggedIn;
  let ordinaryToken: string;
  let dedicatedToken: string;
  let protectedNo: string;
  let protectedAddress: string;
  let ordinaryNo: string;
  let neighbourNo: string;

  const claim = async (token: string): Promise<Claimed | null> => {
    const res = await fetch(`${server.url}api/v1/agent/claim`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    if (res.status === 204) return null;
    expect(res.status, await res.clone().text()).to.equal(200);
    return (await res.json()) as Claimed;
  };
  const relocate = async (addresseeNo: string, name: string, newAddress: string): Promise<number> => {
    // One visit per person: the notice takes the household of the visit's subject.
    const opened = await postForm(`${server.url}visits`, clerk, {});
    const visitId = Number(/\/visits\/(\d+)$/.exec(opened.headers.get('location') ?? '')![1]);
    await postForm(`${server.url}visits/${visitId}/subjects`, clerk, { addresseeNo });
    const created = await postForm(`${server.url}visits/${visitId}/notices`, clerk, { type: 'relocation' });
    const nid = Number(/notices\/(\d+)$/.exec(created.headers.get('location')!)![1]);
    const ok = await postForm(`${server.url}visits/${visitId}/notices/${nid}`, clerk, {
      action: 'accept',
      effectiveDate: 'R8.11.28',
      newAddress,
      m0_addresseeNo: addresseeNo,
      m0_name: name,
      moving: '0',
      head: '0',
    });
    expect(ok.status, await ok.text()).to.equal(303);
    // A protected notice is reviewed by 支援措置担当 (given the review permission, as a municipality does).
    expect((await postForm(`${server.url}notices/${nid}/move`, shien, { move: 'review' })).status).to.equal(303);
    return nid;
  };
  const jobOf = async (nid: number) =>
    (await server.knex('rpa_jobs').where({ notice_id: nid }).first('id', 'payload', 'status')) as {
      id: number;
      payload: string;
      status: string;
    };
  const audits = async (action: string, result: string, jobId: number) =>
    ((await server.knex('audit_trail').where({ action, result }).select('target_ids')) as { target_ids: string }[]).filter((a) =>
      (JSON.parse(a.target_ids) as string[]).includes(String(jobId)),
    ).length;

  before(async () => {
    server = await startTestServer();
    const p = await makeProtectedResident(server.knex, { name: '保護 花子', town_name: '桜町', block_number: '7番地' });
    protectedNo = p.addressee_no;
    protectedAddress = '桜町7番地';
    ordinaryNo = (await makeResident(server.knex, { name: '普通 一郎', town_name: '本町', block_number: '900番地' })).addressee_no;
    neighbourNo = (await makeResident(server.knex, { name: '隣人 次郎', town_name: '本町', block_number: '901番地' })).addressee_no;
    clerk = await server.login(['counter']);
    reviewer = await server.login(['reviewer']);
    shien = await server.login(['supportMeasures']);
    ordinaryToken = await registerApiClient(server.knex, 'rpa-ordinary', 'rpaAgent', { staffLogin: 'test' });
    // A dedicated agent: a group holding the agent right and the right to handle protected addresses.
    const [g] = (await server
      .knex('staff_groups')
      .insert({ code: 'rpaProtected', name: 'RPA 端末 (支援措置)', description: 'テスト' })
      .returning('id')) as ({ id: number } | number)[];
    const gid = typeof g === 'object' ? g.id : g!;
    await server.knex('staff_group_permissions').insert([
      { group_id: gid, permission: 'rpa.agent' },
      { group_id: gid, permission: 'resident.viewProtectedAddress' },
    ]);
    dedicatedToken = await registerApiClient(server.knex, 'rpa-dedicated', 'rpaProtected', { staffLogin: 'test' });
  });
  after(async () => {
    await server.close();
  });

  it("flags a protected person's relocation; an ordinary agent never claims it, a dedicated agent does", async () => {
    const nid = await relocate(protectedNo, '保護 花子', '緑ケ丘二丁目3番地4');
    const row = await jobOf(nid);
    expect(JSON.parse(row.payload).protection).to.deep.equal({ supportMeasure: true });
    expect(await claim(ordinaryToken)).to.equal(null);
    expect((await jobOf(nid)).status).to.equal('queued');
    const got = (await claim(dedicatedToken))!;
    expect(got.job.id).to.equal(row.id);
    expect(got.job.payload.protection).to.deep.equal({ supportMeasure: true });
    expect(got.job.protection).to.deep.equal({ supportMeasure: true });
    expect(got.job.keepEvidence).to.equal(false);
    const claimed = (await server.knex('audit_trail').where({ action: 'rpa.claim' }).orderBy('seq', 'desc').first('detail')) as {
      detail: string;
    };
    expect(JSON.parse(claimed.detail)).to.deep.include({ protected: true });
  });

  it('flags a move onto a protected address (typed), and leaves an ordinary job unflagged for any agent', async () => {
    const onto = await relocate(neighbourNo, '隣人 次郎', protectedAddress);
    expect(JSON.parse((await jobOf(onto)).payload).protection).to.deep.equal({ supportMeasure: true });
    const plain = await relocate(ordinaryNo, '普通 一郎', '本町902番地');
    const got = (await claim(ordinaryToken))!;
    expect(got.job.payload.noticeId).to.equal(plain);
    expect(got.job.payload.protection).to.deep.equal({ supportMeasure: false });
    expect(got.job.keepEvidence).to.equal(true);
    expect(await claim(ordinaryToken)).to.equal(null);
    expect((await claim(dedicatedToken))!.job.payload.noticeId).to.equal(onto);
  });

  it('shows the evidence and page of a protected job only to staff holding the right, auditing both ways', async () => {
    const job = (await server.knex('rpa_jobs').where({ leased_by: 'rpa-dedicated', status: 'leased' }).orderBy('id').first('id')) as {
      id: number;
    };
    const up = await fetch(`${server.url}api/v1/agent/jobs/${job.id}/evidence?kind=screenshot`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dedicatedToken}`, 'content-type': 'image/png' },
      body: PNG,
    });
    expect(up.status, await up.clone().text()).to.equal(201);
    const { id: evidenceId } = (await up.json()) as { id: number };
    for (const who of [clerk, reviewer]) {
      expect((await getAs(`${server.url}rpa/evidence/${evidenceId}`, who)).status).to.equal(403);
      expect((await getAs(`${server.url}rpa/jobs/${job.id}`, who)).status).to.equal(403);
    }
    expect(await audits('rpa.evidence.view', 'denied', job.id)).to.equal(2);
    expect(await audits('rpa.job.view', 'denied', job.id)).to.equal(2);
    const seen = await getAs(`${server.url}rpa/evidence/${evidenceId}`, shien);
    expect(seen.status).to.equal(200);
    expect(Buffer.from(await seen.arrayBuffer()).equals(PNG)).to.equal(true);
    const page = await getAs(`${server.url}rpa/jobs/${job.id}`, shien);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.contain('支援措置');
    expect(await audits('rpa.evidence.view', 'success', job.id)).to.equal(1);
    expect(await audits('rpa.job.view', 'success', job.id)).to.equal(1);
    // The list (rpa.manage) names the protected job and why it waits, without its error text or person.
    const list = await (await getAs(`${server.url}rpa/jobs`, reviewer)).text();
    expect(list).to.contain('支援措置の対象のため、権限のある端末か支援措置担当が入力してください');
    expect(list).to.not.contain('保護 花子');
  });

  it('compiles the SQL Server claim that skips flagged jobs', () => {
    const q = mssqlDialect
      .claimQuery(
        knexFactory({ client: 'mssql' }),
        'rpa_jobs',
        { status: 'queued', awaiting_review: 0 },
        ['available_at', 'id'],
        { status: 'leased' },
        { sql: 'available_at <= ? AND blocked_by IS NULL', bindings: [new Date(0)] },
        { column: 'payload', path: '$.protection.supportMeasure' },
      )
      .toSQL();
    expect(q.sql).to.contain("ISNULL(JSON_VALUE([payload], '$.protection.supportMeasure'), 'false') = 'false'");
    expect(q.sql).to.contain('WITH (UPDLOCK, READPAST, ROWLOCK)');
    expect(q.bindings).to.have.length(4);
  });

  it('keeps household members of a protected person flagged too', async () => {
    const h = await makeHousehold(server.knex, [{ name: '世帯 保護' }, { name: '世帯 同居' }], {
      town_name: '梅町',
      block_number: '3番地',
    });
    await server.knex('support_measures').insert({ addressee_no: h.members[0]!.addressee_no, measure_code: '1', start_date: '2020-01-01' });
    const nid = await relocate(h.members[1]!.addressee_no, '世帯 同居', '本町903番地');
    expect(JSON.parse((await jobOf(nid)).payload).protection).to.deep.equal({ supportMeasure: true });
  });
});
