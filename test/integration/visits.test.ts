import { expect } from 'chai';
import { registerApiClient } from '../../server/src/auth/apiClients.js';
import { derivedKeys } from '../../server/src/linkage/forward/keys.js';
import { getAs, postForm } from '../helpers/http.js';
import { loginAs, type LoggedIn } from '../helpers/login.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface VisitJson {
  id: number;
  visitNo: string;
  status: string;
  counterId: string | null;
  visitorBirthDate: string | null;
  visitorRole: string;
  identityDocument: string | null;
  identityCheckedAt: string | null;
  subjects: { addresseeNo: string | null; manualName: string | null; manualBirthDate: string | null }[];
}

const postJson = (url: string, s: LoggedIn, body: Record<string, unknown>) =>
  fetch(url, {
    method: 'POST',
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('visits, bulletins and address input assistance', function () {
  this.timeout(60_000);
  let server: TestServer;
  let clerk: LoggedIn;

  before(async () => {
    server = await startTestServer();
    const row = {
      addressee_no: '100000000009',
      household_no: 'H9',
      resident_kind: '1',
      resident_status: '1',
      name: '来庁 太郎',
      name_kana: 'ライチョウ タロウ',
      sex: '1',
      relationship_code1: '01',
      change_reason_code: '01',
      birth_date: '1977-10-03',
      town_name: '緑ケ丘二丁目',
      block_number: '3番地4',
    };
    await server.knex('residents').insert({ ...row, ...derivedKeys.residents!(row) });
    const master = (town: string, kana: string, code: string, block: string) => ({
      municipality_code: '439991',
      town_code: code,
      town_name: town,
      town_kana: kana,
      block_number: block,
      address_suffix: '',
      postal_code: '8699999',
      ...derivedKeys.address_master!({ town_name: town, block_number: block }),
    });
    await server
      .knex('address_master')
      .insert([
        master('緑ケ丘二丁目', 'ミドリガオカニチョウメ', '0010002', '3番地4'),
        master('緑ケ丘二丁目', 'ミドリガオカニチョウメ', '0010002', '3番地5'),
        master('本町', 'ホンマチ', '0020000', '1番1号'),
      ]);
    clerk = await loginAs(server.url, server.knex, ['counter']);
  });
  after(async () => {
    await server.close();
  });

  it('opens a visit, records the identity check with 和暦 input and corrections, and adds register and manual subjects', async () => {
    const opened = await postJson(`${server.url}api/v1/visits`, clerk, {});
    expect(opened.status).to.equal(201);
    const v = (await opened.json()) as VisitJson;
    expect(v.visitNo).to.match(/^\d{8}-0001$/);
    expect(v.status).to.equal('open');

    const proxyWithout = await postJson(`${server.url}api/v1/visits/${v.id}/visitor`, clerk, { visitorRole: 'proxy' });
    expect(proxyWithout.status).to.equal(400);
    expect(((await proxyWithout.json()) as { error: { message: string } }).error.message).to.equal(
      '代理人の場合は本人との関係を入力してください',
    );
    const badDate = await postJson(`${server.url}api/v1/visits/${v.id}/visitor`, clerk, { visitorBirthDate: 'S64.2.1' });
    expect(badDate.status).to.equal(400);
    const saved = (await (
      await postJson(`${server.url}api/v1/visits/${v.id}/visitor`, clerk, {
        visitorRole: 'proxy',
        proxyRelationship: '長男',
        proxyPowerOfAttorney: '1',
        identityDocument: 'driversLicence',
        visitorName: '来庁 一郎',
        visitorBirthDate: 'S52.10.3',
      })
    ).json()) as VisitJson;
    expect(saved).to.deep.include({ visitorRole: 'proxy', identityDocument: 'driversLicence', visitorBirthDate: '1977-10-03' });
    expect(saved.identityCheckedAt).to.not.equal(null);
    // The register stays as delivered.
    expect(((await server.knex('residents').where({ addressee_no: '100000000009' }).first('name')) as { name: string }).name).to.equal(
      '来庁 太郎',
    );

    expect((await postJson(`${server.url}api/v1/visits/${v.id}/subjects`, clerk, { addresseeNo: '999999999999' })).status).to.equal(400);
    await postJson(`${server.url}api/v1/visits/${v.id}/subjects`, clerk, { addresseeNo: '100000000009' });
    await postJson(`${server.url}api/v1/visits/${v.id}/subjects`, clerk, { addresseeNo: '100000000009' });
    const withManual = (await (
      await postJson(`${server.url}api/v1/visits/${v.id}/subjects`, clerk, { manualName: '転入 予定', manualBirthDate: '平成2年3月4日' })
    ).json()) as VisitJson;
    expect(withManual.subjects.map((s) => s.addresseeNo ?? s.manualName)).to.deep.equal(['100000000009', '転入 予定']);
    expect(withManual.subjects[1]!.manualBirthDate).to.equal('1990-03-04');
    const page = await (await getAs(`${server.url}visits/${v.id}`, clerk)).text();
    expect(page).to.contain('来庁 一郎').and.contain('住民記録なし').and.contain('確認済');
    const actions = (await server
      .knex('audit_trail')
      .where('target_ids', 'like', `["${v.id}"%`)
      .where('action', 'like', 'visit.%')
      .pluck('action')) as string[];
    expect(actions).to.include.members(['visit.open', 'visit.identity', 'visit.subjectAdd']);
  });

  it('pauses a visit, shows it on the home page, resumes it at another counter, and refuses changes once closed', async () => {
    const v = (await (await postJson(`${server.url}api/v1/visits`, clerk, {})).json()) as VisitJson;
    await postForm(`${server.url}visits/${v.id}/status`, clerk, { change: 'pause' });
    const home = await (await getAs(server.url, clerk)).text();
    expect(home).to.match(new RegExp(`${v.visitNo}</a></td><td class="status status-paused">保留中`));

    const other = await loginAs(server.url, server.knex, ['welfare']);
    await postForm(`${server.url}role`, other, { groupCode: 'welfare', counterId: 'kaigo-8' });
    const resumed = (await (await postJson(`${server.url}api/v1/visits/${v.id}/status`, other, { change: 'resume' })).json()) as VisitJson;
    expect(resumed).to.deep.include({ status: 'open', counterId: 'kaigo-8' });
    await postJson(`${server.url}api/v1/visits/${v.id}/status`, other, { change: 'close' });
    const late = await postJson(`${server.url}api/v1/visits/${v.id}/visitor`, other, { visitorName: 'x' });
    expect(late.status).to.equal(409);
    expect((await postJson(`${server.url}api/v1/visits/${v.id}/status`, other, { change: 'pause' })).status).to.equal(409);
    const who = (await server.knex('visits').where({ id: v.id }).first('updated_by', 'opened_by')) as {
      updated_by: number;
      opened_by: number;
    };
    expect([who.opened_by, who.updated_by]).to.deep.equal([clerk.staffId, other.staffId]);

    const token = await registerApiClient(server.knex, 'rpa-v', 'counter', { staffLogin: 'test' });
    const machine = await fetch(`${server.url}api/v1/visits`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(machine.status).to.equal(403);
  });

  it('posts bulletins on the home page until their last day', async () => {
    const admin = await loginAs(server.url, server.knex, ['admin', 'counter']);
    // Two groups: the first (総合窓口) is active after login; posting needs the administrator role.
    expect((await postForm(`${server.url}admin/bulletins`, admin, { title: 'x', body: 'y' })).status).to.equal(403);
    await postForm(`${server.url}role`, admin, { groupCode: 'admin' });
    await postForm(`${server.url}admin/bulletins`, admin, {
      title: '本日の注意',
      body: '午後は住基ネットの保守で\n照会ができません',
      showUntil: '',
    });
    await postForm(`${server.url}admin/bulletins`, admin, { title: '昨年の連絡', body: '古い', showUntil: '2020-01-01' });
    const home = await (await getAs(server.url, clerk)).text();
    expect(home).to.contain('本日の注意').and.contain('照会ができません').and.not.contain('昨年の連絡');
    expect((await postForm(`${server.url}admin/bulletins`, clerk, { title: 'x', body: 'y' })).status).to.equal(403);
  });

  it('offers 町字 and 番地 while typing, matches free input, and looks up postal codes offline', async () => {
    const towns = (await (await getAs(`${server.url}api/v1/addresses/towns?q=${encodeURIComponent('みどり')}`, clerk)).json()) as {
      towns: { townName: string; townCode: string }[];
    };
    expect(towns.towns.map((x) => x.townName)).to.deep.equal(['緑ケ丘二丁目']);
    expect(
      ((await (await getAs(`${server.url}api/v1/addresses/towns?q=${encodeURIComponent('緑')}`, clerk)).json()) as { towns: unknown[] })
        .towns,
    ).to.have.length(1);
    const blocks = (await (await getAs(`${server.url}api/v1/addresses/blocks?town=0010002&q=3`, clerk)).json()) as {
      blocks: { blockNumber: string }[];
    };
    expect(blocks.blocks.map((b) => b.blockNumber)).to.deep.equal(['3番地4', '3番地5']);
    const match = (await (
      await getAs(`${server.url}api/v1/addresses/match?text=${encodeURIComponent('熊本県窓口郡まどぐち町緑ヶ丘２丁目３－４')}`, clerk)
    ).json()) as { matches: { townName: string; blockNumber: string }[] };
    expect(match.matches.map((m) => m.townName + m.blockNumber)).to.deep.equal(['緑ケ丘二丁目3番地4']);
    const postal = (await (await getAs(`${server.url}api/v1/postal-codes/${encodeURIComponent('860-0001')}`, clerk)).json()) as {
      areas: { prefecture: string; city: string; town: string }[];
    };
    expect(postal.areas[0]).to.deep.include({ prefecture: '熊本県', city: '熊本市中央区', town: '千葉城町' });
    const bad = await getAs(`${server.url}api/v1/postal-codes/12`, clerk);
    expect(bad.status).to.equal(400);
  });
});
