import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest, sqliteKnex } from '../../server/src/db/connect.js';
import { recordCommandEnd, recordCommandStart, recordPamEvent } from '../../server/src/maintenance/log.js';
import { getAs } from '../helpers/http.js';
import { cliPath, configDir, repoRoot, tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const sudoFixture = path.join(repoRoot, 'test/fixtures/maintenance/sudo.log');

/** The shipped configuration with maintenance.sudoLog pointing at a file of ours. */
function configWithSudoLog(dir: string, sudoLog: string): string {
  const config = path.join(dir, 'config');
  cpSync(configDir, config, { recursive: true });
  const yaml = path.join(config, 'municipality.yaml');
  const text = readFileSync(yaml, 'utf8');
  if (!/^ {2}sudoLog: .*$/m.test(text)) throw new Error('municipality.yaml has no maintenance.sudoLog');
  writeFileSync(yaml, text.replace(/^ {2}sudoLog: .*$/m, `  sudoLog: ${sudoLog}`));
  return config;
}

describe('remote maintenance log', function () {
  this.timeout(60_000);

  describe('the madoguchi command: PAM sessions and recorded runs (built CLI, real SQLite)', () => {
    const t = tempDir();
    const dataDir = path.join(t.dir, 'data');
    let config: string;
    let knex: Knex;
    /** Runs the built CLI with exactly this environment (no PAM_* or SSH_* of the test runner's own). */
    const cli = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, [cliPath, ...args], {
        cwd: repoRoot,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: process.env.HOME, MADOGUCHI_DATA_DIR: dataDir, MADOGUCHI_CONFIG_DIR: config, ...env },
      });
    const pam = {
      PAM_USER: 'vendor-sato',
      PAM_RHOST: '172.31.250.7',
      PAM_SERVICE: 'sshd',
      PAM_TTY: '/dev/pts/0',
      MADOGUCHI_SSHD_PID: '4242',
    };

    before(async () => {
      config = configWithSudoLog(t.dir, sudoFixture);
      mkdirSync(dataDir);
      // Before the database exists a run cannot be recorded: it says so and the command goes on (here to its own refusal).
      const early = cli(['maintenance', 'list', '--since', '2026-12']);
      expect(early.status).to.equal(2);
      expect(early.stderr)
        .to.contain('保守の記録: このコマンドの実行は記録しません (データベースがまだありません)')
        .and.contain('日付は YYYY-MM-DD で指定してください');
      knex = sqliteKnex(path.join(dataDir, 'madoguchi.sqlite'));
      await migrateLatest(knex);
    });
    after(async () => {
      await knex.destroy();
      t.remove();
    });

    it('records a session opening from the PAM environment, with an audit record', async () => {
      const open = cli(['maintenance', 'pam'], { ...pam, PAM_TYPE: 'open_session' });
      expect(open.status, open.stderr).to.equal(0);
      const rows = await knex('maintenance_sessions');
      expect(rows).to.have.length(1);
      expect(rows[0]).to.deep.include({
        login: 'vendor-sato',
        remote_address: '172.31.250.7',
        service: 'sshd',
        tty: '/dev/pts/0',
        sshd_pid: 4242,
        closed_at: null,
      });
      const audit = await knex('audit_trail').where({ action: 'maintenance.sessionOpen' });
      expect(audit).to.have.length(1);
      expect(audit[0]).to.deep.include({ staff_login: 'ssh:vendor-sato', client_address: '172.31.250.7', result: 'success' });
      // The hook's own run is not a command of the log.
      expect(await knex('maintenance_commands')).to.have.length(0);
    });

    it('records a run inside the session: redacted arguments, who (through sudo), from where, exit code', async () => {
      const ssh = { SUDO_USER: 'vendor-sato', SSH_CONNECTION: '172.31.250.7 50122 10.20.1.5 22' };
      const failed = cli(['staff', 'import', '/nonexistent/123456789012.csv', '--dry-run', '--passwords-out', 'token=abc'], ssh);
      expect(failed.status, failed.stderr).to.equal(2);
      const session = await knex('maintenance_sessions').first();
      const runs = await knex('maintenance_commands').orderBy('id');
      expect(runs).to.have.length(1);
      expect(JSON.parse(runs[0]!.argv)).to.deep.equal([
        'staff',
        'import',
        '/nonexistent/[個人番号マスク].csv',
        '--dry-run',
        '--passwords-out',
        'token=[伏せ字]',
      ]);
      expect(runs[0]).to.deep.include({ session_id: session!.id, sudo_user: 'vendor-sato', client_address: '172.31.250.7', exit_code: 2 });
      expect(runs[0]!.finished_at).to.not.equal(null);
    });

    it('closes the session it opened (same sshd); a close it cannot pair is audited as a failure', async () => {
      const close = cli(['maintenance', 'pam'], { ...pam, PAM_TYPE: 'close_session' });
      expect(close.status, close.stderr).to.equal(0);
      expect((await knex('maintenance_sessions').first())!.closed_at).to.not.equal(null);
      const again = await recordPamEvent(knex, {
        type: 'close_session',
        user: 'vendor-sato',
        rhost: '172.31.250.7',
        service: 'sshd',
        tty: null,
        sshdPid: 4242,
        host: null,
      });
      expect(again).to.deep.equal({ kind: 'unmatched' });
      const closes = await knex('audit_trail').where({ action: 'maintenance.sessionClose' }).orderBy('seq');
      expect(closes.map((a: { result: string }) => a.result)).to.deep.equal(['success', 'failure']);
    });

    it('`maintenance list --json` shows the session with its run; the look is audited and itself recorded', async () => {
      const r = cli(['maintenance', 'list', '--json']);
      expect(r.status, r.stderr).to.equal(0);
      const report = JSON.parse(r.stdout) as {
        sessions: { login: string; closedAt: string | null; commands: { argv: string[]; exitCode: number }[] }[];
        unreadableTotal: number;
      };
      expect(report.sessions).to.have.length(1);
      expect(report.sessions[0]!.login).to.equal('vendor-sato');
      expect(report.sessions[0]!.closedAt).to.be.a('string');
      expect(report.sessions[0]!.commands.map((c) => c.exitCode)).to.deep.equal([2]);
      // The fixture's broken lines are reported whatever the period.
      expect(report.unreadableTotal).to.equal(4);
      expect(await knex('audit_trail').where({ action: 'maintenance.read' })).to.have.length(1);
      // Outside any session now (closed): recorded without one, with its exit code.
      const last = await knex('maintenance_commands').orderBy('id', 'desc').first();
      expect(JSON.parse(last!.argv)).to.deep.equal(['maintenance', 'list', '--json']);
      expect(last).to.deep.include({ session_id: null, exit_code: 0 });
    });
  });

  describe('/admin/maintenance (real server over HTTP)', () => {
    let s: TestServer;
    const t = tempDir();
    const at = (h: number, m: number) => new Date(2026, 11, 7, h, m);

    before(async () => {
      s = await startTestServer({ configDir: configWithSudoLog(t.dir, sudoFixture) });
      // Sessions on 7 December at the fixture's times (server time), written by the log's own module.
      const base = { rhost: '172.31.250.7', service: 'sshd', tty: '/dev/pts/0', host: 'madoguchi1' };
      await recordPamEvent(s.knex, { ...base, type: 'open_session', user: 'vendor-sato', sshdPid: 100 }, at(10, 0));
      const run = { osUser: 'madoguchi', sudoUser: 'vendor-sato', clientAddress: '172.31.250.7', host: 'madoguchi1' };
      const started = { ...run, runId: 'run-1', argv: ['staff', 'import', 'jinji.csv', '--dry-run'], startedAt: at(10, 8) };
      await recordCommandStart(s.knex, started);
      await recordCommandEnd(s.knex, started, 0, at(10, 9));
      await recordPamEvent(s.knex, { ...base, type: 'close_session', user: 'vendor-sato', sshdPid: 100 }, at(10, 30));
      await recordPamEvent(s.knex, { ...base, type: 'open_session', user: 'vendor-kato', sshdPid: 101, rhost: '172.31.250.8' }, at(10, 1));
    });
    after(async () => {
      await s.close();
      t.remove();
    });

    it('shows the administrator each session with its madoguchi and sudo commands, and audits the look', async () => {
      const admin = await s.login(['admin']);
      const res = await getAs(`${s.url}admin/maintenance?from=2026-12-07&to=2026-12-08`, admin);
      expect(res.status).to.equal(200);
      const body = await res.text();
      expect(body).to.contain('保守の記録').and.contain('href="/admin/maintenance"');
      const sato = body.slice(body.indexOf('data-session="1"'), body.indexOf('</details>', body.indexOf('data-session="1"')));
      expect(sato).to.contain('vendor-sato').and.contain('172.31.250.7').and.contain('(30 分)');
      expect(sato).to.contain('staff import jinji.csv --dry-run').and.contain('終了コード 0');
      expect(sato)
        .to.contain('/usr/bin/systemctl status madoguchi')
        .and.contain('拒否 (command not allowed)')
        .and.contain('拒否 (3 incorrect password attempts)');
      expect(sato).to.contain('/usr/bin/journalctl -u madoguchi --since today --until now --output short-iso');
      // Another login's sudo line and the line after the session closed are not this session's.
      expect(sato).to.not.contain('/usr/bin/id');
      const kato = body.slice(body.indexOf('data-session="2"'));
      expect(kato.slice(0, kato.indexOf('</details>')))
        .to.contain('接続中')
        .and.contain('/usr/bin/id');
      // Secrets and My Numbers never reach the page; broken lines are listed with their reasons.
      expect(body).to.not.contain('s3cret-pw').and.not.contain('1234-5678-9012');
      const broken = body.slice(body.indexOf('id="sudo-unreadable"'));
      for (const reason of ['年がありません', 'COMMAND= がありません', 'sudo の記録の形ではありません', '日時が読めません'])
        expect(broken).to.contain(reason);
      const look = await s.knex('audit_trail').where({ action: 'maintenance.read', staff_id: admin.staffId });
      expect(look).to.have.length(1);
      expect(JSON.parse(look[0]!.detail!)).to.deep.include({ from: '2026-12-07', to: '2026-12-08', sessions: 2 });
    });

    it('refuses a counter clerk and a reviewer, and audits both refusals', async () => {
      for (const group of ['counter', 'reviewer']) {
        const who = await s.login([group]);
        const res = await getAs(`${s.url}admin/maintenance`, who);
        expect(res.status, group).to.equal(403);
        const refusal = await s.knex('audit_trail').where({ action: 'access.denied', staff_id: who.staffId }).first();
        expect(refusal, group).to.not.equal(undefined);
        expect(JSON.parse(refusal!.detail!)).to.deep.include({ route: '/admin/maintenance' });
      }
      expect(await s.knex('audit_trail').where({ action: 'maintenance.read' })).to.have.length(1);
    });

    it('says so when the sudo log is missing instead of failing', async () => {
      const admin = await s.login(['admin']);
      const cfg = s.running.config as { maintenance: { sudoLog: string } };
      const saved = cfg.maintenance.sudoLog;
      cfg.maintenance.sudoLog = path.join(t.dir, 'no-such-sudo.log');
      try {
        const body = await (await getAs(`${s.url}admin/maintenance?from=2026-12-07&to=2026-12-07`, admin)).text();
        expect(body).to.contain('sudo の記録ファイルがありません').and.contain('vendor-sato');
      } finally {
        cfg.maintenance.sudoLog = saved;
      }
    });
  });
});
