import { expect } from 'chai';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { diskBanner, parseMdstat, parseSmartctl, parseStorcli, summarize, type DiskState } from '../../server/src/ops/diskHealth.js';
import { DiskMonitor } from '../../server/src/ops/diskMonitor.js';
import type { Logger } from '../../server/src/ops/logger.js';
import { repoRoot, tempDir } from '../helpers/paths.js';

const fixture = (name: string): string => readFileSync(path.join(repoRoot, 'test/fixtures/disk-health', name), 'utf8');

describe('disk health parsers (recorded outputs)', () => {
  describe('/proc/mdstat', () => {
    const cases: {
      file: string;
      arrays: Record<string, DiskState>;
      members?: Record<string, string>;
      message?: RegExp;
      progress?: { action: string; percent: number | null };
    }[] = [
      { file: 'mdstat-healthy.txt', arrays: { md1: 'ok', md0: 'ok' }, members: { sda2: 'ok', sdd2: 'ok', sdb1: 'ok' } },
      { file: 'mdstat-check.txt', arrays: { md0: 'ok' }, progress: { action: 'check', percent: 4.1 } },
      {
        file: 'mdstat-degraded.txt',
        arrays: { md0: 'degraded' },
        message: /^RAID md0 が縮退しています \(ディスク 1 台が欠落\)。保守事業者に連絡してください$/,
      },
      {
        file: 'mdstat-failed-member.txt',
        arrays: { md0: 'degraded' },
        members: { sdb1: 'failed', sda1: 'ok' },
        message: /^RAID md0 が縮退しています \(ディスク 1 台が故障\)。保守事業者に連絡してください$/,
      },
      {
        file: 'mdstat-recovery.txt',
        arrays: { md0: 'rebuilding' },
        members: { sdb1: 'rebuilding', sda1: 'ok' },
        progress: { action: 'recovery', percent: 12.6 },
        message: /再構築中です \(12\.6%\)/,
      },
      { file: 'mdstat-resync.txt', arrays: { md0: 'rebuilding' }, progress: { action: 'resync', percent: 28.3 }, message: /再同期中/ },
      { file: 'mdstat-inactive.txt', arrays: { md127: 'failed' }, members: { sdb1: 'spare', sda1: 'spare' }, message: /停止しています/ },
      { file: 'mdstat-empty.txt', arrays: {} },
    ];
    for (const c of cases)
      it(`${c.file}: ${JSON.stringify(c.arrays)}`, () => {
        const r = parseMdstat(fixture(c.file));
        if (!r.ok) throw new Error(r.reason);
        expect(Object.fromEntries(r.value.map((a) => [a.name, a.state]))).to.deep.equal(c.arrays);
        const members = Object.fromEntries(r.value.flatMap((a) => a.members.map((m) => [m.name, m.state])));
        if (c.members) expect(members).to.include(c.members);
        if (c.progress) expect(r.value[0]!.progress).to.deep.equal(c.progress);
        if (c.message) expect(r.value[0]!.message).to.match(c.message);
        else if (r.value.every((a) => a.state === 'ok')) expect(r.value.map((a) => a.message)).to.deep.equal(r.value.map(() => null));
      });

    it('reads the levels and counts of the healthy arrays', () => {
      const r = parseMdstat(fixture('mdstat-healthy.txt'));
      if (!r.ok) throw new Error(r.reason);
      expect(r.value.map((a) => [a.name, a.level, a.expected, a.working])).to.deep.equal([
        ['md1', 'raid10', 4, 4],
        ['md0', 'raid1', 2, 2],
      ]);
    });

    for (const file of ['mdstat-truncated.txt', 'garbage.txt', 'smart-ata-passed.json'])
      it(`refuses ${file} (never healthy by accident)`, () => {
        const r = parseMdstat(fixture(file));
        expect(r.ok).to.equal(false);
      });

    it('calls a raid5 missing two disks failed, not degraded', () => {
      const text = `Personalities : [raid6] [raid5] [raid4]
md2 : active raid5 sdc1[2]
      1953257472 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/1] [__U]

unused devices: <none>
`;
      const r = parseMdstat(text);
      if (!r.ok) throw new Error(r.reason);
      expect(r.value[0]!.state).to.equal('failed');
    });
  });

  describe('smartctl -j -H -A', () => {
    const cases: {
      file: string;
      device: string;
      state: DiskState;
      kind: string;
      message?: RegExp;
      counts?: Record<string, number | null>;
    }[] = [
      { file: 'smart-ata-passed.json', device: '/dev/sda', state: 'ok', kind: 'ata', counts: { reallocatedSectors: 0, pendingSectors: 0 } },
      {
        file: 'smart-ata-reallocated.json',
        device: '/dev/sda',
        state: 'degraded',
        kind: 'ata',
        counts: { reallocatedSectors: 8 },
        message: /代替処理済みのセクタが 8 個.*交換を計画してください/,
      },
      {
        file: 'smart-ata-failing.json',
        device: '/dev/sdb',
        state: 'failed',
        kind: 'ata',
        counts: { reallocatedSectors: 2264, pendingSectors: 48, uncorrectableSectors: 48 },
        message: /FAILED.*Reallocated_Sector_Ct.*すぐに保守事業者に連絡/,
      },
      { file: 'smart-nvme-healthy.json', device: '/dev/nvme0', state: 'ok', kind: 'nvme', counts: { criticalWarning: 0 } },
      {
        file: 'smart-nvme-critical.json',
        device: '/dev/nvme0',
        state: 'failed',
        kind: 'nvme',
        counts: { criticalWarning: 5 },
        message: /予備領域が下限を下回りました、信頼性が低下しています.*メディアエラーが 17 回/,
      },
    ];
    for (const c of cases)
      it(`${c.file}: ${c.state}`, () => {
        const r = parseSmartctl(fixture(c.file), c.device);
        if (!r.ok) throw new Error(r.reason);
        expect(r.value).to.include({ name: c.device, state: c.state, kind: c.kind });
        if (c.counts) expect(r.value).to.include(c.counts);
        if (c.message) expect(r.value.message).to.match(c.message);
        else expect(r.value.message).to.equal(null);
      });

    for (const [file, reason] of [
      ['smart-no-device.json', /No such device/],
      ['smart-truncated.json', /JSON として読めません/],
      ['garbage.txt', /JSON として読めません/],
      ['storcli-optimal.json', /smartctl の JSON ではありません/],
    ] as const)
      it(`refuses ${file}`, () => {
        const r = parseSmartctl(fixture(file), '/dev/sdc');
        expect(r.ok).to.equal(false);
        if (!r.ok) expect(r.reason).to.match(reason);
      });
  });

  it('calls an NVMe drive that is only too hot degraded, not failed', () => {
    const j = JSON.parse(fixture('smart-nvme-healthy.json')) as {
      smart_status: { passed: boolean; nvme: { value: number } };
      nvme_smart_health_information_log: { critical_warning: number };
    };
    j.smart_status = { passed: false, nvme: { value: 2 } };
    j.nvme_smart_health_information_log.critical_warning = 2;
    const r = parseSmartctl(JSON.stringify(j), '/dev/nvme0');
    if (!r.ok) throw new Error(r.reason);
    expect(r.value).to.include({ state: 'degraded', criticalWarning: 2 });
    expect(r.value.message).to.equal(
      'ディスク /dev/nvme0: NVMe の重大警告: 温度が上限を超えています。サーバー室の温度とサーバーのファンを確かめてください',
    );
  });

  it('reads a recording a root timer wrote: the name from the JSON, refused once older than maxAgeMinutes', () => {
    const text = fixture('smart-ata-reallocated.json');
    const at = (JSON.parse(text) as { local_time: { time_t: number } }).local_time.time_t * 1000;
    const fresh = parseSmartctl(text, '/var/lib/madoguchi-disks/sda.json', null, { now: new Date(at + 29 * 60_000), maxAgeMinutes: 30 });
    if (!fresh.ok) throw new Error(fresh.reason);
    expect(fresh.value).to.include({ name: '/dev/sda', state: 'degraded' });
    const stale = parseSmartctl(text, '/var/lib/madoguchi-disks/sda.json', null, { now: new Date(at + 31 * 60_000), maxAgeMinutes: 30 });
    expect(stale).to.deep.equal({ ok: false, reason: '/var/lib/madoguchi-disks/sda.json: smartctl の記録が古すぎます (31 分前)' });
  });

  describe('storcli64 /call show J', () => {
    const cases: { file: string; vd: DiskState; pds: Record<string, DiskState>; message?: RegExp }[] = [
      { file: 'storcli-optimal.json', vd: 'ok', pds: { 'c0 252:0': 'ok', 'c0 252:1': 'ok' } },
      {
        file: 'storcli-degraded.json',
        vd: 'degraded',
        pds: { 'c0 252:0': 'ok', 'c0 252:1': 'failed' },
        message: /^RAID c0\/v0 \(RAID1\) が縮退しています \(ディスク 1 台が故障\)/,
      },
      { file: 'storcli-rebuilding.json', vd: 'rebuilding', pds: { 'c0 252:0': 'ok', 'c0 252:1': 'rebuilding' }, message: /再構築中/ },
    ];
    for (const c of cases)
      it(`${c.file}: ${c.vd}`, () => {
        const r = parseStorcli(fixture(c.file));
        if (!r.ok) throw new Error(r.reason);
        expect(r.value.arrays.map((a) => [a.name, a.level, a.state])).to.deep.equal([['c0/v0', 'RAID1', c.vd]]);
        expect(Object.fromEntries(r.value.devices.map((d) => [d.name, d.state]))).to.deep.equal(c.pds);
        if (c.message) expect(r.value.arrays[0]!.message).to.match(c.message);
        // No serial numbers or models leave the parser.
        expect(JSON.stringify(r.value)).to.not.match(/SK00000000|SAMSUNG/);
      });

    for (const [file, reason] of [
      ['storcli-failed-command.json', /Controller 0 not found/],
      ['garbage.txt', /JSON として読めません/],
      ['smart-ata-passed.json', /Controllers がありません/],
    ] as const)
      it(`refuses ${file}`, () => {
        const r = parseStorcli(fixture(file));
        expect(r.ok).to.equal(false);
        if (!r.ok) expect(r.reason).to.match(reason);
      });
  });

  it('summarizes worst first: failed over degraded over unknown over rebuilding', () => {
    const md = parseMdstat(fixture('mdstat-recovery.txt'));
    const sda = parseSmartctl(fixture('smart-ata-reallocated.json'), '/dev/sda');
    const sdb = parseSmartctl(fixture('smart-ata-failing.json'), '/dev/sdb');
    if (!md.ok || !sda.ok || !sdb.ok) throw new Error('fixtures');
    const h = summarize(
      {
        sources: [{ kind: 'controller', target: 'storcli-json', state: 'unknown', reason: 'x' }],
        arrays: md.value,
        devices: [sda.value, sdb.value],
      },
      new Date(),
    );
    expect(h.state).to.equal('failed');
    expect(h.messages[0]).to.match(/^ディスク \/dev\/sdb/);
    expect(h.messages.at(-1)).to.match(/再構築中/);
    expect(diskBanner(h)).to.match(/^ディスクの異常: ディスク \/dev\/sdb/);
    expect(diskBanner(summarize({ sources: [], arrays: [], devices: [] }, null))).to.equal(null);
  });
});

describe('disk monitor: when it logs, and arrays that disappear', () => {
  const t = tempDir();
  after(() => t.remove());

  it('logs each change at once, a lasting problem again after an hour, the return to ok, and a vanished array as failed', async () => {
    const mdstat = path.join(t.dir, 'mdstat');
    const lines: { level: string; message: string; state?: unknown }[] = [];
    const at = (level: string) => (message: string, fields?: { state?: unknown }) =>
      void lines.push({ level, message, state: fields?.state });
    const logger = { info: at('info'), warn: at('warn'), error: at('error') } as unknown as Logger;
    let now = Date.parse('2026-12-07T00:00:00Z');
    const monitor = new DiskMonitor({ intervalMinutes: 5, timeoutSeconds: 5, mdstat, smart: null, controller: null }, logger, {
      now: () => now,
    });
    const step = async (file: string, minutes: number) => {
      copyFileSync(path.join(repoRoot, 'test/fixtures/disk-health', file), mdstat);
      now += minutes * 60_000;
      return monitor.collect();
    };
    const messages = () => lines.map((l) => `${l.level} ${l.message} ${String(l.state)}`);

    expect((await step('mdstat-degraded.txt', 0)).state).to.equal('degraded');
    await step('mdstat-degraded.txt', 30);
    expect(messages()).to.deep.equal(['warn disk health degraded degraded']);
    await step('mdstat-degraded.txt', 31);
    expect(messages()).to.have.length(2);
    writeFileSync(
      mdstat,
      'Personalities : [raid1]\nmd0 : inactive sdb1[1](S) sda1[0](S)\n      976630464 blocks super 1.2\n\nunused devices: <none>\n',
    );
    now += 5 * 60_000;
    expect((await monitor.collect()).state).to.equal('failed');
    expect(messages().at(-1)).to.equal('error disk health degraded failed');
    await step('mdstat-healthy.txt', 5);
    expect(messages().at(-1)).to.equal('info disk health ok ok');
    await step('mdstat-healthy.txt', 120);
    expect(messages()).to.have.length(4);
    // The md driver's file gone after arrays were seen: they are reported, not forgotten.
    const gone = await step('mdstat-empty.txt', 5);
    expect(gone.arrays.map((a) => [a.name, a.state])).to.deep.equal([
      ['md0', 'failed'],
      ['md1', 'failed'],
    ]);
    expect(gone.messages[0]).to.equal('RAID md0 が見えなくなりました。保守事業者に連絡してください');
  });

  it('reads nothing and warns of nothing when no source is configured or the md driver is absent', async () => {
    const logger = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
    const none = new DiskMonitor({ intervalMinutes: 5, timeoutSeconds: 5, mdstat: null, smart: null, controller: null }, logger);
    expect(none.configured).to.equal(false);
    const absent = new DiskMonitor(
      {
        intervalMinutes: 5,
        timeoutSeconds: 5,
        mdstat: path.join(t.dir, 'no-such-mdstat'),
        smart: { command: ['smartctl'], devices: [], maxAgeMinutes: null },
        controller: null,
      },
      logger,
    );
    const h = await absent.collect();
    expect(h).to.include({ state: 'ok' });
    expect(h.sources).to.deep.equal([]);
  });
});
