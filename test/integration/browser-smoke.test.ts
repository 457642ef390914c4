import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { randomPassword } from '../../server/src/auth/passwords.js';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { derivedKeys } from '../../server/src/linkage/forward/keys.js';
import { addSubject, openVisit } from '../../server/src/visits/visits.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { launchBrowser, loginInBrowser, newStaffPage, screenshot, unnamedControls } from '../helpers/browser.js';
import { configDir, tempDir } from '../helpers/paths.js';

/** The staff screens in a real Chromium: keyboard login, role choice, home page. */
describe('browser smoke: login, role choice and home page in Chromium', function () {
  this.timeout(60_000);
  const t = tempDir();
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const loginId = 'browser-smoke';
  const password = randomPassword();
  let staffId: number;

  before(async () => {
    server = await startServer({ configDir, dataDir: t.dir, port: 0, host: '127.0.0.1', watch: false });
    staffId = await createStaff(server.knex, {
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

  it('keeps the header on one line at 1280 px for the role with the most links, and draws a focus ring of at least 3:1', async () => {
    const adminPassword = randomPassword();
    await createStaff(server.knex, {
      loginId: 'smoke-kanri',
      displayName: '管理 一郎',
      section: '情報政策課',
      password: adminPassword,
      groups: ['admin'],
      mustChangePassword: false,
    });
    const admin = await newStaffPage(browser, server.url);
    await admin.setViewportSize({ width: 1280, height: 800 });
    await loginInBrowser(admin, server.url, 'smoke-kanri', adminPassword);
    // The administrator's home offers their own screens, not an empty card.
    expect(await admin.locator('.card.actions a', { hasText: '職員管理' }).count()).to.equal(1);
    await admin.goto('/admin/staff');
    const header = await admin.locator('header.top').boundingBox();
    const brand = await admin.locator('header.top a.brand').boundingBox();
    const logout = await admin.locator('header.top form[action="/logout"] button').boundingBox();
    expect(header!.height, 'header height').to.be.below(60);
    expect(Math.abs(logout!.y - brand!.y), 'the last item on the brand line').to.be.below(20);
    expect(await admin.evaluate('document.documentElement.scrollWidth <= document.documentElement.clientWidth')).to.equal(true);
    // Focus by keyboard: the ring's colour against the white page.
    await admin.keyboard.press('Tab');
    const ring = (await admin.evaluate('getComputedStyle(document.activeElement).outlineColor')) as string;
    const [r, g, b] = ring.match(/\d+/g)!.map(Number) as [number, number, number];
    const lum = (c: number) => {
      const x = c / 255;
      return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
    };
    const l = 0.2126 * lum(r) + 0.7152 * lum(g) + 0.0722 * lum(b);
    expect((1.05 / (l + 0.05)).toFixed(2), `focus ring ${ring} on white`).to.satisfy((x: string) => Number(x) >= 3);
    await screenshot(admin, 'admin-staff');
    for (const screen of [
      '/',
      '/admin/staff',
      '/admin/staff/new',
      '/admin/groups',
      '/admin/bulletins',
      '/admin/clients',
      '/admin/audit',
      '/admin/procedures',
      '/admin/operations',
      '/linkage',
      '/stats/visits',
      '/rpa/jobs',
    ]) {
      const res = await admin.goto(screen);
      if (res?.status() !== 200) continue; // not this role's screen
      expect(await unnamedControls(admin), `controls of ${screen} without an accessible name`).to.deep.equal([]);
      // The page starts on a control, not on nothing (a page with no control of its own, like the
      // procedure settings, has nothing to start on).
      expect(
        await admin.evaluate(
          "document.activeElement !== document.body || !document.querySelector('main a[href], main input, main select, main button, main textarea')",
        ),
        `focus on ${screen}`,
      ).to.equal(true);
    }
    await admin.context().close();
  });

  it('opens exactly one visit with Alt+N, from the home page and from another staff page', async () => {
    const before = Number(((await server.knex('visits').count({ n: '*' }).first()) as { n: number }).n);
    await page.goto('/');
    await Promise.all([page.waitForURL(/\/visits\/\d+$/), page.keyboard.press('Alt+n')]);
    await page.goto('/worklist');
    await Promise.all([page.waitForURL(/\/visits\/\d+$/), page.keyboard.press('Alt+n')]);
    await page.waitForLoadState('load');
    await new Promise((r) => setTimeout(r, 300));
    const after = Number(((await server.knex('visits').count({ n: '*' }).first()) as { n: number }).n);
    expect(after - before).to.equal(2);
  });

  it("takes a certificate request on one line by keyboard: only the chosen type's options, Enter never submits, pricing keeps the lines, 受け付ける within 10 Tabs", async () => {
    const person = {
      addressee_no: '700000000001',
      household_no: 'HC1',
      resident_kind: '1',
      resident_status: '1',
      name: '証明 花子',
      name_kana: 'ショウメイ ハナコ',
      sex: '2',
      birth_date: '1980-01-01',
      relationship_code1: '02',
      relationship_label: '世帯主',
      change_reason_code: '01',
      town_name: '本町',
      block_number: '1-1',
    };
    await server.knex('residents').insert({ ...person, ...derivedKeys.residents!(person) });
    const visit = await openVisit(server.knex, staffId, 'shomei-3', { staffLogin: loginId });
    await addSubject(server.knex, visit.id, staffId, { addresseeNo: person.addressee_no }, { staffLogin: loginId });
    await page.goto(`/visits/${visit.id}/certificates`);
    expect(await page.locator('fieldset.cert-line').count()).to.equal(1);
    // The type has the focus; no option shows before a type is chosen.
    expect(await page.locator('select[name="l0_type"]:focus').count()).to.equal(1);
    expect(await page.locator('.cert-option:visible').count()).to.equal(0);
    await page.selectOption('select[name="l0_type"]', 'residentCopy');
    expect(await page.locator('select[name="l0_scope"]').isVisible()).to.equal(true);
    expect(await page.locator('input[name="l0_year"]').isVisible()).to.equal(false);
    // Enter in the copies field moves on instead of submitting.
    await page.fill('input[name="l0_copies"]', '2');
    await page.focus('input[name="l0_copies"]');
    await page.keyboard.press('Enter');
    expect(new URL(page.url()).pathname).to.equal(`/visits/${visit.id}/certificates`);
    expect(await page.locator('#priced').count()).to.equal(0);
    // From the type to 受け付ける: at most 10 Tabs.
    await page.focus('select[name="l0_type"]');
    let tabs = 0;
    while (!(await page.locator('#save-certificates:focus').count()) && tabs < 30) {
      await page.keyboard.press('Tab');
      tabs++;
    }
    expect(tabs, 'Tabs from the type to 受け付ける').to.be.at.most(10);
    // 行を追加 keeps the first line; 金額を確認 prices and keeps every line as typed.
    await Promise.all([page.waitForEvent('load'), page.click('#add-line')]);
    expect(await page.locator('fieldset.cert-line').count()).to.equal(2);
    expect(await page.locator('select[name="l0_type"]').inputValue()).to.equal('residentCopy');
    await page.selectOption('select[name="l1_type"]', 'sealCertificate');
    await Promise.all([page.waitForEvent('load'), page.click('#price')]);
    expect(await page.locator('#fee-total').textContent()).to.contain('900 円');
    expect(await page.locator('select[name="l0_type"]').inputValue()).to.equal('residentCopy');
    expect(await page.locator('input[name="l0_copies"]').inputValue()).to.equal('2');
    expect(await page.locator('select[name="l1_type"]').inputValue()).to.equal('sealCertificate');
    await screenshot(page, 'certificates');
  });
});
