import { expect } from 'chai';
import { getAs, postForm } from '../helpers/http.js';
import { makeHousehold, makeProtectedResident, makeResident } from '../helpers/factories.js';
import type { LoggedIn } from '../helpers/login.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Certificate requests name only people who exist and belong to the visit (issue 15 item 4): its
 * subjects, the visitor, or someone added to it explicitly; 支援措置 and 発行禁止 apply to each.
 */
describe('certificate requests: subjects must exist and belong to the visit; 支援措置 and 発行禁止 on every subject', function () {
  this.timeout(60_000);
  let server: TestServer;
  let clerk: LoggedIn;
  let visitId: number;
  let inVisit: string;
  let outside: string;
  let visitor: string;
  let protectedNo: string;
  let householdOfProtected: string;
  let banned: string;

  const line = (i: number, type: string, subject: string, extra: Record<string, string> = {}) =>
    Object.fromEntries(Object.entries({ type, subject, copies: '1', purpose: 'self', ...extra }).map(([k, v]) => [`l${i}_${k}`, v]));
  const request = (relation: string, ...lines: Record<string, string>[]) =>
    postForm(`${server.url}visits/${visitId}/certificates`, clerk, { relation, action: 'save', ...Object.assign({}, ...lines) });
  const requests = async () => Number(((await server.knex('certificate_requests').count({ n: '*' }).first()) as { n: number }).n);
  const denials = async (subject: string) =>
    (
      (await server.knex('audit_trail').where({ action: 'certificate.accept', result: 'denied' }).select('target_ids', 'detail')) as {
        target_ids: string;
        detail: string;
      }[]
    ).filter((a) => (JSON.parse(a.target_ids) as string[]).includes(subject));

  before(async () => {
    server = await startTestServer();
    inVisit = (await makeResident(server.knex, { name: '来庁 一郎' })).addressee_no;
    outside = (await makeResident(server.knex, { name: '無関係 二郎' })).addressee_no;
    visitor = (await makeResident(server.knex, { name: '来庁者 三郎' })).addressee_no;
    protectedNo = (await makeProtectedResident(server.knex, { name: '保護 花子' })).addressee_no;
    const h = await makeHousehold(server.knex, [{ name: '保護 世帯主' }, { name: '保護 同居' }]);
    await server.knex('support_measures').insert({ addressee_no: h.members[0]!.addressee_no, measure_code: '1', start_date: '2020-01-01' });
    householdOfProtected = h.members[1]!.addressee_no;
    banned = (await makeResident(server.knex, { name: '禁止 四郎' })).addressee_no;
    await server.knex('issuance_bans').insert({ addressee_no: banned, ban_kind_code: '1', start_date: '2020-01-01' });
    clerk = await server.login(['counter']);
    const res = await postForm(`${server.url}visits`, clerk, {});
    visitId = Number(/\/visits\/(\d+)$/.exec(res.headers.get('location') ?? '')![1]);
    for (const no of [inVisit, protectedNo, householdOfProtected, banned])
      expect((await postForm(`${server.url}visits/${visitId}/subjects`, clerk, { addresseeNo: no })).status).to.equal(303);
    await server.knex('visits').where({ id: visitId }).update({ visitor_addressee_no: visitor });
  });
  after(async () => {
    await server.close();
  });

  it('refuses a 宛名番号 that is not part of the visit, with the reason beside its line and an audit record', async () => {
    const res = await request(
      'self',
      line(0, 'residentCopy', inVisit, { scope: 'household' }),
      line(1, 'residentCopy', outside, { scope: 'household' }),
    );
    expect(res.status).to.equal(403);
    const html = await res.text();
    expect(html).to.contain('2 行目: 対象者はこの来庁の対象者ではありません');
    expect(html).to.match(/<legend>2 行目<\/legend><p class="alert"[^>]*>2 行目: 対象者はこの来庁の対象者ではありません/);
    expect(await requests()).to.equal(0);
    const [d] = await denials(outside);
    expect(JSON.parse(d!.detail)).to.deep.include({ codes: ['certificate.subjectNotInVisit'] });
  });

  it('refuses a 宛名番号 that does not exist', async () => {
    const res = await request('self', line(0, 'residentCopy', '999999999999', { scope: 'household' }));
    expect(res.status).to.equal(400);
    expect(await res.text()).to.contain('1 行目: 宛名番号 999999999999 の住民・住登外者・法人は登録されていません');
    expect(await requests()).to.equal(0);
    expect(await denials('999999999999')).to.have.length(1);
  });

  it('accepts the visitor, and someone added to the visit explicitly (audited)', async () => {
    expect((await request('self', line(0, 'residentCopy', visitor, { scope: 'household' }))).status).to.equal(303);
    expect((await postForm(`${server.url}visits/${visitId}/subjects`, clerk, { addresseeNo: outside })).status).to.equal(303);
    const added = (await server.knex('audit_trail').where({ action: 'visit.subjectAdd' }).select('target_ids')) as { target_ids: string }[];
    expect(added.some((a) => (JSON.parse(a.target_ids) as string[]).includes(outside))).to.equal(true);
    expect((await request('self', line(0, 'residentCopy', outside, { scope: 'household' }))).status).to.equal(303);
    expect(await requests()).to.equal(2);
    // The page offers the visitor and the subjects.
    const page = await (await getAs(`${server.url}visits/${visitId}/certificates`, clerk)).text();
    expect(page).to.contain(`value="${visitor}"`);
  });

  it('refuses a protected subject (and a member of a protected household) to a third party, and an 発行禁止 subject to a proxy, audited', async () => {
    const third = await request(
      'thirdParty',
      line(0, 'residentCopy', protectedNo, { scope: 'members' }),
      line(1, 'residentCopy', householdOfProtected, { scope: 'household' }),
    );
    expect(third.status).to.equal(403);
    const html = await third.text();
    expect(html).to.contain('1 行目: 対象者は支援措置の対象のため、代理人・第三者への交付は支援措置担当の確認が必要です');
    expect(html).to.contain('2 行目: 対象者は支援措置の対象のため、代理人・第三者への交付は支援措置担当の確認が必要です');
    const proxy = await request('proxy', line(0, 'sealCertificate', banned));
    expect(proxy.status).to.equal(403);
    expect(await proxy.text()).to.contain('1 行目: 対象者に発行禁止の設定があるため、本人以外には交付できません');
    expect(await requests()).to.equal(2);
    expect(JSON.parse((await denials(protectedNo))[0]!.detail)).to.deep.include({
      codes: ['certificate.supportMeasure', 'certificate.supportMeasure'],
    });
    expect(JSON.parse((await denials(banned))[0]!.detail)).to.deep.include({ codes: ['certificate.issuanceBan'] });
  });
});
