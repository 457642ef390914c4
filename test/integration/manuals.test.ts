import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { declaredRoutes } from '../helpers/leakCrawler.js';
import { repoRoot } from '../helpers/paths.js';

const manualDir = path.join(repoRoot, 'docs/manual');
const manuals = readdirSync(manualDir)
  .filter((f) => f.endsWith('.md'))
  .map((f) => ({ file: `docs/manual/${f}`, text: readFileSync(path.join(manualDir, f), 'utf8') }));
// The scripts of the staff pages: counter.js on every page, the pre-entry scanner's on the pages with its panel.
const counterJs = ['counter.js', 'pre-entry-counter.js']
  .map((f) => readFileSync(path.join(repoRoot, 'server/static', f), 'utf8'))
  .join('\n');
const viewSources = ['server/src/http/views', 'server/src/http/routes']
  .flatMap((d) => readdirSync(path.join(repoRoot, d)).map((f) => path.join(repoRoot, d, f)))
  .map((f) => readFileSync(f, 'utf8'))
  .join('\n');

/**
 * The manuals describe the screens as they are: every Alt+key a manual names is handled (by
 * counter.js, loaded on every staff page, or an accesskey of a screen), and every screen path a
 * manual names in `back quotes` is a route of the server. A manual naming a key or a screen that
 * does not exist fails here.
 */
describe('manuals name only keys and screens that exist', () => {
  it('every Alt+key of a manual is handled on the staff pages', () => {
    const missing: string[] = [];
    for (const m of manuals)
      for (const match of m.text.matchAll(/Alt\+([A-Za-z0-9])/g)) {
        const key = match[1]!.toLowerCase();
        const handled =
          new RegExp(`e\\.key === '${key}'`, 'i').test(counterJs) ||
          viewSources.includes(`accesskey="${key}"`) ||
          // Numbered choices (本人 / 代理人 / 同一世帯の者, the roles): accesskey="${i + 1}".
          (/[0-9]/.test(key) && viewSources.includes('accesskey="${i + 1}"'));
        if (!handled) missing.push(`${m.file}: Alt+${match[1]}`);
      }
    expect([...new Set(missing)], 'keys a manual names that no screen handles').to.deep.equal([]);
  });

  it('every screen path of a manual is a route of the server', async () => {
    const routes = await declaredRoutes();
    const patterns = routes
      .filter((r) => r.method === 'GET')
      .map((r) => new RegExp(`^${r.path.replace(/:[A-Za-z]+/g, '[^/]+').replace(/\./g, '\\.')}$`));
    const missing: string[] = [];
    let named = 0;
    for (const m of manuals)
      for (const match of m.text.matchAll(/`(\/(?:[a-z][a-z0-9-]*)(?:\/[A-Za-z0-9:._-]+)*)(?:\?[^`]*)?`/g)) {
        const screen = match[1]!;
        // Files and folders of the server (/etc/…, /opt/…, /var/…) are not screens.
        if (/^\/(etc|opt|var|usr|srv|tmp|home|mnt|dev|run)\//.test(screen)) continue;
        // The core system's own screens (rpa.md writes scenarios for them), not madoguchi's.
        if (m.file.endsWith('rpa.md') && /^\/jumin\//.test(screen)) continue;
        named++;
        if (!patterns.some((p) => p.test(screen))) missing.push(`${m.file}: ${screen}`);
      }
    expect(named, 'screens the manuals name').to.be.greaterThan(3);
    expect([...new Set(missing)], 'screens a manual names that the server does not serve').to.deep.equal([]);
  });
});
