import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { derivedKeys } from '../../server/src/linkage/forward/keys.js';
import { getAs, postForm } from '../helpers/http.js';
import { loginAs, type LoggedIn } from '../helpers/login.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/** Certificate requests at the counter: fees with exemptions, issuance rules, the printed request. */
describe('certificate requests: fees, 発行禁止 and 支援措置 rules, the printed request with the total', function () {
  this.timeout(60_000);
  let server: TestServer;
  let clerk: LoggedIn;
  let visitId: number;

  before(async () => {
    server = await startTestServer();
    const person = (no: string, household: string, name: string) => ({
      addressee_no: no,
      household_no: household,
      resident_kind: '1',
      resident_status: '1',
      name,
      name_kana: 'ショウメイ',
      sex: '1',
      birth_date: '1970-01-01',
      relationship_code1: '02',
      change_reason_code: '01',
      town_name: '本町',
      block_number: `${no.slice(-1)}-1`,
    });
    for (const r of [
      person('900000000001', 'C1', '証明 一郎'),
      person('900000000002', 'C2', '髙﨑 保護'),
      person('900000000003', 'C3', '禁止 三郎'),
    ])
      await server.knex('residents').insert({ ...r, ...derivedKeys.residents!(r) });
    await server.knex('support_measures').insert({ addressee_no: '900000000002', measure_code: '1', start_date: '2024-01-01' });
    await server.knex('issuance_bans').insert({ addressee_no: '900000000003', ban_kind_code: '1', start_date: '2024-01-01' });
    clerk = await loginAs(server.url, server.knex, ['counter']);
    const res = await postForm(`${server.url}visits`, clerk, {});
    visitId = Number(/\/visits\/(\d+)$/.exec(res.headers.get('location') ?? '')![1]);
    for (const no of ['900000000001', '900000000002', '900000000003'])
      await postForm(`${server.url}visits/${visitId}/subjects`, clerk, { addresseeNo: no });
  });
  after(async () => {
    await server.close();
  });

  const line = (i: number, type: string, subject: string, extra: Record<string, string> = {}) =>
    Object.fromEntries(Object.entries({ type, subject, copies: '1', purpose: 'self', ...extra }).map(([k, v]) => [`l${i}_${k}`, v]));

  it('prices several types and persons with exemptions, and explains bad lines in Japanese', async () => {
    const priced = await postForm(`${server.url}visits/${visitId}/certificates`, clerk, {
      relation: 'self',
      action: 'price',
      ...line(0, 'residentCopy', '900000000001', { copies: '3', scope: 'household' }),
      ...line(1, 'sealCertificate', '900000000001'),
      ...line(2, 'residentCopy', '900000000001', { scope: 'members', purpose: 'official' }),
    });
    const html = await priced.text();
    expect(priced.status).to.equal(200);
    expect(html).to.match(/id="fee-total"><strong>1,200 円<\/strong>/);
    expect(html).to.contain('公用のため手数料免除');
    const bad = await postForm(`${server.url}visits/${visitId}/certificates`, clerk, {
      relation: 'self',
      action: 'price',
      ...line(0, 'residentCopy', '900000000001', { copies: '0' }),
    });
    expect(bad.status).to.equal(400);
    expect(await bad.text()).to.contain('1 行目');
  });

  it("refuses a third party a protected person's certificate (unless the staff holds the right) and anyone but the person under 発行禁止", async () => {
    const third = await postForm(`${server.url}visits/${visitId}/certificates`, clerk, {
      relation: 'thirdParty',
      action: 'save',
      ...line(0, 'residentCopy', '900000000002', { scope: 'members' }),
    });
    expect(third.status).to.equal(403);
    expect(await third.text()).to.contain('支援措置の対象のため、代理人・第三者への交付は支援措置担当の確認が必要です');
    const banned = await postForm(`${server.url}visits/${visitId}/certificates`, clerk, {
      relation: 'household',
      action: 'save',
      ...line(0, 'sealCertificate', '900000000003'),
    });
    expect(banned.status).to.equal(403);
    expect(await banned.text()).to.contain('発行禁止の設定があるため、本人以外には交付できません');
    expect(await server.knex('certificate_requests').count({ n: '*' }).first()).to.deep.equal({ n: 0 });
    const denied = (await server
      .knex('audit_trail')
      .where({ action: 'certificate.accept', result: 'denied' })
      .count({ n: '*' })
      .first()) as { n: number };
    expect(Number(denied.n)).to.equal(2);
    const shien = await loginAs(server.url, server.knex, ['supportMeasures', 'certificates']);
    await postForm(`${server.url}role`, shien, { groupCode: 'supportMeasures' });
    // 支援措置担当 holds the right but not certificate.accept: the route itself refuses.
    expect(
      (
        await postForm(`${server.url}visits/${visitId}/certificates`, shien, {
          relation: 'thirdParty',
          action: 'save',
          ...line(0, 'residentCopy', '900000000002', { scope: 'members' }),
        })
      ).status,
    ).to.equal(403);
  });

  it('accepts a request and prints the 証明書交付請求書 with the lines and the total; the protected address is masked', async () => {
    const saved = await postForm(`${server.url}visits/${visitId}/certificates`, clerk, {
      relation: 'self',
      action: 'save',
      memo: '本人確認済み',
      ...line(0, 'residentCopy', '900000000002', { copies: '2', scope: 'household' }),
      ...line(1, 'sealCertificate', '900000000002'),
    });
    expect(saved.status).to.equal(303);
    const r = (await server.knex('certificate_requests').first('id', 'total')) as { id: number; total: number };
    expect(r.total).to.equal(900);
    const res = await getAs(`${server.url}visits/${visitId}/certificates/${r.id}/request.pdf`, clerk);
    expect(res.headers.get('content-type')).to.equal('application/pdf');
    const file = path.join(server.dir, 'request.pdf');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const text = execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' });
    expect(text).to.contain('髙﨑 保護').and.contain('住民票の写し').and.contain('印鑑登録証明書').and.contain('900');
    expect(text).to.not.contain('本町2-1');
    const printed = (await server.knex('audit_trail').where({ action: 'print.form' }).first('detail')) as { detail: string };
    expect(JSON.parse(printed.detail)).to.deep.include({ what: 'certificateRequest', total: 900, masked: true });
  });

  it('prints the visitor of the identity check as 「窓口に来た人」 (name, address, phone, relationship)', async () => {
    const saved = await postForm(`${server.url}visits/${visitId}/visitor`, clerk, {
      visitorRole: 'proxy',
      identityDocument: 'driversLicence',
      visitorName: '代理 次郎',
      visitorAddress: '熊本県熊本市中央区手取本町1-1',
      visitorPhone: '096-000-1111',
      proxyRelationship: '兄',
    });
    expect(saved.status).to.be.oneOf([200, 303]);
    const r = (await server.knex('certificate_requests').first('id')) as { id: number };
    const res = await getAs(`${server.url}visits/${visitId}/certificates/${r.id}/request.pdf`, clerk);
    expect(res.status).to.equal(200);
    const file = path.join(server.dir, 'request-visitor.pdf');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const text = execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' }).replace(/\s/g, '');
    expect(text).to.contain('代理次郎').and.contain('096-000-1111');
    // The person is protected: every address of the form is masked, the proxy's too.
    expect(text).to.not.contain('手取本町').and.not.contain('本町2-1');
  });
});
