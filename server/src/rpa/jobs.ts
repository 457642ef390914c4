import type { Knex } from 'knex';
import { appendAudit } from '../audit/trail.js';
import type { AuditActor } from '../auth/staffRepo.js';
import { dialectOf } from '../db/dialects/index.js';
import { dbDate } from '../db/values.js';
import type { Notice } from '../notices/notices.js';

/**
 * queued → leased → succeeded, or back to queued (application error, retried with backoff; lease
 * expired), or needsAttention (business error, retries spent: staff retry or mark done by hand),
 * or cancelled. The idempotency key makes one notice one job, however often it is enqueued.
 */
export const jobStatuses = ['queued', 'leased', 'succeeded', 'needsAttention', 'cancelled'] as const;
export type JobStatus = (typeof jobStatuses)[number];
export const jobStatusLabels: Readonly<Record<JobStatus, string>> = { queued: '待ち', leased: '入力中', succeeded: '完了', needsAttention: '要対応', cancelled: '取消' };

export interface Job {
  id: number;
  idempotencyKey: string;
  noticeId: number | null;
  scenario: string;
  householdNo: string | null;
  payload: Record<string, unknown>;
  status: JobStatus;
  awaitingReview: boolean;
  blockedBy: number | null;
  attempts: number;
  maxAttempts: number;
  availableAt: Date;
  leasedBy: string | null;
  leaseExpiresAt: Date | null;
  coreRef: string | null;
  errorKind: string | null;
  errorMessage: string | null;
  resolution: string | null;
  createdAt: Date;
  finishedAt: Date | null;
}

export interface QueueSettings {
  leaseSeconds: number;
  maxAttempts: number;
  /** First retry after this many seconds, doubling each time. */
  backoffSeconds: number;
}

export const defaultQueueSettings: QueueSettings = { leaseSeconds: 120, maxAttempts: 3, backoffSeconds: 60 };

const fail = (status: number, message: string) => Object.assign(new Error(message), { status, expose: true });

export function toJob(r: Record<string, unknown>): Job {
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const s = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    id: Number(r.id), idempotencyKey: String(r.idempotency_key), noticeId: n(r.notice_id), scenario: String(r.scenario), householdNo: s(r.household_no),
    payload: JSON.parse(String(r.payload)) as Record<string, unknown>, status: r.status as JobStatus, awaitingReview: Boolean(r.awaiting_review), blockedBy: n(r.blocked_by),
    attempts: Number(r.attempts), maxAttempts: Number(r.max_attempts), availableAt: dbDate(r.available_at)!, leasedBy: s(r.leased_by), leaseExpiresAt: dbDate(r.lease_expires_at),
    coreRef: s(r.core_ref), errorKind: s(r.error_kind), errorMessage: s(r.error_message), resolution: s(r.resolution), createdAt: dbDate(r.created_at)!, finishedAt: dbDate(r.finished_at),
  };
}

/** What the agent types: the notice without anything it does not need (never a My Number). */
export function noticePayload(n: Notice): Record<string, unknown> {
  return {
    reference: `MDG-${n.id}`, type: n.type, effectiveDate: n.effectiveDate, reportedDate: n.reportedDate, householdNo: n.householdNo, data: n.data,
    members: n.members.map((m) => ({ addresseeNo: m.addresseeNo, name: m.name, nameKana: m.nameKana, birthDate: m.birthDate, sex: m.sex, relationship: m.relationship, moving: m.moving, head: m.head, event: m.event })),
  };
}

/**
 * Enqueues the core-system entry of an accepted notice (inside the accepting transaction). Jobs of
 * one household run in order: each waits for the one before it. A job waits for the review too.
 */
export async function enqueueNotice(trx: Knex.Transaction, n: Notice, settings: QueueSettings, now = new Date()): Promise<number | null> {
  const key = `notice:${n.id}`;
  const existing = (await trx('rpa_jobs').where({ idempotency_key: key }).first('id')) as { id: number } | undefined;
  if (existing) return Number(existing.id);
  const before = n.householdNo
    ? ((await trx('rpa_jobs').where({ household_no: n.householdNo }).whereNotIn('status', ['succeeded', 'cancelled']).orderBy('id', 'desc').first('id')) as { id: number } | undefined)
    : undefined;
  const [row] = await trx('rpa_jobs').insert({
    idempotency_key: key, notice_id: n.id, scenario: n.type, household_no: n.householdNo, payload: JSON.stringify(noticePayload(n)), status: 'queued', awaiting_review: true,
    blocked_by: before ? Number(before.id) : null, attempts: 0, max_attempts: settings.maxAttempts, available_at: now, created_at: now, updated_at: now,
  }).returning('id');
  return typeof row === 'object' ? (row as { id: number }).id : Number(row);
}

/** The review opens the job to the agents (the core system takes only reviewed notices). */
export async function releaseAfterReview(trx: Knex.Transaction, noticeId: number, reviewed: boolean, now = new Date()): Promise<void> {
  await trx('rpa_jobs').where({ notice_id: noticeId, status: 'queued' }).update({ awaiting_review: !reviewed, updated_at: now });
}

/** Leases that ran out (an agent died or lost the network) go back to the queue. */
export async function requeueExpired(db: Knex, now = new Date()): Promise<number> {
  return db('rpa_jobs').where({ status: 'leased' }).andWhere('lease_expires_at', '<', now).update({ status: 'queued', leased_by: null, lease_expires_at: null, updated_at: now });
}

/**
 * Gives the next ready job to an agent, or null: one atomic UPDATE … RETURNING (SQLite) or
 * UPDLOCK/READPAST (SQL Server), so two agents never get the same job.
 */
export async function claimJob(db: Knex, agent: string, settings: QueueSettings, now = new Date()): Promise<Job | null> {
  await requeueExpired(db, now);
  const q = dialectOf(db).claimQuery(db, 'rpa_jobs', { status: 'queued', awaiting_review: false }, ['available_at', 'id'], { status: 'leased', leased_by: agent, lease_expires_at: new Date(now.getTime() + settings.leaseSeconds * 1000), last_heartbeat_at: now, updated_at: now }, { sql: 'available_at <= ? AND blocked_by IS NULL', bindings: [now] });
  const res = (await q) as unknown;
  const rows = (Array.isArray(res) ? res : ((res as { rows?: unknown[] }).rows ?? [])) as Record<string, unknown>[];
  return rows[0] ? toJob(rows[0]) : null;
}

async function leased(trx: Knex.Transaction, id: number, agent: string): Promise<Record<string, unknown>> {
  const r = (await trx('rpa_jobs').where({ id }).first()) as Record<string, unknown> | undefined;
  if (!r) throw fail(404, '指定されたジョブはありません');
  if (r.status !== 'leased' || r.leased_by !== agent) throw fail(409, 'このジョブの貸出はもう有効ではありません (期限切れで別の端末に渡った可能性があります)');
  return r;
}

export async function heartbeat(db: Knex, id: number, agent: string, settings: QueueSettings, now = new Date()): Promise<Date> {
  const until = new Date(now.getTime() + settings.leaseSeconds * 1000);
  await db.transaction(async (trx) => {
    await leased(trx, id, agent);
    await trx('rpa_jobs').where({ id }).update({ lease_expires_at: until, last_heartbeat_at: now, updated_at: now });
  });
  return until;
}

/** The entry is in the core system: the job succeeds, the notice becomes 入力済, the next job of the household is unblocked. */
export async function succeedJob(db: Knex, id: number, agent: string, coreRef: string, actor: AuditActor, now = new Date()): Promise<void> {
  if (!coreRef.trim()) throw fail(400, '基幹系システムの処理番号を指定してください');
  await db.transaction(async (trx) => {
    const r = await leased(trx, id, agent);
    await trx('rpa_jobs').where({ id }).update({ status: 'succeeded', core_ref: coreRef.slice(0, 64), leased_by: null, lease_expires_at: null, finished_at: now, updated_at: now, error_kind: null, error_message: null });
    await trx('rpa_jobs').where({ blocked_by: id }).update({ blocked_by: null, updated_at: now });
    if (r.notice_id) await trx('notices').where({ id: r.notice_id, status: 'reviewed' }).update({ status: 'entered', entered_at: now, entered_ref: coreRef.slice(0, 64), updated_at: now });
    await appendAudit(trx, { ...actor, action: 'rpa.succeeded', targetKind: 'rpaJob', targetIds: [String(id), ...(r.notice_id ? [`notice:${String(r.notice_id)}`] : [])], result: 'success', detail: { coreRef, attempt: Number(r.attempts) + 1 } }, now);
  });
}

/**
 * A failed run. An application error (the core system was slow, a click got lost) is retried with
 * backoff until the attempts are spent; a business error (the core system refused the data) goes
 * to staff at once.
 */
export async function failJob(db: Knex, id: number, agent: string, kind: 'business' | 'application', message: string, settings: QueueSettings, actor: AuditActor, now = new Date()): Promise<JobStatus> {
  return db.transaction(async (trx) => {
    const r = await leased(trx, id, agent);
    const attempts = Number(r.attempts) + 1;
    const retry = kind === 'application' && attempts < Number(r.max_attempts);
    const status: JobStatus = retry ? 'queued' : 'needsAttention';
    const delay = settings.backoffSeconds * 2 ** (attempts - 1) * 1000;
    await trx('rpa_jobs').where({ id }).update({ status, attempts, leased_by: null, lease_expires_at: null, error_kind: kind, error_message: message.slice(0, 1000), available_at: retry ? new Date(now.getTime() + delay) : r.available_at, updated_at: now });
    await appendAudit(trx, { ...actor, action: 'rpa.failed', targetKind: 'rpaJob', targetIds: [String(id)], result: 'failure', detail: { kind, attempt: attempts, next: status } }, now);
    return status;
  });
}

/** Staff act on a job that needs attention: try again, or record that it was entered by hand. */
export async function resolveJob(db: Knex, id: number, action: 'retry' | 'doneByHand' | 'cancel', reason: string, actor: AuditActor, now = new Date()): Promise<void> {
  if (!reason.trim()) throw fail(400, '理由を入力してください');
  await db.transaction(async (trx) => {
    const r = (await trx('rpa_jobs').where({ id }).first()) as Record<string, unknown> | undefined;
    if (!r) throw fail(404, '指定されたジョブはありません');
    const allowed: Record<typeof action, JobStatus[]> = { retry: ['needsAttention'], doneByHand: ['needsAttention', 'queued'], cancel: ['needsAttention', 'queued'] };
    if (!allowed[action].includes(r.status as JobStatus)) throw fail(409, `このジョブは「${jobStatusLabels[r.status as JobStatus]}」のため、その操作はできません`);
    const values: Record<string, unknown> = { resolution: reason.slice(0, 400), updated_at: now };
    if (action === 'retry') Object.assign(values, { status: 'queued', attempts: 0, available_at: now, error_kind: null, error_message: null });
    if (action === 'doneByHand') Object.assign(values, { status: 'succeeded', core_ref: 'manual', finished_at: now });
    if (action === 'cancel') Object.assign(values, { status: 'cancelled', finished_at: now });
    await trx('rpa_jobs').where({ id }).update(values);
    if (action !== 'retry') await trx('rpa_jobs').where({ blocked_by: id }).update({ blocked_by: null, updated_at: now });
    if (action === 'doneByHand' && r.notice_id) await trx('notices').where({ id: r.notice_id, status: 'reviewed' }).update({ status: 'entered', entered_at: now, entered_ref: 'manual', updated_at: now });
    await appendAudit(trx, { ...actor, action: `rpa.${action}`, targetKind: 'rpaJob', targetIds: [String(id)], result: 'success', detail: { reason: reason.slice(0, 200) } }, now);
  });
}
