import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { loginWith } from '../helpers/login.js';
import { cliPath, repoRoot, tempDir } from '../helpers/paths.js';

/** upsmon's NOTIFYCMD calls `madoguchi ups-event`: banner and paused leases on battery, a clean stop on low battery. */
describe('UPS events: on-battery banner, no new RPA leases, graceful stop on FSD', function () {
  this.timeout(90_000);
  const t = tempDir();
  const dataDir = path.join(t.dir, 'data');
  let child: ChildProcess;
  let url: string;
  let db: Knex;
  let exited: Promise<number | null>;
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [cliPath, ...args, '--data-dir', dataDir], { cwd: repoRoot, encoding: 'utf8' });

  before(async () => {
    child = spawn(process.execPath, [cliPath, 'serve', '--port', '0', '--data-dir', dataDir], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /起動しました: (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
    });
    db = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: path.join(dataDir, 'madoguchi.sqlite') },
      useNullAsDefault: true,
    });
  });
  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await db?.destroy();
    t.remove();
  });

  it('shows the banner and stops new leases while on battery, resumes when back online', async () => {
    await createStaff(db, {
      loginId: 'ups-clerk',
      displayName: '停電 確認',
      section: '住民課',
      password: 'Ups-check-2026',
      groups: ['counter'],
      mustChangePassword: false,
    });
    const s = await loginWith(url, db, 'ups-clerk', 'Ups-check-2026');
    const token = cli('agent', 'register', 'rpa-ups').stdout.trim();
    expect(token).to.match(/^mdg_/);
    const now = new Date(Date.now() - 60_000);
    await db('rpa_jobs').insert({
      idempotency_key: 'test:1',
      scenario: 'relocation',
      payload: '{}',
      status: 'queued',
      awaiting_review: false,
      attempts: 0,
      max_attempts: 3,
      available_at: now,
      created_at: now,
      updated_at: now,
    });
    const claim = () => fetch(`${url}api/v1/agent/claim`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

    const onbatt = cli('ups-event', 'ONBATT');
    expect(onbatt.status, onbatt.stderr).to.equal(0);
    await new Promise((r) => setTimeout(r, 1100)); // the server reads the state at most once a second
    const page = await (await fetch(url, { headers: { cookie: s.cookie } })).text();
    expect(page).to.contain('id="power-banner"').and.contain('バッテリーで運転しています');
    const paused = await claim();
    expect(paused.status).to.equal(204);
    expect(paused.headers.get('retry-after')).to.equal('60');

    expect(cli('ups-event', 'ONLINE').status).to.equal(0);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await (await fetch(url, { headers: { cookie: s.cookie } })).text()).to.not.contain('power-banner');
    expect((await claim()).status).to.equal(200);
    expect(cli('ups-event', 'NOPE').status).to.equal(2);
  });

  it('stops the server cleanly on FSD (graceful stop, pid file removed)', async () => {
    expect(existsSync(path.join(dataDir, 'madoguchi.pid'))).to.equal(true);
    const fsd = cli('ups-event', 'FSD');
    expect(fsd.stdout).to.contain('停止を指示しました');
    expect(await exited).to.equal(0);
    expect(existsSync(path.join(dataDir, 'madoguchi.pid'))).to.equal(false);
    expect(((await db('power_state').first('state')) as { state: string }).state).to.equal('shutdown');
  });
});

/** A crash leaves the pid file behind; its number may since belong to another program, which LOWBATT/FSD must not stop. */
describe('UPS events: a stale pid file whose number another program now has is not signalled', function () {
  this.timeout(60_000);
  const t = tempDir();
  const dataDir = path.join(t.dir, 'data');
  let other: ChildProcess;
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [cliPath, ...args, '--data-dir', dataDir], { cwd: repoRoot, encoding: 'utf8' });

  before(async () => {
    other = spawn('sleep', ['60'], { stdio: 'ignore' });
    await new Promise((resolve, reject) => other.once('spawn', resolve).once('error', reject));
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(path.join(dataDir, 'madoguchi.pid'), `${other.pid}\n`);
  });
  after(() => {
    if (other.exitCode === null && other.signalCode === null) other.kill('SIGKILL');
    t.remove();
  });

  it('records the power state, refuses to signal, and leaves the other program running', async function () {
    if (!existsSync('/proc/self/cmdline')) this.skip(); // the program is told apart through /proc
    for (const event of ['LOWBATT', 'FSD']) {
      const r = cli('ups-event', event);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.not.contain('停止を指示しました');
      expect(r.stdout).to.contain(`サーバー (pid ${other.pid}) は動いていません`).and.contain('停止の指示は送りません');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(other.exitCode, 'still running').to.equal(null);
    expect(other.signalCode, 'not signalled').to.equal(null);
  });
});
