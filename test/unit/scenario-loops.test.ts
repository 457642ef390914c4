import { expect } from 'chai';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BusinessError, ScenarioRunner } from '../../rpa-agent/src/runner.js';
import { expandSteps, loadScenarioSet, LoopError, type Step } from '../../rpa-agent/src/scenario.js';
import { scenarioCheck } from '../../server/src/rpa/jobs.js';
import { configDir } from '../helpers/paths.js';

/** Household entries: `per: notice` scenarios loop over the movers, row by row, within the screen's maximum. */
describe('RPA scenarios: per notice and forEach loops', () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'madoguchi-loops-'));
    dir = path.join(root, 'scenarios', 'selfsim');
    cpSync(path.join(configDir, 'scenarios', 'selfsim'), dir, { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const edit = (file: string, fn: (s: string) => string) => {
    const before = readFileSync(path.join(dir, file), 'utf8');
    const after = fn(before);
    expect(after, `${file} edited`).not.to.equal(before);
    writeFileSync(path.join(dir, file), after);
  };
  const problems = (): string => {
    try {
      loadScenarioSet(dir);
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  };
  const person = (name: string, addresseeNo: string | null = null) => ({
    name,
    nameKana: 'テスト',
    birthDate: '1990-01-01',
    sex: '1',
    relationship: '02',
    addresseeNo,
  });
  const selectors = (steps: Step[]) => steps.map((s) => `${s.action} ${s.targets.map((t) => t.selector).join(',')}`);

  it('unrolls a 3-person 転入 into rows 1..3, with 追加 before rows 2 and 3 and item.… read from each mover', () => {
    const s = loadScenarioSet(dir).scenarios.get('moveIn')!;
    expect(s.per).to.equal('notice');
    const steps = expandSteps(s.steps, { movers: [person('甲'), person('乙'), person('丙')] }, s.maps);
    const rows = selectors(steps).filter((x) => /txtShimei|btnAddPerson/.test(x));
    expect(rows).to.deep.equal([
      'fill #txtShimei1',
      'click #btnAddPerson',
      'waitFor #txtShimei2',
      'fill #txtShimei2',
      'click #btnAddPerson',
      'waitFor #txtShimei3',
      'fill #txtShimei3',
    ]);
    const names = steps.filter((x) => x.targets[0]?.selector.startsWith('#txtShimei') && x.action === 'fill').map((x) => x.value);
    expect(names.map((v) => (v![0] as { path: string[] }).path.join('.'))).to.deep.equal([
      'movers.0.name',
      'movers.1.name',
      'movers.2.name',
    ]);
    expect(steps.find((x) => x.targets[0]?.selector === '#txtShimei2' && x.action === 'fill')!.label).to.match(
      /^手順 \d+ 「異動者」 2 人目の手順 1$/,
    );
    expect(steps.find((x) => x.targets[0]?.selector === '#txtShimei2')!.label).to.match(/^手順 \d+ 「異動者」 2 人目の addRow 手順 2$/);
    // Nothing of the loop is left for the runner.
    expect(steps.filter((x) => x.action === 'forEach')).to.deep.equal([]);
  });

  it('stops before anything runs when the movers exceed max, or there are none', () => {
    const s = loadScenarioSet(dir).scenarios.get('moveIn')!;
    const ten = Array.from({ length: 10 }, (_, i) => person(`人${i}`));
    expect(() => expandSteps(s.steps, { movers: ten }, s.maps)).to.throw(LoopError, /10 人ですが、この画面に入力できるのは 9 人までです/);
    expect(() => expandSteps(s.steps, { movers: ten.slice(0, 9) }, s.maps)).not.to.throw();
    expect(() => expandSteps(s.steps, { movers: [] }, s.maps)).to.throw(LoopError, /movers の人がいません/);
    expect(() => expandSteps(s.steps, {}, s.maps)).to.throw(LoopError, /movers の人がいません/);
  });

  it('puts a job value into a row selector only when it is plain characters (no quote can change the selector)', () => {
    const s = loadScenarioSet(dir).scenarios.get('relocation')!;
    const ok = expandSteps(s.steps, { movers: [person('甲', '9000000011'), person('乙', '9000000029')] }, s.maps);
    expect(selectors(ok).filter((x) => x.startsWith('check'))).to.deep.equal([
      'check #tblSetai input[type="checkbox"][value="9000000011"]',
      'check #tblSetai input[type="checkbox"][value="9000000029"]',
    ]);
    for (const bad of ['90"] , input[value="1', '', null, '12.x', 'a:hover'])
      expect(() => expandSteps(s.steps, { movers: [person('甲', bad)] }, s.maps), String(bad)).to.throw(
        LoopError,
        /入れられない文字があるか空です/,
      );
  });

  it('refuses per: notice without a loop over the movers (the others would silently be left out)', () => {
    edit('relocation.yaml', (t) => t.replace(/ {2}- forEach: movers\n(( {4}| {6}| {8})[^\n]*\n)+/, ''));
    expect(problems()).to.match(
      /relocation\.yaml:\d+:\d+: steps: per: notice のシナリオは、異動する人を繰り返す手順 \(forEach: movers\) が必要です/,
    );
  });

  it('refuses a loop over the movers in a per-person scenario (each person’s job would enter the whole household)', () => {
    edit('moveIn.yaml', (t) => t.replace(/^per: notice\n/m, ''));
    expect(problems()).to.match(/moveIn\.yaml:\d+:\d+: per: forEach \(movers・members の繰り返し\) は per: notice/);
  });

  it('refuses when: on a loop (skipping it would save a household with nobody in it)', () => {
    edit('moveIn.yaml', (t) => t.replace('    max: 9\n', "    max: 9\n    when: '{{ data.note }}'\n"));
    expect(problems()).to.match(/moveIn\.yaml:\d+:\d+: .*forEach の手順には forEach・max・addRow・steps・name だけを書きます \(when\)/);
  });

  it('refuses to run a job cut otherwise than the scenario now says (per changed while it waited)', async () => {
    const s = loadScenarioSet(dir);
    const runner = new ScenarioRunner({} as never, s, {
      baseUrl: 'http://127.0.0.1:9/',
      credentials: { user: 'u', password: 'p' },
      stepTimeoutMs: 100,
    });
    const movers = [person('甲'), person('乙')];
    for (const per of [undefined, 'person'])
      await runner.run(s.scenarios.get('moveIn')!, { kind: 'notice', ...(per ? { per } : {}), subject: movers[0], movers }).then(
        () => expect.fail('ran'),
        (e: unknown) => {
          expect(e).to.be.instanceOf(BusinessError);
          expect((e as Error).message).to.match(/per: person で作られましたが、シナリオ moveIn\.yaml は per: notice です/);
        },
      );
  });

  it('refuses row values outside a loop, unknown mover items, a commit or extract in a loop, and a loop without max', () => {
    edit('moveIn.yaml', (t) =>
      t
        .replace("value: '{{ item.name }}'", "value: '{{ item.nmae }}'")
        .replace('    max: 9\n', '')
        .replace('  - goto: /jr/ido/tennyu\n', "  - goto: /jr/ido/tennyu\n  - fill: entry.name\n    value: '{{ row }}'\n"),
    );
    edit('relocation.yaml', (t) =>
      t.replace(
        '      - check: relocate.mover\n',
        '      - check: relocate.mover\n      - click: confirm.register\n        commit: true\n',
      ),
    );
    const text = problems();
    expect(text).to.match(/moveIn\.yaml:\d+:\d+: .*movers の人に「nmae」という項目はありません/);
    expect(text).to.match(/moveIn\.yaml:\d+:\d+: .*forEach には max/);
    expect(text).to.match(
      /moveIn\.yaml:\d+:\d+: .*のセレクター #txtShimei\{\{ row \}\} に \{\{ \}\} があります: 行ごとのセレクターは forEach の中でだけ使えます/,
    );
    expect(text).to.match(/moveIn\.yaml:\d+:\d+: .*「row」は forEach の中でだけ使えます/);
    expect(text).to.match(/relocation\.yaml:\d+:\d+: .*forEach の中に登録 \(commit\) は書けません/);
  });

  it('refuses a selector Playwright cannot parse, and text= or xpath= where it is waited for with the error signs', () => {
    edit('_system.yaml', (t) => t.replace("    confirm: '#btnKakunin'\n", "    confirm: '#btnKakunin['\n"));
    edit('relocation.yaml', (t) => t.replace("    household: '#tblSetai'\n", '    household: \'xpath=//table[@id="tblSetai"]\'\n'));
    const text = problems();
    expect(text).to.match(/moveIn\.yaml:\d+:\d+: .*「entry\.confirm」のセレクター #btnKakunin\[ の書き方が正しくありません/);
    expect(text).to.match(/relocation\.yaml:\d+:\d+: .*「relocate\.household」のセレクター xpath=.*waitFor で待つ項目とエラーの印は/);
    edit('_system.yaml', (t) => t.replace('    inputError: \'div.msg:text-matches("^JRE")\'', "    inputError: 'text=JRE'"));
    expect(problems()).to.match(
      /_system\.yaml:\d+:\d+: errors\.business.*「common\.inputError」のセレクター text=JRE: waitFor で待つ項目とエラーの印は/,
    );
  });

  it('tells the queue how to cut the jobs: per notice for the household scenarios, per person otherwise', () => {
    const own = scenarioCheck(root, 'selfsim');
    expect(own('moveIn')).to.equal(true);
    expect(own.per!('moveIn')).to.equal('notice');
    expect(own.per!('relocation')).to.equal('notice');
    expect(own.per!('residentCopy')).to.equal('person');
    const sim = scenarioCheck(configDir, 'sim');
    expect(sim.per!('moveIn')).to.equal('person');
    edit('moveIn.yaml', (t) => t.replace(/^per: notice$/m, 'per: household'));
    expect(() => own.per!('moveIn')).to.throw(/per は person か notice です/);
  });
});
