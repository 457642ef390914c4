import type { Knex } from 'knex';
import { dbBool, dbDate } from '../db/values.js';
import type { VisitStatus } from './visit.js';
import type { VisitorFields } from './commands/saveVisitor.js';

/** The visit read model: a visit with its visitor and subjects, the active visits, a visit's memos. */
export interface VisitSubject {
  id: number;
  addresseeNo: string | null;
  manualName: string | null;
  manualKana: string | null;
  manualBirthDate: string | null;
  manualAddress: string | null;
  addedAt: Date;
}

export interface Visit extends VisitorFields {
  id: number;
  visitNo: string;
  status: VisitStatus;
  channel: string;
  counterId: string | null;
  openedBy: number;
  openedByName: string;
  openedAt: Date;
  closedAt: Date | null;
  updatedAt: Date;
  identityCheckedAt: Date | null;
  subjects: VisitSubject[];
}

export async function getVisit(knex: Knex, id: number): Promise<Visit | null> {
  const r = (await knex('visits')
    .join('staff', 'staff.id', 'visits.opened_by')
    .where('visits.id', id)
    .first('visits.*', 'staff.display_name as opened_by_name')) as Record<string, unknown> | undefined;
  if (!r) return null;
  const subjects = (await knex('visit_subjects').where({ visit_id: id }).orderBy('id')) as Record<string, unknown>[];
  const s = (v: unknown) => (v === null || v === undefined || v === '' ? null : String(v));
  return {
    id: Number(r.id),
    visitNo: String(r.visit_no),
    status: r.status as VisitStatus,
    channel: String(r.channel),
    counterId: s(r.counter_id),
    openedBy: Number(r.opened_by),
    openedByName: String(r.opened_by_name),
    openedAt: dbDate(r.opened_at)!,
    closedAt: dbDate(r.closed_at),
    updatedAt: dbDate(r.updated_at)!,
    identityCheckedAt: dbDate(r.identity_checked_at),
    visitorRole: (s(r.visitor_role) ?? 'subject') as VisitorFields['visitorRole'],
    identityDocument: s(r.identity_document),
    identityDocumentNote: s(r.identity_document_note),
    visitorAddresseeNo: s(r.visitor_addressee_no),
    visitorName: s(r.visitor_name),
    visitorKana: s(r.visitor_kana),
    visitorBirthDate: s(r.visitor_birth_date),
    visitorSex: s(r.visitor_sex),
    visitorAddress: s(r.visitor_address),
    visitorPhone: s(r.visitor_phone),
    proxyRelationship: s(r.proxy_relationship),
    proxyPowerOfAttorney: dbBool(r.proxy_power_of_attorney),
    proxyDocument: s(r.proxy_document),
    identityCard: s(r.identity_card),
    subjects: subjects.map((x) => ({
      id: Number(x.id),
      addresseeNo: s(x.addressee_no),
      manualName: s(x.manual_name),
      manualKana: s(x.manual_kana),
      manualBirthDate: s(x.manual_birth_date),
      manualAddress: s(x.manual_address),
      addedAt: dbDate(x.added_at)!,
    })),
  };
}

export interface VisitSummary {
  id: number;
  visitNo: string;
  status: VisitStatus;
  counterId: string | null;
  openedAt: Date;
  openedByName: string;
  subjects: number;
  /** Who the visit is for: its subjects (register or typed), then the movers of its notices. */
  persons: string[];
}

/** Open and paused visits, newest first: the home page's work list. */
export async function listActiveVisits(knex: Knex, limit = 50): Promise<VisitSummary[]> {
  const rows = (await knex('visits')
    .join('staff', 'staff.id', 'visits.opened_by')
    .whereIn('visits.status', ['open', 'paused'])
    .orderBy('visits.opened_at', 'desc')
    .limit(limit)
    .select(
      'visits.id',
      'visits.visit_no',
      'visits.status',
      'visits.counter_id',
      'visits.opened_at',
      'staff.display_name',
      knex('visit_subjects').count('*').where('visit_subjects.visit_id', knex.ref('visits.id')).as('subjects'),
    )) as Record<string, unknown>[];
  const persons = await personsOfVisits(
    knex,
    rows.map((r) => Number(r.id)),
  );
  return rows.map((r) => ({
    id: Number(r.id),
    visitNo: String(r.visit_no),
    status: r.status as VisitStatus,
    counterId: (r.counter_id as string | null) ?? null,
    openedAt: dbDate(r.opened_at)!,
    openedByName: String(r.display_name),
    subjects: Number(r.subjects),
    persons: persons.get(Number(r.id)) ?? [],
  }));
}

/** The names of each visit's persons: subjects first, then the movers of its notices (a 転入 has no subject). */
async function personsOfVisits(knex: Knex, ids: readonly number[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  if (!ids.length) return out;
  const add = (id: number, name: string | null | undefined) => {
    if (!name) return;
    const list = out.get(id) ?? [];
    if (!list.includes(name)) list.push(name);
    out.set(id, list);
  };
  const subjects = (await knex('visit_subjects')
    .leftJoin('residents', 'residents.addressee_no', 'visit_subjects.addressee_no')
    .whereIn('visit_subjects.visit_id', ids)
    .orderBy('visit_subjects.id')
    .select('visit_subjects.visit_id', 'residents.name', 'visit_subjects.manual_name')) as {
    visit_id: number;
    name: string | null;
    manual_name: string | null;
  }[];
  for (const x of subjects) add(Number(x.visit_id), x.name ?? x.manual_name);
  const movers = (await knex('notice_members')
    .join('notices', 'notices.id', 'notice_members.notice_id')
    .whereIn('notices.visit_id', ids)
    .whereNot('notices.status', 'cancelled')
    .where('notice_members.moving', true)
    .orderBy('notice_members.id')
    .select('notices.visit_id', 'notice_members.name')) as { visit_id: number; name: string }[];
  for (const m of movers) add(Number(m.visit_id), m.name);
  return out;
}

export interface VisitMemo {
  body: string;
  createdAt: Date | null;
  createdByName: string;
}

/** The memos of a visit, oldest first, with who wrote them. */
export async function visitMemos(knex: Knex, visitId: number): Promise<VisitMemo[]> {
  const rows = (await knex('visit_memos')
    .join('staff', 'staff.id', 'visit_memos.created_by')
    .where({ visit_id: visitId })
    .orderBy('visit_memos.id')
    .select('visit_memos.body', 'visit_memos.created_at', 'staff.display_name')) as {
    body: string;
    created_at: unknown;
    display_name: string;
  }[];
  return rows.map((m) => ({ body: m.body, createdAt: dbDate(m.created_at), createdByName: m.display_name }));
}
