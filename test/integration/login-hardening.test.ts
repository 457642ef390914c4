import { expect } from 'chai';
import { verifyAudit } from '../../server/src/audit/trail.js';
import { dummyPasswordHash, hashPassword } from '../../server/src/auth/passwords.js';
import { BAD_CREDENTIALS, loginProbe } from '../../server/src/auth/sessions.js';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { getAs, postForm } from '../helpers/http.js';
import { failLogins, loginForm, loginWith, postLogin, renewedSession, requestFrom, type LoggedIn } from '../helpers/login.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Login hardening (issue 15 item 8, docs/security.md「ログイン」): the same work for unknown and
 * known ids, the per-address throttle and the account lock from varied addresses, sessions ended
 * by a lock or a password change, the absolute session lifetime, and the login form's CSRF token.
 * Client addresses are real: each test posts from its own 127.0.x.y (see `requestFrom`).
 */
describe('login hardening', function () {
  this.timeout(120_000);
  let server: TestServer;
  let url: string;
  const MINUTE = 60_000;

  const staff = (loginId: string, extra: Record<string, unknown> = {}) =>
    createStaff(server.knex, {
      loginId,
      displayName: 'ログイン 確認',
      section: '住民課',
      password: 'Right-password-1',
      groups: ['counter'],
      mustChangePassword: false,
      ...extra,
    });
  const staffRow = async (loginId: string) =>
    (await server.knex('staff').where({ login_id: loginId }).first('id', 'locked_at', 'failed_logins')) as {
      id: number;
      locked_at: unknown;
      failed_logins: number;
    };
  const audits = async (action: string) =>
    (await server.knex('audit_trail').where({ action }).orderBy('seq').select('staff_login', 'client_address', 'result', 'detail')) as {
      staff_login: string | null;
      client_address: string | null;
      result: string;
      detail: string | null;
    }[];
  /** The login page without what legitimately differs between two answers (the echoed id, the token). */
  const comparable = (html: string) => html.replace(/name="_csrf" value="[^"]*"/, '').replace(/name="loginId"[^>]*>/, '');
  const apiStatus = async (s: LoggedIn) => (await getAs(`${url}api/v1/linkage/runs`, s)).status;

  before(async () => {
    server = await startTestServer();
    url = server.url;
  });
  after(async () => {
    loginProbe.onVerify = undefined;
    await server.close();
  });

  describe('1. the same work for unknown and known ids', () => {
    it('runs exactly one password hash for every id (the dummy hash for an unknown one) and answers the same', async () => {
      await staff('known');
      await staff('disabled1');
      await server.knex('staff').where({ login_id: 'disabled1' }).update({ disabled: true });
      await staff('expired1', { validTo: '2020-03-31' });
      const seen: string[] = [];
      loginProbe.onVerify = (kind) => seen.push(kind);
      const from = '127.0.1.1';
      const answers: Record<string, { status: number; body: string }> = {};
      try {
        for (const loginId of ['no-such-id', 'known', 'disabled1', 'expired1']) {
          seen.length = 0;
          const r = await postLogin(url, { loginId, password: 'Wrong-password-9' }, { from });
          answers[loginId] = { status: r.status, body: await r.text() };
          // One scrypt per attempt, whatever the id: the dummy for the unknown id, the stored hash otherwise.
          expect(seen, loginId).to.deep.equal([loginId === 'no-such-id' ? 'dummy' : 'account']);
        }
      } finally {
        loginProbe.onVerify = undefined;
      }
      for (const [loginId, a] of Object.entries(answers)) {
        expect(a.status, loginId).to.equal(401);
        expect(a.body, loginId).to.contain(BAD_CREDENTIALS);
        expect(comparable(a.body), loginId).to.equal(comparable(answers['no-such-id']!.body));
      }
      // The dummy is a real hash with the parameters of every stored one, made once.
      const dummy = await dummyPasswordHash();
      expect(dummy.split('$').slice(0, 4)).to.deep.equal((await hashPassword('x')).split('$').slice(0, 4));
      expect(await dummyPasswordHash()).to.equal(dummy);
      // All four are recorded for the throttle the same way (the unknown one without a staff id).
      const rows = (await server.knex('login_failures').where({ client_address: from }).orderBy('id').select('login_id', 'staff_id')) as {
        login_id: string;
        staff_id: number | null;
      }[];
      expect(rows.map((r) => r.login_id)).to.deep.equal(['no-such-id', 'known', 'disabled1', 'expired1']);
      expect(rows[0]!.staff_id).to.equal(null);
    });

    it('tells a disabled or expired account why only with the right password', async () => {
      const disabled = await postLogin(url, { loginId: 'disabled1', password: 'Right-password-1' }, { from: '127.0.1.2' });
      expect(disabled.status).to.equal(401);
      expect(await disabled.text()).to.contain('無効');
      expect(await (await postLogin(url, { loginId: 'expired1', password: 'Right-password-1' }, { from: '127.0.1.2' })).text()).to.contain(
        '有効期間外',
      );
      // Neither counts as a failure of the address.
      expect(await server.knex('login_failures').where({ client_address: '127.0.1.2' }).first()).to.equal(undefined);
    });
  });

  describe('2. throttling per client address and per account', () => {
    it('slows a single address first: 429 with Retry-After, whatever id it tries next, and the account stays usable', async () => {
      await staff('victim');
      const { maxFailures, windowMinutes } = server.config.auth.lockout.address;
      const from = '127.0.2.1';
      for (let i = 0; i < maxFailures; i++) {
        const r = await postLogin(url, { loginId: i % 2 ? 'victim' : `guess${i}`, password: 'Wrong-password-9' }, { from });
        expect(r.status, `failure ${i + 1}`).to.equal(401);
      }
      const seen: string[] = [];
      loginProbe.onVerify = (kind) => seen.push(kind);
      try {
        // Even the right password is refused now, and nothing is checked: no hash, no oracle.
        const refused = await postLogin(url, { loginId: 'victim', password: 'Right-password-1' }, { from });
        expect(refused.status).to.equal(429);
        const retryAfter = Number(refused.headers.get('retry-after'));
        // Until the oldest of the failures leaves the window: about the whole window now.
        expect(retryAfter).to.be.within(windowMinutes * 60 - 120, windowMinutes * 60);
        expect(await refused.text()).to.contain('ログインの試行が多すぎます');
      } finally {
        loginProbe.onVerify = undefined;
      }
      expect(seen).to.deep.equal([]);
      // The account is neither locked nor slowed for its owner at another address.
      expect((await staffRow('victim')).locked_at).to.equal(null);
      expect((await postLogin(url, { loginId: 'victim', password: 'Right-password-1' }, { from: '127.0.2.2' })).status).to.equal(303);
      const denied = await audits('auth.loginThrottled');
      expect(denied.length).to.be.at.least(1);
      expect(denied.at(-1)!.result).to.equal('denied');
      expect(denied.at(-1)!.client_address).to.equal(from);
      expect(JSON.parse(denied.at(-1)!.detail!)).to.include({ reason: 'tooManyFailuresFromAddress', failures: maxFailures });
      // Once its failures leave the window, the address may try again.
      await server
        .knex('login_failures')
        .where({ client_address: from })
        .update({ failed_at: new Date(Date.now() - (windowMinutes + 1) * MINUTE) });
      expect((await postLogin(url, { loginId: 'victim', password: 'Right-password-1' }, { from })).status).to.equal(303);
    });

    it('never lets one address lock someone else’s account, however long it keeps trying', async () => {
      await staff('target');
      const { address, account } = server.config.auth.lockout;
      const from = '127.0.2.3';
      // Round after round of the most one address may do, each round aged out of the address
      // window but kept inside the account window, until the account's failure count is reached.
      let failures = 0;
      while (failures < account.maxFailures + address.maxFailures) {
        for (const r of await failLogins(url, 'target', address.maxFailures, [from])) expect(r.status).to.equal(401);
        failures += address.maxFailures;
        await server
          .knex('login_failures')
          .where({ client_address: from })
          .update({ failed_at: new Date(Date.now() - (address.windowMinutes + 1) * MINUTE) });
      }
      expect(failures).to.be.at.least(account.maxFailures);
      expect((await staffRow('target')).locked_at).to.equal(null);
      expect((await postLogin(url, { loginId: 'target', password: 'Right-password-1' }, { from: '127.0.2.4' })).status).to.equal(303);
    });

    it('locks an account only after many failures from varied addresses; the lock ends its sessions and is audited', async () => {
      await staff('spray');
      const { maxFailures, minAddresses } = server.config.auth.lockout.account;
      const running = await loginWith(url, server.knex, 'spray', 'Right-password-1');
      expect(await apiStatus(running)).to.equal(200);
      const addresses = Array.from({ length: minAddresses }, (_, i) => `127.0.2.${10 + i}`);
      const before = await failLogins(url, 'spray', maxFailures - 1, addresses);
      expect((await staffRow('spray')).locked_at).to.equal(null);
      expect(await apiStatus(running)).to.equal(200);
      const [last] = await failLogins(url, 'spray', 1, addresses.slice(0, 1));
      // The failure that locks gets the generic answer too: no oracle even then.
      for (const r of [...before, last!]) {
        expect(r.status).to.equal(401);
        expect(await r.text()).to.contain(BAD_CREDENTIALS);
      }
      const row = await staffRow('spray');
      expect(row.locked_at).to.not.equal(null);
      expect(await apiStatus(running)).to.equal(401);
      expect(await server.knex('staff_sessions').where({ staff_id: row.id }).first()).to.equal(undefined);
      const lock = (await audits('auth.lock')).find((a) => a.staff_login === 'spray')!;
      expect(lock.result).to.equal('success');
      expect(JSON.parse(lock.detail!)).to.include({ failures: maxFailures, addresses: minAddresses, sessionsEnded: 1 });
      const right = await postLogin(url, { loginId: 'spray', password: 'Right-password-1' }, { from: '127.0.2.20' });
      expect(right.status).to.equal(401);
      expect(await right.text()).to.contain('ロックされています');
      // An unlock starts the count again: the old failures no longer count towards a lock.
      const admin = await server.login(['admin']);
      expect((await postForm(`${url}admin/staff/${row.id}/unlock`, admin, {})).status).to.equal(303);
      await failLogins(url, 'spray', 1, ['127.0.2.21']);
      expect((await staffRow('spray')).locked_at).to.equal(null);
      expect((await postLogin(url, { loginId: 'spray', password: 'Right-password-1' }, { from: '127.0.2.22' })).status).to.equal(303);
      expect((await verifyAudit(server.knex)).ok).to.equal(true);
    });
  });

  describe('3. a lock or a password change ends the staff member’s sessions', () => {
    it('a password change ends every other session and renews the one it was made in', async () => {
      await staff('changer');
      const here = await loginWith(url, server.knex, 'changer', 'Right-password-1');
      const elsewhere = await loginWith(url, server.knex, 'changer', 'Right-password-1', 'shimin-2');
      const changed = await postForm(`${url}password`, here, {
        current: 'Right-password-1',
        next: 'Changed-pass-22',
        confirm: 'Changed-pass-22',
      });
      expect(changed.status).to.equal(303);
      expect(await apiStatus(elsewhere)).to.equal(401);
      expect(await apiStatus(here)).to.equal(401);
      const renewed = await renewedSession(changed, server.knex, here);
      expect(renewed.cookie).to.not.equal(here.cookie);
      expect(renewed.csrf).to.not.equal(here.csrf);
      expect(await apiStatus(renewed)).to.equal(200);
      expect(await server.knex('staff_sessions').where({ staff_id: here.staffId }).count({ n: '*' }).first()).to.deep.equal({ n: 1 });
      const audited = (await audits('staff.passwordChange')).filter((a) => a.result === 'success').at(-1)!;
      expect(JSON.parse(audited.detail!)).to.deep.equal({ sessionsEnded: 1, sessionRenewed: true });
    });

    it('an administrator’s password reset or disabling ends every session', async () => {
      await staff('reset1');
      await staff('disable1');
      const admin = await server.login(['admin']);
      const [r1, r2] = [
        await loginWith(url, server.knex, 'reset1', 'Right-password-1'),
        await loginWith(url, server.knex, 'reset1', 'Right-password-1'),
      ];
      const reset = await postForm(`${url}admin/staff/${r1.staffId}/reset-password`, admin, {});
      expect(reset.status).to.equal(200);
      expect([await apiStatus(r1), await apiStatus(r2)]).to.deep.equal([401, 401]);

      const d = await loginWith(url, server.knex, 'disable1', 'Right-password-1');
      const disabled = await postForm(`${url}admin/staff/${d.staffId}`, admin, {
        displayName: 'ログイン 確認',
        section: '住民課',
        groups: ['counter'],
        disabled: '1',
      });
      expect(disabled.status).to.equal(303);
      expect(await apiStatus(d)).to.equal(401);
      expect(await server.knex('staff_sessions').where({ staff_id: d.staffId }).first()).to.equal(undefined);
    });
  });

  describe('4. an absolute session lifetime beside the idle timeout', () => {
    it('ends a busy session auth.sessionMaxHours after its login', async () => {
      const hours = server.config.auth.sessionMaxHours;
      expect(hours).to.equal(12);
      const s = await server.login(['counter']);
      const age = async (ms: number) =>
        server
          .knex('staff_sessions')
          .where({ staff_id: s.staffId })
          .update({ created_at: new Date(Date.now() - ms), last_seen_at: new Date() });
      await age(hours * 3_600_000 - 5 * MINUTE);
      expect(await apiStatus(s)).to.equal(200);
      await age(hours * 3_600_000 + MINUTE);
      expect(await apiStatus(s)).to.equal(401);
      expect(await server.knex('staff_sessions').where({ staff_id: s.staffId }).first()).to.equal(undefined);
    });
  });

  describe('5. a CSRF token on the login form', () => {
    it('sets an HttpOnly, SameSite=Strict cookie with the form’s hidden token, and logs in with both', async () => {
      const res = await fetch(`${url}login`);
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith('madoguchi_login_csrf='))!;
      expect(cookie).to.match(/httponly/i);
      expect(cookie).to.match(/samesite=strict/i);
      const token = /name="_csrf" value="([^"]+)"/.exec(await res.text())![1]!;
      expect(cookie.split(';')[0]).to.equal(`madoguchi_login_csrf=${token}`);
      // Another browser gets another token; the same browser keeps its own (several tabs work).
      expect((await loginForm(url)).token).to.not.equal(token);
      const again = await fetch(`${url}login`, { headers: { cookie: `madoguchi_login_csrf=${token}` } });
      expect(await again.text()).to.contain(`value="${token}"`);
      await staff('csrfok');
      expect((await postLogin(url, { loginId: 'csrfok', password: 'Right-password-1' })).status).to.equal(303);
    });

    it('answers a missing or wrong token with the login page again (403, Japanese), checking nothing', async () => {
      await staff('csrfvictim');
      const { cookie, token } = await loginForm(url);
      const post = (headers: Record<string, string>, fields: Record<string, string>) =>
        requestFrom(`${url}login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
          body: new URLSearchParams({ loginId: 'csrfvictim', password: 'Right-password-1', ...fields }).toString(),
        });
      const seen: string[] = [];
      loginProbe.onVerify = (kind) => seen.push(kind);
      const cases: [string, Record<string, string>, Record<string, string>][] = [
        ['no token, no cookie', {}, {}],
        ['cookie but no token', { cookie }, {}],
        ['token but no cookie', {}, { _csrf: token }],
        ['wrong token', { cookie }, { _csrf: 'A'.repeat(43) }],
        ['another browser’s token', { cookie }, { _csrf: (await loginForm(url)).token }],
        ['a huge token', { cookie }, { _csrf: 'x'.repeat(5000) }],
        ['a non-ASCII token', { cookie }, { _csrf: '漢字'.repeat(20) }],
        ['a bad cookie', { cookie: 'madoguchi_login_csrf=%E0%A4%A' }, { _csrf: token }],
      ];
      try {
        for (const [what, headers, fields] of cases) {
          const r = await post(headers, fields);
          expect(r.status, what).to.equal(403);
          const body = await r.text();
          expect(body, what).to.contain('ログイン画面の有効期限が切れたか、別の画面から送られました');
          expect(body, what).to.contain('name="_csrf"');
          // A fresh token comes with the page, so the form shown works at once.
          expect(
            r.headers.getSetCookie().some((c) => c.startsWith('madoguchi_login_csrf=')),
            what,
          ).to.equal(true);
        }
      } finally {
        loginProbe.onVerify = undefined;
      }
      expect(seen).to.deep.equal([]);
      expect(
        await server.knex('staff_sessions').join('staff', 'staff.id', 'staff_sessions.staff_id').where({ login_id: 'csrfvictim' }).first(),
      ).to.equal(undefined);
      const refusals = (await audits('auth.loginFailure')).filter((a) => a.result === 'denied' && a.staff_login === 'csrfvictim');
      expect(refusals).to.have.length(cases.length);
      expect(JSON.parse(refusals[0]!.detail!)).to.deep.equal({ reason: 'csrf' });
      // The right token still works.
      expect((await post({ cookie }, { _csrf: token, counterId: 'shimin-1' })).status).to.equal(303);
    });
  });
});
