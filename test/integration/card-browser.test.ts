import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { registerApiClient } from '../../server/src/auth/apiClients.js';
import { randomPassword } from '../../server/src/auth/passwords.js';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { CardHelper } from '../../rpa-agent/src/card/helper.js';
import { openReaders, type Readers } from '../../rpa-agent/src/card/pcsc.js';
import { pcscSource } from '../../rpa-agent/src/card/pcscSource.js';
import { CardServerApi } from '../../rpa-agent/src/card/server.js';
import { launchBrowser, loginInBrowser, newStaffPage, screenshot, unnamedControls } from '../helpers/browser.js';
import { pcscdAvailable, startPcscd, type Pcscd } from '../helpers/pcscd.js';
import { configDir, tempDir } from '../helpers/paths.js';
import { MyNumberCardSim, PERSON_IVS, PERSON_MJ, PERSON_PLANE2, VirtualCard, type Person } from '../helpers/virtualCard.js';

/**
 * The whole chain as a counter uses it: a virtual card → a real pcscd → the helper
 * (rpa-agent/src/card: PC/SC, relay loop) → the madoguchi server → the staff page in Chromium,
 * served by the server (the page never talks to the helper, as on a Citrix terminal server).
 * Every UI action is counted, the clerk's and the resident's (the PIN) apart, against typing the
 * same fields by hand. Skipped (pending) where pcscd cannot run.
 */
const codePoints = (s: string): number[] => [...s].map((c) => c.codePointAt(0)!);

describe('card reading in Chromium: identity check and 転入 members from the cards, actions counted', function () {
  this.timeout(120_000);
  const t = tempDir();
  const password = randomPassword();
  const savedSocket = process.env.PCSCLITE_CSOCK_NAME;
  let pcscd: Pcscd | undefined;
  let card: VirtualCard;
  let readers: Readers | undefined;
  let helper: CardHelper | undefined;
  let running: Promise<void> | undefined;
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const otherOrigins: string[] = [];
  let clerk = 0;
  let resident = 0;

  before(async function () {
    const reason = pcscdAvailable();
    if (reason) {
      console.log(`      card browser test skipped: ${reason}`);
      this.skip();
    }
    pcscd = await startPcscd();
    process.env.PCSCLITE_CSOCK_NAME = pcscd.env.PCSCLITE_CSOCK_NAME;
    card = new VirtualCard({ path: pcscd.cardSocket });
    server = await startServer({ configDir, dataDir: t.dir, port: 0, host: '127.0.0.1', watch: false });
    const token = await registerApiClient(server.knex, 'card-shimin-1', 'cardReader', { staffLogin: 'test' }, 'shimin-1');
    readers = await openReaders();
    helper = new CardHelper(new CardServerApi(server.url, token), pcscSource(readers), () => {});
    running = helper.run();
    await createStaff(server.knex, {
      loginId: 'sogo',
      displayName: '総合 窓口',
      section: '住民課',
      password,
      groups: ['counter'],
      mustChangePassword: false,
    });
    browser = await launchBrowser();
    page = await newStaffPage(browser, server.url);
    const origin = new URL(server.url).origin;
    page.on('request', (r) => {
      if (new URL(r.url()).origin !== origin) otherOrigins.push(r.url());
    });
    expect(await loginInBrowser(page, server.url, 'sogo', password, 'shimin-1')).to.equal('/');
  });
  after(async () => {
    await browser?.close();
    helper?.stop();
    await running;
    await server?.close();
    await card?.remove();
    await pcscd?.stop();
    if (savedSocket === undefined) delete process.env.PCSCLITE_CSOCK_NAME;
    else process.env.PCSCLITE_CSOCK_NAME = savedSocket;
    t.remove();
  });

  /** The resident types the PIN into the masked field and presses Enter; the page fills the form. */
  const readWithPin = async (pin: string) => {
    await page.locator('#card-pin').fill(pin);
    await page.locator('#card-pin').press('Enter');
    resident += 2;
  };
  const placeCard = async (person: Person) => {
    const sim = new MyNumberCardSim(person);
    if (card.inserted) card.swap(sim);
    else await card.insert(sim);
    await page.locator('#card-pin-row').waitFor({ state: 'visible' });
  };

  it('fills the identity check from a My Number card: 2 clerk actions instead of 7, the PIN typed by the resident', async () => {
    await page.waitForFunction("document.activeElement && document.activeElement.id === 'new-visit'");
    await Promise.all([page.waitForURL(/\/visits\/\d+$/), page.keyboard.press('Enter')]);
    clerk += 1;
    await placeCard(PERSON_MJ);
    await page.locator('#card-reader-state', { hasText: 'マイナンバーカード (暗証番号の残り 3 回)' }).waitFor();
    await page.locator('#card-pin:focus').waitFor({ timeout: 5000 });
    expect(await unnamedControls(page), 'controls without an accessible name').to.deep.equal([]);

    // A wrong PIN: the tries left beside the field, nothing filled.
    await readWithPin('9999');
    await page.locator('#card-pin-error', { hasText: 'あと 2 回' }).waitFor();
    expect(await page.locator('#visitor-name').inputValue()).to.equal('');
    expect(await page.locator('#card-pin').inputValue(), 'the PIN field is emptied at once').to.equal('');

    await readWithPin('1234');
    await page.locator('#card-result-kind').waitFor();
    expect(codePoints(await page.locator('#visitor-name').inputValue())).to.deep.equal(codePoints(PERSON_MJ.name));
    expect(await page.locator('#identity-document').inputValue()).to.equal('myNumberCard');
    expect(await page.locator('input[name="visitorBirthDate"]').inputValue()).to.equal('昭和60年1月2日');
    expect(await page.locator('select[name="visitorSex"]').inputValue()).to.equal('1');
    expect(codePoints(await page.locator('input[name="visitorAddress"]').inputValue())).to.deep.equal(codePoints(PERSON_MJ.address));
    expect(await page.locator('#card-result').textContent()).to.include('住民記録に同じ氏名・生年月日の人はいません');
    await page.locator('input[name="visitorKana"]:focus').waitFor({ timeout: 5000 });
    await screenshot(page, 'card-identity');

    // The clerk types the kana (not on the card) and saves.
    await page.keyboard.type('タカハシ ヨシオ');
    clerk += 1;
    await Promise.all([page.waitForURL(/\/visits\/\d+$/), page.locator('#save-identity').click()]);
    clerk += 1;
    await page.locator('#identity-ic').waitFor();
    const visitId = Number(/\/visits\/(\d+)$/.exec(page.url())![1]);
    const row = (await server!.knex('visits').where({ id: visitId }).first()) as { identity_card: string; visitor_name: string };
    expect(row.identity_card).to.equal('myNumberCard');
    expect(codePoints(String(row.visitor_name))).to.deep.equal(codePoints(PERSON_MJ.name));
    // By hand: the document, name, kana, birth date, sex, address and save = 7 clerk actions.
    console.log(
      `      UI actions, identity check by hand: 7; from the card: ${clerk - 1} by the clerk + ${resident - 2} by the resident (PIN)`,
    );
    expect(clerk - 1).to.equal(2);
    expect(otherOrigins, 'the page talks only to the madoguchi server').to.deep.equal([]);
  });

  it('fills the 転入 members and 従前の住所 from the movers’ cards', async () => {
    clerk = 0;
    resident = 0;
    await page.locator('#notice-type').selectOption('moveIn');
    await Promise.all([page.waitForURL(/\/notices\/\d+$/), page.locator('#create-notice').click()]);
    const family: [Person, string, string][] = [
      [PERSON_MJ, 'タカハシ ヨシオ', ''],
      [PERSON_IVS, 'カツラギ ハナコ', '妻'],
      [PERSON_PLANE2, 'トオダ ハジメ', '子'],
    ];
    for (const [i, [person, kana, rel]] of family.entries()) {
      await placeCard(person);
      await readWithPin('1234');
      await page.locator(`#card-result`, { hasText: `${i + 1} 人目に` }).waitFor();
      expect(codePoints(await page.locator(`input[name="m${i}_name"]`).inputValue()), person.name).to.deep.equal(codePoints(person.name));
      await page.locator(`input[name="m${i}_kana"]:focus`).waitFor({ timeout: 5000 });
      await page.keyboard.type(kana);
      clerk += 1;
      if (rel) {
        await page.locator(`input[name="m${i}_relationship"]`).fill(rel);
        clerk += 1;
      }
    }
    expect(codePoints(await page.locator('#previousAddress').inputValue())).to.deep.equal(codePoints(PERSON_MJ.address));
    expect(await page.locator('select[name="m2_sex"]').inputValue(), 'sex 9 (適用不能) is left to the clerk').to.equal('');
    expect(await page.locator('input[name="m1_birthDate"]').inputValue()).to.equal('平成2年2月28日');
    await screenshot(page, 'card-notice');
    // By hand: name, kana, birth date, sex per person, the relationships of the two others, 従前の住所 = 15.
    console.log(
      `      UI actions, 3 転入 members by hand: 15; from the cards: ${clerk} by the clerk + ${resident} by the residents (PINs)`,
    );
    expect(clerk).to.equal(5);
    expect(otherOrigins).to.deep.equal([]);
  });
});
