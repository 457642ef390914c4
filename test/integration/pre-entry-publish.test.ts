import { expect } from 'chai';
import jsqr from 'jsqr';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { buildCli } from '../../server/src/cli/index.js';
import { ConfigError } from '../../server/src/config/yamlFile.js';
import { PRE_ENTRY_STATIC_FILES } from '../../server/src/http/views/preEntry.js';
import { loadLanguages } from '../../server/src/i18n/languages.js';
import { preEntryStringsScript } from '../../server/src/i18n/preEntryStrings.js';
import codec from '../../server/static/pre-entry/codec.js';
import { launchBrowser } from '../helpers/browser.js';
import { configDir, tempDir } from '../helpers/paths.js';

/** jsQR is CommonJS: its function is the module, typed as the module's default. */
const jsQR = jsqr.default;
/** A 1×1 PNG (a grey pixel): the municipality's logo. */
const LOGO = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg==', 'base64');

/** `madoguchi --config <config> pre-entry publish <dir>`, in this process; what it printed. */
async function publish(config: string, dir: string): Promise<string> {
  const program = buildCli();
  program.exitOverride();
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => void lines.push(args.join(' '));
  try {
    await program.parseAsync(['node', 'madoguchi', '--config', config, 'pre-entry', 'publish', dir]);
  } finally {
    console.log = log;
  }
  return lines.join('\n');
}

/**
 * `madoguchi pre-entry publish <dir>`: the folder a municipality puts on its website, complete
 * (the page, its scripts and strings.js from config/languages), opened as a file in Chromium: it
 * shows Japanese and English, a key English lacks in Japanese, and QR codes the counter reads.
 */
describe('madoguchi pre-entry publish: the page as published, opened from its folder in Chromium', function () {
  this.timeout(90_000);
  const t = tempDir();
  const config = path.join(t.dir, 'config');
  const out = path.join(t.dir, 'site', 'pre-entry');
  let browser: Browser;
  let output = '';

  before(async () => {
    // The shipped config, with one English text taken out: it must show in Japanese.
    cpSync(configDir, config, { recursive: true });
    const en = path.join(config, 'languages', 'en.yaml');
    const text = readFileSync(en, 'utf8');
    expect(text).to.match(/^ {2}preEntry\.addPerson: .*\n/m);
    writeFileSync(en, text.replace(/^ {2}preEntry\.addPerson: .*\n/m, ''));
    // The folder on the website, with the municipality's logo already in it.
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, 'logo.png'), LOGO);
    output = await publish(config, out);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    t.remove();
  });

  it('writes the five files of the page and strings.js from config/languages, and keeps the logo (shown by index.html)', () => {
    expect(readdirSync(out).sort()).to.deep.equal(
      ['codec.js', 'index.html', 'logo.png', 'pre-entry.css', 'pre-entry.js', 'qrcode.js', 'strings.js'].sort(),
    );
    expect(readFileSync(path.join(out, 'strings.js'), 'utf8')).to.equal(preEntryStringsScript(loadLanguages(config)));
    for (const [route, f] of Object.entries(PRE_ENTRY_STATIC_FILES)) {
      if (!route.startsWith('/static/pre-entry/')) continue;
      const name = path.basename(route);
      const original = readFileSync(f.file, 'utf8');
      const expected =
        name === 'index.html'
          ? original.replace('<!-- <img src="logo.png" alt="" class="logo"> -->', '<img src="logo.png" alt="" class="logo" />')
          : original;
      expect(readFileSync(path.join(out, name), 'utf8'), name).to.equal(expected);
    }
    expect(readFileSync(path.join(out, 'index.html'), 'utf8')).to.contain('<script src="strings.js"></script>');
    expect(readFileSync(path.join(out, 'logo.png'))).to.deep.equal(LOGO);
    expect(output).to.contain(`事前入力のページを書き出しました: ${out}`);
    expect(output).to.contain('strings.js').and.contain('(logo.png を表示)');
    expect(output).to.contain('言語 9 件: ja (日本語)、ja-easy (やさしい日本語)、en (English)');
    expect(output).to.contain('訳のない文 (ページでは日本語で表示されます): en 1 件');
  });

  it('refuses a broken language file with its file and line, writing nothing', async () => {
    const broken = path.join(t.dir, 'broken');
    cpSync(config, broken, { recursive: true });
    const ko = path.join(broken, 'languages', 'ko.yaml');
    writeFileSync(ko, readFileSync(ko, 'utf8').replace('"{n}번째 사람"', '"{count}번째 사람"'));
    const target = path.join(t.dir, 'not-written');
    const e = await publish(broken, target).then(
      () => null,
      (err: unknown) => err,
    );
    // By name: the command loads the publishing code with import(), which under tsx in the tests is
    // a second instance of the modules this file imports (one instance in the built CLI).
    expect((e as Error).name).to.equal('ConfigError');
    expect((e as ConfigError).issues).to.have.length.greaterThan(0);
    expect((e as ConfigError).message)
      .to.contain('ko.yaml')
      .and.contain('{count}');
    expect(existsSync(target)).to.equal(false);
  });

  /** The page of the folder, opened as a file by a phone in `locale`. */
  const open = async (locale: string) => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, locale });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(pathToFileURL(path.join(out, 'index.html')).href);
    return { page, requests, errors, close: () => context.close() };
  };

  /** Each QR code of the page (drawn as a data: image), read back with jsQR. */
  const readCodes = async (page: Page): Promise<string[]> => {
    const images = (await page.evaluate(`Promise.all([...document.querySelectorAll('img.qr')].map(async (img) => {
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
    }))`)) as { width: number; height: number; rgba: string }[];
    return images.map((im, i) => {
      const code = jsQR(new Uint8ClampedArray(Buffer.from(im.rgba, 'base64')), im.width, im.height);
      expect(code, `QR code ${i + 1}`).to.not.equal(null);
      return code!.data;
    });
  };

  it('in Japanese: the texts of ja.yaml, the nine languages, the logo; a 転入 becomes QR codes the counter decodes', async () => {
    const languages = loadLanguages(config);
    const { page, requests, errors, close } = await open('ja-JP');
    expect(await page.locator('h1').textContent()).to.equal(languages.t('ja', 'preEntry.title'));
    expect(await page.locator('html').getAttribute('lang')).to.equal('ja');
    expect(await page.locator('#languages > *').allTextContents()).to.deep.equal(languages.codes.map((c) => languages.name(c)));
    expect(await page.locator('#languages .current').textContent()).to.equal('日本語');
    expect(await page.locator('img.logo').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).to.equal(1);

    await page.locator('label[for="type-moveIn"]').click();
    await page.locator('[data-path="effectiveDate"]').fill('2026-04-01');
    await page.locator('.wareki', { hasText: '令和8年4月1日' }).waitFor();
    await page.locator('[data-path="previousAddress"]').fill('東京都千代田区千代田一丁目1番1号');
    await page.locator('[data-path="newAddress"]').fill('まどぐち町本町三丁目5番12号');
    await page.locator('[data-path="members.0.name"]').fill('\u9AD9橋 良夫');
    await page.locator('[data-path="members.0.birthDate"]').fill('1985-01-02');
    await page.locator('[data-path="members.0.sex"][value="1"]').check();
    await page.getByRole('button', { name: languages.t('ja', 'preEntry.show') }).click();
    await page.locator('#codes:not([hidden]) img.qr').first().waitFor();
    expect(await page.locator('#codes h2').textContent()).to.equal(languages.t('ja', 'preEntry.codesTitle'));

    const codes = await readCodes(page);
    expect(codes.length).to.be.greaterThan(0);
    const decoder = codec.decoder();
    const results = codes.map((c) => decoder.push(c));
    const last = results[results.length - 1]!;
    expect(last.status, JSON.stringify(last)).to.equal('complete');
    if (last.status === 'complete') {
      expect(last.data).to.deep.include({ type: 'moveIn', effectiveDate: '2026-04-01', newAddress: 'まどぐち町本町三丁目5番12号' });
      expect(last.data.members).to.deep.equal([{ name: '\u9AD9橋 良夫', birthDate: '1985-01-02', sex: '1', head: true }]);
    }
    expect(errors).to.deep.equal([]);
    expect(
      requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')),
      'nothing leaves the phone',
    ).to.deep.equal([]);
    await close();
  });

  it('in English (the phone’s language): the texts of en.yaml, and the one it lacks in Japanese; QR codes drawn', async () => {
    const languages = loadLanguages(config);
    const { page, errors, close } = await open('en-US');
    expect(await page.locator('h1').textContent()).to.equal('Prepare your visit to the counter');
    expect(await page.locator('h1').textContent()).to.equal(languages.t('en', 'preEntry.title'));
    expect(await page.locator('html').getAttribute('lang')).to.equal('en');
    expect(await page.locator('#languages .current').textContent()).to.equal('English');
    await page.locator('label[for="type-moveOut"]').click();
    expect(await page.locator('label[for="type-moveOut"] .type-name').textContent()).to.equal(languages.t('en', 'preEntry.type.moveOut'));
    expect(await page.locator('.person h3').first().textContent()).to.equal('Person 1');
    // preEntry.addPerson is not in this en.yaml: the page shows ja.yaml's text.
    expect(languages.lookup('en', 'preEntry.addPerson').from).to.equal('ja');
    await page.getByRole('button', { name: '人を追加' }).waitFor();

    await page.getByRole('button', { name: 'Show QR codes' }).click();
    expect(await page.locator('[data-error-for="effectiveDate"]').textContent()).to.equal('Please fill this in');
    await page.locator('[data-path="effectiveDate"]').fill('2026-05-10');
    await page.locator('[data-path="nextAddress"]').fill('Osaka-fu Osaka-shi Kita-ku Umeda 1-1');
    await page.locator('[data-path="members.0.name"]').fill('SMITH JOHN');
    await page.locator('[data-path="members.0.birthDate"]').fill('1990-06-15');
    await page.locator('[data-path="members.0.sex"][value="1"]').check();
    await page.getByRole('button', { name: 'Show QR codes' }).click();
    await page.locator('#codes:not([hidden]) img.qr').first().waitFor();
    expect(await page.locator('#codes h2').textContent()).to.equal('Show these QR codes at the counter');
    const codes = await readCodes(page);
    for (const c of codes) expect(c).to.match(/^MDG1-[A-Z2-7]{6}-\d+-\d+-[0-9A-F]{8}-[A-Z2-7]+-[0-9A-F]{8}$/);
    expect(errors).to.deep.equal([]);
    await close();
  });
});
