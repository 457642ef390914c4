import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { dbDate } from '../../db/values.js';
import { notFound } from '../../errors/domainError.js';
import { listEvidence, readEvidence, type Evidence } from '../evidence.js';
import { jobStatuses, toJob, type Job, type JobStatus } from '../jobs.js';

export interface AgentSeen {
  name: string;
  version: string | null;
  host: string | null;
  lastSeenAt: Date;
  lastJobId: number | null;
}

export interface JobList {
  jobs: Job[];
  counts: Record<JobStatus, number>;
  scenarios: string[];
  agents: AgentSeen[];
}

/** The job page's list (newest 300), counts by status, the scenarios seen and the agents. */
export async function jobList(db: Knex, f: { status?: JobStatus; scenario?: string; agent?: string }): Promise<JobList> {
  let q = db('rpa_jobs').orderBy('id', 'desc').limit(300);
  if (f.status) q = q.where({ status: f.status });
  if (f.scenario) q = q.where({ scenario: f.scenario });
  if (f.agent) q = q.where({ leased_by: f.agent });
  const jobs = ((await q) as Record<string, unknown>[]).map(toJob);
  const rows = (await db('rpa_jobs').groupBy('status').select('status').count({ n: '*' })) as { status: JobStatus; n: number | string }[];
  const counts = Object.fromEntries(jobStatuses.map((s) => [s, Number(rows.find((c) => c.status === s)?.n ?? 0)])) as Record<
    JobStatus,
    number
  >;
  const scenarios = ((await db('rpa_jobs').distinct('scenario').orderBy('scenario')) as { scenario: string }[]).map((r) => r.scenario);
  const agents = (
    (await db('rpa_agents').orderBy('name')) as {
      name: string;
      version: string | null;
      host: string | null;
      last_seen_at: unknown;
      last_job_id: number | null;
    }[]
  ).map((a) => ({
    name: a.name,
    version: a.version,
    host: a.host,
    lastSeenAt: dbDate(a.last_seen_at)!,
    lastJobId: a.last_job_id === null ? null : Number(a.last_job_id),
  }));
  return { jobs, counts, scenarios, agents };
}

/** One job with its evidence for staff; the page names the person, so viewing it is audited. */
export async function viewJob(db: Knex, id: number, actor: AuditActor, now = new Date()): Promise<{ job: Job; evidence: Evidence[] }> {
  const row = (await db('rpa_jobs').where({ id }).first()) as Record<string, unknown> | undefined;
  if (!row) throw notFound('ジョブ');
  const evidence = await listEvidence(db, id);
  await db.transaction((trx) =>
    appendAudit(
      trx,
      {
        ...actor,
        action: 'rpa.job.view',
        targetKind: 'rpaJob',
        targetIds: [String(id)],
        result: 'success',
        detail: { evidence: evidence.length },
      },
      now,
    ),
  );
  return { job: toJob(row), evidence };
}

/** One evidence file for staff (audited), or 404 when it is gone (past its retention). */
export async function viewEvidence(
  db: Knex,
  dataDir: string,
  id: number,
  actor: AuditActor,
  now = new Date(),
): Promise<{ evidence: Evidence; body: Buffer }> {
  const got = await readEvidence(db, dataDir, id);
  if (!got) throw notFound('証跡');
  await db.transaction((trx) =>
    appendAudit(
      trx,
      {
        ...actor,
        action: 'rpa.evidence.view',
        targetKind: 'rpaJob',
        targetIds: [String(got.evidence.jobId)],
        result: 'success',
        detail: { evidence: id, kind: got.evidence.kind },
      },
      now,
    ),
  );
  return got;
}
