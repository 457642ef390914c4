import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from './paths.js';

/** Debian's Chromium (scripts/ensure-system-deps.sh test installs it); playwright-core never downloads one. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const screenshotDir = path.join(repoRoot, 'docs/screenshots');

/**
 * Starts headless Chromium. The flags keep it off the network (this machine has none but the
 * package registries, and Chromium's background connections would be refused many at a time);
 * as root Chromium cannot run its sandbox, so it runs without one there only.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium が見つかりません (${chromiumPath}): bash scripts/ensure-system-deps.sh test で入れるか、CHROMIUM_PATH を設定してください`,
    );
  }
  const asRoot = process.getuid?.() === 0;
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    // Playwright turns the sandbox off unless asked; keep it on wherever Chromium can have it.
    chromiumSandbox: !asRoot,
    args: [
      ...(asRoot ? ['--no-sandbox'] : []),
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page the size of a counter PC's screen (1366×768), in Japanese. */
export async function newStaffPage(browser: Browser, baseUrl: string): Promise<Page> {
  const context = await browser.newContext({
    baseURL: baseUrl,
    viewport: { width: 1366, height: 768 },
    locale: 'ja-JP',
    timezoneId: 'Asia/Tokyo',
  });
  return context.newPage();
}

/**
 * Saves a full-page screenshot as docs/screenshots/<name>.png, unless MADOGUCHI_SCREENSHOTS=0.
 * Returns the file written, or null.
 */
export async function screenshot(page: Page, name: string): Promise<string | null> {
  if (process.env.MADOGUCHI_SCREENSHOTS === '0') return null;
  mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  // A full-page screenshot resizes the view for a moment; Chromium then scrolled the page when the
  // field focused during it was left, and the next click missed its button. So no field has the
  // focus during the screenshot; it gets it back afterwards, without scrolling.
  await page.evaluate('window.__shotFocus = document.activeElement; document.activeElement && document.activeElement.blur()');
  await page.screenshot({ path: file, fullPage: true });
  await page.evaluate(
    'window.__shotFocus && window.__shotFocus.focus && window.__shotFocus.focus({ preventScroll: true }); delete window.__shotFocus',
  );
  return file;
}

/** Fails unless the keyboard focus is on the element the selector names. */
async function expectFocus(page: Page, selector: string, step: string): Promise<void> {
  if ((await page.locator(`${selector}:focus`).count()) === 1) return;
  const focused = page.locator(':focus');
  const actual = (await focused.count()) ? await focused.first().evaluate((el) => el.outerHTML.slice(0, 120)) : 'nothing';
  throw new Error(`login form: after ${step} the focus is on ${actual}, not ${selector}`);
}

/**
 * Logs in through the login form the way staff do: the login id (the field has the focus), Tab,
 * the password, Tab to the counter list (the counter chosen when given), Tab to the button, Enter.
 * Throws when the keyboard does not reach a field it should. Waits for the page the login leads
 * to (the role choice, the forced password change, the home page, or the form again with an
 * error) and returns its path.
 */
export async function loginInBrowser(page: Page, baseUrl: string, loginId: string, password: string, counterId?: string): Promise<string> {
  await page.goto(new URL('login', baseUrl).href);
  await page.focus('input[name="loginId"]');
  await page.keyboard.type(loginId);
  await page.keyboard.press('Tab');
  await expectFocus(page, 'input[name="password"]', 'the login id');
  await page.keyboard.type(password);
  await page.keyboard.press('Tab');
  await expectFocus(page, 'select[name="counterId"]', 'the password');
  if (counterId !== undefined) {
    const chosen = await page.selectOption('select[name="counterId"]', counterId);
    if (!chosen.includes(counterId)) throw new Error(`login form: no counter ${counterId}`);
  }
  await page.keyboard.press('Tab');
  await expectFocus(page, 'button[type="submit"]', 'the counter');
  const loaded = page.waitForEvent('load');
  await page.keyboard.press('Enter');
  await loaded;
  return new URL(page.url()).pathname;
}

/**
 * The visible form controls of the page without an accessible name (no label, aria-label,
 * aria-labelledby or title; a button without text), described for the assertion message.
 */
export async function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(`(() => {
    const out = [];
    for (const el of document.querySelectorAll('input, select, textarea, button')) {
      if (el.type === 'hidden' || el.offsetParent === null) continue;
      const named =
        (el.getAttribute('aria-label') || '').trim() ||
        (el.getAttribute('aria-labelledby') || '').trim() ||
        (el.getAttribute('title') || '').trim() ||
        (el.labels && el.labels.length && Array.from(el.labels).some((l) => l.textContent.trim())) ||
        ((el.tagName === 'BUTTON' || el.type === 'submit' || el.type === 'button') && (el.textContent || el.value || '').trim());
      if (!named) out.push(el.tagName.toLowerCase() + '[name=' + (el.getAttribute('name') || '') + ']');
    }
    return out;
  })()`);
}
