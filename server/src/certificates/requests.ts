import type { Knex } from 'knex';
import type { AuditActor } from '../auth/staffRepo.js';
import type { QueueSettings, ScenarioCheck } from '../rpa/jobs.js';
import { saveAcceptedRequest, type RequesterRelation } from './commands/acceptCertificateRequest.js';
import type { PricedRequest } from './fees.js';

/** Certificate requests: the issuance rules and the accepting command live in `commands/acceptCertificateRequest.ts`. */
export {
  acceptCertificateRequest,
  issuanceRefusals,
  requesterRelations,
  type Refusal,
  type RequesterRelation,
} from './commands/acceptCertificateRequest.js';

/**
 * Saves an accepted request without the issuance check (the caller made it).
 * @deprecated use `commands/acceptCertificateRequest.ts`, which checks the issuance rules too.
 */
export async function saveCertificateRequest(
  db: Knex,
  visitId: number,
  priced: PricedRequest,
  relation: RequesterRelation,
  memo: string,
  staffId: number,
  actor: AuditActor,
  rpa?: { settings: QueueSettings; hasScenario: ScenarioCheck },
  now = new Date(),
): Promise<number> {
  return saveAcceptedRequest(db, { visitId, priced, relation, memo }, { ...actor, staffId: actor.staffId ?? staffId }, rpa ?? null, now);
}
