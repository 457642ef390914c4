import type { Knex } from 'knex';
import { appendAudit } from '../audit/trail.js';
import type { AuditActor } from '../auth/staffRepo.js';
import { dbDate } from '../db/values.js';
import { todayInJapan } from '../domain/dates.js';
import { validateNotice, type FieldError, type NoticeData, type NoticeMemberInput } from '../domain/noticeValidation.js';
import type { NoticeType } from '../domain/procedureTypes.js';
import { releaseAfterReview } from '../rpa/jobs.js';

/** 下書き → 受付済 → 審査済 → 入力済 (the last set by the RPA agents), or 取消. */
export const noticeStatuses = ['draft', 'accepted', 'reviewed', 'entered', 'cancelled'] as const;
export type NoticeStatus = (typeof noticeStatuses)[number];
export const noticeStatusLabels: Readonly<Record<NoticeStatus, string>> = {
  draft: '下書き',
  accepted: '受付済',
  reviewed: '審査済',
  entered: '入力済',
  cancelled: '取消',
};

export interface Notice {
  id: number;
  visitId: number;
  type: NoticeType;
  status: NoticeStatus;
  effectiveDate: string | null;
  reportedDate: string;
  householdNo: string | null;
  data: NoticeData;
  lateWarning: string | null;
  members: NoticeMemberInput[];
  createdAt: Date;
  updatedAt: Date;
  acceptedAt: Date | null;
  acceptedBy: number | null;
  reviewedAt: Date | null;
  reviewedBy: number | null;
  enteredAt: Date | null;
  enteredRef: string | null;
}

export interface NoticeDraft {
  type: NoticeType;
  effectiveDate: string | null;
  householdNo: string | null;
  data: NoticeData;
  members: NoticeMemberInput[];
}

const fail = (status: number, message: string) => Object.assign(new Error(message), { status, expose: true });

export class NoticeValidationError extends Error {
  readonly status = 400;
  readonly expose = true;
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => e.message).join('。'));
  }
}

async function membersOf(db: Knex, noticeId: number): Promise<NoticeMemberInput[]> {
  const rows = (await db('notice_members').where({ notice_id: noticeId }).orderBy('id')) as Record<string, unknown>[];
  const s = (v: unknown) => (v === null || v === undefined || v === '' ? null : String(v));
  return rows.map((r) => ({
    addresseeNo: s(r.addressee_no),
    name: String(r.name),
    nameKana: s(r.name_kana),
    birthDate: s(r.birth_date),
    sex: s(r.sex),
    relationship: s(r.relationship),
    moving: Boolean(r.moving),
    head: Boolean(r.head),
    event: Boolean(r.event),
  }));
}

function toNotice(r: Record<string, unknown>, members: NoticeMemberInput[]): Notice {
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: Number(r.id),
    visitId: Number(r.visit_id),
    type: r.notice_type as NoticeType,
    status: r.status as NoticeStatus,
    effectiveDate: (r.effective_date as string | null) ?? null,
    reportedDate: String(r.reported_date),
    householdNo: (r.household_no as string | null) ?? null,
    data: JSON.parse(String(r.data)) as NoticeData,
    lateWarning: (r.late_warning as string | null) ?? null,
    members,
    createdAt: dbDate(r.created_at)!,
    updatedAt: dbDate(r.updated_at)!,
    acceptedAt: dbDate(r.accepted_at),
    acceptedBy: n(r.accepted_by),
    reviewedAt: dbDate(r.reviewed_at),
    reviewedBy: n(r.reviewed_by),
    enteredAt: dbDate(r.entered_at),
    enteredRef: (r.entered_ref as string | null) ?? null,
  };
}

export async function getNotice(db: Knex, id: number): Promise<Notice | null> {
  const r = (await db('notices').where({ id }).first()) as Record<string, unknown> | undefined;
  return r ? toNotice(r, await membersOf(db, id)) : null;
}

export async function noticesOfVisit(db: Knex, visitId: number): Promise<Notice[]> {
  const rows = (await db('notices').where({ visit_id: visitId }).orderBy('id')) as Record<string, unknown>[];
  return Promise.all(rows.map(async (r) => toNotice(r, await membersOf(db, Number(r.id)))));
}

async function writeMembers(trx: Knex.Transaction, noticeId: number, members: NoticeMemberInput[]): Promise<void> {
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

/**
 * Saves a notice as a draft (every change is kept as staff go: 001 K-37). Several notices, for
 * several households, may belong to one visit. A closed visit takes no new notice.
 */
export async function saveDraft(
  db: Knex,
  visitId: number,
  noticeId: number | null,
  d: NoticeDraft,
  staffId: number,
  actor: AuditActor,
  now = new Date(),
): Promise<number> {
  return db.transaction(async (trx) => {
    const visit = (await trx('visits').where({ id: visitId }).first('status')) as { status: string } | undefined;
    if (!visit) throw fail(404, '指定された来庁記録はありません');
    if (visit.status === 'closed') throw fail(409, 'この来庁記録は完了しています');
    const values = {
      notice_type: d.type,
      effective_date: d.effectiveDate,
      household_no: d.householdNo,
      data: JSON.stringify(d.data),
      updated_by: staffId,
      updated_at: now,
    };
    let id = noticeId;
    if (id === null) {
      const [row] = await trx('notices')
        .insert({ ...values, visit_id: visitId, status: 'draft', reported_date: todayInJapan(now), created_by: staffId, created_at: now })
        .returning('id');
      id = typeof row === 'object' ? (row as { id: number }).id : Number(row);
    } else {
      const n = await trx('notices').where({ id, visit_id: visitId, status: 'draft' }).update(values);
      if (!n) throw fail(409, '受付済の届出は変更できません (取り消してから作り直してください)');
    }
    await writeMembers(trx, id, d.members);
    await appendAudit(
      trx,
      {
        ...actor,
        action: noticeId === null ? 'notice.create' : 'notice.update',
        targetKind: 'notice',
        targetIds: [String(id), ...d.members.flatMap((m) => (m.addresseeNo ? [m.addresseeNo] : []))],
        result: 'success',
        detail: { visit: visitId, type: d.type },
      },
      now,
    );
    return id;
  });
}

/**
 * Accepts a draft: validates it (errors block, lateness only warns) and moves it to 受付済.
 * `onAccepted` runs in the same transaction (the derived procedure list is written there).
 */
export async function acceptNotice(
  db: Knex,
  id: number,
  staffId: number,
  deadlineDays: Readonly<Partial<Record<NoticeType, number>>>,
  actor: AuditActor,
  onAccepted?: (trx: Knex.Transaction, n: Notice) => Promise<void>,
  now = new Date(),
): Promise<Notice> {
  await db.transaction(async (trx) => {
    const r = (await trx('notices').where({ id }).first()) as Record<string, unknown> | undefined;
    if (!r) throw fail(404, '指定された届出はありません');
    if (r.status !== 'draft') throw fail(409, `この届出は「${noticeStatusLabels[r.status as NoticeStatus]}」です`);
    const n = toNotice(r, await membersOf(trx, id));
    const v = validateNotice(
      {
        type: n.type,
        effectiveDate: n.effectiveDate,
        reportedDate: n.reportedDate,
        householdNo: n.householdNo,
        data: n.data,
        members: n.members,
      },
      deadlineDays,
    );
    if (v.errors.length) throw new NoticeValidationError(v.errors);
    await trx('notices').where({ id }).update({
      status: 'accepted',
      accepted_by: staffId,
      accepted_at: now,
      late_warning: v.lateWarning,
      updated_by: staffId,
      updated_at: now,
    });
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'notice.accept',
        targetKind: 'notice',
        targetIds: [String(id), ...n.members.flatMap((m) => (m.addresseeNo ? [m.addresseeNo] : []))],
        result: 'success',
        detail: { type: n.type, late: v.lateWarning !== null },
      },
      now,
    );
    if (onAccepted) await onAccepted(trx, { ...n, status: 'accepted', lateWarning: v.lateWarning });
  });
  return (await getNotice(db, id))!;
}

const REVIEW_MOVES: Record<'review' | 'enter' | 'cancel' | 'reopen', { from: NoticeStatus[]; to: NoticeStatus }> = {
  review: { from: ['accepted'], to: 'reviewed' },
  enter: { from: ['reviewed'], to: 'entered' },
  cancel: { from: ['draft', 'accepted'], to: 'cancelled' },
  reopen: { from: ['reviewed'], to: 'accepted' },
};

/**
 * Review (001 L-41): 受付済 → 審査済 (a second member of staff: the one who accepted may not
 * review their own notice), 審査済 → 入力済 (RPA, with the core system's reference), 審査済 →
 * 受付済 (sent back), 取消 before review. Who and when are recorded.
 */
export async function moveNotice(
  db: Knex,
  id: number,
  move: keyof typeof REVIEW_MOVES,
  staffId: number | null,
  actor: AuditActor,
  extra: { enteredRef?: string; reason?: string } = {},
  now = new Date(),
): Promise<Notice> {
  await db.transaction(async (trx) => {
    const r = (await trx('notices').where({ id }).first('status', 'accepted_by')) as
      { status: NoticeStatus; accepted_by: number | null } | undefined;
    if (!r) throw fail(404, '指定された届出はありません');
    const t = REVIEW_MOVES[move];
    if (!t.from.includes(r.status)) throw fail(409, `この届出は「${noticeStatusLabels[r.status]}」のため、その操作はできません`);
    if (move === 'review' && staffId !== null && Number(r.accepted_by) === staffId)
      throw fail(403, '自分で受け付けた届出は審査できません (別の職員が審査します)');
    if (move === 'enter' && !extra.enteredRef) throw fail(400, '基幹系システムの処理番号を指定してください');
    const values: Record<string, unknown> = { status: t.to, updated_at: now, ...(staffId !== null ? { updated_by: staffId } : {}) };
    if (move === 'review') Object.assign(values, { reviewed_by: staffId, reviewed_at: now });
    if (move === 'reopen') Object.assign(values, { reviewed_by: null, reviewed_at: null });
    if (move === 'enter') Object.assign(values, { entered_at: now, entered_ref: extra.enteredRef });
    await trx('notices').where({ id }).update(values);
    // The core system takes only reviewed notices: the review opens the RPA job, a send-back closes it.
    if (move === 'review' || move === 'reopen') await releaseAfterReview(trx, id, move === 'review', now);
    if (move === 'cancel')
      await trx('rpa_jobs')
        .where({ notice_id: id })
        .whereIn('status', ['queued', 'needsAttention'])
        .update({ status: 'cancelled', finished_at: now, updated_at: now });
    await appendAudit(
      trx,
      {
        ...actor,
        action: `notice.${move}`,
        targetKind: 'notice',
        targetIds: [String(id)],
        result: 'success',
        detail: {
          from: r.status,
          to: t.to,
          ...(extra.reason ? { reason: extra.reason.slice(0, 200) } : {}),
          ...(extra.enteredRef ? { ref: extra.enteredRef } : {}),
        },
      },
      now,
    );
  });
  return (await getNotice(db, id))!;
}

export interface WorkItem {
  id: number;
  visitId: number;
  visitNo: string;
  type: NoticeType;
  status: NoticeStatus;
  effectiveDate: string | null;
  acceptedAt: Date | null;
  acceptedByName: string | null;
  lateWarning: string | null;
  members: number;
}

/** The review work list, filtered by status, type and period of acceptance. */
export async function workList(
  db: Knex,
  f: { status?: NoticeStatus; type?: NoticeType; from?: string; to?: string; limit?: number },
): Promise<WorkItem[]> {
  let q = db('notices')
    .join('visits', 'visits.id', 'notices.visit_id')
    .leftJoin('staff', 'staff.id', 'notices.accepted_by')
    .whereNot('notices.status', 'draft');
  if (f.status) q = q.where('notices.status', f.status);
  if (f.type) q = q.where('notices.notice_type', f.type);
  if (f.from) q = q.where('notices.accepted_at', '>=', new Date(Date.parse(`${f.from}T00:00:00+09:00`)));
  if (f.to) q = q.where('notices.accepted_at', '<', new Date(Date.parse(`${f.to}T00:00:00+09:00`) + 86_400_000));
  const rows = (await q
    .orderBy('notices.accepted_at', 'asc')
    .limit(f.limit ?? 200)
    .select(
      'notices.id',
      'notices.visit_id',
      'visits.visit_no',
      'notices.notice_type',
      'notices.status',
      'notices.effective_date',
      'notices.accepted_at',
      'notices.late_warning',
      'staff.display_name',
      db('notice_members').count('*').where('notice_members.notice_id', db.ref('notices.id')).as('members'),
    )) as Record<string, unknown>[];
  return rows.map((r) => ({
    id: Number(r.id),
    visitId: Number(r.visit_id),
    visitNo: String(r.visit_no),
    type: r.notice_type as NoticeType,
    status: r.status as NoticeStatus,
    effectiveDate: (r.effective_date as string | null) ?? null,
    acceptedAt: dbDate(r.accepted_at),
    acceptedByName: (r.display_name as string | null) ?? null,
    lateWarning: (r.late_warning as string | null) ?? null,
    members: Number(r.members),
  }));
}
