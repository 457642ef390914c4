import { expect } from 'chai';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { loadAppConfig, type AppConfig } from '../../server/src/config/appConfig.js';
import {
  backupFreshness,
  listBackups,
  pruneBackups,
  restoreBackup,
  RestoreError,
  runScheduledBackup,
  scheduleBackups,
  takeBackup,
  verifyBackup,
  type BackupManifest,
} from '../../server/src/ops/backup.js';
import { createLogger } from '../../server/src/ops/logger.js';
import { businessDaysBetween, planRetention } from '../../server/src/ops/backup/retention.js';
import { cliPath, configDir, repoRoot, tempDir } from '../helpers/paths.js';

const manifestOf = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as BackupManifest;

/** Overwrites whole pages in the middle of a database file (the page size is 4096). */
function corruptMiddle(file: string, pages = 8): void {
  const size = statSync(file).size;
  const start = Math.floor(size / 4096 / 2) * 4096;
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(pages * 4096, 0xab), 0, pages * 4096, start);
  closeSync(fd);
}

function integrity(file: string): string {
  const db = new Database(file, { fileMustExist: true });
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('\n');
  } catch (e) {
    return (e as Error).message;
  } finally {
    db.close();
  }
}

function query<T>(file: string, sql: string): T[] {
  const db = new Database(file, { fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

describe('backup and restore through the CLI: online backup of a running server, refusal, restore after corruption', function () {
  this.timeout(120_000);
  const t = tempDir();
  const dataDir = path.join(t.dir, 'data');
  const live = path.join(dataDir, 'madoguchi.sqlite');
  let child: ChildProcess;
  let exited: Promise<number | null>;
  let backupDir: string;
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [cliPath, ...args, '--data-dir', dataDir], { cwd: repoRoot, encoding: 'utf8' });

  before(async () => {
    const gen = spawnSync(
      process.execPath,
      [cliPath, 'generate', '--people', '100', '--seed', 'backup-test', '--out', path.join(t.dir, 'town')],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    expect(gen.status, gen.stderr).to.equal(0);
    const ingest = cli('ingest', path.join(t.dir, 'town'));
    expect(ingest.status, ingest.stderr).to.equal(0);
    child = spawn(process.execPath, [cliPath, 'serve', '--port', '0', '--data-dir', dataDir], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (/起動しました: http/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
    });
  });
  after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    t.remove();
  });

  it("takes a verified backup of the running server's database, lists it and verifies it again", () => {
    const r = cli('backup', 'now');
    expect(r.status, r.stderr).to.equal(0);
    backupDir = r.stdout.trim();
    expect(path.dirname(backupDir)).to.equal(path.join(dataDir, 'backups'));
    expect(path.basename(backupDir)).to.match(/^madoguchi-[0-9]{8}-[0-9]{6}$/);
    expect(r.stderr).to.contain('バックアップしました (検証済み)');
    const m = manifestOf(backupDir);
    expect(m.verified).to.equal(true);
    expect(m.version).to.equal(JSON.parse(readFileSync(path.join(repoRoot, 'server/package.json'), 'utf8')).version);
    expect(m.database?.client).to.equal('sqlite');
    const residents = query<{ n: number }>(live, 'SELECT count(*) AS n FROM residents')[0]!.n;
    expect(residents).to.be.greaterThan(0);
    expect(m.database?.client === 'sqlite' && m.database.tables.residents).to.equal(residents);
    expect(m.files.map((f) => f.path)).to.include.members(['madoguchi.sqlite', 'config/municipality.yaml']);
    expect(m.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256))).to.equal(true);
    // Never a half-written folder in the target.
    expect(readdirSync(path.dirname(backupDir)).filter((n) => n.endsWith('.partial'))).to.deep.equal([]);

    const list = cli('backup', 'list');
    expect(list.status).to.equal(0);
    expect(list.stdout.split('\n').find((l) => l.includes(backupDir))).to.contain('検証済み');
    const verify = cli('backup', 'verify');
    expect(verify.status, verify.stderr).to.equal(0);
    expect(verify.stdout).to.contain(`異常はありません: ${backupDir}`);
  });

  it('refuses to restore while the server runs (exit 1, nothing moved)', () => {
    const r = cli('restore', backupDir);
    expect(r.status).to.equal(1);
    expect(r.stderr).to.contain('サーバーが動いているため復元できません').and.contain(`pid ${child.pid}`);
    expect(readdirSync(dataDir).filter((n) => n.includes('before-restore') || n.includes('.restoring'))).to.deep.equal([]);
  });

  it('brings the data back after the live database was corrupted (server stopped)', async () => {
    const sample = 'SELECT * FROM residents ORDER BY id LIMIT 1 OFFSET 42';
    const row = query<Record<string, unknown>>(live, sample)[0]!;
    expect(row.name).to.be.a('string');
    child.kill('SIGTERM');
    expect(await exited).to.equal(0);
    corruptMiddle(live);
    expect(integrity(live)).to.not.equal('ok');

    const r = cli('restore', backupDir);
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`復元しました: ${backupDir}`);
    const aside = readdirSync(dataDir).filter((n) => /^madoguchi\.sqlite\.before-restore-[0-9]{8}-[0-9]{6}$/.test(n));
    expect(aside).to.have.length(1);
    expect(r.stdout).to.contain(aside[0]);
    expect(integrity(path.join(dataDir, aside[0]!))).to.not.equal('ok'); // the corrupt one, kept for inspection

    expect(integrity(live)).to.equal('ok');
    expect(query(live, sample)[0]).to.deep.equal(row);
    const m = manifestOf(backupDir);
    const tables = m.database?.client === 'sqlite' ? m.database.tables : {};
    for (const [table, n] of Object.entries(tables))
      expect(query<{ n: number }>(live, `SELECT count(*) AS n FROM "${table}"`)[0]!.n, table).to.equal(n);
    // The restored file opens through the application's own path.
    const migrate = cli('migrate');
    expect(migrate.status, migrate.stderr).to.equal(0);
    expect(migrate.stdout).to.contain('データベースは最新です');
  });
});

const WRITER = `
const Database = require(process.argv[2]);
const db = new Database(process.argv[3]);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 10000');
const insert = db.prepare('INSERT INTO probe (batch, seq, marker) VALUES (?, ?, ?)');
const batch = db.transaction((b) => { for (let i = 0; i < 10; i++) insert.run(b, i, 'batch-' + b); });
let b = 0;
let stop = false;
process.on('SIGTERM', () => { stop = true; });
const tick = () => {
  if (stop) { db.close(); process.exit(0); }
  batch(++b);
  if (b === 1) process.stdout.write('ready\\n');
  setTimeout(tick, 1);
};
tick();
`;

describe('a backup taken while another process keeps writing restores consistently', function () {
  this.timeout(60_000);
  const t = tempDir();
  const dataDir = path.join(t.dir, 'data');
  const file = path.join(dataDir, 'madoguchi.sqlite');
  let config: AppConfig;

  before(() => {
    config = loadAppConfig(configDir);
    mkdirSync(dataDir);
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec(
      'CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB NOT NULL); CREATE TABLE probe (id INTEGER PRIMARY KEY, batch INTEGER NOT NULL, seq INTEGER NOT NULL, marker TEXT NOT NULL)',
    );
    const insert = db.prepare('INSERT INTO filler (body) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 3000; i++) insert.run(Buffer.alloc(2000, i % 251));
    })();
    db.close();
  });
  after(() => t.remove());

  it('holds whole transactions only, as many as were committed at one moment during the backup', async () => {
    const script = path.join(t.dir, 'writer.cjs');
    writeFileSync(script, WRITER);
    const writer = spawn(process.execPath, [script, path.join(repoRoot, 'node_modules/better-sqlite3'), file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const writerExit = new Promise<number | null>((resolve) => writer.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) => writer.stdout!.once('data', () => resolve()));
    const reader = new Database(file, { fileMustExist: true });
    const committed = () => Number((reader.prepare('SELECT coalesce(max(batch), 0) AS n FROM probe').get() as { n: number }).n);
    let before: number, after: number, result;
    try {
      before = committed();
      // Small steps, so that the writer commits between them and SQLite has to restart the copy.
      result = await takeBackup({ config, configDir, dataDir, pagesPerStep: 16 });
      after = committed();
    } finally {
      writer.kill('SIGTERM');
      expect(await writerExit).to.equal(0);
      reader.close();
    }
    expect(after, 'the writer went on during the backup').to.be.greaterThan(before);
    expect(result.manifest.verified, result.manifest.problems.join('\n')).to.equal(true);

    const restoredDir = path.join(t.dir, 'restored');
    const restored = await restoreBackup(result.path, { config, dataDir: restoredDir });
    expect(restored.movedAside).to.deep.equal([]);
    expect(integrity(restored.database)).to.equal('ok');
    const batches = query<{ batch: number; n: number; markers: number; marker: string }>(
      restored.database,
      'SELECT batch, count(*) AS n, count(DISTINCT marker) AS markers, min(marker) AS marker FROM probe GROUP BY batch ORDER BY batch',
    );
    const k = batches.length;
    expect(k).to.be.within(before, after);
    batches.forEach((b, i) => {
      expect(b.batch, 'a prefix of the committed batches').to.equal(i + 1);
      expect([b.n, b.markers, b.marker], `batch ${b.batch}`).to.deep.equal([10, 1, `batch-${b.batch}`]);
    });
    expect(result.manifest.database?.client === 'sqlite' && result.manifest.database.tables.probe).to.equal(k * 10);
  });
});

describe('backup verification finds tampering, corruption and broken references; freshness follows', function () {
  this.timeout(60_000);
  const t = tempDir();
  const dataDir = path.join(t.dir, 'data');
  const file = path.join(dataDir, 'madoguchi.sqlite');
  let config: AppConfig;

  before(() => {
    config = loadAppConfig(configDir);
    mkdirSync(path.join(dataDir, 'evidence', '7'), { recursive: true });
    writeFileSync(path.join(dataDir, 'evidence', '7', '1-01-screenshot.png'), 'png');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec(
      'CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id), body TEXT)',
    );
    const p = db.prepare('INSERT INTO parent (id, name) VALUES (?, ?)');
    const c = db.prepare('INSERT INTO child (parent_id, body) VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 1; i <= 300; i++) {
        p.run(i, `親 ${i}`);
        c.run(i, 'x'.repeat(400));
      }
    })();
    db.close();
  });
  after(() => t.remove());

  it('reports none before the first backup, ok after it, stale when it is too old', async () => {
    expect((await backupFreshness(config, dataDir)).status).to.equal('none');
    const r = await takeBackup({ config, configDir, dataDir });
    expect(r.manifest.verified).to.equal(true);
    expect(r.manifest.parts).to.deep.equal(['config', 'evidence']);
    expect(r.manifest.files.map((f) => f.path)).to.include('evidence/7/1-01-screenshot.png');
    const fresh = await backupFreshness(config, dataDir);
    expect(fresh).to.deep.equal({
      status: 'ok',
      lastAt: r.manifest.createdAt,
      lastVerified: true,
      target: path.join(dataDir, 'backups'),
      count: 1,
    });
    const later = new Date(Date.parse(r.manifest.createdAt) + (config.backup.maxAgeHours + 1) * 3600_000);
    expect((await backupFreshness(config, dataDir, later)).status).to.equal('stale');
  });

  it('names a file whose SHA-256 no longer matches (same size), in the manifest and through the CLI', async () => {
    const r = await takeBackup({ config, configDir, dataDir });
    const yaml = path.join(r.path, 'config', 'municipality.yaml');
    const bytes = readFileSync(yaml);
    bytes[0] = bytes[0] === 0x23 ? 0x2f : 0x23;
    writeFileSync(yaml, bytes);
    const cli = spawnSync(process.execPath, [cliPath, 'backup', 'verify', r.path, '--data-dir', dataDir], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(cli.status).to.equal(1);
    expect(cli.stderr).to.contain('SHA-256 が記録と一致しません (改ざんまたは破損): config/municipality.yaml');
    const m = manifestOf(r.path);
    expect(m.verified).to.equal(false);
    expect(m.problems).to.deep.equal(['SHA-256 が記録と一致しません (改ざんまたは破損): config/municipality.yaml']);
    expect((await backupFreshness(config, dataDir)).status).to.equal('failed');
  });

  it('finds a corrupt database file by its checksum and by integrity_check on a copy; restore refuses it', async () => {
    const r = await takeBackup({ config, configDir, dataDir });
    expect(r.manifest.verified).to.equal(true);
    corruptMiddle(path.join(r.path, 'madoguchi.sqlite'));
    const v = await verifyBackup(r.path);
    expect(v.verified).to.equal(false);
    expect(v.problems).to.include('SHA-256 が記録と一致しません (改ざんまたは破損): madoguchi.sqlite');
    expect(
      v.problems.some((p) => /^(整合性検査|データベースを開けません|表 .* の件数)/.test(p)),
      v.problems.join('\n'),
    ).to.equal(true);
    let refused: unknown;
    await restoreBackup(r.path, { config, dataDir }).catch((e: unknown) => (refused = e));
    expect(refused).to.be.instanceOf(RestoreError);
    expect((refused as Error).message)
      .to.contain('復元を中止しました')
      .and.contain('madoguchi.sqlite');
    expect(readdirSync(dataDir).filter((n) => n.includes('before-restore'))).to.deep.equal([]);
  });

  it('reports rows whose parent is missing (foreign_key_check), and the next good backup clears the failure', async () => {
    const db = new Database(file);
    db.pragma('foreign_keys = OFF');
    db.prepare('INSERT INTO child (parent_id, body) VALUES (9999, ?)').run('orphan');
    db.close();
    const bad = await takeBackup({ config, configDir, dataDir });
    expect(bad.manifest.verified).to.equal(false);
    expect(bad.manifest.problems).to.deep.equal(['参照先のない行があります (PRAGMA foreign_key_check): child → parent 1 行']);
    expect(await backupFreshness(config, dataDir)).to.include({ status: 'failed', lastVerified: false, lastAt: bad.manifest.createdAt });

    const fix = new Database(file);
    fix.prepare('DELETE FROM child WHERE parent_id = 9999').run();
    fix.close();
    const good = await takeBackup({ config, configDir, dataDir });
    expect(good.manifest.verified).to.equal(true);
    expect(await backupFreshness(config, dataDir)).to.include({ status: 'ok', lastVerified: true, count: 2 });
    expect(listBackups(path.join(dataDir, 'backups')).map((e) => e.verified)).to.deep.equal([true, false, false, false, true]);
  });
});

describe('scheduled backups: failures when the target cannot be written, logging, the cron schedule', function () {
  this.timeout(30_000);
  const t = tempDir();
  after(() => t.remove());

  it('reports failed (noted in the data directory) until a scheduled run succeeds there; runs are logged', async () => {
    const dataDir = path.join(t.dir, 'data');
    mkdirSync(dataDir);
    const db = new Database(path.join(dataDir, 'madoguchi.sqlite'));
    db.exec('CREATE TABLE x (id INTEGER PRIMARY KEY)');
    db.close();
    const base = loadAppConfig(configDir);
    const config: AppConfig = { ...base, backup: { ...base.backup, target: 'unmounted' } };
    const logger = createLogger({ console: false });
    const logged: string[] = [];
    logger.on('data', (info: { level: string; message: string }) => logged.push(`${info.level} ${info.message}`));
    const ctx = { config, configDir, dataDir, logger };

    writeFileSync(path.join(dataDir, 'unmounted'), 'a file where the folder should be');
    await runScheduledBackup(ctx);
    expect(logged).to.include('error backup failed');
    expect(await backupFreshness(config, dataDir)).to.include({ status: 'failed', lastVerified: false, count: 0 });

    rmSync(path.join(dataDir, 'unmounted'));
    await runScheduledBackup(ctx);
    expect(logged).to.include('info backup done');
    const fresh = await backupFreshness(config, dataDir);
    expect(fresh).to.include({ status: 'ok', lastVerified: true, count: 1, target: path.join(dataDir, 'unmounted') });
    logger.close();
  });

  it('schedules the run with node-cron in Japan time, or not at all when the schedule is null', async () => {
    const base = loadAppConfig(configDir);
    const logger = createLogger({ console: false });
    const task = scheduleBackups({ config: base, configDir, dataDir: t.dir, logger })!;
    try {
      const next = task.getNextRun()!;
      expect(new Date(next.getTime() + 9 * 3600_000).toISOString().slice(11, 16)).to.equal('22:15');
    } finally {
      await task.destroy();
    }
    expect(
      scheduleBackups({ config: { ...base, backup: { ...base.backup, schedule: null } }, configDir, dataDir: t.dir, logger }),
    ).to.equal(undefined);
    logger.close();
  });
});

describe('backup retention by generations and business days', () => {
  const t = tempDir();
  const target = path.join(t.dir, 'backups');
  /** 22:15 Japan time on a December 2026 day. */
  const at = (day: number, hhmm = '22:15') => new Date(`2026-12-${String(day).padStart(2, '0')}T${hhmm}:00+09:00`);

  function fakeBackup(day: number, verified: boolean | null): void {
    const createdAt = at(day);
    const name = `madoguchi-202612${String(day).padStart(2, '0')}-221500`;
    mkdirSync(path.join(target, name), { recursive: true });
    const m: BackupManifest = {
      format: 1,
      app: 'madoguchi',
      version: '0.1.0',
      host: 'test',
      createdAt: createdAt.toISOString(),
      finishedAt: createdAt.toISOString(),
      database: null,
      files: [],
      parts: [],
      verified,
      verifiedAt: createdAt.toISOString(),
      problems: verified === false ? ['テスト'] : [],
    };
    writeFileSync(path.join(target, name, 'manifest.json'), JSON.stringify(m));
  }
  after(() => t.remove());

  it('counts business days on the Japanese calendar: weekends and closed dates do not count', () => {
    // Friday 12/4 → Tuesday 12/8: only Monday 12/7 lies wholly between.
    expect(businessDaysBetween(at(4), at(8, '22:20'))).to.equal(1);
    expect(businessDaysBetween(at(4), at(8, '22:20'), ['2026-12-07'])).to.equal(0);
    // 23:30 UTC on 12/7 is already 12/8 in Japan.
    expect(businessDaysBetween(new Date('2026-12-07T23:30:00Z'), at(10))).to.equal(1);
    expect(businessDaysBetween(at(8), at(9, '08:00'))).to.equal(0);
  });

  it('keeps the newest generations, everything within the business-day window, and removes the rest', () => {
    for (let day = 2; day <= 15; day++) fakeBackup(day, day <= 13);
    mkdirSync(path.join(target, '.madoguchi-20261210-221500.partial'));
    utimesSync(path.join(target, '.madoguchi-20261210-221500.partial'), at(10), at(10));
    mkdirSync(path.join(target, '.madoguchi-20261216-081500.partial'));
    utimesSync(path.join(target, '.madoguchi-20261216-081500.partial'), at(16, '08:15'), at(16, '08:15'));
    mkdirSync(path.join(target, 'unrelated'));
    // Wednesday 12/16 09:00: 12/14 (Mon) and 12/15 (Tue) failed. Window of 2 business days:
    // 12/15 and 12/14 (only Tue 12/15 lies between); generations: 12/13, 12/12, 12/11.
    const r = pruneBackups(target, { keepGenerations: 3, keepBusinessDays: 2 }, at(16, '09:00'));
    expect(r.kept.map((e) => e.name.slice(16, 18))).to.deep.equal(['15', '14', '13', '12', '11']);
    expect(r.removed.map((e) => e.name.slice(16, 18))).to.deep.equal(['10', '09', '08', '07', '06', '05', '04', '03', '02']);
    expect(readdirSync(target).sort()).to.deep.equal([
      '.madoguchi-20261216-081500.partial',
      'madoguchi-20261211-221500',
      'madoguchi-20261212-221500',
      'madoguchi-20261213-221500',
      'madoguchi-20261214-221500',
      'madoguchi-20261215-221500',
      'unrelated',
    ]);
    expect(existsSync(path.join(target, 'madoguchi-20261210-221500'))).to.equal(false);
  });

  it('never removes the newest verified backup, however old', () => {
    const entries = [
      { name: 'old-good', createdAt: at(1), verified: true },
      ...[20, 21, 22, 23, 24].map((d) => ({ name: `failed-${d}`, createdAt: at(d), verified: false })),
      { name: 'older-good', createdAt: at(1, '08:00'), verified: true },
    ];
    const plan = planRetention(entries, { keepGenerations: 0, keepBusinessDays: 1 }, at(28, '09:00'));
    expect(plan.keep.map((e) => e.name)).to.deep.equal(['old-good']);
    expect(plan.remove.map((e) => e.name)).to.deep.equal(['failed-24', 'failed-23', 'failed-22', 'failed-21', 'failed-20', 'older-good']);
  });
});
