import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { todayInJapan } from '../../server/src/domain/dates.js';
import { exportNoticesCsv, NOTICE_CSV_COLUMNS } from '../../server/src/rpa/csvOut.js';
import { claimForAgent } from '../../server/src/rpa/commands/agentCalls.js';
import { queueSettingsOf, resolveJob, returnAllLeases } from '../../server/src/rpa/jobs.js';
import { getNotice } from '../../server/src/notices/queries.js';
import { decodeCsv } from '../../server/src/stats/visitStats.js';
import { registerApiClient } from '../../server/src/auth/apiClients.js';
import { mssqlDialect } from '../../server/src/db/dialects/mssql.js';
import { derivedKeys } from '../../server/src/linkage/forward/keys.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import knexFactory from 'knex';
import { postForm } from '../helpers/http.js';
import { loginAs, type LoggedIn } from '../helpers/login.js';
import { configDir, tempDir } from '../helpers/paths.js';

interface Claimed {
  job: { id: number; reference: string; scenario: string; payload: { reference: string; members: { name: string }[] }; attempt: number };
}

/** The RPA job queue: created with the notice, opened by the review, leased safely, retried, resolved. */
describe('RPA job queue: enqueue on accept, claim after review, leases, retries, ordering', function () {
  this.timeout(60_000);
  const t = tempDir();
  let server: RunningServer;
  let clerk: LoggedIn;
  let reviewer: LoggedIn;
  let tokens: string[];
  let visitId: number;

  const agent = (i: number) => ({ authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/json' });
  const claim = async (i: number): Promise<Claimed | null> => {
    const res = await fetch(`${server.url}api/v1/agent/claim`, { method: 'POST', headers: agent(i) });
    if (res.status === 204) return null;
    expect(res.status, await res.clone().text()).to.equal(200);
    return (await res.json()) as Claimed;
  };
  const report = (i: number, id: number, what: string, body: Record<string, unknown>) =>
    fetch(`${server.url}api/v1/agent/jobs/${id}/${what}`, { method: 'POST', headers: agent(i), body: JSON.stringify(body) });

  const acceptRelocation = async (): Promise<number> => {
    const created = await postForm(`${server.url}visits/${visitId}/notices`, clerk, { type: 'relocation' });
    const nid = Number(/notices\/(\d+)$/.exec(created.headers.get('location')!)![1]);
    const ok = await postForm(`${server.url}visits/${visitId}/notices/${nid}`, clerk, {
      action: 'accept',
      effectiveDate: 'R8.11.28',
      newAddress: '緑ケ丘二丁目3番地4',
      m0_addresseeNo: '600000000001',
      m0_name: '入力 太郎',
      moving: '0',
      head: '0',
    });
    expect(ok.status).to.equal(303);
    return nid;
  };
  const review = async (nid: number) =>
    expect((await postForm(`${server.url}notices/${nid}/move`, reviewer, { move: 'review' })).status).to.equal(303);

  before(async () => {
    server = await startServer({ configDir, dataDir: t.dir, port: 0, host: '127.0.0.1', watch: false });
    const r = {
      addressee_no: '600000000001',
      household_no: 'HR',
      resident_kind: '1',
      resident_status: '1',
      name: '入力 太郎',
      name_kana: 'ニュウリョク タロウ',
      sex: '1',
      birth_date: '1980-01-01',
      relationship_code1: '02',
      change_reason_code: '01',
      town_name: '本町',
      block_number: '1-1',
    };
    await server.knex('residents').insert({ ...r, ...derivedKeys.residents!(r) });
    clerk = await loginAs(server.url, server.knex, ['counter']);
    reviewer = await loginAs(server.url, server.knex, ['reviewer']);
    tokens = [
      await registerApiClient(server.knex, 'rpa-01', 'rpaAgent', { staffLogin: 'test' }),
      await registerApiClient(server.knex, 'rpa-02', 'rpaAgent', { staffLogin: 'test' }),
    ];
    const res = await postForm(`${server.url}visits`, clerk, {});
    visitId = Number(/\/visits\/(\d+)$/.exec(res.headers.get('location') ?? '')![1]);
    await postForm(`${server.url}visits/${visitId}/subjects`, clerk, { addresseeNo: '600000000001' });
  });
  after(async () => {
    await server.close();
    t.remove();
  });

  it('creates one job per accepted notice, claimable only after review, and marks the notice 入力済 on success', async () => {
    const nid = await acceptRelocation();
    expect(await server.knex('rpa_jobs').where({ notice_id: nid }).first('status', 'awaiting_review')).to.deep.equal({
      status: 'queued',
      awaiting_review: 1,
    });
    expect(await claim(0)).to.equal(null);
    await review(nid);
    const got = (await claim(0))!;
    expect(got.job.scenario).to.equal('relocation');
    expect(got.job.payload.reference).to.equal(`MDG-${nid}-1`);
    expect(got.job.reference).to.equal(`MDG-${nid}-1`);
    expect(got.job.payload.members.map((m) => m.name)).to.deep.equal(['入力 太郎']);
    expect(await claim(1)).to.equal(null);
    expect((await report(0, got.job.id, 'heartbeat', {})).status).to.equal(200);
    expect((await report(1, got.job.id, 'success', { coreRef: 'X' })).status).to.equal(409);
    expect((await report(0, got.job.id, 'success', { coreRef: 'R08-000001' })).status).to.equal(200);
    const entered = (await getNotice(server.knex, nid))!;
    expect({ status: entered.status, coreRefs: entered.coreRefs }).to.deep.equal({ status: 'entered', coreRefs: ['R08-000001'] });
    // Staff cannot take this from the agent API (the route wants the agent permission).
    expect(
      (await fetch(`${server.url}api/v1/agent/claim`, { method: 'POST', headers: { cookie: clerk.cookie, 'x-csrf-token': clerk.csrf } }))
        .status,
    ).to.equal(403);
  });

  it('gives an agent of a pool only the scenarios it serves, and no job at all outside the service hours', async () => {
    const nid = await acceptRelocation();
    await review(nid);
    await server.knex('rpa_jobs').where({ notice_id: nid }).update({ blocked_by: null });
    const claimAs = (i: number, body: unknown) =>
      fetch(`${server.url}api/v1/agent/claim`, { method: 'POST', headers: agent(i), body: JSON.stringify(body) });
    // A certificate PC does not take the 転居.
    expect((await claimAs(0, { scenarios: ['residentCopy', 'sealCertificate'] })).status).to.equal(204);
    expect((await claimAs(0, { scenarios: ['../x'] })).status).to.equal(400);
    // Outside the core system's hours nothing is leased, and the agent is told when to come back.
    const closed = { ...queueSettingsOf(server.config), serviceHours: { from: '00:00', to: '00:01', weekdays: [] as number[] } };
    closed.serviceHours.weekdays = [(new Date(Date.now() + 9 * 3_600_000).getUTCDay() + 3) % 7];
    const off = await claimForAgent(server.knex, { name: 'rpa-01', version: null, host: null, mayReceiveProtected: false }, closed, {
      staffId: null,
      staffLogin: 'rpa-01',
      role: null,
      counterId: null,
      clientAddress: null,
    });
    expect(off.job).to.equal(null);
    expect(off.closedForSeconds).to.be.greaterThan(24 * 3600);
    // The PC for moves takes it.
    const res = await claimAs(0, { scenarios: ['relocation', 'moveIn'] });
    expect(res.status).to.equal(200);
    const got = (await res.json()) as Claimed;
    expect(got.job.scenario).to.equal('relocation');
    expect((await report(0, got.job.id, 'success', { coreRef: 'R08-POOL01' })).status).to.equal(200);
  });

  it('never gives one job to two agents claiming at once, and re-queues an expired lease', async () => {
    for (let i = 0; i < 12; i++) {
      const nid = await acceptRelocation();
      await review(nid);
    }
    // Unblock the household chain so that all twelve are ready together.
    await server.knex('rpa_jobs').update({ blocked_by: null });
    const seen: number[] = [];
    await Promise.all(
      [0, 1].map(async (i) => {
        for (;;) {
          const c = await claim(i);
          if (!c) return;
          seen.push(c.job.id);
        }
      }),
    );
    expect(seen).to.have.length(12);
    expect(new Set(seen).size).to.equal(12);
    const first = seen[0]!;
    await server
      .knex('rpa_jobs')
      .where({ id: first })
      .update({ lease_expires_at: new Date(Date.now() - 1000) });
    const again = (await claim(1))!;
    expect(again.job.id).to.equal(first);
    const holder = (await server.knex('rpa_jobs').where({ id: first }).first('leased_by')) as { leased_by: string };
    expect(holder.leased_by).to.equal('rpa-02');
  });

  it('stops for staff, never re-queues, a job whose lease was lost after the saving step of a scenario without a probe', async () => {
    await server.knex('rpa_jobs').update({ status: 'cancelled' });
    for (let i = 0; i < 3; i++) await review(await acceptRelocation());
    await server.knex('rpa_jobs').whereNot({ status: 'cancelled' }).update({ blocked_by: null });
    const [a, b, c] = [(await claim(0))!, (await claim(0))!, (await claim(1))!];
    // a: at the unprobed saving step, then the agent dies; b: an ordinary heartbeat, then the agent dies.
    expect((await report(0, a.job.id, 'heartbeat', { unprobedCommit: true })).status).to.equal(200);
    expect((await report(0, b.job.id, 'heartbeat', {})).status).to.equal(200);
    await server
      .knex('rpa_jobs')
      .whereIn('id', [a.job.id, b.job.id])
      .update({ lease_expires_at: new Date(Date.now() - 1000) });
    expect((await claim(1))!.job.id, 'the ordinary job runs again').to.equal(b.job.id);
    const stopped = (await server.knex('rpa_jobs').where({ id: a.job.id }).first()) as Record<string, unknown>;
    expect(stopped).to.include({ status: 'needsAttention', error_kind: 'business', leased_by: null });
    expect(String(stopped.error_message)).to.contain('自動では再実行しません');
    // At a server stop, too: c (unprobed) stops for staff, b goes back to the queue.
    expect((await report(1, c.job.id, 'heartbeat', { unprobedCommit: true })).status).to.equal(200);
    const returned = await returnAllLeases(server.knex, 'test');
    expect(returned, 'only b goes back to the queue').to.deep.equal([b.job.id]);
    const audit = (await server.knex('audit_trail').where({ action: 'rpa.stoppedUncertain' }).orderBy('seq').select('target_ids')) as {
      target_ids: string;
    }[];
    expect(audit.map((a) => a.target_ids)).to.have.length(2);
    expect(audit.map((a) => a.target_ids).join(' '))
      .to.contain(String(a.job.id))
      .and.contain(String(c.job.id));
    const after = (await server.knex('rpa_jobs').whereIn('id', [b.job.id, c.job.id]).orderBy('id').select('id', 'status')) as {
      id: number;
      status: string;
    }[];
    expect(Object.fromEntries(after.map((r) => [r.id, r.status]))).to.deep.equal({ [b.job.id]: 'queued', [c.job.id]: 'needsAttention' });
    // Retried by staff, it runs again from the start, with no marker left.
    await resolveJob(server.knex, a.job.id, 'retry', '基幹系に登録なしを確認', { staffLogin: 'test' });
    await server.knex('rpa_jobs').whereNot({ id: a.job.id }).whereIn('status', ['queued']).update({ status: 'cancelled' });
    const again = (await claim(0))!;
    expect(again.job.id).to.equal(a.job.id);
    expect(
      ((await server.knex('rpa_jobs').where({ id: a.job.id }).first('unprobed_commit_at')) as { unprobed_commit_at: unknown })
        .unprobed_commit_at,
    ).to.equal(null);
  });

  it('retries application errors with backoff, sends business errors to staff, who retry or record a manual entry', async () => {
    await server
      .knex('rpa_jobs')
      .where({ status: 'leased' })
      .update({ status: 'queued', leased_by: null, available_at: new Date(0) });
    const c = (await claim(0))!;
    const r1 = (await (await report(0, c.job.id, 'failure', { kind: 'application', message: 'HTTP 500' })).json()) as { status: string };
    expect(r1.status).to.equal('queued');
    const row = (await server.knex('rpa_jobs').where({ id: c.job.id }).first('attempts', 'available_at')) as {
      attempts: number;
      available_at: number;
    };
    expect(row.attempts).to.equal(1);
    expect(Number(row.available_at)).to.be.greaterThan(Date.now() + 30_000);
    await server
      .knex('rpa_jobs')
      .whereNot({ id: c.job.id })
      .where({ status: 'queued' })
      .update({ available_at: new Date(Date.now() + 3_600_000) });
    expect(await claim(0)).to.equal(null);
    await server
      .knex('rpa_jobs')
      .where({ id: c.job.id })
      .update({ available_at: new Date(0) });
    const c2 = (await claim(1))!;
    expect(c2.job.id).to.equal(c.job.id);
    expect(c2.job.attempt).to.equal(2);
    const r2 = (await (
      await report(1, c2.job.id, 'failure', { kind: 'business', message: '住所が基幹系の住所辞書にありません' })
    ).json()) as { status: string };
    expect(r2.status).to.equal('needsAttention');
    const page = await (await fetch(`${server.url}rpa/jobs?status=needsAttention`, { headers: { cookie: reviewer.cookie } })).text();
    expect(page).to.contain('住所が基幹系の住所辞書にありません');
    expect((await postForm(`${server.url}rpa/jobs/${c.job.id}/resolve`, reviewer, { action: 'doneByHand', reason: '' })).status).to.equal(
      400,
    );
    expect(
      (await postForm(`${server.url}rpa/jobs/${c.job.id}/resolve`, reviewer, { action: 'doneByHand', reason: '職員が手入力' })).status,
    ).to.equal(303);
    expect((await server.knex('rpa_jobs').where({ id: c.job.id }).first('status', 'core_ref')) as Record<string, unknown>).to.deep.equal({
      status: 'succeeded',
      core_ref: 'manual',
    });
  });

  it('keeps one household in order: the second job waits for the first', async () => {
    await server.knex('rpa_jobs').whereIn('status', ['queued', 'leased', 'needsAttention']).update({ status: 'cancelled' });
    const a = await acceptRelocation();
    const b = await acceptRelocation();
    await review(a);
    await review(b);
    const [ja, jb] = (await server.knex('rpa_jobs').whereIn('notice_id', [a, b]).orderBy('id').select('id', 'blocked_by')) as {
      id: number;
      blocked_by: number | null;
    }[];
    expect(jb!.blocked_by).to.equal(ja!.id);
    const c = (await claim(0))!;
    expect(c.job.id).to.equal(ja!.id);
    expect(await claim(1)).to.equal(null);
    await report(0, c.job.id, 'success', { coreRef: 'R08-000777' });
    expect((await claim(1))!.job.id).to.equal(jb!.id);
  });

  it("writes the day's accepted notices as CSV for the core system, atomically, in UTF-8 or CP932, audited", async () => {
    const dir = path.join(t.dir, 'export');
    const today = todayInJapan();
    const r = await exportNoticesCsv(server.knex, { date: today, dir, encoding: 'utf8' }, { staffLogin: 'test' });
    expect(r.notices).to.be.greaterThan(10);
    expect(readdirSync(dir)).to.deep.equal([`notices-${today.replaceAll('-', '')}.csv`]);
    const [header, ...rows] = decodeCsv(readFileSync(r.file), 'utf8');
    expect(header).to.deep.equal([...NOTICE_CSV_COLUMNS]);
    expect(rows).to.have.length(r.rows);
    expect(rows[0]!.slice(2, 9)).to.deep.equal(['転居届', '入力済', '2026-11-28', today, 'HR', '600000000001', '入力 太郎']);
    const cp = await exportNoticesCsv(server.knex, { date: today, dir, encoding: 'cp932' }, { staffLogin: 'test' });
    expect(decodeCsv(readFileSync(cp.file), 'cp932')[1]![8]).to.equal('入力 太郎');
    expect(readdirSync(dir).some((f) => f.endsWith('.tmp'))).to.equal(false);
    expect(
      Number(((await server.knex('audit_trail').where({ action: 'notice.exportCsv' }).count({ n: '*' }).first()) as { n: number }).n),
    ).to.equal(2);
  });

  it('compiles the SQL Server claim with the extra condition', () => {
    const mssql = knexFactory({ client: 'mssql' });
    const q = mssqlDialect
      .claimQuery(
        mssql,
        'rpa_jobs',
        { status: 'queued', awaiting_review: 0 },
        ['available_at', 'id'],
        { status: 'leased' },
        { sql: 'available_at <= ? AND blocked_by IS NULL', bindings: [new Date(0)] },
      )
      .toSQL();
    expect(q.sql).to.contain('WITH (UPDLOCK, READPAST, ROWLOCK)');
    expect(q.sql).to.contain('AND (available_at <= ? AND blocked_by IS NULL)');
    expect(q.bindings).to.have.length(4);
  });
});
