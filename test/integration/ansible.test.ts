import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadAgentConfig } from '../../rpa-agent/src/config.js';
import { loadAppConfig } from '../../server/src/config/appConfig.js';
import { tokenize } from '../../server/src/ops/nut.js';
import { configDir, repoRoot, tempDir } from '../helpers/paths.js';

const ansibleDir = path.join(repoRoot, 'ansible');

interface Run {
  code: number | null;
  out: string;
}

/** Runs a command to completion (asynchronously, so that lint and the playbook runs overlap). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ansibleDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** ok/changed/failed of localhost from the PLAY RECAP. */
function recap(r: Run): { ok: number; changed: number; failed: number } {
  const m = /localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/.exec(r.out);
  if (!m) throw new Error(`no PLAY RECAP in the output:\n${r.out.slice(-3000)}`);
  return { ok: Number(m[1]), changed: Number(m[2]), failed: Number(m[3]) };
}

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

/**
 * A small bundle with the contract's layout (madoguchi-<version>/ with manifest.json, node/,
 * app/, config/, docs/, verify.sh, ...) and its .sha256. The real bundle is tested in bundle.test.ts.
 */
function fakeBundle(dir: string, version: string, extraConfig: Record<string, string> = {}): string {
  const top = path.join(dir, 'src', `madoguchi-${version}`);
  mkdirSync(path.join(top, 'node/bin'), { recursive: true });
  mkdirSync(path.join(top, 'app/server/bin'), { recursive: true });
  mkdirSync(path.join(top, 'docs'), { recursive: true });
  writeFileSync(path.join(top, 'node/bin/node'), '#!/bin/sh\necho "fake node"\n', { mode: 0o755 });
  writeFileSync(path.join(top, 'app/package.json'), JSON.stringify({ name: 'madoguchi', version }));
  writeFileSync(path.join(top, 'app/server/bin/madoguchi.js'), '// fake\n');
  writeFileSync(path.join(top, 'docs/README.md'), '# fake\n');
  cpSync(configDir, path.join(top, 'config'), { recursive: true });
  for (const [file, text] of Object.entries(extraConfig)) writeFileSync(path.join(top, 'config', file), text);
  for (const script of ['install.sh', 'upgrade.sh']) writeFileSync(path.join(top, script), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  // verify.sh [DIR], as in the real bundle: fails when a file does not match its checksum.
  writeFileSync(path.join(top, 'verify.sh'), '#!/bin/sh\nset -e\ncd "${1:-$(dirname "$0")}"\nsha256sum --quiet --strict -c SHA256SUMS\n', {
    mode: 0o755,
  });
  const sums = spawnSync('sh', ['-c', 'find . -type f ! -name SHA256SUMS -printf "%P\\0" | xargs -0 sha256sum'], {
    cwd: top,
    encoding: 'utf8',
  });
  writeFileSync(path.join(top, 'SHA256SUMS'), sums.stdout);
  writeFileSync(path.join(top, 'manifest.json'), JSON.stringify({ name: 'madoguchi', version, platform: 'linux-x64' }, null, 2));
  const tarball = path.join(dir, `madoguchi-${version}-linux-x64.tar.gz`);
  const tar = spawnSync('tar', ['-czf', tarball, '-C', path.dirname(top), path.basename(top)], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(tar.stderr);
  const sha = createHash('sha256').update(readFileSync(tarball)).digest('hex');
  writeFileSync(`${tarball}.sha256`, `${sha}  ${path.basename(tarball)}\n`);
  return tarball;
}

describe('Ansible: ansible-lint, syntax check, and the server roles applied to a throwaway root', function () {
  this.timeout(300_000);
  const t = tempDir('madoguchi-ansible-');
  const root = path.join(t.dir, 'root');
  const ctl = path.join(t.dir, 'controller');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ANSIBLE_CONFIG: path.join(ansibleDir, 'ansible.cfg'),
    ANSIBLE_HOME: path.join(t.dir, 'ansible-home'),
    ANSIBLE_LOCAL_TEMP: path.join(t.dir, 'ansible-local-tmp'),
    ANSIBLE_REMOTE_TEMP: path.join(t.dir, 'ansible-remote-tmp'),
    XDG_CACHE_HOME: path.join(t.dir, 'cache'),
    ANSIBLE_PIPELINING: 'True',
    ANSIBLE_NOCOLOR: '1',
    NO_COLOR: '1',
  };
  const upsmonPassword = 'pa"ss w\\ord';
  const agentDir = path.join(t.dir, 'agent');
  const vars = (bundle: string) => ({
    madoguchi_root: root,
    madoguchi_manage_system: false,
    madoguchi_bundle: bundle,
    madoguchi_tls_cert_src: path.join(ctl, 'server.pem'),
    madoguchi_tls_key_src: path.join(ctl, 'server.key'),
    madoguchi_tls_ca_src: path.join(ctl, 'ca.pem'),
    madoguchi_municipality: { name: 'あんしぶる村', nameKana: 'アンシブルムラ', code: '439991', prefecture: '熊本県' },
    madoguchi_staff_lan_cidrs: ['10.20.0.0/16', 'fd00:20::/48'],
    maintenance_vpn_cidrs: ['172.31.250.0/24'],
    maintenance_vpn_ssh_admin_cidrs: ['10.20.9.0/28'],
    madoguchi_upsmon_password: upsmonPassword,
    madoguchi_upsmon_nut_conf: false,
    madoguchi_backup_settings: { schedule: '15 22 * * *', keepGenerations: 7 },
    madoguchi_backup_mount: { src: '//madoguchi-srv02/madoguchi-backup', fstype: 'cifs', opts: 'vers=3.0' },
    madoguchi_backup_mount_username: 'madoguchi-backup',
    madoguchi_backup_mount_password: 'share-secret',
    nut_users: [{ name: 'upsmon-local', password: 'nut-secret', upsmon: 'primary' }],
    nut_listen_addresses: ['127.0.0.1', '10.20.1.10'],
    nut_allowed_clients: ['10.20.1.11/32'],
    linkage_share_client_cidrs: ['10.20.3.10/32', 'fd00:30::10/128'],
    linkage_share_password: 'smb-secret',
    // agent.yaml: Linux paths instead of C:\ProgramData so that the agent's loader can read them here.
    madoguchi_agent_server_url: 'https://madoguchi.town.example.lg.jp',
    madoguchi_agent_token_file: path.join(agentDir, 'token'),
    madoguchi_agent_ca_file: path.join(agentDir, 'ca.pem'),
    madoguchi_agent_core_password_file: path.join(agentDir, 'core-password'),
    madoguchi_agent_work_dir: path.join(agentDir, 'work'),
    madoguchi_agent_core_system: 'sim',
    madoguchi_agent_core_url: 'https://kikan.town.example.lg.jp/',
    madoguchi_agent_core_user: 'rpa01',
    madoguchi_agent_settings: { pollSeconds: 2 },
  });
  const apply = (varsFile: string, ...more: string[]) =>
    run('ansible-playbook', ['-i', 'localhost,', '-c', 'local', 'tests/apply-to-root.yml', '-e', `@${varsFile}`, ...more], env);
  const at = (p: string) => path.join(root, p);
  let lint: Promise<Run>;
  let syntax: Promise<Run>;
  let placeholders: Promise<Run>;
  let v1: string;
  let v2: string;

  before(() => {
    for (const tool of ['ansible-playbook', 'ansible-lint']) {
      if (spawnSync(tool, ['--version']).status !== 0)
        throw new Error(`${tool} がありません: bash scripts/ensure-system-deps.sh test を実行してください`);
    }
    // Lint and the syntax check run while the playbook is applied (their results are read last).
    lint = run('ansible-lint', ['--offline', '--nocolor', '--profile', 'production'], env);
    syntax = run('ansible-playbook', ['--syntax-check', 'site.yml', '-i', 'inventory/example/hosts.yml'], env);
    // The whole site.yml with the example inventory as shipped (its vault.yml holds CHANGE-ME…):
    // it must stop in the first play, on the controller, before connecting to any host.
    placeholders = run('ansible-playbook', ['site.yml', '-i', 'inventory/example/hosts.yml'], env);
    mkdirSync(ctl, { recursive: true });
    mkdirSync(agentDir, { recursive: true });
    writeFileSync(path.join(agentDir, 'token'), 'mdg_test-token-0123456789\n');
    writeFileSync(path.join(agentDir, 'ca.pem'), '-----BEGIN TEST CA-----\n');
    writeFileSync(path.join(agentDir, 'core-password'), 'core-secret\n');
    for (const f of ['ca.pem', 'server.pem', 'server.key']) writeFileSync(path.join(ctl, f), `-----BEGIN TEST ${f}-----\n`);
    v1 = path.join(t.dir, 'vars-0.0.1.json');
    writeFileSync(v1, JSON.stringify(vars(fakeBundle(ctl, '0.0.1'))));
    v2 = path.join(t.dir, 'vars-0.0.2.json');
    writeFileSync(
      v2,
      JSON.stringify(vars(fakeBundle(ctl, '0.0.2', { 'fees.yaml': '# 0.0.2 の既定値\n', 'new-in-0.0.2.yaml': 'added: true\n' }))),
    );
  });
  after(() => t.remove());

  describe('first run (madoguchi_manage_system: false)', () => {
    let first: Run;
    before(async () => {
      first = await apply(v1);
    });

    it('applies for real into the root: release unpacked, current -> releases/<version>', () => {
      expect(first.code, first.out.slice(-4000)).to.equal(0);
      expect(recap(first).changed).to.be.greaterThan(10);
      expect(readlinkSync(at('opt/madoguchi/current'))).to.equal('releases/0.0.1');
      expect(existsSync(at('opt/madoguchi/releases/0.0.1/manifest.json'))).to.equal(true);
      expect(existsSync(at('opt/madoguchi/previous'))).to.equal(false);
      expect(readlinkSync(at('usr/local/bin/madoguchi'))).to.equal('/opt/madoguchi/current/bin/madoguchi');
      expect(readFileSync(at('opt/madoguchi/install.conf'), 'utf8'))
        .to.contain('PORT=443\n')
        .and.contain('STOP_TIMEOUT=45\n');
      expect(readlinkSync(at('var/lib/madoguchi/logs'))).to.equal('/var/log/madoguchi');
      expect(mode(at('var/lib/madoguchi'))).to.equal('750');
      expect(mode(at('var/lib/madoguchi/evidence'))).to.equal('700');
      expect(mode(at('etc/madoguchi'))).to.equal('750');
    });

    it('writes a municipality.yaml with the town that the real config loader accepts, plus the shipped defaults', () => {
      const cfg = loadAppConfig(at('etc/madoguchi'));
      expect(cfg.municipality.name).to.equal('あんしぶる村');
      expect(cfg.http.tls).to.deep.equal({ cert: '/etc/madoguchi/tls/server.pem', key: '/etc/madoguchi/tls/server.key' });
      expect(cfg.http.redirectPort).to.equal(80);
      expect(cfg.backup.target).to.equal('/var/backups/madoguchi');
      expect(cfg.backup.schedule).to.equal('15 22 * * *');
      expect(cfg.ups).to.include({ enabled: true, host: '127.0.0.1', port: 3493, stopBudgetSeconds: 20 });
      expect(cfg.openingHours.regular[0]).to.include({ open: '08:30', close: '17:15' });
      expect(Object.keys(cfg.linkage.specs)).to.include('001o005');
      expect(existsSync(at('etc/madoguchi/procedures/10-juminhyo.yaml'))).to.equal(true);
      const envFile = readFileSync(at('etc/madoguchi/madoguchi.env'), 'utf8');
      expect(envFile).to.contain('MADOGUCHI_PORT=443\n').and.contain('MADOGUCHI_HOST=0.0.0.0\n');
    });

    it('installs the TLS key readable by its owner only', () => {
      expect(mode(at('etc/madoguchi/tls/server.key'))).to.equal('600');
      expect(mode(at('etc/madoguchi/tls/server.pem'))).to.equal('644');
      expect(readFileSync(at('etc/madoguchi/tls/ca.pem'), 'utf8')).to.contain('BEGIN TEST ca.pem');
    });

    it('renders the systemd unit: contract ExecStart, restart on failure, TimeoutStopSec=45, hardening', () => {
      const unit = readFileSync(at('etc/systemd/system/madoguchi.service'), 'utf8');
      expect(unit).to.contain(
        'ExecStart=/opt/madoguchi/current/node/bin/node /opt/madoguchi/current/app/server/bin/madoguchi.js serve --data-dir /var/lib/madoguchi --config /etc/madoguchi\n',
      );
      for (const line of [
        'Restart=on-failure',
        'RestartSec=5',
        'TimeoutStopSec=45',
        'KillSignal=SIGTERM',
        'User=madoguchi',
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        'PrivateTmp=yes',
        'AmbientCapabilities=CAP_NET_BIND_SERVICE',
      ]) {
        expect(unit).to.match(new RegExp(`^${line}$`, 'm'));
      }
      expect(unit).to.match(/^ReadWritePaths=\/var\/lib\/madoguchi \/var\/log\/madoguchi -\/var\/backups\/madoguchi$/m);
      expect(unit).to.not.match(/^MemoryDenyWriteExecute/m);

      // The bundle's unit (install.sh --systemd without Ansible) says the same, rendered with the same values.
      const bundled = spawnSync(
        'bash',
        [
          '-c',
          '. "$0/lib/common.sh"; PREFIX=/opt/madoguchi DATA_DIR=/var/lib/madoguchi CONFIG_DIR=/etc/madoguchi BACKUP_DIR=/var/backups/madoguchi PORT=443 HOST=0.0.0.0 STOP_TIMEOUT=45; render_unit "$0/systemd/madoguchi.service" madoguchi madoguchi',
          path.join(repoRoot, 'installer/scripts'),
        ],
        { encoding: 'utf8' },
      );
      expect(bundled.status, bundled.stderr).to.equal(0);
      const directives = (text: string) =>
        text
          .split('\n')
          .map((l) => l.trim())
          .filter((l) => /^[A-Za-z_]+=/.test(l));
      const differ = /^(Environment|EnvironmentFile|ReadWritePaths)=/;
      expect(directives(bundled.stdout).filter((l) => !differ.test(l))).to.deep.equal(directives(unit).filter((l) => !differ.test(l)));
      // Its environment is the one Ansible writes to madoguchi.env.
      const envFile = directives(readFileSync(at('etc/madoguchi/madoguchi.env'), 'utf8'));
      expect(
        directives(bundled.stdout)
          .filter((l) => l.startsWith('Environment='))
          .map((l) => l.slice('Environment='.length)),
      ).to.deep.equal(envFile);
      expect(directives(bundled.stdout)).to.include('ReadWritePaths=/var/lib/madoguchi -/var/backups/madoguchi');
      expect(readFileSync(at('etc/logrotate.d/madoguchi'), 'utf8')).to.contain('/var/log/madoguchi/ups-events.log {');
    });

    it('configures upsmon: MONITOR with the quoted password, NOTIFYCMD wrapper, EXEC flags, FINALDELAY > stop budget', () => {
      const conf = readFileSync(at('etc/nut/upsmon.conf'), 'utf8');
      expect(mode(at('etc/nut/upsmon.conf'))).to.equal('640');
      const monitor = conf.split('\n').find((l) => l.startsWith('MONITOR '))!;
      expect(tokenize(monitor)).to.deep.equal(['MONITOR', 'ups@127.0.0.1:3493', '1', 'upsmon-local', upsmonPassword, 'primary']);
      expect(conf).to.match(/^NOTIFYCMD \/usr\/local\/libexec\/madoguchi\/upsmon-notify$/m);
      for (const event of ['ONBATT', 'ONLINE', 'LOWBATT', 'FSD'])
        expect(conf).to.match(new RegExp(`^NOTIFYFLAG ${event} SYSLOG\\+WALL\\+EXEC$`, 'm'));
      expect(Number(/^FINALDELAY (\d+)$/m.exec(conf)![1])).to.be.greaterThan(20);
      expect(conf).to.match(/^SHUTDOWNCMD "\/sbin\/shutdown -h \+0"$/m);

      const wrapper = at('usr/local/libexec/madoguchi/upsmon-notify');
      expect(mode(wrapper)).to.equal('755');
      expect(readFileSync(wrapper, 'utf8')).to.contain('ups-event "$event"');
      expect(spawnSync('sh', ['-n', wrapper]).status).to.equal(0);
      // Any other notification is ignored without touching madoguchi.
      expect(spawnSync(wrapper, [], { env: { ...process.env, NOTIFYTYPE: 'COMMBAD' } }).status).to.equal(0);
      // nut may run the wrapper as madoguchi for exactly the four events, nothing else.
      const rule = readFileSync(at('etc/sudoers.d/madoguchi-ups'), 'utf8')
        .split('\n')
        .find((l) => l.startsWith('nut '))!;
      const [who, commands] = rule.split(' NOPASSWD: ');
      expect(who).to.equal('nut ALL=(madoguchi)');
      expect(commands!.split(', ')).to.deep.equal(
        ['ONBATT', 'ONLINE', 'LOWBATT', 'FSD'].map((e) => `/usr/local/libexec/madoguchi/upsmon-notify --event ${e}`),
      );
      expect(mode(at('etc/sudoers.d/madoguchi-ups'))).to.equal('440');
      if (spawnSync('visudo', ['--version']).status === 0) {
        const check = spawnSync('visudo', ['-cf', at('etc/sudoers.d/madoguchi-ups')], { encoding: 'utf8' });
        expect(check.status, check.stdout + check.stderr).to.equal(0);
      }
    });

    it('configures upsd (nut role): netserver, the driver, LISTEN on localhost and the LAN address, vault password', () => {
      expect(readFileSync(at('etc/nut/nut.conf'), 'utf8')).to.match(/^MODE=netserver$/m);
      expect(readFileSync(at('etc/nut/ups.conf'), 'utf8')).to.match(/^\[ups\]\n\s+driver = usbhid-ups\n\s+port = auto$/m);
      const upsd = readFileSync(at('etc/nut/upsd.conf'), 'utf8');
      expect(upsd)
        .to.match(/^LISTEN 127\.0\.0\.1 3493$/m)
        .and.match(/^LISTEN 10\.20\.1\.10 3493$/m);
      expect(readFileSync(at('etc/nut/upsd.users'), 'utf8')).to.match(/^\[upsmon-local\]\n\s+password = "nut-secret"\n\s+upsmon primary$/m);
      expect(mode(at('etc/nut/upsd.users'))).to.equal('640');
    });

    it('renders nftables tables: the app port from the staff LAN and the VPN only, SSH/HTTPS only from the VPN', () => {
      const app = readFileSync(at('etc/nftables.d/50-madoguchi.nft'), 'utf8');
      expect(app).to.contain('ip saddr { 10.20.0.0/16, 172.31.250.0/24 } tcp dport $MADOGUCHI_PORTS accept');
      expect(app).to.contain('ip6 saddr { fd00:20::/48 } tcp dport $MADOGUCHI_PORTS accept');
      expect(app).to.contain('define MADOGUCHI_PORTS = { 443, 80 }');
      expect(app).to.contain('tcp dport $MADOGUCHI_PORTS counter drop');
      const vpn = readFileSync(at('etc/nftables.d/40-maintenance-vpn.nft'), 'utf8');
      expect(vpn).to.contain('ip saddr { 172.31.250.0/24 } tcp dport $MAINTENANCE_VPN_PORTS accept');
      expect(vpn).to.contain('ip saddr { 172.31.250.0/24 } counter drop');
      expect(vpn).to.contain('tcp dport 22 counter drop');
      expect(readFileSync(at('etc/nftables.d/45-nut.nft'), 'utf8')).to.contain('ip saddr { 10.20.1.11/32 } tcp dport 3493 accept');
      expect(readFileSync(at('etc/nftables.conf'), 'utf8')).to.contain('include "/etc/nftables.d/*.nft"');
    });

    it('validates the nftables files with nft -c -f', function () {
      const skip = (reason: string) => {
        console.log(`      (nft check skipped: ${reason})`);
        this.skip();
      };
      if (spawnSync('nft', ['--version']).status !== 0) skip('nft is not installed');
      for (const file of ['40-maintenance-vpn.nft', '45-nut.nft', '50-madoguchi.nft']) {
        const r = spawnSync('nft', ['-c', '-f', at(`etc/nftables.d/${file}`)], { encoding: 'utf8' });
        // nft needs CAP_NET_ADMIN even to check a ruleset (it reads the kernel's cache).
        if (r.status !== 0 && /Operation not permitted|Permission denied/.test(r.stderr)) skip(`no CAP_NET_ADMIN here: ${r.stderr.trim()}`);
        expect(r.status, `${file}: ${r.stderr}`).to.equal(0);
      }
    });

    it('shares the linkage drop folders over SMB: one share, SMB3 only, no guest, setgid folders, 445 from the core system only', () => {
      const conf = readFileSync(at('etc/samba/smb.conf'), 'utf8');
      const sections = [...conf.matchAll(/^\[([^\]]+)\]$/gm)].map((m) => m[1]);
      expect(sections).to.deep.equal(['global', 'madoguchi-linkage']); // no [homes], [printers], [print$]
      const setting = (name: string) => new RegExp(`^\\s+${name.replace(/\$/g, '\\$')}$`, 'm');
      for (const line of [
        'server min protocol = SMB3',
        'server smb encrypt = required',
        'map to guest = Never',
        'restrict anonymous = 2',
        'load printers = no',
        'disable netbios = yes',
        'hosts allow = 127.0.0.1 ::1 10.20.3.10/32 fd00:30::10/128',
        'path = /var/lib/madoguchi/linkage',
        'valid users = kikan-linkage',
        'guest ok = no',
        'force group = madoguchi-linkage',
        'create mask = 0660',
        'directory mask = 2770',
        'veto files = /archive/quarantine/reports/processing/held/',
      ])
        expect(conf, line).to.match(setting(line));
      expect(conf).to.not.match(/guest ok = yes|public = yes/);
      // A drop folder per spec, setgid, for the share's group; the root stays closed to others.
      expect(mode(at('var/lib/madoguchi/linkage'))).to.equal('750');
      expect((statSync(at('var/lib/madoguchi/linkage/001o005')).mode & 0o7777).toString(8)).to.equal('2770');
      expect(existsSync(at('var/lib/madoguchi/linkage/ext-arrears'))).to.equal(true);
      const nft = readFileSync(at('etc/nftables.d/55-linkage-share.nft'), 'utf8');
      expect(nft).to.contain('ip saddr { 10.20.3.10/32 } tcp dport 445 accept');
      expect(nft).to.contain('ip6 saddr { fd00:30::10/128 } tcp dport 445 accept');
      expect(nft).to.contain('tcp dport { 139, 445 } counter drop');
      if (spawnSync('nft', ['--version']).status === 0) {
        const r = spawnSync('nft', ['-c', '-f', at('etc/nftables.d/55-linkage-share.nft')], { encoding: 'utf8' });
        if (!(r.status !== 0 && /Operation not permitted|Permission denied/.test(r.stderr))) expect(r.status, r.stderr).to.equal(0);
      }
    });

    it("validates smb.conf with Samba's testparm", function () {
      // Samba's own parser, where samba-common-bin is installed (not in the test packages: ~53 MB).
      if (spawnSync('testparm', ['--version']).status !== 0) {
        console.log('      (testparm check skipped: samba-common-bin is not installed)');
        this.skip();
      }
      const tp = spawnSync('testparm', ['-s', '--suppress-prompt', at('etc/samba/smb.conf')], { encoding: 'utf8' });
      expect(tp.status, tp.stderr).to.equal(0);
      expect(tp.stderr).to.not.match(/Unknown parameter|Ignoring unknown/);
      expect(tp.stdout).to.contain('[madoguchi-linkage]');
    });

    it("renders the RPA agent's agent.yaml so that the agent's own loader accepts it (headless Edge by default)", () => {
      const cfg = loadAgentConfig(at('agent.yaml'), {});
      expect(cfg).to.deep.include({
        server: 'https://madoguchi.town.example.lg.jp',
        token: 'mdg_test-token-0123456789',
        ca: '-----BEGIN TEST CA-----',
        coreSystem: 'sim',
        pollSeconds: 2,
      });
      expect(cfg.core).to.deep.equal({ url: 'https://kikan.town.example.lg.jp/', user: 'rpa01', password: 'core-secret' });
      expect(cfg.browser).to.include({ channel: 'msedge', headless: true });
      expect(cfg.workDir).to.equal(path.join(agentDir, 'work'));
    });

    it('logs maintenance sessions (PAM hook, optional) and sudo commands (sudoers drop-in, readable log, rotation)', () => {
      const pam = readFileSync(at('etc/pam.d/sshd'), 'utf8');
      expect(pam).to.match(/^session optional pam_exec\.so quiet \/usr\/local\/sbin\/madoguchi-maintenance-pam$/m);
      const hook = at('usr/local/sbin/madoguchi-maintenance-pam');
      expect(mode(hook)).to.equal('755');
      expect(readFileSync(hook, 'utf8')).to.contain('/usr/local/bin/madoguchi maintenance pam').and.contain(' madoguchi-vendor ');
      // Other PAM steps, and users outside the logged groups, return at once without madoguchi.
      for (const env of [
        { PAM_TYPE: 'auth', PAM_USER: 'root' },
        { PAM_TYPE: 'open_session', PAM_USER: 'root' },
      ]) {
        const r = spawnSync(hook, [], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 5000 });
        expect(r.status, r.stderr).to.equal(0);
      }
      const sudoers = readFileSync(at('etc/sudoers.d/madoguchi-maintenance'), 'utf8');
      expect(sudoers).to.match(
        /^Defaults:%madoguchi-vendor logfile="\/var\/log\/madoguchi-maintenance\/sudo\.log", log_year, log_host, loglinelen=0$/m,
      );
      expect(sudoers).to.match(/^Defaults:%madoguchi-vendor env_keep \+= "SSH_CONNECTION"$/m);
      expect(mode(at('etc/sudoers.d/madoguchi-maintenance'))).to.equal('440');
      if (spawnSync('visudo', ['--version']).status === 0) {
        const check = spawnSync('visudo', ['-cf', at('etc/sudoers.d/madoguchi-maintenance')], { encoding: 'utf8' });
        expect(check.status, check.stdout + check.stderr).to.equal(0);
      }
      expect(mode(at('var/log/madoguchi-maintenance/sudo.log'))).to.equal('640');
      expect(readFileSync(at('etc/logrotate.d/madoguchi-maintenance'), 'utf8'))
        .to.contain('/var/log/madoguchi-maintenance/sudo.log {')
        .and.contain('create 0640 root madoguchi')
        .and.contain('delaycompress');
    });

    it('hardens SSH for the vendor and mounts the standby share as the backup target', () => {
      const sshd = readFileSync(at('etc/ssh/sshd_config.d/50-madoguchi-maintenance.conf'), 'utf8');
      for (const line of [
        'PermitRootLogin no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'AllowGroups madoguchi-vendor madoguchi-admin',
      ]) {
        expect(sshd).to.match(new RegExp(`^${line}$`, 'm'));
      }
      expect(readFileSync(at('etc/fstab'), 'utf8')).to.contain(
        '//madoguchi-srv02/madoguchi-backup /var/backups/madoguchi cifs vers=3.0,credentials=/etc/madoguchi/backup-share.cred,_netdev,nofail 0 0',
      );
      expect(mode(at('etc/madoguchi/backup-share.cred'))).to.equal('600');
      expect(readFileSync(at('etc/madoguchi/backup-share.cred'), 'utf8')).to.contain('password=share-secret');
    });
  });

  describe('second run', () => {
    let second: Run;
    before(async () => {
      // A town's edit of a shipped default must survive later runs.
      appendFileSync(at('etc/madoguchi/fees.yaml'), '# 町で編集\n');
      second = await apply(v1);
    });

    it('changes nothing on the second run and keeps a local edit of a shipped default', () => {
      expect(second.code, second.out.slice(-4000)).to.equal(0);
      expect(recap(second), second.out.slice(-4000)).to.include({ changed: 0, failed: 0 });
      expect(readFileSync(at('etc/madoguchi/fees.yaml'), 'utf8')).to.contain('# 町で編集');
    });
  });

  describe('run with a new bundle (--tags madoguchi_release: the release and its configuration only)', () => {
    let upgrade: Run;
    before(async () => {
      upgrade = await apply(v2, '--tags', 'madoguchi_release');
    });

    it('switches current to a new release and keeps previous; adds new defaults without overwriting edits', () => {
      expect(upgrade.code, upgrade.out.slice(-4000)).to.equal(0);
      expect(readlinkSync(at('opt/madoguchi/current'))).to.equal('releases/0.0.2');
      expect(readlinkSync(at('opt/madoguchi/previous'))).to.equal('releases/0.0.1');
      expect(existsSync(at('opt/madoguchi/releases/0.0.1/manifest.json'))).to.equal(true);
      expect(readFileSync(at('etc/madoguchi/new-in-0.0.2.yaml'), 'utf8')).to.equal('added: true\n');
      const fees = readFileSync(at('etc/madoguchi/fees.yaml'), 'utf8');
      expect(fees).to.contain('# 町で編集').and.not.contain('0.0.2 の既定値');
      expect(parse(readFileSync(at('etc/madoguchi/municipality.yaml'), 'utf8')).municipality.name).to.equal('あんしぶる村');
    });
  });

  describe('static checks (run in the background meanwhile)', () => {
    it('passes ansible-lint (production profile, offline)', async () => {
      const r = await lint;
      expect(r.code, r.out).to.equal(0);
      expect(r.out).to.match(/Passed with production profile: 0 failure\(s\), 0 warning\(s\)/);
    });

    it('refuses the example inventory as shipped: every CHANGE-ME secret named in Japanese, no host touched', async () => {
      const r = await placeholders;
      expect(r.code, r.out.slice(-3000)).to.equal(2);
      for (const name of ['vault_winrm_password', 'vault_linkage_share_password', 'vault_agent_tokens', 'vault_core_system_passwords'])
        expect(r.out).to.contain(`秘密の値 ${name} が空か、まだ仮の値 (CHANGE-ME…) のままです`);
      expect(r.out).to.match(/madoguchi-srv01\s*: ok=0\s+changed=0\s+unreachable=0\s+failed=1/);
      expect(r.out).to.not.contain('PLAY [UPS server');
    });

    it('the secrets preflight passes real values and refuses an empty one or a placeholder in a role variable', async () => {
      const good = { vault_winrm_password: 'x9!real', vault_agent_tokens: { 'rpa-pc01': 'mdg_real' } };
      const play = (extra: object) =>
        run(
          'ansible-playbook',
          ['-i', 'localhost,', '-c', 'local', 'tests/secrets-preflight.yml', '-e', JSON.stringify({ ...good, ...extra })],
          env,
        );
      const [ok, empty, placeholder] = await Promise.all([
        play({}),
        play({ vault_linkage_share_password: '' }),
        play({ madoguchi_upsmon_password: 'CHANGE-ME-upsmon' }),
      ]);
      expect(ok.code, ok.out.slice(-3000)).to.equal(0);
      expect(empty.code).to.equal(2);
      expect(empty.out).to.contain('秘密の値 vault_linkage_share_password が空か');
      expect(placeholder.code).to.equal(2);
      expect(placeholder.out).to.contain('秘密の値 madoguchi_upsmon_password がまだ仮の値');
    });

    it('passes ansible-playbook --syntax-check with the example inventory', async () => {
      const r = await syntax;
      expect(r.code, r.out).to.equal(0);
      expect(r.out).to.contain('playbook: site.yml');
    });
  });
});
