import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newStaffPage } from '../helpers/browser.js';
import { inputNames } from '../fixtures/core-sim/procedures.js';
import { procedures, startCoreSim, type CoreSim } from '../fixtures/core-sim/server.js';

/** What an agent types into the 転入 screen; `kana` may be replaced to provoke a validation error. */
function moveIn(reference: string, kana = 'マドグチ　ハナコ'): Record<string, string> {
  return {
    ido_ymd: 'R8.11.20',
    shimei: '窓口 花子',
    kana,
    seinen_y: '55',
    seinen_m: '4',
    seinen_d: '1',
    jusho: '東京都千代田区丸の内一丁目1番1号',
    zen_jusho: '大阪府大阪市北区梅田一丁目2番3号',
    setainushi: '窓口 花子',
    uketsuke_no: reference,
  };
}

async function login(page: Page, sim: CoreSim): Promise<void> {
  await page.goto(new URL('login', sim.url).href);
  await page.fill('#user_id', 'rpa01');
  await page.fill('#password', 'rpa-pass');
  await Promise.all([page.waitForURL('**/menu'), page.click('#btn_login')]);
}

/** Opens 転入 from the menu, fills it in and presses 確認. */
async function fillMoveIn(page: Page, values: Record<string, string>, renamed: Record<string, string> = {}): Promise<void> {
  await page.goto(new URL('/menu', page.url()).href);
  await Promise.all([page.waitForURL('**/proc/tennyu'), page.click('#menu_tennyu')]);
  for (const [name, value] of Object.entries(values)) await page.fill(`#${renamed[name] ?? name}`, value);
  await page.selectOption('#seinen_gengo', 'S');
  await page.selectOption('#seibetsu', '2');
  await page.selectOption('#zokugara', '01');
  await Promise.all([page.waitForLoadState('load'), page.click('#btn_confirm')]);
}

const ofRef = (sim: CoreSim, ref: string) => sim.entries().filter((e) => e.reference === ref);

describe('core-system simulator (test/fixtures/core-sim)', function () {
  let browser: Browser;
  let sim: CoreSim;
  let page: Page;

  before(async function () {
    browser = await launchBrowser();
    sim = await startCoreSim();
    page = await newStaffPage(browser, sim.url);
    await login(page, sim);
  });
  after(async function () {
    await browser?.close();
    await sim?.close();
  });

  it('rejects a wrong password and lists every procedure on the menu', async function () {
    const other = await newStaffPage(browser, sim.url);
    await other.goto(new URL('login', sim.url).href);
    await other.fill('#user_id', 'rpa01');
    await other.fill('#password', 'wrong');
    await Promise.all([other.waitForLoadState('load'), other.click('#btn_login')]);
    expect(await other.textContent('#login_error')).to.contain('パスワードが正しくありません');
    await other.context().close();

    await page.goto(new URL('menu', sim.url).href);
    const labels = await page.locator('#content a').allTextContents();
    for (const name of [
      '住民検索',
      '転入',
      '転出',
      '転居',
      '世帯分離',
      '世帯合併',
      '世帯構成変更',
      '出生',
      '死亡',
      '住民票の写し交付（証明）',
      '印鑑登録証明書交付（証明）',
      '所得証明交付（証明）',
    ]) {
      expect(labels, name).to.include(name);
    }
  });

  it('shows a Japanese error next to a half-width kana, then confirms and saves once with a record number', async function () {
    await fillMoveIn(page, moveIn('MDG-2026-000001', 'ﾏﾄﾞｸﾞﾁ ﾊﾅｺ'));
    expect(await page.locator('td:has(#kana) .err').textContent()).to.contain('全角カタカナ');
    expect(await page.textContent('#error_summary')).to.contain('1件');
    expect(await page.inputValue('#shimei'), 'the form keeps what was typed').to.equal('窓口 花子');
    expect(ofRef(sim, 'MDG-2026-000001')).to.have.length(0);

    await page.fill('#kana', 'マドグチ　ハナコ');
    await Promise.all([page.waitForLoadState('load'), page.click('#btn_confirm')]);
    expect(await page.textContent('#confirm_message')).to.contain('以下の内容で登録します');
    expect(await page.textContent('#confirm_seinen')).to.equal('昭和55年4月1日');
    expect(ofRef(sim, 'MDG-2026-000001'), 'nothing saved before 登録').to.have.length(0);

    await Promise.all([page.waitForLoadState('load'), page.click('#btn_register')]);
    const recordNo = (await page.textContent('#record_no'))?.trim() ?? '';
    expect(recordNo).to.match(/^R\d{2}-\d{6}$/);
    const saved = ofRef(sim, 'MDG-2026-000001');
    expect(saved).to.have.length(1);
    expect(saved[0]).to.include({ procedure: 'tennyu', recordNo, user: 'rpa01' });
    expect(saved[0]!.fields.kana).to.equal('マドグチ　ハナコ');
    expect(saved[0]!.dates).to.deep.equal({ ido_ymd: '2026-11-20', seinen: '1980-04-01' });
  });

  it('finds the saved entry by its reference in 住民検索, and nothing for an unknown one', async function () {
    const recordNo = ofRef(sim, 'MDG-2026-000001')[0]?.recordNo;
    await page.goto(new URL('search', sim.url).href);
    await page.fill('#uketsuke_no', 'MDG-2026-000001');
    await Promise.all([page.waitForLoadState('load'), page.click('#btn_search')]);
    expect(await page.locator('#results .result_row .record_no').allTextContents()).to.deep.equal([recordNo]);

    await page.goto(new URL('search?kana=マドグチ&birth=S55.4.1', sim.url).href);
    expect(await page.locator('#results .result_row').count()).to.equal(1);

    await page.goto(new URL('search?uketsuke_no=MDG-NOT-THERE', sim.url).href);
    expect(await page.locator('#no_results').count()).to.equal(1);
    expect(await page.locator('#results').count()).to.equal(0);
  });

  it('sends an idle session back to the login page with the timeout message', async function () {
    // The idle time is simulated (`idle`), so a busy machine cannot time the session out early.
    const short = await startCoreSim({ sessionTimeoutMs: 60_000 });
    const p = await newStaffPage(browser, short.url);
    try {
      await login(p, short);
      short.idle(59_000);
      await p.goto(new URL('proc/tennyu', short.url).href);
      expect(await p.locator('#kana').count(), 'still logged in before the timeout').to.equal(1);
      short.idle(60_001);
      await p.goto(new URL('proc/tennyu', short.url).href);
      expect(new URL(p.url()).pathname).to.equal('/login');
      expect(await p.textContent('#login_message')).to.contain('セッションの有効期限が切れました');
    } finally {
      await p.context().close();
      await short.close();
    }
  });

  it('a lost click shows the confirmation again without saving', async function () {
    sim.setFaults({ rules: [{ kind: 'lostClick', screen: 'tennyu', nth: [1] }] });
    await fillMoveIn(page, moveIn('MDG-2026-000002'));
    await Promise.all([page.waitForLoadState('load'), page.click('#btn_register')]);
    expect(await page.locator('#confirm_message').count()).to.equal(1);
    expect(await page.locator('#record_no').count()).to.equal(0);
    expect(ofRef(sim, 'MDG-2026-000002')).to.have.length(0);
    expect(sim.faultLog().map((f) => f.kind)).to.deep.equal(['lostClick']);

    await Promise.all([page.waitForLoadState('load'), page.click('#btn_register')]);
    expect(await page.locator('#record_no').count(), 'the second click goes through').to.equal(1);
    expect(ofRef(sim, 'MDG-2026-000002')).to.have.length(1);
  });

  it('a timeout after save stores the entry but the page does not answer within the agent timeout', async function () {
    sim.setFaults({ rules: [{ kind: 'timeoutAfterSave' }], hangMs: 20_000 });
    await fillMoveIn(page, moveIn('MDG-2026-000003'));
    // The agent's way: press 登録 and wait at most 1.5 s for the 処理番号.
    const started = Date.now();
    let failure: Error | null = null;
    try {
      await page.click('#btn_register', { timeout: 1500 });
      await page.waitForSelector('#record_no', { timeout: Math.max(1, 1500 - (Date.now() - started)) });
    } catch (err) {
      failure = err as Error;
    }
    expect(failure?.name, 'the completion page must not come within 1.5 s').to.equal('TimeoutError');
    expect(Date.now() - started).to.be.below(5000);
    const saved = ofRef(sim, 'MDG-2026-000003');
    expect(saved).to.have.length(1);
    expect(sim.faultLog().at(-1)).to.include({ kind: 'timeoutAfterSave', recordNo: saved[0]!.recordNo });
    sim.setFaults({ rules: [] });
    await page.goto(new URL('menu', sim.url).href);
  });

  it('renameSelector makes the old selector disappear and the new one work', async function () {
    expect(() => sim.renameSelector('tennyu', 'no_such_field', 'x')).to.throw(/no selector/);
    await page.goto(new URL('proc/tennyu', sim.url).href);
    expect(await page.locator('#kana').count()).to.equal(1);
    sim.renameSelector('tennyu', 'kana', 'kana_new');
    await fillMoveIn(page, moveIn('MDG-2026-000004'), { kana: 'kana_new' });
    expect(await page.textContent('#confirm_kana'), 'the renamed field posts its value').to.equal('マドグチ　ハナコ');
    await page.goto(new URL('proc/tennyu', sim.url).href);
    expect(await page.locator('#kana').count()).to.equal(0);
    expect(await page.locator('input[name=kana]').count()).to.equal(0);
    expect(await page.locator('input[name=kana_new]').count()).to.equal(1);
  });

  it('renders every procedure screen with its inputs, and injects HTTP 500 and session expiry (no browser)', async function () {
    const other = await startCoreSim();
    try {
      const login = await fetch(new URL('login', other.url), {
        method: 'POST',
        redirect: 'manual',
        body: new URLSearchParams({ user_id: 'rpa02', password: 'rpa-pass' }),
      });
      expect(login.status).to.equal(302);
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
      expect(cookie).to.match(/^JSESSIONID=[0-9a-f]{32}$/);
      const get = (path: string) => fetch(new URL(path, other.url), { headers: { cookie }, redirect: 'manual' });
      expect(procedures).to.have.length(11);
      for (const proc of procedures) {
        const res = await get(`proc/${proc.id}`);
        const html = await res.text();
        expect(res.status, proc.id).to.equal(200);
        for (const name of [...proc.fields.flatMap(inputNames), 'btn_confirm'])
          expect(html, `${proc.id} ${name}`).to.contain(`id="${name}"`);
      }
      other.setFaults({
        rules: [
          { kind: 'http500', screen: 'search', nth: [2] },
          { kind: 'sessionExpiry', screen: 'menu' },
        ],
      });
      expect((await get('search')).status).to.equal(200);
      const failed = await get('search');
      expect(failed.status).to.equal(500);
      expect(await failed.text()).to.contain('システムエラーが発生しました');
      const expired = await get('menu');
      expect(expired.status).to.equal(302);
      expect(expired.headers.get('location')).to.equal('/login?reason=timeout');
      expect((await get('search')).headers.get('location'), 'the session is gone for good').to.equal('/login?reason=timeout');
      expect(other.faultLog().map((f) => f.kind)).to.deep.equal(['http500', 'sessionExpiry']);
    } finally {
      await other.close();
    }
  });
});
