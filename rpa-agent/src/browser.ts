import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { AgentConfig } from './config.js';

export interface BrowserSession {
  browser: Browser;
  context: BrowserContext;
  page: Page;
}

/**
 * Edge on the Windows PC (`channel: msedge`), or a given executable (Debian's Chromium on the test
 * bench). Playwright never downloads a browser here.
 */
export async function openBrowser(cfg: AgentConfig['browser'], trace: AgentConfig['trace']): Promise<BrowserSession> {
  const browser = await chromium.launch({
    headless: cfg.headless,
    ...(cfg.executablePath ? { executablePath: cfg.executablePath } : cfg.channel ? { channel: cfg.channel } : {}),
    args: [
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-gpu',
      ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
      ...cfg.args,
    ],
  });
  const context = await browser.newContext({ locale: 'ja-JP', timezoneId: 'Asia/Tokyo', viewport: { width: 1280, height: 900 } });
  // The action log, network and console cost little; DOM snapshots and screencast frames cost about a
  // fifth of the entry time (npm run bench -- rpa), so they are kept for `trace: detailed`. The
  // failure screenshot is taken apart either way.
  if (trace !== 'off') await context.tracing.start({ screenshots: trace === 'detailed', snapshots: trace === 'detailed' });
  const page = await context.newPage();
  // The core system's 「登録してよろしいですか？」: the scenario's click means yes.
  page.on('dialog', (d) => void d.accept().catch(() => undefined));
  return { browser, context, page };
}
