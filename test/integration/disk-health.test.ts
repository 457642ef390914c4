import { expect } from 'chai';
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SystemHealth } from '../../server/src/ops/health.js';
import { diskConfig, diskFixtures, logLines, record, recordingTool, until } from '../helpers/disks.js';
import { tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

/**
 * The real server with the disk sources pointed at recordings: /proc/mdstat as a file, smartctl
 * and storcli64 as small executables that print recorded outputs (run by the server through
 * execFile, as the real tools are). /healthz, the dashboard and the monitoring's log line follow
 * each collection.
 */
describe('disk health: /healthz, the dashboard and the log line from recorded RAID and SMART outputs', function () {
  this.timeout(30_000);
  const t = tempDir();
  const tools = path.join(t.dir, 'tools');
  const mdstat = path.join(t.dir, 'mdstat');
  let server: TestServer;

  const health = async (): Promise<SystemHealth> => {
    const res = await fetch(`${server.url}healthz`);
    // A disk problem never makes /healthz a 503: the database answers, a restart mends no disk.
    expect(res.status).to.equal(200);
    return (await res.json()) as SystemHealth;
  };
  const healthWhen = (what: string, check: (h: SystemHealth) => boolean) =>
    until(what, async () => {
      const h = await health();
      return check(h) && h;
    });

  before(async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(tools);
    copyFileSync(path.join(diskFixtures, 'mdstat-degraded.txt'), mdstat);
    const smartctl = recordingTool(tools, 'smartctl');
    const storcli = recordingTool(tools, 'storcli64');
    record(tools, 'sda', 'smart-ata-reallocated.json', 0);
    record(tools, 'nvme0', 'smart-nvme-healthy.json', 0);
    record(tools, 'all', 'storcli-optimal.json', 0);
    const configDir = diskConfig(t.dir, {
      intervalMinutes: 0.01,
      // Loose enough for a loaded machine; the stand-in that hangs sleeps far longer.
      timeoutSeconds: 3,
      mdstat,
      smart: { command: [smartctl, '-j', '-H', '-A'], devices: ['/dev/sda', '/dev/nvme0'], maxAgeMinutes: null },
      controller: { command: [storcli, '/call', 'show', 'J'], format: 'storcli-json' },
    });
    server = await startTestServer({ configDir, dataSubdir: 'data' });
  });
  after(async () => {
    await server?.close();
    t.remove();
  });

  it('reports a degraded md array and a disk with reallocated sectors as a warning (not a 503), without serials', async () => {
    const h = await healthWhen('the first collection', (x) => x.disks.checkedAt !== null);
    expect(h.status).to.equal('ok');
    expect(h.warnings).to.include('disks');
    expect(h.disks).to.include({ status: 'warn', state: 'degraded' });
    expect(h.disks.sources.map((s) => [s.kind, s.state])).to.have.deep.members([
      ['mdstat', 'degraded'],
      ['smart', 'degraded'],
      ['smart', 'ok'],
      ['controller', 'ok'],
    ]);
    expect(h.disks.arrays.map((a) => [a.name, a.state, a.working, a.expected])).to.deep.equal([
      ['md0', 'degraded', 1, 2],
      ['c0/v0', 'ok', null, null],
    ]);
    const sda = h.disks.devices.find((d) => d.name === '/dev/sda')!;
    expect(sda).to.include({ state: 'degraded', kind: 'ata', reallocatedSectors: 8 });
    expect(h.messages).to.include('RAID md0 が縮退しています (ディスク 1 台が欠落)。保守事業者に連絡してください');
    const text = JSON.stringify(h);
    expect(text).to.not.match(/SK00000000|SAMSUNG|serial/i);
    // Paths of the tools and the recording stay off the public /healthz.
    expect(text).to.not.contain(t.dir);
  });

  it('logs one stable line for the monitoring on the change, and not again on every collection', async () => {
    const degraded = await until('the log line', () => {
      const l = logLines(server.dataDir).filter((x) => x.message === 'disk health degraded');
      return l.length > 0 && l;
    });
    expect(degraded[0]).to.include({ level: 'warn', state: 'degraded' });
    expect(JSON.stringify(degraded[0])).to.contain('md0');
    const seen = server.running.disks.current().checkedAt!.getTime();
    await until('two more collections', () => server.running.disks.current().checkedAt!.getTime() > seen + 1000);
    expect(logLines(server.dataDir).filter((x) => x.message === 'disk health degraded')).to.have.length(1);
  });

  it('shows the arrays, the disks and what to do on the dashboard of an administrator', async () => {
    const admin = await server.loginDemo('kanri');
    const page = await (await fetch(`${server.url}admin/operations`, { headers: { cookie: admin.cookie } })).text();
    expect(page).to.contain('id="ops-disks"').and.contain('data-array="md0"').and.contain('data-device="/dev/sda"');
    expect(page).to.contain('RAID md0 が縮退しています');
    expect(page).to.contain('id="disk-banner"');
    const clerk = await server.loginDemo('madoka');
    const home = await (await fetch(server.url, { headers: { cookie: clerk.cookie } })).text();
    expect(home).to.not.contain('disk-banner');
  });

  it('calls a failing disk failed (logged as an error), and output it cannot read unknown (fail closed)', async () => {
    record(tools, 'sda', 'smart-ata-failing.json', 24);
    record(tools, 'all', 'garbage.txt', 0);
    const h = await healthWhen('the failing disk', (x) => x.disks.state === 'failed' && x.disks.sources.some((s) => s.state === 'unknown'));
    expect(h.disks.devices.find((d) => d.name === '/dev/sda')).to.include({ state: 'failed' });
    expect(h.disks.sources.find((s) => s.kind === 'controller')).to.deep.equal({ kind: 'controller', state: 'unknown' });
    expect(h.messages.join('\n')).to.contain('RAID コントローラーの状態を確認できません');
    await until('the error line', () => logLines(server.dataDir).some((x) => x.message === 'disk health degraded' && x.level === 'error'));
  });

  it('marks a tool that does not answer in time unknown', async () => {
    record(tools, 'sda', 'smart-ata-passed.json', 0);
    record(tools, 'all', 'storcli-optimal.json', 0);
    writeFileSync(path.join(tools, 'nvme0.sleep'), '60');
    const h = await healthWhen('the timeout', (x) => x.disks.sources.some((s) => s.kind === 'smart' && s.state === 'unknown'));
    expect(h.warnings).to.include('disks');
    const reason = server.running.disks.current().sources.find((s) => s.target === '/dev/nvme0')!.reason;
    expect(reason).to.match(/3 秒以内に応答がありません/);
  });

  it('goes back to ok when the recordings are healthy again, and logs that', async () => {
    const { rmSync } = await import('node:fs');
    rmSync(path.join(tools, 'nvme0.sleep'));
    copyFileSync(path.join(diskFixtures, 'mdstat-healthy.txt'), mdstat);
    const h = await healthWhen('ok again', (x) => x.disks.state === 'ok');
    expect(h.warnings).to.not.include('disks');
    expect(h.disks.arrays.map((a) => [a.name, a.state])).to.deep.equal([
      ['md1', 'ok'],
      ['md0', 'ok'],
      ['c0/v0', 'ok'],
    ]);
    await until('the ok line', () => logLines(server.dataDir).some((x) => x.message === 'disk health ok'));
  });
});
