import type { Knex } from 'knex';
import { appendAudit } from '../audit/trail.js';
import type { AuditActor } from '../auth/staffRepo.js';
import { dbBool, dbDate } from '../db/values.js';
import { invalidInput, moveNotAllowed, notFound } from '../errors/domainError.js';
import type { EntitlementKind } from '../domain/codes.js';
import { derive, questionsToAsk } from '../domain/navigation.js';
import type { NavigationInput, ProcedureDefinition, Question } from '../domain/procedureTypes.js';
import type { Notice } from './queries.js';
import type { NoticeMemberInput } from '../domain/noticeValidation.js';

/*
 * The visit procedures aggregate (関連手続き: `visit_procedures`, and the answers they are derived
 * from in `visit_answers`). This module is the only writer of those tables; its exported
 * functions are the commands (the notice's acceptance calls `writeDerived` in its transaction).
 */

/** 未処理 / 申請書印刷済 / 受付済 / 他課案内済 (E-22). */
export const procedureStatuses = ['pending', 'printed', 'accepted', 'referred'] as const;
export type ProcedureStatus = (typeof procedureStatuses)[number];
export const procedureStatusLabels: Readonly<Record<ProcedureStatus, string>> = {
  pending: '未処理',
  printed: '申請書印刷済',
  accepted: '受付済',
  referred: '他課案内済',
};

/**
 * The status moves staff may make (the list's select offers every status: a procedure printed by
 * mistake goes back to 未処理). Printing a form moves only 未処理 → 申請書印刷済.
 */
export const allowedProcedureMoves = {
  pending: ['printed', 'accepted', 'referred'],
  printed: ['pending', 'accepted', 'referred'],
  accepted: ['pending', 'printed', 'referred'],
  referred: ['pending', 'printed', 'accepted'],
} as const satisfies Record<ProcedureStatus, readonly ProcedureStatus[]>;

/** Throws 409 naming the allowed statuses when `from` → `to` is not a move (staying put is no move and allowed). */
export function assertProcedureMove(from: ProcedureStatus, to: ProcedureStatus): void {
  const allowed: readonly ProcedureStatus[] = allowedProcedureMoves[from];
  if (from !== to && !allowed.includes(to))
    throw moveNotAllowed(
      '手続き',
      procedureStatusLabels[from],
      procedureStatusLabels[to],
      allowed.map((m) => procedureStatusLabels[m]),
    );
}

export interface VisitProcedure {
  id: number;
  noticeId: number | null;
  procedureId: string;
  members: string[];
  reasons: string[];
  source: 'rule' | 'added' | 'manual';
  status: ProcedureStatus;
  deadline: string | null;
  removed: boolean;
  reason: string | null;
  updatedAt: Date;
}

export async function visitProcedures(db: Knex, visitId: number): Promise<VisitProcedure[]> {
  const rows = (await db('visit_procedures').where({ visit_id: visitId }).orderBy('id')) as Record<string, unknown>[];
  return rows.map((r) => ({
    id: Number(r.id),
    noticeId: r.notice_id === null || r.notice_id === undefined ? null : Number(r.notice_id),
    procedureId: String(r.procedure_id),
    members: JSON.parse(String(r.members)) as string[],
    reasons: JSON.parse(String(r.reasons)) as string[],
    source: r.source as VisitProcedure['source'],
    status: r.status as ProcedureStatus,
    deadline: (r.deadline as string | null) ?? null,
    removed: dbBool(r.removed),
    reason: (r.reason as string | null) ?? null,
    updatedAt: dbDate(r.updated_at)!,
  }));
}

export async function visitAnswers(db: Knex, visitId: number): Promise<Record<string, boolean | string>> {
  const rows = (await db('visit_answers').where({ visit_id: visitId })) as { question_id: string; value: string }[];
  return Object.fromEntries(rows.map((r) => [r.question_id, r.value === 'true' ? true : r.value === 'false' ? false : r.value]));
}

/**
 * The key of a notice's member in the navigation (visit_procedures.members): the 宛名番号, or
 * `new-N` (N from 1, the member's place in the notice) for a person not yet in the register.
 */
export const noticeMemberKey = (m: Pick<NoticeMemberInput, 'addresseeNo'>, i: number): string => m.addresseeNo ?? `new-${i + 1}`;

/** What the engine needs about a notice: members with ages and entitlements, and the household's. */
export async function navigationInput(db: Knex, n: Notice, answers: Record<string, boolean | string>): Promise<NavigationInput> {
  const nos = n.members.flatMap((m) => (m.addresseeNo ? [m.addresseeNo] : []));
  const householdNos = n.householdNo
    ? ((await db('residents').where({ household_no: n.householdNo, resident_status: '1' }).pluck('addressee_no')) as string[])
    : [];
  const ents = (await db('entitlements')
    .whereIn('addressee_no', [...new Set([...nos, ...householdNos])])
    .whereNull('lost_date')
    .select('addressee_no', 'kind')) as { addressee_no: string; kind: EntitlementKind }[];
  const holds = (no: string | null) => [...new Set(ents.filter((e) => e.addressee_no === no).map((e) => e.kind))];
  return {
    noticeType: n.type,
    effectiveDate: n.effectiveDate ?? n.reportedDate,
    members: n.members.map((m, i) => ({
      key: noticeMemberKey(m, i),
      birthDate: m.birthDate,
      moving: m.moving,
      head: m.head,
      event: m.event,
      holds: holds(m.addresseeNo),
    })),
    householdHolds: [...new Set(ents.map((e) => e.kind))],
    answers,
  };
}

/**
 * Writes the derived procedure list of an accepted notice (E-20). Procedures already on the
 * visit keep their status; ones staff removed by hand stay removed; manual ones stay.
 */
export async function writeDerived(
  trx: Knex.Transaction,
  visitId: number,
  n: Notice,
  catalog: readonly ProcedureDefinition[],
  on: string,
  staffId: number,
  now = new Date(),
): Promise<number> {
  const input = await navigationInput(trx, n, await visitAnswers(trx, visitId));
  const derived = derive([...catalog], input, { on });
  const existing = (await trx('visit_procedures').where({ visit_id: visitId }).select('id', 'procedure_id')) as {
    id: number;
    procedure_id: string;
  }[];
  let added = 0;
  // A rule-derived procedure that no longer applies (an answer changed) leaves the list while
  // nothing was done with it yet; one already printed or accepted stays for staff to decide.
  const stale = (await trx('visit_procedures')
    .where({ visit_id: visitId, notice_id: n.id, status: 'pending', removed: false })
    .whereIn('source', ['rule', 'added'])
    .select('id', 'procedure_id')) as { id: number; procedure_id: string }[];
  for (const r of stale) {
    if (!derived.some((d) => d.procedureId === r.procedure_id))
      await trx('visit_procedures')
        .where({ id: r.id })
        .update({ removed: true, reason: '回答などの変更で条件に当てはまらなくなりました', updated_by: staffId, updated_at: now });
  }
  for (const d of derived) {
    const row = existing.find((e) => e.procedure_id === d.procedureId);
    // The members are keys of this notice (`new-N` is a place in it): the row names the notice with them.
    const values = {
      notice_id: n.id,
      members: JSON.stringify(d.members),
      reasons: JSON.stringify(d.reasons),
      deadline: d.deadline ?? null,
      updated_by: staffId,
      updated_at: now,
    };
    if (row) {
      const prev = (await trx('visit_procedures').where({ id: row.id }).first('removed', 'reason')) as {
        removed: unknown;
        reason: string | null;
      };
      // Back in the list when it applies again, unless staff removed it by hand.
      const autoRemoved = dbBool(prev.removed) && prev.reason === '回答などの変更で条件に当てはまらなくなりました';
      await trx('visit_procedures')
        .where({ id: row.id })
        .update({ ...values, ...(autoRemoved ? { removed: false, reason: null } : {}) });
    } else {
      await trx('visit_procedures').insert({
        ...values,
        visit_id: visitId,
        procedure_id: d.procedureId,
        source: d.source,
        status: 'pending',
      });
      added++;
    }
  }
  return added;
}

/** The questions to ask now (F-24): of the listed procedures, and those whose answer could add one. */
export async function openQuestions(
  db: Knex,
  visitId: number,
  notices: readonly Notice[],
  catalog: readonly ProcedureDefinition[],
  on: string,
): Promise<Question[]> {
  const answers = await visitAnswers(db, visitId);
  const seen = new Set<string>();
  const out: Question[] = [];
  for (const n of notices.filter((x) => x.status !== 'cancelled')) {
    for (const q of questionsToAsk([...catalog], await navigationInput(db, n, answers), on)) {
      if (seen.has(q.id)) continue;
      seen.add(q.id);
      out.push(q);
    }
  }
  return out;
}

/** Stores answers and re-derives the list of every accepted notice of the visit, in one transaction. */
export async function saveAnswers(
  db: Knex,
  visitId: number,
  answers: Record<string, string>,
  questions: readonly Question[],
  catalog: readonly ProcedureDefinition[],
  on: string,
  staffId: number,
  actor: AuditActor,
  accepted: readonly Notice[],
  now = new Date(),
): Promise<void> {
  await db.transaction(async (trx) => {
    for (const q of questions) {
      const raw = answers[q.id];
      if (raw === undefined) continue;
      if (raw === '') {
        // Cleared on the page (a wrong 口座番号 erased): the old answer is not printed any more.
        await trx('visit_answers').where({ visit_id: visitId, question_id: q.id }).del();
        continue;
      }
      if (q.type === 'yesNo' && raw !== 'true' && raw !== 'false') throw invalidInput(`「${q.text}」は はい か いいえ で答えてください`);
      if (q.type === 'choice' && !(q.choices ?? []).includes(raw)) throw invalidInput(`「${q.text}」の選択肢にない答えです`);
      await trx('visit_answers').where({ visit_id: visitId, question_id: q.id }).del();
      await trx('visit_answers').insert({
        visit_id: visitId,
        question_id: q.id,
        value: raw.slice(0, 200),
        answered_by: staffId,
        answered_at: now,
      });
    }
    for (const n of accepted) await writeDerived(trx, visitId, n, catalog, on, staffId, now);
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'visit.answers',
        targetKind: 'visit',
        targetIds: [String(visitId)],
        result: 'success',
        detail: { questions: Object.keys(answers).filter((k) => answers[k] !== '') },
      },
      now,
    );
  });
}

/** Changes a procedure's status, or removes / restores it with a reason (by hand, E-20). */
export async function updateProcedure(
  db: Knex,
  visitId: number,
  rowId: number,
  change: { status?: ProcedureStatus; removed?: boolean; reason?: string },
  staffId: number,
  actor: AuditActor,
  now = new Date(),
): Promise<void> {
  if (change.removed !== undefined && !change.reason?.trim()) throw invalidInput('手続きを外す・戻す理由を入力してください');
  await db.transaction(async (trx) => {
    const row = (await trx('visit_procedures').where({ id: rowId, visit_id: visitId }).first('status')) as
      { status: ProcedureStatus } | undefined;
    if (!row) throw notFound('手続き');
    if (change.status) assertProcedureMove(row.status, change.status);
    const values: Record<string, unknown> = { updated_by: staffId, updated_at: now };
    if (change.status) values.status = change.status;
    if (change.removed !== undefined) Object.assign(values, { removed: change.removed, reason: change.reason!.trim().slice(0, 200) });
    await trx('visit_procedures').where({ id: rowId, visit_id: visitId }).update(values);
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'visit.procedure',
        targetKind: 'visit',
        targetIds: [String(visitId)],
        result: 'success',
        detail: { row: rowId, ...change },
      },
      now,
    );
  });
}

/** Adds a procedure by hand with a reason (one the rules did not derive). */
export async function addManualProcedure(
  db: Knex,
  visitId: number,
  procedureId: string,
  reason: string,
  catalog: readonly ProcedureDefinition[],
  staffId: number,
  actor: AuditActor,
  now = new Date(),
): Promise<void> {
  if (!catalog.some((p) => p.id === procedureId)) throw invalidInput('手続きの種類が正しくありません');
  if (!reason.trim()) throw invalidInput('手続きを追加する理由を入力してください');
  await db.transaction(async (trx) => {
    const existing = (await trx('visit_procedures').where({ visit_id: visitId, procedure_id: procedureId }).first('id')) as
      { id: number } | undefined;
    if (existing)
      await trx('visit_procedures')
        .where({ id: existing.id })
        .update({ removed: false, reason: reason.trim().slice(0, 200), updated_by: staffId, updated_at: now });
    else
      await trx('visit_procedures').insert({
        visit_id: visitId,
        notice_id: null,
        procedure_id: procedureId,
        members: '[]',
        reasons: JSON.stringify([`手で追加: ${reason.trim().slice(0, 100)}`]),
        source: 'manual',
        status: 'pending',
        reason: reason.trim().slice(0, 200),
        updated_by: staffId,
        updated_at: now,
      });
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'visit.procedureAdd',
        targetKind: 'visit',
        targetIds: [String(visitId)],
        result: 'success',
        detail: { procedure: procedureId },
      },
      now,
    );
  });
}

/**
 * A procedure's forms were printed (G-26): 未処理 becomes 申請書印刷済; one already further along
 * keeps its status. Not audited here: the print itself is (print.form).
 */
export async function markProcedurePrinted(
  db: Knex,
  visitId: number,
  rowId: number,
  staffId: number | null,
  now = new Date(),
): Promise<void> {
  await db('visit_procedures')
    .where({ id: rowId, visit_id: visitId, status: 'pending' })
    .update({ status: 'printed', updated_at: now, updated_by: staffId });
}

/** A procedure of a visit, as far as naming its persons goes. */
export interface ProcedureRowRef {
  id: number;
  visitId: number;
  noticeId: number | null;
  members: readonly string[];
}

/**
 * The names of the persons each procedure concerns (its navigation keys read back through its
 * notice: `new-N` is the N-th member of the notice, a 宛名番号 the member or the register's
 * person), by row id, in the procedure's order. One query per table for any number of rows.
 */
export async function personsOfProcedures(db: Knex, rows: readonly ProcedureRowRef[]): Promise<Map<number, string[]>> {
  const out = new Map<number, string[]>();
  if (!rows.length) return out;
  const visitIds = [...new Set(rows.map((r) => r.visitId))];
  const notices = (await db('notices')
    .whereIn('visit_id', visitIds)
    .whereNotIn('status', ['draft', 'cancelled'])
    .orderBy('id')
    .select('id', 'visit_id')) as { id: number; visit_id: number }[];
  const members = notices.length
    ? ((await db('notice_members')
        .whereIn(
          'notice_id',
          notices.map((n) => n.id),
        )
        .orderBy('id')
        .select('notice_id', 'addressee_no', 'name')) as { notice_id: number; addressee_no: string | null; name: string }[])
    : [];
  const byNotice = new Map<number, Map<string, string>>();
  for (const n of notices) byNotice.set(Number(n.id), new Map());
  const seen = new Map<number, number>();
  for (const m of members) {
    const id = Number(m.notice_id);
    const i = seen.get(id) ?? 0;
    seen.set(id, i + 1);
    byNotice.get(id)!.set(noticeMemberKey({ addresseeNo: m.addressee_no }, i), m.name);
  }
  const firstOfVisit = new Map<number, number>();
  for (const n of notices) if (!firstOfVisit.has(Number(n.visit_id))) firstOfVisit.set(Number(n.visit_id), Number(n.id));
  const registered = [...new Set(rows.flatMap((r) => r.members.filter((k) => !k.startsWith('new-'))))];
  const names = new Map(
    registered.length
      ? (
          (await db('residents').whereIn('addressee_no', registered).select('addressee_no', 'name')) as {
            addressee_no: string;
            name: string;
          }[]
        ).map((r) => [r.addressee_no, r.name] as const)
      : [],
  );
  for (const r of rows) {
    const notice = byNotice.get(r.noticeId ?? firstOfVisit.get(r.visitId) ?? -1);
    out.set(
      r.id,
      r.members.flatMap((k) => {
        const name = notice?.get(k) ?? names.get(k);
        return name ? [name] : [];
      }),
    );
  }
  return out;
}
