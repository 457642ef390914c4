import { expect } from 'chai';
import { cpSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { registerApiClient } from '../../server/src/auth/apiClients.js';
import { loadCertificateCatalog } from '../../server/src/certificates/catalog.js';
import { priceRequest } from '../../server/src/certificates/fees.js';
import { loadAppConfig } from '../../server/src/config/appConfig.js';
import { startServer } from '../../server/src/main.js';
import { enqueueCertificateRequest, enqueueNotice, queueSettingsOf, scenarioCheck } from '../../server/src/rpa/jobs.js';
import { makeNotice, makeResident, makeStaff, makeVisit } from '../helpers/factories.js';
import { configDir, tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * Several core systems (001 §12: 所得・課税証明 on the 税システム besides 住民記録): each job goes
 * to the system whose scenario folder has its scenario, each agent serves its own system, and each
 * system keeps its own service hours.
 */
describe('RPA with several core systems (rpa.systems): routing, agents per system, own service hours', function () {
  this.timeout(60_000);
  const t = tempDir();
  let config: string;
  let server: TestServer;
  let tokens: { sim: string; tax: string; other: string };

  /** The shipped configuration with a 税システム: its own folder holding incomeTax.yaml, closed all day but one minute. */
  function withTaxSystem(dir: string, hours: { from: string; to: string }): string {
    const out = path.join(dir, 'config');
    cpSync(configDir, out, { recursive: true });
    const file = path.join(out, 'municipality.yaml');
    const doc = parseDocument(readFileSync(file, 'utf8'));
    doc.setIn(['rpa', 'systems'], { tax: { title: '税システム', serviceHours: hours } });
    writeFileSync(file, doc.toString());
    const tax = path.join(out, 'scenarios', 'tax');
    mkdirSync(tax, { recursive: true });
    cpSync(path.join(out, 'scenarios', 'sim', '_system.yaml'), path.join(tax, '_system.yaml'));
    cpSync(path.join(out, 'scenarios', 'sim', 'incomeTax.yaml'), path.join(tax, 'incomeTax.yaml'));
    return out;
  }

  before(async () => {
    config = withTaxSystem(path.join(t.dir, 'a'), { from: '00:00', to: '24:00' });
    renameSync(path.join(config, 'scenarios', 'sim', 'incomeTax.yaml'), path.join(t.dir, 'incomeTax.yaml.moved'));
    server = await startTestServer({ configDir: config });
    tokens = {
      sim: await registerApiClient(server.knex, 'rpa-sim', 'rpaAgent', { staffLogin: 'test' }),
      tax: await registerApiClient(server.knex, 'rpa-tax', 'rpaAgent', { staffLogin: 'test' }),
      other: await registerApiClient(server.knex, 'rpa-other', 'rpaAgent', { staffLogin: 'test' }),
    };
  });
  after(async () => {
    await server?.close();
    t.remove();
  });

  const claim = (token: string, body: Record<string, unknown>) =>
    fetch(`${server.url}api/v1/agent/claim`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('refuses to start when a scenario is in two systems’ folders, or a configured system has no folder', async () => {
    const both = withTaxSystem(path.join(t.dir, 'b'), { from: '00:00', to: '24:00' });
    const start = (dir: string) =>
      startServer({
        configDir: dir,
        dataDir: path.join(t.dir, `data-${path.basename(path.dirname(dir))}`),
        port: 0,
        host: '127.0.0.1',
        watch: false,
      }).then(
        async (s) => {
          await s.close();
          return '';
        },
        (e: unknown) => (e as Error).message,
      );
    expect(await start(both)).to.match(/シナリオ incomeTax\.yaml が基幹系 sim と tax の両方のフォルダーにあります/);
    const doc = parseDocument(readFileSync(path.join(both, 'municipality.yaml'), 'utf8'));
    doc.setIn(['rpa', 'systems', 'kokuho'], { title: '国保システム' });
    writeFileSync(path.join(both, 'municipality.yaml'), doc.toString());
    expect(await start(both)).to.match(/基幹系 kokuho のシナリオのフォルダー \(scenarios\/kokuho\) がありません/);
  });

  it('puts each job on its system, leases it only to an agent of that system, and sends each agent its own scenarios', async () => {
    const cfg = loadAppConfig(config);
    const check = scenarioCheck(config, cfg.rpa);
    expect([check.system!('incomeTax'), check.system!('relocation')]).to.deep.equal(['tax', 'sim']);
    const r = await makeResident(server.knex);
    const priced = priceRequest(loadCertificateCatalog(config), {
      lines: [{ typeId: 'incomeTax', subject: { addresseeNo: r.addressee_no }, copies: 1, purposeId: 'self', options: { year: 2025 } }],
    });
    const [taxJob] = await server.knex.transaction((trx) => enqueueCertificateRequest(trx, 4242, priced, queueSettingsOf(cfg), check));
    const staff = await makeStaff(server.knex, ['counter']);
    const notice = await makeNotice(server.knex, await makeVisit(server.knex, staff), staff, 'accepted', [{ addresseeNo: r.addressee_no }]);
    notice.type = 'relocation';
    const [simJob] = await server.knex.transaction((trx) => enqueueNotice(trx, notice, queueSettingsOf(cfg), check));
    await server.knex('rpa_jobs').where({ id: simJob }).update({ awaiting_review: false });
    expect(await server.knex('rpa_jobs').whereIn('id', [taxJob!, simJob!]).orderBy('id').pluck('core_system')).to.deep.equal([
      'tax',
      'sim',
    ]);

    // An agent of a system nobody configured is told so; the tax agent gets the tax job only, the 住民記録 agent the other.
    const unknown = await claim(tokens.other, { coreSystem: 'kokuho' });
    expect(unknown.status).to.equal(400);
    expect(await unknown.text()).to.contain('基幹系 kokuho はサーバーの設定');
    const tax = (await (await claim(tokens.tax, { coreSystem: 'tax' })).json()) as { job: { id: number; scenario: string } };
    expect(tax.job).to.include({ id: taxJob, scenario: 'incomeTax' });
    expect((await claim(tokens.tax, { coreSystem: 'tax' })).status, 'nothing else for the tax agent').to.equal(204);
    const sim = (await (await claim(tokens.sim, {})).json()) as { job: { id: number } };
    expect(sim.job.id, 'an agent naming no system serves the main one').to.equal(simJob);

    const files = async (q: string) =>
      (await (await fetch(`${server.url}api/v1/agent/scenarios${q}`, { headers: { authorization: `Bearer ${tokens.tax}` } })).json()) as {
        coreSystem: string;
        files: { name: string }[];
      };
    const taxFiles = await files('?coreSystem=tax');
    expect(taxFiles.coreSystem).to.equal('tax');
    expect(taxFiles.files.map((f) => f.name)).to.deep.equal(['_system.yaml', 'incomeTax.yaml']);
    expect((await files('')).coreSystem).to.equal('sim');
  });

  it('keeps each system’s own service hours: the tax system closed for its night batch, 住民記録 open', async function () {
    const closed = withTaxSystem(path.join(t.dir, 'c'), { from: '00:00', to: '00:01' });
    renameSync(path.join(closed, 'scenarios', 'sim', 'incomeTax.yaml'), path.join(t.dir, 'incomeTax-c.yaml.moved'));
    const s = await startTestServer({ configDir: closed });
    try {
      const token = await registerApiClient(s.knex, 'rpa-tax-c', 'rpaAgent', { staffLogin: 'test' });
      const main = await registerApiClient(s.knex, 'rpa-sim-c', 'rpaAgent', { staffLogin: 'test' });
      const ask = (tok: string, body: Record<string, unknown>) =>
        fetch(`${s.url}api/v1/agent/claim`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const now = new Date();
      const minuteOfDay = (now.getUTCHours() * 60 + now.getUTCMinutes() + 9 * 60) % 1440;
      if (minuteOfDay === 0) this.skip(); // the one open minute (00:00 JST)
      const res = await ask(token, { coreSystem: 'tax' });
      expect(res.status).to.equal(204);
      expect(Number(res.headers.get('retry-after'))).to.be.greaterThan(0);
      const open = await ask(main, {});
      expect(open.status).to.equal(204);
      expect(open.headers.get('retry-after'), 'the main system has no hours: open, merely nothing to do').to.equal(null);
    } finally {
      await s.close();
    }
  });
});
