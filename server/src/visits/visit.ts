import type { Knex } from 'knex';
import { insertReturningId } from '../db/values.js';
import { moveNotAllowed, notFound } from '../errors/domainError.js';

/**
 * The visit aggregate (来庁: `visits`, the people it is about in `visit_subjects`, the identity
 * check held on the visit row, and its memos in `visit_memos`). This module is the only writer of
 * those tables; the commands in `visits/commands/` change a visit through it.
 *
 * 対応中 ⇄ 保留中 (the visitor goes to another section, and is resumed at a counter) → 完了.
 */
export const visitStatuses = ['open', 'paused', 'closed'] as const;
export type VisitStatus = (typeof visitStatuses)[number];
export const statusLabels: Record<VisitStatus, string> = { open: '対応中', paused: '保留中', closed: '完了' };

/** `edit`: any change to the visit's content (visitor, subjects, memos, notices and requests taken in it). */
export const visitMoves = ['edit', 'pause', 'resume', 'close'] as const;
export type VisitMove = (typeof visitMoves)[number];
export const visitMoveLabels: Readonly<Record<VisitMove, string>> = { edit: '変更', pause: '保留', resume: '再開', close: '完了' };

/** The moves allowed from each status: the one table of the visit's life. */
export const allowedVisitMoves = {
  open: ['edit', 'pause', 'resume', 'close'],
  paused: ['edit', 'resume', 'close'],
  closed: [],
} as const satisfies Record<VisitStatus, readonly VisitMove[]>;

export const visitMoveTarget: Readonly<Record<Exclude<VisitMove, 'edit'>, VisitStatus>> = {
  pause: 'paused',
  resume: 'open',
  close: 'closed',
};

/** Throws 409 naming the allowed moves when `move` is not allowed from `from`. */
export function assertVisitMove(from: VisitStatus, move: VisitMove): void {
  const allowed: readonly VisitMove[] = allowedVisitMoves[from];
  if (!allowed.includes(move))
    throw moveNotAllowed(
      '来庁記録',
      statusLabels[from],
      visitMoveLabels[move],
      allowed.map((m) => visitMoveLabels[m]),
    );
}

/**
 * The visit's status, checked for `move` (404 when there is no such visit). Other aggregates call
 * this to ask whether the visit takes a change (a notice or a certificate request of a closed
 * visit is refused) without writing the visit.
 */
export async function requireVisitMove(trx: Knex.Transaction, id: number, move: VisitMove): Promise<VisitStatus> {
  const row = (await trx('visits').where({ id }).first('status')) as { status: VisitStatus } | undefined;
  if (!row) throw notFound('来庁記録');
  assertVisitMove(row.status, move);
  return row.status;
}

/** Records who changed the visit last (and `extra` columns), after checking that it takes a change. */
export async function touchVisit(
  trx: Knex.Transaction,
  id: number,
  staffId: number,
  now: Date,
  extra: Record<string, unknown> = {},
): Promise<void> {
  await requireVisitMove(trx, id, 'edit');
  await trx('visits')
    .where({ id })
    .update({ updated_by: staffId, updated_at: now, ...extra });
}

/** Applies a status move checked against the table. */
export async function applyVisitMove(
  trx: Knex.Transaction,
  id: number,
  move: Exclude<VisitMove, 'edit'>,
  staffId: number,
  counterId: string | null,
  now: Date,
): Promise<{ from: VisitStatus; to: VisitStatus }> {
  const from = await requireVisitMove(trx, id, move);
  const to = visitMoveTarget[move];
  await trx('visits')
    .where({ id, status: from })
    .update({
      status: to,
      updated_by: staffId,
      updated_at: now,
      ...(move === 'close' ? { closed_at: now } : {}),
      ...(move === 'resume' ? { counter_id: counterId } : {}),
    });
  return { from, to };
}

/** A new visit row (its number is chosen by the caller). */
export async function insertVisit(
  trx: Knex.Transaction,
  v: { visitNo: string; channel: string; counterId: string | null; staffId: number },
  now: Date,
): Promise<number> {
  return insertReturningId(trx, 'visits', {
    visit_no: v.visitNo,
    status: 'open',
    channel: v.channel,
    counter_id: v.counterId,
    opened_by: v.staffId,
    opened_at: now,
    updated_by: v.staffId,
    updated_at: now,
  });
}

export type NewSubject =
  { addresseeNo: string } | { manualName: string; manualKana: string | null; manualBirthDate: string | null; manualAddress: string | null };

/** Adds a subject once (a registered person already on the visit is not added again). */
export async function insertSubject(
  trx: Knex.Transaction,
  visitId: number,
  subject: NewSubject,
  staffId: number,
  now: Date,
): Promise<void> {
  if ('addresseeNo' in subject) {
    const already = await trx('visit_subjects').where({ visit_id: visitId, addressee_no: subject.addresseeNo }).first('id');
    if (!already)
      await trx('visit_subjects').insert({ visit_id: visitId, addressee_no: subject.addresseeNo, added_by: staffId, added_at: now });
    return;
  }
  await trx('visit_subjects').insert({
    visit_id: visitId,
    manual_name: subject.manualName,
    manual_kana: subject.manualKana,
    manual_birth_date: subject.manualBirthDate,
    manual_address: subject.manualAddress,
    added_by: staffId,
    added_at: now,
  });
}

export async function insertMemo(
  trx: Knex.Transaction,
  visitId: number,
  memo: { body: string; templateId: string | null },
  staffId: number,
  now: Date,
): Promise<number> {
  return insertReturningId(trx, 'visit_memos', {
    visit_id: visitId,
    body: memo.body.slice(0, 2000),
    template_id: memo.templateId,
    created_by: staffId,
    created_at: now,
  });
}
