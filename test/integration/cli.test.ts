import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { verifyPassword } from '../../server/src/auth/passwords.js';
import { sqliteKnex } from '../../server/src/db/connect.js';
import { cliPath, configDir, repoRoot, tempDir } from '../helpers/paths.js';

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Starts the CLI and waits for the line that says the server is up. */
function startCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 90_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /起動しました: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${out}`));
    });
  });
}

function stop(s: Started): Promise<number | null> {
  return new Promise((resolve) => {
    s.child.removeAllListeners('exit');
    s.child.on('exit', (code) => resolve(code));
    s.child.kill('SIGTERM');
  });
}

describe('madoguchi CLI', function () {
  this.timeout(120_000);
  const t = tempDir();
  after(() => t.remove());

  it('`npx madoguchi --help` works from the repository root and lists the commands', () => {
    const r = spawnSync('npx', ['madoguchi', '--help'], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    for (const cmd of ['serve', 'demo', 'generate', 'ingest', '--data-dir', '--config', '--port']) expect(r.stdout).to.contain(cmd);
  });

  it('demo on an empty data dir generates, loads, creates staff and serves; SIGTERM stops it cleanly', async () => {
    const dataDir = path.join(t.dir, 'demo');
    const s = await startCli(['demo', '--people', '300', '--port', '0', '--data-dir', dataDir]);
    const health = (await (await fetch(`${s.url}healthz`)).json()) as { status: string; residents: number };
    expect(health).to.include({ status: 'ok', residents: 300 });
    expect(s.output()).to.contain('デモの町');
    const logins = readFileSync(path.join(dataDir, 'demo-logins.txt'), 'utf8').trim().split('\n');
    expect(logins).to.have.length(6);
    expect(statSync(path.join(dataDir, 'demo-logins.txt')).mode & 0o777).to.equal(0o600);
    expect(s.output()).to.contain(logins[0]!.trim());
    expect(await stop(s)).to.equal(0);
    const log = readdirSync(path.join(dataDir, 'logs')).find((f) => f.endsWith('.log'))!;
    expect(readFileSync(path.join(dataDir, 'logs', log), 'utf8')).to.contain('madoguchi stopped');

    // A second run on the same data dir only starts the server.
    const again = await startCli(['demo', '--port', '0', '--data-dir', dataDir]);
    expect(again.output()).to.not.contain('デモの町');
    const h2 = (await (await fetch(`${again.url}healthz`)).json()) as { residents: number };
    expect(h2.residents).to.equal(300);
    expect(await stop(again)).to.equal(0);
  });

  it('takes the data dir, config dir and port from MADOGUCHI_* variables', async () => {
    const dataDir = path.join(t.dir, 'env');
    const s = await startCli(['serve'], { MADOGUCHI_DATA_DIR: dataDir, MADOGUCHI_CONFIG_DIR: configDir, MADOGUCHI_PORT: '0' });
    expect((await fetch(`${s.url}healthz`)).status).to.equal(200);
    expect(readdirSync(dataDir)).to.include('madoguchi.sqlite');
    expect(await stop(s)).to.equal(0);
  });

  it('exits non-zero with the file, line and path of a configuration error', () => {
    const bad = path.join(t.dir, 'badconfig');
    mkdirSync(bad, { recursive: true });
    writeFileSync(
      path.join(bad, 'municipality.yaml'),
      readFileSync(path.join(configDir, 'municipality.yaml'), 'utf8').replace('code: "439991"', 'code: "43999"'),
    );
    const r = spawnSync(process.execPath, [cliPath, 'serve', '--config', bad, '--data-dir', path.join(t.dir, 'x'), '--port', '0'], {
      encoding: 'utf8',
    });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(/municipality\.yaml:\d+:\d+: municipality\.code: /);
  });

  it('generate and ingest from the command line, with an unknown option refused', () => {
    const out = path.join(t.dir, 'gen');
    const g = spawnSync(
      process.execPath,
      [cliPath, 'generate', '--people', '200', '--out', out, '--encoding', 'cp932', '--seed', 'cli', '--as-of', '2026-11-01', '--json'],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    expect(g.status, g.stderr).to.equal(0);
    const summary = JSON.parse(g.stdout.trim().split('\n').pop()!) as { people: number; peakRssMb: number };
    expect(summary.people).to.equal(200);
    expect(summary.peakRssMb).to.be.greaterThan(10);
    const i = spawnSync(process.execPath, [cliPath, 'ingest', out, '--data-dir', path.join(t.dir, 'gen-data')], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(i.status, i.stderr).to.equal(0);
    expect(i.stdout).to.match(/001o005@1\.0\t取込済\t20[0-9] 件\tcp932\t不正 0\t外字未対応 0/);
    const bad = spawnSync(process.execPath, [cliPath, 'generate', '--people', '50', '--out', out], { encoding: 'utf8' });
    expect(bad.status).to.not.equal(0);
    expect(bad.stderr).to.contain('100〜1000000');
  });

  it('ingest without any 同定マップ says that no map was read, rather than only "not in the map"', async () => {
    // A differential folder ingested apart from the full files' folder (where gaiji-map.csv was):
    // the sizing bench's 1,000,000-people next-day files were quarantined this way.
    const traps = path.join(repoRoot, 'test/fixtures/linkage-traps');
    const folder = path.join(t.dir, 'no-map', '001o005');
    mkdirSync(folder, { recursive: true });
    // The trap files carry 15-digit 宛名番号.
    const config = path.join(t.dir, 'no-map-config');
    cpSync(configDir, config, { recursive: true });
    const yaml = path.join(config, 'municipality.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace(/^ {2}digits: 10$/m, '  digits: 15'));
    cpSync(path.join(traps, 'gaiji-unmapped/001o005_439991_20261201020000.csv'), path.join(folder, '001o005_439991_20261201020000.csv'));
    const ingest = (...more: string[]) =>
      spawnSync(
        process.execPath,
        [cliPath, 'ingest', path.dirname(folder), '--config', config, '--data-dir', path.join(t.dir, 'no-map-data'), ...more],
        {
          cwd: repoRoot,
          encoding: 'utf8',
        },
      );
    const without = ingest();
    expect(without.status).to.equal(3);
    expect(without.stdout).to.contain('隔離').and.contain('同定マップにない外字があります (U+E000)');
    expect(without.stdout).to.contain('同定マップ: なし').and.contain('--gaiji-map');
    // With a map that lacks only that one character, the line names the map and not "なし".
    const withMap = ingest('--gaiji-map', path.join(traps, 'gaiji-map.csv'));
    expect(withMap.status).to.equal(3);
    expect(withMap.stdout)
      .to.contain(`同定マップ: ${path.join(traps, 'gaiji-map.csv')}`)
      .and.not.contain('同定マップ: なし');
    // The runs' own messages (what /linkage shows) say the same: no map for the first, none of that for the second.
    const knex = sqliteKnex(path.join(t.dir, 'no-map-data', 'madoguchi.sqlite'));
    try {
      const messages = (await knex('linkage_runs').orderBy('id').pluck('message')) as string[];
      expect(messages).to.have.length(2);
      expect(messages[0]).to.contain('同定マップを読み込んでいません');
      expect(messages[1]).to.not.contain('同定マップを読み込んでいません');
    } finally {
      await knex.destroy();
    }
  });

  it('registers, lists and revokes a machine client; the token is printed once and stored only as a hash', () => {
    const dataDir = path.join(t.dir, 'clients');
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [cliPath, 'client', ...args, '--data-dir', dataDir], { cwd: repoRoot, encoding: 'utf8' });
    const reg = run('register', 'rpa-01', '--group', 'counter');
    expect(reg.status, reg.stderr).to.equal(0);
    const token = reg.stdout.trim();
    expect(token).to.match(/^mdg_[A-Za-z0-9_-]{43}$/);
    expect(run('register', 'rpa-01').stderr).to.contain('登録済み');
    expect(run('list').stdout).to.match(/^rpa-01\tcounter\t-\t有効\t/m);
    expect(run('revoke', 'rpa-01').status).to.equal(0);
    expect(run('list').stdout).to.match(/^rpa-01\tcounter\t-\t失効\t/m);
    const again = run('revoke', 'rpa-01');
    expect(again.status).to.equal(2);
    expect(readFileSync(path.join(dataDir, 'madoguchi.sqlite')).includes(token)).to.equal(false);
  });

  it('creates the first administrator once, with a one-time password to change at the first login', async () => {
    const dataDir = path.join(t.dir, 'first-admin');
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [cliPath, 'staff', 'add-admin', ...args, '--data-dir', dataDir], { cwd: repoRoot, encoding: 'utf8' });
    const made = run('kanri01', '--name', '情報 太郎');
    expect(made.status, made.stderr).to.equal(0);
    const password = made.stdout.trim();
    expect(password).to.match(/^[A-Za-z0-9]{14}$/);
    expect(made.stderr).to.contain('すぐに変更してください');
    const again = run('kanri01');
    expect(again.status).to.equal(2);
    expect(again.stdout.trim()).to.equal('');
    const knex = sqliteKnex(path.join(dataDir, 'madoguchi.sqlite'));
    try {
      const row = (await knex('staff').where({ login_id: 'kanri01' }).first()) as {
        id: number;
        password_hash: string;
        must_change_password: number;
        display_name: string;
      };
      expect(await verifyPassword(password, row.password_hash)).to.equal(true);
      expect(Boolean(row.must_change_password)).to.equal(true);
      expect(row.display_name).to.equal('情報 太郎');
      const groups = (await knex('staff_group_members')
        .join('staff_groups', 'staff_groups.id', 'staff_group_members.group_id')
        .where({ staff_id: row.id })
        .pluck('staff_groups.code')) as string[];
      expect(groups).to.deep.equal(['admin']);
      expect(readFileSync(path.join(dataDir, 'madoguchi.sqlite')).includes(password)).to.equal(false);
    } finally {
      await knex.destroy();
    }
  });

  it('registers a card reader helper bound to a counter of municipality.yaml, and refuses an unknown counter', () => {
    const dataDir = path.join(t.dir, 'card-readers');
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [cliPath, ...args, '--data-dir', dataDir], { cwd: repoRoot, encoding: 'utf8' });
    const unknown = run('card-reader', 'register', 'card-x', '--counter', 'nowhere');
    expect(unknown.status).to.equal(2);
    expect(unknown.stderr).to.contain('shimin-1');
    const ok = run('card-reader', 'register', 'card-shimin-1', '--counter', 'shimin-1');
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout.trim()).to.match(/^mdg_[A-Za-z0-9_-]{43}$/);
    expect(run('client', 'list').stdout).to.match(/^card-shimin-1\tcardReader\tshimin-1\t有効\t/m);
  });
});
