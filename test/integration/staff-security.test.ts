import { expect } from 'chai';
import type { Knex } from 'knex';
import { verifyAudit } from '../../server/src/audit/trail.js';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { derivedKeys } from '../../server/src/linkage/forward/keys.js';
import { MASKED_ADDRESS } from '../../server/src/residents/warnings.js';
import { getAs, postForm } from '../helpers/http.js';
import { failLogins, loginAs, loginWith, postLogin, renewedSession } from '../helpers/login.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface SearchResult {
  total: number;
  results: {
    addresseeNo: string;
    name: string;
    address: string;
    addressMasked: boolean;
    entitlements: string[];
    warnings: { kind: string }[];
  }[];
}

/** Two households: 山田 (a support measure on the mother, so the whole household's address is protected) and 髙橋 (NHI and child allowance). */
async function seedResidents(knex: Knex): Promise<void> {
  const person = (no: string, household: string, name: string, kana: string, birth: string, rel: string) => ({
    addressee_no: no,
    household_no: household,
    resident_kind: '1',
    resident_status: '1',
    name,
    name_kana: kana,
    sex: '2',
    birth_date: birth,
    relationship_code1: rel,
    change_reason_code: '01',
    prefecture: '熊本県',
    city: '窓口郡まどぐち町',
    town_name: household === 'H1' ? '緑ケ丘' : '本町',
    block_number: household === 'H1' ? '2-3-4' : '1-1',
  });
  const rows = [
    person('100000000001', 'H1', '山田 花子', 'ヤマダ ハナコ', '1990-04-01', '01'),
    person('100000000002', 'H1', '山田 陽菜', 'ヤマダ ヒナ', '2018-05-05', '02'),
    person('100000000003', 'H2', '髙橋 一郎', 'タカハシ イチロウ', '1975-01-10', '01'),
  ];
  for (const r of rows) await knex('residents').insert({ ...r, ...derivedKeys.residents!(r) });
  await knex('support_measures').insert({ addressee_no: '100000000001', measure_code: '1', start_date: '2025-01-01', end_date: null });
  await knex('entitlements').insert([
    { kind: 'nationalHealthInsurance', addressee_no: '100000000003', insured_no: '123', acquired_date: '2000-01-01' },
    { kind: 'childAllowance', addressee_no: '100000000003', acquired_date: '2010-01-01' },
  ]);
}

describe('staff security: password policy, roles and scopes, machine clients, admin screens', function () {
  this.timeout(60_000);
  let server: TestServer;
  let url: string;

  before(async () => {
    server = await startTestServer();
    url = server.url;
    await seedResidents(server.knex);
  });
  after(async () => {
    await server.close();
  });

  it('forces a password change at first login, enforces the policy and the history', async () => {
    await createStaff(server.knex, {
      loginId: 'newbie',
      displayName: '新人 職員',
      section: '住民課',
      password: 'Initial-pass-01',
      groups: ['counter'],
      mustChangePassword: true,
    });
    const s = await loginWith(url, server.knex, 'newbie', 'Initial-pass-01');
    expect(s.location).to.equal('/password');
    // Nothing else works until the password is changed.
    expect((await getAs(`${url}api/v1/linkage/runs`, s)).status).to.equal(403);
    expect((await getAs(`${url}linkage`, s)).headers.get('location')).to.equal('/password');
    expect((await getAs(`${url}password`, s)).status).to.equal(200);

    const weak = await postForm(`${url}password`, s, { current: 'Initial-pass-01', next: 'short', confirm: 'short' });
    expect(weak.status).to.equal(400);
    expect(await weak.text()).to.contain('12 文字以上');
    const same = await postForm(`${url}password`, s, { current: 'Initial-pass-01', next: 'Initial-pass-01', confirm: 'Initial-pass-01' });
    expect(await same.text()).to.contain('直近 5 回に使ったパスワードは使えません');
    const wrong = await postForm(`${url}password`, s, { current: 'not-it', next: 'Second-pass-02', confirm: 'Second-pass-02' });
    expect(await wrong.text()).to.contain('現在のパスワードが違います');
    const ok = await postForm(`${url}password`, s, { current: 'Initial-pass-01', next: 'Second-pass-02', confirm: 'Second-pass-02' });
    expect(ok.status).to.equal(303);
    // The change renews the session: the old cookie has ended, the new one works.
    expect((await getAs(`${url}api/v1/linkage/runs`, s)).status).to.equal(401);
    const renewed = await renewedSession(ok, server.knex, s);
    expect((await getAs(`${url}api/v1/linkage/runs`, renewed)).status).to.equal(200);
    // Going back to the first password is refused by the history.
    const back = await postForm(`${url}password`, renewed, {
      current: 'Second-pass-02',
      next: 'Initial-pass-01',
      confirm: 'Initial-pass-01',
    });
    expect(back.status).to.equal(400);
    const actions = (await server.knex('audit_trail').where({ action: 'staff.passwordChange' }).select('result')) as { result: string }[];
    expect(actions.filter((a) => a.result === 'success')).to.have.length(1);
    expect(actions.filter((a) => a.result === 'failure').length).to.be.at.least(4);
  });

  it('refuses an account before its validity starts, and shows the previous login at the next one', async () => {
    await createStaff(server.knex, {
      loginId: 'future',
      displayName: '四月 採用',
      section: '住民課',
      password: 'Future-pass-01',
      groups: ['counter'],
      mustChangePassword: false,
      validFrom: '2099-04-01',
    });
    const r = await postLogin(url, { loginId: 'future', password: 'Future-pass-01' });
    expect(r.status).to.equal(401);
    expect(await r.text()).to.contain('有効期間外');

    await createStaff(server.knex, {
      loginId: 'twice',
      displayName: '二度 来る',
      section: '住民課',
      password: 'Twice-pass-01',
      groups: ['counter'],
      mustChangePassword: false,
    });
    const first = await loginWith(url, server.knex, 'twice', 'Twice-pass-01');
    expect(await (await getAs(url, first)).text()).to.contain('前回のログイン: なし');
    const second = await loginWith(url, server.knex, 'twice', 'Twice-pass-01');
    expect(await (await getAs(url, second)).text()).to.match(/前回のログイン: 令和\d+年/);
  });

  it('lets an administrator unlock a locked account and reset a password (forced change after)', async () => {
    await createStaff(server.knex, {
      loginId: 'locked',
      displayName: 'ロック 太郎',
      section: '住民課',
      password: 'Locked-pass-01',
      groups: ['counter'],
      mustChangePassword: false,
    });
    const { maxFailures, minAddresses } = server.config.auth.lockout.account;
    await failLogins(
      url,
      'locked',
      maxFailures,
      Array.from({ length: minAddresses }, (_, i) => `127.0.4.${i + 1}`),
    );
    expect(await (await postLogin(url, { loginId: 'locked', password: 'Locked-pass-01' })).text()).to.contain('ロックされています');
    const id = Number(((await server.knex('staff').where({ login_id: 'locked' }).first('id')) as { id: number }).id);

    const clerk = await loginAs(url, server.knex, ['counter']);
    expect((await postForm(`${url}admin/staff/${id}/unlock`, clerk, {})).status).to.equal(403);
    const admin = await loginAs(url, server.knex, ['admin']);
    const list = await getAs(`${url}admin/staff?state=locked`, admin);
    expect(await list.text()).to.contain('ロック 太郎');
    expect((await postForm(`${url}admin/staff/${id}/unlock`, admin, {})).status).to.equal(303);
    const back = await loginWith(url, server.knex, 'locked', 'Locked-pass-01');
    expect(back.location).to.equal('/');

    const reset = await postForm(`${url}admin/staff/${id}/reset-password`, admin, {});
    const temporary = /<p class="secret">([^<]+)<\/p>/.exec(await reset.text())![1]!;
    expect(temporary).to.have.length(14);
    // The reset ends the running session and the old password.
    expect((await getAs(`${url}api/v1/linkage/runs`, back)).status).to.equal(401);
    expect((await postLogin(url, { loginId: 'locked', password: 'Locked-pass-01' })).status).to.equal(401);
    const withTemp = await loginWith(url, server.knex, 'locked', temporary);
    expect(withTemp.location).to.equal('/password');
    const audited = (await server
      .knex('audit_trail')
      .where({ target_kind: 'staff', target_ids: JSON.stringify([String(id)]) })
      .pluck('action')) as string[];
    expect(audited).to.include.members(['staff.unlock', 'staff.passwordReset']);
    expect((await verifyAudit(server.knex)).ok).to.equal(true);
  });

  it('switching the active role changes what a search returns: data scopes and protected addresses', async () => {
    await createStaff(server.knex, {
      loginId: 'multi',
      displayName: '兼務 職員',
      section: '住民課',
      password: 'Multi-pass-001',
      groups: ['counter', 'certificates', 'supportMeasures'],
      mustChangePassword: false,
    });
    const s = await loginWith(url, server.knex, 'multi', 'Multi-pass-001');
    expect(s.location).to.equal('/role');
    const search = async (query: string) => (await (await getAs(`${url}api/v1/residents?${query}`, s)).json()) as SearchResult;

    // 総合窓口 (counter): every entitlement kind, protected addresses masked for the whole household.
    let r = await search('kana=やまだ');
    expect(r.total).to.equal(2);
    for (const p of r.results) {
      expect(p.address).to.equal(MASKED_ADDRESS);
      expect(JSON.stringify(p)).to.not.contain('緑ケ丘');
    }
    expect(r.results.find((p) => p.addresseeNo === '100000000001')!.warnings.map((w) => w.kind)).to.deep.equal(['supportMeasure']);
    r = await search('name=高橋一郎');
    expect(r.results[0]!.name).to.equal('髙橋 一郎');
    expect(r.results[0]!.entitlements).to.deep.equal(['childAllowance', 'nationalHealthInsurance']);

    // 証明担当 (certificates): no entitlements in scope.
    expect((await postForm(`${url}role`, s, { groupCode: 'certificates', counterId: 'shimin-2' })).status).to.equal(303);
    expect((await search('name=高橋一郎')).results[0]!.entitlements).to.deep.equal([]);
    const page = await (await getAs(`${url}linkage`, s)).text();
    expect(page).to.contain('<span class="active-role" title="現在の役割">証明担当</span>');

    // 支援措置担当: the address is shown.
    await postForm(`${url}role`, s, { groupCode: 'supportMeasures', counterId: 'shimin-1' });
    r = await search('kana=ヤマダ');
    expect(r.results.every((p) => !p.addressMasked && p.address.includes('緑ケ丘2-3-4'))).to.equal(true);

    // A group the member of staff does not belong to cannot be switched to.
    expect((await postForm(`${url}role`, s, { groupCode: 'admin' })).status).to.equal(400);
    const switches = (await server
      .knex('audit_trail')
      .where({ action: 'auth.switchRole', staff_login: 'multi' })
      .count({ n: '*' })
      .first()) as { n: number };
    expect(Number(switches.n)).to.equal(2);
    const searches = (await server
      .knex('audit_trail')
      .where({ action: 'resident.search', staff_login: 'multi' })
      .orderBy('seq')
      .select('role', 'target_ids')) as { role: string; target_ids: string }[];
    expect(searches.map((x) => x.role)).to.deep.equal(['counter', 'counter', 'certificates', 'supportMeasures']);
    expect(JSON.parse(searches[0]!.target_ids)).to.deep.equal(['100000000001', '100000000002']);
  });

  it('shows a My Number only with the right, and audits each display', async () => {
    await server.knex('residents').where({ addressee_no: '100000000003' }).update({ my_number: '123456789018' });
    const clerk = await loginAs(url, server.knex, ['counter']);
    const plain = (await (await getAs(`${url}api/v1/residents/100000000003`, clerk)).json()) as {
      person: Record<string, unknown>;
      entitlements: unknown[];
      household: unknown[];
    };
    expect(plain.person).to.not.have.property('myNumber');
    expect(JSON.stringify(plain)).to.not.contain('123456789018');
    expect(plain.entitlements).to.have.length(2);
    expect((await getAs(`${url}api/v1/residents/100000000003?myNumber=1`, clerk)).status).to.equal(403);
    const shien = await loginAs(url, server.knex, ['supportMeasures']);
    const shown = (await (await getAs(`${url}api/v1/residents/100000000003?myNumber=1`, shien)).json()) as { person: { myNumber: string } };
    expect(shown.person.myNumber).to.equal('123456789018');
    const rec = (await server.knex('audit_trail').where({ action: 'resident.viewMyNumber' }).first()) as Record<string, unknown>;
    expect(rec.target_ids).to.equal('["100000000003"]');
    expect(JSON.stringify(await server.knex('audit_trail').select())).to.not.contain('123456789018');
  });

  it('serves machine clients with a bearer token: no CSRF, API only, revocable', async () => {
    const admin = await loginAs(url, server.knex, ['admin']);
    const reg = await postForm(`${url}admin/clients`, admin, { name: 'rpa-01', groupCode: 'counter' });
    const token = /<p class="secret">([^<]+)<\/p>/.exec(await reg.text())![1]!;
    expect(token).to.match(/^mdg_/);
    const bearer = { authorization: `Bearer ${token}` };
    const ok = await fetch(`${url}api/v1/residents?kana=タカハシ`, { headers: bearer });
    expect(ok.status).to.equal(200);
    expect(((await ok.json()) as SearchResult).total).to.equal(1);
    expect((await fetch(`${url}linkage`, { headers: bearer })).status).to.equal(401);
    expect((await fetch(`${url}api/v1/residents?kana=タカハシ`, { headers: { authorization: 'Bearer mdg_forged' } })).status).to.equal(401);
    const rec = (await server.knex('audit_trail').where({ action: 'resident.search', staff_login: 'client:rpa-01' }).first()) as
      Record<string, unknown> | undefined;
    expect(rec?.role).to.equal('counter');
    const listed = await (await getAs(`${url}admin/clients`, admin)).text();
    expect(listed).to.contain('rpa-01');
    expect(listed).to.not.contain(token);
    expect((await postForm(`${url}admin/clients/rpa-01/revoke`, admin, {})).status).to.equal(303);
    expect((await fetch(`${url}api/v1/residents?kana=タカハシ`, { headers: bearer })).status).to.equal(401);
    expect(JSON.stringify(await server.knex('api_clients').select())).to.not.contain(token);
  });

  it('admin screens: add staff, change a group and its scopes, audit viewer with filters (itself audited)', async () => {
    const admin = await loginAs(url, server.knex, ['admin']);
    const created = await postForm(`${url}admin/staff/new`, admin, {
      loginId: 'hired',
      displayName: '﨑山 𠮷子',
      section: '税務課',
      groups: ['welfare'],
      validFrom: '2026-04-01',
      validTo: '',
    });
    expect(created.status).to.equal(200);
    expect(await created.text()).to.contain('﨑山 𠮷子 (hired) の初期パスワード');
    const row = (await server.knex('staff').where({ login_id: 'hired' }).first()) as Record<string, unknown>;
    expect(row.display_name).to.equal('﨑山 𠮷子');
    expect(Boolean(row.must_change_password)).to.equal(true);
    expect((await postForm(`${url}admin/staff/new`, admin, { loginId: 'hired', displayName: 'x' })).status).to.equal(400);

    const save = await postForm(`${url}admin/groups/welfare`, admin, {
      name: '福祉担当',
      description: '介護のみ',
      permissions: ['resident.search', 'print.form'],
      scopes: ['longTermCare'],
    });
    expect(save.status).to.equal(303);
    const groups = await (await getAs(`${url}admin/groups`, admin)).text();
    expect(groups).to.contain('介護保険');
    expect((await postForm(`${url}admin/groups/welfare`, admin, { name: 'x', permissions: ['resident.everything'] })).status).to.equal(400);

    const viewer = await getAs(`${url}admin/audit?action=group.&staff=`, admin);
    const text = await viewer.text();
    expect(text).to.contain('group.update');
    expect(text).to.not.contain('auth.login<');
    const reads = (await server.knex('audit_trail').where({ action: 'audit.read' }).orderBy('seq', 'desc').first()) as Record<
      string,
      unknown
    >;
    expect(JSON.parse(String(reads.detail))).to.deep.include({ filters: { action: 'group.' } });
    const verify = await (await getAs(`${url}admin/audit/verify`, admin)).text();
    expect(verify).to.contain('正常');
    const csv = await getAs(`${url}admin/audit/export.csv?from=2026-01-01&to=2099-12-31`, admin);
    expect(csv.headers.get('content-type')).to.contain('text/csv');
    const bytes = Buffer.from(await csv.arrayBuffer());
    expect([...bytes.subarray(0, 3)]).to.deep.equal([0xef, 0xbb, 0xbf]);
    expect(bytes.toString('utf8', 3).split('\r\n')[0]).to.equal(
      '連番,日時,職員ID,ログインID,ロール,窓口,端末アドレス,操作,対象種別,対象ID,結果,詳細,前ハッシュ,ハッシュ',
    );
    const counter = await loginAs(url, server.knex, ['counter']);
    expect((await getAs(`${url}admin/audit`, counter)).status).to.equal(403);
  });
});

describe('staff CSV import in the admin screen', function () {
  this.timeout(60_000);
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  const upload = (s: { cookie: string; csrf: string }, mode: string, csv: string) =>
    fetch(`${server.url}admin/staff/import?mode=${mode}&name=jinji.csv`, {
      method: 'POST',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'text/csv', accept: 'application/json' },
      body: Buffer.from('\uFEFF' + csv, 'utf8'),
    });

  it('shows the dry-run diff, refuses a file with a bad line naming it, and applies atomically', async () => {
    const admin = await loginAs(server.url, server.knex, ['admin']);
    const good = 'ログインID,氏名,所属,グループ\r\nsato,佐藤 一,住民課,counter\r\nsuzuki,鈴木 二,税務課,certificates\r\n';
    const dry = await upload(admin, 'dryRun', good);
    expect(dry.status).to.equal(200);
    const dryBody = (await dry.json()) as { applied: boolean; diff: string };
    expect(dryBody.applied).to.equal(false);
    expect(dryBody.diff).to.contain('sato').and.to.contain('suzuki');
    expect(await server.knex('staff').whereIn('login_id', ['sato', 'suzuki']).first()).to.equal(undefined);

    const bad = await upload(admin, 'apply', good + 'tanaka,田中 三,住民課,nosuchgroup\r\n');
    expect(bad.status).to.equal(400);
    const badBody = (await bad.json()) as { ok: boolean; errors: { line: number; column: string; text: string }[] };
    expect(badBody.errors.map((e) => [e.line, e.column])).to.deep.equal([[4, 'グループ']]);
    expect(badBody.errors[0]!.text).to.match(/^jinji\.csv:4 列「グループ」: /);
    expect(await server.knex('staff').whereIn('login_id', ['sato', 'suzuki', 'tanaka']).first()).to.equal(undefined);

    const applied = await upload(admin, 'apply', good);
    const body = (await applied.json()) as { applied: boolean; added: { loginId: string; password: string }[] };
    expect(body.applied).to.equal(true);
    expect(body.added.map((a) => a.loginId).sort()).to.deep.equal(['sato', 'suzuki']);
    const sato = await loginWith(server.url, server.knex, 'sato', body.added.find((a) => a.loginId === 'sato')!.password);
    expect(sato.location).to.equal('/password');
    const clerk = await loginAs(server.url, server.knex, ['counter']);
    expect((await upload(clerk, 'dryRun', good)).status).to.equal(403);
    expect((await verifyAudit(server.knex)).ok).to.equal(true);
  });
});
