import type { Knex } from 'knex';
import type { AuditActor } from '../auth/staffRepo.js';
import { insertReturningId } from '../db/values.js';
import { conflict, DomainError, moveNotAllowed, notFound } from '../errors/domainError.js';
import type { NoticeData, NoticeMemberInput } from '../domain/noticeValidation.js';
import type { NoticeType } from '../domain/procedureTypes.js';

/**
 * The notice aggregate (届出: `notices` and its `notice_members`). This module is the only
 * writer of those tables; the commands in `notices/commands/` change a notice through it, and
 * other aggregates reach it only through domain events (`domain/events.ts`).
 *
 * 下書き → 受付済 → 審査済 → 入力済 (when every core-system entry of it is made), or 取消.
 */
export const noticeStatuses = ['draft', 'accepted', 'reviewed', 'entered', 'cancelled'] as const;
export type NoticeStatus = (typeof noticeStatuses)[number];
export const noticeStatusLabels: Readonly<Record<NoticeStatus, string>> = {
  draft: '下書き',
  accepted: '受付済',
  reviewed: '審査済',
  entered: '入力済',
  cancelled: '取消',
};

export const noticeMoves = ['edit', 'accept', 'review', 'reopen', 'enter', 'cancel'] as const;
export type NoticeMove = (typeof noticeMoves)[number];
export const noticeMoveLabels: Readonly<Record<NoticeMove, string>> = {
  edit: '変更',
  accept: '受付',
  review: '審査済',
  reopen: '差し戻し',
  enter: '入力済',
  cancel: '取消',
};

/** The moves allowed from each status (001 L-41): the one table of the notice's life. */
export const allowedNoticeMoves = {
  draft: ['edit', 'accept', 'cancel'],
  accepted: ['review', 'cancel'],
  reviewed: ['reopen', 'enter'],
  entered: [],
  cancelled: [],
} as const satisfies Record<NoticeStatus, readonly NoticeMove[]>;

/** Where each move leads. */
export const noticeMoveTarget: Readonly<Record<NoticeMove, NoticeStatus>> = {
  edit: 'draft',
  accept: 'accepted',
  review: 'reviewed',
  reopen: 'accepted',
  enter: 'entered',
  cancel: 'cancelled',
};

/** Throws 409 naming the allowed moves when `move` is not allowed from `from`. */
export function assertNoticeMove(from: NoticeStatus, move: NoticeMove): NoticeStatus {
  const allowed: readonly NoticeMove[] = allowedNoticeMoves[from];
  if (!allowed.includes(move))
    throw moveNotAllowed(
      '届出',
      noticeStatusLabels[from],
      noticeMoveLabels[move],
      allowed.map((m) => noticeMoveLabels[m]),
    );
  return noticeMoveTarget[move];
}

/** The staff member behind an actor: notices are handled by staff, never by a client terminal. */
export function staffOf(actor: AuditActor): number {
  if (actor.staffId === null || actor.staffId === undefined) throw new DomainError('auth.staffOnly');
  return actor.staffId;
}

export interface NoticeState {
  id: number;
  visitId: number;
  status: NoticeStatus;
  acceptedBy: number | null;
}

/** The notice's state for a change, or 404. */
export async function noticeState(trx: Knex.Transaction, id: number): Promise<NoticeState> {
  const r = (await trx('notices').where({ id }).first('id', 'visit_id', 'status', 'accepted_by')) as
    { id: number; visit_id: number; status: NoticeStatus; accepted_by: number | null } | undefined;
  if (!r) throw notFound('届出');
  return {
    id: Number(r.id),
    visitId: Number(r.visit_id),
    status: r.status,
    acceptedBy: r.accepted_by === null || r.accepted_by === undefined ? null : Number(r.accepted_by),
  };
}

export interface DraftValues {
  type: NoticeType;
  effectiveDate: string | null;
  householdNo: string | null;
  data: NoticeData;
  members: NoticeMemberInput[];
}

async function writeMembers(trx: Knex.Transaction, noticeId: number, members: readonly NoticeMemberInput[]): Promise<void> {
  await trx('notice_members').where({ notice_id: noticeId }).del();
  for (const m of members) {
    await trx('notice_members').insert({
      notice_id: noticeId,
      addressee_no: m.addresseeNo,
      name: m.name,
      name_kana: m.nameKana,
      birth_date: m.birthDate,
      sex: m.sex,
      relationship: m.relationship,
      moving: m.moving,
      head: m.head,
      event: m.event,
    });
  }
}

const draftColumns = (d: DraftValues, staffId: number, now: Date) => ({
  notice_type: d.type,
  effective_date: d.effectiveDate,
  household_no: d.householdNo,
  data: JSON.stringify(d.data),
  updated_by: staffId,
  updated_at: now,
});

/** A new notice, as a draft of the visit. */
export async function insertDraft(
  trx: Knex.Transaction,
  visitId: number,
  d: DraftValues,
  reportedDate: string,
  staffId: number,
  now: Date,
): Promise<number> {
  const id = await insertReturningId(trx, 'notices', {
    ...draftColumns(d, staffId, now),
    visit_id: visitId,
    status: 'draft',
    reported_date: reportedDate,
    created_by: staffId,
    created_at: now,
  });
  await writeMembers(trx, id, d.members);
  return id;
}

/** Replaces a draft's content (the `edit` move: only a draft changes). */
export async function updateDraft(
  trx: Knex.Transaction,
  id: number,
  visitId: number,
  d: DraftValues,
  staffId: number,
  now: Date,
): Promise<void> {
  const n = await noticeState(trx, id);
  if (n.visitId !== visitId) throw notFound('届出');
  assertNoticeMove(n.status, 'edit');
  await trx('notices')
    .where({ id, status: 'draft' })
    .update(draftColumns(d, staffId, now));
  await writeMembers(trx, id, d.members);
}

/** What a move records besides the status (who and when). */
export interface MoveRecord {
  staffId: number | null;
  lateWarning?: string | null;
}

/**
 * Applies a move checked against the table, from the status the caller read in this
 * transaction (the update is conditional on it, so a concurrent change cannot be overwritten).
 */
export async function applyNoticeMove(
  trx: Knex.Transaction,
  n: NoticeState,
  move: NoticeMove,
  record: MoveRecord,
  now: Date,
): Promise<NoticeStatus> {
  const to = assertNoticeMove(n.status, move);
  const values: Record<string, unknown> = {
    status: to,
    updated_at: now,
    ...(record.staffId !== null ? { updated_by: record.staffId } : {}),
  };
  if (move === 'accept') Object.assign(values, { accepted_by: record.staffId, accepted_at: now, late_warning: record.lateWarning ?? null });
  if (move === 'review') Object.assign(values, { reviewed_by: record.staffId, reviewed_at: now });
  if (move === 'reopen') Object.assign(values, { reviewed_by: null, reviewed_at: null });
  if (move === 'enter') Object.assign(values, { entered_at: now });
  const changed = await trx('notices').where({ id: n.id, status: n.status }).update(values);
  if (!changed) throw conflict('この届出は同時に別の操作で変更されました。画面を開き直してください');
  return to;
}
