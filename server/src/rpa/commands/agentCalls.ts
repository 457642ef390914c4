import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { powerStatus } from '../../ops/power.js';
import { storeEvidence, type Evidence, type EvidenceKind } from '../evidence.js';
import { claimJob, touchAgent, type Job, type QueueSettings } from '../jobs.js';

/** The calling agent as it identifies itself (name from its token, version and host from headers). */
export interface AgentCall {
  name: string;
  version: string | null;
  host: string | null;
}

/**
 * An agent asks for work: the next ready job is leased to it, unless the server runs on battery
 * (no new lease starts: an entry cut off by the shutdown would need repair by hand). Handing the
 * payload (personal data) to an agent is a reference, so it is audited.
 */
export async function claimForAgent(
  db: Knex,
  agent: AgentCall,
  settings: QueueSettings,
  actor: AuditActor,
  now = new Date(),
): Promise<{ job: Job | null; onBattery: boolean }> {
  await touchAgent(db, agent.name, agent.version, agent.host, null, now);
  if ((await powerStatus(db)).state !== 'online') return { job: null, onBattery: true };
  const job = await claimJob(db, agent.name, settings, now);
  if (!job) return { job: null, onBattery: false };
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
        detail: { scenario: job.scenario, attempt: job.attempts + 1 },
      },
      now,
    ),
  );
  return { job, onBattery: false };
}

/** An agent sends a screenshot or trace of the job it holds; stored under the data directory and audited. */
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
  await db.transaction((trx) =>
    appendAudit(
      trx,
      {
        ...actor,
        action: 'rpa.evidence.store',
        targetKind: 'rpaJob',
        targetIds: [String(jobId)],
        result: 'success',
        detail: { evidence: saved.id, kind, bytes: saved.bytes },
      },
      now,
    ),
  );
  return saved;
}
