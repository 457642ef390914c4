import { expect } from 'chai';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadAppConfig } from '../../server/src/config/appConfig.js';
import { ConfigError } from '../../server/src/config/yamlFile.js';
import type { Condition } from '../../server/src/domain/procedureTypes.js';
import { DomainError } from '../../server/src/errors/domainError.js';
import { languagesForRequest, loadLanguages, placeholders, type ProcedureText } from '../../server/src/i18n/languages.js';
import { loadProcedures } from '../../server/src/procedures/config.js';
import { configDir, tempDir } from '../helpers/paths.js';

const catalog = loadProcedures(configDir, loadAppConfig(configDir).counters);
const shipped = loadLanguages(configDir, catalog.all);

/** A procedure the 転入 derives: its `when` names moveIn somewhere, or a derived one `adds` it. */
function forMoveIn(): string[] {
  const names = (c: Condition | undefined): boolean =>
    !!c && (!!c.notice?.includes('moveIn') || [...(c.any ?? []), ...(c.all ?? [])].some(names) || names(c.not));
  const direct = catalog.all.filter((p) => names(p.when));
  return [...new Set([...direct.map((p) => p.id), ...direct.flatMap((p) => p.adds)])];
}

const PROCS: ProcedureText[] = [
  { id: 'nhiEnrol', name: '国民健康保険 加入', guidance: '転入の日から加入します。', bring: ['本人確認書類'] },
  { id: 'wasteGuide', name: 'ごみの出し方の案内', guidance: 'ごみカレンダーを渡します。', bring: [] },
];
const JA = [
  'code: ja',
  'name: 日本語',
  'font: ipa-mincho',
  'calendar: wareki',
  'strings:',
  '  guide.title: "{town} 手続きのご案内"',
  '  guide.remaining: "これから行う手続き ({count} 件)"',
  '  resident.redo: やり直す',
  '  preEntry.clear: 消去',
].join('\n');

/** A config folder with ja.yaml and the given files under languages/. */
function folder(files: Record<string, string>): { dir: string; remove(): void } {
  const t = tempDir();
  mkdirSync(path.join(t.dir, 'languages'));
  for (const [name, text] of Object.entries({ 'ja.yaml': JA, ...files })) writeFileSync(path.join(t.dir, 'languages', name), text);
  return t;
}

function errorOf(files: Record<string, string>): ConfigError {
  const t = folder(files);
  try {
    loadLanguages(t.dir, PROCS);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  } finally {
    t.remove();
  }
  throw new Error('expected a ConfigError');
}

describe('languages (config/languages, i18n/languages.ts)', () => {
  it('refuses a request over a truncated language file with its name (503), not an anonymous 500', () => {
    const t = tempDir();
    try {
      cpSync(configDir, t.dir, { recursive: true });
      const file = path.join(t.dir, 'languages', 'en.yaml');
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, text.slice(0, Math.floor(text.length / 2)).replace(/\n[^\n]*$/, '\n  resident.waiting: "cut'));
      let refused: unknown;
      try {
        languagesForRequest(t.dir);
      } catch (e) {
        refused = e;
      }
      expect(refused).to.be.instanceOf(DomainError);
      expect((refused as DomainError).status).to.equal(503);
      expect((refused as DomainError).message).to.include('en.yaml');
    } finally {
      t.remove();
    }
  });

  describe('the shipped files', () => {
    it('load the nine languages, Japanese first, each named in its own language', () => {
      expect(shipped.codes).to.deep.equal(['ja', 'ja-easy', 'en', 'zh-CN', 'ko', 'vi', 'pt', 'fil', 'ne']);
      expect(shipped.codes.map((c) => shipped.name(c))).to.deep.equal([
        '日本語',
        'やさしい日本語',
        'English',
        '中文 (简体)',
        '한국어',
        'Tiếng Việt',
        'Português',
        'Filipino',
        'नेपाली',
      ]);
      expect(shipped.info('zh-CN').font).to.equal('arphic-gb');
      expect(shipped.info('ne').font).to.equal('lohit-devanagari');
    });

    it('have every key of ja.yaml (the guide, the resident screen, pre-entry) in every language', () => {
      for (const code of shipped.codes) {
        const missing = shipped.missing(code).filter((k) => !k.startsWith('procedures.'));
        expect(missing, code).to.deep.equal([]);
        expect(shipped.unused(code), code).to.deep.equal([]);
      }
      for (const group of ['guide.', 'resident.', 'preEntry.'])
        expect(
          shipped.keys.some((k) => k.startsWith(group)),
          group,
        ).to.equal(true);
      for (const k of ['resident.confirmed', 'resident.signPrompt', 'resident.redo', 'resident.confirmQuestion', 'resident.waiting'])
        expect(shipped.keys).to.include(k);
    });

    it('name every procedure in every language, and explain the 転入 procedures in en, zh-CN, ko, vi and pt', () => {
      const moveIn = forMoveIn();
      expect(moveIn).to.include.members(['nhiEnrol', 'childAllowanceClaim', 'careQualify', 'schoolTransfer', 'schoolAid', 'wasteGuide']);
      for (const code of shipped.codes) {
        const missing = shipped.missing(code);
        expect(
          missing.filter((k) => k.endsWith('.name')),
          code,
        ).to.deep.equal([]);
        if (['en', 'zh-CN', 'ko', 'vi', 'pt', 'ja-easy'].includes(code))
          expect(
            missing.filter((k) => moveIn.includes(k.split('.')[1]!)),
            code,
          ).to.deep.equal([]);
      }
      // What falls back to Japanese (listed by `madoguchi languages check`): the texts of the other procedures.
      const others = catalog.all.filter((p) => !moveIn.includes(p.id));
      expect(shipped.missing('en')).to.have.length(others.length * 2);
      expect(shipped.missing('fil')).to.include('procedures.nhiEnrol.guidance').and.include('procedures.nhiEnrol.bring');
      expect(shipped.missing('ja')).to.deep.equal([]);
    });

    it('use only the placeholders of the Japanese text', () => {
      for (const code of shipped.codes)
        for (const key of shipped.keys) {
          const ja = new Set(placeholders(shipped.lookup('ja', key).text));
          for (const p of placeholders(shipped.lookup(code, key).text)) expect(ja.has(p), `${code} ${key} {${p}}`).to.equal(true);
        }
    });
  });

  describe('texts and fallback', () => {
    it('fills placeholders and falls back to Japanese for a key the language lacks', () => {
      const t = folder({
        'en.yaml': 'code: en\nname: English\nfont: dejavu-sans\nstrings:\n  guide.title: "Guide — {town}"\n',
        'ja-easy.yaml': 'code: ja-easy\nname: やさしい日本語\nfont: ipa-gothic\nlocale: ja\nstrings:\n  resident.redo: もう いちど する\n',
      });
      try {
        const l = loadLanguages(t.dir, PROCS);
        expect(l.t('en', 'guide.title', { town: 'まどぐち町' })).to.equal('Guide — まどぐち町');
        expect(l.t('en', 'guide.remaining', { count: 3 })).to.equal('これから行う手続き (3 件)');
        expect(l.lookup('en', 'guide.remaining')).to.deep.equal({ text: 'これから行う手続き ({count} 件)', from: 'ja' });
        expect(l.lookup('en', 'guide.title').from).to.equal('en');
        expect(l.t('ja-easy', 'resident.redo')).to.equal('もう いちど する');
        expect(l.t('ja-easy', 'preEntry.clear')).to.equal('消去');
        expect(() => l.t('en', 'guide.title')).to.throw(/\{town\}/);
        expect(() => l.t('en', 'guide.nothing')).to.throw(/ja\.yaml にキー guide\.nothing がありません/);
        expect(() => l.t('xx', 'guide.title')).to.throw(/言語 xx はありません/);
        expect(l.missing('en')).to.deep.equal([
          'guide.remaining',
          'preEntry.clear',
          'resident.redo',
          'procedures.nhiEnrol.name',
          'procedures.nhiEnrol.guidance',
          'procedures.nhiEnrol.bring',
          'procedures.wasteGuide.name',
          'procedures.wasteGuide.guidance',
        ]);
      } finally {
        t.remove();
      }
    });

    it('gives a procedure its translated texts, each falling back to config/procedures on its own', () => {
      const t = folder({
        'en.yaml': [
          'code: en',
          'name: English',
          'font: dejavu-sans',
          'strings:',
          '  procedures.nhiEnrol.name: "National Health Insurance: enrollment"',
          '  procedures.nhiEnrol.bring:',
          '    - Identity document',
        ].join('\n'),
      });
      try {
        const l = loadLanguages(t.dir, PROCS);
        expect(l.procedure('en', PROCS[0]!)).to.deep.equal({
          name: 'National Health Insurance: enrollment',
          guidance: '転入の日から加入します。',
          bring: ['Identity document'],
          from: { name: 'en', guidance: 'ja', bring: 'en' },
        });
        expect(l.procedure('ja', PROCS[0]!)).to.deep.include({
          name: '国民健康保険 加入',
          from: { name: 'ja', guidance: 'ja', bring: 'ja' },
        });
      } finally {
        t.remove();
      }
    });

    it('writes dates as each language does: 和暦 for ja, the locale otherwise', () => {
      expect(shipped.formatDate('ja', '2026-11-28')).to.equal('令和8年11月28日');
      expect(shipped.formatDate('ja-easy', '2026-11-28')).to.equal('2026年11月28日');
      expect(shipped.formatDate('en', '2026-11-28')).to.equal('November 28, 2026');
      expect(shipped.formatDate('ko', '2026-11-28')).to.equal('2026년 11월 28일');
      expect(shipped.formatDate('vi', '2026-04-01')).to.match(/^1 tháng 4,? 2026$/);
      expect(shipped.formatDate('ne', '2026-11-28')).to.match(/२०२६/);
    });
  });

  describe('errors name the file, the line and the reason', () => {
    it('an unknown key group, a placeholder Japanese does not have, a list where text belongs', () => {
      const e = errorOf({
        'en.yaml': [
          'code: en', // 1
          'name: English', // 2
          'font: dejavu-sans', // 3
          'strings:', // 4
          '  guide.title: "Guide — {town}"', // 5
          '  screen.title: Welcome', // 6
          '  guide.remaining: "{count} left in {town}"', // 7
          '  procedures.nhiEnrol.guidance: "From {date}"', // 8
          '  procedures.nhiEnrol.bring: Identity document', // 9
          '  resident.redo: [Start, over]', // 10
        ].join('\n'),
      });
      const byPath = new Map(e.issues.map((i) => [i.path, i]));
      expect([...byPath.keys()].sort()).to.deep.equal([
        'strings.guide.remaining',
        'strings.procedures.nhiEnrol.bring',
        'strings.procedures.nhiEnrol.guidance',
        'strings.resident.redo',
        'strings.screen.title',
      ]);
      for (const i of e.issues) expect(i.file).to.match(/languages\/en\.yaml$/);
      expect(byPath.get('strings.screen.title')).to.deep.include({ line: 6 });
      expect(byPath.get('strings.screen.title')!.reason).to.match(/キーの種類がわかりません \(screen\)/);
      expect(byPath.get('strings.guide.remaining')).to.deep.include({ line: 7 });
      expect(byPath.get('strings.guide.remaining')!.reason).to.match(/日本語の文にない差し込み \{town\}.*\{count\}/);
      expect(byPath.get('strings.procedures.nhiEnrol.guidance')).to.deep.include({ line: 8 });
      expect(byPath.get('strings.procedures.nhiEnrol.guidance')!.reason).to.match(/\{date\}/);
      expect(byPath.get('strings.procedures.nhiEnrol.bring')).to.deep.include({ line: 9 });
      expect(byPath.get('strings.procedures.nhiEnrol.bring')!.reason).to.match(/リスト/);
      expect(byPath.get('strings.resident.redo')).to.deep.include({ line: 10 });
      expect(e.message).to.match(/en\.yaml:6:\d+: strings\.screen\.title: キーの種類がわかりません/);
    });

    it('a code that is not the file name, an unknown font, a missing name; every bad file at once', () => {
      const e = errorOf({
        'ko.yaml': 'code: kr\nname: 한국어\nfont: nanum\nstrings: {}\n',
        'vi.yaml': 'code: vi\nfont: dejavu-sans\nstrings:\n  guide.title: "{place}"\n',
      });
      const ko = e.issues.filter((i) => i.file.endsWith('ko.yaml'));
      const vi = e.issues.filter((i) => i.file.endsWith('vi.yaml'));
      expect(ko.map((i) => [i.path, i.line])).to.deep.include.members([['font', 3]]);
      expect(ko.find((i) => i.path === 'font')!.reason).to.match(/dejavu-sans.*lohit-devanagari/);
      expect(vi.map((i) => [i.path, i.line])).to.deep.include.members([['name', 1]]);
      // The code is checked once the schema passes: a second file with only that error.
      const code = errorOf({ 'ko.yaml': 'code: kr\nname: 한국어\nfont: lexi-gulim\nstrings: {}\n' });
      expect(code.issues).to.have.length(1);
      expect(code.issues[0]).to.deep.include({ path: 'code', line: 1 });
      expect(code.issues[0]!.reason).to.match(/ファイル名 \(ko\.yaml\)/);
    });

    it('procedure texts in ja.yaml, a YAML syntax error, a missing ja.yaml', () => {
      const inJa = errorOf({ 'ja.yaml': `${JA}\n  procedures.nhiEnrol.name: 国保\n` });
      expect(inJa.issues[0]).to.deep.include({ path: 'strings.procedures.nhiEnrol.name', line: 10 });
      expect(inJa.issues[0]!.reason).to.match(/config\/procedures で編集します/);
      const syntax = errorOf({ 'en.yaml': 'code: en\nname: English\nfont: dejavu-sans\nstrings:\n  guide.title: "Guide\n' });
      expect(syntax.issues[0]!.reason).to.match(/YAML の構文エラー/);
      expect(syntax.issues[0]!.line).to.be.greaterThan(0);
      const t = tempDir();
      try {
        mkdirSync(path.join(t.dir, 'languages'));
        expect(() => loadLanguages(t.dir, PROCS)).to.throw(ConfigError, /ja\.yaml\) がありません/);
      } finally {
        t.remove();
      }
    });

    it('keys Japanese does not have and procedures that are gone are not errors, but unused', () => {
      const t = folder({
        'en.yaml': [
          'code: en',
          'name: English',
          'font: dejavu-sans',
          'strings:',
          '  guide.titel: Guide',
          '  procedures.goneProcedure.name: Gone',
        ].join('\n'),
      });
      try {
        const l = loadLanguages(t.dir, PROCS);
        expect(l.unused('en')).to.deep.equal(['guide.titel', 'procedures.goneProcedure.name']);
        expect(l.missing('en')).to.include('guide.title');
      } finally {
        t.remove();
      }
    });
  });
});
