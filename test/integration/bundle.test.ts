import { expect } from 'chai';
import Database from 'better-sqlite3';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  readFileSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { archiveName, readManifest, repackRelease, topDirName } from '../../installer/src/index.js';
import { repoRoot, tempDir } from '../helpers/paths.js';

/**
 * The offline bundle end to end: `npm run bundle` once, then verify.sh, install.sh inside a
 * network namespace with no interface but lo, and upgrade.sh to a release whose /healthz fails
 * (automatic rollback, database restored) and to a good one (switch, previous, migration, pruning).
 */
const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const run = (cmd: string, args: string[], opts: { cwd?: string } = {}): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...opts });
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Servers started by install.sh/upgrade.sh run in their own session: stop the whole group. */
async function stopGroup(pid: number): Promise<void> {
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    try {
      process.kill(-pid, signal);
    } catch {
      return;
    }
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (!alive(pid)) return;
  }
}

/** `madoguchi …` as an administrator types it: found through PATH, from the install's --bin-dir. */
const onPath = (binDir: string, args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> =>
  spawnSync('madoguchi', args, { encoding: 'utf8', env: { PATH: `${binDir}:/usr/bin:/bin:/usr/sbin:/sbin`, ...env } });

function plainHttp(
  port: number,
  method: string,
  urlPath: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: urlPath, agent: false, headers: { ...headers, connection: 'close' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const serverPid = (dataDir: string) => Number(readFileSync(path.join(dataDir, 'madoguchi.pid'), 'utf8').trim());

describe('offline bundle: npm run bundle, verify.sh, install.sh, upgrade.sh with rollback', function () {
  this.timeout(120_000);
  let tmp: { dir: string; remove(): void };
  let out: string;
  let archive: string;
  let top: string;
  let bundleRun: SpawnSyncReturns<string>;
  const dataDirs: string[] = [];
  const pids = new Set<number>();

  before(async function () {
    this.timeout(300_000);
    tmp = tempDir('madoguchi-bundle-');
    out = path.join(tmp.dir, 'out');
    // gzip level 1: the archive is the same release, made in a third of the time (the suite's budget).
    bundleRun = run('npm', ['run', 'bundle', '--', '--out', out, '--gzip-level', '1'], { cwd: repoRoot });
    expect(bundleRun.status, bundleRun.stderr).to.equal(0);
    archive = path.join(out, archiveName(version));
    const x = path.join(tmp.dir, 'x');
    run('mkdir', ['-p', x]);
    const untar = run('tar', ['-xzf', archive, '-C', x]);
    expect(untar.status, untar.stderr).to.equal(0);
    top = path.join(x, topDirName(version));
  });

  after(async function () {
    this.timeout(120_000); // a few hundred MB of releases to remove
    for (const d of dataDirs) if (existsSync(path.join(d, 'madoguchi.pid'))) pids.add(serverPid(d));
    for (const pid of pids) await stopGroup(pid);
    tmp?.remove();
  });

  it('builds one archive with its .sha256, shows progress, and a manifest whose checksums match every file', () => {
    expect(bundleRun.stderr).to.match(/コピー \[.*\] 100% [\d.]+ MB \/ [\d.]+ MB (\d+)\/\1 ファイル/);
    expect(bundleRun.stdout).to.match(/バンドル作成完了: madoguchi-[\d.]+-linux-x64\.tar\.gz — [\d,]+ ファイル/);
    expect(readdirSync(path.dirname(top))).to.deep.equal([topDirName(version)]);
    expect(readFileSync(`${archive}.sha256`, 'utf8')).to.equal(`${sha256(archive)}  ${archiveName(version)}\n`);

    const m = readManifest(top);
    expect(m).to.include({ name: 'madoguchi', version, node: process.version, platform: 'linux-x64' });
    expect(m.git.commit).to.equal(run('git', ['-C', repoRoot, 'rev-parse', 'HEAD']).stdout.trim());
    const paths = m.files.map((f) => f.path);
    for (const p of [
      'node/bin/node',
      'app/package.json',
      'app/server/bin/madoguchi.js',
      'app/server/dist/cli.js',
      'app/server/static/base.css',
      'app/server/data/local-governments.csv',
      'app/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      'config/municipality.yaml',
      'bin/madoguchi',
      'systemd/madoguchi.service',
      'ensure-system-deps.sh',
      'install.sh',
      'upgrade.sh',
      'verify.sh',
      'lib/helper.mjs',
    ]) {
      expect(paths, p).to.include(p);
    }
    expect(m.links).to.deep.include({ path: 'app/node_modules/@madoguchi/server', target: '../../server' });
    // No dev dependencies, tests, type declarations, source maps or native build leftovers.
    for (const dev of ['mocha', 'chai', 'typescript', 'eslint', 'tsx', '@types/node'])
      expect(existsSync(path.join(top, 'app/node_modules', dev)), dev).to.equal(false);
    expect(
      paths.filter((p) => /\.d\.ts$|\.map$|\.tsbuildinfo$|^app\/(server|rpa-agent)\/src\/|\/obj\.target\/|\.(c|cc|h)$/.test(p)),
    ).to.deep.equal([]);
    expect(existsSync(path.join(top, 'test'))).to.equal(false);

    // Every file on disk is listed with its size and SHA-256, and nothing else is on disk.
    const listed = new Map(m.files.map((f) => [f.path, f]));
    const onDisk: string[] = [];
    const walk = (rel: string) => {
      for (const name of readdirSync(path.join(top, rel))) {
        const r = rel ? `${rel}/${name}` : name;
        const st = lstatSync(path.join(top, r));
        if (st.isDirectory()) walk(r);
        else if (st.isFile() && r !== 'manifest.json') onDisk.push(r);
      }
    };
    walk('');
    expect(onDisk.sort()).to.deep.equal([...listed.keys()].sort());
    for (const f of m.files) {
      const file = path.join(top, f.path);
      expect(lstatSync(file).size, f.path).to.equal(f.size);
      expect(sha256(file), f.path).to.equal(f.sha256);
    }
    expect(m.fileCount).to.equal(m.files.length);
  });

  it('ships systemd/madoguchi.service, which install.sh --systemd fills in with the installation (no @…@ left)', () => {
    const r = run('bash', [
      '-c',
      '. "$0/lib/common.sh"; PREFIX=/opt/m DATA_DIR=/srv/d CONFIG_DIR=/etc/m BACKUP_DIR=/srv/b PORT=443 HOST=0.0.0.0 STOP_TIMEOUT=45; render_unit "$0/systemd/madoguchi.service" mdg mdgrp',
      top,
    ]);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.not.include('@');
    for (const line of [
      'ExecStart=/opt/m/current/node/bin/node /opt/m/current/app/server/bin/madoguchi.js serve --data-dir /srv/d --config /etc/m',
      'User=mdg',
      'Group=mdgrp',
      'WorkingDirectory=/srv/d',
      'Environment=MADOGUCHI_PORT=443',
      'Environment=MADOGUCHI_DATA_DIR=/srv/d',
      'EnvironmentFile=-/etc/m/madoguchi.env',
      'ReadWritePaths=/srv/d -/srv/b',
      'TimeoutStopSec=45',
      'AmbientCapabilities=CAP_NET_BIND_SERVICE',
    ])
      expect(r.stdout).to.match(new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  });

  it('verify.sh passes on the unpacked bundle and names a tampered, a missing and an added file', () => {
    const verify = path.join(top, 'verify.sh');
    const ok = run('bash', [verify]);
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout).to.match(/^検査 OK: まどぐち [\d.]+ — \d+ ファイルの SHA-256 が一致/);

    const target = path.join(top, 'app/server/dist/cli.js');
    const original = readFileSync(target);
    try {
      writeFileSync(target, Buffer.concat([original, Buffer.from('\n// tampered\n')]));
      const bad = run('bash', [verify]);
      expect(bad.status).to.equal(1);
      expect(bad.stderr).to.include('改ざんまたは破損しているファイルがあります').and.include('app/server/dist/cli.js: FAILED');

      rmSync(target);
      const missing = run('bash', [verify]);
      expect(missing.status).to.equal(1);
      expect(missing.stderr).to.include('app/server/dist/cli.js');
    } finally {
      writeFileSync(target, original);
    }
    const extra = path.join(top, 'app/server/dist/extra.js');
    writeFileSync(extra, 'process.exit(0)\n');
    try {
      const added = run('bash', [verify]);
      expect(added.status).to.equal(1);
      expect(added.stderr).to.include('manifest.json にないファイルがあります').and.include('app/server/dist/extra.js');
    } finally {
      rmSync(extra);
    }
    expect(run('bash', [verify]).status).to.equal(0);
  });

  it("installs into a clean directory and answers /healthz inside a network namespace with only lo, as the data directory's owner", async () => {
    const root = path.join(tmp.dir, 'offline');
    const [prefix, data, config, bin] = ['opt', 'data', 'etc', 'bin'].map((d) => path.join(root, d)) as [string, string, string, string];
    dataDirs.push(data);
    // As Ansible prepares it: a data directory owned by the service user (here nobody), install.sh run as root.
    const nobody = Number(run('id', ['-u', 'nobody']).stdout.trim());
    mkdirSync(data, { recursive: true });
    chownSync(data, nobody, nobody);
    chmodSync(tmp.dir, 0o755);
    const port = await freePort();
    // `unshare -n`: a new network namespace with no interface but loopback (brought up for the server).
    const inst = run('unshare', [
      '-n',
      'bash',
      '-c',
      'ip link set lo up && exec bash "$0" "$@"',
      path.join(top, 'install.sh'),
      '--prefix',
      prefix,
      '--data-dir',
      data,
      '--config-dir',
      config,
      '--port',
      String(port),
      '--bin-dir',
      bin,
    ]);
    expect(inst.status, `${inst.stdout}\n${inst.stderr}`).to.equal(0);
    expect(inst.stdout)
      .to.include('検査 OK')
      .and.include(`まどぐち ${version} のインストールが完了しました`)
      .and.include('既定の設定をコピーしました')
      .and.include('sudo -u nobody madoguchi staff add-admin <ログインID>\n');
    const pid = serverPid(data);
    pids.add(pid);

    expect(readlinkSync(path.join(prefix, 'current'))).to.equal(`releases/${version}`);
    expect(existsSync(path.join(prefix, 'previous'))).to.equal(false);
    expect(readFileSync(path.join(config, 'municipality.yaml'), 'utf8')).to.equal(
      readFileSync(path.join(repoRoot, 'config/municipality.yaml'), 'utf8'),
    );
    // It runs on the bundled node, from the installed release.
    const node = path.join(prefix, 'current/node/bin/node');
    expect(readlinkSync(`/proc/${pid}/exe`)).to.equal(realpathSync(node));
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).to.match(new RegExp(`^Uid:\\t${nobody}\\t`, 'm'));
    expect(statSync(path.join(data, 'madoguchi.sqlite')).uid).to.equal(nobody);

    // The command on the PATH follows `current`; run by root, it works as the data folder's owner
    // (the database stays the service's), with the installed folders and no options.
    expect(readlinkSync(path.join(bin, 'madoguchi'))).to.equal(path.join(prefix, 'current/bin/madoguchi'));
    const v = onPath(bin, ['--version']);
    expect(v.status, v.stderr).to.equal(0);
    expect(v.stdout.trim()).to.equal(version);
    const reg = onPath(bin, ['client', 'register', 'as-root']);
    expect(reg.status, reg.stderr).to.equal(0);
    expect(statSync(path.join(data, 'madoguchi.sqlite')).uid).to.equal(nobody);
    const asOwner = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'madoguchi', 'client', 'list'], {
      encoding: 'utf8',
      env: { PATH: `${bin}:/usr/bin:/bin` },
    });
    expect(asOwner.status, asOwner.stderr).to.equal(0);
    expect(asOwner.stdout).to.match(/^as-root\t/m);

    const netns = `--net=/proc/${pid}/ns/net`;
    const links = run('nsenter', [netns, 'ip', '-o', 'link']);
    expect(
      links.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(':')[1]!.trim()),
    ).to.deep.equal(['lo']);
    const probe = `fetch('http://127.0.0.1:${port}/healthz').then(async (r) => console.log(r.status, await r.text()))`;
    const inside = run('nsenter', [netns, node, '-e', probe]);
    expect(inside.status, inside.stderr).to.equal(0);
    const [status, ...body] = inside.stdout.trim().split(' ');
    expect(status).to.equal('200');
    expect(JSON.parse(body.join(' '))).to.include({ status: 'ok', version, database: 'ok' });
    // From the host's namespace the port is closed: the server really lives in the isolated one.
    const outside = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => 'answered',
      (e: Error) => (e.cause as NodeJS.ErrnoException | undefined)?.code ?? e.message,
    );
    expect(outside).to.equal('ECONNREFUSED');

    // Every production dependency of the server and the agent loads from the installed app.
    for (const ws of ['server', 'rpa-agent']) {
      const dir = path.join(prefix, 'current/app', ws);
      // A workspace dependency (@madoguchi/server) exports only subpaths: its CLI module pulls in the whole server.
      const deps = Object.keys(
        (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {},
      ).map((d) => (d.startsWith('@madoguchi/') ? `${d}/cli` : d));
      const load = run(
        node,
        ['--input-type=module', '-e', `for (const d of ${JSON.stringify(deps)}) await import(d); console.log('loaded', ${deps.length});`],
        { cwd: dir },
      );
      expect(load.status, `${ws}: ${load.stderr}`).to.equal(0);
      expect(load.stdout.trim()).to.equal(`loaded ${deps.length}`);
    }
  });

  describe('upgrade.sh', () => {
    const p = { prefix: '', data: '', config: '', backups: '', bin: '', port: 0 };
    let bad: string;
    let good: string;
    const cli = (...args: string[]) =>
      run(path.join(p.prefix, 'current/node/bin/node'), [
        path.join(p.prefix, 'current/app/server/bin/madoguchi.js'),
        ...args,
        '--data-dir',
        p.data,
        '--config',
        p.config,
      ]);
    const health = async () => {
      const r = await fetch(`http://127.0.0.1:${p.port}/healthz`);
      return { status: r.status, body: (await r.json()) as { status: string; version: string } };
    };
    const tables = () => {
      const db = new Database(path.join(p.data, 'madoguchi.sqlite'), { readonly: true, fileMustExist: true });
      try {
        const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
        const migrations = (db.prepare('SELECT name FROM knex_migrations ORDER BY id').all() as { name: string }[]).map((r) => r.name);
        return { names, migrations };
      } finally {
        db.close();
      }
    };
    // A migration only the new releases have: proves they migrated, and that a rollback restored.
    const probeMigration = `\nmigrations.push({ name: '999_upgrade_probe', up: (k) => k.schema.createTable('upgrade_probe', (t) => { t.string('note'); }), down: (k) => k.schema.dropTable('upgrade_probe') });\n`;
    const bump = (dir: string, v: string) => {
      for (const f of ['app/package.json', 'app/server/package.json']) {
        const file = path.join(dir, f);
        writeFileSync(file, readFileSync(file, 'utf8').replace(/"version": "[^"]+"/, `"version": "${v}"`));
      }
    };

    before(async function () {
      this.timeout(240_000);
      const root = path.join(tmp.dir, 'upgrade');
      Object.assign(p, {
        prefix: path.join(root, 'opt'),
        data: path.join(root, 'data'),
        config: path.join(root, 'etc'),
        backups: path.join(root, 'backups'),
        bin: path.join(root, 'bin'),
        port: await freePort(),
      });
      dataDirs.push(p.data);
      const inst = run('bash', [
        path.join(top, 'install.sh'),
        '--prefix',
        p.prefix,
        '--data-dir',
        p.data,
        '--config-dir',
        p.config,
        '--port',
        String(p.port),
        '--backup-dir',
        p.backups,
        '--bin-dir',
        p.bin,
      ]);
      expect(inst.status, `${inst.stdout}\n${inst.stderr}`).to.equal(0);
      pids.add(serverPid(p.data));

      // The bad candidate, made from the unpacked bundle (the tests above are done with it): a bumped
      // version with the probe migration whose /healthz always says 503.
      let dir = top;
      const app = path.join(dir, 'app/server/dist/http/app.js');
      const appJs = readFileSync(app, 'utf8');
      const healthLine = "ctx.status = health.status === 'ok' ? 200 : 503;";
      expect(appJs.split(healthLine).length, 'the /healthz status line to patch').to.equal(2);
      writeFileSync(app, appJs.replace(healthLine, 'ctx.status = 503;'));
      appendFileSync(path.join(dir, 'app/server/dist/db/migrations/index.js'), probeMigration);
      bump(dir, '9.0.1');
      const b = await repackRelease(dir, '9.0.1', path.join(tmp.dir, 'bad'), 1);
      bad = b.archive.file;

      // The good candidate: the same release, healthy again, as 9.0.2.
      dir = b.top;
      writeFileSync(app.replace(top, dir), appJs);
      bump(dir, '9.0.2');
      good = (await repackRelease(dir, '9.0.2', path.join(tmp.dir, 'good'), 1)).archive.file;
    });

    it('the madoguchi command on the PATH makes the first administrator, whose one-time password logs in over HTTP', async () => {
      const v = onPath(p.bin, ['--version']);
      expect(v.status, v.stderr).to.equal(0);
      expect(v.stdout.trim()).to.equal(version);
      const add = onPath(p.bin, ['staff', 'add-admin', 'admin1']);
      expect(add.status, add.stderr).to.equal(0);
      expect(add.stderr).to.include('システム管理者「admin1」を作りました');
      const password = add.stdout.trim();
      expect(password).to.match(/^\S{14}$/);
      expect(onPath(p.bin, ['staff', 'add-admin', 'admin1']).status).to.equal(2);

      // One connection per request (node:http, no agent): no idle keep-alive socket is left for the
      // next test's fetch to reuse after the server closed it.
      const page = await plainHttp(p.port, 'GET', '/login');
      const cookie = (page.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
      const login = (pw: string) =>
        plainHttp(
          p.port,
          'POST',
          '/login',
          { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          new URLSearchParams({ _csrf: csrf, loginId: 'admin1', password: pw }).toString(),
        );
      expect((await login(`${password}x`)).status).to.equal(401);
      const ok = await login(password);
      expect(ok.status).to.equal(303);
      expect(ok.headers.location).to.equal('/password'); // must change it first
    });

    it('rolls back automatically when the new release fails its health check: old release, old data, exit 3', async () => {
      const reg = cli('client', 'register', 'upgrade-probe');
      expect(reg.status, reg.stderr).to.equal(0);
      const before = await health();
      expect(before).to.deep.include({ status: 200 });
      expect(before.body.version).to.equal(version);

      const up = run('bash', [path.join(p.prefix, 'current/upgrade.sh'), bad, '--prefix', p.prefix, '--health-timeout', '6']);
      expect(up.status, `${up.stdout}\n${up.stderr}`).to.equal(3);
      expect(up.stdout).to.include('アーカイブの SHA-256 一致').and.include('999_upgrade_probe');
      const log = path.join(p.data, 'logs/serve-9.0.1.log');
      expect(up.stderr).to.include(`自動的に ${version} に戻しました`).and.include(`失敗した版のログ: ${log}`);
      expect(readFileSync(log, 'utf8')).to.include('まどぐち 9.0.1 を起動しました');

      expect(readlinkSync(path.join(p.prefix, 'current'))).to.equal(`releases/${version}`);
      expect(existsSync(path.join(p.prefix, 'previous'))).to.equal(false);
      const after = await health();
      expect(after.status).to.equal(200);
      expect(after.body).to.include({ status: 'ok', version });
      pids.add(serverPid(p.data));
      // The database is the pre-upgrade backup: the probe migration is gone, the data written before is there.
      const t = tables();
      expect(t.names).to.not.include('upgrade_probe');
      expect(t.migrations).to.not.include('999_upgrade_probe');
      expect(cli('client', 'list').stdout).to.match(/^upgrade-probe\t/m);
      expect(readdirSync(p.backups)).to.have.length(1);
      expect(onPath(p.bin, ['--version']).stdout.trim()).to.equal(version);
    });

    it('a healthy new release becomes current, the old one previous, migrations ran, old releases pruned', async () => {
      // --health-timeout again: the bad upgrade's 6 s is in install.conf now.
      const up = run('bash', [
        path.join(p.prefix, 'current/upgrade.sh'),
        good,
        '--prefix',
        p.prefix,
        '--keep',
        '2',
        '--health-timeout',
        '60',
      ]);
      expect(up.status, `${up.stdout}\n${up.stderr}`).to.equal(0);
      expect(up.stdout).to.include(`まどぐち ${version} → 9.0.2 の更新が完了しました`);
      pids.add(serverPid(p.data));

      expect(readlinkSync(path.join(p.prefix, 'current'))).to.equal('releases/9.0.2');
      expect(readlinkSync(path.join(p.prefix, 'previous'))).to.equal(`releases/${version}`);
      expect(
        readdirSync(path.join(p.prefix, 'releases'))
          .filter((d) => !d.startsWith('.'))
          .sort(),
      ).to.deep.equal([version, '9.0.2'].sort());
      const h = await health();
      expect(h.status).to.equal(200);
      expect(h.body).to.include({ status: 'ok', version: '9.0.2' });
      expect(readlinkSync(`/proc/${serverPid(p.data)}/exe`)).to.equal(realpathSync(path.join(p.prefix, 'releases/9.0.2/node/bin/node')));
      const t = tables();
      expect(t.names).to.include('upgrade_probe');
      expect(t.migrations.at(-1)).to.equal('999_upgrade_probe');
      expect(cli('client', 'list').stdout).to.match(/^upgrade-probe\t/m);
      expect(readdirSync(p.backups)).to.have.length(2);
      // The command moved with `current`.
      expect(onPath(p.bin, ['--version']).stdout.trim()).to.equal('9.0.2');
    });
  });
});
