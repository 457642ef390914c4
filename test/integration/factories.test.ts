import { expect } from 'chai';
import {
  makeCertificateRequest,
  makeHousehold,
  makeNotice,
  makeProtectedResident,
  makeResident,
  makeStaff,
  makeVisit,
} from '../helpers/factories.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { getAs } from '../helpers/http.js';

describe('test helpers: the shared test server and the data factories', function () {
  this.timeout(60_000);
  let s: TestServer;

  before(async () => {
    s = await startTestServer();
  });
  after(async () => {
    await s.close();
  });

  it('serves the real app with the shipped config and logs in demo staff', async () => {
    expect(s.url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const madoka = await s.loginDemo('madoka');
    expect(madoka.location).to.equal('/role'); // two groups: the role is chosen after login
    const kanri = await s.loginDemo('kanri');
    expect((await getAs(`${s.url}admin/staff`, kanri)).status).to.equal(200);
    expect((await getAs(`${s.url}admin/staff`, madoka)).status).to.equal(403);
    // The demo's reviewer opens the review list (審査) that the counter accounts cannot.
    const shinsa = await s.loginDemo('shinsa');
    expect((await getAs(`${s.url}review`, shinsa)).status).to.equal(200);
    expect((await getAs(`${s.url}review`, madoka)).status).to.equal(403);
  });

  it('makes residents, households, protected residents, staff, visits, notices in each state and certificate requests', async () => {
    const r = await makeResident(s.knex, { name: '因子 太郎' });
    expect(r.name).to.equal('因子 太郎');
    expect(r.name_key).to.be.a('string');
    const h = await makeHousehold(s.knex);
    expect(h.members.map((m) => m.household_no)).to.deep.equal([h.householdNo, h.householdNo]);
    expect(await s.knex('households').where({ household_no: h.householdNo }).first('head_addressee_no')).to.deep.equal({
      head_addressee_no: h.members[0]!.addressee_no,
    });
    const p = await makeProtectedResident(s.knex);
    expect(await s.knex('support_measures').where({ addressee_no: p.addressee_no }).pluck('measure_code')).to.deep.equal(['1']);

    const clerk = await makeStaff(s.knex, ['counter', 'certificates']);
    const visit = await makeVisit(s.knex, clerk);
    expect(visit.status).to.equal('open');
    for (const status of ['draft', 'accepted', 'reviewed', 'cancelled'] as const) {
      const n = await makeNotice(s.knex, visit, clerk, status);
      expect(n.status, status).to.equal(status);
    }
    const requestId = await makeCertificateRequest(s.knex, visit, clerk, r.addressee_no);
    const saved = await s.knex('certificate_requests').where({ id: requestId }).first();
    expect(saved?.visit_id).to.equal(visit.id);
    expect(saved?.total).to.be.greaterThan(0);
  });
});
