import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { randomPassword } from '../../server/src/auth/passwords.js';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { MASKED_ADDRESS } from '../../server/src/residents/warnings.js';
import { launchBrowser, loginInBrowser, newStaffPage, screenshot, screenshotDir } from '../helpers/browser.js';
import { makeHousehold } from '../helpers/factories.js';
import { postForm } from '../helpers/http.js';
import { loginWith, type LoggedIn } from '../helpers/login.js';
import { configDir, tempDir } from '../helpers/paths.js';

/**
 * The resident's side of the counter in Chromium, with two pages: the clerk's and the resident
 * screen (a tablet in its own browser context). The clerk pairs the screen with a code, sends a
 * 転居届; the resident confirms and signs with the pointer; the printed 届書 carries the signature
 * image and 「電子署名 (タッチパネル)」. A screen shows only its own counter's notice, nothing after
 * the clerk closes it, and a protected address only masked to anyone but the protected person.
 */
describe('resident screen in Chromium: pair, confirm and sign a 転居, print the signature', function () {
  this.timeout(120_000);
  const t = tempDir();
  const password = randomPassword();
  let server: RunningServer;
  let browser: Browser;
  let clerk: Page;
  let tablet: Page;
  let visitId: number;
  let noticeId: number;

  /** A 転居 of a household drafted over HTTP as the clerk (the browser part starts at the notice page). */
  const draftRelocation = async (as: LoggedIn, addresseeNo: string): Promise<{ visitId: number; noticeId: number }> => {
    const opened = await postForm(`${server.url}visits`, as, {});
    const v = Number(/\/visits\/(\d+)$/.exec(opened.headers.get('location') ?? '')![1]);
    await postForm(`${server.url}visits/${v}/subjects`, as, { addresseeNo });
    const created = await postForm(`${server.url}visits/${v}/notices`, as, { type: 'relocation' });
    const n = Number(/notices\/(\d+)$/.exec(created.headers.get('location') ?? '')![1]);
    return { visitId: v, noticeId: n };
  };

  before(async () => {
    server = await startServer({ configDir, dataDir: t.dir, port: 0, host: '127.0.0.1', watch: false });
    for (const [loginId, group] of [
      ['sogo', 'counter'],
      ['sogo2', 'counter'],
    ] as const)
      await createStaff(server.knex, {
        loginId,
        displayName: '総合 窓口',
        section: '住民課',
        password,
        groups: [group],
        mustChangePassword: false,
      });
    browser = await launchBrowser();
    clerk = await newStaffPage(browser, server.url);
    expect(await loginInBrowser(clerk, server.url, 'sogo', password, 'shimin-1')).to.equal('/');
    tablet = await (
      await browser.newContext({ baseURL: server.url, viewport: { width: 1180, height: 820 }, locale: 'ja-JP', hasTouch: true })
    ).newPage();
    const family = await makeHousehold(server.knex, [
      { name: '髙橋 𠮷男', name_kana: 'タカハシ ヨシオ', birth_date: '1985-01-02' },
      { name: '髙橋 花子', name_kana: 'タカハシ ハナコ', sex: '2', birth_date: '1987-03-04' },
    ]);
    const as = await loginWith(server.url, server.knex, 'sogo', password, 'shimin-1');
    ({ visitId, noticeId } = await draftRelocation(as, family.members[0]!.addressee_no));
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    t.remove();
  });

  it('pairs the screen with the code the clerk shows', async () => {
    await tablet.goto('/resident');
    await clerk.goto(`/visits/${visitId}/notices/${noticeId}`);
    await clerk.locator('#resident-state', { hasText: 'つながっていません' }).waitFor();
    await clerk.locator('#resident-pair').click();
    const code = /([0-9]{6})/.exec((await clerk.locator('#resident-code').textContent()) ?? '')![1]!;
    await tablet.locator('#pairing-code').fill('000000' === code ? '111111' : '000000');
    await Promise.all([tablet.waitForURL(/\/resident\?error=1$/), tablet.locator('#pairing-code').press('Enter')]);
    await tablet.locator('#pairing-code').fill(code);
    await Promise.all([tablet.waitForURL(/\/resident$/), tablet.locator('#pairing-code').press('Enter')]);
    await tablet.locator('#resident-waiting').waitFor();
    await clerk.locator('#resident-state', { hasText: 'つながっています (1 台)' }).waitFor();
  });

  it('shows the 転居 in large type with ふりがな; the resident confirms and signs; the 届書 prints the signature', async () => {
    await clerk.locator('#effectiveDate').fill('R8.12.1');
    await clerk.locator('#newAddress').fill('緑ケ丘二丁目3番地4');
    await Promise.all([clerk.waitForURL(/\/notices\/\d+$/), clerk.locator('#save-notice').click()]);
    await clerk.locator('#resident-send').click();
    await tablet.locator('#resident-title', { hasText: '転居届' }).waitFor();
    const shown = (await tablet.locator('#resident-confirm').textContent()) ?? '';
    expect(shown).to.include('髙橋 𠮷男').and.include('タカハシ ヨシオ').and.include('緑ケ丘二丁目3番地4').and.include('令和8年12月1日');
    await screenshot(tablet, 'resident-confirm-ja');
    await tablet.locator('#resident-confirm-button').click();
    await tablet.locator('#resident-sign').waitFor();
    await clerk.locator('#resident-state', { hasText: '確認済・署名待ち' }).waitFor();

    // Signing with nothing drawn is refused on the screen.
    await tablet.locator('#resident-sign-done').click();
    expect(await tablet.locator('#resident-sign-error').textContent()).to.include('署名を書いてから');
    const box = (await tablet.locator('#resident-signature').boundingBox())!;
    await tablet.mouse.move(box.x + 40, box.y + box.height * 0.6);
    await tablet.mouse.down();
    for (let i = 1; i <= 20; i++)
      await tablet.mouse.move(box.x + 40 + i * 15, box.y + box.height * (0.6 - 0.3 * Math.sin(i / 3)), { steps: 2 });
    await tablet.mouse.up();
    await tablet.locator('#resident-sign-done').click();
    await tablet.locator('#resident-thanks').waitFor();
    await clerk.locator('#resident-signature-state', { hasText: '電子署名 (タッチパネル)' }).waitFor();

    const row = (await server.knex('notice_signatures').where({ notice_id: noticeId }).first()) as {
      method: string;
      sha256: string;
      image: Buffer;
    };
    expect(row.method).to.equal('touch');
    const audit = JSON.stringify(await server.knex('audit_trail').where({ action: 'notice.sign' }).select('detail'));
    expect(audit).to.include(row.sha256);

    // The printed 届書: the signature image on page 2 and the words 電子署名 (タッチパネル).
    const pdf = await clerk.request.get(`/visits/${visitId}/notices/${noticeId}/form.pdf`);
    expect(pdf.status()).to.equal(200);
    const file = path.join(t.dir, 'todoke.pdf');
    writeFileSync(file, await pdf.body());
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    expect(text).to.include('電子署名 (タッチパネル)');
    const images = execFileSync('pdfimages', ['-list', file], { encoding: 'utf8' });
    expect(
      images.split('\n').filter((l) => /^\s+2\s/.test(l)),
      'an image on page 2',
    ).to.have.length.greaterThan(0);
    // The signed page as a picture for the manual.
    if (process.env.MADOGUCHI_SCREENSHOTS !== '0') {
      mkdirSync(screenshotDir, { recursive: true });
      execFileSync('pdftoppm', ['-f', '2', '-l', '2', '-r', '70', '-png', '-singlefile', file, path.join(screenshotDir, 'signed-todoke')]);
    }
  });

  it('shows the screen in the resident’s language (English, 中文), chosen by the clerk, and Japanese again afterwards', async () => {
    for (const [lang, title, button] of [
      ['en', 'Notification of a move within the town', 'I have checked the information'],
      ['zh-CN', '町内迁居申报', '我已确认内容'],
    ] as const) {
      await clerk.locator('#resident-lang').selectOption(lang);
      await clerk.locator('#resident-send').click();
      await tablet.locator('#resident-title', { hasText: title }).waitFor();
      expect(await tablet.locator('#resident-confirm-button').textContent()).to.equal(button);
      expect(await tablet.locator('html').getAttribute('lang')).to.equal(lang);
      expect(await tablet.locator('#resident-confirm').textContent()).to.include('髙橋 𠮷男');
      await screenshot(tablet, `resident-confirm-${lang}`);
    }
    await clerk.locator('#resident-close').click();
    await tablet.locator('#resident-waiting').waitFor();
    expect(await tablet.locator('#resident-waiting-text').innerHTML()).to.include('<ruby>');
    await clerk.locator('#resident-lang').selectOption('ja');
  });

  it('shows nothing once the clerk closes it, or pauses the visit, and never another counter’s notice', async () => {
    await clerk.locator('#resident-close').click();
    await tablet.locator('#resident-waiting').waitFor();
    expect(await tablet.locator('body').textContent()).not.to.include('髙橋');
    // Sent again, then the visit paused (the resident moves on to another section): the screen clears itself.
    await clerk.locator('#resident-send').click();
    await tablet.locator('#resident-title', { hasText: '転居届' }).waitFor();
    const as = await loginWith(server.url, server.knex, 'sogo', password, 'shimin-1');
    await postForm(`${server.url}visits/${visitId}/status`, as, { change: 'pause' });
    await tablet.locator('#resident-waiting').waitFor();
    expect(await tablet.locator('body').textContent()).not.to.include('髙橋');
    expect(await (await tablet.request.get('/resident/screen')).text()).not.to.include('髙橋');
    await postForm(`${server.url}visits/${visitId}/status`, as, { change: 'resume' });

    // A clerk at counter 2 sends a notice: counter 1's screen stays waiting.
    const other = await loginWith(server.url, server.knex, 'sogo2', password, 'shimin-2');
    const household = await makeHousehold(server.knex, [{ name: '別窓口 太郎', name_kana: 'ベツマドグチ タロウ' }]);
    const elsewhere = await draftRelocation(other, household.members[0]!.addressee_no);
    const sent = await fetch(`${server.url}visits/${elsewhere.visitId}/notices/${elsewhere.noticeId}/resident-screen`, {
      method: 'POST',
      headers: { cookie: other.cookie, 'x-csrf-token': other.csrf, 'content-type': 'application/json', accept: 'application/json' },
      body: '{}',
    });
    expect(sent.status, 'no screen is paired at counter 2').to.equal(409);
    await tablet.waitForTimeout(2000);
    expect(await tablet.locator('#resident-waiting').isVisible()).to.equal(true);
    expect(await tablet.locator('body').textContent()).not.to.include('別窓口');
  });

  it('masks a protected address on the screen when the person facing it is not the protected person', async () => {
    const protectedFamily = await makeHousehold(server.knex, [{ name: '支援 対象', name_kana: 'シエン タイショウ' }], {
      town_name: '秘匿町',
    });
    await server
      .knex('support_measures')
      .insert({ addressee_no: protectedFamily.members[0]!.addressee_no, measure_code: '1', start_date: '2020-01-01' });
    const as = await loginWith(server.url, server.knex, 'sogo', password, 'shimin-1');
    const p = await draftRelocation(as, protectedFamily.members[0]!.addressee_no);
    await clerk.goto(`/visits/${p.visitId}/notices/${p.noticeId}`);
    await clerk.locator('#effectiveDate').fill('R8.12.1');
    await clerk.locator('#previousAddress').fill('熊本県窓口郡まどぐち町秘匿町1番地');
    await clerk.locator('#newAddress').fill('緑ケ丘二丁目3番地4');
    await Promise.all([clerk.waitForURL(/\/notices\/\d+$/), clerk.locator('#save-notice').click()]);
    await clerk.locator('#resident-send').click();
    await tablet.locator('#resident-title', { hasText: '転居届' }).waitFor();
    const text = (await tablet.locator('body').textContent()) ?? '';
    expect(text).to.include('支援 対象').and.include(MASKED_ADDRESS);
    expect(text).not.to.include('秘匿町').and.not.to.include('緑ケ丘');
    const json = await (await tablet.request.get('/resident/screen')).text();
    expect(json).not.to.include('秘匿町').and.not.to.include('緑ケ丘');
    await clerk.locator('#resident-close').click();
  });
});
