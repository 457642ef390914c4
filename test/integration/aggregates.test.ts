import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { exportNoticesCsv } from '../../server/src/rpa/csvOut.js';
import type { Knex } from 'knex';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import type { AuditActor } from '../../server/src/auth/staffRepo.js';
import { missingSubscribers, subscribersOf } from '../../server/src/domain/events.js';
import { todayInJapan } from '../../server/src/domain/japanTime.js';
import type { NoticeMemberInput } from '../../server/src/domain/noticeValidation.js';
import { DomainError } from '../../server/src/errors/domainError.js';
import { acceptNotice, type AcceptNoticeDeps } from '../../server/src/notices/commands/acceptNotice.js';
import { cancelNotice } from '../../server/src/notices/commands/cancelNotice.js';
import { reviewNotice, sendBackNotice } from '../../server/src/notices/commands/reviewNotice.js';
import { saveDraft } from '../../server/src/notices/commands/saveDraft.js';
import {
  allowedNoticeMoves,
  assertNoticeMove,
  noticeMoveLabels,
  noticeMoves,
  noticeStatuses,
  noticeStatusLabels,
} from '../../server/src/notices/notice.js';
import { coreRefsOfNotices, getNotice } from '../../server/src/notices/queries.js';
import '../../server/src/notices/notices.js';
import {
  allowedProcedureMoves,
  assertProcedureMove,
  procedureStatuses,
  procedureStatusLabels,
} from '../../server/src/notices/visitProcedures.js';
import {
  allowedJobMoves,
  assertJobMove,
  claimJob,
  defaultQueueSettings,
  failJob,
  jobMoveLabels,
  jobMoves,
  jobStatuses,
  jobStatusLabels,
  resolveJob,
  succeedJob,
} from '../../server/src/rpa/jobs.js';
import { addMemo } from '../../server/src/visits/commands/addMemo.js';
import { changeVisitStatus } from '../../server/src/visits/commands/changeVisitStatus.js';
import { openVisit } from '../../server/src/visits/commands/openVisit.js';
import {
  allowedVisitMoves,
  assertVisitMove,
  statusLabels,
  visitMoveLabels,
  visitMoves,
  visitStatuses,
} from '../../server/src/visits/visit.js';
import { migratedSqlite, type TempDatabase } from '../helpers/db.js';

/** Expects a 409 `state.moveNotAllowed` naming the current state and every allowed move. */
function expectMoveRefused(fn: () => unknown, from: string, allowed: readonly string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `${from}: no error`).to.be.instanceOf(DomainError);
  const e = caught as DomainError;
  expect(e.status).to.equal(409);
  expect(e.code).to.equal('state.moveNotAllowed');
  expect(e.message).to.contain(`「${from}」`);
  expect(e.message).to.contain(`できる操作: ${allowed.length ? allowed.join('、') : 'なし'}`);
}

async function expectStatus(p: Promise<unknown>, status: number, code?: string): Promise<DomainError> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(DomainError);
    expect((e as DomainError).status, (e as Error).message).to.equal(status);
    if (code) expect((e as DomainError).code).to.equal(code);
    return e as DomainError;
  }
  throw new Error(`expected ${status}, got success`);
}

describe('aggregates: move tables', () => {
  it('notice: every disallowed move is a 409 naming the allowed ones', () => {
    for (const from of noticeStatuses) {
      const allowed: readonly string[] = allowedNoticeMoves[from];
      for (const move of noticeMoves) {
        if (allowed.includes(move)) expect(() => assertNoticeMove(from, move)).not.to.throw();
        else
          expectMoveRefused(
            () => assertNoticeMove(from, move),
            noticeStatusLabels[from],
            allowed.map((m) => noticeMoveLabels[m as keyof typeof noticeMoveLabels]),
          );
      }
    }
    // The enter move is reachable (it is what the RPA jobs' completion uses).
    expect(allowedNoticeMoves.reviewed).to.include('enter');
  });

  it('visit: every disallowed move is a 409 naming the allowed ones', () => {
    for (const from of visitStatuses)
      for (const move of visitMoves) {
        const allowed: readonly string[] = allowedVisitMoves[from];
        if (allowed.includes(move)) expect(() => assertVisitMove(from, move)).not.to.throw();
        else
          expectMoveRefused(
            () => assertVisitMove(from, move),
            statusLabels[from],
            allowed.map((m) => visitMoveLabels[m as keyof typeof visitMoveLabels]),
          );
      }
  });

  it('RPA job: every disallowed move is a 409 naming the allowed ones', () => {
    for (const from of jobStatuses)
      for (const move of jobMoves) {
        const allowed: readonly string[] = allowedJobMoves[from];
        if (allowed.includes(move)) expect(() => assertJobMove(from, move)).not.to.throw();
        else
          expectMoveRefused(
            () => assertJobMove(from, move),
            jobStatusLabels[from],
            allowed.map((m) => jobMoveLabels[m as keyof typeof jobMoveLabels]),
          );
      }
  });

  it('visit procedure: every status may be set by hand (the select offers them all)', () => {
    for (const from of procedureStatuses)
      for (const to of procedureStatuses) expect(() => assertProcedureMove(from, to), `${from} → ${to}`).not.to.throw();
    for (const from of procedureStatuses) expect(allowedProcedureMoves[from]).to.not.include(from);
    expect(procedureStatusLabels.printed).to.equal('申請書印刷済');
  });

  it('events: every listed subscriber has registered once the owners are loaded', () => {
    expect(missingSubscribers()).to.deep.equal([]);
    expect(subscribersOf['notice.reviewed']).to.deep.equal(['rpaJob']);
    expect(subscribersOf['job.succeeded']).to.deep.equal(['notice']);
  });
});

describe('aggregates: commands, events and the core-system numbers', function () {
  this.timeout(60_000);
  let db: TempDatabase;
  let knex: Knex;
  let clerk: AuditActor;
  let reviewer: AuditActor;
  const agent: AuditActor = { staffId: null, staffLogin: 'rpa-01', role: 'rpaAgent' };
  const settings = defaultQueueSettings;
  const today = todayInJapan();
  const deps: AcceptNoticeDeps = {
    deadlineDays: {},
    procedures: { catalog: [], on: today },
    rpa: { settings, hasScenario: () => true },
    town: { prefecture: '熊本県', county: '窓口郡', name: 'まどぐち町' },
  };

  const member = (i: number, head = false): NoticeMemberInput => ({
    addresseeNo: null,
    name: `転入 ${i + 1}郎`,
    nameKana: `テンニュウ ${i + 1}`,
    birthDate: '1990-01-01',
    sex: '1',
    relationship: head ? '世帯主' : '子',
    moving: true,
    head,
    event: false,
  });

  /** An accepted move-in of `people` persons on a new visit; returns the visit and notice ids. */
  const acceptedMoveIn = async (people: number): Promise<{ visitId: number; noticeId: number }> => {
    const visit = await openVisit(knex, clerk.staffId!, 'shimin-1', clerk);
    const noticeId = await saveDraft(
      knex,
      {
        visitId: visit.id,
        noticeId: null,
        draft: {
          type: 'moveIn',
          effectiveDate: today,
          householdNo: null,
          data: { previousAddress: '東京都千代田区1-1', newAddress: '緑ケ丘二丁目3番地4' },
          members: Array.from({ length: people }, (_, i) => member(i, i === 0)),
        },
      },
      clerk,
    );
    await acceptNotice(knex, { visitId: visit.id, noticeId }, clerk, deps);
    return { visitId: visit.id, noticeId };
  };

  const jobsOf = async (noticeId: number) =>
    (await knex('rpa_jobs').where({ notice_id: noticeId }).orderBy('id').select('id', 'status', 'awaiting_review')) as {
      id: number;
      status: string;
      awaiting_review: number;
    }[];

  before(async () => {
    db = await migratedSqlite();
    knex = db.knex;
    const pw = 'Aggregates-test-2026!';
    const common = { section: '市民課', password: pw, mustChangePassword: false };
    const clerkId = await createStaff(knex, { ...common, loginId: 'clerk', displayName: '受付 職員', groups: ['counter'] });
    const reviewerId = await createStaff(knex, { ...common, loginId: 'reviewer', displayName: '審査 職員', groups: ['reviewer'] });
    clerk = { staffId: clerkId, staffLogin: 'clerk', role: 'counter', counterId: 'shimin-1' };
    reviewer = { staffId: reviewerId, staffLogin: 'reviewer', role: 'reviewer', counterId: 'shimin-1' };
  });
  after(async () => {
    await db?.close();
  });

  it('a 9-person move-in whose 9 jobs succeed with 20-character numbers is 入力済 with all 9 numbers', async () => {
    const { noticeId } = await acceptedMoveIn(9);
    expect((await jobsOf(noticeId)).map((j) => j.status)).to.deep.equal(Array(9).fill('queued'));
    await reviewNotice(knex, noticeId, reviewer);
    const refs = Array.from({ length: 9 }, (_, i) => `R08-${String(i + 1).padStart(16, '0')}`);
    expect(refs.every((r) => r.length === 20)).to.equal(true);
    for (const [i, ref] of refs.entries()) {
      const job = await claimJob(knex, 'rpa-01', settings);
      expect(job, `job ${i + 1}`).to.not.equal(null);
      expect(job!.noticeId).to.equal(noticeId);
      await succeedJob(knex, job!.id, 'rpa-01', ref, agent);
      expect((await getNotice(knex, noticeId))!.status).to.equal(i < 8 ? 'reviewed' : 'entered');
    }
    const n = (await getNotice(knex, noticeId))!;
    expect(n.status).to.equal('entered');
    expect(n.enteredAt).to.be.instanceOf(Date);
    expect(n.coreRefs).to.deep.equal(refs);
    expect((await coreRefsOfNotices(knex, [noticeId])).get(noticeId)).to.deep.equal(refs);
    // The notices CSV for the core system carries all nine numbers too (it was cut at 64 characters).
    const out = mkdtempSync(path.join(tmpdir(), 'madoguchi-csv-'));
    try {
      const written = await exportNoticesCsv(knex, { date: todayInJapan(), dir: out, encoding: 'utf8' }, clerk);
      const text = readFileSync(written.file, 'utf8');
      for (const ref of refs) expect(text, ref).to.include(ref);
      expect(text).to.include(refs.join(','));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    expect(((await knex('notices').where({ id: noticeId }).first('entered_ref')) as { entered_ref: string | null }).entered_ref).to.equal(
      null,
    );
    const audit = (await knex('audit_trail').where({ action: 'notice.enter' }).select('target_ids', 'staff_login')) as {
      target_ids: string;
      staff_login: string;
    }[];
    expect(audit.map((a) => JSON.parse(a.target_ids) as string[])).to.deep.include([String(noticeId)]);
  });

  it('review releases the jobs, a send-back holds them again; the one who accepted may not review', async () => {
    const { noticeId } = await acceptedMoveIn(2);
    expect((await jobsOf(noticeId)).map((j) => Number(j.awaiting_review))).to.deep.equal([1, 1]);
    await expectStatus(reviewNotice(knex, noticeId, clerk), 403, 'notice.selfReview');
    await reviewNotice(knex, noticeId, reviewer);
    expect((await jobsOf(noticeId)).map((j) => Number(j.awaiting_review))).to.deep.equal([0, 0]);
    await expectStatus(sendBackNotice(knex, noticeId, '', reviewer), 400);
    await sendBackNotice(knex, noticeId, '住所の番地を確認', reviewer);
    expect((await getNotice(knex, noticeId))!.status).to.equal('accepted');
    expect((await jobsOf(noticeId)).map((j) => Number(j.awaiting_review))).to.deep.equal([1, 1]);
    // No agent gets a job of a notice waiting for its review.
    const other = await claimJob(knex, 'rpa-01', settings);
    expect(other?.noticeId ?? null).to.not.equal(noticeId);
    if (other) await failJob(knex, other.id, 'rpa-01', 'business', 'test', settings, agent);
  });

  it('cancelling a notice cancels its queued jobs; commands refuse disallowed moves with 409', async () => {
    const { visitId, noticeId } = await acceptedMoveIn(3);
    const e = await expectStatus(sendBackNotice(knex, noticeId, '理由', reviewer), 409, 'state.moveNotAllowed');
    expect(e.message).to.contain('「受付済」').and.contain('できる操作: 審査済、取消');
    await expectStatus(
      saveDraft(
        knex,
        { visitId, noticeId, draft: { type: 'moveIn', effectiveDate: today, householdNo: null, data: {}, members: [] } },
        clerk,
      ),
      409,
      'state.moveNotAllowed',
    );
    await expectStatus(acceptNotice(knex, { visitId, noticeId }, clerk, deps), 409, 'state.moveNotAllowed');
    await cancelNotice(knex, noticeId, '本人の申し出', clerk);
    expect((await jobsOf(noticeId)).map((j) => j.status)).to.deep.equal(['cancelled', 'cancelled', 'cancelled']);
    await expectStatus(cancelNotice(knex, noticeId, 'もう一度', clerk), 409, 'state.moveNotAllowed');
    await expectStatus(reviewNotice(knex, noticeId, reviewer), 409, 'state.moveNotAllowed');
    await expectStatus(reviewNotice(knex, 999_999, reviewer), 404);
    // A terminal (no member of staff) cannot make notices.
    await expectStatus(cancelNotice(knex, noticeId, 'x', agent), 403, 'auth.staffOnly');
  });

  it('a job marked as entered by hand counts as entered; job moves refused with 409 from the table', async () => {
    const { noticeId } = await acceptedMoveIn(1);
    await reviewNotice(knex, noticeId, reviewer);
    const [job] = await jobsOf(noticeId);
    const e = await expectStatus(resolveJob(knex, job!.id, 'retry', '再実行', reviewer), 409, 'state.moveNotAllowed');
    expect(e.message).to.contain('「待ち」').and.contain('できる操作: 貸出、手入力済、取消');
    await expectStatus(succeedJob(knex, job!.id, 'rpa-01', 'R08-1', agent), 409, 'state.moveNotAllowed');
    await resolveJob(knex, job!.id, 'doneByHand', '基幹系に手で入力済み', reviewer);
    const n = (await getNotice(knex, noticeId))!;
    expect(n.status).to.equal('entered');
    expect(n.coreRefs).to.deep.equal(['manual']);
  });

  it('visit: memos and status moves go through the visit owner; a closed visit takes no change', async () => {
    const visit = await openVisit(knex, clerk.staffId!, 'shimin-1', clerk);
    await addMemo(knex, visit.id, clerk.staffId!, { body: '委任状を確認', templateId: null }, clerk);
    await expectStatus(addMemo(knex, visit.id, clerk.staffId!, { body: ' ', templateId: null }, clerk), 400);
    await changeVisitStatus(knex, visit.id, clerk.staffId!, 'close', 'shimin-1', clerk);
    const e = await expectStatus(
      addMemo(knex, visit.id, clerk.staffId!, { body: 'x', templateId: null }, clerk),
      409,
      'state.moveNotAllowed',
    );
    expect(e.message).to.contain('「完了」').and.contain('できる操作: なし');
    await expectStatus(changeVisitStatus(knex, visit.id, clerk.staffId!, 'pause', null, clerk), 409, 'state.moveNotAllowed');
    await expectStatus(
      saveDraft(
        knex,
        {
          visitId: visit.id,
          noticeId: null,
          draft: { type: 'moveIn', effectiveDate: null, householdNo: null, data: {}, members: [] },
        },
        clerk,
      ),
      409,
    );
    expect(Number(((await knex('visit_memos').where({ visit_id: visit.id }).count({ n: '*' }).first()) as { n: number }).n)).to.equal(1);
  });
});
