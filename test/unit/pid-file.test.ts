import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  identify,
  isServerCommand,
  pidFilePath,
  readPidFile,
  removePidFile,
  runningServerPid,
  signalServer,
  writePidFile,
} from '../../server/src/ops/pidFile.js';
import { tempDir } from '../helpers/paths.js';

const hasProc = existsSync('/proc/self/cmdline');

/** A long-running process; `looksLikeServer` gives it the command line of `madoguchi serve`. */
function longRunning(looksLikeServer: boolean): Promise<ChildProcess> {
  const child = looksLikeServer
    ? spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '/opt/madoguchi/server/bin/madoguchi.js', 'serve'], { stdio: 'ignore' })
    : spawn('sleep', ['60'], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child));
    child.once('error', reject);
  });
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once('exit', () => resolve()));

describe('pid file (server/src/ops/pidFile.ts): write, read, remove, and signal only the server that wrote it', function () {
  this.timeout(20_000);
  const t = tempDir();
  const children: ChildProcess[] = [];
  const start = async (looksLikeServer: boolean) => {
    const c = await longRunning(looksLikeServer);
    children.push(c);
    return c;
  };
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map(exited));
    t.remove();
  });

  it('writes the pid alone on one line (no temporary file left), reads it, and removes only its own', () => {
    const file = writePidFile(t.dir, 4242);
    expect(file).to.equal(pidFilePath(t.dir));
    expect(readFileSync(file, 'utf8')).to.equal('4242\n');
    expect(readdirSync(t.dir)).to.deep.equal(['madoguchi.pid']);
    expect(readPidFile(t.dir)).to.equal(4242);
    removePidFile(t.dir, 1111); // another server's file stays
    expect(readPidFile(t.dir)).to.equal(4242);
    removePidFile(t.dir, 4242);
    expect(existsSync(file)).to.equal(false);
    expect(readPidFile(t.dir)).to.equal(null);
    writeFileSync(file, 'not a pid\n');
    expect(readPidFile(t.dir)).to.equal(null);
    expect(identify(t.dir)).to.deep.equal({ state: 'none' });
  });

  it('tells a madoguchi server command line from other commands', () => {
    expect(
      isServerCommand(['/opt/madoguchi/current/node/bin/node', '/opt/madoguchi/current/app/server/bin/madoguchi.js', 'serve']),
    ).to.equal(true);
    expect(isServerCommand(['node', 'server/bin/madoguchi.js', 'demo', '--people', '100'])).to.equal(true);
    expect(isServerCommand(['node', 'server/bin/madoguchi.js', 'ups-event', 'FSD'])).to.equal(false);
    expect(isServerCommand(['sleep', '60'])).to.equal(false);
  });

  it('reports a pid no process has as stale, and does not signal it', async () => {
    const gone = await start(false);
    const pid = gone.pid!;
    gone.kill('SIGKILL');
    await exited(gone);
    writePidFile(t.dir, pid);
    expect(identify(t.dir)).to.deep.equal({ state: 'stale', pid });
    expect(signalServer(t.dir, 'SIGTERM')).to.deep.equal({ outcome: 'notRunning', pid });
    expect(runningServerPid(t.dir)).to.equal(null);
  });

  it('never signals a pid that now belongs to another program (a stale pid file after a crash)', async function () {
    if (!hasProc) this.skip();
    const other = await start(false);
    writePidFile(t.dir, other.pid!);
    const s = identify(t.dir);
    expect(s.state).to.equal('reused');
    const r = signalServer(t.dir, 'SIGTERM');
    expect(r.outcome).to.equal('reused');
    expect(r.outcome === 'reused' && r.why)
      .to.contain('別のプログラムです')
      .and.contain('sleep 60');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(other.exitCode, 'still running').to.equal(null);
    expect(other.signalCode, 'not signalled').to.equal(null);
    // Restore does not take it for a running server either.
    expect(runningServerPid(t.dir)).to.equal(null);
  });

  it('never signals a madoguchi server that started after the pid file was written (the number reused by another server)', async function () {
    if (!hasProc) this.skip();
    const later = await start(true);
    writePidFile(t.dir, later.pid!);
    const anHourAgo = new Date(Date.now() - 3600_000);
    utimesSync(pidFilePath(t.dir), anHourAgo, anHourAgo);
    expect(identify(t.dir)).to.deep.include({ state: 'reused', pid: later.pid });
    const r = signalServer(t.dir, 'SIGTERM');
    expect(r).to.deep.equal({ outcome: 'reused', pid: later.pid, why: 'pid ファイルより後に起動したプロセスです' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(later.exitCode, 'still running').to.equal(null);
    // Restore errs on the safe side: a madoguchi server by its command line counts as running.
    expect(runningServerPid(t.dir)).to.equal(later.pid);
  });

  it('signals the server that wrote the pid file', async () => {
    const server = await start(true);
    writePidFile(t.dir, server.pid!);
    expect(identify(t.dir)).to.deep.equal({ state: 'running', pid: server.pid, verified: hasProc });
    expect(runningServerPid(t.dir)).to.equal(server.pid);
    expect(signalServer(t.dir, 'SIGTERM')).to.deep.equal({ outcome: 'signalled', pid: server.pid });
    await exited(server);
    expect(server.signalCode).to.equal('SIGTERM');
  });

  it('does not signal itself when its own pid is in the file', () => {
    writePidFile(t.dir, process.pid);
    expect(signalServer(t.dir, 'SIGTERM')).to.deep.include({ outcome: 'reused', pid: process.pid });
    expect(path.basename(pidFilePath(t.dir))).to.equal('madoguchi.pid');
  });
});
