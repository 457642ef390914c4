import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const serverVersion = (JSON.parse(readFileSync(path.join(repoRoot, 'server/package.json'), 'utf8')) as { version: string }).version;

describe('HTTP server', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer({ watch: true });
  });
  after(async () => {
    await server.close();
  });

  it('answers /healthz with status, version and the residents count', async () => {
    await server.knex('residents').insert({
      addressee_no: '1',
      household_no: '1',
      resident_kind: '1',
      resident_status: '1',
      name: '髙橋　一郎',
      sex: '1',
      relationship_code1: '02',
      change_reason_code: '01',
    });
    await server.knex('residents').insert({
      addressee_no: '2',
      household_no: '1',
      resident_kind: '1',
      resident_status: '2',
      name: '転出　者',
      sex: '1',
      relationship_code1: '20',
      change_reason_code: '21',
    });
    const res = await fetch(`${server.url}healthz`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.contain('application/json');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).to.include({ status: 'ok', version: serverVersion, residents: 1, database: 'ok' });
    // A fresh data dir: no linkage file and no backup yet, no upsd on 127.0.0.1:3493 — warnings, not an error.
    expect(body.warnings).to.include.members(['linkage', 'backup', 'ups']);
    expect(body.linkage).to.include({ status: 'warn', freshness: 'none' });
  });

  it('serves a Japanese landing page with security headers', async () => {
    const res = await fetch(server.url);
    expect(res.status).to.equal(200);
    const body = await res.text();
    expect(body).to.contain('<html lang="ja">');
    expect(body).to.contain('まどぐち町');
    // Before login: where to log in, and nothing from the linkage runs (file names stay inside).
    expect(body).to.contain('href="/login"');
    expect(body).to.not.contain('前方連携の取込状況');
    expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
    expect(res.headers.get('content-security-policy')).to.contain("default-src 'self'");
    const css = await fetch(`${server.url}static/base.css`);
    expect(css.headers.get('content-type')).to.contain('text/css');
  });

  it('answers unknown API paths with a JSON error in Japanese', async () => {
    const res = await fetch(`${server.url}api/v1/nothing`);
    expect(res.status).to.equal(404);
    const body = (await res.json()) as { error: { status: number; message: string } };
    expect(body.error.message).to.equal('ページが見つかりません');
    const html = await fetch(`${server.url}nothing`, { headers: { accept: 'text/html' } });
    expect(html.status).to.equal(404);
    expect(await html.text()).to.contain('ページが見つかりません');
  });

  it('stops gracefully: stops accepting, then closes the database', async () => {
    const s = await startTestServer({ watch: true });
    const inFlight = fetch(`${s.url}healthz`);
    const res = await inFlight;
    await s.close();
    expect(res.status).to.equal(200);
    let refused: unknown;
    try {
      await fetch(`${s.url}healthz`);
    } catch (e) {
      refused = e;
    }
    expect(refused, 'connection after close').to.not.equal(undefined);
    let dbClosed: unknown;
    try {
      await s.knex('residents').count();
    } catch (e) {
      dbClosed = e;
    }
    expect(dbClosed, 'database after close').to.not.equal(undefined);
  });
});
