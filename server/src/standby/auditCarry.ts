import type { Knex } from 'knex';
import { appendAudit, fromRow } from '../audit/trail.js';

/**
 * Appends audit records written elsewhere (the standby's own trail, a verification environment)
 * to the trail of `trx`, each re-chained there and marked with when it was first recorded under
 * `stampKey`. The other trail's own chain records (`audit.*`) stay behind. Returns how many went.
 */
export async function carryAuditRows(
  trx: Knex.Transaction,
  rows: readonly Record<string, unknown>[],
  stampKey: 'recordedOnStandbyAt' | 'recordedInVerifyEnvAt',
): Promise<number> {
  let carried = 0;
  for (const row of rows) {
    const r = fromRow(row);
    if (r.action.startsWith('audit.')) continue;
    await appendAudit(trx, {
      staffLogin: r.staffLogin,
      clientAddress: r.clientAddress,
      action: r.action,
      targetKind: r.targetKind,
      targetIds: r.targetIds,
      result: r.result as 'success' | 'denied',
      detail: { ...(r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : {}), [stampKey]: r.recordedAt },
    });
    carried += 1;
  }
  return carried;
}
