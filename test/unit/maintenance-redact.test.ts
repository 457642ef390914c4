import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REDACTED, redactArgv, redactCommandLine } from '../../server/src/maintenance/redact.js';
import { parseSudoLog, sudoEntriesOf, type SudoEntry, type SudoUnreadable } from '../../server/src/maintenance/sudoLog.js';
import { repoRoot } from '../helpers/paths.js';

const fixture = (name: string) => readFileSync(path.join(repoRoot, 'test/fixtures/maintenance', name), 'utf8');

describe('maintenance log: redaction of command lines', () => {
  it('replaces the values of secret options, in both spellings, and keeps everything else', () => {
    expect(
      redactArgv(['staff', 'add-admin', 'kanri', '--password', 'hunter2', '--db-password=pa ss', '--token', 't0k', '--api-key=k']),
    ).to.deep.equal([
      'staff',
      'add-admin',
      'kanri',
      '--password',
      REDACTED,
      `--db-password=${REDACTED}`,
      '--token',
      REDACTED,
      `--api-key=${REDACTED}`,
    ]);
    // A file named after passwords is not a password; --reason is kept.
    expect(
      redactArgv(['staff', 'import', 'jinji.csv', '--passwords-out', '/root/初期パスワード.csv', '--reason', '異動の取込']),
    ).to.deep.equal(['staff', 'import', 'jinji.csv', '--passwords-out', '/root/初期パスワード.csv', '--reason', '異動の取込']);
  });

  it('replaces NAME=value secrets and URL passwords', () => {
    expect(redactArgv(['MADOGUCHI_DB_PASSWORD=s3cret', 'password=x', 'client_secret=y', 'mode=fast'])).to.deep.equal([
      `MADOGUCHI_DB_PASSWORD=${REDACTED}`,
      `password=${REDACTED}`,
      `client_secret=${REDACTED}`,
      'mode=fast',
    ]);
    expect(redactArgv(['mssql://sa:Pa55word@db1:1433/madoguchi'])).to.deep.equal([`mssql://sa:${REDACTED}@db1:1433/madoguchi`]);
  });

  it('replaces the short and header forms of secrets (sqlcmd -P, mysql -pX, curl -u, Authorization)', () => {
    expect(redactArgv(['sqlcmd', '-S', 'db', '-P', 'hunter2'])).to.deep.equal(['sqlcmd', '-S', 'db', '-P', REDACTED]);
    expect(redactArgv(['mysql', '-phunter2'])).to.deep.equal(['mysql', `-p${REDACTED}`]);
    expect(redactArgv(['curl', '-u', 'admin:pw', '-H', 'Authorization: Bearer tok'])).to.deep.equal([
      'curl',
      '-u',
      `admin:${REDACTED}`,
      '-H',
      `Authorization: ${REDACTED}`,
    ]);
    expect(redactArgv(['serve', '-p', '8080'])).to.deep.equal(['serve', '-p', '8080']);
    expect(redactArgv(['journalctl', '-u', 'madoguchi'])).to.deep.equal(['journalctl', '-u', 'madoguchi']);
    expect(redactCommandLine("/usr/bin/curl -H 'Authorization: Bearer tok' --db-pass s3")).to.not.match(/tok|s3/);
  });

  it('never keeps a My Number (12 digits, grouped or full-width), not even in --reason', () => {
    const out = redactArgv([
      '--reason',
      '個人番号 123456789012 の確認',
      '1234-5678-9012',
      '１２３４５６７８９０１２',
      'visit-9876543210987',
    ]).join(' ');
    expect(out).to.not.match(/123456789012|1234-5678-9012|１２３４５６７８９０１２/);
    expect(out).to.contain('[個人番号マスク]');
    // 13 digits is not a My Number's shape and stays (a 宛名番号 may be that long).
    expect(out).to.contain('visit-9876543210987');
  });

  it('redacts a command line as sudo logs it (quoted words kept as they were)', () => {
    expect(redactCommandLine("/usr/bin/ls /root 'a b'")).to.equal("/usr/bin/ls /root 'a b'");
    expect(redactCommandLine("/usr/local/bin/madoguchi x --password 'p w' --reason 123456789012")).to.equal(
      `/usr/local/bin/madoguchi x --password ${REDACTED} --reason [個人番号マスク]`,
    );
  });
});

describe('maintenance log: the sudo log file', () => {
  it('reads every line sudo 1.9 wrote (recorded sample), refusals and a wrapped entry included', () => {
    const lines = parseSudoLog(fixture('sudo-recorded.log'));
    expect(lines.filter((l) => l.kind === 'unreadable')).to.deep.equal([]);
    const entries = lines as SudoEntry[];
    expect(entries).to.have.length(12);
    expect(entries[0]).to.deep.include({
      user: 'mdgvendor1',
      host: 'vm',
      tty: null,
      pwd: '/tmp',
      runAs: 'root',
      command: '/usr/bin/id',
      refusal: null,
    });
    expect(entries[0]!.at.getTime()).to.equal(new Date(2026, 11, 7, 20, 49, 14).getTime());
    expect(entries[4]).to.deep.include({ refusal: 'command not allowed', command: '/usr/bin/cat /etc/shadow' });
    expect(entries[8]).to.deep.include({ refusal: '3 incorrect password attempts', tty: 'pts/0', command: '/usr/bin/whoami' });
    expect(entries[9]!.command).to.equal(`/usr/bin/id -u -- password=${REDACTED}`);
    expect(entries[11]!.command).to.equal(
      '/usr/bin/ls -la --color=never --time-style=long-iso /tmp/nonexistent-directory-with-a-long-name-to-wrap /var/tmp/another-long-path-for-wrapping',
    );
    expect(entries[11]!.line).to.equal(12);
  });

  it('shows broken lines as unreadable with the reason, never drops them, and redacts them too', () => {
    const lines = parseSudoLog(
      fixture('sudo.log') + 'Dec  7 10:13:00 2026 : vendor-sato : HOST=m ; USER=root ; COMMAND=x --password=abc 123456789012 ; TRUNC',
    );
    const unreadable = lines.filter((l): l is SudoUnreadable => l.kind === 'unreadable');
    expect(unreadable.map((u) => [u.line, u.reason])).to.deep.equal([
      [11, '年がありません (sudoers の Defaults に log_year が必要です)'],
      [12, 'COMMAND= がありません (途中で切れた行)'],
      [13, 'sudo の記録の形ではありません'],
      [14, '日時が読めません'],
    ]);
    // Every line of the file is accounted for: 9 entries (one wrapped over 3 lines) + 4 unreadable, + the one added here.
    expect(lines).to.have.length(9 + 4 + 1);
    const last = lines.at(-1) as SudoEntry;
    expect(last.command).to.equal(`x --password=${REDACTED} [個人番号マスク] ; TRUNC`);
  });

  it('picks one login within a session window (sudo counts whole seconds)', () => {
    const lines = parseSudoLog(fixture('sudo.log'));
    const from = new Date(2026, 11, 7, 10, 2, 11, 600);
    const mine = sudoEntriesOf(lines, 'vendor-sato', from, new Date(2026, 11, 7, 10, 30));
    expect(mine.map((e) => e.command.split(' ')[0])).to.deep.equal([
      '/usr/bin/systemctl',
      '/usr/local/bin/madoguchi',
      '/usr/bin/cat',
      '/usr/bin/whoami',
      '/usr/bin/ls',
      '/usr/local/bin/madoguchi',
      '/usr/bin/journalctl',
    ]);
    expect(mine[5]!.command).to.equal(
      `/usr/local/bin/madoguchi staff import jinji.csv --reason [個人番号マスク] MADOGUCHI_DB_PASSWORD=${REDACTED}`,
    );
    expect(mine[6]!.command).to.equal('/usr/bin/journalctl -u madoguchi --since today --until now --output short-iso');
  });
});
