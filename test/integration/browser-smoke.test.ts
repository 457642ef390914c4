import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { randomPassword } from '../../server/src/auth/passwords.js';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { launchBrowser, loginInBrowser, newStaffPage, screenshot } from '../helpers/browser.js';
import { configDir, tempDir } from '../helpers/paths.js';

/** The staff screens in a real Chromium: keyboard login, role choice, home page. */
describe('browser smoke: login, role choice and home page in Chromium', function () {
  this.timeout(30_000);
  const t = tempDir();
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const loginId = 'browser-smoke';
  const password = randomPassword();

  before(async () => {
    server = await startServer({ configDir, dataDir: t.dir, port: 0, host: '127.0.0.1', watch: false });
    await createStaff(server.knex, {
      loginId,
      displayName: '窓口 花子',
      section: '住民課',
      password,
      groups: ['counter', 'certificates'],
      mustChangePassword: false,
    });
    browser = await launchBrowser();
    page = await newStaffPage(browser, server.url);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    t.remove();
  });

  it('shows the login form in Japanese', async () => {
    const res = await page.goto('/login');
    expect(res?.status()).to.equal(200);
    expect(await page.locator('h1').textContent()).to.equal('ログイン');
    expect(await page.locator('select[name="counterId"] option').count()).to.equal(server.config.counters.length);
    // The login id field has the focus, so staff can start typing at once.
    expect(await page.locator('input[name="loginId"]:focus').count()).to.equal(1);
    await screenshot(page, 'login');
  });

  it('logs in by keyboard and lands on the role choice', async () => {
    const landed = await loginInBrowser(page, server.url, loginId, password, 'shomei-3');
    expect(landed).to.equal('/role');
    expect(await page.locator('h1').textContent()).to.equal('役割と窓口の選択');
    const roles = page.locator('input[name="groupCode"]');
    expect(await roles.count()).to.equal(2);
    // The first role is chosen and has the focus, so Enter accepts it.
    expect(await page.locator('input[name="groupCode"]:checked').getAttribute('value')).to.equal('counter');
    await page.locator('input[name="groupCode"][value="counter"]:focus').waitFor({ timeout: 5_000 });
    expect(await page.locator('select[name="counterId"]').inputValue()).to.equal('shomei-3');
  });

  it('accepts the default role with Enter and shows it in the header', async () => {
    const loaded = page.waitForEvent('load');
    await page.keyboard.press('Enter');
    await loaded;
    expect(new URL(page.url()).pathname).to.equal('/');
    expect((await page.locator('header .active-role').textContent())?.trim()).to.equal('総合窓口');
    expect((await page.locator('header .staff-name').textContent())?.trim()).to.equal('窓口 花子');
    expect(await page.locator('header .active-counter').textContent()).to.contain('証明窓口 3番');
    await screenshot(page, 'home');
    const session = (await server
      .knex('staff_sessions')
      .join('staff', 'staff.id', 'staff_sessions.staff_id')
      .where('staff.login_id', loginId)
      .first('staff_sessions.group_code', 'staff_sessions.counter_id')) as { group_code: string; counter_id: string } | undefined;
    expect(session).to.deep.equal({ group_code: 'counter', counter_id: 'shomei-3' });
  });
});
