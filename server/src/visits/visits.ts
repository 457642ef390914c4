import type { Knex } from 'knex';
import { appendAudit } from '../audit/trail.js';
import type { AuditActor } from '../auth/staffRepo.js';
import { dbDate } from '../db/values.js';
import { todayInJapan } from '../domain/dates.js';

export type VisitStatus = 'open' | 'paused' | 'closed';

export interface VisitorFields {
  visitorRole: 'subject' | 'proxy' | 'household';
  identityDocument: string | null;
  identityDocumentNote: string | null;
  visitorAddresseeNo: string | null;
  visitorName: string | null;
  visitorKana: string | null;
  visitorBirthDate: string | null;
  visitorSex: string | null;
  visitorAddress: string | null;
  visitorPhone: string | null;
  proxyRelationship: string | null;
  proxyPowerOfAttorney: boolean;
  proxyDocument: string | null;
}

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

const COLUMN: Record<keyof VisitorFields, string> = {
  visitorRole: 'visitor_role',
  identityDocument: 'identity_document',
  identityDocumentNote: 'identity_document_note',
  visitorAddresseeNo: 'visitor_addressee_no',
  visitorName: 'visitor_name',
  visitorKana: 'visitor_kana',
  visitorBirthDate: 'visitor_birth_date',
  visitorSex: 'visitor_sex',
  visitorAddress: 'visitor_address',
  visitorPhone: 'visitor_phone',
  proxyRelationship: 'proxy_relationship',
  proxyPowerOfAttorney: 'proxy_power_of_attorney',
  proxyDocument: 'proxy_document',
};

const notFound = () => Object.assign(new Error('指定された来庁記録はありません'), { status: 404, expose: true });

/** Opens a visit: its number is the Japanese date and a running number of that day (20261202-0007). */
export async function openVisit(
  knex: Knex,
  staffId: number,
  counterId: string | null,
  actor: AuditActor,
  channel: 'counter' | 'post' | 'exOfficio' = 'counter',
  now = new Date(),
): Promise<Visit> {
  const id = await knex.transaction(async (trx) => {
    const day = todayInJapan(now).replaceAll('-', '');
    const last = (await trx('visits').where('visit_no', 'like', `${day}-%`).max({ m: 'visit_no' }).first()) as
      { m: string | null } | undefined;
    const next = last?.m ? Number(last.m.slice(9)) + 1 : 1;
    const [row] = await trx('visits')
      .insert({
        visit_no: `${day}-${String(next).padStart(4, '0')}`,
        status: 'open',
        channel,
        counter_id: counterId,
        opened_by: staffId,
        opened_at: now,
        updated_by: staffId,
        updated_at: now,
      })
      .returning('id');
    const visitId = typeof row === 'object' ? (row as { id: number }).id : Number(row);
    await appendAudit(
      trx,
      { ...actor, action: 'visit.open', targetKind: 'visit', targetIds: [String(visitId)], result: 'success', detail: { channel } },
      now,
    );
    return visitId;
  });
  return (await getVisit(knex, id))!;
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
    proxyPowerOfAttorney: Boolean(r.proxy_power_of_attorney),
    proxyDocument: s(r.proxy_document),
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

async function touch(trx: Knex.Transaction, id: number, staffId: number, now: Date, extra: Record<string, unknown> = {}): Promise<void> {
  const n = await trx('visits')
    .where({ id })
    .whereNot({ status: 'closed' })
    .update({ updated_by: staffId, updated_at: now, ...extra });
  if (!n) {
    const exists = await trx('visits').where({ id }).first('id');
    throw exists
      ? Object.assign(new Error('この来庁記録は完了しています。変更するには新しい来庁を開いてください'), { status: 409, expose: true })
      : notFound();
  }
}

/** Saves the identity check and the visitor's data as checked or corrected on screen (C-10..12). */
export async function saveVisitor(
  knex: Knex,
  id: number,
  staffId: number,
  fields: VisitorFields,
  actor: AuditActor,
  now = new Date(),
): Promise<void> {
  await knex.transaction(async (trx) => {
    const values: Record<string, unknown> = {};
    for (const [k, col] of Object.entries(COLUMN)) values[col] = fields[k as keyof VisitorFields];
    values.identity_checked_at = fields.identityDocument ? now : null;
    await touch(trx, id, staffId, now, values);
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'visit.identity',
        targetKind: 'visit',
        targetIds: [String(id), ...(fields.visitorAddresseeNo ? [fields.visitorAddresseeNo] : [])],
        result: 'success',
        detail: { document: fields.identityDocument, role: fields.visitorRole },
      },
      now,
    );
  });
}

export type NewSubject =
  { addresseeNo: string } | { manualName: string; manualKana: string | null; manualBirthDate: string | null; manualAddress: string | null };

/** Adds a person the visit is about: from the register, or typed by hand when not in it (D-13, 14). */
export async function addSubject(
  knex: Knex,
  id: number,
  staffId: number,
  subject: NewSubject,
  actor: AuditActor,
  now = new Date(),
): Promise<void> {
  await knex.transaction(async (trx) => {
    await touch(trx, id, staffId, now);
    if ('addresseeNo' in subject) {
      if (!(await trx('residents').where({ addressee_no: subject.addresseeNo }).first('id')))
        throw Object.assign(new Error('指定された宛名番号の住民はいません'), { status: 400, expose: true });
      const already = await trx('visit_subjects').where({ visit_id: id, addressee_no: subject.addresseeNo }).first('id');
      if (!already)
        await trx('visit_subjects').insert({ visit_id: id, addressee_no: subject.addresseeNo, added_by: staffId, added_at: now });
    } else {
      await trx('visit_subjects').insert({
        visit_id: id,
        manual_name: subject.manualName,
        manual_kana: subject.manualKana,
        manual_birth_date: subject.manualBirthDate,
        manual_address: subject.manualAddress,
        added_by: staffId,
        added_at: now,
      });
    }
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'visit.subjectAdd',
        targetKind: 'visit',
        targetIds: [String(id), ...('addresseeNo' in subject ? [subject.addresseeNo] : [])],
        result: 'success',
        detail: { manual: !('addresseeNo' in subject) },
      },
      now,
    );
  });
}

const TRANSITIONS: Record<'pause' | 'resume' | 'close', { from: VisitStatus[]; to: VisitStatus }> = {
  pause: { from: ['open'], to: 'paused' },
  resume: { from: ['paused', 'open'], to: 'open' },
  close: { from: ['open', 'paused'], to: 'closed' },
};

/**
 * Pauses a visit (the visitor goes to another section), resumes it at this counter (the visit
 * moves here), or closes it. Every change records the member of staff.
 */
export async function changeVisitStatus(
  knex: Knex,
  id: number,
  staffId: number,
  change: keyof typeof TRANSITIONS,
  counterId: string | null,
  actor: AuditActor,
  now = new Date(),
): Promise<void> {
  await knex.transaction(async (trx) => {
    const row = (await trx('visits').where({ id }).first('status')) as { status: VisitStatus } | undefined;
    if (!row) throw notFound();
    const t = TRANSITIONS[change];
    if (!t.from.includes(row.status))
      throw Object.assign(new Error(`この来庁記録は「${statusLabels[row.status]}」のため、その操作はできません`), {
        status: 409,
        expose: true,
      });
    await trx('visits')
      .where({ id })
      .update({
        status: t.to,
        updated_by: staffId,
        updated_at: now,
        ...(change === 'close' ? { closed_at: now } : {}),
        ...(change === 'resume' ? { counter_id: counterId } : {}),
      });
    await appendAudit(trx, { ...actor, action: `visit.${change}`, targetKind: 'visit', targetIds: [String(id)], result: 'success' }, now);
  });
}

export const statusLabels: Record<VisitStatus, string> = { open: '対応中', paused: '保留中', closed: '完了' };

export interface VisitSummary {
  id: number;
  visitNo: string;
  status: VisitStatus;
  counterId: string | null;
  openedAt: Date;
  openedByName: string;
  subjects: number;
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
  return rows.map((r) => ({
    id: Number(r.id),
    visitNo: String(r.visit_no),
    status: r.status as VisitStatus,
    counterId: (r.counter_id as string | null) ?? null,
    openedAt: dbDate(r.opened_at)!,
    openedByName: String(r.display_name),
    subjects: Number(r.subjects),
  }));
}
