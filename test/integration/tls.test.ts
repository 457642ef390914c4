import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { registerApiClient } from '../../server/src/auth/apiClients.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { agentBin, writeAgentConfig } from '../helpers/rpaSoak.js';
import { cliPath, configDir, repoRoot, tempDir } from '../helpers/paths.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(url: string, opts: https.RequestOptions & { body?: string } = {}): Promise<Reply> {
  const lib = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, opts, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('HTTPS with an internal CA (madoguchi cert dev)', function () {
  this.timeout(60_000);
  const t = tempDir();
  let server: RunningServer;
  let ca: Buffer;

  before(async () => {
    const tls = path.join(t.dir, 'tls');
    const made = spawnSync(process.execPath, [cliPath, 'cert', 'dev', '--out', tls, '--hosts', 'localhost,127.0.0.1'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(made.status, made.stderr).to.equal(0);
    ca = readFileSync(path.join(tls, 'dev-ca.pem'));
    const config = path.join(t.dir, 'config');
    cpSync(configDir, config, { recursive: true });
    const yaml = path.join(config, 'municipality.yaml');
    writeFileSync(
      yaml,
      `${readFileSync(yaml, 'utf8')}\nhttp:\n  tls:\n    cert: ${path.join(tls, 'server.pem')}\n    key: ${path.join(tls, 'server.key')}\n  redirectPort: 0\n`,
    );
    server = await startServer({ configDir: config, dataDir: path.join(t.dir, 'data'), port: 0, host: '127.0.0.1', watch: false });
  });
  after(async () => {
    await server.close();
    t.remove();
  });

  it('makes a CA and a server certificate that verify, with private keys for the owner only', () => {
    const tls = path.join(t.dir, 'tls');
    const v = spawnSync('openssl', ['verify', '-CAfile', path.join(tls, 'dev-ca.pem'), path.join(tls, 'server.pem')], { encoding: 'utf8' });
    expect(v.stdout.trim()).to.match(/server\.pem: OK$/);
    const text = spawnSync('openssl', ['x509', '-in', path.join(tls, 'server.pem'), '-noout', '-text'], { encoding: 'utf8' }).stdout;
    expect(text).to.contain('DNS:localhost');
    expect(text).to.contain('IP Address:127.0.0.1');
    expect(text).to.contain('TLS Web Server Authentication');
    expect(statSync(path.join(tls, 'server.key')).mode & 0o777).to.equal(0o600);
    expect(statSync(path.join(tls, 'dev-ca.key')).mode & 0o777).to.equal(0o600);
  });

  it('serves HTTPS with HSTS, sets a Secure session cookie, and redirects plain HTTP', async () => {
    expect(server.url).to.match(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const health = await request(`${server.url}healthz`, { ca });
    expect(health.status).to.equal(200);
    expect(health.headers['strict-transport-security']).to.equal('max-age=31536000');
    await createStaff(server.knex, {
      loginId: 'tlsuser',
      displayName: 'TLS 確認',
      section: '住民課',
      password: 'Tls-check-12345',
      groups: ['counter'],
      mustChangePassword: false,
    });
    // The login form carries its own CSRF token (a cookie and the same value in a hidden field).
    const form = await request(`${server.url}login`, { ca });
    const loginCsrf = String(form.headers['set-cookie']?.find((c) => c.startsWith('madoguchi_login_csrf=')) ?? '').split(';')[0]!;
    const token = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
    const body = new URLSearchParams({ loginId: 'tlsuser', password: 'Tls-check-12345', counterId: 'shimin-1', _csrf: token }).toString();
    const login = await request(`${server.url}login`, {
      ca,
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': String(Buffer.byteLength(body)),
        cookie: loginCsrf,
      },
      body,
    });
    expect(login.status).to.equal(303);
    const cookie = String(login.headers['set-cookie']?.[0]);
    expect(cookie).to.match(/httponly/i);
    expect(cookie).to.match(/samesite=strict/i);
    expect(cookie).to.match(/secure/i);
    const plain = await request(`http://127.0.0.1:${server.redirectPort}/healthz?x=1`);
    expect(plain.status).to.equal(301);
    expect(plain.headers.location).to.equal(`https://127.0.0.1:${server.port}/healthz?x=1`);
    let refused: unknown;
    try {
      await request(`${server.url}healthz`); // without the CA: not trusted
    } catch (e) {
      refused = e;
    }
    expect(String(refused)).to.match(/self-signed|unable to verify|certificate/i);
  });

  it('lets an RPA agent call the agent API over HTTPS with the internal CA, and not without it', async () => {
    const token = await registerApiClient(server.knex, 'rpa-tls', 'rpaAgent', { staffLogin: 'test' });
    const withCa = writeAgentConfig(t.dir, 'rpa-tls', server.url, token, 'http://127.0.0.1:9/', 'rpa01');
    writeFileSync(path.join(t.dir, 'rpa-tls', 'ca.pem'), ca);
    const yaml = JSON.parse(readFileSync(withCa, 'utf8')) as Record<string, unknown>;
    writeFileSync(withCa, JSON.stringify({ ...yaml, ca: 'ca.pem' }));
    // The server lives in this process: the agent runs asynchronously (spawnSync would block it).
    const run = (file: string, ms: number) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [agentBin, 'run', '--until-empty', '--config', file], {
          cwd: repoRoot,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (out += d.toString()));
        const timer = setTimeout(() => child.kill('SIGTERM'), ms);
        child.on('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, out });
        });
      });
    const good = await run(withCa, 30_000);
    expect(good.code, good.out).to.equal(0);
    expect(good.out).not.to.contain('接続できません');
    expect(await server.knex('rpa_agents').where({ name: 'rpa-tls' }).first('version')).to.deep.equal({ version: '0.1.0' });
    writeFileSync(withCa, JSON.stringify(yaml));
    const bad = await run(withCa, 4000);
    expect(bad.out).to.match(/サーバーに接続できません.*(self-signed|certificate)/);
  });
});
