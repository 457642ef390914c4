import { expect } from 'chai';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BusinessError, guardRef } from '../../rpa-agent/src/runner.js';
import { loadScenarioSet } from '../../rpa-agent/src/scenario.js';
import { configDir } from '../helpers/paths.js';

/** How a scenario keeps an entry from being made twice: declared, and checked before it can run. */
describe('RPA scenarios: idempotency strategies', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'madoguchi-idem-'));
    cpSync(path.join(configDir, 'scenarios', 'selfsim'), dir, { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const edit = (file: string, fn: (s: string) => string) =>
    writeFileSync(path.join(dir, file), fn(readFileSync(path.join(dir, file), 'utf8')));
  const problems = (): string => {
    try {
      loadScenarioSet(dir);
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('loads the shipped strategies: search with match rules, none without a probe', () => {
    const set = loadScenarioSet(dir);
    expect(set.scenarios.get('moveIn')!.idempotency).to.equal('search');
    expect(set.scenarios.get('moveIn')!.probe.match.map((m) => m.cell.selector)).to.deep.equal(['td.jiyu', 'td.shimei']);
    expect(set.scenarios.get('residentCopy')!.idempotency).to.equal('none');
    expect(set.scenarios.get('residentCopy')!.probe.steps).to.deep.equal([]);
    // The other vendor's shipped scenarios keep the default: a probe by madoguchi's reference.
    expect(loadScenarioSet(path.join(configDir, 'scenarios', 'sim')).scenarios.get('moveIn')!.idempotency).to.equal('reference');
  });

  it('refuses a search probe without match rules, a reference probe that does not search by the reference, and a probe under none', () => {
    edit('moveIn.yaml', (s) => s.replace(/ {2}match:\n( {4}[^\n]*\n)+/, ''));
    edit('relocation.yaml', (s) => s.replace(/^idempotency: search$/m, 'idempotency: reference'));
    edit('residentCopy.yaml', (s) => s.replace(/^idempotency: none\n/m, ''));
    const text = problems();
    expect(text).to.match(/moveIn\.yaml:\d+:\d+: probe: idempotency: search には、結果の行とジョブの値を比べる match が必要です/);
    expect(text).to.match(/relocation\.yaml:\d+:\d+: probe\.steps: idempotency: reference の確認は受付番号/);
    expect(text).to.match(/residentCopy\.yaml:\d+:\d+: .*確認 \(probe\) がありません \(idempotency: reference\)/);
  });

  it('never reports a 宛名番号 of the job as the core system’s record number', () => {
    const payload = { subject: { addresseeNo: '000000000019' }, members: [{ addresseeNo: '000000000027' }], head: null };
    expect(guardRef('20261207-0003', payload)).to.equal('20261207-0003');
    for (const wrong of ['000000000019', ' 000000000027 ']) {
      expect(() => guardRef(wrong, payload))
        .to.throw(BusinessError)
        .with.property('message')
        .that.contains('処理番号として宛名番号');
    }
  });
});
