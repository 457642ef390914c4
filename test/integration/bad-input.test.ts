import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { postForm } from '../helpers/http.js';
import { loginAs, type LoggedIn } from '../helpers/login.js';

/**
 * Bodies that are not what they claim: each gets a 4xx with a Japanese message and a catalog
 * code — never a 500, never a library's English text — and the server stays healthy.
 */
describe('bad request bodies', () => {
  let server: TestServer;
  let clerk: LoggedIn;
  const post = (path: string, headers: Record<string, string>, body: string | Buffer) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { cookie: clerk.cookie, 'x-csrf-token': clerk.csrf, ...headers },
      body,
    });
  const error = async (r: Response) => ((await r.json()) as { error: { status: number; code: string; message: string } }).error;

  before(async () => {
    server = await startTestServer();
    clerk = await server.login(['counter']);
  });
  after(async () => {
    await server?.close();
  });

  it('answers a false Content-Encoding: gzip with 400 in Japanese (was 500 on every POST route)', async () => {
    const r = await post('api/v1/visits', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, '{"channel":"counter"}');
    expect(r.status).to.equal(400);
    expect(await error(r)).to.deep.equal({
      status: 400,
      code: 'input.badEncoding',
      message: '送られたデータの圧縮形式または文字コードを読めません',
    });
    // A real gzip body is read.
    const ok = await post('api/v1/visits', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync('{}'));
    expect(ok.status).to.be.oneOf([200, 201]);
  });

  it('answers broken JSON with 400 and no parser text', async () => {
    const r = await post('api/v1/visits', { 'content-type': 'application/json' }, '{"channel":');
    expect(r.status).to.equal(400);
    const e = await error(r);
    expect(e.code).to.equal('input.badJson');
    expect(e.message)
      .to.match(/JSON/)
      .and.not.match(/Unexpected|position/);
  });

  it('answers an oversized JSON body with 413 and stays healthy', async () => {
    const r = await post('api/v1/visits', { 'content-type': 'application/json' }, JSON.stringify({ x: 'あ'.repeat(1_200_000) }));
    expect(r.status).to.equal(413);
    expect((await error(r)).code).to.equal('input.tooLarge');
    expect((await fetch(`${server.url}healthz`)).status).to.equal(200);
  });

  it('answers deep nesting and wrong JSON types with 400 naming the field', async () => {
    const visit = (await (await post('api/v1/visits', { 'content-type': 'application/json' }, '{}')).json()) as { id: number };
    const path = `api/v1/visits/${visit.id}/visitor`;
    const deep = await post(path, { 'content-type': 'application/json' }, '['.repeat(5000) + ']'.repeat(5000));
    expect(deep.status).to.equal(400);
    const typed = await post(path, { 'content-type': 'application/json' }, JSON.stringify({ visitorName: 42 }));
    expect(typed.status).to.equal(400);
    const e = (await typed.json()) as { error: { code: string; message: string; fields: { field: string }[] } };
    expect(e.error.code).to.equal('input.invalid');
    expect(e.error.fields.map((f) => f.field)).to.include('visitorName');
    expect((await fetch(`${server.url}healthz`)).status).to.equal(200);
  });

  it('shows the styled error page, with the reason and a way back, to a browser', async () => {
    const r = await fetch(`${server.url}visits/abc`, { headers: { cookie: clerk.cookie, accept: 'text/html' } });
    expect(r.status).to.equal(400);
    const page = await r.text();
    expect(page).to.include('class="card alert error-page"');
    expect(page).to.include('入力を確認してください');
    expect(page).to.include('href="/"');
    expect(page).to.include(clerk.csrf === '' ? '' : 'whoami');
    const missing = await fetch(`${server.url}no-such-page`, { headers: { cookie: clerk.cookie, accept: 'text/html' } });
    expect(missing.status).to.equal(404);
    expect(await missing.text()).to.include('ページが見つかりません');
    // A role without the right: the reason, the way back and the way to another role.
    const shomei = await loginAs(server.url, server.knex, ['certificates', 'counter']);
    await postForm(`${server.url}role`, shomei, { groupCode: 'certificates' });
    const refused = await fetch(`${server.url}review`, { headers: { cookie: shomei.cookie, accept: 'text/html', referer: '/search' } });
    expect(refused.status).to.equal(403);
    const text = await refused.text();
    expect(text).to.include('class="card alert error-page"').and.include('この操作はできません');
    expect(text).to.include('href="/role"').and.include('役割を切り替える').and.include('href="/"');
  });
});
