import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { loadLanguages, type Languages, type ProcedureText } from '../../server/src/i18n/languages.js';
import { PRE_ENTRY_PREFIX, preEntryStrings, preEntryStringsScript, type PreEntryLanguage } from '../../server/src/i18n/preEntryStrings.js';
import { configDir, repoRoot, tempDir } from '../helpers/paths.js';

/** strings.js run as a browser runs it: what it leaves in `window.MadoguchiPreEntryStrings`. */
function run(script: string): Record<string, PreEntryLanguage> {
  const window: { MadoguchiPreEntryStrings?: Record<string, PreEntryLanguage> } = {};
  vm.runInNewContext(script, { window });
  // Across the vm boundary the objects have the other realm's prototypes: compare them as JSON.
  return JSON.parse(JSON.stringify(window.MadoguchiPreEntryStrings)) as Record<string, PreEntryLanguage>;
}

const require = createRequire(import.meta.url);
const espree = require('espree') as { parse(code: string, options: object): unknown };
const parsesAsEs5 = (code: string) => espree.parse(code, { ecmaVersion: 5, sourceType: 'script' });

const PROCS: ProcedureText[] = [{ id: 'nhiEnrol', name: '国民健康保険 加入', guidance: '', bring: [] }];

/** A config folder with the given files under languages/. */
function folder(files: Record<string, string>): { dir: string; remove(): void } {
  const t = tempDir();
  mkdirSync(path.join(t.dir, 'languages'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(t.dir, 'languages', name), text);
  return t;
}

/** The built-in Japanese texts of pre-entry.js (`var BUILT_IN_JA = {…};`), evaluated. */
function builtInJapanese(): Record<string, string> {
  const page = readFileSync(path.join(repoRoot, 'server/static/pre-entry/pre-entry.js'), 'utf8');
  const m = /\n {2}var BUILT_IN_JA = (\{[\s\S]*?\n {2}\});\n/.exec(page);
  expect(m, 'pre-entry.js has var BUILT_IN_JA = {…};').to.not.equal(null);
  return vm.runInNewContext(`(${m![1]!})`) as Record<string, string>;
}

describe('pre-entry page texts (i18n/preEntryStrings.ts → strings.js)', () => {
  const shipped: Languages = loadLanguages(configDir);
  const script = preEntryStringsScript(shipped);
  const preEntryKeys = shipped.keys.filter((k) => k.startsWith(PRE_ENTRY_PREFIX));

  it('defines every language of config/languages with its own name, Japanese first, in the loader’s order', () => {
    expect(script).to.match(/^\/\/ .*\n(\/\/ .*\n)*window\.MadoguchiPreEntryStrings = \{/);
    const got = run(script);
    expect(Object.keys(got)).to.deep.equal([...shipped.codes]);
    expect(Object.keys(got)[0]).to.equal('ja');
    for (const code of shipped.codes) {
      expect(got[code]!.name, code).to.equal(shipped.name(code));
      expect(got[code]!.lang, code).to.equal(code === 'ja-easy' ? 'ja' : code);
    }
    expect(got['ja-easy']!.lang, 'やさしい日本語 is lang="ja" on the page').to.equal('ja');
    expect(Object.keys(got).map((c) => got[c]!.name)).to.include.members(['日本語', '한국어', 'नेपाली', 'Tiếng Việt', '中文 (简体)']);
  });

  it('holds only preEntry.* keys, and round-trips to exactly the texts the loader has', () => {
    expect(preEntryKeys.length).to.be.greaterThan(90);
    const got = run(script);
    expect(got).to.deep.equal(preEntryStrings(shipped));
    for (const code of shipped.codes) {
      const strings = got[code]!.strings;
      expect(
        Object.keys(strings).filter((k) => !k.startsWith(PRE_ENTRY_PREFIX)),
        code,
      ).to.deep.equal([]);
      const own = preEntryKeys.filter((k) => code === 'ja' || shipped.lookup(code, k).from === code);
      expect(Object.keys(strings).sort(), code).to.deep.equal(own.sort());
      for (const k of own) expect(strings[k], `${code} ${k}`).to.equal(shipped.lookup(code, k).text);
    }
    expect(got.ja!.strings['preEntry.title']).to.equal('窓口の手続きの事前入力');
    expect(got.ko!.strings['preEntry.codesHelp']).to.contain('{total}');
    expect(script).to.not.contain('guide.').and.not.contain('resident.').and.not.contain('procedures.');
  });

  it('is plain ES5, with U+2028 and U+2029 escaped (old browsers refuse them in a string literal)', () => {
    expect(() => parsesAsEs5(script)).to.not.throw();
    const t = folder({
      'ja.yaml': 'code: ja\nname: 日本語\nfont: ipa-mincho\nstrings:\n  preEntry.title: "一行目\u2028二行目\u2029"\n',
    });
    try {
      const s = preEntryStringsScript(loadLanguages(t.dir, PROCS));
      expect(s).to.not.match(/[\u2028\u2029]/);
      expect(s).to.contain('\\u2028').and.contain('\\u2029');
      expect(() => parsesAsEs5(s)).to.not.throw();
      expect(run(s).ja!.strings['preEntry.title']).to.equal('一行目\u2028二行目\u2029');
    } finally {
      t.remove();
    }
  });

  it('leaves out a key a language lacks (the page shows it in Japanese), and keys Japanese does not have', () => {
    const t = folder({
      'ja.yaml': [
        'code: ja',
        'name: 日本語',
        'font: ipa-mincho',
        'strings:',
        '  guide.footer: 窓口でお尋ねください',
        '  preEntry.title: 窓口の手続きの事前入力',
        '  preEntry.clear: 消去',
        '  preEntry.person: "{n} 人目"',
      ].join('\n'),
      'ko.yaml': [
        'code: ko',
        'name: 한국어',
        'font: lexi-gulim',
        'order: 50',
        'strings:',
        '  guide.footer: 창구에 문의해 주십시오',
        '  preEntry.title: 창구 수속 사전 입력',
        '  preEntry.person: "{n}번째 사람"',
        '  preEntry.gone: 사용되지 않는 키',
      ].join('\n'),
      'en.yaml': 'code: en\nname: English\nfont: dejavu-sans\norder: 30\nstrings:\n  preEntry.clear: Clear\n',
    });
    try {
      const languages = loadLanguages(t.dir, PROCS);
      const got = run(preEntryStringsScript(languages));
      expect(Object.keys(got)).to.deep.equal(['ja', 'en', 'ko']);
      expect(got.ja!.strings).to.deep.equal({
        'preEntry.clear': '消去',
        'preEntry.person': '{n} 人目',
        'preEntry.title': '窓口の手続きの事前入力',
      });
      expect(got.ko).to.deep.equal({
        name: '한국어',
        lang: 'ko',
        strings: { 'preEntry.person': '{n}번째 사람', 'preEntry.title': '창구 수속 사전 입력' },
      });
      expect(got.en!.strings).to.deep.equal({ 'preEntry.clear': 'Clear' });
      // What the page falls back for is what `madoguchi languages check` lists.
      expect(languages.missing('ko').filter((k) => k.startsWith(PRE_ENTRY_PREFIX))).to.deep.equal(['preEntry.clear']);
    } finally {
      t.remove();
    }
  });

  it('the page’s built-in Japanese (used without strings.js) is ja.yaml’s, and every key the page names is in ja.yaml', () => {
    const builtIn = builtInJapanese();
    const ja = Object.fromEntries(preEntryKeys.map((k) => [k, shipped.lookup('ja', k).text]));
    expect(builtIn).to.deep.equal(ja);
    const page = readFileSync(path.join(repoRoot, 'server/static/pre-entry/pre-entry.js'), 'utf8');
    const named = [...page.matchAll(/\bt\('(preEntry\.[A-Za-z0-9.]*[A-Za-z0-9])'/g)].map((m) => m[1]!);
    expect(named.length).to.be.greaterThan(40);
    expect(named.filter((k) => !preEntryKeys.includes(k))).to.deep.equal([]);
    // The keys the page builds from ids (preEntry.type.<type>, preEntry.certificate.<id>, …).
    for (const prefix of ['type.', 'certificate.', 'purpose.', 'relationship.', 'persons.', 'error.', 'field.effectiveDate.'])
      expect(
        preEntryKeys.some((k) => k.startsWith(PRE_ENTRY_PREFIX + prefix)),
        prefix,
      ).to.equal(true);
  });
});
