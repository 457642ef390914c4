import { expect } from 'chai';
import type { Browser, Locator, Page } from 'playwright-core';
import { randomPassword } from '../../server/src/auth/passwords.js';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { addDays, todayInJapan } from '../../server/src/domain/dates.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { launchBrowser, loginInBrowser, newStaffPage, screenshot, unnamedControls } from '../helpers/browser.js';
import { configDir, tempDir } from '../helpers/paths.js';

/** Years before the move date, same month and day: an age on the move date. */
const bornYearsBefore = (date: string, years: number): string => `${Number(date.slice(0, 4)) - years}${date.slice(4)}`;

/**
 * The no-writing counter's central case: a family of four moves in from another town, typed from
 * the paper 転出証明書 they bring. Every UI action is counted as a newcomer would make it, from
 * opening the visit to the last counter: a click, a key press, filling one field or choosing in one
 * select counts one. The first counter takes the notice, checks identity, answers every question
 * shown, prints everything in one PDF, handles its own procedures and hands the others off; each
 * further counter opens the visit from its home list, resumes it, handles its procedures in the
 * panel at the top (no reload) and passes the visit on.
 */
describe('move-in of a 4-person household in Chromium, counted action by action across the counters', function () {
  this.timeout(180_000);
  const t = tempDir();
  let server: RunningServer;
  let browser: Browser;
  const password = randomPassword();
  let actions = 0;
  const act = async <T>(p: Promise<T>, n = 1): Promise<T> => {
    actions += n;
    return p;
  };
  /** Clicks a submit button and waits for the page the POST leads to (the URL may not change). */
  const submit = async (on: Page, target: Locator) => {
    actions += 1;
    const done = on.waitForEvent('framenavigated', { predicate: (f) => f === on.mainFrame() });
    await target.click();
    await done;
    await on.waitForLoadState('load');
  };
  const statusesOf = async (): Promise<Record<string, string>> =>
    Object.fromEntries(
      (
        (await server.knex('visit_procedures').where({ removed: false }).select('procedure_id', 'status')) as {
          procedure_id: string;
          status: string;
        }[]
      ).map((r) => [r.procedure_id, r.status]),
    );

  before(async () => {
    server = await startServer({ configDir, dataDir: t.dir, port: 0, host: '127.0.0.1', watch: false });
    for (const [loginId, displayName, section, group] of [
      ['sogo', '総合 窓口', '住民課', 'counter'],
      ['hoken', '保険 年金', '保険年金課', 'insurance'],
      ['kosodate', '子育て 支援', '子育て支援課', 'welfare'],
      ['kaigo', '高齢 介護', '高齢介護課', 'welfare'],
    ] as const)
      await createStaff(server.knex, { loginId, displayName, section, password, groups: [group], mustChangePassword: false });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    t.remove();
  });

  it('takes the move-in at the first counter in at most 40 actions and hands it on; at most 55 across all counters', async () => {
    const page = await newStaffPage(browser, server.url);
    expect(await loginInBrowser(page, server.url, 'sogo', password, 'shimin-1')).to.equal('/');
    const moveDate = addDays(todayInJapan(), -3);
    await page.waitForFunction("document.activeElement && document.activeElement.id === 'new-visit'");
    await act(Promise.all([page.waitForURL(/\/visits\/\d+$/), page.keyboard.press('Enter')]));
    const visitUrl = page.url();

    // The notice, typed from the paper 転出証明書 (the first person is the head by default).
    await act(page.locator('#notice-type').selectOption('moveIn'));
    await act(Promise.all([page.waitForURL(/\/notices\/\d+$/), page.locator('#create-notice').click()]));
    await act(page.locator('#effectiveDate').fill(moveDate));
    await act(page.locator('#previousAddress').fill('東京都千代田区千代田1番1号'));
    await act(page.locator('#newAddress').fill('緑ケ丘二丁目3番地4'));
    await act(page.locator('#certificateRef').fill('131016-0001'));
    await act(page.locator('#honseki').fill('東京都千代田区千代田1番'));
    await act(page.locator('#hittousha').fill('転入 一郎'));
    const family = [
      { name: '転入 一郎', kana: 'テンニュウ イチロウ', birth: bornYearsBefore(moveDate, 40), sex: '1', rel: '' },
      { name: '転入 花子', kana: 'テンニュウ ハナコ', birth: bornYearsBefore(moveDate, 38), sex: '2', rel: '妻' },
      { name: '転入 陽太', kana: 'テンニュウ ヨウタ', birth: addDays(bornYearsBefore(moveDate, 8), -30), sex: '1', rel: '子' },
      { name: '転入 トメ', kana: 'テンニュウ トメ', birth: bornYearsBefore(moveDate, 70), sex: '2', rel: '母' },
    ];
    expect(await page.locator('input[name="head"][value="0"]').isChecked()).to.equal(true);
    for (const [i, m] of family.entries()) {
      await act(page.locator(`input[name="m${i}_name"]`).fill(m.name));
      await act(page.locator(`input[name="m${i}_kana"]`).fill(m.kana));
      await act(page.locator(`input[name="m${i}_birthDate"]`).fill(m.birth));
      await act(page.locator(`select[name="m${i}_sex"]`).selectOption(m.sex));
      if (m.rel) await act(page.locator(`input[name="m${i}_relationship"]`).fill(m.rel));
    }
    expect(await unnamedControls(page), 'controls of the notice form without an accessible name').to.deep.equal([]);
    await screenshot(page, 'notice');
    await submit(page, page.locator('#accept-notice'));
    expect(page.url()).to.contain(visitUrl);

    // Identity: the form starts from the head of the notice; the document and the phone are added.
    expect(await page.locator('#visitor-name').inputValue()).to.equal('転入 一郎');
    await act(page.locator('#identity-document').selectOption('driversLicence'));
    await act(page.locator('input[name="visitorPhone"]').fill('090-1111-2222'));
    await submit(page, page.locator('#save-identity'));

    // Every question shown is answered: the checklist is ticked where it applies (印鑑登録), the
    // choice is chosen; unticked boxes are saved as いいえ.
    const shown = await page.locator('#questions .question-check').count();
    expect(shown, 'yes/no questions on the checklist').to.be.at.least(5);
    await act(page.locator('input[name="q_wantsSealRegistration"]').check());
    const pension = page.locator('select[name="q_pensionCategory"]');
    const firstCategory = (await pension.locator('option').allTextContents()).find((o) => o.includes('1号'))!;
    await act(pension.selectOption({ label: firstCategory }));
    await submit(page, page.locator('#save-answers'));
    const unanswered = (await server.knex('visit_answers').count({ n: '*' }).first()) as { n: number };
    expect(Number(unanswered.n)).to.equal(shown + 1);
    expect(await page.locator('#questions select:has(option[selected][value=""])').count(), 'questions left unanswered').to.equal(0);
    await screenshot(page, 'procedures');

    const ids = Object.keys(await statusesOf());
    for (const id of [
      'nhiEnrol',
      'pensionAddress',
      'childAllowanceClaim',
      'childMedical',
      'schoolTransfer',
      'careQualify',
      'sealRegistration',
    ])
      expect(ids, id).to.include(id);
    expect(ids).to.not.include('lateElderlyEnrol');

    // One print: the notice, every form and the guide in one PDF.
    const popup = page.waitForEvent('popup');
    await act(page.locator('#print-bundle').click());
    const pdf = await popup;
    await pdf.waitForLoadState('load').catch(() => undefined);
    await pdf.close();
    // The PDF was made and audited (the viewer's own page is not the document).
    let printed = false;
    for (let i = 0; i < 50 && !printed; i++) {
      const done = (await server.knex('audit_trail').where({ action: 'print.form' }).pluck('detail')) as string[];
      printed = done.some((d) => (JSON.parse(d) as { what?: string }).what === 'bundle');
      if (!printed) await new Promise((r) => setTimeout(r, 100));
    }
    expect(printed, 'the bundle was printed').to.equal(true);
    expect(Object.values(await statusesOf()).filter((s) => s === 'printed').length).to.be.at.least(4);

    // The panel at the top: this counter's procedures with their persons, one click each, no reload.
    await page.reload();
    const panel = page.locator('#counter-panel');
    expect(await panel.locator('#visit-persons').textContent())
      .to.contain('転入 一郎')
      .and.contain('転入 トメ');
    const seal = panel.locator('tr', { hasText: '印鑑登録' });
    expect(await seal.locator('td').nth(1).textContent())
      .to.contain('転入 一郎')
      .and.not.contain('転入 陽太');
    const here = await panel.locator('#here-procedures tbody tr').count();
    let navigations = 0;
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations++;
    });
    for (let i = 0; i < here; i++) {
      const row = panel.locator('#here-procedures tbody tr').nth(i);
      await act(row.locator('button', { hasText: '受付済' }).click());
      await row.locator('.proc-status', { hasText: '受付済' }).waitFor();
    }
    expect(navigations, 'one-click statuses reload nothing').to.equal(0);
    await submit(page, page.locator('#refer-elsewhere'));
    expect(await unnamedControls(page), 'controls of the visit page without an accessible name').to.deep.equal([]);
    await screenshot(page, 'counter-panel');
    const afterFirst = await statusesOf();
    expect(Object.values(afterFirst).every((s) => s === 'accepted' || s === 'referred')).to.equal(true);
    await act(Promise.all([page.waitForURL(`${server.url}`), page.locator('button', { hasText: '保留' }).click()]));
    const first = actions;
    console.log(`      UI actions, 4-person move-in at the first counter: ${first}`);
    expect(first).to.be.at.most(40);
    // The home list names the persons of a 転入 (it has no register subject).
    expect(await page.locator('#active-visits').textContent()).to.contain('転入 一郎');

    // The next counters: open from the home list, resume, handle this counter's procedures, pass on.
    for (const [loginId, counterId, expected] of [
      ['hoken', 'hoken-5', ['nhiEnrol']],
      ['kosodate', 'kosodate-7', ['childAllowanceClaim', 'childMedical']],
      ['kaigo', 'kaigo-8', ['careQualify']],
    ] as const) {
      const other = await newStaffPage(browser, server.url);
      expect(await loginInBrowser(other, server.url, loginId, password, counterId)).to.equal('/');
      expect(await other.locator('#active-visits').textContent()).to.contain('転入 一郎');
      // Taken over from the home list in one click: the visit opens resumed at this counter.
      await submit(other, other.locator('#active-visits .resume-here').first());
      expect(other.url()).to.equal(visitUrl);
      expect(await other.locator('#visit-status').textContent()).to.equal('対応中');
      const rows = other.locator('#counter-panel #here-procedures tbody tr');
      const names = await rows.locator('td:first-child').allTextContents();
      for (const id of expected) {
        const name = (await server.knex('visit_procedures').where({ procedure_id: id }).first('id')) as { id: number } | undefined;
        expect(name, id).to.not.equal(undefined);
      }
      expect(names.length, `${counterId}: its procedures in the panel`).to.be.at.least(expected.length);
      for (let i = 0; i < names.length; i++) {
        const row = rows.nth(i);
        await act(row.locator('button', { hasText: '受付済' }).click());
        await row.locator('.proc-status', { hasText: '受付済' }).waitFor();
      }
      await act(Promise.all([other.waitForURL(`${server.url}`), other.locator('button', { hasText: '保留' }).click()]));
      await other.context().close();
    }
    for (const id of ['nhiEnrol', 'childAllowanceClaim', 'childMedical', 'careQualify'])
      expect((await statusesOf())[id], id).to.equal('accepted');
    console.log(`      UI actions, 4-person move-in across all counters: ${actions}`);
    expect(actions).to.be.at.most(55);

    // Sections without a counter of their own have a work list that names the persons.
    const list = await newStaffPage(browser, server.url);
    await loginInBrowser(list, server.url, 'sogo', password, 'shimin-1');
    await list.goto('/worklist?section=' + encodeURIComponent('学校教育課') + '&status=accepted');
    expect(await list.locator('#section-worklist').textContent()).to.contain('転入 陽太');
    expect(await unnamedControls(list), 'controls of the work list without an accessible name').to.deep.equal([]);
    for (const screen of ['/', '/search', `${new URL(visitUrl).pathname}/certificates`, '/review', '/linkage']) {
      const res = await list.goto(screen);
      if (res?.status() !== 200) continue; // not this role's screen
      expect(await unnamedControls(list), `controls of ${screen} without an accessible name`).to.deep.equal([]);
    }
    await list.context().close();
  });
});
