import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { registerApiClient } from '../../server/src/auth/apiClients.js';
import { derivedKeys } from '../../server/src/linkage/forward/keys.js';
import { acceptCertificateRequest } from '../../server/src/certificates/commands/acceptCertificateRequest.js';
import { getNotice } from '../../server/src/notices/queries.js';
import { pruneEvidence } from '../../server/src/rpa/evidence.js';
import { queueSettingsOf, scenarioCheck } from '../../server/src/rpa/jobs.js';
import { loadAppConfig } from '../../server/src/config/appConfig.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { startCoreSim, type CoreSim } from '../fixtures/core-sim/server.js';
import { getAs, postForm } from '../helpers/http.js';
import { loginAs, type LoggedIn } from '../helpers/login.js';
import { configDir, repoRoot, tempDir } from '../helpers/paths.js';
import { agentBin, soakConfig, soakPayload, writeAgentConfig } from '../helpers/rpaSoak.js';

/** Runs the agent CLI without blocking this process (the server under test lives here). */
function runAgent(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [agentBin, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

function waitForOutput(child: ChildProcess, pattern: RegExp, ms = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no ${String(pattern)} in:\n${out}`)), ms);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}

const exitOf = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('exit', (code) => resolve(code))));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The agent against a real server and the core-system simulator, in real Chromium. */
describe('RPA agent: scenarios, entry into the core system, evidence, stop and reconnect', function () {
  this.timeout(120_000);
  const t = tempDir('madoguchi-agent-');
  let server: RunningServer;
  let sim: CoreSim;
  let clerk: LoggedIn;
  let reviewer: LoggedIn;
  let agentConfig: string;
  let config: string;
  let visitId: number;

  const queued = async (payload: Record<string, unknown>, key: string): Promise<number> => {
    const now = new Date(Date.now() - 1000);
    const [row] = await server
      .knex('rpa_jobs')
      .insert({
        idempotency_key: key,
        reference: String(payload.reference),
        scenario: String(payload.type),
        payload: JSON.stringify(payload),
        status: 'queued',
        awaiting_review: false,
        attempts: 0,
        max_attempts: 3,
        available_at: now,
        created_at: now,
        updated_at: now,
      })
      .returning('id');
    return typeof row === 'object' ? (row as { id: number }).id : Number(row);
  };
  const job = async (id: number) => (await server.knex('rpa_jobs').where({ id }).first()) as Record<string, unknown>;

  before(async () => {
    config = soakConfig(t.dir, 30);
    server = await startServer({ configDir: config, dataDir: path.join(t.dir, 'data'), port: 0, host: '127.0.0.1', watch: false });
    sim = await startCoreSim({ sessionTimeoutMs: 3_600_000 });
    const r = {
      addressee_no: '600000000001',
      household_no: 'HR',
      resident_kind: '1',
      resident_status: '1',
      name: '髙橋 﨑子',
      name_kana: 'タカハシ サキコ',
      sex: '2',
      birth_date: '1989-01-08',
      relationship_code1: '02',
      change_reason_code: '01',
      town_name: '本町',
      block_number: '1-1',
    };
    await server.knex('residents').insert({ ...r, ...derivedKeys.residents!(r) });
    clerk = await loginAs(server.url, server.knex, ['counter', 'certificates']);
    reviewer = await loginAs(server.url, server.knex, ['reviewer']);
    const token = await registerApiClient(server.knex, 'rpa-pc-01', 'rpaAgent', { staffLogin: 'test' });
    agentConfig = writeAgentConfig(t.dir, 'rpa-pc-01', server.url, token, sim.url, 'rpa01', { pollSeconds: 0.2 });
    const res = await postForm(`${server.url}visits`, clerk, {});
    visitId = Number(/\/visits\/(\d+)$/.exec(res.headers.get('location') ?? '')![1]);
    await postForm(`${server.url}visits/${visitId}/subjects`, clerk, { addresseeNo: '600000000001' });
  });
  after(async () => {
    await sim.close();
    await server.close();
    t.remove();
  });

  it('names file, line, step and reason for a broken scenario, and accepts the shipped ones', async () => {
    const ok = await runAgent('validate', path.join(configDir, 'scenarios/sim'));
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout).to.contain('moveIn').and.contain('residentCopy').and.contain('incomeTax');
    const broken = path.join(t.dir, 'broken');
    cpSync(path.join(configDir, 'scenarios/sim'), broken, { recursive: true });
    const file = path.join(broken, 'moveIn.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace('fill: entry.kana', 'fill: entry.kanaa')
        .replace('| katakana |', '| katakan |')
        // A misspelled payload path (the reviewer's case): refused, not typed as an empty value.
        .replace("'{{ subject.name }}'", "'{{ subject.nmae }}'"),
    );
    const death = path.join(broken, 'death.yaml');
    writeFileSync(death, readFileSync(death, 'utf8').replace('    commit: true\n', ''));
    const bad = await runAgent('validate', broken);
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.match(/moveIn\.yaml:\d+:\d+: steps\[4\]\.fill: 手順 5「entry\.kanaa」が screens にありません/);
    expect(bad.stderr).to.match(/moveIn\.yaml:\d+:\d+: steps\[4\]\.value: 手順 5: 変換「katakan」はありません/);
    expect(bad.stderr).to.match(/death\.yaml:\d+:\d+: steps: 登録する手順 \(commit: true\) はちょうど 1 つ必要です/);
    expect(bad.stderr).to.match(/moveIn\.yaml:\d+:\d+: steps\[\d+\]\.value: 手順 \d+: ペイロードに「subject\.nmae」という項目はありません/);
  });

  it('check-scenarios walks every scenario up to the saving button, saves nothing, and catches a renamed selector', async () => {
    const ok = await runAgent('check-scenarios', '--config', agentConfig);
    expect(ok.status, ok.stdout + ok.stderr).to.equal(0);
    expect(ok.stdout.match(/^OK /gm)).to.have.length(15);
    expect(sim.entries()).to.have.length(0);
    // A core-system upgrade renames the 転入 screen's フリガナ field.
    sim.renameSelector('tennyu', 'kana', 'kana_kanji');
    try {
      const ng = await runAgent(
        'check-scenarios',
        '--config',
        agentConfig,
        '--scenario',
        'moveIn',
        'specialMoveIn',
        'relocation',
        'residentCopy',
      );
      expect(ng.status).to.equal(1);
      expect(ng.stdout).to.match(/^NG {2}moveIn .*entry\.kana \(#kana\)/m);
      expect(ng.stdout).to.match(/^NG {2}specialMoveIn /m);
      expect(ng.stdout).to.match(/^OK {2}relocation /m);
      expect(ng.stdout.match(/^NG /gm)).to.have.length(2);
    } finally {
      sim.renameSelector('tennyu', 'kana_kanji', 'kana');
    }
    expect(sim.entries()).to.have.length(0);
  });

  it('enters a reviewed notice and a certificate request exactly as the core system wants them, and marks the notice 入力済', async () => {
    const created = await postForm(`${server.url}visits/${visitId}/notices`, clerk, { type: 'relocation' });
    const nid = Number(/notices\/(\d+)$/.exec(created.headers.get('location')!)![1]);
    const accepted = await postForm(`${server.url}visits/${visitId}/notices/${nid}`, clerk, {
      action: 'accept',
      effectiveDate: 'R8.11.28',
      newAddress: '緑ケ丘二丁目3番地4',
      m0_addresseeNo: '600000000001',
      m0_name: '髙橋 﨑子',
      m0_kana: 'たかはし さきこ',
      m0_birthDate: 'H1.1.8',
      m0_sex: '2',
      m0_relationship: '世帯主',
      moving: '0',
      head: '0',
    });
    expect(accepted.status).to.equal(303);
    expect((await postForm(`${server.url}notices/${nid}/move`, reviewer, { move: 'review' })).status).to.equal(303);
    const cfg = loadAppConfig(config);
    const { requestId: reqId } = await acceptCertificateRequest(
      server.knex,
      {
        visitId,
        priced: {
          total: 300,
          lines: [
            {
              typeId: 'residentCopy',
              name: '住民票の写し',
              subject: { addresseeNo: '600000000001' },
              copies: 2,
              unit: '通',
              purposeId: 'self',
              unitFee: 150,
              exempt: false,
              amount: 300,
              options: { scope: 'household', showHouseholdHead: true, showDomicile: false },
            },
          ],
        },
        relation: 'self',
        memo: '',
        save: true,
      },
      { permissions: new Set<string>() },
      { staffLogin: 'test', staffId: clerk.staffId },
      { settings: queueSettingsOf(cfg), hasScenario: scenarioCheck(config, 'sim') },
    );
    const certJob = (await server.knex('rpa_jobs').where({ certificate_request_id: reqId }).first()) as Record<string, unknown>;
    expect(certJob.reference).to.equal(`MDC-${reqId}-1`);

    const ran = await runAgent('run', '--until-empty', '--config', agentConfig);
    expect(ran.status, ran.stdout + ran.stderr).to.equal(0);
    expect(ran.stdout).not.to.contain('﨑子'); // the log names jobs, never the person
    const tenkyo = sim.entries().find((e) => e.reference === `MDG-${nid}-1`)!;
    expect(tenkyo.procedure).to.equal('tenkyo');
    expect(tenkyo.fields).to.include({
      ido_ymd: 'R8.11.28',
      shimei: '髙橋 﨑子',
      kana: 'タカハシ　サキコ',
      seinen_gengo: 'H',
      seinen_y: '1',
      seinen_m: '1',
      seinen_d: '8',
      seibetsu: '2',
      jusho: '緑ケ丘二丁目3番地4',
      kyu_jusho: '本町1-1',
      zokugara: '01',
    });
    const shomei = sim.entries().find((e) => e.reference === `MDC-${reqId}-1`)!;
    expect(shomei.procedure).to.equal('jumin_shomei');
    expect(shomei.fields).to.include({ hani: '1', zokugara_kisai: '1', honseki: '', tsusu: '2', jusho: '本町1-1' });
    const entered = (await getNotice(server.knex, nid))!;
    expect({ status: entered.status, coreRefs: entered.coreRefs }).to.deep.equal({ status: 'entered', coreRefs: [tenkyo.recordNo] });
    expect((await job(Number(certJob.id))).core_ref).to.equal(shomei.recordNo);
    const page = await (await getAs(`${server.url}rpa/jobs`, reviewer)).text();
    expect(page).to.contain('rpa-pc-01').and.contain('0.1.0').and.contain('稼働中');
    const health = (await (await fetch(`${server.url}healthz`)).json()) as {
      rpa: { status: string; agentsSeen: number; agentsKnown: number; queued: number };
    };
    expect(health.rpa).to.include({ status: 'ok', agentsSeen: 1, agentsKnown: 1, queued: 0 });
  });

  it('sends refused data to staff with a screenshot and a trace, readable only with the right, audited, pruned after retention', async () => {
    const payload = soakPayload(1, () => 0.5, true);
    const id = await queued(payload, 'test:refused');
    const ran = await runAgent('run', '--until-empty', '--config', agentConfig);
    expect(ran.status, ran.stdout + ran.stderr).to.equal(0);
    const j = await job(id);
    expect(j.status).to.equal('needsAttention');
    expect(j.error_kind).to.equal('business');
    expect(String(j.error_message)).to.contain('入力内容に誤りがあります');
    expect(sim.entries().filter((e) => e.reference === payload.reference)).to.have.length(0);
    const evidence = (await server.knex('rpa_evidence').where({ job_id: id }).orderBy('id')) as {
      id: number;
      kind: string;
      file: string;
      bytes: number;
    }[];
    expect(evidence.map((e) => e.kind)).to.deep.equal(['screenshot', 'trace']);
    const dataDir = path.join(t.dir, 'data');
    expect(readFileSync(path.join(dataDir, evidence[0]!.file)).subarray(1, 4).toString()).to.equal('PNG');
    const detail = await (await getAs(`${server.url}rpa/jobs/${id}`, reviewer)).text();
    expect(detail).to.match(/入力内容に誤りがあります/);
    expect(detail).to.contain(`/rpa/evidence/${evidence[0]!.id}`);
    const png = await getAs(`${server.url}rpa/evidence/${evidence[0]!.id}`, reviewer);
    expect(png.status).to.equal(200);
    expect(png.headers.get('content-type')).to.equal('image/png');
    expect((await getAs(`${server.url}rpa/evidence/${evidence[1]!.id}`, reviewer)).headers.get('content-disposition')).to.contain(
      'trace.zip',
    );
    expect((await getAs(`${server.url}rpa/evidence/${evidence[0]!.id}`, clerk)).status).to.equal(403);
    const audited = await server
      .knex('audit_trail')
      .where({ action: 'rpa.evidence.view', staff_id: reviewer.staffId })
      .count({ n: '*' })
      .first();
    expect(Number((audited as { n: number }).n)).to.equal(2);
    expect(await pruneEvidence(server.knex, dataDir, 30)).to.equal(0);
    expect(await pruneEvidence(server.knex, dataDir, 30, new Date(Date.now() + 31 * 86_400_000))).to.be.greaterThanOrEqual(2);
    expect(existsSync(path.join(dataDir, evidence[0]!.file))).to.equal(false);
    expect((await getAs(`${server.url}rpa/evidence/${evidence[0]!.id}`, reviewer)).status).to.equal(404);
  });

  it('keeps a screenshot of every step when asked (screenshots: everyStep)', async () => {
    const token = await registerApiClient(server.knex, 'rpa-pc-steps', 'rpaAgent', { staffLogin: 'test' });
    const file = writeAgentConfig(t.dir, 'rpa-pc-steps', server.url, token, sim.url, 'rpa02', { screenshots: 'everyStep' });
    const payload = soakPayload(4, () => 0.2, false);
    const id = await queued(payload, 'test:steps');
    const ran = await runAgent('run', '--until-empty', '--config', file);
    expect(ran.status, ran.stdout + ran.stderr).to.equal(0);
    expect((await job(id)).status).to.equal('succeeded');
    const shots = (await server.knex('rpa_evidence').where({ job_id: id, kind: 'screenshot' }).count({ n: '*' }).first()) as { n: number };
    const steps = (readFileSync(path.join(configDir, 'scenarios/sim/moveIn.yaml'), 'utf8').match(/^ {2}- /gm) ?? []).length;
    expect(Number(shots.n)).to.equal(steps);
    expect(await server.knex('rpa_evidence').where({ job_id: id, kind: 'trace' }).count({ n: '*' }).first()).to.deep.equal({ n: 0 });
  });

  it('gives the lease back on SIGTERM before the saving step, and stops with exit code 0', async () => {
    sim.setLatency(700);
    const payload = soakPayload(2, () => 0.3, false);
    const id = await queued(payload, 'test:stop');
    const child = spawn(process.execPath, [agentBin, 'run', '--config', agentConfig], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      await waitForOutput(child, /ジョブを預かりました/);
      child.kill('SIGTERM');
      expect(await exitOf(child)).to.equal(0);
    } finally {
      sim.setLatency(0);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const j = await job(id);
    expect(j.status).to.equal('queued');
    expect(j.attempts).to.equal(0);
    expect(j.leased_by).to.equal(null);
    expect(sim.entries().filter((e) => e.reference === payload.reference)).to.have.length(0);
    await server.knex('rpa_jobs').where({ id }).update({ status: 'cancelled' });
  });

  it('waits for a server that is away and carries on when it is back', async () => {
    const port = await freePort();
    const dataDir = path.join(t.dir, 'data2');
    const cfgDir = soakConfig(path.join(t.dir, 'away'), 30);
    let second = await startServer({ configDir: cfgDir, dataDir, port, host: '127.0.0.1', watch: false });
    const token = await registerApiClient(second.knex, 'rpa-away', 'rpaAgent', { staffLogin: 'test' });
    await second.close();
    const file = writeAgentConfig(t.dir, 'rpa-away', `http://127.0.0.1:${port}/`, token, sim.url, 'rpa02', { pollSeconds: 0.2 });
    const child = spawn(process.execPath, [agentBin, 'run', '--config', file], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const seen = waitForOutput(child, /入力しました/, 90_000);
      await waitForOutput(child, /サーバーに接続できません/);
      second = await startServer({ configDir: cfgDir, dataDir, port, host: '127.0.0.1', watch: false });
      const payload = soakPayload(3, () => 0.7, false);
      const now = new Date(Date.now() - 1000);
      await second.knex('rpa_jobs').insert({
        idempotency_key: 'away:1',
        reference: String(payload.reference),
        scenario: 'moveIn',
        payload: JSON.stringify(payload),
        status: 'queued',
        awaiting_review: false,
        attempts: 0,
        max_attempts: 3,
        available_at: now,
        created_at: now,
        updated_at: now,
      });
      const out = await seen;
      expect(out).to.contain('サーバーに再接続しました');
      child.kill('SIGTERM');
      expect(await exitOf(child)).to.equal(0);
      expect(sim.entries().filter((e) => e.reference === payload.reference)).to.have.length(1);
      expect((await second.knex('rpa_jobs').where({ idempotency_key: 'away:1' }).first('status')) as unknown).to.deep.equal({
        status: 'succeeded',
      });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await second.close();
    }
  });
});
