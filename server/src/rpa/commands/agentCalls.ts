import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { powerStatus } from '../../ops/power.js';
import { storeEvidence, type Evidence, type EvidenceKind } from '../evidence.js';
import { invalidInput } from '../../errors/domainError.js';
import { claimJob, payloadIsProtected, secondsUntilOpen, systemHours, touchAgent, type Job, type QueueSettings } from '../jobs.js';

/** The calling agent as it identifies itself (name from its token, version and host from headers). */
export interface AgentCall {
  name: string;
  version: string | null;
  host: string | null;
  /** Whether the agent's group holds `resident.viewProtectedAddress` (a dedicated agent for 支援措置 jobs). */
  mayReceiveProtected: boolean;
  /** The scenarios the agent serves (its pool), from its agent.yaml; absent = all. */
  scenarios?: readonly string[];
  /** The core system the agent enters into (agent.yaml coreSystem); absent = the main one. */
  coreSystem?: string;
}

/**
 * An agent asks for work: the next ready job is leased to it, unless the server runs on battery
 * (no new lease starts: an entry cut off by the shutdown would need repair by hand). Handing the
 * payload (personal data) to an agent is a reference, so it is audited. A job flagged 支援措置 goes
 * only to an agent whose group holds `resident.viewProtectedAddress`.
 */
export async function claimForAgent(
  db: Knex,
  agent: AgentCall,
  settings: QueueSettings,
  actor: AuditActor,
  now = new Date(),
): Promise<{ job: Job | null; onBattery: boolean; closedForSeconds: number }> {
  await touchAgent(db, agent.name, agent.version, agent.host, null, now);
  if ((await powerStatus(db)).state !== 'online') return { job: null, onBattery: true, closedForSeconds: 0 };
  // Each core system has its own hours (the 税システム's night batch is not the 住民記録's).
  const system = systemHours(settings, agent.coreSystem);
  if (!system)
    throw invalidInput(`基幹系 ${agent.coreSystem ?? ''} はサーバーの設定 (rpa.coreSystem・rpa.systems) にありません`, [
      { field: 'coreSystem', message: '設定にない基幹系です' },
    ]);
  const closedForSeconds = secondsUntilOpen(system.hours, now);
  if (closedForSeconds > 0) return { job: null, onBattery: false, closedForSeconds };
  const job = await claimJob(db, agent.name, settings, now, agent.mayReceiveProtected, agent.scenarios, agent.coreSystem);
  if (!job) return { job: null, onBattery: false, closedForSeconds: 0 };
  await touchAgent(db, agent.name, null, null, job.id, now);
  await db.transaction((trx) =>
    appendAudit(
      trx,
      {
        ...actor,
        action: 'rpa.claim',
        targetKind: 'rpaJob',
        targetIds: [String(job.id)],
        result: 'success',
        detail: { scenario: job.scenario, attempt: job.attempts + 1, protected: job.protected },
      },
      now,
    ),
  );
  return { job, onBattery: false, closedForSeconds: 0 };
}

/**
 * An agent sends a screenshot or trace of the job it holds; stored under the data directory and
 * audited. Evidence of a job flagged 支援措置 is kept like any other but shown only to staff holding
 * `resident.viewProtectedAddress` (the server tells agents not to keep any for such jobs).
 */
export async function recordEvidence(
  db: Knex,
  dataDir: string,
  jobId: number,
  agent: string,
  kind: EvidenceKind,
  body: Buffer,
  actor: AuditActor,
  now = new Date(),
): Promise<Evidence> {
  const saved = await storeEvidence(db, dataDir, jobId, agent, kind, body, now);
  const flagged = await jobIsProtected(db, jobId);
  await db.transaction((trx) =>
    appendAudit(
      trx,
      {
        ...actor,
        action: 'rpa.evidence.store',
        targetKind: 'rpaJob',
        targetIds: [String(jobId)],
        result: 'success',
        detail: { evidence: saved.id, kind, bytes: saved.bytes, protected: flagged },
      },
      now,
    ),
  );
  return saved;
}

/** Whether job `id` is flagged 支援措置 (false when it is gone). */
export async function jobIsProtected(db: Knex, id: number): Promise<boolean> {
  const r = (await db('rpa_jobs').where({ id }).first('payload')) as { payload: string } | undefined;
  return r ? payloadIsProtected(JSON.parse(r.payload) as Record<string, unknown>) : false;
}
