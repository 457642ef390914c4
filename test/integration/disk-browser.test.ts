import { expect } from 'chai';
import { copyFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createDemoAccounts, type DemoAccount } from '../../server/src/demo/demoStaff.js';
import { recordUpsEvent } from '../../server/src/ops/power.js';
import { launchBrowser, loginInBrowser, newStaffPage, screenshot } from '../helpers/browser.js';
import { diskConfig, diskFixtures, until } from '../helpers/disks.js';
import { tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The disk warning in Chromium: the shipped demo administrator sees it on the dashboard and on
 * any other staff page, next to the power banner; a counter clerk sees only the power banner; it
 * goes at the next collection once the array is healthy again.
 */
describe('disk health banner in Chromium: administrators only, beside the power banner, gone when healthy', function () {
  this.timeout(45_000);
  const t = tempDir();
  const mdstat = path.join(t.dir, 'mdstat');
  let server: TestServer;
  let browser: Browser;
  let admin: Page;
  let clerk: Page;
  let accounts: DemoAccount[];
  const account = (id: string) => accounts.find((a) => a.loginId === id)!;

  before(async () => {
    copyFileSync(path.join(diskFixtures, 'mdstat-failed-member.txt'), mdstat);
    const configDir = diskConfig(t.dir, { intervalMinutes: 0.01, mdstat, smart: null, controller: null });
    server = await startTestServer({ configDir, dataSubdir: 'data' });
    accounts = await createDemoAccounts(server.knex);
    browser = await launchBrowser();
    [admin, clerk] = await Promise.all([newStaffPage(browser, server.url), newStaffPage(browser, server.url)]);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    t.remove();
  });

  it('shows the administrator the degraded array on the dashboard and on another staff page', async () => {
    await until('the first collection', () => server.running.disks.current().checkedAt !== null);
    expect(await loginInBrowser(admin, server.url, 'kanri', account('kanri').password)).to.equal('/');
    const banner = admin.locator('#disk-banner');
    expect(await banner.textContent()).to.contain('RAID md0 が縮退しています (ディスク 1 台が故障)。保守事業者に連絡してください');
    await admin.goto('/admin/operations');
    expect(await admin.locator('#ops-disks-state').getAttribute('data-state')).to.equal('degraded');
    expect(await admin.locator('#ops-disk-arrays tr[data-array="md0"]').textContent())
      .to.contain('縮退')
      .and.contain('sdb1 (故障)');
    await screenshot(admin, 'operations-disk-degraded');
    await admin.goto('/admin/staff');
    expect(await banner.count()).to.equal(1);
    // The banner's link leads to the disk section of the dashboard.
    await banner.locator('a').click();
    await admin.waitForURL(/\/admin\/operations#ops-disks$/);
  });

  it('shows a counter clerk the power banner but not the disk one; the administrator sees both', async () => {
    await recordUpsEvent(server.knex, 'ONBATT');
    try {
      expect(await loginInBrowser(clerk, server.url, 'madoka', account('madoka').password)).to.equal('/role');
      const loaded = clerk.waitForEvent('load');
      await clerk.keyboard.press('Enter');
      await loaded;
      // The power state is cached for a second: wait for it.
      await until('the power banner', async () => {
        await clerk.reload();
        return (await clerk.locator('#power-banner').count()) === 1;
      });
      expect(await clerk.locator('#disk-banner').count()).to.equal(0);
      await admin.goto('/');
      expect(await admin.locator('.staff-banner').evaluateAll((els) => els.map((e) => e.id))).to.deep.equal([
        'power-banner',
        'disk-banner',
      ]);
    } finally {
      await recordUpsEvent(server.knex, 'ONLINE');
    }
  });

  it('takes the banner away at the next collection once the array is healthy', async () => {
    copyFileSync(path.join(diskFixtures, 'mdstat-healthy.txt'), mdstat);
    await until('the banner to go', async () => {
      await admin.reload();
      return (await admin.locator('#disk-banner').count()) === 0;
    });
    await admin.goto('/admin/operations');
    expect(await admin.locator('#ops-disks-state').getAttribute('data-state')).to.equal('ok');
  });
});
