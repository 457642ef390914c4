import { expect } from 'chai';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { enqueueNotice } from '../../server/src/rpa/jobs.js';
import { reconcileJobs, reconcileFlags } from '../../server/src/rpa/reconcile.js';
import { makeNotice, makeResident, makeStaff, makeVisit } from '../helpers/factories.js';
import { loginAs, type LoggedIn } from '../helpers/login.js';
import { fastWatchConfig, tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const settings = { leaseSeconds: 60, maxAttempts: 3, backoffSeconds: 1 };
const perPerson = () => true;
const perNotice = Object.assign(() => true, { per: () => 'notice' as const });
const NOW = new Date('2026-12-07T03:00:00Z'); // Monday 12:00 JST
const DAY = 86_400_000;

/**
 * The core system's own 異動履歴 (001o009) as the witness of what the RPA entered: after a load,
 * every recent notice job is matched with the history rows it must have produced.
 */
describe('RPA reconciliation with the 異動履歴 (entered twice, not seen, entered but not reported)', function () {
  this.timeout(60_000);
  let server: TestServer;
  let reviewer: LoggedIn;
  let seq = 0;

  before(async () => {
    server = await startTestServer();
    reviewer = await loginAs(server.url, server.knex, ['reviewer']);
  });
  after(async () => server.close());

  /** A notice accepted and its jobs made (per person, or one per notice), then moved to `status` as the agent would leave them. */
  async function jobsFor(
    type: string,
    members: Record<string, unknown>[],
    status: 'succeeded' | 'needsAttention' | 'cancelled',
    finishedAt: Date,
    per = perPerson,
  ): Promise<number[]> {
    const staff = await makeStaff(server.knex, ['counter']);
    const visit = await makeVisit(server.knex, staff);
    const notice = await makeNotice(server.knex, visit, staff, 'accepted', members);
    notice.type = type as typeof notice.type;
    notice.effectiveDate = '2026-11-30';
    const ids = await server.knex.transaction((trx) => enqueueNotice(trx, notice, settings, per, new Date(NOW.getTime() - 10 * DAY)));
    await server
      .knex('rpa_jobs')
      .whereIn('id', ids)
      .update({
        status,
        core_ref: status === 'succeeded' ? `R-${ids[0]}` : null,
        error_kind: status === 'succeeded' ? null : 'business',
        finished_at: finishedAt,
        updated_at: finishedAt,
        awaiting_review: false,
      });
    return ids;
  }
  const history = (addresseeNo: string, reason: string, extra: Record<string, unknown> = {}) =>
    server.knex('resident_history').insert({
      addressee_no: addresseeNo,
      seq: ++seq,
      change_date: '2026-11-30',
      change_reason_code: reason,
      name: '履歴 太郎',
      name_kana: 'リレキ タロウ',
      ...extra,
    });
  const stateOf = async (id: number) =>
    ((await server.knex('rpa_reconciliations').where({ job_id: id }).first()) as { state: string } | undefined)?.state;

  it('matches, flags entered twice / not seen / unreported, waits before calling a job not seen, and shows them on /rpa/jobs and /healthz', async () => {
    const old = new Date(NOW.getTime() - 7 * DAY); // finished five business days before NOW
    // 転居 of a registered person: one history row → matched.
    const a = await makeResident(server.knex);
    const [matched] = await jobsFor(
      'relocation',
      [{ addresseeNo: a.addressee_no, name: a.name, event: false, moving: true }],
      'succeeded',
      old,
    );
    await history(a.addressee_no, '41');
    // 転居 entered twice: two rows of 転居 on that day for the same person.
    const b = await makeResident(server.knex);
    const [twice] = await jobsFor(
      'relocation',
      [{ addresseeNo: b.addressee_no, name: b.name, event: false, moving: true }],
      'succeeded',
      old,
    );
    await history(b.addressee_no, '41');
    await history(b.addressee_no, '41');
    // A household 転入 as one entry (per: notice): the new residents found by birth date and kana.
    const [household] = await jobsFor(
      'moveIn',
      [
        { name: '転入 一郎', nameKana: 'てんにゅう いちろう', birthDate: '1985-03-04', head: true, event: false, moving: true },
        { name: '転入 花子', nameKana: 'テンニュウ ハナコ', birthDate: '1987-05-06', sex: '2', event: false, moving: true },
      ],
      'succeeded',
      old,
      perNotice,
    );
    for (const [name, kana, birth] of [
      ['転入 一郎', 'テンニュウ イチロウ', '1985-03-04'],
      ['転入 花子', 'テンニュウ ハナコ', '1987-05-06'],
    ] as const) {
      const r = await makeResident(server.knex, { name, name_kana: kana, birth_date: birth });
      await history(r.addressee_no, '01', { name, name_kana: kana });
    }
    // A 転入 whose person never appeared: not seen after 2 business days; one finished today is still pending.
    const [notSeen] = await jobsFor(
      'moveIn',
      [{ name: '見えない 人', nameKana: 'ミエナイ ヒト', birthDate: '1990-01-01', event: false, moving: true }],
      'succeeded',
      old,
    );
    const [recent] = await jobsFor(
      'moveIn',
      [{ name: '今日の 人', nameKana: 'キョウノ ヒト', birthDate: '1991-01-01', event: false, moving: true }],
      'succeeded',
      new Date(NOW.getTime() - 3_600_000),
    );
    // A 死亡 job that stopped for staff, while the core system has the row: entered but not reported.
    const d = await makeResident(server.knex);
    const [unreported] = await jobsFor('death', [{ addresseeNo: d.addressee_no, name: d.name, event: true }], 'needsAttention', old);
    await history(d.addressee_no, '23');
    // A cancelled job with no row says nothing.
    const [quiet] = await jobsFor(
      'death',
      [{ addresseeNo: (await makeResident(server.knex)).addressee_no, event: true }],
      'cancelled',
      old,
    );

    const sum = await reconcileJobs(server.knex, { notSeenAfterBusinessDays: 2, closedDates: [] }, NOW);
    expect(await stateOf(matched!)).to.equal('matched');
    expect(await stateOf(twice!)).to.equal('enteredTwice');
    expect(await stateOf(household!)).to.equal('matched');
    expect(await server.knex('rpa_reconciliations').where({ job_id: household }).first('persons', 'history_rows')).to.deep.equal({
      persons: 2,
      history_rows: 2,
    });
    expect(await stateOf(notSeen!)).to.equal('notSeen');
    expect(await stateOf(recent!)).to.equal('pending');
    expect(await stateOf(unreported!)).to.equal('unreported');
    expect(await stateOf(quiet!)).to.equal(undefined);
    expect(sum.byState).to.include({ matched: 2, enteredTwice: 1, notSeen: 1, pending: 1, unreported: 1 });

    // The flags, first on /rpa/jobs (no names: job, type, numbers, counts) and as a warning on /healthz.
    const flags = await reconcileFlags(server.knex);
    expect(flags.map((f) => [f.jobId, f.state]).sort()).to.deep.equal(
      [
        [twice, 'enteredTwice'],
        [notSeen, 'notSeen'],
        [unreported, 'unreported'],
      ].sort(),
    );
    const page = await (await fetch(`${server.url}rpa/jobs`, { headers: { cookie: reviewer.cookie } })).text();
    const section = /<section class="card alert" id="reconciliation">([\s\S]*?)<\/section>/.exec(page)?.[1] ?? '';
    expect(section).to.contain('異動履歴との照合で要確認 (3 件)');
    for (const label of ['二重入力', '連携に現れない', '入力済・未報告']) expect(section).to.contain(label);
    for (const name of ['見えない', a.name, b.name, d.name]) expect(section).not.to.contain(name);
    const health = (await (await fetch(`${server.url}healthz`)).json()) as {
      warnings: string[];
      messages: string[];
      rpa: { reconciliation: unknown };
    };
    expect(health.warnings).to.include('rpa');
    expect(health.rpa.reconciliation).to.deep.equal({ enteredTwice: 1, notSeen: 1, unreported: 1 });
    expect(health.messages.join('\n')).to.match(/RPA の入力が異動履歴と合いません: 二重入力 1・連携に現れない 1・入力済・未報告 1 件/);

    // The history catches up: the missing person appears, the duplicate is cancelled in the core system
    // (its row goes), and the stopped job is marked done by hand. The flags clear on the next run.
    const late = await makeResident(server.knex, { name: '見えない 人', name_kana: 'ミエナイ ヒト', birth_date: '1990-01-01' });
    await history(late.addressee_no, '01', { name: '見えない 人', name_kana: 'ミエナイ ヒト' });
    const [keep] = (await server.knex('resident_history').where({ addressee_no: b.addressee_no }).orderBy('seq').pluck('seq')) as number[];
    await server.knex('resident_history').where({ addressee_no: b.addressee_no }).whereNot({ seq: keep }).del();
    await server.knex('rpa_jobs').where({ id: unreported }).update({ status: 'succeeded', core_ref: 'manual' });
    await reconcileJobs(server.knex, { notSeenAfterBusinessDays: 2, closedDates: [] }, NOW);
    expect(await reconcileFlags(server.knex)).to.deep.equal([]);
    expect([await stateOf(twice!), await stateOf(notSeen!), await stateOf(unreported!)]).to.deep.equal(['matched', 'matched', 'matched']);
    const after = (await (await fetch(`${server.url}healthz`)).json()) as { rpa: { reconciliation: unknown } };
    expect(after.rpa.reconciliation).to.deep.equal({ enteredTwice: 0, notSeen: 0, unreported: 0 });
  });

  it('gives one history row to one look-alike only, ignores cancelled jobs, and drops results past the window', async () => {
    const old = new Date(NOW.getTime() - 7 * DAY);
    const twin = { name: '山田 花子', nameKana: 'ヤマダ ハナコ', birthDate: '1990-04-01', event: false, moving: true };
    const [first] = await jobsFor('moveIn', [twin], 'succeeded', old);
    const [second] = await jobsFor('moveIn', [twin], 'succeeded', old);
    const r = await makeResident(server.knex, { name: twin.name, name_kana: twin.nameKana, birth_date: twin.birthDate });
    await history(r.addressee_no, '01', { name: twin.name, name_kana: twin.nameKana });
    // A notice corrected by cancelling it and accepting it again: the cancelled job is not 入力済・未報告.
    const c = await makeResident(server.knex);
    const [cancelled] = await jobsFor('relocation', [{ addresseeNo: c.addressee_no, event: false, moving: true }], 'cancelled', old);
    const [redone] = await jobsFor('relocation', [{ addresseeNo: c.addressee_no, event: false, moving: true }], 'succeeded', old);
    await history(c.addressee_no, '41');
    await reconcileJobs(server.knex, { notSeenAfterBusinessDays: 2, closedDates: [] }, NOW);
    expect([await stateOf(first!), await stateOf(second!)]).to.deep.equal(['matched', 'notSeen']);
    expect([await stateOf(cancelled!), await stateOf(redone!)]).to.deep.equal([undefined, 'matched']);
    // Ten days on, with a five-day window: those jobs are out of it, and so are their results.
    await reconcileJobs(server.knex, { notSeenAfterBusinessDays: 2, closedDates: [], lookbackDays: 5 }, new Date(NOW.getTime() + 10 * DAY));
    expect([await stateOf(first!), await stateOf(second!), await stateOf(redone!)]).to.deep.equal([undefined, undefined, undefined]);
  });

  it('reconciles certificate jobs with the 発行履歴 (ext-issuance-log) only when the core system exports one', async () => {
    const old = new Date(NOW.getTime() - 7 * DAY);
    const day = '2026-11-30'; // the JST day of `old`
    const certificateJob = async (n: number, addresseeNo: string, status: string, coreRef: string | null): Promise<number> => {
      const [row] = (await server
        .knex('rpa_jobs')
        .insert({
          idempotency_key: `certificate:${8800 + n}:1`,
          reference: `MDC-${8800 + n}-1`,
          certificate_request_id: 8800 + n,
          scenario: 'residentCopy',
          payload: JSON.stringify({ reference: `MDC-${8800 + n}-1`, kind: 'certificate', subject: { addresseeNo } }),
          status,
          core_ref: coreRef,
          awaiting_review: false,
          attempts: 1,
          max_attempts: 3,
          available_at: old,
          created_at: old,
          updated_at: old,
          finished_at: old,
        })
        .returning('id')) as { id: number }[];
      return Number(row!.id);
    };
    const p1 = await makeResident(server.knex);
    const p2 = await makeResident(server.knex);
    const p3 = await makeResident(server.knex);
    const issued = await certificateJob(1, p1.addressee_no, 'succeeded', 'H-0001');
    const missing = await certificateJob(2, p2.addressee_no, 'succeeded', 'H-0002');
    const uncertain = await certificateJob(3, p3.addressee_no, 'needsAttention', null);
    // No 発行履歴 at all: the core system does not export one, so nothing is said about certificates.
    await reconcileJobs(server.knex, { notSeenAfterBusinessDays: 2, closedDates: [] }, NOW);
    expect([await stateOf(issued), await stateOf(missing), await stateOf(uncertain)]).to.deep.equal([undefined, undefined, undefined]);

    await server.knex('certificate_issuances').insert([
      { issue_no: 'H-0001', issue_date: day, addressee_no: p1.addressee_no, certificate_kind: '住民票の写し', copies: 1 },
      { issue_no: 'H-0003', issue_date: day, addressee_no: p3.addressee_no, certificate_kind: '住民票の写し', copies: 1 },
    ]);
    await reconcileJobs(server.knex, { notSeenAfterBusinessDays: 2, closedDates: [] }, NOW);
    expect([await stateOf(issued), await stateOf(missing), await stateOf(uncertain)]).to.deep.equal(['matched', 'notSeen', 'unreported']);
    const flags = await reconcileFlags(server.knex);
    expect(flags.find((f) => f.jobId === uncertain)!.detail).to.contain('どのジョブも報告していない発行が 1 件');
    // Staff confirm the issue and record it by hand: the flag clears.
    await server.knex('rpa_jobs').where({ id: uncertain }).update({ status: 'succeeded', core_ref: 'H-0003' });
    await reconcileJobs(server.knex, { notSeenAfterBusinessDays: 2, closedDates: [] }, NOW);
    expect(await stateOf(uncertain)).to.equal('matched');
    // The core system stops exporting the log: no stale certificate flag stays behind.
    await server.knex('certificate_issuances').del();
    await reconcileJobs(server.knex, { notSeenAfterBusinessDays: 2, closedDates: [] }, NOW);
    expect([await stateOf(issued), await stateOf(missing), await stateOf(uncertain)]).to.deep.equal([undefined, undefined, undefined]);
  });

  it('runs after the drop-folder watcher applies a 001o009 file', async () => {
    const t = tempDir();
    const watching = await startTestServer({ configDir: fastWatchConfig(t.dir), watch: true });
    try {
      const a = await makeResident(watching.knex, { addressee_no: '3000000001' });
      const staff = await makeStaff(watching.knex, ['counter']);
      const visit = await makeVisit(watching.knex, staff);
      const notice = await makeNotice(watching.knex, visit, staff, 'accepted', [
        { addresseeNo: a.addressee_no, event: false, moving: true },
      ]);
      notice.type = 'relocation';
      notice.effectiveDate = '2026-11-30';
      const [job] = await watching.knex.transaction((trx) => enqueueNotice(trx, notice, settings, perPerson));
      await watching
        .knex('rpa_jobs')
        .where({ id: job })
        .update({ status: 'succeeded', core_ref: 'R-1', finished_at: new Date(), awaiting_review: false });
      const drop = path.join(watching.dataDir, 'linkage', '001o009');
      const header =
        '宛名番号,履歴番号,異動年月日,異動年月日_不詳フラグ,異動年月日_不詳表記,異動届出年月日,異動事由,世帯番号,氏名,氏名_フリガナ,続柄表記,異動前住所,異動後住所';
      const row = (seqNo: number) =>
        `${a.addressee_no},${seqNo},20261130,0,,20261130,41,,${a.name},${a.name_kana},世帯主,本町1番地,本町2番地`;
      writeFileSync(path.join(drop, 'h.csv.part'), `${header}\r\n${row(1)}\r\n${row(2)}\r\n`);
      renameSync(path.join(drop, 'h.csv.part'), path.join(drop, '001o009_439991_20261201020000.csv'));
      let state: string | undefined;
      for (let i = 0; i < 300 && !state; i++) {
        await new Promise((r) => setTimeout(r, 100));
        state = ((await watching.knex('rpa_reconciliations').where({ job_id: job }).first('state')) as { state: string } | undefined)
          ?.state;
      }
      expect(state, 'reconciled after the load').to.equal('enteredTwice');
    } finally {
      await watching.close();
      t.remove();
    }
  });
});
