import { expect } from 'chai';
import { cpSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadAppConfig } from '../../server/src/config/appConfig.js';
import { ConfigError, type ConfigIssue } from '../../server/src/config/yamlFile.js';
import { noticeTypes, type Condition, type MemberCondition, type ProcedureDefinition } from '../../server/src/domain/procedureTypes.js';
import { loadProcedures, PROCEDURES_DIR, ProcedureStore } from '../../server/src/procedures/config.js';
import { configDir, tempDir } from '../helpers/paths.js';

const counters = loadAppConfig(configDir).counters;
const shippedDir = path.join(configDir, PROCEDURES_DIR);
const JAPANESE = /[ぁ-んァ-ヶ一-龥]/;

function shipped(file: string): string {
  return readFileSync(path.join(shippedDir, file), 'utf8');
}

/** 1-based line of the first line containing `needle` (after the line containing `after`, if given). */
function lineOf(text: string, needle: string, after?: string): number {
  const lines = text.split('\n');
  const start = after === undefined ? 0 : lines.findIndex((l) => l.includes(after));
  if (start < 0) throw new Error(`anchor not found: ${after}`);
  const i = lines.findIndex((l, n) => n >= start && l.includes(needle));
  if (i < 0) throw new Error(`not found: ${needle}`);
  return i + 1;
}

/** 1-based column of `needle` on the line lineOf finds. */
function columnOf(text: string, needle: string, after?: string): number {
  return text.split('\n')[lineOf(text, needle, after) - 1]!.indexOf(needle) + 1;
}

/** Replaces exactly the first occurrence, failing when the text is not there (the fixture changed). */
function replaceOnce(text: string, from: string, to: string): string {
  const i = text.indexOf(from);
  if (i < 0) throw new Error(`fixture text not found: ${from}`);
  return text.slice(0, i) + to + text.slice(i + from.length);
}

/** A copy of the shipped procedures with some files edited; returns the ConfigError and the edited texts. */
function loadBroken(edits: Record<string, (text: string) => string>): { error: ConfigError; texts: Record<string, string> } {
  const t = tempDir('madoguchi-procedures-');
  try {
    const dir = path.join(t.dir, PROCEDURES_DIR);
    cpSync(shippedDir, dir, { recursive: true });
    const texts: Record<string, string> = {};
    for (const [file, edit] of Object.entries(edits)) {
      texts[file] = edit(shipped(file));
      writeFileSync(path.join(dir, file), texts[file]);
    }
    try {
      loadProcedures(t.dir, counters);
    } catch (e) {
      if (e instanceof ConfigError) return { error: e, texts };
      throw e;
    }
    throw new Error('expected a ConfigError');
  } finally {
    t.remove();
  }
}

function issueAt(error: ConfigError, file: string, pathRe: RegExp): ConfigIssue {
  const found = error.issues.find((i) => path.basename(i.file) === file && pathRe.test(i.path));
  expect(found, `no issue in ${file} at ${pathRe}; got:\n${error.message}`).to.not.equal(undefined);
  return found!;
}

function conditions(c: Condition | undefined): Condition[] {
  if (!c) return [];
  return [c, ...(c.all ?? []).flatMap(conditions), ...(c.any ?? []).flatMap(conditions), ...conditions(c.not)];
}

function members(p: ProcedureDefinition): MemberCondition[] {
  return conditions(p.when).flatMap((c) => (c.member ? [c.member] : []));
}

describe('procedure configuration (config/procedures)', () => {
  describe('the shipped set', () => {
    const catalog = loadProcedures(configDir, counters);
    const byId = (id: string): ProcedureDefinition => {
      const p = catalog.byId(id);
      expect(p, id).to.not.equal(undefined);
      return p!;
    };

    it('loads without errors: 30–45 procedures from the area files in name order', () => {
      expect(catalog.all.length).to.be.within(30, 45);
      expect(catalog.files.map((f) => path.basename(f))).to.deep.equal([
        '10-juminhyo.yaml',
        '20-hoken-nenkin.yaml',
        '30-kosodate.yaml',
        '40-kaigo-fukushi.yaml',
        '50-zeimu-sonota.yaml',
      ]);
      expect(new Set(catalog.all.map((p) => p.id)).size).to.equal(catalog.all.length);
      for (let i = 1; i < catalog.all.length; i++) expect(catalog.all[i]!.order).to.be.at.least(catalog.all[i - 1]!.order);
    });

    it('covers every notice type in some procedure condition', () => {
      const used = new Set(catalog.all.flatMap((p) => conditions(p.when).flatMap((c) => c.notice ?? [])));
      const missing = noticeTypes.filter((n) => !used.has(n));
      expect(missing).to.deep.equal([]);
    });

    it('gives every procedure a Japanese name and guidance and a legal reference', () => {
      const bad = catalog.all.filter((p) => !JAPANESE.test(p.name) || !JAPANESE.test(p.guidance) || p.legal.length === 0).map((p) => p.id);
      expect(bad).to.deep.equal([]);
    });

    it('counts ages on the basis each law uses', () => {
      expect(members(byId('careQualify'))).to.deep.include({ moving: true, ageFrom: 65, ageBasis: 'legal' });
      expect(members(byId('lateElderlyEnrol'))).to.deep.include({ moving: true, ageFrom: 75, ageBasis: 'birthday' });
      expect(members(byId('nhiEnrol'))).to.deep.include({ moving: true, ageUnder: 75, ageBasis: 'birthday' });
      expect(members(byId('pensionAddress'))).to.deep.include({ moving: true, ageFrom: 20, ageUnder: 60, ageBasis: 'legal' });
      expect(members(byId('childAllowanceClaim'))).to.deep.include({ moving: true, untilEndOfSchoolYearOfAge: 18 });
      expect(members(byId('schoolTransfer'))[0]!.schoolStage).to.have.members(['elementary', 'juniorHigh']);
    });

    it('carries the deadlines: 14 days for moves, 15 for child allowance, 7 for death', () => {
      expect(byId('nhiEnrol').deadlineDays).to.equal(14);
      expect(byId('childAllowanceClaim').deadlineDays).to.equal(15);
      expect(byId('cremationPermit').deadlineDays).to.equal(7);
    });

    it('fills in the defaults and resolves adds', () => {
      const waste = byId('wasteGuide');
      expect(waste.permission).to.equal('notice.accept');
      expect(waste.adds).to.deep.equal([]);
      expect(waste.bring).to.deep.equal([]);
      expect(waste.questions).to.deep.equal([]);
      expect(byId('schoolTransfer').adds).to.deep.equal(['schoolAid']);
      expect(byId('schoolAid').when).to.equal(undefined);
    });

    it('filters by validity: the card kept abroad applies from 2024-05-27', () => {
      const ids = (date: string) => catalog.validOn(date).map((p) => p.id);
      expect(ids('2024-05-26')).to.not.include('myNumberCardAbroad');
      expect(ids('2024-05-27')).to.include('myNumberCardAbroad');
      expect(ids('2024-05-26')).to.include('nhiEnrol');
      expect(catalog.validOn('2026-12-01')).to.have.length(catalog.all.length);
    });
  });

  describe('errors name the file, line, column, path and a Japanese reason', () => {
    it('a schema violation', () => {
      const from = 'member: {moving: true, ageFrom: 65, ageBasis: legal}';
      const { error, texts } = loadBroken({ '40-kaigo-fukushi.yaml': (t) => replaceOnce(t, from, from.replace('65', '"65歳"')) });
      const text = texts['40-kaigo-fukushi.yaml']!;
      const i = issueAt(error, '40-kaigo-fukushi.yaml', /^\[0\]\.when\.any\[0\]\.member\.ageFrom$/);
      expect(i.line).to.equal(lineOf(text, 'ageFrom: "65歳"'));
      expect(i.column).to.equal(columnOf(text, '"65歳"'));
      expect(i.reason).to.match(JAPANESE);
      expect(error.message).to.contain(`40-kaigo-fukushi.yaml:${i.line}:${i.column}: [0].when.any[0].member.ageFrom: `);
    });

    it('a misspelt key', () => {
      const { error, texts } = loadBroken({ '30-kosodate.yaml': (t) => replaceOnce(t, 'deadlineDays: 15', 'deadlineDay: 15') });
      const i = issueAt(error, '30-kosodate.yaml', /^\[0\]\.deadlineDay$/);
      expect(i.line).to.equal(lineOf(texts['30-kosodate.yaml']!, 'deadlineDay: 15'));
      expect(i.reason).to.contain('このキーは使えません');
    });

    it('a YAML syntax error', () => {
      const { error } = loadBroken({ '30-kosodate.yaml': (t) => replaceOnce(t, 'notice: [birth]', 'notice: [birth') });
      expect(error.issues.every((i) => path.basename(i.file) === '30-kosodate.yaml')).to.equal(true);
      expect(error.issues[0]!.line).to.be.greaterThan(0);
      expect(error.issues[0]!.reason).to.contain('YAML の構文エラー');
    });

    it('a procedure id used in two files', () => {
      const { error, texts } = loadBroken({ '50-zeimu-sonota.yaml': (t) => replaceOnce(t, 'id: wasteGuide', 'id: nhiEnrol') });
      const i = issueAt(error, '50-zeimu-sonota.yaml', /^\[3\]\.id$/);
      expect(i.line).to.equal(lineOf(texts['50-zeimu-sonota.yaml']!, 'id: nhiEnrol'));
      expect(i.reason)
        .to.contain('重複')
        .and.contain(`20-hoken-nenkin.yaml の ${lineOf(shipped('20-hoken-nenkin.yaml'), 'id: nhiEnrol')} 行目`);
      expect(error.issues).to.have.length(1);
    });

    it('adds naming an unknown procedure', () => {
      const { error, texts } = loadBroken({
        '20-hoken-nenkin.yaml': (t) => replaceOnce(t, 'adds: [survivorsPensionGuide]', 'adds: [survivorPensionGuide]'),
      });
      const i = issueAt(error, '20-hoken-nenkin.yaml', /\.adds\[0\]$/);
      expect(i.line).to.equal(lineOf(texts['20-hoken-nenkin.yaml']!, 'adds: [survivorPensionGuide]'));
      expect(i.reason).to.contain('survivorPensionGuide').and.match(JAPANESE);
    });

    it('an answer naming an unknown question, and an answer that is not one of the choices', () => {
      const { error, texts } = loadBroken({
        '50-zeimu-sonota.yaml': (t) => replaceOnce(t, 'answer: {hasDog: true}', 'answer: {hasDogs: true}'),
        '20-hoken-nenkin.yaml': (t) => replaceOnce(t, 'answer: {pensionCategory: わからない}', 'answer: {pensionCategory: わかりません}'),
      });
      const dog = issueAt(error, '50-zeimu-sonota.yaml', /\.when\.answer\.hasDogs$/);
      expect(dog.line).to.equal(lineOf(texts['50-zeimu-sonota.yaml']!, 'hasDogs'));
      expect(dog.reason).to.contain('質問 ID「hasDogs」');
      const choice = issueAt(error, '20-hoken-nenkin.yaml', /\.answer\.pensionCategory$/);
      expect(choice.line).to.equal(lineOf(texts['20-hoken-nenkin.yaml']!, 'わかりません'));
      expect(choice.reason).to.contain('選択肢にありません');
      expect(error.issues).to.have.length(2);
    });

    it('an unknown counter, permission, entitlement kind and notice type', () => {
      const { error, texts } = loadBroken({
        '30-kosodate.yaml': (t) => replaceOnce(t, 'counter: kosodate-7', 'counter: kosodate-9'),
        '40-kaigo-fukushi.yaml': (t) =>
          replaceOnce(
            replaceOnce(t, 'counter: kaigo-8\n', 'counter: kaigo-8\n  permission: notice.acept\n'),
            'holds: longTermCare}',
            'holds: longtermCare}',
          ),
        '10-juminhyo.yaml': (t) => replaceOnce(t, 'notice: [moveOut]', 'notice: [moveout]'),
      });
      const counter = issueAt(error, '30-kosodate.yaml', /^\[0\]\.counter$/);
      expect(counter.line).to.equal(lineOf(texts['30-kosodate.yaml']!, 'kosodate-9'));
      expect(counter.reason).to.contain('窓口「kosodate-9」').and.contain('shimin-1');
      const permission = issueAt(error, '40-kaigo-fukushi.yaml', /^\[0\]\.permission$/);
      expect(permission.line).to.equal(lineOf(texts['40-kaigo-fukushi.yaml']!, 'notice.acept'));
      expect(permission.reason).to.contain('権限「notice.acept」');
      const kind = issueAt(error, '40-kaigo-fukushi.yaml', /\.member\.holds$/);
      expect(kind.line).to.equal(lineOf(texts['40-kaigo-fukushi.yaml']!, 'longtermCare'));
      expect(kind.reason).to.contain('資格の種類「longtermCare」');
      const notice = issueAt(error, '10-juminhyo.yaml', /^\[0\]\.when\.notice\[0\]$/);
      expect(notice.line).to.equal(lineOf(texts['10-juminhyo.yaml']!, 'notice: [moveout]'));
      expect(notice.reason).to.contain('届出の種類「moveout」');
      expect(error.issues).to.have.length(4);
    });

    it('a validity period that ends before it starts', () => {
      const { error, texts } = loadBroken({
        '10-juminhyo.yaml': (t) => replaceOnce(t, 'validFrom: "2024-05-27"', 'validFrom: "2024-05-27"\n  validTo: "2024-05-01"'),
      });
      const i = issueAt(error, '10-juminhyo.yaml', /\.validTo$/);
      expect(i.line).to.equal(lineOf(texts['10-juminhyo.yaml']!, 'validTo: "2024-05-01"'));
      expect(i.reason).to.contain('有効期間');
    });

    it('a choice question without choices', () => {
      const { error, texts } = loadBroken({
        '20-hoken-nenkin.yaml': (t) => replaceOnce(t, '      choices: [第1号, 第2号・第3号のみ, わからない]\n', ''),
      });
      const text = texts['20-hoken-nenkin.yaml']!;
      const i = issueAt(error, '20-hoken-nenkin.yaml', /\.questions\[0\]\.type$/);
      expect(i.line).to.equal(lineOf(text, 'type: choice', 'id: pensionCategory'));
      expect(i.reason).to.contain('choices');
    });

    it('reports every issue of every file at once, without false alarms from a broken file', () => {
      const { error } = loadBroken({
        '30-kosodate.yaml': (t) => replaceOnce(t, 'counter: kosodate-7', 'counter: kosodate-9'),
        '50-zeimu-sonota.yaml': (t) => replaceOnce(t, 'order: 900', 'order: 九百'),
      });
      expect(error.issues.map((i) => path.basename(i.file))).to.have.members(['30-kosodate.yaml', '50-zeimu-sonota.yaml']);

      const t = tempDir('madoguchi-procedures-');
      try {
        const dir = path.join(t.dir, PROCEDURES_DIR);
        cpSync(shippedDir, dir, { recursive: true });
        // 60- refers to a procedure and a question of 55-, whose schema error keeps it from loading.
        writeFileSync(
          path.join(dir, '55-broken.yaml'),
          [
            '- id: fluGuide',
            '  name: 予防接種の案内',
            '  section: 健康づくり課',
            '  counter: kaigo-8',
            '  guidance: 案内します',
            '  order: 早い',
            '  questions:',
            '    - {id: wantsFlu, text: 接種しますか, type: yesNo}',
          ].join('\n'),
        );
        writeFileSync(
          path.join(dir, '60-refs.yaml'),
          [
            '- id: fluFollowUp',
            '  name: 予防接種の予診票',
            '  section: 健康づくり課',
            '  counter: kaigo-8',
            '  guidance: 渡します',
            '  when: {answer: {wantsFlu: true}}',
            '  adds: [fluGuide]',
          ].join('\n'),
        );
        let caught: unknown;
        try {
          loadProcedures(t.dir, counters);
        } catch (e) {
          caught = e;
        }
        expect(caught).to.be.instanceOf(ConfigError);
        const issues = (caught as ConfigError).issues;
        expect(issues.map((i) => `${path.basename(i.file)} ${i.path} ${i.line}`)).to.deep.equal(['55-broken.yaml [0].order 6']);
      } finally {
        t.remove();
      }
    });
  });

  describe('validity periods and defaults', () => {
    const t = tempDir('madoguchi-procedures-');
    after(() => t.remove());

    it('keeps the old and the new definition of a changed procedure and picks by date', () => {
      const dir = path.join(t.dir, PROCEDURES_DIR);
      cpSync(shippedDir, dir, { recursive: true });
      const base = (id: string, extra: string[]) => [
        `- id: ${id}`,
        '  name: 高齢者インフルエンザ予防接種の案内',
        '  section: 健康づくり課',
        '  counter: kaigo-8',
        '  guidance: 案内します',
        ...extra,
      ];
      writeFileSync(
        path.join(dir, '60-kenko.yaml'),
        [
          ...base('fluGuide', ['  validTo: "2027-03-31"', '  when: {notice: [moveIn], member: {ageFrom: 65, ageBasis: legal}}']),
          ...base('fluGuide2027', [
            '  validFrom: "2027-04-01"',
            '  when: {notice: [moveIn], member: {ageFrom: 60, ageBasis: legal}}',
            '  deadlineDays: 30',
          ]),
        ].join('\n'),
      );
      const catalog = loadProcedures(t.dir, counters);
      const ids = (date: string) => catalog.validOn(date).map((p) => p.id);
      expect(ids('2027-03-31')).to.include('fluGuide').and.not.include('fluGuide2027');
      expect(ids('2027-04-01')).to.include('fluGuide2027').and.not.include('fluGuide');
      expect(catalog.byId('fluGuide')!.validTo).to.equal('2027-03-31');
      const fresh = catalog.byId('fluGuide2027')!;
      expect([
        fresh.permission,
        fresh.order,
        fresh.legal,
        fresh.bring,
        fresh.forms,
        fresh.pamphlets,
        fresh.questions,
        fresh.adds,
      ]).to.deep.equal(['notice.accept', 100, [], [], [], [], [], []]);
      expect(() => catalog.validOn('2027/04/01')).to.throw();
    });
  });

  describe('ProcedureStore', () => {
    let t: ReturnType<typeof tempDir>;
    let dir: string;
    let clock = Date.now() / 1000;
    beforeEach(() => {
      t = tempDir('madoguchi-procedures-');
      dir = path.join(t.dir, PROCEDURES_DIR);
      cpSync(shippedDir, dir, { recursive: true });
    });
    afterEach(() => t.remove());

    /** Writes a file and moves its modification time forward, as an editor's save does. */
    function save(file: string, text: string): void {
      writeFileSync(path.join(dir, file), text);
      clock += 10;
      utimesSync(path.join(dir, file), clock, clock);
    }

    it('reloads after an edit, keeps the last good catalog after a broken edit, and recovers', () => {
      const store = new ProcedureStore(t.dir, counters);
      expect(store.lastError).to.equal(null);
      const first = store.current();
      expect(first.byId('nhiEnrol')!.name).to.equal('国民健康保険 加入 (転入・出生)');
      expect(store.reloadIfChanged()).to.equal('unchanged');
      expect(store.current()).to.equal(first);

      const text = shipped('20-hoken-nenkin.yaml');
      save('20-hoken-nenkin.yaml', text.replace('name: 国民健康保険 加入 (転入・出生)', 'name: 国保 加入 (転入・出生)'));
      expect(store.reloadIfChanged()).to.equal('reloaded');
      const edited = store.current();
      expect(edited).to.not.equal(first);
      expect(edited.byId('nhiEnrol')!.name).to.equal('国保 加入 (転入・出生)');

      const broken = text
        .replace('name: 国民健康保険 加入 (転入・出生)', 'name: 国保 加入 (転入・出生)')
        .replace('counter: hoken-5', 'counter: hoken-55');
      save('20-hoken-nenkin.yaml', broken);
      expect(store.reloadIfChanged()).to.equal('failed');
      expect(store.current()).to.equal(edited);
      expect(store.current().byId('nhiEnrol')!.counter).to.equal('hoken-5');
      expect(store.lastError).to.be.instanceOf(ConfigError);
      expect(store.lastErrorAt).to.be.instanceOf(Date);
      const issue = store.lastError!.issues[0]!;
      expect(path.basename(issue.file)).to.equal('20-hoken-nenkin.yaml');
      expect(issue.line).to.equal(lineOf(broken, 'hoken-55'));
      expect(issue.reason).to.contain('hoken-55');
      // Unchanged broken files are not parsed again, and the error stays visible.
      expect(store.reloadIfChanged()).to.equal('unchanged');
      expect(store.lastError).to.not.equal(null);

      save('20-hoken-nenkin.yaml', text);
      expect(store.reloadIfChanged()).to.equal('reloaded');
      expect(store.lastError).to.equal(null);
      expect(store.lastErrorAt).to.equal(null);
      expect(store.current().byId('nhiEnrol')!.name).to.equal('国民健康保険 加入 (転入・出生)');
    });

    it('notices files added and removed', () => {
      const store = new ProcedureStore(t.dir, counters);
      const extra = [
        '- id: fluGuide',
        '  name: 高齢者インフルエンザ予防接種の案内',
        '  section: 健康づくり課',
        '  counter: kaigo-8',
        '  guidance: 案内します',
      ].join('\n');
      save('60-kenko.yaml', extra);
      expect(store.reloadIfChanged()).to.equal('reloaded');
      expect(store.current().byId('fluGuide')).to.not.equal(undefined);
      expect(store.current().files.map((f) => path.basename(f))).to.include('60-kenko.yaml');
      rmSync(path.join(dir, '60-kenko.yaml'));
      expect(store.reloadIfChanged()).to.equal('reloaded');
      expect(store.current().byId('fluGuide')).to.equal(undefined);
    });

    it('starts with an empty catalog and the error when the first load fails, then recovers', () => {
      const text = shipped('50-zeimu-sonota.yaml');
      save('50-zeimu-sonota.yaml', text.replace('answer: {hasDog: true}', 'answer: {hasDogs: true}'));
      const store = new ProcedureStore(t.dir, counters);
      expect(store.current().all).to.deep.equal([]);
      expect(store.lastError!.issues.map((i) => i.path)).to.deep.equal(['[2].when.answer.hasDogs']);
      save('50-zeimu-sonota.yaml', text);
      expect(store.reloadIfChanged()).to.equal('reloaded');
      expect(store.current().all.length).to.be.within(30, 45);
    });

    it('checks the files no more often than asked', () => {
      const store = new ProcedureStore(t.dir, counters, { minCheckIntervalMs: 60_000 });
      expect(store.reloadIfChanged()).to.equal('unchanged');
      save('20-hoken-nenkin.yaml', shipped('20-hoken-nenkin.yaml').replace('name: 国民健康保険 加入 (転入・出生)', 'name: 国保 加入'));
      expect(store.reloadIfChanged()).to.equal('unchanged');
      expect(store.current().byId('nhiEnrol')!.name).to.equal('国民健康保険 加入 (転入・出生)');
      expect(store.reload()).to.equal('reloaded');
      expect(store.current().byId('nhiEnrol')!.name).to.equal('国保 加入');
    });
  });
});
