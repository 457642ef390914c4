import { expect } from 'chai';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { ApplicationError, BusinessError, ScenarioRunner } from '../../rpa-agent/src/runner.js';
import { loadScenarioSet } from '../../rpa-agent/src/scenario.js';
import { startCoreSim, type SelfEntry, type SelfNumberingSim } from '../fixtures/core-sim/server.js';
import { simTowns } from '../fixtures/core-sim/selfNumbering.js';
import { launchBrowser, newStaffPage } from '../helpers/browser.js';
import { configDir } from '../helpers/paths.js';

const scenarioDir = path.join(configDir, 'scenarios/selfsim');
const dayOf = (d: Date) => new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Tokyo' }).format(d);
const compact = (day: string) => day.replace(/-/g, '');

interface Mover {
  shimei: string;
  kana: string;
  /** 元号 code, 年, 月, 日 */
  birth: [string, string, string, string];
  sex: string;
  rel: string;
}

const household: Mover[] = [
  { shimei: '窓口 太郎', kana: 'マドグチ　タロウ', birth: ['3', '55', '4', '1'], sex: '1', rel: '10' },
  { shimei: '窓口 花子', kana: 'マドグチ　ハナコ', birth: ['3', '57', '6', '15'], sex: '2', rel: '20' },
  { shimei: '窓口 一郎', kana: 'マドグチ　イチロウ', birth: ['4', '22', '9', '9'], sex: '1', rel: '30' },
];

async function login(page: Page, url: string, user = 'rpa01'): Promise<void> {
  await page.goto(new URL('jr/login', url).href);
  await page.fill('#txtUserId', user);
  await page.fill('#txtPassword', 'rpa-pass');
  await Promise.all([page.waitForURL('**/jr/menu'), page.click('#btnLogin')]);
}

const messages = (page: Page) => page.locator('div.msg').allTextContents();

async function fillDate(page: Page, names: readonly string[], parts: readonly string[]): Promise<void> {
  await page.selectOption(`#${names[0]}`, parts[0]!);
  for (let i = 1; i < 4; i++) await page.fill(`#${names[i]}`, parts[i]!);
}

async function fillMover(page: Page, n: number, m: Mover): Promise<void> {
  await page.fill(`#txtShimei${n}`, m.shimei);
  await page.fill(`#txtKana${n}`, m.kana);
  await fillDate(page, [`selGengo${n}`, `txtNen${n}`, `txtTsuki${n}`, `txtHi${n}`], m.birth);
  await page.selectOption(`#selSeibetsu${n}`, m.sex);
  await page.selectOption(`#selZokugara${n}`, m.rel);
}

interface Own {
  pref: string;
  city: string;
  code: string;
  town: string;
  chome: string;
  banchi: string;
  go: string;
  katagaki: string;
}
const midori: Own = {
  pref: '43',
  city: 'まどぐち町',
  code: '439991',
  town: '002',
  chome: '2',
  banchi: '3',
  go: '4',
  katagaki: 'コーポさくら101号室',
};

async function fillOwn(page: Page, a: Own): Promise<void> {
  await page.selectOption('#selTodofuken', a.pref);
  await page.fill('#txtShikuchoson', a.city);
  await page.fill('#txtShikuchosonCd', a.code);
  await page.selectOption('#selMachiaza', a.town);
  await page.fill('#txtChome', a.chome);
  await page.fill('#txtBanchi', a.banchi);
  await page.fill('#txtGo', a.go);
  await page.fill('#txtKatagaki', a.katagaki);
}

/** Opens 転入, types the movers (adding rows with 追加), the addresses, and presses 確認. */
async function typeMoveIn(page: Page, url: string, movers: readonly Mover[], ido: readonly string[], address = midori): Promise<void> {
  await page.goto(new URL('jr/ido/tennyu', url).href);
  await fillDate(page, ['selIdoGengo', 'txtIdoNen', 'txtIdoTsuki', 'txtIdoHi'], ido);
  for (const [i, m] of movers.entries()) {
    if (i > 0) {
      await page.click('#btnAddPerson');
      await page.waitForSelector(`#txtShimei${i + 1}`);
    }
    await fillMover(page, i + 1, m);
  }
  await fillOwn(page, address);
  await page.selectOption('#selZenTodofuken', '13');
  await page.fill('#txtZenShikuchoson', '千代田区');
  await page.fill('#txtZenShikuchosonCd', '131016');
  await page.fill('#txtZenChoiki', '千代田1番1号');
  await Promise.all([page.waitForLoadState('load'), page.click('#btnKakunin')]);
}

async function register(page: Page): Promise<string> {
  await Promise.all([page.waitForLoadState('load'), page.click('#btnToroku')]);
  return (await page.textContent('#lblShoriNo'))?.trim() ?? '';
}

/** A logged-in fetch client (no browser), for form posts the browser would not send. */
async function client(sim: SelfNumberingSim) {
  const res = await fetch(new URL('jr/login', sim.url), {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams({ txtUserId: 'rpa02', txtPassword: 'rpa-pass' }),
  });
  expect(res.status).to.equal(302);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const msgsOf = (html: string) => [...html.matchAll(/<div class="msg">([^<]*)<\/div>/g)].map((m) => m[1]!);
  return {
    get: (p: string) => fetch(new URL(p, sim.url), { headers: { cookie }, redirect: 'manual' }),
    post: (p: string, body: Record<string, string>) =>
      fetch(new URL(p, sim.url), { method: 'POST', headers: { cookie }, redirect: 'manual', body: new URLSearchParams(body) }),
    msgsOf,
  };
}

/** A valid 転入 form of one mover, as posted. */
const moveInForm = (over: Record<string, string> = {}): Record<string, string> => ({
  selIdoGengo: '5',
  txtIdoNen: '8',
  txtIdoTsuki: '11',
  txtIdoHi: '1',
  txtShimei1: '検査 一',
  txtKana1: 'ケンサ　ハジメ',
  selGengo1: '4',
  txtNen1: '2',
  txtTsuki1: '2',
  txtHi1: '2',
  selSeibetsu1: '1',
  selZokugara1: '10',
  selTodofuken: '43',
  txtShikuchoson: 'まどぐち町',
  txtShikuchosonCd: '439991',
  selMachiaza: '001',
  txtChome: '1',
  txtBanchi: '5',
  txtGo: '',
  txtKatagaki: '',
  selZenTodofuken: '40',
  txtZenShikuchoson: '福岡市博多区',
  txtZenShikuchosonCd: '401323',
  txtZenChoiki: '博多駅前1丁目1番1号',
  txtZenKatagaki: '',
  ...over,
});

describe('core-system simulator, profile selfNumbering (another vendor: own numbers, data search, split addresses)', function () {
  let browser: Browser;
  let sim: SelfNumberingSim;
  let page: Page;
  const today = dayOf(new Date());
  let household1: SelfEntry;

  before(async function () {
    browser = await launchBrowser();
    sim = await startCoreSim({ profile: 'selfNumbering', sessionTimeoutMs: 3_600_000 });
    page = await newStaffPage(browser, sim.url);
    await login(page, sim.url);
  });
  after(async function () {
    await browser?.close();
    await sim?.close();
  });

  it('saves a 3-person 転入 as one entry with the 追加 button, and shows its own per-day number', async function () {
    await page.goto(new URL('jr/ido/tennyu', sim.url).href);
    const html = await page.content();
    expect(html, 'no field for an outside reference').not.to.contain('受付番号');
    expect(await page.locator('#tblIdosha tbody tr').count(), 'one person row to start with').to.equal(1);
    await typeMoveIn(page, sim.url, household, ['5', '8', '11', '20']);
    expect(await messages(page)).to.deep.equal(['JRI0003 以下の内容で登録します。よろしければ「登録」を押してください。']);
    expect(await page.locator('#kakIdosha tr.idosha').count()).to.equal(3);
    expect(await page.textContent('#kakJusho')).to.equal('熊本県まどぐち町緑ケ丘2丁目3番4号 コーポさくら101号室');
    expect(sim.entries(), 'nothing saved before 登録').to.have.length(0);

    const shoriNo = await register(page);
    expect(shoriNo).to.equal(`${compact(today)}-0001`);
    expect(await messages(page)).to.deep.equal(['JRI0001 登録が完了しました。']);
    const entries = sim.entries();
    expect(entries).to.have.length(1);
    household1 = entries[0]!;
    expect(household1).to.include({ shoriNo, kind: 'tennyu', kindName: '転入', idoYmd: '2026-11-20', day: today, user: 'rpa01' });
    expect(household1.persons.map((p) => [p.shimei, p.kana, p.seinen, p.seibetsu, p.zokugara])).to.deep.equal([
      ['窓口 太郎', 'マドグチ　タロウ', '1980-04-01', '1', '10'],
      ['窓口 花子', 'マドグチ　ハナコ', '1982-06-15', '2', '20'],
      ['窓口 一郎', 'マドグチ　イチロウ', '2010-09-09', '1', '30'],
    ]);
    expect(household1.address, 'the split address is saved with its codes').to.deep.equal({
      prefCode: '43',
      prefName: '熊本県',
      cityName: 'まどぐち町',
      cityCode: '439991',
      townCode: '002',
      townName: '緑ケ丘',
      chome: '2',
      banchi: '3',
      go: '4',
      katagaki: 'コーポさくら101号室',
    });
    expect(household1.previousAddress).to.deep.equal({
      prefCode: '13',
      prefName: '東京都',
      cityName: '千代田区',
      cityCode: '131016',
      choiki: '千代田1番1号',
      katagaki: '',
    });
    expect(household1.fields.txtKana3).to.equal('マドグチ　イチロウ');
    // The movers are residents now, one household, with 宛名番号 the system gave.
    const atena = household1.persons.map((p) => p.atenaNo);
    expect(atena.every((a) => /^\d{10}$/.test(a))).to.equal(true);
    const added = sim.residents().filter((r) => atena.includes(r.atenaNo));
    expect(new Set(added.map((r) => r.setaiNo)).size).to.equal(1);
    expect(await page.locator('#tblKekkaIdosha td.atenaNo').allTextContents()).to.deep.equal(atena);
  });

  it('numbers per day: the day goes on counting, and the next day starts again at 0001', async function () {
    await typeMoveIn(page, sim.url, [household[0]!], ['5', '8', '11', '21'], {
      ...midori,
      town: '005',
      chome: '',
      banchi: '120',
      go: '2',
      katagaki: '',
    });
    expect(await register(page)).to.equal(`${compact(today)}-0002`);
    const tomorrow = new Date(Date.now() + 24 * 3600_000);
    sim.setNow(tomorrow);
    try {
      await typeMoveIn(page, sim.url, [household[1]!], ['5', '8', '11', '22']);
      expect(await register(page)).to.equal(`${compact(dayOf(tomorrow))}-0001`);
      expect(sim.entries().at(-1)!.day).to.equal(dayOf(tomorrow));
    } finally {
      sim.setNow(null);
    }
    await typeMoveIn(page, sim.url, [household[2]!], ['5', '8', '11', '23']);
    expect(await register(page)).to.equal(`${compact(today)}-0003`);
  });

  it('finds an entry by 異動日 + 氏名カナ (+ 生年月日) — there is no search by its number', async function () {
    await page.goto(new URL('jr/kensaku', sim.url).href);
    const names = await page
      .locator('#frmKensaku input, #frmKensaku select')
      .evaluateAll((els) => els.map((e) => e.getAttribute('name') ?? ''));
    expect(names).to.deep.equal([
      'selIdoGengo',
      'txtIdoNen',
      'txtIdoTsuki',
      'txtIdoHi',
      'txtKana',
      'selSeiGengo',
      'txtSeiNen',
      'txtSeiTsuki',
      'txtSeiHi',
    ]);
    expect(await page.content()).not.to.contain('処理番号で');

    await fillDate(page, ['selIdoGengo', 'txtIdoNen', 'txtIdoTsuki', 'txtIdoHi'], ['5', '8', '11', '20']);
    await page.fill('#txtKana', 'マドグチ　ハナ');
    await Promise.all([page.waitForLoadState('load'), page.click('#btnKensaku')]);
    const row = page.locator('#tblKekka tr.kekka');
    expect(await row.count()).to.equal(1);
    expect(await row.locator('td').allTextContents()).to.deep.equal([
      household1.shoriNo,
      '窓口 花子',
      '昭和57年6月15日',
      '転入',
      '令和8年11月20日',
    ]);
    expect(await messages(page)).to.deep.equal(['JRI0102 1件該当しました。']);

    // Every mover of the entry is found by their own kana; 生年月日 narrows.
    await page.goto(new URL('jr/kensaku?selIdoGengo=5&txtIdoNen=8&txtIdoTsuki=11&txtIdoHi=20&txtKana=マドグチ', sim.url).href);
    expect(await page.locator('#tblKekka td.shoriNo').allTextContents()).to.deep.equal(Array(3).fill(household1.shoriNo));
    await page.goto(
      new URL(
        'jr/kensaku?selIdoGengo=5&txtIdoNen=8&txtIdoTsuki=11&txtIdoHi=20&txtKana=マドグチ&selSeiGengo=3&txtSeiNen=55&txtSeiTsuki=4&txtSeiHi=2',
        sim.url,
      ).href,
    );
    expect(await page.locator('#tblKekka').count()).to.equal(0);
    expect(await messages(page)).to.deep.equal(['JRI0101 該当するデータはありません。']);
    await page.goto(new URL(`jr/kensaku?txtKana=${household1.shoriNo}`, sim.url).href);
    expect(await messages(page)).to.deep.equal(['JRE0501 検索条件（異動日・氏名カナ）を入力してください。']);
  });

  it('stops the person table at 9 rows: the 10th 追加 shows JRE0120, and a posted 10th row is refused', async function () {
    await page.goto(new URL('jr/ido/tennyu', sim.url).href);
    for (let i = 0; i < 8; i++) await page.click('#btnAddPerson');
    expect(await page.locator('#tblIdosha tbody tr').count()).to.equal(9);
    expect(await page.locator('#txtShimei9').count()).to.equal(1);
    await page.click('#btnAddPerson');
    expect(await page.locator('#tblIdosha tbody tr').count()).to.equal(9);
    expect(await messages(page)).to.deep.equal(['JRE0120 異動者は9人までしか入力できません。']);

    const c = await client(sim);
    // Rows 2…10 copy row 1 (a hand-made post: the page itself never offers a 10th row).
    const ten: Record<string, string> = moveInForm();
    const rowOne = Object.entries(moveInForm()).filter(([k]) =>
      /^(txtShimei|txtKana|selGengo|txtNen|txtTsuki|txtHi|selSeibetsu|selZokugara)1$/.test(k),
    );
    for (let n = 2; n <= 10; n++) for (const [k, v] of rowOne) ten[k.replace(/1$/, String(n))] = v;
    const html = await (await c.post('jr/ido/tennyu/kakunin', ten)).text();
    expect(c.msgsOf(html)).to.include('JRE0120 異動者は9人までしか入力できません。');
  });

  it('checks the split address: check digit, prefecture, own town, 町字 and 丁目, and keeps what was typed', async function () {
    const c = await client(sim);
    const errorsOf = async (over: Record<string, string>) =>
      c.msgsOf(await (await c.post('jr/ido/tennyu/kakunin', moveInForm(over))).text());
    expect(await errorsOf({ txtShikuchosonCd: '439990' })).to.deep.equal(['JRE1201 住所の市区町村コードが正しくありません（検査数字）。']);
    expect(await errorsOf({ selTodofuken: '13' })).to.deep.equal(['JRE1202 住所の市区町村コードが都道府県と一致しません。']);
    expect(await errorsOf({ selTodofuken: '13', txtShikuchosonCd: '131016' })).to.deep.equal([
      'JRE1203 住所は本団体（まどぐち町）の住所を入力してください。',
    ]);
    expect(await errorsOf({ txtChome: '' })).to.deep.equal(['JRE1205 本町の丁目を1～3で入力してください。']);
    expect(await errorsOf({ selMachiaza: '005' })).to.deep.equal(['JRE1206 大字上田に丁目はありません。']);
    expect(await errorsOf({ selMachiaza: '999' })).to.deep.equal(['JRE1003 住所（町字）が正しくありません。']);
    expect(await errorsOf({ txtZenShikuchosonCd: '439991', selZenTodofuken: '43' })).to.deep.equal([
      'JRE1204 前住所が本団体の住所です。転居で処理してください。',
    ]);
    expect(await errorsOf({ txtKana1: 'ｹﾝｻ ﾊｼﾞﾒ', txtBanchi: '５' })).to.deep.equal([
      'JRE1004 異動者1行目 氏名カナは全角カタカナで入力してください。',
      'JRE1005 住所（番地）は半角数字で入力してください。',
    ]);

    await page.goto(new URL('jr/ido/tennyu', sim.url).href);
    await typeMoveIn(page, sim.url, household.slice(0, 2), ['5', '8', '11', '20'], { ...midori, chome: '7' });
    expect(await messages(page)).to.deep.equal(['JRE1205 緑ケ丘の丁目を1～4で入力してください。']);
    expect(await page.inputValue('#txtKana2'), 'the rows come back as typed').to.equal('マドグチ　ハナコ');
    expect(await page.inputValue('#selMachiaza')).to.equal('002');
    expect(await page.inputValue('#txtKatagaki')).to.equal('コーポさくら101号室');
  });

  it('転居: calls up the household by 宛名番号, saves the new split address and moves the resident', async function () {
    await page.goto(new URL('jr/ido/tenkyo', sim.url).href);
    await page.fill('#txtAtenaNo', '9000000099');
    await Promise.all([page.waitForLoadState('load'), page.click('#btnYobidashi')]);
    expect(await messages(page)).to.deep.equal(['JRE0401 該当する住民が存在しません（宛名番号: 9000000099）。']);

    await page.fill('#txtAtenaNo', '9000000011');
    await Promise.all([page.waitForLoadState('load'), page.click('#btnYobidashi')]);
    expect(await page.locator('#tblSetai tr.setaiin').count()).to.equal(3);
    expect(
      await page.locator('#tblSetai input[type=checkbox]:checked').evaluateAll((els) => els.map((e) => e.getAttribute('value') ?? '')),
    ).to.deep.equal(['9000000011']);
    await fillDate(page, ['selIdoGengo', 'txtIdoNen', 'txtIdoTsuki', 'txtIdoHi'], ['5', '8', '11', '28']);
    await fillOwn(page, { pref: '43', city: 'まどぐち町', code: '439991', town: '001', chome: '1', banchi: '1', go: '1', katagaki: '' });
    await Promise.all([page.waitForLoadState('load'), page.click('#btnKakunin')]);
    expect(await messages(page)).to.deep.equal(['JRE1302 新住所が現住所と同じです。']);

    await fillOwn(page, { pref: '43', city: 'まどぐち町', code: '439991', town: '004', chome: '3', banchi: '5', go: '6', katagaki: '' });
    await Promise.all([page.waitForLoadState('load'), page.click('#btnKakunin')]);
    expect(await page.textContent('#kakKyuJusho')).to.equal('熊本県まどぐち町本町1丁目1番1号');
    const shoriNo = await register(page);
    const e = sim.entries().find((x) => x.shoriNo === shoriNo)!;
    expect(e).to.include({ kind: 'tenkyo', idoYmd: '2026-11-28' });
    expect(e.persons.map((p) => p.atenaNo)).to.deep.equal(['9000000011']);
    expect(e.address).to.include({ townCode: '004', townName: '桜台', chome: '3', banchi: '5', go: '6' });
    expect(e.oldAddress).to.include({ townCode: '001', chome: '1', banchi: '1', go: '1' });
    const moved = sim.residents().find((r) => r.atenaNo === '9000000011')!;
    expect(moved.address.townCode).to.equal('004');
    expect(sim.residents().find((r) => r.atenaNo === '9000000029')!.address.townCode, 'the unchecked member stays').to.equal('001');
  });

  it('issues 住民票の写し in one step (宛名番号 search → 発行 → number, no confirmation screen), listed in the history', async function () {
    await page.goto(new URL('jr/shomei/juminhyo', sim.url).href);
    await page.fill('#txtAtenaNo', '9000000011');
    await Promise.all([page.waitForLoadState('load'), page.click('#btnKensaku')]);
    expect(await page.locator('#tblTaishosha tr.taishosha').count()).to.equal(3);
    await page.check('#rdoTaishosha2');
    await page.selectOption('#selHani', '2');
    await page.check('#chkZokugara');
    await page.fill('#txtTsusu', '2');
    const posts: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST') posts.push(new URL(r.url()).pathname);
    });
    await Promise.all([page.waitForLoadState('load'), page.click('#btnHakko')]);
    expect(posts).to.deep.equal(['/jr/shomei/juminhyo/hakko']);
    expect(await messages(page)).to.deep.equal(['JRI0201 証明書を発行しました。']);
    const hakkoNo = (await page.textContent('#lblHakkoNo'))?.trim() ?? '';
    expect(hakkoNo).to.match(new RegExp(`^${compact(today)}-\\d{4}$`));
    const e = sim.entries().find((x) => x.shoriNo === hakkoNo)!;
    expect(e).to.include({ kind: 'juminhyo', kindName: '住民票の写し', idoYmd: null });
    expect(e.persons.map((p) => p.shimei)).to.deep.equal(['試験 花子']);
    expect(e.certificate).to.deep.equal({ atenaNo: '9000000029', hani: '2', honseki: false, zokugara: true, setainushi: false, tsusu: 2 });

    await page.goto(new URL('jr/shomei/rireki?txtAtenaNo=9000000029', sim.url).href);
    expect(await page.locator('#tblRireki tr.rireki td.hakkoNo').allTextContents()).to.deep.equal([hakkoNo]);
    await page.goto(new URL('jr/shomei/rireki?txtAtenaNo=9000000011', sim.url).href);
    expect(await messages(page)).to.deep.equal(['JRI0101 該当するデータはありません。']);
  });

  it('has one message class for everything: login error, input error, success and system error are all div.msg', async function () {
    const other = await newStaffPage(browser, sim.url);
    try {
      await other.goto(new URL('jr/login', sim.url).href);
      await other.fill('#txtUserId', 'rpa01');
      await other.fill('#txtPassword', 'wrong');
      await Promise.all([other.waitForLoadState('load'), other.click('#btnLogin')]);
      expect(await messages(other)).to.deep.equal(['JRE0001 利用者IDまたはパスワードが正しくありません。']);
    } finally {
      await other.context().close();
    }
    sim.setFaults({ rules: [{ kind: 'http500', screen: 'kensaku', nth: [1] }] });
    const res = await page.goto(new URL('jr/kensaku', sim.url).href);
    expect(res?.status()).to.equal(500);
    const [system] = await messages(page);
    expect(system).to.match(/^SYE9000 システムエラーが発生しました。/);
    sim.setFaults({ rules: [] });
    // Nothing but div.msg carries a message: no summary box, no per-field error, no separate system-error box.
    for (const p of ['jr/kensaku?txtKana=ア', 'jr/ido/tenkyo?txtAtenaNo=1', 'jr/menu']) {
      await page.goto(new URL(p, sim.url).href);
      expect(await page.locator('#msgArea > :not(div.msg)').count()).to.equal(0);
      expect(await page.locator('.err, .error, #error_summary, #system_error, #login_error, [class*=error]').count()).to.equal(0);
      const classes = await page.locator('[class]').evaluateAll((els) => els.map((e) => e.getAttribute('class') ?? ''));
      expect(
        classes.filter((c) => c !== 'msg' && /msg|err|warn|info|alert/i.test(c)),
        p,
      ).to.deep.equal([]);
    }
  });

  it('after the idle time the next action lands on the login screen (no redirect); the lost post saves nothing', async function () {
    // The idle time is simulated (`idle`), so a busy machine cannot time the session out early.
    const short = await startCoreSim({ profile: 'selfNumbering', sessionTimeoutMs: 60_000 });
    const p = await newStaffPage(browser, short.url);
    try {
      await login(p, short.url);
      await typeMoveIn(p, short.url, [household[0]!], ['5', '8', '11', '20']);
      expect(await p.locator('#btnToroku').count(), 'still logged in before the timeout').to.equal(1);
      short.idle(60_001);
      await Promise.all([p.waitForLoadState('load'), p.click('#btnToroku')]);
      expect(new URL(p.url()).pathname, 'the URL asked for, with the login screen in it').to.equal('/jr/ido/tennyu/toroku');
      expect(await p.locator('#frmLogin').count()).to.equal(1);
      expect(await messages(p)).to.deep.equal(['JRW0010 一定時間操作がなかったため、接続を切断しました。再度ログインしてください。']);
      expect(short.entries()).to.have.length(0);
      await p.fill('#txtUserId', 'rpa01');
      await p.fill('#txtPassword', 'rpa-pass');
      await Promise.all([p.waitForURL('**/jr/menu'), p.click('#btnLogin')]);
      expect(await p.locator('#lnkTennyu').count()).to.equal(1);
    } finally {
      await p.context().close();
      await short.close();
    }
  });

  it('injects the default profile faults: saved-then-500 (the data search finds it), lost click, HTTP 500, session expiry, renames', async function () {
    sim.setFaults({ rules: [{ kind: 'errorAfterSave', screen: 'tennyu', nth: [1] }] });
    const before = sim.entries().length;
    await typeMoveIn(page, sim.url, [{ ...household[0]!, shimei: '障害 試験', kana: 'ショウガイ　シケン' }], ['5', '8', '12', '1']);
    const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/toroku')), page.click('#btnToroku')]);
    expect(res.status()).to.equal(500);
    await page.waitForLoadState('load');
    expect((await messages(page))[0]).to.match(/^SYE9000/);
    const saved = sim.entries().slice(before);
    expect(saved).to.have.length(1);
    expect(sim.faultLog().at(-1)).to.include({ kind: 'errorAfterSave', screen: 'tennyu', step: 'register', recordNo: saved[0]!.shoriNo });
    await page.goto(new URL('jr/kensaku?selIdoGengo=5&txtIdoNen=8&txtIdoTsuki=12&txtIdoHi=1&txtKana=ショウガイ', sim.url).href);
    expect(await page.locator('#tblKekka td.shoriNo').allTextContents(), 'what a probe would find after the crash').to.deep.equal([
      saved[0]!.shoriNo,
    ]);

    sim.setFaults({ rules: [{ kind: 'lostClick', screen: 'juminhyo', nth: [1] }] });
    const count = sim.entries().length;
    await page.goto(new URL('jr/shomei/juminhyo?txtAtenaNo=9000000037', sim.url).href);
    await page.selectOption('#selHani', '1');
    await page.fill('#txtTsusu', '1');
    await Promise.all([page.waitForLoadState('load'), page.click('#btnHakko')]);
    expect(await page.locator('#lblHakkoNo').count(), 'the lost click shows the form again').to.equal(0);
    expect(await page.locator('#btnHakko').count()).to.equal(1);
    expect(sim.entries()).to.have.length(count);
    await Promise.all([page.waitForLoadState('load'), page.click('#btnHakko')]);
    expect(await page.locator('#lblHakkoNo').count()).to.equal(1);
    expect(sim.entries()).to.have.length(count + 1);

    const c = await client(sim);
    sim.setFaults({
      rules: [
        { kind: 'http500', screen: 'rireki', nth: [2] },
        { kind: 'sessionExpiry', screen: 'menu' },
      ],
    });
    expect((await c.get('jr/shomei/rireki')).status).to.equal(200);
    expect((await c.get('jr/shomei/rireki')).status).to.equal(500);
    const expired = await c.get('jr/menu');
    expect(expired.status, 'no redirect: the login screen itself').to.equal(200);
    const html = await expired.text();
    expect(html).to.contain('id="frmLogin"');
    expect(c.msgsOf(html)).to.deep.equal(['JRW0010 一定時間操作がなかったため、接続を切断しました。再度ログインしてください。']);
    expect(
      sim
        .faultLog()
        .slice(-2)
        .map((f) => f.kind),
    ).to.deep.equal(['http500', 'sessionExpiry']);
    sim.setFaults({ rules: [] });

    expect(() => sim.renameSelector('kensaku', 'no_such', 'x')).to.throw(/no selector/);
    sim.renameSelector('kensaku', 'txtKana', 'txtKanaShimei');
    try {
      await page.goto(new URL('jr/kensaku?selIdoGengo=5&txtIdoNen=8&txtIdoTsuki=12&txtIdoHi=1&txtKanaShimei=ショウガイ', sim.url).href);
      expect(await page.locator('#txtKana').count()).to.equal(0);
      expect(await page.inputValue('#txtKanaShimei')).to.equal('ショウガイ');
      expect(await page.locator('#tblKekka tr.kekka').count()).to.equal(1);
    } finally {
      sim.renameSelector('kensaku', 'txtKanaShimei', 'txtKana');
    }
  });

  describe('the shipped scenarios (config/scenarios/selfsim) through the agent runner', function () {
    let agentSim: SelfNumberingSim;
    let runner: ScenarioRunner;
    let agentPage: Page;
    const set = () => loadScenarioSet(scenarioDir);

    const person = (name: string, nameKana: string, birthDate: string, sex: string, relationship: string) => ({
      addresseeNo: null,
      name,
      nameKana,
      birthDate,
      sex,
      relationship,
      moving: true,
      head: relationship === '02',
      event: false,
    });
    const members = [
      person('𠮷田 太郎', 'よしだ たろう', '1975-01-31', '1', '02'),
      person('𠮷田 美咲', 'ヨシダ ミサキ', '1978-12-01', '2', '12'),
      person('𠮷田 健太', 'ﾖｼﾀﾞ ｹﾝﾀ', '2019-05-01', '1', '20'),
    ];
    const newAddress = {
      whole: '熊本県まどぐち町桜台二丁目8番3号 サンライズ桜台201号室',
      prefecture: { code: '43', name: '熊本県' },
      municipality: { code: '439991', name: 'まどぐち町' },
      town: { code: '0004002', name: '桜台二丁目' },
      chome: '2',
      banchi: '8',
      go: '3',
      suffix: 'サンライズ桜台201号室',
      postalCode: null,
      error: null,
    };
    const previousAddress = {
      whole: '大阪府大阪市北区梅田一丁目2番3号',
      prefecture: { code: '27', name: '大阪府' },
      municipality: { code: '271276', name: '大阪市北区' },
      afterMunicipality: '梅田一丁目2番3号',
      suffix: null,
    };
    /** The one job of a 転入 notice (the scenario says per: notice): the first mover as subject, every mover to loop over. */
    const moveInJob = (i: number, list = members) => ({
      reference: `MDG-77-${i + 1}`,
      kind: 'notice',
      type: 'moveIn',
      noticeId: 77,
      effectiveDate: '2026-11-30',
      reportedDate: '2026-12-01',
      householdNo: null,
      data: {},
      subject: list[i],
      head: list[0],
      headName: list[0]!.name,
      members: list,
      movers: list,
      per: 'notice',
      addresses: { current: null, previous: previousAddress, new: newAddress, next: null },
    });

    before(async function () {
      agentSim = await startCoreSim({ profile: 'selfNumbering', sessionTimeoutMs: 3_600_000 });
      agentPage = await newStaffPage(browser, agentSim.url);
      runner = new ScenarioRunner(agentPage, set(), {
        baseUrl: agentSim.url,
        credentials: { user: 'rpa02', password: 'rpa-pass' },
        stepTimeoutMs: 5000,
      });
    });
    after(async function () {
      await agentPage?.context().close();
      await agentSim?.close();
    });

    it('validates, and its 町字 map covers the demo address master with the sim town codes', function () {
      const s = set();
      expect([...s.scenarios.keys()].sort()).to.deep.equal(['moveIn', 'relocation', 'residentCopy']);
      const system = parse(readFileSync(path.join(scenarioDir, '_system.yaml'), 'utf8')) as { maps: { machiaza: Record<string, string> } };
      const expected = Object.fromEntries(simTowns.flatMap((t) => t.demoCodes.map((c) => [c, t.code])));
      expect(system.maps.machiaza).to.deep.equal(expected);
    });

    it('check-scenarios (dry run) passes on every scenario and saves nothing', async function () {
      for (const name of ['moveIn', 'relocation', 'residentCopy']) {
        const r = await runner.dryRun(runner.scenario(name));
        expect(r, name).to.include({ ok: true });
      }
      expect(agentSim.entries()).to.have.length(0);
    });

    it('check-scenarios tells the truth: a changed value, a missing option and a transient system error, each named as such', async function () {
      // A screen script that widens what is typed into 番地 (3 → ３): the dry run reads it back.
      const widening = await newStaffPage(browser, agentSim.url);
      await widening.addInitScript(`document.addEventListener('change', (e) => {
        if (e.target.id === 'txtBanchi') e.target.value = e.target.value.replace(/[0-9]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
      });`);
      try {
        const r = await new ScenarioRunner(widening, set(), {
          baseUrl: agentSim.url,
          credentials: { user: 'rpa02', password: 'rpa-pass' },
          stepTimeoutMs: 5000,
        }).dryRun(runner.scenario('moveIn'));
        expect(r).to.include({ ok: false, kind: 'value', attempts: 1 });
        expect(r.problem).to.match(/entry\.banchi に「3」を入れたのに、画面の値は「３」です/);
      } finally {
        await widening.context().close();
      }

      // A 町字 code the screen's list does not have: "no such option", not "did not appear".
      const wrongMap = set();
      const moveIn = wrongMap.scenarios.get('moveIn')!;
      (moveIn.maps as Record<string, Record<string, string>>).machiaza = { ...moveIn.maps.machiaza, '0002002': '999' };
      const quick = new ScenarioRunner(agentPage, wrongMap, {
        baseUrl: agentSim.url,
        credentials: { user: 'rpa02', password: 'rpa-pass' },
        stepTimeoutMs: 1500,
      });
      const missing = await quick.dryRun(moveIn);
      expect(missing).to.include({ ok: false, kind: 'option' });
      expect(missing.problem).to.match(/entry\.town の選択肢に「999」がありません \(選択肢: .*001=/);

      // The system's own error once: retried, and then OK. Three times in a row: reported as the system's error.
      agentSim.setFaults({ rules: [{ kind: 'http500', screen: 'tennyu', step: 'view', nth: [1] }] });
      expect(await runner.dryRun(runner.scenario('moveIn'))).to.include({ ok: true, attempts: 2 });
      agentSim.setFaults({ rules: [{ kind: 'http500', screen: 'tennyu', step: 'view', nth: [1, 2, 3] }] });
      const down = await runner.dryRun(runner.scenario('moveIn'));
      agentSim.setFaults({ rules: [] });
      expect(down).to.include({ ok: false, kind: 'system', attempts: 3 });
      expect(down.problem).to.match(/^基幹系のエラーが 3 回続きました \(画面の変更ではありません\): .*SYE/);
      expect(agentSim.entries()).to.have.length(0);
    });

    it('moveIn: one job enters the household as one entry (a row per mover); after a crash on saving the retry finds it by the data probe', async function () {
      const s = runner.scenario('moveIn');
      agentSim.setFaults({ rules: [{ kind: 'errorAfterSave', screen: 'tennyu', nth: [1] }] });
      let failure: unknown;
      try {
        await runner.run(s, moveInJob(0));
      } catch (e) {
        failure = e;
      }
      expect(failure).to.be.instanceOf(ApplicationError);
      expect((failure as Error).message).to.match(/SYE9000/);
      agentSim.setFaults({ rules: [] });
      const saved = agentSim.entries();
      expect(saved).to.have.length(1);
      const shoriNo = saved[0]!.shoriNo;

      // The retry: nothing typed, the same number reported.
      expect(await runner.run(s, moveInJob(0))).to.include({ alreadyEntered: true, coreRef: shoriNo, committed: false });
      expect(agentSim.entries()).to.have.length(1);
      const e = agentSim.entries()[0]!;
      expect(e.persons.map((p) => [p.shimei, p.kana, p.seinen, p.seibetsu, p.zokugara])).to.deep.equal([
        ['𠮷田 太郎', 'ヨシダ　タロウ', '1975-01-31', '1', '10'],
        ['𠮷田 美咲', 'ヨシダ　ミサキ', '1978-12-01', '2', '20'],
        ['𠮷田 健太', 'ヨシダ　ケンタ', '2019-05-01', '1', '30'],
      ]);
      expect(e.address).to.deep.equal({
        prefCode: '43',
        prefName: '熊本県',
        cityName: 'まどぐち町',
        cityCode: '439991',
        townCode: '004',
        townName: '桜台',
        chome: '2',
        banchi: '8',
        go: '3',
        katagaki: 'サンライズ桜台201号室',
      });
      expect(e.previousAddress).to.deep.equal({
        prefCode: '27',
        prefName: '大阪府',
        cityName: '大阪市北区',
        cityCode: '271276',
        choiki: '梅田一丁目2番3号',
        katagaki: '',
      });
      expect(e.idoYmd).to.equal('2026-11-30');
    });

    it('moveIn: a household of 10 stops for staff before anything is typed, instead of saving 9', async function () {
      const ten = Array.from({ length: 10 }, (_, i) =>
        person(
          `十人 ${i + 1}`,
          `ジュウニン ${'アイウエオカキクケコ'[i]}`,
          `2000-01-${String(i + 1).padStart(2, '0')}`,
          '1',
          i ? '20' : '02',
        ),
      );
      const before = agentSim.entries().length;
      await agentPage.goto(`${agentSim.url}/jr/menu`);
      const at = agentPage.url();
      let failure: unknown;
      try {
        await runner.run(runner.scenario('moveIn'), moveInJob(0, ten));
      } catch (e) {
        failure = e;
      }
      expect(failure).to.be.instanceOf(BusinessError);
      expect((failure as Error).message).to.match(/10 人ですが、この画面に入力できるのは 9 人までです/);
      expect(agentSim.entries()).to.have.length(before);
      // Not even the probe ran: the page is where it was.
      expect(agentPage.url()).to.equal(at);
    });

    it('relocation (two movers, one entry) and residentCopy enter once; run again, the probe finds them', async function () {
      const taro = agentSim.residents().find((r) => r.shimei === '𠮷田 太郎')!;
      const misaki = agentSim.residents().find((r) => r.shimei === '𠮷田 美咲')!;
      const relocation = {
        ...moveInJob(0),
        reference: 'MDG-78-1',
        type: 'relocation',
        noticeId: 78,
        effectiveDate: '2026-12-03',
        subject: { ...members[0]!, addresseeNo: taro.atenaNo },
        movers: [
          { ...members[0]!, addresseeNo: taro.atenaNo },
          { ...members[1]!, addresseeNo: misaki.atenaNo },
        ],
        addresses: {
          current: null,
          previous: null,
          new: { ...newAddress, town: { code: '0010000', name: '大字上田' }, chome: null, banchi: '120', go: null, suffix: null },
          next: null,
        },
      };
      const r1 = await runner.run(runner.scenario('relocation'), relocation);
      expect(r1).to.include({ alreadyEntered: false, committed: true });
      const moved = agentSim.entries().find((x) => x.shoriNo === r1.coreRef)!;
      expect(moved).to.include({ kind: 'tenkyo', idoYmd: '2026-12-03' });
      // Both movers in the one entry; 健太 (not moving) stays.
      expect(moved.persons.map((p) => p.shimei)).to.deep.equal(['𠮷田 太郎', '𠮷田 美咲']);
      expect(agentSim.entries().filter((x) => x.kind === 'tenkyo')).to.have.length(1);
      expect(moved.address).to.include({ townCode: '005', chome: '', banchi: '120', go: '' });
      expect(await runner.run(runner.scenario('relocation'), relocation)).to.include({ alreadyEntered: true, coreRef: r1.coreRef });

      const certificate = {
        reference: 'MDC-5-1',
        kind: 'certificate',
        type: 'residentCopy',
        requestId: 5,
        subject: {
          addresseeNo: taro.atenaNo,
          name: taro.shimei,
          nameKana: 'ヨシダ タロウ',
          birthDate: '1975-01-31',
          sex: '1',
          address: null,
        },
        copies: 2,
        items: null,
        purposeId: null,
        options: { scope: 'household', showHouseholdHead: true, showDomicile: false },
        exempt: false,
      };
      const c1 = await runner.run(runner.scenario('residentCopy'), certificate);
      expect(c1).to.include({ alreadyEntered: false, committed: true });
      const issued = agentSim.entries().find((x) => x.shoriNo === c1.coreRef)!;
      expect(issued.certificate).to.deep.equal({
        atenaNo: taro.atenaNo,
        hani: '1',
        honseki: false,
        zokugara: true,
        setainushi: true,
        tsusu: 2,
      });
      // This system cannot tell a second request of the same person from a repeat of the first, so the
      // scenario has no probe (idempotency: none): a second run is a second issue, never a silent skip…
      const c2 = await runner.run(runner.scenario('residentCopy'), certificate);
      expect(c2).to.include({ alreadyEntered: false, committed: true });
      expect(c2.coreRef).not.to.equal(c1.coreRef);
      expect(agentSim.entries().filter((x) => x.kind === 'juminhyo')).to.have.length(2);
      // …and a save whose answer is lost is not retried: the job stops for staff, who look in the system.
      agentSim.setFaults({ rules: [{ kind: 'errorAfterSave', screen: 'juminhyo', nth: [1] }] });
      try {
        const uncertain = await runner.run(runner.scenario('residentCopy'), certificate).then(
          () => null,
          (e: unknown) => e as Error,
        );
        expect(uncertain).to.be.instanceOf(BusinessError);
        expect(uncertain!.message).to.contain('登録できたか分かりません');
        expect(agentSim.entries().filter((x) => x.kind === 'juminhyo')).to.have.length(3);
      } finally {
        agentSim.setFaults({ rules: [] });
      }
    });

    it('logs in again when the idle session shows the login screen in place of the page', async function () {
      const short = await startCoreSim({ profile: 'selfNumbering', sessionTimeoutMs: 60_000 });
      const p = await newStaffPage(browser, short.url);
      try {
        const r = new ScenarioRunner(p, set(), {
          baseUrl: short.url,
          credentials: { user: 'rpa01', password: 'rpa-pass' },
          stepTimeoutMs: 5000,
        });
        const first = await r.run(r.scenario('moveIn'), moveInJob(0));
        expect(first.committed).to.equal(true);
        short.idle(60_001);
        const again = await r.run(r.scenario('moveIn'), moveInJob(1));
        expect(again).to.include({ alreadyEntered: true, coreRef: first.coreRef });
        expect(short.entries()).to.have.length(1);
      } finally {
        await p.context().close();
        await short.close();
      }
    });
  });

  it('leaves the default profile as it was', async function () {
    const plain = await startCoreSim();
    try {
      const html = await (await fetch(new URL('login', plain.url))).text();
      expect(html).to.contain('id="user_id"').and.to.contain('住民記録 Ver.3.2.1');
      expect(html).not.to.contain('class="msg"');
      expect((await fetch(new URL('jr/login', plain.url), { redirect: 'manual' })).status, 'no selfNumbering screens').to.not.equal(200);
      expect(plain.entries()).to.deep.equal([]);
      expect('residents' in plain).to.equal(false);
    } finally {
      await plain.close();
    }
  });
});
