import { expect } from 'chai';
import { personalTargetOf } from '../../server/src/http/personalData.js';
import { makeNotice, makeStaff, makeVisit } from '../helpers/factories.js';
import type { LoggedIn } from '../helpers/login.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Every read of personal data and every refusal on a route that serves it leaves an audit record,
 * decided in one place (http/personalData.ts + the kit), so a handler that forgets cannot skip it.
 * These four reads were found unaudited by a review: the visit API, the notices API, the notice
 * form page and the procedures API.
 */
describe('audit of personal-data reads and refusals', () => {
  let server: TestServer;
  let clerk: LoggedIn;
  let admin: LoggedIn;
  let visitId: number;
  let noticeId: number;

  const auditCount = async () => Number(((await server.knex('audit_trail').count({ n: '*' }).first()) as { n: number }).n);
  const lastRecord = async () =>
    (await server.knex('audit_trail').orderBy('seq', 'desc').first()) as {
      action: string;
      result: string;
      target_kind: string | null;
      target_ids: string;
      staff_login: string | null;
      client_address: string | null;
      detail: string | null;
    };
  const get = (path: string, who: LoggedIn | null, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { headers: { ...(who ? { cookie: who.cookie } : {}), ...headers } });

  before(async () => {
    server = await startTestServer();
    clerk = await server.login(['counter']);
    admin = await server.login(['admin']);
    const staff = await makeStaff(server.knex, ['counter']);
    const visit = await makeVisit(server.knex, staff);
    visitId = visit.id;
    noticeId = (await makeNotice(server.knex, visit, staff, 'accepted')).id;
  });
  after(async () => {
    await server?.close();
  });

  for (const [title, path] of [
    ['/api/v1/visits/:id', () => `api/v1/visits/${visitId}`],
    ['/api/v1/visits/:id/notices', () => `api/v1/visits/${visitId}/notices`],
    ['/api/v1/visits/:id/procedures', () => `api/v1/visits/${visitId}/procedures`],
    ['/visits/:id/notices/:nid (the notice form)', () => `visits/${visitId}/notices/${noticeId}`],
    ['/visits/:id', () => `visits/${visitId}`],
  ] as const) {
    it(`audits GET ${title} with the ids read`, async () => {
      const before = await auditCount();
      const r = await get(path(), clerk);
      expect(r.status).to.equal(200);
      expect(await auditCount()).to.be.greaterThan(before);
      const rec = await lastRecord();
      expect(rec.result).to.equal('success');
      expect(JSON.parse(rec.target_ids) as string[]).to.include(String(visitId));
    });
  }

  it('audits a refusal: no right (403), no session (401), a bad machine token (401)', async () => {
    const forbidden = await get(`api/v1/visits/${visitId}`, admin);
    expect(forbidden.status).to.equal(403);
    let rec = await lastRecord();
    expect(rec).to.deep.include({ action: 'access.denied', result: 'denied', target_kind: 'visit' });
    expect(JSON.parse(rec.detail ?? '{}')).to.deep.include({ reason: 'auth.forbidden', method: 'GET' });
    expect(rec.staff_login).to.be.a('string');

    const anonymous = await get(`visits/${visitId}/notices/${noticeId}`, null, { accept: 'text/html' });
    expect(anonymous.status).to.equal(401);
    rec = await lastRecord();
    expect(rec).to.deep.include({ action: 'access.denied', result: 'denied', target_kind: 'notice', staff_login: null });
    expect(rec.client_address).to.be.a('string');

    const token = await get(`api/v1/residents/12345`, null, { authorization: 'Bearer mdg_not-a-token' });
    expect(token.status).to.equal(401);
    rec = await lastRecord();
    expect(rec).to.deep.include({ action: 'access.denied', target_kind: 'resident' });
    expect(JSON.parse(rec.detail ?? '{}')).to.deep.include({ reason: 'auth.badToken' });
  });

  it('does not audit a refusal on a route without personal data, nor a read the handler audited itself', async () => {
    const before = await auditCount();
    expect((await get('api/v1/linkage/status', null)).status).to.equal(401);
    expect(await auditCount()).to.equal(before);
    // The resident search audits itself (who was shown); the kit adds nothing on top.
    const search = await get('api/v1/residents?name=%E5%B1%B1%E7%94%B0', clerk);
    expect(search.status).to.equal(200);
    expect(await auditCount()).to.equal(before + 1);
  });

  it('classifies every declared route path: personal areas have a target, the rest none', () => {
    const routes = server.running.routes;
    expect(routes.length).to.be.greaterThan(50);
    const unclassified = routes
      .filter((r) => /:(id|nid|rid|addresseeNo)\b/.test(r.path) && !/^\/(linkage|admin\/(groups|bulletins|clients))/.test(r.path))
      .filter((r) => !/^\/api\/v1\/(linkage|postal-codes)/.test(r.path))
      .filter((r) => personalTargetOf(r.path) === null)
      .map((r) => `${r.method} ${r.path}`);
    expect(unclassified).to.deep.equal([]);
    expect(personalTargetOf('/api/v1/agent/scenarios')).to.equal(null);
    expect(personalTargetOf('/stats/visits.csv')).to.equal(null);
    expect(personalTargetOf('/visits/9/bundle.pdf')).to.equal('print');
    expect(personalTargetOf('/visits/9/certificates/3/request.pdf')).to.equal('certificateRequest');
  });
});
