import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DiskMonitor } from '../../server/src/ops/diskMonitor.js';
import { closeLogger, createLogger, type Logger } from '../../server/src/ops/logger.js';
import { tempDir } from '../helpers/paths.js';

const sh = (cmd: string, ...args: string[]) => spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });

/** Why a real md array cannot be made here, or null when it can. */
function mdUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'root ではありません (mdadm と loop デバイスには root が必要)';
  if (sh('mdadm', '--version').error) return 'mdadm がありません (bash scripts/ensure-system-deps.sh test)';
  if (!existsSync('/proc/mdstat'))
    return 'カーネルに md ドライバーがありません (/proc/mdstat がない。コンテナーでは modprobe md_mod もできません)';
  if (sh('losetup', '--find').status !== 0) return 'loop デバイスを使えません';
  return null;
}

/**
 * A real Linux md raid1 on two loop devices: the monitor reads the kernel's own /proc/mdstat as
 * healthy, then degraded after `mdadm --fail`. Skipped with the reason where the machine cannot
 * (not root, no mdadm, no md driver); everything it made is torn down in `after`.
 */
describe('disk health on a real md raid1 over loop devices', function () {
  this.timeout(40_000);
  const t = tempDir();
  const loops: string[] = [];
  let md: string | undefined;
  let logger: Logger | undefined;

  before(function () {
    const why = mdUnavailable();
    if (why) {
      console.log(`      (skipped: ${why})`);
      this.skip();
    }
  });
  after(async () => {
    if (md) sh('mdadm', '--stop', md);
    for (const l of loops) {
      sh('mdadm', '--zero-superblock', l);
      sh('losetup', '--detach', l);
    }
    if (logger) await closeLogger(logger);
    t.remove();
  });

  it('reads the array healthy, then degraded after mdadm --fail', async function () {
    for (const name of ['a.img', 'b.img']) {
      const file = path.join(t.dir, name);
      writeFileSync(file, Buffer.alloc(0));
      sh('truncate', '-s', '32M', file);
      const r = sh('losetup', '--find', '--show', file);
      if (r.status !== 0) throw new Error(`losetup: ${r.stderr}`);
      loops.push(r.stdout.trim());
    }
    const inUse = readFileSync('/proc/mdstat', 'utf8');
    const n = [...Array(27).keys()].map((i) => 100 + i).find((i) => !inUse.includes(`md${i} `));
    md = `/dev/md${n}`;
    // --assume-clean: no initial resync, so the array is [UU] at once; --run: no question asked.
    const created = sh('mdadm', '--create', md, '--run', '--assume-clean', '--level=1', '--raid-devices=2', '--metadata=1.2', ...loops);
    if (created.status !== 0) {
      md = undefined;
      throw new Error(`mdadm --create: ${created.stderr}`);
    }
    const name = path.basename(md);
    logger = createLogger({ dataDir: t.dir, console: false });
    const monitor = new DiskMonitor(
      { intervalMinutes: 5, timeoutSeconds: 10, mdstat: '/proc/mdstat', smart: null, controller: null },
      logger,
    );
    const healthy = (await monitor.collect()).arrays.find((a) => a.name === name);
    expect(healthy).to.include({ state: 'ok', level: 'raid1', expected: 2, working: 2 });

    const failed = sh('mdadm', '--manage', md, '--fail', loops[1]!);
    expect(failed.status, failed.stderr).to.equal(0);
    const degraded = (await monitor.collect()).arrays.find((a) => a.name === name)!;
    expect(degraded).to.include({ state: 'degraded', expected: 2, working: 1 });
    expect(degraded.members.find((m) => m.name === path.basename(loops[1]!))).to.deep.equal({
      name: path.basename(loops[1]!),
      state: 'failed',
    });
    expect(degraded.message).to.equal(`RAID ${name} が縮退しています (ディスク 1 台が故障)。保守事業者に連絡してください`);
  });
});
