import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Knex } from 'knex';
import { FIRST_PREV, lineHash, readAnchorFile } from '../../server/src/audit/anchorFile.js';
import {
  appendAudit,
  fromRow,
  GENESIS_HASH,
  loggedHash,
  PRUNE_ACTION,
  pruneAudit,
  recordHash,
  verifyAudit,
  writeAnchor,
  toAuditRow,
  type AuditRecord,
} from '../../server/src/audit/trail.js';
import { loadAppConfig } from '../../server/src/config/appConfig.js';
import { takeBackup } from '../../server/src/ops/backup.js';
import type { Logger } from '../../server/src/ops/logger.js';
import { cliPath, configDir, repoRoot } from '../helpers/paths.js';
import { migratedSqlite, type TempDatabase } from '../helpers/db.js';

/**
 * docs/security.md §6.2: the chain head is anchored outside the database (anchor file + log),
 * and `madoguchi audit verify` detects every way of trimming or rewriting the trail.
 */
describe('audit anchors: a trail that cannot be trimmed', function () {
  this.timeout(120_000);
  let db: TempDatabase;
  let knex: Knex;
  let anchors: string;
  const day = new Date('2025-01-14T01:00:00Z'); // in the past: a CLI anchor (now) opens a new day

  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [cliPath, 'audit', ...args, '--data-dir', db.dir], { cwd: repoRoot, encoding: 'utf8' });
  const records = async (): Promise<AuditRecord[]> =>
    ((await knex('audit_trail').orderBy('seq')) as Record<string, unknown>[]).map(fromRow);
  const toRow = toAuditRow;

  /** `n` more records, chained to the head, written in bulk (as appendAudit would, one a second). */
  async function addRecords(n: number, at: Date = day): Promise<void> {
    const head = (await knex('audit_chain_head').where({ id: 1 }).first()) as { seq: number; hash: string } | undefined;
    let seq = Number(head?.seq ?? 0);
    let prev = head?.hash ?? GENESIS_HASH;
    const rows: AuditRecord[] = [];
    for (let i = 0; i < n; i++) {
      const base = {
        seq: ++seq,
        recordedAt: new Date(at.getTime() + i * 1000).toISOString(),
        staffId: 1,
        staffLogin: 'madoka',
        role: 'counter',
        counterId: 'shimin-1',
        clientAddress: '10.0.0.5',
        action: 'resident.view',
        targetKind: 'resident',
        targetIds: [String(100000000 + seq)],
        result: 'success',
        detail: null,
        prevHash: prev,
      };
      const r = { ...base, hash: recordHash(base) };
      rows.push(r);
      prev = r.hash;
    }
    for (let i = 0; i < rows.length; i += 200) await knex('audit_trail').insert(rows.slice(i, i + 200).map(toRow));
    const day = at.toISOString().slice(0, 10);
    if (head) await knex('audit_chain_head').where({ id: 1 }).update({ seq, hash: prev, last_day: day });
    else await knex('audit_chain_head').insert({ id: 1, seq, hash: prev, last_day: day });
  }

  /** Rewrites records from `from` on with their prev links and hashes recomputed, and the head: a careful forger. */
  async function rechain(from: number): Promise<void> {
    const all = await records();
    let prev = all.find((r) => r.seq === from - 1)?.hash ?? GENESIS_HASH;
    for (const r of all.filter((x) => x.seq >= from)) {
      const { hash: _old, ...rest } = { ...r, prevHash: prev };
      const hash = recordHash(rest);
      await knex('audit_trail').where({ seq: r.seq }).update({ prev_hash: prev, hash });
      prev = hash;
    }
    const last = all[all.length - 1]!;
    await knex('audit_chain_head').where({ id: 1 }).update({ seq: last.seq, hash: prev });
  }

  async function fresh(): Promise<void> {
    await knex('audit_trail').del();
    await knex('audit_chain_head').del();
    rmSync(anchors, { force: true });
  }

  const anchor = (kind: 'daily' | 'backup' | 'manual' = 'daily') => writeAnchor(knex, { file: anchors, kind, now: day });

  function expectBroken(seq: number, ...texts: string[]): string {
    const r = cli('verify');
    expect(r.status, r.stdout + r.stderr).to.equal(1);
    expect(r.stderr).to.contain(`監査ログの連鎖が壊れています: 連番 ${seq} — `);
    for (const t of texts) expect(r.stderr).to.contain(t);
    return r.stderr;
  }

  before(async () => {
    db = await migratedSqlite();
    knex = db.knex;
    anchors = path.join(db.dir, 'audit-anchors.log');
  });
  after(() => db.close());

  it('writes anchors (daily, `madoguchi audit anchor`) as hash-chained lines and to the log; an untouched trail verifies', async () => {
    await fresh();
    await addRecords(10);
    const daily = await anchor('daily');
    expect(daily).to.include({ kind: 'daily', seq: 11, start: 1, line: 1, file: anchors });
    await addRecords(5);
    const manual = cli('anchor'); // today: the chain's own daily anchor (seq 17) comes first
    expect(manual.status, manual.stderr).to.equal(0);
    expect(manual.stdout).to.contain('アンカーを書きました: 連番 18 ');
    expect(manual.stdout).to.contain('の 2 行目');

    const text = readFileSync(anchors, 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines).to.have.length(2);
    const rows = await records();
    lines.forEach((l, i) => {
      const f = l.split('\t');
      expect(f, l).to.have.length(7);
      const [at, kind, seq, hash, start, prev, h] = f as [string, string, string, string, string, string, string];
      expect(at).to.match(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(kind).to.equal(['daily', 'manual'][i]);
      const rec = rows.find((r) => r.seq === Number(seq))!;
      expect(rec.action).to.equal('audit.anchor');
      expect(JSON.parse(rec.detail!)).to.include({ kind, start: 1, line: i + 1 });
      expect(hash).to.equal(rec.hash);
      expect(start).to.equal('1');
      expect(prev).to.equal(i === 0 ? FIRST_PREV : lines[0]!.split('\t')[6]);
      expect(h).to.equal(lineHash(prev, { at, kind: kind as 'daily', seq: Number(seq), hash, start: 1 }));
    });
    // The system log gets one JSON line per anchor, with the sequence and the hash.
    const logDir = path.join(db.dir, 'logs');
    const logged = readdirSync(logDir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => readFileSync(path.join(logDir, f), 'utf8'))
      .join('')
      .split('\n')
      .filter((l) => l.includes('"audit anchor"'))
      .map((l) => JSON.parse(l) as { seq: number; hash: string; kind: string });
    // The hash in groups of 8 (`:`), so that the log's My Number mask never hits a 12-digit run in it.
    expect(logged.map((l) => [l.kind, l.seq, l.hash])).to.deep.equal([['manual', 18, loggedHash(rows[17]!.hash)]]);
    expect(logged[0]!.hash.replace(/:/g, '')).to.equal(rows[17]!.hash);

    expect(await verifyAudit(knex, {}, { anchorFile: anchors })).to.deep.equal({ ok: true, checked: 18, anchors: 2 });
    const ok = cli('verify');
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout).to.contain('監査ログは正常です (18 件を検証)');
    expect(ok.stdout).to.contain('アンカー 2 件と一致しました');
  });

  it('detects the first 500 records deleted', async () => {
    await fresh();
    await addRecords(600);
    await anchor();
    await knex('audit_trail').where('seq', '<=', 500).del();
    // The chain alone still links from 501 on; what is missing is its start.
    expectBroken(1, '先頭の記録がありません: 連番 1〜500 が削除されています');
    const r = await verifyAudit(knex); // without the anchor file as well (the web view)
    expect(r.broken?.seq).to.equal(1);
  });

  it('detects the last record deleted and the chain head moved back', async () => {
    await fresh();
    await addRecords(30);
    const a = await anchor();
    expect(a.seq).to.equal(31);
    await knex('audit_trail').where({ seq: 31 }).del();
    const prev = (await records()).at(-1)!;
    await knex('audit_chain_head').where({ id: 1 }).update({ seq: prev.seq, hash: prev.hash });
    expectBroken(31, '末尾の記録がありません: 連番 31〜31 が削除されています', 'アンカーファイル 1 行目');
    // More records after the anchor, all deleted back past it: the head is below the anchor.
    await fresh();
    await addRecords(30);
    await anchor();
    await addRecords(4);
    await knex('audit_trail').where('seq', '>', 28).del();
    const kept = (await records()).at(-1)!;
    await knex('audit_chain_head').where({ id: 1 }).update({ seq: kept.seq, hash: kept.hash });
    expectBroken(29, '連番 29〜31 が削除されています');
  });

  it('detects a record in the middle rewritten with every later hash recomputed, naming the anchored record and the range', async () => {
    await fresh();
    await addRecords(10);
    await anchor(); // seq 11
    await addRecords(30);
    await anchor(); // seq 42
    await addRecords(3);
    await knex('audit_trail')
      .where({ seq: 20 })
      .update({ target_ids: JSON.stringify(['999999999']) });
    await rechain(20);
    // The chain itself is consistent again: only the anchor shows the rewrite.
    expect((await verifyAudit(knex)).ok).to.equal(true);
    expectBroken(42, '連番 42 のハッシュがアンカー', '連番 12〜42 のどこかが書き換えられ');
  });

  it('detects records deleted in the middle, with or without renumbering the rest', async () => {
    await fresh();
    await addRecords(10);
    await anchor(); // 11
    await addRecords(30);
    await anchor(); // 42
    await knex('audit_trail').whereBetween('seq', [15, 17]).del();
    expectBroken(18, '連番が飛んでいます (15 から 17 がありません');
    // The forger renumbers the later records and recomputes every hash and the head.
    const later = (await knex('audit_trail').where('seq', '>', 17).orderBy('seq')) as { seq: number }[];
    for (const r of later)
      await knex('audit_trail')
        .where({ seq: r.seq })
        .update({ seq: Number(r.seq) - 3 });
    await rechain(15);
    expect((await verifyAudit(knex)).ok).to.equal(true);
    expectBroken(40, '末尾の記録がありません: 連番 40〜42 が削除されています');
    // …and a rewrite that keeps the count (the records moved up, filler at the end) breaks the anchor's hash.
    await addRecords(3);
    expectBroken(42, '連番 42 のハッシュがアンカー', '連番 12〜42');
  });

  it('detects an edited, removed or truncated anchor file line', async () => {
    await fresh();
    await addRecords(10);
    await anchor(); // line 1, seq 11
    await addRecords(5);
    await anchor(); // line 2, seq 17
    await addRecords(5);
    await anchor(); // line 3, seq 23
    const original = readFileSync(anchors, 'utf8');
    const lines = original.trimEnd().split('\n');
    // Line 2 edited: its sequence made to point elsewhere.
    const f = lines[1]!.split('\t');
    f[2] = '16';
    writeFileSync(anchors, `${[lines[0], f.join('\t'), lines[2]].join('\n')}\n`);
    expectBroken(16, 'アンカーファイル', 'の 2 行目 (連番 16 のアンカー)が正しくありません', '行の内容が行ハッシュと一致しません');
    // Line 2 removed.
    writeFileSync(anchors, `${[lines[0], lines[2]].join('\n')}\n`);
    expectBroken(23, 'の 2 行目 (連番 23 のアンカー)が正しくありません', '前の行の行ハッシュと一致しません');
    // The last line cut off: the record of seq 23 says it wrote line 3.
    writeFileSync(anchors, `${lines.slice(0, 2).join('\n')}\n`);
    expectBroken(23, 'に 3 行目がありません', '切り詰め');
    // The whole file removed.
    rmSync(anchors);
    expectBroken(11, 'がありません (連番 11 の記録がその 1 行目を書いています: アンカーファイルの削除の疑い)');
    // Put back, it verifies again; an anchor is not written onto a broken file.
    writeFileSync(anchors, original);
    expect(cli('verify').status).to.equal(0);
    writeFileSync(anchors, original.replace(/\n$/, 'x\n'));
    const refused = cli('anchor');
    expect(refused.status).to.equal(1);
    expect(refused.stderr).to.contain('3 行目が壊れているため書き足しません');
    writeFileSync(anchors, original);
  });

  it('a retention prune records where the chain starts (in the chain and the anchor file) and still verifies; a further cut does not', async () => {
    await fresh();
    const old = new Date('2024-03-04T01:00:00Z');
    await addRecords(300, old);
    await writeAnchor(knex, { file: anchors, kind: 'daily', now: new Date('2024-03-04T14:55:00Z') }); // 301
    await addRecords(50, day);
    await anchor(); // 352
    const removed = await pruneAudit(knex, 1, new Date('2025-03-05T12:00:00Z'), { anchorFile: anchors });
    expect(removed).to.equal(301);
    const read = readAnchorFile(anchors);
    expect(read.problem).to.equal(undefined);
    const last = read.lines.at(-1)!;
    expect(last).to.include({ kind: 'prune', start: 302, line: 3 });
    const rec = (await records()).at(-1)!;
    expect(rec.action).to.equal(PRUNE_ACTION);
    expect(JSON.parse(rec.detail!)).to.include({ kind: 'prune', start: 302, line: 3, removed: 301 });
    const ok = cli('verify');
    expect(ok.status, ok.stderr).to.equal(0);
    // 302…351, the anchor 352, the chain's daily anchor 353 (a new day), the prune record 354
    expect(ok.stdout).to.contain('監査ログは正常です (53 件を検証)');
    expect(ok.stdout).to.contain('アンカー 2 件と一致しました'); // line 1 (seq 301) was pruned with its record
    expect((await verifyAudit(knex)).ok).to.equal(true);
    // The next daily anchor keeps the recorded start.
    expect(await anchor()).to.include({ start: 302, line: 4 });

    // Deleting more of the head after the prune is still a deletion.
    await knex('audit_trail').where('seq', '<=', 310).del();
    expectBroken(302, '先頭の記録がありません: 連番 302〜310 が削除されています');
    // A forged prune record in the database alone disagrees with the anchor file.
    await knex.transaction((trx) =>
      appendAudit(
        trx,
        { staffLogin: 'system', action: PRUNE_ACTION, result: 'success', detail: { kind: 'prune', start: 311, line: null } },
        day,
      ),
    );
    expect((await verifyAudit(knex)).ok, 'the database alone is fooled').to.equal(true);
    expectBroken(356, 'チェーンの開始位置が監査ログ (連番 311 から) とアンカー', '連番 302 から) で違います');
  });

  it('a backup writes an anchor before it copies the database, to the file and the log', async () => {
    await fresh();
    await addRecords(12);
    const config = loadAppConfig(configDir);
    const logged: { message: string; meta: Record<string, unknown> }[] = [];
    const logger = {
      info: (message: string, meta: Record<string, unknown>) => logged.push({ message, meta }),
      error: (message: string, meta: Record<string, unknown>) => logged.push({ message, meta }),
    } as unknown as Logger;
    const r = await takeBackup({ config, configDir, dataDir: db.dir, target: path.join(db.dir, 'backups'), logger });
    expect(r.manifest.verified, r.manifest.problems.join('\n')).to.equal(true);
    const a = r.manifest.auditAnchor as { seq: number; hash: string };
    expect(a).to.deep.include({ start: 1, line: 1, file: anchors });
    expect(a.seq).to.be.greaterThan(12);
    const line = readAnchorFile(anchors).lines[0]!;
    expect(line).to.include({ kind: 'backup', seq: a.seq, hash: a.hash });
    expect(logged.find((l) => l.message === 'audit anchor')?.meta).to.include({ kind: 'backup', seq: a.seq, hash: loggedHash(a.hash) });
    // The backup holds the anchored record, so a restored copy verifies against its anchor.
    const copy = new Database(path.join(r.path, 'madoguchi.sqlite'), { readonly: true });
    try {
      expect(copy.prepare('SELECT hash FROM audit_trail WHERE seq = ?').get(a.seq)).to.deep.equal({ hash: line.hash });
    } finally {
      copy.close();
    }
    expect((await verifyAudit(knex, {}, { anchorFile: anchors })).ok).to.equal(true);
    expect(existsSync(anchors)).to.equal(true);
  });
});
