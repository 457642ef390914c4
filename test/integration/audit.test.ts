import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import type { Knex } from 'knex';
import { ANCHOR_ACTION, appendAudit, exportAuditCsv, fromRow, pruneAudit, recordHash, verifyAudit } from '../../server/src/audit/trail.js';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { cliPath, repoRoot } from '../helpers/paths.js';
import { migratedSqlite, type TempDatabase } from '../helpers/db.js';

describe('audit trail (hash-chained)', function () {
  this.timeout(60_000);
  let db: TempDatabase;
  let knex: Knex;
  const day1 = new Date('2026-11-24T01:00:00Z'); // 10:00 JST Tue
  const day2 = new Date('2026-11-25T01:00:00Z');

  /** A fresh trail of ten records over two days. */
  async function freshTrail(): Promise<void> {
    await knex('audit_trail').del();
    await knex('audit_chain_head').del();
    for (let i = 0; i < 10; i++) {
      await knex.transaction((trx) =>
        appendAudit(
          trx,
          {
            staffId: 1,
            staffLogin: 'madoka',
            role: 'counter',
            counterId: 'shimin-1',
            clientAddress: '10.0.0.5',
            action: 'resident.view',
            targetKind: 'resident',
            targetIds: [`10000000${i}`],
            result: 'success',
          },
          i < 5 ? day1 : day2,
        ),
      );
    }
  }

  before(async () => {
    db = await migratedSqlite();
    knex = db.knex;
  });
  after(() => db.close());

  it('verifies an untouched trail, with a daily anchor at the change of day', async () => {
    await freshTrail();
    const rows = ((await knex('audit_trail').orderBy('seq')) as Record<string, unknown>[]).map(fromRow);
    expect(rows).to.have.length(11);
    const anchor = rows[5]!;
    expect(anchor.action).to.equal(ANCHOR_ACTION);
    expect(JSON.parse(anchor.detail!)).to.deep.equal({ day: '2026-11-24', records: 5, lastHash: rows[4]!.hash });
    expect(rows[6]!.prevHash).to.equal(anchor.hash);
    expect(await verifyAudit(knex)).to.deep.equal({ ok: true, checked: 11 });
    expect((await verifyAudit(knex, { from: '2026-11-25', to: '2026-11-25' })).ok).to.equal(true);
  });

  it('names the first record after an edit', async () => {
    await freshTrail();
    await knex('audit_trail')
      .where({ seq: 4 })
      .update({ target_ids: JSON.stringify(['999999999']) });
    const r = await verifyAudit(knex);
    expect(r.ok).to.equal(false);
    expect(r.broken!.seq).to.equal(4);
    expect(r.broken!.reason).to.contain('改ざん');
  });

  it('names the first record after an insertion', async () => {
    await freshTrail();
    // A forged record slipped in after seq 3: later records are renumbered to make room.
    const rows = (await knex('audit_trail').where('seq', '>', 3).orderBy('seq', 'desc')) as { seq: number }[];
    for (const r of rows)
      await knex('audit_trail')
        .where({ seq: r.seq })
        .update({ seq: Number(r.seq) + 1 });
    const prev = fromRow((await knex('audit_trail').where({ seq: 3 }).first()) as Record<string, unknown>);
    const forged = {
      seq: 4,
      recordedAt: day1.toISOString(),
      staffId: 2,
      staffLogin: 'x',
      role: null,
      counterId: null,
      clientAddress: null,
      action: 'resident.view',
      targetKind: 'resident',
      targetIds: ['1'],
      result: 'success',
      detail: null,
      prevHash: prev.hash,
    };
    await knex('audit_trail').insert({
      seq: 4,
      recorded_at: day1,
      staff_id: 2,
      staff_login: 'x',
      action: 'resident.view',
      target_kind: 'resident',
      target_ids: '["1"]',
      result: 'success',
      prev_hash: prev.hash,
      hash: recordHash(forged),
    });
    const r = await verifyAudit(knex);
    expect(r.ok).to.equal(false);
    expect(r.broken!.seq).to.equal(5);
    expect(r.broken!.reason).to.contain('直前の記録のハッシュ');
  });

  it('names the gap after a deletion in the middle, and a deleted last record', async () => {
    await freshTrail();
    await knex('audit_trail').where({ seq: 7 }).del();
    const r = await verifyAudit(knex);
    expect(r.ok).to.equal(false);
    expect(r.broken!.seq).to.equal(8);
    expect(r.broken!.reason).to.contain('7 から 7 がありません');
    await freshTrail();
    await knex('audit_trail').where({ seq: 11 }).del();
    const tail = await verifyAudit(knex);
    expect(tail.ok).to.equal(false);
    expect(tail.broken!.seq).to.equal(11);
    expect(tail.broken!.reason).to.contain('末尾');
  });

  it('is written in the same transaction: a failed change leaves no audit record', async () => {
    await freshTrail();
    let failed = false;
    try {
      await knex.transaction(async (trx) => {
        await appendAudit(trx, { action: 'notice.accept', result: 'success', targetIds: ['N-1'] });
        await trx('staff').insert({ login_id: null }); // violates NOT NULL: the change fails
      });
    } catch {
      failed = true;
    }
    expect(failed).to.equal(true);
    expect(await knex('audit_trail').where({ action: 'notice.accept' }).first()).to.equal(undefined);
    expect((await verifyAudit(knex)).ok).to.equal(true);
    const id = await createStaff(knex, {
      loginId: 'aud',
      displayName: '監査 確認',
      section: '住民課',
      password: 'Correct-horse-9',
      groups: ['counter'],
      mustChangePassword: true,
    });
    const rec = (await knex('audit_trail').where({ action: 'staff.create' }).first()) as { target_ids: string; detail: string };
    expect(JSON.parse(rec.target_ids)).to.deep.equal([String(id)]);
    expect(rec.detail).to.not.contain('Correct-horse');
    expect((await verifyAudit(knex)).ok).to.equal(true);
  });

  it('exports a period as CSV with documented columns, and prunes past the retention', async () => {
    await freshTrail();
    const csv = await exportAuditCsv(knex, { from: '2026-11-24', to: '2026-11-24' });
    const lines = csv
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    expect(lines[0]).to.equal('連番,日時,職員ID,ログインID,ロール,窓口,端末アドレス,操作,対象種別,対象ID,結果,詳細,前ハッシュ,ハッシュ');
    expect(lines).to.have.length(6);
    expect(lines[1]).to.match(
      /^1,2026-11-24 10:00:00,1,madoka,counter,shimin-1,10\.0\.0\.5,resident\.view,resident,100000000,success,,0{64},[0-9a-f]{64}$/,
    );
    let refused: unknown;
    try {
      await pruneAudit(knex, 0);
    } catch (e) {
      refused = e;
    }
    expect(String(refused)).to.contain('1 年以上');
    expect(await pruneAudit(knex, 1, new Date('2027-11-24T12:00:00Z'))).to.equal(5);
    expect((await verifyAudit(knex)).ok).to.equal(true); // starts from the first record kept
  });

  it('`madoguchi audit verify` exits 0 on a sound trail and 1 naming the broken record', async () => {
    await freshTrail();
    const args = [cliPath, 'audit', 'verify', '--data-dir', db.dir];
    const good = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8' });
    expect(good.status, good.stderr).to.equal(0);
    expect(good.stdout).to.contain('監査ログは正常です (11 件を検証)');
    await knex('audit_trail').where({ seq: 2 }).update({ action: 'resident.search' });
    const bad = spawnSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8' });
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.contain('連番 2');
  });
});
