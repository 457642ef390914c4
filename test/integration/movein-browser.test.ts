import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { randomPassword } from '../../server/src/auth/passwords.js';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { addDays, todayInJapan } from '../../server/src/domain/dates.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { launchBrowser, loginInBrowser, newStaffPage, screenshot } from '../helpers/browser.js';
import { configDir, tempDir } from '../helpers/paths.js';

/** Years before the move date, same month and day: an age on the move date. */
const bornYearsBefore = (date: string, years: number): string => `${Number(date.slice(0, 4)) - years}${date.slice(4)}`;

/**
 * The no-writing counter's central case (issue 6 §7): a family of four moves in from another town.
 * Counts UI actions from opening the visit to every procedure handled: a click, a key press or
 * filling one field counts one (typed names come from the 転出証明書 the visitor brings).
 */
describe('move-in of a 4-person household in Chromium, with questions, derived procedures and a pause', function () {
  this.timeout(120_000);
  const t = tempDir();
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const password = randomPassword();
  let actions = 0;
  const act = async <T>(p: Promise<T>, n = 1): Promise<T> => {
    actions += n;
    return p;
  };
  /** Clicks a submit button and waits for the page the POST leads to (the URL may not change). */
  const submit = async (target: ReturnType<Page['locator']>, on: Page = page) => {
    actions += 1;
    const done = on.waitForEvent('framenavigated', { predicate: (f) => f === on.mainFrame() });
    await target.click();
    await done;
    await on.waitForLoadState('load');
  };

  before(async () => {
    server = await startServer({ configDir, dataDir: t.dir, port: 0, host: '127.0.0.1', watch: false });
    await createStaff(server.knex, {
      loginId: 'sogo',
      displayName: '総合 窓口',
      section: '住民課',
      password,
      groups: ['counter'],
      mustChangePassword: false,
    });
    await createStaff(server.knex, {
      loginId: 'hoken',
      displayName: '保険 年金',
      section: '保険年金課',
      password,
      groups: ['insurance'],
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

  it('takes the move-in, asks the questions, lists the procedures, and is resumed at the insurance counter', async () => {
    expect(await loginInBrowser(page, server.url, 'sogo', password, 'shimin-1')).to.equal('/');
    const moveDate = addDays(todayInJapan(), -3);
    await page.waitForFunction("document.activeElement && document.activeElement.id === 'new-visit'");
    await act(Promise.all([page.waitForURL(/\/visits\/\d+$/), page.keyboard.press('Enter')]));
    const visitUrl = page.url();

    await act(page.locator('#notice-type').selectOption('moveIn'));
    await act(Promise.all([page.waitForURL(/\/notices\/\d+$/), page.locator('#create-notice').click()]));
    await act(page.locator('#effectiveDate').fill(moveDate));
    await act(page.locator('#previousAddress').fill('東京都千代田区千代田1番1号'));
    await act(page.locator('#newAddress').fill('緑ケ丘二丁目3番地4'));
    const family = [
      { name: '転入 一郎', kana: 'テンニュウ イチロウ', birth: bornYearsBefore(moveDate, 40), sex: '1', rel: '世帯主' },
      { name: '転入 花子', kana: 'テンニュウ ハナコ', birth: bornYearsBefore(moveDate, 38), sex: '2', rel: '妻' },
      { name: '転入 陽太', kana: 'テンニュウ ヨウタ', birth: addDays(bornYearsBefore(moveDate, 8), -30), sex: '1', rel: '子' },
      { name: '転入 トメ', kana: 'テンニュウ トメ', birth: bornYearsBefore(moveDate, 70), sex: '2', rel: '母' },
    ];
    for (const [i, m] of family.entries()) {
      await act(page.locator(`input[name="m${i}_name"]`).fill(m.name));
      await act(page.locator(`input[name="m${i}_kana"]`).fill(m.kana));
      await act(page.locator(`input[name="m${i}_birthDate"]`).fill(m.birth));
      await act(page.locator(`select[name="m${i}_sex"]`).selectOption(m.sex));
      await act(page.locator(`input[name="m${i}_relationship"]`).fill(m.rel));
    }
    await act(page.locator('input[name="head"][value="0"]').check());
    await screenshot(page, 'notice');
    await submit(page.locator('#accept-notice'));

    // Questions: no employee insurance (→ 国保), 第1号 (→ 国民年金).
    await act(page.locator('select[name="q_employeeInsurance"]').selectOption('false'));
    const pension = page.locator('select[name="q_pensionCategory"]');
    const firstCategory = (await pension.locator('option').allTextContents()).find((o) => o.includes('1号'))!;
    await act(pension.selectOption({ label: firstCategory }));
    await submit(page.locator('#save-answers'));
    await screenshot(page, 'procedures');

    const list = page.locator('#procedure-list tbody tr');
    const ids = (await server.knex('visit_procedures').where({ removed: false }).pluck('procedure_id')) as string[];
    for (const id of ['nhiEnrol', 'pensionAddress', 'childAllowanceClaim', 'childMedical', 'schoolTransfer', 'careQualify'])
      expect(ids, id).to.include(id);
    expect(ids).to.not.include('lateElderlyEnrol');
    const rows = await list.count();
    expect(rows).to.equal(ids.length);

    // Each procedure: here → 受付済, elsewhere → 他課案内済.
    for (let i = 0; i < rows; i++) {
      const row = page.locator('#procedure-list tbody tr').nth(i);
      const here = (await row.getAttribute('class')) === 'here';
      await act(row.locator('select[name="status"]').selectOption(here ? 'accepted' : 'referred'));
      await submit(row.locator('button', { hasText: '更新' }));
    }
    const statuses = (await server.knex('visit_procedures').where({ removed: false }).pluck('status')) as string[];
    expect(statuses.every((s) => s === 'accepted' || s === 'referred')).to.equal(true);

    // Pause for the insurance counter.
    await act(Promise.all([page.waitForURL(`${server.url}`), page.locator('button', { hasText: '保留' }).click()]));
    console.log(`      UI actions for the 4-person move-in (open visit → every procedure handled → pause): ${actions}`);
    expect(actions).to.be.greaterThan(20);

    const other = await newStaffPage(browser, server.url);
    expect(await loginInBrowser(other, server.url, 'hoken', password, 'hoken-5')).to.equal('/');
    await other.locator('#active-visits a').first().click();
    await other.waitForURL(visitUrl);
    await Promise.all([other.waitForURL(visitUrl), other.locator('#resume').click()]);
    expect(await other.locator('#visit-status').textContent()).to.equal('対応中');
    const hereRows = await other.locator('#procedure-list tr.here').allTextContents();
    expect(hereRows.some((r) => r.includes('国民健康保険'))).to.equal(true);
    const visit = (await server.knex('visits').first('counter_id', 'status')) as { counter_id: string; status: string };
    expect(visit).to.deep.equal({ counter_id: 'hoken-5', status: 'open' });
  });
});
