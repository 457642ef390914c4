import path from 'node:path';
import { expect } from 'chai';
import iconv from 'iconv-lite';
import { registerApiClient } from '../../server/src/auth/apiClients.js';
import type { RouteInfo } from '../../server/src/http/app.js';
import { GaijiMap } from '../../server/src/linkage/forward/gaiji.js';
import { applyFiles, type FileResult } from '../../server/src/linkage/forward/apply.js';
import { recordHold, resolveHold } from '../../server/src/linkage/forward/holds.js';
import { activeMeasuresByPerson, recordEndings } from '../../server/src/linkage/forward/protectionEndings.js';
import { planIngest } from '../../server/src/linkage/forward/ingest.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { responseCheck } from '../../server/src/http/validation.js';
import { postForm } from '../helpers/http.js';
import type { LoggedIn } from '../helpers/login.js';
import { configDir, tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { makeTown } from '../helpers/town.js';

/**
 * Calls every JSON route of the registry with real data and validates each real answer against
 * the schema its declaration carries (besides the server's own check, which every test runs
 * with). A JSON route added without a call here fails the last test: the list is the registry.
 */
describe('every JSON route answers what its contract says', function () {
  this.timeout(180_000);
  const t = tempDir();
  let server: TestServer;
  let clerk: LoggedIn;
  let reviewer: LoggedIn;
  let admin: LoggedIn;
  let agentToken: string;
  const called = new Map<string, number>();
  const jsonRoutes = () => server.running.routes.filter((r) => r.spec?.response.kind === 'json');

  /** Calls `path` as `who` and checks the answer against the route's declared schema. */
  async function call(
    route: string,
    urlPath: string,
    init: RequestInit & { as?: LoggedIn | 'agent' | { token: string } | null } = {},
  ): Promise<unknown> {
    const [method, pattern] = route.split(' ') as ['GET' | 'POST', string];
    const declared = jsonRoutes().find((r) => r.method === method && r.path === pattern);
    expect(declared, `${route} is a declared JSON route`).to.not.equal(undefined);
    const headers = new Headers(init.headers);
    if (init.as === 'agent') headers.set('authorization', `Bearer ${agentToken}`);
    else if (init.as && 'token' in init.as) headers.set('authorization', `Bearer ${init.as.token}`);
    else if (init.as) {
      headers.set('cookie', init.as.cookie);
      headers.set('x-csrf-token', init.as.csrf);
    }
    const res = await fetch(`${server.url}${urlPath}`, { ...init, method, headers });
    const text = await res.text();
    expect(res.status, `${route}: ${text.slice(0, 300)}`).to.be.within(200, 299);
    const body: unknown = text ? JSON.parse(text) : null;
    const spec = (declared as RouteInfo).spec!;
    if (spec.response.kind === 'json') expect(responseCheck(spec.response.schema)(body), route).to.deep.equal([]);
    called.set(route, (called.get(route) ?? 0) + 1);
    return body;
  }
  const json = (value: unknown): RequestInit => ({ body: JSON.stringify(value), headers: { 'content-type': 'application/json' } });

  before(async () => {
    server = await startTestServer();
    const townDir = path.join(t.dir, 'town');
    await makeTown(townDir, 300, 'utf8', 'contracts');
    const registry = LayoutRegistry.load(configDir);
    await applyFiles(server.knex, registry, planIngest(townDir, registry), { gaiji: GaijiMap.load(path.join(townDir, 'gaiji-map.csv')) });
    clerk = await server.login(['counter']);
    reviewer = await server.login(['reviewer']);
    admin = await server.login(['admin']);
    agentToken = await registerApiClient(server.knex, 'rpa-contract', 'rpaAgent', { staffLogin: 'test' });
  });
  after(async () => {
    await server?.close();
    t.remove();
  });

  it('health, linkage, OpenAPI, residents and addresses', async () => {
    await call('GET /healthz', 'healthz');
    await call('GET /api/v1/openapi.json', 'api/v1/openapi.json', { as: clerk });
    const runs = (await call('GET /api/v1/linkage/runs', 'api/v1/linkage/runs?limit=5', { as: clerk })) as { runs: { id: number }[] };
    expect(runs.runs.length).to.be.greaterThan(0);
    await call('GET /api/v1/linkage/runs/:id', `api/v1/linkage/runs/${runs.runs[0]!.id}`, { as: clerk });
    await call('GET /api/v1/linkage/status', 'api/v1/linkage/status', { as: clerk });
    const person = (await server.knex('residents').where({ resident_status: '1' }).orderBy('addressee_no').first()) as {
      addressee_no: string;
      name: string;
      town_name: string;
      town_code: string;
    };
    const found = (await call('GET /api/v1/residents', `api/v1/residents?name=${encodeURIComponent(person.name.split(/\s/)[0]!)}`, {
      as: clerk,
    })) as { results: unknown[] };
    expect(found.results.length).to.be.greaterThan(0);
    await call('GET /api/v1/residents/:addresseeNo', `api/v1/residents/${person.addressee_no}`, { as: clerk });
    // A monthly scheme (児童手当) holds its dates as YYYY-MM: the schema must take them (it did not).
    const monthly = (await server.knex('entitlements').whereRaw('length(acquired_date) = 7').first('addressee_no')) as
      { addressee_no: string } | undefined;
    expect(monthly, 'a monthly entitlement in the town').to.not.equal(undefined);
    const welfare = await server.login(['welfare']);
    await call('GET /api/v1/residents/:addresseeNo', `api/v1/residents/${monthly!.addressee_no}`, { as: welfare });
    const towns = (await call(
      'GET /api/v1/addresses/towns',
      `api/v1/addresses/towns?q=${encodeURIComponent(person.town_name.slice(0, 1))}`,
      {
        as: clerk,
      },
    )) as { towns: { townCode: string }[] };
    expect(towns.towns.length).to.be.greaterThan(0);
    await call('GET /api/v1/addresses/blocks', `api/v1/addresses/blocks?town=${towns.towns[0]!.townCode}`, { as: clerk });
    await call('GET /api/v1/addresses/match', `api/v1/addresses/match?text=${encodeURIComponent(person.town_name)}`, { as: clerk });
    await call('GET /api/v1/postal-codes/:code', 'api/v1/postal-codes/100-0001', { as: clerk });
  });

  it('visits, notices, procedures and the 転出証明書情報 upload', async () => {
    // A head of household living alone, outside any protected household: a plain relocation.
    const person = (await server
      .knex('residents as r')
      .where({ 'r.resident_status': '1', 'r.relationship_code1': '02' })
      .whereNotExists(server.knex('support_measures as m').whereRaw('m.addressee_no = r.addressee_no'))
      .whereNotExists(server.knex('residents as o').whereRaw('o.household_no = r.household_no and o.addressee_no <> r.addressee_no'))
      .first('r.addressee_no', 'r.name')) as { addressee_no: string; name: string };
    const visit = (await call('POST /api/v1/visits', 'api/v1/visits', { as: clerk, ...json({}) })) as { id: number };
    await call('POST /api/v1/visits/:id/subjects', `api/v1/visits/${visit.id}/subjects`, {
      as: clerk,
      ...json({ addresseeNo: person.addressee_no }),
    });
    await call('POST /api/v1/visits/:id/visitor', `api/v1/visits/${visit.id}/visitor`, {
      as: clerk,
      ...json({ visitorRole: 'subject', identityDocument: 'myNumberCard' }),
    });
    await call('GET /api/v1/visits/:id', `api/v1/visits/${visit.id}`, { as: clerk });
    // A relocation accepted and reviewed: it has procedures and an RPA job.
    const created = await postForm(`${server.url}visits/${visit.id}/notices`, clerk, { type: 'relocation', subject: person.addressee_no });
    const nid = Number(/notices\/(\d+)$/.exec(created.headers.get('location') ?? '')![1]);
    // A new address of the town's address master (a notice's in-town address must be one).
    const target = (await server.knex('address_master').orderBy('id', 'desc').first('town_name', 'block_number')) as {
      town_name: string;
      block_number: string;
    };
    const accepted = await postForm(`${server.url}visits/${visit.id}/notices/${nid}`, clerk, {
      action: 'accept',
      effectiveDate: 'R8.11.28',
      newAddress: `${target.town_name}${target.block_number}`,
      m0_addresseeNo: person.addressee_no,
      m0_name: person.name,
      moving: '0',
      head: '0',
    });
    expect(accepted.status, await accepted.clone().text()).to.equal(303);
    await call('GET /api/v1/visits/:id/notices', `api/v1/visits/${visit.id}/notices`, { as: clerk });
    await call('GET /api/v1/visits/:id/procedures', `api/v1/visits/${visit.id}/procedures`, { as: clerk });
    expect((await postForm(`${server.url}notices/${nid}/move`, reviewer, { move: 'review' })).status).to.equal(303);
    // A 特例転入 filled from a 転出証明書情報 file.
    const special = await postForm(`${server.url}visits/${visit.id}/notices`, clerk, { type: 'specialMoveIn' });
    const sid = Number(/notices\/(\d+)$/.exec(special.headers.get('location') ?? '')![1]);
    const csv = [
      '住民票コード,個人番号,氏名,氏名_フリガナ,生年月日,性別,世帯主氏名,続柄表記,転出前住所_都道府県,転出前住所_市区郡町村名,転出前住所_町字,転出前住所_番地号表記,転出前住所_方書,転出先住所_町字,転出先住所_番地号表記,転出先住所_方書,転出予定年月日,異動年月日,送信元市区町村コード',
      '12345678901,,髙﨑 一郎,タカサキ イチロウ,19800505,1,髙﨑 一郎,世帯主,東京都,千代田区,千代田,1番1号,,緑ケ丘二丁目,3番地4,,20261125,,131016',
    ].join('\r\n');
    await call('POST /visits/:id/notices/:nid/move-out-certificate', `visits/${visit.id}/notices/${sid}/move-out-certificate`, {
      as: clerk,
      body: iconv.encode(csv, 'cp932'),
      headers: { 'content-type': 'text/csv', accept: 'application/json' },
    });
    await call('POST /api/v1/visits/:id/status', `api/v1/visits/${visit.id}/status`, { as: clerk, ...json({ change: 'pause' }) });
  });

  it('the agent API: scenarios, claim, heartbeat, evidence, release, failure, success', async () => {
    await call('GET /api/v1/agent/scenarios', 'api/v1/agent/scenarios', { as: 'agent' });
    const claim = async () =>
      (await call('POST /api/v1/agent/claim', 'api/v1/agent/claim', { as: 'agent', ...json({}) })) as { job: { id: number } } | null;
    const first = await claim();
    expect(first, 'a reviewed job to claim').to.not.equal(null);
    const id = first!.job.id;
    await call('POST /api/v1/agent/jobs/:id/heartbeat', `api/v1/agent/jobs/${id}/heartbeat`, { as: 'agent', ...json({}) });
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    await call('POST /api/v1/agent/jobs/:id/evidence', `api/v1/agent/jobs/${id}/evidence?kind=screenshot`, {
      as: 'agent',
      body: png,
      headers: { 'content-type': 'image/png' },
    });
    await call('POST /api/v1/agent/jobs/:id/release', `api/v1/agent/jobs/${id}/release`, { as: 'agent', ...json({}) });
    const again = await claim();
    await call('POST /api/v1/agent/jobs/:id/failure', `api/v1/agent/jobs/${again!.job.id}/failure`, {
      as: 'agent',
      ...json({ kind: 'application', message: '画面が応答しません' }),
    });
    // Back in the queue after the backoff: make it due and finish it.
    await server
      .knex('rpa_jobs')
      .where({ id: again!.job.id })
      .update({ available_at: new Date(0) });
    const third = await claim();
    if (third)
      await call('POST /api/v1/agent/jobs/:id/success', `api/v1/agent/jobs/${third.job.id}/success`, {
        as: 'agent',
        ...json({ coreRef: 'R08-0000001' }),
      });
    expect(called.has('POST /api/v1/agent/jobs/:id/success'), 'success reported').to.equal(true);
  });

  it('the card reader: the helper’s state, request and result; the page’s status, request and reading', async () => {
    const helper = { token: await registerApiClient(server.knex, 'card-contract', 'cardReader', { staffLogin: 'test' }, 'shimin-1') };
    await call('POST /api/v1/card-reader/state', 'api/v1/card-reader/state', {
      as: helper,
      ...json({ reader: 'Virtual PCD 00 00', card: 'myNumberCard', triesLeft: 3 }),
    });
    const opened = await postForm(`${server.url}visits`, clerk, {});
    const visitId = Number(/\/visits\/(\d+)/.exec(opened.headers.get('location') ?? '')![1]);
    const { requestId } = (await call('POST /visits/:id/card-reading', `visits/${visitId}/card-reading`, {
      as: clerk,
      ...json({ cardType: 'myNumberCard', pin: '1234' }),
    })) as { requestId: string };
    const { request } = (await call('GET /api/v1/card-reader/request', 'api/v1/card-reader/request?wait=0', { as: helper })) as {
      request: { requestId: string };
    };
    expect(request.requestId).to.equal(requestId);
    await call('POST /api/v1/card-reader/result', 'api/v1/card-reader/result', {
      as: helper,
      ...json({
        requestId,
        ok: true,
        reading: { cardType: 'myNumberCard', name: '髙橋 一郎', address: '東京都千代田区千代田1番1号', birthDate: '1980-05-05', sex: '1' },
      }),
    });
    await call('GET /card-reader/status', `card-reader/status?visit=${visitId}&request=${requestId}`, { as: clerk });
    await call('GET /visits/:id/card-reading/:requestId', `visits/${visitId}/card-reading/${requestId}`, {
      as: clerk,
      headers: { accept: 'application/json' },
    });
  });

  it('the resident screen: pairing, show, confirm, signature, status, close, paper signature, unpair', async () => {
    const { code } = (await call('POST /resident-screen/pairing', 'resident-screen/pairing', { as: clerk, ...json({}) })) as {
      code: string;
    };
    const paired = await fetch(`${server.url}resident/pair`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ code }),
    });
    const device = {
      cookie: paired.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; '),
      'content-type': 'application/json',
    };
    const opened = await postForm(`${server.url}visits`, clerk, {});
    const visitId = Number(/\/visits\/(\d+)/.exec(opened.headers.get('location') ?? '')![1]);
    const created = await postForm(`${server.url}visits/${visitId}/notices`, clerk, { type: 'moveIn' });
    const noticeId = Number(/notices\/(\d+)$/.exec(created.headers.get('location') ?? '')![1]);
    await call('POST /visits/:id/notices/:nid/resident-screen', `visits/${visitId}/notices/${noticeId}/resident-screen`, {
      as: clerk,
      ...json({}),
    });
    const screen = (await call('GET /resident/screen', 'resident/screen', { headers: device })) as { presentation: { id: string } };
    const id = screen.presentation.id;
    await call('POST /resident/confirm', 'resident/confirm', { headers: device, body: JSON.stringify({ id }) });
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';
    await call('POST /resident/signature', 'resident/signature', {
      headers: device,
      body: JSON.stringify({ id, image: `data:image/png;base64,${png}` }),
    });
    await call('GET /resident-screen/status', `resident-screen/status?notice=${noticeId}`, { as: clerk });
    await call('POST /resident-screen/close', 'resident-screen/close', { as: clerk, ...json({}) });
    await call('POST /visits/:id/notices/:nid/signature/paper', `visits/${visitId}/notices/${noticeId}/signature/paper`, {
      as: clerk,
      ...json({}),
    });
    await call('POST /resident-screen/unpair', 'resident-screen/unpair', { as: clerk, ...json({}) });
  });

  it('the staff CSV import (dry run)', async () => {
    const csv = '職員番号,氏名,ログインID,所属,グループ\r\n';
    const res = await fetch(`${server.url}admin/staff/import?mode=dryRun&name=jinji.csv`, {
      method: 'POST',
      headers: { cookie: admin.cookie, 'x-csrf-token': admin.csrf, 'content-type': 'text/csv' },
      body: Buffer.from(csv),
    });
    const body: unknown = await res.json();
    const declared = jsonRoutes().find((r) => r.path === '/admin/staff/import' && r.method === 'POST')!;
    if (declared.spec!.response.kind === 'json') expect(responseCheck(declared.spec!.response.schema)(body)).to.deep.equal([]);
    called.set('POST /admin/staff/import', 1);
  });

  it('held full files and 支援措置 ended by a linkage file', async () => {
    // A held file confirmed: the watcher's own part (applying the file) is its suite's; here the answer.
    const runId = (await server.knex('linkage_runs').orderBy('id', 'desc').first('id')) as { id: number };
    const holdId = await recordHold(server.knex, {
      runId: runId.id,
      specId: 'ext-arrears',
      fileName: 'ext-arrears_full.csv',
      heldPath: path.join(t.dir, 'ext-arrears_full.csv'),
      sha256: 'c'.repeat(64),
      rowsBefore: 40,
      rowsInFile: 0,
    });
    const status = (await call('GET /api/v1/linkage/status', 'api/v1/linkage/status', { as: clerk })) as { holds: unknown[] };
    expect(status.holds).to.have.length(1);
    const watcher = server.running.watcher;
    const original = watcher.confirmHold.bind(watcher);
    watcher.confirmHold = async (id, staffId, reason) => {
      await resolveHold(server.knex, id, { resolution: 'confirmed', staffId, reason, resolvedRunId: runId.id });
      return { specId: 'ext-arrears', outcome: 'applied', runId: runId.id, rowsApplied: 0, message: '取り込みました' } as FileResult;
    };
    try {
      await call('POST /api/v1/linkage/holds/:id/confirm', `api/v1/linkage/holds/${holdId}/confirm`, {
        as: admin,
        ...json({ reason: '収納課に確認済み' }),
      });
    } finally {
      watcher.confirmHold = original;
    }
    // A protected person of the town whose measure a file removed.
    const shien = await server.login(['supportMeasures']);
    await server.knex.transaction(async (trx) => {
      const before = await activeMeasuresByPerson(trx);
      const [first] = [...before.keys()];
      expect(first, 'a protected person in the town').to.not.equal(undefined);
      await trx('support_measures').where({ addressee_no: first! }).delete();
      await recordEndings(trx, before, { runId: runId.id, specId: '001o013', fileName: '001o013_full.csv' });
    });
    const endings = (await call('GET /api/v1/support-measures/endings', 'api/v1/support-measures/endings', { as: shien })) as {
      endings: unknown[];
    };
    expect(endings.endings.length).to.be.greaterThan(0);
  });

  it('called every JSON route of the registry', () => {
    const all = jsonRoutes().map((r) => `${r.method} ${r.path}`);
    expect(all.length).to.be.greaterThan(20);
    expect(all.filter((r) => !called.has(r))).to.deep.equal([]);
  });
});
