import type { Knex } from 'knex';
import { dbBool, dbDate } from '../db/values.js';
import { japanDayBounds } from '../domain/japanTime.js';
import type { NoticeData, NoticeMemberInput } from '../domain/noticeValidation.js';
import type { NoticeType } from '../domain/procedureTypes.js';
import { noticeStatuses, noticeStatusLabels, type DraftValues, type NoticeStatus } from './notice.js';

/**
 * The notice read model: a notice with its members and its core-system numbers, the notices of
 * a visit, the review work list. Reads any table; writes none (the notice aggregate is
 * `notice.ts`, its commands are in `commands/`).
 */
export { noticeStatuses, noticeStatusLabels, type NoticeStatus };

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
  /** 基幹系処理番号: the core system's number of each entry made, from the notice's RPA jobs (in entry order). */
  coreRefs: string[];
}

export type NoticeDraft = DraftValues;

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
    moving: dbBool(r.moving),
    head: dbBool(r.head),
    event: dbBool(r.event),
  }));
}

function toNotice(r: Record<string, unknown>, members: NoticeMemberInput[], coreRefs: string[]): Notice {
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
    coreRefs,
  };
}

/**
 * The core-system numbers (基幹系処理番号) of notices, derived from their succeeded RPA jobs in
 * entry order (`manual` for an entry made by hand). Never copied into a column of the notice, so
 * none is ever cut: the notices CSV and the notice record both read them here.
 */
export async function coreRefsOfNotices(db: Knex, noticeIds: readonly number[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>(noticeIds.map((id) => [id, []]));
  for (let i = 0; i < noticeIds.length; i += 500) {
    const rows = (await db('rpa_jobs')
      .whereIn('notice_id', noticeIds.slice(i, i + 500))
      .where({ status: 'succeeded' })
      .whereNotNull('core_ref')
      .orderBy('id')
      .select('notice_id', 'core_ref')) as { notice_id: number; core_ref: string }[];
    for (const r of rows) out.get(Number(r.notice_id))?.push(String(r.core_ref));
  }
  return out;
}

export async function getNotice(db: Knex, id: number): Promise<Notice | null> {
  const r = (await db('notices').where({ id }).first()) as Record<string, unknown> | undefined;
  return r ? toNotice(r, await membersOf(db, id), (await coreRefsOfNotices(db, [id])).get(id)!) : null;
}

export async function noticesOfVisit(db: Knex, visitId: number): Promise<Notice[]> {
  const rows = (await db('notices').where({ visit_id: visitId }).orderBy('id')) as Record<string, unknown>[];
  const refs = await coreRefsOfNotices(
    db,
    rows.map((r) => Number(r.id)),
  );
  return Promise.all(rows.map(async (r) => toNotice(r, await membersOf(db, Number(r.id)), refs.get(Number(r.id))!)));
}

/** The register members (宛名番号) of notices, for the protection decision. */
export async function memberNosOf(db: Knex, noticeIds: readonly number[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  for (let i = 0; i < noticeIds.length; i += 500) {
    const rows = (await db('notice_members')
      .whereIn('notice_id', noticeIds.slice(i, i + 500))
      .whereNotNull('addressee_no')
      .select('notice_id', 'addressee_no')) as { notice_id: number; addressee_no: string }[];
    for (const r of rows) out.set(Number(r.notice_id), [...(out.get(Number(r.notice_id)) ?? []), String(r.addressee_no)]);
  }
  return out;
}

/** What the protection decision reads of the notices of some visits (the work lists' warnings). */
export async function noticeSubjectsOfVisits(
  db: Knex,
  visitIds: readonly number[],
): Promise<{ visitId: number; noticeId: number; householdNo: string | null; data: NoticeData; memberNos: string[] }[]> {
  const out: { visitId: number; noticeId: number; householdNo: string | null; data: NoticeData; memberNos: string[] }[] = [];
  for (let i = 0; i < visitIds.length; i += 500) {
    const rows = (await db('notices')
      .whereIn('visit_id', visitIds.slice(i, i + 500))
      .whereNot('status', 'cancelled')
      .select('id', 'visit_id', 'household_no', 'data')) as { id: number; visit_id: number; household_no: string | null; data: string }[];
    const members = await memberNosOf(
      db,
      rows.map((r) => Number(r.id)),
    );
    for (const r of rows)
      out.push({
        visitId: Number(r.visit_id),
        noticeId: Number(r.id),
        householdNo: r.household_no ?? null,
        data: JSON.parse(String(r.data)) as NoticeData,
        memberNos: members.get(Number(r.id)) ?? [],
      });
  }
  return out;
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
  /** What the protection decision reads (`residents/protection.ts`): never shown as such. */
  householdNo: string | null;
  data: NoticeData;
  memberNos: string[];
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
  if (f.from) q = q.where('notices.accepted_at', '>=', japanDayBounds(f.from).from);
  if (f.to) q = q.where('notices.accepted_at', '<', japanDayBounds(f.to).to);
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
      'notices.household_no',
      'notices.data',
      db('notice_members').count('*').where('notice_members.notice_id', db.ref('notices.id')).as('members'),
    )) as Record<string, unknown>[];
  const memberNos = await memberNosOf(
    db,
    rows.map((r) => Number(r.id)),
  );
  return rows.map((r) => ({
    householdNo: (r.household_no as string | null) ?? null,
    data: JSON.parse(String(r.data)) as NoticeData,
    memberNos: memberNos.get(Number(r.id)) ?? [],
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
