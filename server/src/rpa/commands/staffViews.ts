import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { StaffSession } from '../../auth/sessions.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { dbDate } from '../../db/values.js';
import { DomainError, notFound } from '../../errors/domainError.js';
import { listEvidence, readEvidence, type Evidence } from '../evidence.js';
import { jobStatuses, toJob, type Job, type JobStatus } from '../jobs.js';
import { jobIsProtected } from './agentCalls.js';

/** Who is looking at a job page or its evidence. */
export type JobViewer = Pick<StaffSession, 'kind' | 'permissions'>;

/**
 * Who may see one job's page and evidence (they name the person and show the core system's
 * screens with what was typed): staff only; a job flagged 支援措置 needs
 * `resident.viewProtectedAddress` (支援措置担当, who also enters such jobs by hand), any other job
 * `rpa.manage`.
 */
export function mayViewJob(viewer: JobViewer, isProtected: boolean): boolean {
  if (viewer.kind !== 'staff') return false;
  return viewer.permissions.has(isProtected ? 'resident.viewProtectedAddress' : 'rpa.manage');
}

/** Refuses a view (audited as denied, with what was asked) when `mayViewJob` says no. */
async function guardView(
  db: Knex,
  viewer: JobViewer,
  isProtected: boolean,
  audit: { action: string; jobId: number; detail: Record<string, unknown> },
  actor: AuditActor,
  now: Date,
): Promise<void> {
  if (mayViewJob(viewer, isProtected)) return;
  await db.transaction((trx) =>
    appendAudit(
      trx,
      {
        ...actor,
        action: audit.action,
        targetKind: 'rpaJob',
        targetIds: [String(audit.jobId)],
        result: 'denied',
        detail: { ...audit.detail, protected: isProtected },
      },
      now,
    ),
  );
  throw new DomainError(isProtected ? 'rpa.protectedJob' : 'auth.forbidden');
}

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

/**
 * One job with its evidence for staff; the page names the person, so viewing it is audited, and a
 * refusal (a 支援措置 job without the right) is audited as denied.
 */
export async function viewJob(
  db: Knex,
  id: number,
  viewer: JobViewer,
  actor: AuditActor,
  now = new Date(),
): Promise<{ job: Job; evidence: Evidence[] }> {
  const row = (await db('rpa_jobs').where({ id }).first()) as Record<string, unknown> | undefined;
  if (!row) throw notFound('ジョブ');
  const job = toJob(row);
  await guardView(db, viewer, job.protected, { action: 'rpa.job.view', jobId: id, detail: {} }, actor, now);
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
        detail: { evidence: evidence.length, protected: job.protected },
      },
      now,
    ),
  );
  return { job, evidence };
}

/**
 * One evidence file for staff (audited), or 404 when it is gone (past its retention). Evidence of
 * a 支援措置 job is refused (403, audited as denied) to staff without `resident.viewProtectedAddress`.
 */
export async function viewEvidence(
  db: Knex,
  dataDir: string,
  id: number,
  viewer: JobViewer,
  actor: AuditActor,
  now = new Date(),
): Promise<{ evidence: Evidence; body: Buffer }> {
  const row = (await db('rpa_evidence').where({ id }).first('job_id', 'kind')) as { job_id: number; kind: string } | undefined;
  if (!row) throw notFound('証跡');
  const flagged = await jobIsProtected(db, Number(row.job_id));
  await guardView(
    db,
    viewer,
    flagged,
    { action: 'rpa.evidence.view', jobId: Number(row.job_id), detail: { evidence: id, kind: row.kind } },
    actor,
    now,
  );
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
        detail: { evidence: id, kind: got.evidence.kind, protected: flagged },
      },
      now,
    ),
  );
  return got;
}
