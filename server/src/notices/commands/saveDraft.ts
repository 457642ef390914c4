import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { todayInJapan } from '../../domain/japanTime.js';
import { requireVisitMove } from '../../visits/visit.js';
import { insertDraft, staffOf, updateDraft, type DraftValues } from '../notice.js';

export interface SaveDraftInput {
  visitId: number;
  /** null: a new notice of the visit. */
  noticeId: number | null;
  draft: DraftValues;
}

/**
 * Saves a notice as a draft (every change is kept as staff go: 001 K-37). Several notices, for
 * several households, may belong to one visit; a closed visit takes no new notice and an
 * accepted notice no change (409 naming what is allowed). Returns the notice's id.
 */
export async function saveDraft(db: Knex, input: SaveDraftInput, actor: AuditActor, now = new Date()): Promise<number> {
  const staffId = staffOf(actor);
  const { visitId, noticeId, draft } = input;
  return db.transaction(async (trx) => {
    await requireVisitMove(trx, visitId, 'edit');
    const id =
      noticeId === null
        ? await insertDraft(trx, visitId, draft, todayInJapan(now), staffId, now)
        : (await updateDraft(trx, noticeId, visitId, draft, staffId, now), noticeId);
    await appendAudit(
      trx,
      {
        ...actor,
        action: noticeId === null ? 'notice.create' : 'notice.update',
        targetKind: 'notice',
        targetIds: [String(id), ...draft.members.flatMap((m) => (m.addresseeNo ? [m.addresseeNo] : []))],
        result: 'success',
        detail: { visit: visitId, type: draft.type },
      },
      now,
    );
    return id;
  });
}
