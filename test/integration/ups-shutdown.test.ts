import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { parseDocument } from 'yaml';
import { getAs, postForm } from '../helpers/http.js';
import { loginAs, type LoggedIn } from '../helpers/login.js';
import { cliPath, configDir, repoRoot, tempDir } from '../helpers/paths.js';
import { startUpsd, type Upsd, type Upsmon } from '../helpers/upsd.js';

/** upsmon's deadline: SHUTDOWNCMD runs this many seconds after it decides to shut down. */
const FINAL_DELAY = 15;
/** The server's graceful stop budget; FINAL_DELAY ≥ budget + 12 s (upsmon's detection, the ups-event start-up) as the manual asks. */
const STOP_BUDGET = 3;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Retries `probe` until it returns something truthy (status changes travel upsd → upsmon → NOTIFYCMD). */
async function eventually<T>(what: string, probe: () => Promise<T | null | undefined | false>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * The whole path with real parts: dummy-ups → upsd → upsmon (primary) → NOTIFYCMD →
 * `madoguchi ups-event` → the running `madoguchi serve`. OL → OB → OB LB.
 */
describe('UPS shutdown: real upsd and upsmon drive madoguchi from mains to a clean stop inside FINALDELAY', function () {
  this.timeout(120_000);
  const t = tempDir();
  const dataDir = path.join(t.dir, 'data');
  const config = path.join(t.dir, 'config');
  /** What NOTIFYCMD ran and when (epoch ms), and what `ups-event` printed. */
  const eventsLog = path.join(t.dir, 'ups-events.log');
  let upsd: Upsd;
  let upsmon: Upsmon;
  let child: ChildProcess;
  let exited: Promise<number | null>;
  let output = '';
  let url: string;
  let db: Knex;
  let clerk: LoggedIn;
  let admin: LoggedIn;
  let token: string;
  let heldJob: number;
  /** Notices whose acceptance the server confirmed (303): each must survive the stop. */
  const accepted: number[] = [];

  const claim = () => fetch(`${url}api/v1/agent/claim`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  const powerState = async () => ((await db('power_state').where({ id: 1 }).first('state')) as { state: string } | undefined)?.state;

  /** A move-in through the counter screens: new visit → draft → accept. Returns the notice id once accepted. */
  async function acceptMoveIn(n: number): Promise<number> {
    const visit = await postForm(`${url}visits`, clerk, {});
    if (visit.status !== 303) throw new Error(`visit: ${visit.status}`);
    const visitPath = visit.headers.get('location')!;
    const draft = await postForm(`${url}${visitPath.slice(1)}/notices`, clerk, { type: 'moveIn' });
    if (draft.status !== 303) throw new Error(`draft: ${draft.status}`);
    const noticePath = draft.headers.get('location')!;
    const ok = await postForm(`${url}${noticePath.slice(1)}`, clerk, {
      action: 'accept',
      effectiveDate: 'R8.11.30',
      previousAddress: '東京都千代田区千代田1-1',
      newAddress: `本町${n}-1`,
      m0_name: `停電 転入${n}`,
      m0_birthDate: 'H8.5.5',
      m0_sex: '1',
      moving: '0',
      head: '0',
    });
    if (ok.status !== 303) throw new Error(`accept: ${ok.status} ${(await ok.text()).slice(0, 300)}`);
    const id = Number(/\/notices\/(\d+)$/.exec(noticePath)![1]);
    accepted.push(id);
    return id;
  }

  /** The copied configuration reads this upsd, with a short stop budget. */
  function pointConfigAt(u: Upsd): void {
    const yamlFile = path.join(config, 'municipality.yaml');
    const doc = parseDocument(readFileSync(yamlFile, 'utf8'));
    doc.setIn(['ups', 'name'], u.ups);
    doc.setIn(['ups', 'host'], u.host);
    doc.setIn(['ups', 'port'], u.port);
    doc.setIn(['ups', 'stopBudgetSeconds'], STOP_BUDGET);
    writeFileSync(yamlFile, doc.toString());
  }

  /** `madoguchi serve` as systemd runs it (a child process with a pid file). */
  async function serve(): Promise<void> {
    output = '';
    child = spawn(process.execPath, [cliPath, 'serve', '--port', '0', '--data-dir', dataDir, '--config', config], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
      const onData = (d: Buffer) => {
        output += d.toString();
        const m = /起動しました: (http:\/\/\S+)/.exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
    });
  }

  before(async function () {
    upsd = await startUpsd();
    cpSync(configDir, config, { recursive: true });
    pointConfigAt(upsd);
    await serve();
    db = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: path.join(dataDir, 'madoguchi.sqlite') },
      useNullAsDefault: true,
    });

    // upsmon's NOTIFYCMD: exactly what the Ansible role installs, pointed at this data dir.
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    upsmon = await upsd.startUpsmon({
      finalDelay: FINAL_DELAY,
      notifyScript: `echo "$(date +%s%3N) $NOTIFYTYPE" >> ${q(eventsLog)}\nexec ${q(process.execPath)} ${q(cliPath)} ups-event "$NOTIFYTYPE" --data-dir ${q(dataDir)} --config ${q(config)} >> ${q(eventsLog)} 2>&1`,
    });

    clerk = await loginAs(url, db, ['counter']);
    admin = await loginAs(url, db, ['admin']);
    const reg = spawnSync(process.execPath, [cliPath, 'agent', 'register', 'rpa-ups', '--data-dir', dataDir, '--config', config], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    token =
      reg.stdout
        .trim()
        .split(/\s+/)
        .find((w) => w.startsWith('mdg_')) ?? '';
    expect(token, reg.stdout + reg.stderr).to.match(/^mdg_/);
    // Two jobs ready for the agents: one is leased on mains power, the other must wait out the outage.
    const now = new Date(Date.now() - 60_000);
    for (const key of ['ups:held', 'ups:waiting']) {
      await db('rpa_jobs').insert({
        idempotency_key: key,
        scenario: 'moveIn',
        payload: '{}',
        status: 'queued',
        awaiting_review: false,
        attempts: 0,
        max_attempts: 3,
        available_at: now,
        created_at: now,
        updated_at: now,
      });
    }
  });

  after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await db?.destroy();
    await upsd?.stop();
    t.remove();
  });

  it('on mains power (OL): accepts notices and leases an RPA job', async () => {
    expect(await upsd.upsc('ups.status')).to.equal('OL');
    for (let i = 1; i <= 5; i++) await acceptMoveIn(i);
    const res = await claim();
    expect(res.status).to.equal(200);
    heldJob = ((await res.json()) as { job: { id: number } }).job.id;
    expect(((await db('rpa_jobs').where({ id: heldJob }).first('status')) as { status: string }).status).to.equal('leased');
    const health = (await (await fetch(`${url}healthz`)).json()) as {
      status: string;
      ups: { power: string; live: { reachable: boolean; status: string; charge: number } };
    };
    expect(health.status).to.equal('ok');
    expect(health.ups.power).to.equal('online');
    expect(health.ups.live).to.deep.include({ reachable: true, status: 'OL', charge: 100 });
  });

  it('on battery (OB): upsmon reports ONBATT — banner on staff pages, no new leases, dashboard and /healthz show it', async () => {
    await upsd.setVars({ 'ups.status': 'OB DISCHRG', 'battery.charge': '64', 'battery.runtime': '750' });
    await eventually('ONBATT through upsmon', async () => (await powerState()) === 'onBattery');

    const home = await eventually('the banner', async () => {
      const body = await (await getAs(url, clerk)).text();
      return body.includes('id="power-banner"') && body;
    });
    expect(home).to.contain('バッテリーで運転しています');
    // A job is waiting, yet the agent is told to come back later.
    const paused = await claim();
    expect(paused.status).to.equal(204);
    expect(paused.headers.get('retry-after')).to.equal('60');
    expect(((await db('rpa_jobs').where({ idempotency_key: 'ups:waiting' }).first('status')) as { status: string }).status).to.equal(
      'queued',
    );

    // The dashboard reads upsd itself (cached for a few seconds).
    const dashboard = await eventually('the dashboard on battery', async () => {
      const res = await getAs(`${url}admin/operations`, admin);
      expect(res.status).to.equal(200);
      const body = await res.text();
      return body.includes('バッテリー運転・放電中') && body;
    });
    expect(dashboard)
      .to.match(/id="ups-charge">64 %/)
      .and.match(/id="ups-runtime">12 分/);
    expect(dashboard).to.match(/id="ups-power">停電 \(バッテリー運転\)/);
    expect(dashboard).to.contain('id="power-banner"');
    expect(dashboard).to.match(/data-status="leased">1</);
    expect((await getAs(`${url}admin/operations`, clerk)).status, 'counter staff').to.equal(403);

    const res = await fetch(`${url}healthz`);
    expect(res.status, 'on battery is a warning, not a failure').to.equal(200);
    const health = (await res.json()) as {
      status: string;
      warnings: string[];
      ups: { status: string; power: string; event: string; live: { status: string; onBattery: boolean } };
    };
    expect(health.status).to.equal('ok');
    expect(health.warnings).to.include('ups');
    expect(health.ups).to.include({ status: 'warn', power: 'onBattery', event: 'ONBATT' });
    expect(health.ups.live).to.include({ status: 'OB DISCHRG', onBattery: true });
    expect(JSON.stringify(health), 'public: no names, no paths').to.not.contain('停電 転入').and.not.contain(t.dir);

    // The counter keeps working on battery.
    await acceptMoveIn(6);
  });

  it('on low battery (OB LB): upsmon reports LOWBATT — the server stops cleanly before SHUTDOWNCMD, 0 notices lost', async () => {
    // Staff keep accepting notices while the stop comes: what the server confirmed must be kept.
    let stopped = false;
    void exited.then(() => {
      stopped = true;
    });
    const workload = (async () => {
      for (let n = 100; n < 400 && !stopped; n++) {
        try {
          await acceptMoveIn(n);
        } catch {
          await sleep(20); // refused or cut off by the stop: not confirmed, not counted
        }
      }
    })();

    const lowAt = Date.now();
    await upsd.setVars({ 'ups.status': 'OB DISCHRG LB', 'battery.charge': '9', 'battery.runtime': '95' });
    const code = await exited;
    const exitAt = Date.now();
    await workload;
    expect(code, output).to.equal(0);
    // FINALDELAY is the deadline: after it upsmon runs SHUTDOWNCMD and the power goes.
    const events = existsSync(eventsLog) ? readFileSync(eventsLog, 'utf8') : '';
    expect(exitAt - lowAt, `from OB LB (${lowAt}) to the server exit (ms)\n${events}`).to.be.below(FINAL_DELAY * 1000);
    const shutdownAt = await upsmon.waitForShutdown((FINAL_DELAY + 15) * 1000);
    expect(shutdownAt, `SHUTDOWNCMD ran\n${upsmon.logs()}`).to.not.equal(null);
    expect(exitAt, 'the server exited before SHUTDOWNCMD').to.be.below(shutdownAt!);
    console.log(
      `      (OB LB → exit ${exitAt - lowAt} ms; SHUTDOWNCMD ${shutdownAt! - lowAt} ms; FINALDELAY ${FINAL_DELAY} s; ${accepted.length} notices confirmed)`,
    );

    expect(existsSync(path.join(dataDir, 'madoguchi.pid')), 'pid file').to.equal(false);
    expect(await powerState()).to.be.oneOf(['lowBattery', 'shutdown']);
    // Each step logged with its duration; idle keep-alive sockets did not hold the stop up.
    expect(output).to.contain('"step":"http"').and.contain('"forced":false');
    expect(output).to.contain('"step":"rpaLeases"').and.contain('"returned":1');
    expect(output).to.match(/madoguchi stopped/);

    const job = (await db('rpa_jobs').where({ id: heldJob }).first('status', 'leased_by', 'lease_expires_at')) as Record<string, unknown>;
    expect(job).to.deep.equal({ status: 'queued', leased_by: null, lease_expires_at: null });

    expect(accepted.length).to.be.at.least(6);
    const kept = (await db('notices').whereIn('id', accepted).where({ status: 'accepted' }).pluck('id')) as number[];
    expect(
      accepted.filter((id) => !kept.map(Number).includes(id)),
      'accepted notices missing after the stop',
    ).to.deep.equal([]);
    expect(await db.raw('PRAGMA integrity_check')).to.deep.equal([{ integrity_check: 'ok' }]);
  });

  it('after the outage: restarted on mains power, the banner is gone and the returned lease runs again', async () => {
    // The machine comes back: a fresh upsd (FSD is sticky in the old one) reports OL; upsmon sends no ONLINE at boot.
    await upsd.stop();
    upsd = await startUpsd();
    pointConfigAt(upsd);
    await serve();
    expect(await powerState()).to.equal('online');
    expect(output).to.contain('power back on mains');
    expect(await (await getAs(url, clerk)).text()).to.not.contain('power-banner');
    const res = await claim();
    expect(res.status).to.equal(200);
    expect(((await res.json()) as { job: { id: number } }).job.id).to.equal(heldJob);
    child.kill('SIGTERM');
    expect(await exited).to.equal(0);
  });
});
