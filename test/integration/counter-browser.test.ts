import path from 'node:path';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { randomPassword } from '../../server/src/auth/passwords.js';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { toWarekiParts } from '../../server/src/domain/wareki.js';
import { GaijiMap } from '../../server/src/linkage/forward/gaiji.js';
import { planIngest } from '../../server/src/linkage/forward/ingest.js';
import { applyFiles } from '../../server/src/linkage/forward/apply.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { MASKED_ADDRESS } from '../../server/src/residents/warnings.js';
import { launchBrowser, loginInBrowser, newStaffPage, screenshot } from '../helpers/browser.js';
import { configDir, tempDir } from '../helpers/paths.js';
import { makeTown } from '../helpers/town.js';

const ERA_LETTER: Record<string, string> = { 明治: 'M', 大正: 'T', 昭和: 'S', 平成: 'H', 令和: 'R' };

interface Person {
  addressee_no: string;
  name: string;
  name_kana: string;
  birth_date: string;
  town_name: string;
  block_number: string;
  household_no: string;
}

/** The visit flow as staff do it, in a real Chromium, keyboard first; screenshots for the manual. */
describe('counter screens in Chromium: visit, 和暦 search, person, household, protected address', function () {
  this.timeout(90_000);
  const t = tempDir();
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let subject: Person;
  let guarded: Person;
  const password = randomPassword();

  before(async () => {
    server = await startServer({ configDir, dataDir: t.dir, port: 0, host: '127.0.0.1', watch: false });
    const townDir = path.join(t.dir, 'town');
    await makeTown(townDir, 400, 'cp932', 'browser');
    const registry = LayoutRegistry.load(configDir);
    const results = await applyFiles(server.knex, registry, planIngest(townDir, registry), {
      gaiji: GaijiMap.load(path.join(townDir, 'gaiji-map.csv')),
    });
    expect(results.every((r) => r.outcome === 'applied')).to.equal(true);
    const today = new Date().toISOString().slice(0, 10);
    const measures = server
      .knex('support_measures')
      .whereIn('measure_code', ['1', '2'])
      .where('start_date', '<=', today)
      .andWhere((w) => w.whereNull('end_date').orWhere('end_date', '>=', today))
      .select('addressee_no');
    const householdsProtected = server.knex('residents').whereIn('addressee_no', measures).select('household_no');
    // A head of household with others in it, born on a calendar date, outside any protected household.
    const candidates = (await server
      .knex('residents')
      .where({ resident_status: '1', relationship_code1: '02', birth_date_unknown: false })
      .whereNotIn('household_no', householdsProtected)
      .whereIn(
        'household_no',
        server.knex('residents').where({ resident_status: '1' }).groupBy('household_no').havingRaw('count(*) >= 3').select('household_no'),
      )
      .whereNot('birth_date', 'like', '%-02-29')
      .orderBy('addressee_no')) as Person[];
    // Plain BMP kanji for the manual's screenshots (the test machine's font lacks 外字 and IVS glyphs).
    subject = candidates.find((p) => /^[\u4E00-\u9FFF\u3005\u3040-\u30FF\s\u3000]+$/u.test(p.name))!;
    guarded = (await server.knex('residents').whereIn('addressee_no', measures).where({ resident_status: '1' }).first()) as Person;
    expect(subject, 'a household head to search for').to.not.equal(undefined);
    expect(guarded, 'a generated support measure').to.not.equal(undefined);
    await createStaff(server.knex, {
      loginId: 'madoka',
      displayName: '窓口 まどか',
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

  it('logs in, chooses the role, opens a visit, searches by kana and 和暦 birth date, picks the person by keyboard', async () => {
    expect(await loginInBrowser(page, server.url, 'madoka', password, 'shimin-1')).to.equal('/role');
    // Autofocus lands on the checked role a moment after load; wait for it, then Enter.
    await page.waitForFunction("document.activeElement && document.activeElement.name === 'groupCode'");
    await Promise.all([page.waitForURL(`${server.url}`), page.keyboard.press('Enter')]);
    await screenshot(page, 'home');

    // Enter on the focused button opens a visit.
    await page.waitForFunction("document.activeElement && document.activeElement.id === 'new-visit'");
    await Promise.all([page.waitForURL(/\/visits\/\d+$/), page.keyboard.press('Enter')]);
    const visitUrl = page.url();
    expect(await page.locator('#visit-status').textContent()).to.equal('対応中');
    await Promise.all([page.waitForURL(/\/search\?visit=\d+$/), page.locator('#visit-search').press('Enter')]);

    const parts = toWarekiParts(subject.birth_date)!;
    const wareki = `${ERA_LETTER[parts.era]}${parts.year}.${parts.month}.${parts.day}`;
    const kanaPrefix = subject.name_kana.replace(/\s/g, '').slice(0, 2);
    expect(await page.locator('#q-kana').evaluate((el) => el === el.ownerDocument.activeElement)).to.equal(true);
    await page.keyboard.type(kanaPrefix);
    await page.keyboard.press('Tab'); // 氏名
    await page.keyboard.press('Tab'); // 元号キー
    await page.keyboard.press('Tab'); // 生年月日
    await page.keyboard.type(wareki);
    await Promise.all([page.waitForURL(/birthDate=/), page.keyboard.press('Enter')]);
    await screenshot(page, 'search');
    expect(await page.locator('#search-summary').textContent()).to.contain(`生年月日 ${parts.era}`);
    const rows = page.locator('table.results tbody tr');
    expect(await rows.count()).to.be.greaterThan(0);
    // The first result has the focus; ↓ moves through the list, Enter opens the one chosen.
    const links = await page.locator('a.result-link').allTextContents();
    const index = links.indexOf(subject.addressee_no);
    expect(index, 'the subject is among the results').to.be.greaterThan(-1);
    for (let i = 0; i < index; i++) await page.keyboard.press('ArrowDown');
    await Promise.all([page.waitForURL(new RegExp(`/residents/${subject.addressee_no}`)), page.keyboard.press('Enter')]);
    expect(await page.locator('h1').textContent()).to.contain(subject.name);
    const household = await page.locator('#household tbody tr').count();
    expect(household).to.be.greaterThan(2);
    expect(await page.locator('#household').textContent()).to.contain('世帯主');
    await screenshot(page, 'person');

    // Alt+A adds the person to the visit; the visit page lists them and takes the identity check.
    await Promise.all([page.waitForURL(visitUrl), page.locator('#add-subject').press('Enter')]);
    expect(await page.locator('#subjects').textContent()).to.contain(subject.addressee_no);
    expect(await page.locator('#visitor-name').inputValue()).to.equal(subject.name);
    await page.locator('#identity-document').selectOption('driversLicence');
    await Promise.all([page.waitForURL(visitUrl), page.locator('#save-identity').press('Enter')]);
    if (!(await page.locator('#identity-form').count())) throw new Error(await page.content());
    expect(await page.locator('#identity-form').textContent()).to.contain('確認済');
    await screenshot(page, 'visit');
    const audited = (await server
      .knex('audit_trail')
      .whereIn('action', ['visit.open', 'resident.search', 'resident.view', 'visit.subjectAdd', 'visit.identity'])
      .pluck('action')) as string[];
    expect(new Set(audited)).to.deep.equal(
      new Set(['visit.open', 'resident.search', 'resident.view', 'visit.subjectAdd', 'visit.identity']),
    );
  });

  it('shows a protected person with the warning first and the address nowhere in the HTML', async () => {
    await page.goto(`/residents/${guarded.addressee_no}`);
    const warning = page.locator('#warnings');
    expect(await warning.isVisible()).to.equal(true);
    expect(await warning.textContent()).to.contain('支援措置');
    expect(await page.locator('#person-address').textContent()).to.equal(MASKED_ADDRESS);
    const html = await page.content();
    const box = await warning.boundingBox();
    const person = await page.locator('#person').boundingBox();
    expect(box!.y).to.be.lessThan(person!.y);
    for (const secret of [`${guarded.town_name}${guarded.block_number}`, guarded.block_number]) expect(html).to.not.contain(secret);
    await screenshot(page, 'person-protected');

    // The search list masks it too.
    await page.goto(`/search?kana=${encodeURIComponent(guarded.name_kana.replace(/\s/g, ''))}`);
    const listHtml = await page.content();
    expect(listHtml).to.contain(MASKED_ADDRESS);
    expect(listHtml).to.not.contain(`${guarded.town_name}${guarded.block_number}`);
  });
});
