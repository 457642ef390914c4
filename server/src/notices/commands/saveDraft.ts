import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import type { AuditActor } from '../../auth/staffRepo.js';
import { todayInJapan } from '../../domain/japanTime.js';
import { restoreShownGaiji } from '../../domain/text.js';
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
  const { visitId, noticeId } = input;
  return db.transaction(async (trx) => {
    await requireVisitMove(trx, visitId, 'edit');
    // A registered person's name as the form showed it (〓 for an unmapped 外字) is their registered name.
    const draft = {
      ...input.draft,
      members: await Promise.all(
        input.draft.members.map(async (m) => {
          if (!m.addresseeNo) return m;
          const r = (await trx('residents').where({ addressee_no: m.addresseeNo }).first('name')) as { name: string } | undefined;
          return { ...m, name: restoreShownGaiji(m.name, r?.name) };
        }),
      ),
    };
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
