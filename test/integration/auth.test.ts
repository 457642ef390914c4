import { expect } from 'chai';
import { verifyAudit } from '../../server/src/audit/trail.js';
import { hashPassword } from '../../server/src/auth/passwords.js';
import { createApp } from '../../server/src/http/app.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { failLogins, loginAs, postLogin } from '../helpers/login.js';
import { configDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('staff login, sessions, CSRF and the route-permission matrix', function () {
  this.timeout(60_000);
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  it('answers 401 without a session and 403 without the right, on every declared route', async () => {
    // A group with no permissions at all.
    await server.knex('staff_groups').insert({ code: 'nothing', name: '権限なし' });
    const weak = await loginAs(server.url, server.knex, ['nothing']);
    const { routes } = createApp({
      knex: server.knex,
      config: server.config,
      configDir,
      logger: server.running.logger,
      version: 'x',
      linkage: {
        knex: server.knex,
        registry: LayoutRegistry.load(configDir),
        settings: server.config.linkage,
        closedDates: [],
        loads: () => [],
      },
    });
    let checked = 0;
    for (const r of routes) {
      if (r.access === 'public') continue;
      const url = `${server.url}${r.path.slice(1).replace(/:[A-Za-z]+/g, '1')}`;
      const anonymous = await fetch(url, { method: r.method, redirect: 'manual' });
      expect(anonymous.status, `${r.method} ${r.path} without a session`).to.equal(401);
      if (r.access === 'residentScreen') {
        // A staff session is no resident screen.
        const staffOnly = await fetch(url, {
          method: r.method,
          redirect: 'manual',
          headers: { cookie: weak.cookie, 'x-csrf-token': weak.csrf },
        });
        expect(staffOnly.status, `${r.method} ${r.path} with a staff session`).to.equal(401);
      }
      if (typeof r.access === 'object') {
        const denied = await fetch(url, {
          method: r.method,
          redirect: 'manual',
          headers: { cookie: weak.cookie, 'x-csrf-token': weak.csrf },
        });
        expect(denied.status, `${r.method} ${r.path} without ${r.access.permission}`).to.equal(403);
      }
      checked++;
    }
    expect(checked).to.be.greaterThan(5);
    const api = await fetch(`${server.url}api/v1/linkage/runs`);
    expect(((await api.json()) as { error: { message: string } }).error.message).to.equal('ログインしてください');
  });

  it('sets an HttpOnly, SameSite=Strict session cookie and rejects a POST without the CSRF token', async () => {
    const s = await loginAs(server.url, server.knex, ['counter']);
    const res = await postLogin(server.url, { loginId: 'nobody', password: 'x' });
    expect(res.status).to.equal(401);
    expect(await res.text()).to.contain('ログイン ID またはパスワードが違います');
    const ok = await fetch(`${server.url}api/v1/linkage/runs`, { headers: { cookie: s.cookie } });
    expect(ok.status).to.equal(200);
    const noToken = await fetch(`${server.url}logout`, { method: 'POST', redirect: 'manual', headers: { cookie: s.cookie } });
    expect(noToken.status).to.equal(403);
    expect(await noToken.text()).to.contain('CSRF');
    // Logging in again (say at another counter) while a session exists is not refused.
    const again = await postLogin(server.url, { loginId: 'nobody', password: 'x' }, { cookie: s.cookie });
    expect(again.status).to.equal(401);
    expect(await again.text()).to.contain('ログイン ID またはパスワードが違います');
    const out = await fetch(`${server.url}logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    });
    expect(out.status).to.equal(303);
    const after = await fetch(`${server.url}api/v1/linkage/runs`, { headers: { cookie: s.cookie } });
    expect(after.status).to.equal(401);
    const actions = (await server
      .knex('audit_trail')
      .where({ target_ids: JSON.stringify([String(s.staffId)]) })
      .orderBy('seq')
      .pluck('action')) as string[];
    expect(actions).to.include.members(['staff.create', 'auth.login', 'auth.logout']);
  });

  it('locks an account after repeated failures from several addresses, and refuses disabled or expired accounts', async () => {
    const hash = await hashPassword('Right-password-1');
    const base = {
      display_name: 'ロック 確認',
      section: '住民課',
      password_hash: hash,
      must_change_password: false,
      created_at: new Date(),
    };
    for (const row of [
      { ...base, login_id: 'lockme' },
      { ...base, login_id: 'gone', disabled: true },
      { ...base, login_id: 'expired', valid_to: '2020-03-31' },
    ])
      await server.knex('staff').insert(row);
    // The lock needs failures from several addresses (login-hardening.test.ts covers the rules);
    // every failure, the last one too, gets the generic message.
    const { maxFailures, minAddresses } = server.config.auth.lockout.account;
    const from = Array.from({ length: minAddresses }, (_, i) => `127.0.3.${i + 1}`);
    for (const r of await failLogins(server.url, 'lockme', maxFailures, from)) {
      expect(r.status).to.equal(401);
      expect(await r.text()).to.contain('ログイン ID またはパスワードが違います');
    }
    const right = await postLogin(server.url, { loginId: 'lockme', password: 'Right-password-1' });
    expect(right.status).to.equal(401);
    expect(await right.text()).to.contain('ロックされています');
    expect(await (await postLogin(server.url, { loginId: 'gone', password: 'Right-password-1' })).text()).to.contain('無効');
    expect(await (await postLogin(server.url, { loginId: 'expired', password: 'Right-password-1' })).text()).to.contain('有効期間外');
    const failures = (await server.knex('audit_trail').where({ action: 'auth.loginFailure' }).count({ n: '*' }).first()) as { n: number };
    expect(Number(failures.n)).to.be.at.least(maxFailures + 3);
    const verify = await verifyAudit(server.knex);
    expect(verify.ok).to.equal(true);
  });

  it('ends a session that has been idle too long', async () => {
    const s = await loginAs(server.url, server.knex, ['counter']);
    await server
      .knex('staff_sessions')
      .where({ staff_id: s.staffId })
      .update({ last_seen_at: new Date(Date.now() - (server.config.auth.idleMinutes + 1) * 60_000) });
    const res = await fetch(`${server.url}api/v1/linkage/runs`, { headers: { cookie: s.cookie } });
    expect(res.status).to.equal(401);
    expect(await server.knex('staff_sessions').where({ staff_id: s.staffId }).first()).to.equal(undefined);
  });
});
