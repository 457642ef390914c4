import { expect } from 'chai';
import jsqr from 'jsqr';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { randomPassword } from '../../server/src/auth/passwords.js';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { formatWareki } from '../../server/src/domain/wareki.js';
import { PRE_ENTRY_STATIC_FILES } from '../../server/src/http/views/preEntry.js';
import { loadLanguages } from '../../server/src/i18n/languages.js';
import { launchBrowser, loginInBrowser, newStaffPage, screenshot, screenshotDir } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { configDir, tempDir } from '../helpers/paths.js';

/**
 * 事前入力 by QR code, end to end in Chromium: the resident fills the static page on a phone
 * (opened from a file, as published on a website, or served by the appliance), the page draws
 * its QR codes, each code is read back from a screenshot of the phone's screen with jsQR, and
 * the decoded texts are typed into the counter's scanner field with Enter after each code,
 * exactly as a USB 2D scanner in keyboard mode delivers them. The notice form must then hold
 * every value code point for code point, and save as such.
 */
/** jsQR is CommonJS: its function is the module, typed as the module's default. */
const jsQR = jsqr.default;
const codePoints = (s: string | null | undefined): number[] => [...(s ?? '')].map((c) => c.codePointAt(0)!);
const TAKA = '\u9AD9'; // 髙
const YOSHI = '\u{20BB7}'; // 𠮷
const KATSURA_IVS = '\u845B\u{E0100}'; // 葛 + IVS

interface Person {
  name: string;
  nameKana?: string;
  birthDate: string;
  sex: '1' | '2';
  relationship?: string;
}
const family: Person[] = [
  { name: `${TAKA}橋 良夫`, nameKana: 'タカハシ ヨシオ', birthDate: '1985-01-02', sex: '1', relationship: '世帯主' },
  { name: `${KATSURA_IVS}城 花子`, nameKana: 'カツラギ ハナコ', birthDate: '1987-03-04', sex: '2', relationship: '妻' },
  { name: `${YOSHI}田 一`, nameKana: 'ヨシダ ハジメ', birthDate: '2015-05-06', sex: '1', relationship: '子' },
];
const moveIn = {
  effectiveDate: '2026-04-01',
  previousAddress: '東京都千代田区千代田一丁目1番1号 パークハウス千代田1203号室',
  newAddress: 'みどり町本町三丁目5番12号 グリーンハイツ201号室',
};

/** The phone's screen as the resident sees it (the top of the page), for the manual. */
async function phoneScreenshot(page: Page, name: string): Promise<void> {
  if (process.env.MADOGUCHI_SCREENSHOTS === '0') return;
  mkdirSync(screenshotDir, { recursive: true });
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`) });
}

describe('pre-entry by QR code in Chromium: the phone page, its codes read back, the counter filling the forms', function () {
  this.timeout(90_000);
  const password = randomPassword();
  const published = tempDir();
  let server: TestServer;
  let browser: Browser;
  let phoneContext: BrowserContext;
  let staff: Page;
  let decoder: Page;
  let visitUrl = '';

  /**
   * Playwright does not route a page reached by a redirect (after a POST): while the pages do not
   * have the panel themselves, such a page is loaded again to get it.
   */
  const ensurePanel = async () => {
    if (!(await staff.locator('#pre-entry').count())) await staff.reload();
    await staff.locator('#pre-entry').waitFor();
  };

  /** A PNG (a screenshot) → RGBA pixels, decoded by Chromium (no PNG library needed). */
  const pixelsOf = async (png: Buffer) => {
    const r = (await decoder.evaluate(`(async (b64) => {
      const img = new Image();
      img.src = 'data:image/png;base64,' + b64;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      let s = '';
      for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
      return { width: canvas.width, height: canvas.height, rgba: btoa(s) };
    })(${JSON.stringify(png.toString('base64'))})`)) as { width: number; height: number; rgba: string };
    return { width: r.width, height: r.height, data: new Uint8ClampedArray(Buffer.from(r.rgba, 'base64')) };
  };

  /** Shows the codes on the phone and reads each one back from a screenshot of the screen, with jsQR. */
  const showAndReadCodes = async (phone: Page): Promise<string[]> => {
    await phone.locator('#show-codes').click();
    await phone.locator('#codes:not([hidden]) img.qr').first().waitFor();
    const images = phone.locator('img.qr');
    const n = await images.count();
    const texts: string[] = [];
    for (let i = 0; i < n; i++) {
      expect(await phone.locator('.codes figcaption').nth(i).textContent()).to.equal(`${i + 1}/${n}`);
      await images.nth(i).scrollIntoViewIfNeeded();
      const { width, height, data } = await pixelsOf(await images.nth(i).screenshot());
      const code = jsQR(data, width, height);
      expect(code, `QR code ${i + 1}/${n} read from the screenshot`).to.not.equal(null);
      texts.push(code!.data);
    }
    return texts;
  };

  /** Types each code into the scanner field as a keyboard-mode scanner does: the characters, then Enter. */
  const scanAtCounter = async (texts: readonly string[], review = true) => {
    await ensurePanel();
    await staff.keyboard.press('Alt+KeyQ');
    await staff.locator('#pre-entry-scan:focus').waitFor();
    for (const [i, text] of texts.entries()) {
      await staff.keyboard.type(text);
      await staff.keyboard.press('Enter');
      if (i < texts.length - 1) await staff.locator('#pre-entry-status', { hasText: `${i + 1}/${texts.length} 読み取りました` }).waitFor();
    }
    if (review) await staff.locator('#pre-entry-review:not([hidden])').waitFor();
  };

  const fillPerson = async (phone: Page, i: number, p: Person) => {
    await phone.locator(`[data-path="members.${i}.name"]`).fill(p.name);
    if (p.nameKana) await phone.locator(`[data-path="members.${i}.nameKana"]`).fill(p.nameKana);
    await phone.locator(`[data-path="members.${i}.birthDate"]`).fill(p.birthDate);
    await phone.locator(`[data-path="members.${i}.sex"][value="${p.sex}"]`).check();
    if (p.relationship) await phone.locator(`[data-path="members.${i}.relationship"]`).selectOption(p.relationship);
  };

  const value = (name: string) => staff.locator(`#notice-form [name="${name}"]`).inputValue();
  const expectMembers = async (people: readonly Person[]) => {
    for (const [i, p] of people.entries()) {
      expect(codePoints(await value(`m${i}_name`)), `m${i}_name`).to.deep.equal(codePoints(p.name));
      expect(codePoints(await value(`m${i}_kana`))).to.deep.equal(codePoints(p.nameKana ?? ''));
      expect(await value(`m${i}_birthDate`)).to.equal(formatWareki(p.birthDate));
      expect(await value(`m${i}_sex`)).to.equal(p.sex);
      expect(await value(`m${i}_relationship`)).to.equal(p.relationship ?? '');
      expect(await staff.locator(`#notice-form input[name="moving"][value="${i}"]`).isChecked()).to.equal(true);
    }
  };
  /** Saves the notice (一時保存) and reads back what the server stored. */
  const saveAndLoad = async () => {
    const noticeId = Number(/\/notices\/(\d+)$/.exec(staff.url())![1]);
    await Promise.all([staff.waitForURL(/\/notices\/\d+$/), staff.locator('#save-notice').click()]);
    await staff.locator('#notice-form').waitFor();
    expect(await staff.locator('#notice-errors').count(), 'the notice saves without errors').to.equal(0);
    const row = (await server.knex('notices').where({ id: noticeId }).first()) as { data: string; effective_date: string };
    const members = await server.knex('notice_members').where({ notice_id: noticeId }).orderBy('id');
    return { data: JSON.parse(row.data) as Record<string, string>, effectiveDate: row.effective_date, members };
  };
  const expectStored = (
    members: { name: string; name_kana: string | null; birth_date: string | null; sex: string | null }[],
    people: readonly Person[],
  ) => {
    expect(members.map((m) => codePoints(m.name))).to.deep.equal(people.map((p) => codePoints(p.name)));
    expect(members.map((m) => m.name_kana ?? '')).to.deep.equal(people.map((p) => p.nameKana ?? ''));
    expect(members.map((m) => [m.birth_date, m.sex])).to.deep.equal(people.map((p) => [p.birthDate, p.sex]));
  };

  before(async () => {
    server = await startTestServer();
    await createStaff(server.knex, {
      loginId: 'sogo',
      displayName: '総合 窓口',
      section: '住民課',
      password,
      groups: ['counter'],
      mustChangePassword: false,
    });
    // The page as the municipality publishes it: the files of /static/pre-entry/ in one folder.
    for (const [route, f] of Object.entries(PRE_ENTRY_STATIC_FILES))
      if (route.startsWith('/static/pre-entry/')) copyFileSync(f.file, path.join(published.dir, path.basename(route)));
    browser = await launchBrowser();
    phoneContext = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      locale: 'ja-JP',
      timezoneId: 'Asia/Tokyo',
    });
    staff = await newStaffPage(browser, server.url);
    decoder = await browser.newPage();
    expect(await loginInBrowser(staff, server.url, 'sogo', password, 'shimin-1')).to.equal('/');
    await staff.waitForFunction("document.activeElement && document.activeElement.id === 'new-visit'");
    await Promise.all([staff.waitForURL(/\/visits\/\d+$/), staff.keyboard.press('Enter')]);
    visitUrl = staff.url();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    published.remove();
  });

  it('転入 of 3 people: the published page (file://) → 3 QR codes → scanned in any order → the notice form filled exactly and saved', async () => {
    const phone = await phoneContext.newPage();
    const requests: string[] = [];
    phone.on('request', (r) => requests.push(r.url()));
    await phone.goto(pathToFileURL(path.join(published.dir, 'index.html')).href);
    expect(await phone.locator('h1').textContent()).to.equal('窓口の手続きの事前入力');
    await phone.locator('#privacy', { hasText: 'この端末の外へは送信されません' }).waitFor();
    await phone.locator('label[for="type-moveIn"]').click();
    await phone.locator('[data-path="effectiveDate"]').fill(moveIn.effectiveDate);
    await phone.locator('.wareki', { hasText: '令和8年4月1日' }).waitFor();
    await phone.locator('[data-path="previousAddress"]').fill(moveIn.previousAddress);
    await phone.locator('[data-path="newAddress"]').fill(moveIn.newAddress);
    for (const [i, p] of family.entries()) {
      if (i > 0) await phone.getByRole('button', { name: '人を追加' }).click();
      await fillPerson(phone, i, p);
    }
    // A missing field is shown beside it, and no code is made.
    await phone.locator('[data-path="members.2.birthDate"]').fill('');
    await phone.locator('#show-codes').click();
    await phone.locator('#error-summary', { hasText: '入力を確かめてください (1 件)' }).waitFor();
    expect(await phone.locator('[data-error-for="members.2.birthDate"]').textContent()).to.equal('入力してください');
    expect(await phone.locator('[data-path="members.2.birthDate"]:focus').count(), 'the focus goes to the field').to.equal(1);
    await phone.locator('[data-path="members.2.birthDate"]').fill(family[2]!.birthDate);
    await phoneScreenshot(phone, 'pre-entry-phone');

    const codes = await showAndReadCodes(phone);
    expect(codes).to.have.length(3);
    for (const c of codes) expect(c).to.match(/^MDG1-[A-Z2-7]{6}-[1-3]-3-[0-9A-F]{8}-[A-Z2-7]+-[0-9A-F]{8}$/);
    await phoneScreenshot(phone, 'pre-entry-codes');
    expect(
      requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')),
      'nothing leaves the phone',
    ).to.deep.equal([]);
    await phone.close();

    await staff.goto(visitUrl);
    await staff.locator('#notice-type').selectOption('moveIn');
    await Promise.all([staff.waitForURL(/\/notices\/\d+$/), staff.locator('#create-notice').click()]);
    await scanAtCounter([codes[1]!, codes[2]!, codes[0]!]);
    expect(await staff.locator('#pre-entry-review').textContent()).to.include('転入届');
    expect(await staff.locator('.pre-entry-members tbody tr').count()).to.equal(3);
    // The clerk reads the list, then Enter in the (empty) scanner field fills the form.
    await staff.waitForTimeout(800);
    await staff.keyboard.press('Enter');
    await staff.locator('#pre-entry-status', { hasText: '事前入力の内容を入れました' }).waitFor();
    expect(await staff.locator('#effectiveDate:focus').count(), 'the focus goes to the first field to check').to.equal(1);
    expect(await value('effectiveDate')).to.equal('令和8年4月1日');
    expect(codePoints(await value('previousAddress'))).to.deep.equal(codePoints(moveIn.previousAddress));
    expect(codePoints(await value('newAddress'))).to.deep.equal(codePoints(moveIn.newAddress));
    await expectMembers(family);
    expect(await staff.locator('#notice-form input[name="head"][value="0"]').isChecked()).to.equal(true);
    await screenshot(staff, 'pre-entry-counter');

    const saved = await saveAndLoad();
    expect(saved.effectiveDate).to.equal(moveIn.effectiveDate);
    expect(codePoints(saved.data.previousAddress)).to.deep.equal(codePoints(moveIn.previousAddress));
    expect(codePoints(saved.data.newAddress)).to.deep.equal(codePoints(moveIn.newAddress));
    expectStored(saved.members, family);
    expect(saved.members.map((m) => [m.relationship, Boolean(m.head), Boolean(m.moving)])).to.deep.equal([
      ['世帯主', true, true],
      ['妻', false, true],
      ['子', false, true],
    ]);
  });

  it('転居 read on the visit page: 「転居届を作成して入れる」 creates the notice and fills it (a row added for the second person)', async () => {
    const people: Person[] = [
      { name: `${YOSHI}野 ${TAKA}子`, nameKana: 'ヨシノ タカコ', birthDate: '1960-12-31', sex: '2', relationship: '世帯主' },
      { name: `${YOSHI}野 ${KATSURA_IVS}`, nameKana: 'ヨシノ カツラ', birthDate: '1989-01-08', sex: '1', relationship: '子' },
    ];
    const phone = await phoneContext.newPage();
    await phone.goto(`${server.url}static/pre-entry/index.html`);
    await phone.locator('label[for="type-relocation"]').click();
    await phone.locator('[data-path="effectiveDate"]').fill('2026-03-20');
    await phone.locator('[data-path="previousAddress"]').fill('みどり町本町一丁目2番3号');
    await phone.locator('[data-path="newAddress"]').fill(`みどり町${YOSHI}野二丁目4番5号`);
    await fillPerson(phone, 0, people[0]!);
    await phone.getByRole('button', { name: '人を追加' }).click();
    await fillPerson(phone, 1, people[1]!);
    const codes = await showAndReadCodes(phone);
    await phone.close();

    await staff.goto(visitUrl);
    await scanAtCounter(codes);
    await Promise.all([
      staff.waitForURL(/\/notices\/\d+$/),
      staff.locator('#pre-entry-apply', { hasText: '転居届を作成して入れる' }).click(),
    ]);
    await ensurePanel();
    await staff.locator('#pre-entry-status', { hasText: '来庁記録の画面で読み取った事前入力の内容を入れました' }).waitFor();
    expect(await staff.locator('h1').textContent()).to.include('転居届');
    expect(await value('effectiveDate')).to.equal('令和8年3月20日');
    expect(codePoints(await value('newAddress'))).to.deep.equal(codePoints(`みどり町${YOSHI}野二丁目4番5号`));
    await expectMembers(people);
    // Read once: a reload does not fill again.
    expect(await staff.evaluate("sessionStorage.getItem('madoguchi.preEntry.pending')")).to.equal(null);
    const saved = await saveAndLoad();
    expect(saved.data.previousAddress).to.equal('みどり町本町一丁目2番3号');
    expectStored(saved.members, people);
  });

  it('転出 on its notice page, after a certificate code is refused there; 証明書の請求 fills the certificate lines', async () => {
    const phone = await phoneContext.newPage();
    await phone.goto(`${server.url}static/pre-entry/index.html`);
    await phone.locator('label[for="type-certificateRequest"]').click();
    await phone.locator('[data-path="requester.name"]').fill(`${TAKA}橋 良夫`);
    await phone.locator('[data-path="certificates.0.type"]').selectOption('residentCopy');
    await phone.locator('[data-path="certificates.0.copies"]').fill('2');
    await phone.locator('[data-path="certificates.0.purpose"]').selectOption('bank');
    await phone.getByRole('button', { name: '証明書を追加' }).click();
    await phone.locator('[data-path="certificates.1.type"]').selectOption('incomeTax');
    await phone.locator('[data-path="certificates.1.year"]').fill('2025');
    await phone.locator('[data-path="certificates.1.purpose"]').selectOption('employment');
    const certificateCodes = await showAndReadCodes(phone);
    await phone.getByRole('button', { name: '入力に戻る' }).click();

    await phone.locator('label[for="type-moveOut"]').click();
    await phone.locator('[data-path="effectiveDate"]').fill('2026-05-10');
    await phone.locator('[data-path="nextAddress"]').fill(`大阪府大阪市北区梅田${TAKA}町1-1`);
    const movers: Person[] = [
      { name: `${KATSURA_IVS}西 太郎`, birthDate: '1975-04-01', sex: '1', relationship: '世帯主' },
      { name: `${KATSURA_IVS}西 次郎`, birthDate: '2019-05-01', sex: '1', relationship: '子' },
    ];
    await fillPerson(phone, 0, movers[0]!);
    await phone.getByRole('button', { name: '人を追加' }).click();
    await fillPerson(phone, 1, movers[1]!);
    const moveOutCodes = await showAndReadCodes(phone);
    await phone.close();

    await staff.goto(visitUrl);
    await staff.locator('#notice-type').selectOption('moveOut');
    await Promise.all([staff.waitForURL(/\/notices\/\d+$/), staff.locator('#create-notice').click()]);
    await scanAtCounter(certificateCodes, false);
    await staff.locator('#pre-entry-error', { hasText: 'この QR コードは証明書の請求の事前入力です' }).waitFor();
    await scanAtCounter(moveOutCodes);
    await staff.locator('#pre-entry-apply').click();
    expect(await value('effectiveDate')).to.equal('令和8年5月10日');
    expect(codePoints(await value('nextAddress'))).to.deep.equal(codePoints(`大阪府大阪市北区梅田${TAKA}町1-1`));
    await expectMembers(movers);
    const saved = await saveAndLoad();
    expect(saved.effectiveDate).to.equal('2026-05-10');
    expectStored(saved.members, movers);

    await staff.goto(`${visitUrl}/certificates`);
    await ensurePanel();
    // Read while the memo field had the focus: the code is taken out of the field, the form is not
    // sent, and the following codes go to the scanner field.
    await staff.locator('#certificate-form [name="memo"]').fill('');
    await staff.locator('#certificate-form [name="memo"]').focus();
    for (const text of certificateCodes) {
      await staff.keyboard.type(text);
      await staff.keyboard.press('Enter');
    }
    await staff.locator('#pre-entry-review:not([hidden])').waitFor();
    expect(await staff.locator('#certificate-form [name="memo"]').inputValue()).to.equal('');
    expect(new URL(staff.url()).pathname).to.match(/\/certificates$/);
    expect(await staff.locator('#priced').count(), 'the form was not sent').to.equal(0);
    await staff.locator('#pre-entry-apply').click();
    const form = staff.locator('#certificate-form');
    expect(await form.locator('[name="relation"]').inputValue()).to.equal('self');
    expect(await form.locator('[name="l0_type"]').inputValue()).to.equal('residentCopy');
    expect(await form.locator('[name="l0_copies"]').inputValue()).to.equal('2');
    expect(await form.locator('[name="l0_purpose"]').inputValue()).to.equal('bank');
    expect(await form.locator('[name="l1_type"]').inputValue()).to.equal('incomeTax');
    expect(await form.locator('[name="l1_copies"]').inputValue()).to.equal('1');
    expect(await form.locator('[name="l1_purpose"]').inputValue()).to.equal('employment');
    expect(await form.locator('[name="l1_year"]').inputValue()).to.equal('2025');
    expect(await form.locator('[name="l1_year"]').isVisible()).to.equal(true);
    expect(await staff.locator('.pre-entry-lines').textContent()).to.include('住民票の写し');
  });

  it('the page speaks the phone’s language (English, ?lang=), keeps the entry only when asked, and 「消去」 clears it', async () => {
    const english = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'en-US' });
    const page = await english.newPage();
    await page.goto(`${server.url}static/pre-entry/index.html`);
    expect(await page.locator('h1').textContent()).to.equal('Prepare your visit to the counter');
    expect(await page.locator('html').getAttribute('lang')).to.equal('en');
    const strings = (await page.evaluate('window.MadoguchiPreEntryPage.STRINGS')) as Record<string, Record<string, string>>;
    const ja = Object.keys(strings.ja!);
    expect(ja.every((k) => k.startsWith('preEntry.'))).to.equal(true);
    expect(
      Object.keys(strings.en!).filter((k) => !ja.includes(k)),
      'English keys without Japanese',
    ).to.deep.equal([]);
    await page.goto(`${server.url}static/pre-entry/index.html?lang=ja`);
    expect(await page.locator('h1').textContent()).to.equal('窓口の手続きの事前入力');
    await english.close();

    const phone = await phoneContext.newPage();
    await phone.goto(`${server.url}static/pre-entry/index.html`);
    await phone.locator('label[for="type-moveIn"]').click();
    await phone.locator('[data-path="members.0.name"]').fill(`${YOSHI}田 一`);
    await phone.reload();
    expect(await phone.locator('#type-moveIn').isChecked(), 'not kept unless asked').to.equal(false);
    await phone.locator('label[for="type-moveIn"]').click();
    await phone.locator('[data-path="members.0.name"]').fill(`${YOSHI}田 一`);
    await phone.locator('#remember').check();
    await phone.reload();
    expect(codePoints(await phone.locator('[data-path="members.0.name"]').inputValue())).to.deep.equal(codePoints(`${YOSHI}田 一`));
    phone.once('dialog', (d) => void d.accept());
    await phone.getByRole('button', { name: '消去' }).click();
    expect(await phone.locator('#type-moveIn').isChecked()).to.equal(false);
    expect(await phone.evaluate('localStorage.length')).to.equal(0);
    await phone.close();
  });

  it('the page speaks the languages of config/languages (strings.js): 한국어 and नेपाली from ?lang=, with the loader’s texts', async () => {
    const languages = loadLanguages(configDir);
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'ja-JP' });
    const page = await context.newPage();
    for (const code of ['ko', 'ne']) {
      const t = (key: string, params?: Record<string, string | number>) => languages.t(code, key, params);
      await page.goto(`${server.url}static/pre-entry/index.html?lang=${code}`);
      expect(await page.locator('h1').textContent(), code).to.equal(t('preEntry.title'));
      expect(await page.title()).to.equal(t('preEntry.title'));
      expect(await page.locator('html').getAttribute('lang')).to.equal(code);
      expect(await page.locator('#privacy').textContent()).to.equal(t('preEntry.privacy'));
      expect(await page.locator('label[for="type-moveIn"] .type-name').textContent()).to.equal(t('preEntry.type.moveIn'));
      // The language links: every language by its own name, in config's order, this one not a link.
      expect(await page.locator('#languages > *').allTextContents()).to.deep.equal(languages.codes.map((c) => languages.name(c)));
      expect(await page.locator('#languages .current').textContent()).to.equal(languages.name(code));
      expect(await page.locator('#languages a').count()).to.equal(languages.codes.length - 1);

      await page.locator('label[for="type-moveIn"]').click();
      expect(await page.locator('.person h3').first().textContent()).to.equal(t('preEntry.person', { n: 1 }));
      await page.getByRole('button', { name: t('preEntry.addPerson') }).waitFor();
      await page.locator('#show-codes').click();
      expect(await page.locator('[data-error-for="effectiveDate"]').textContent()).to.equal(t('preEntry.error.required'));
      const [before, after] = languages.lookup(code, 'preEntry.errorsSummary').text.split('{n}');
      const summary = (await page.locator('#error-summary').textContent())!;
      expect(summary.startsWith(before!) && summary.endsWith(after!), summary).to.equal(true);
    }
    await page.locator('#languages a[hreflang="en"]').click();
    await page.waitForURL(/\?lang=en$/);
    expect(await page.locator('h1').textContent()).to.equal(languages.t('en', 'preEntry.title'));
    await context.close();
  });
});
