import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { parse as parseYaml } from 'yaml';
import type { AppConfig, ServiceHours } from '../config/appConfig.js';
import type { PricedRequest } from '../certificates/fees.js';
import { appendAudit } from '../audit/trail.js';
import type { AuditActor } from '../auth/staffRepo.js';
import { dialectOf, type JsonFlag } from '../db/dialects/index.js';
import { dbBool, dbDate, insertReturningId } from '../db/values.js';
import { publish, subscribe } from '../domain/events.js';
import { DomainError, invalidInput, moveNotAllowed, notFound } from '../errors/domainError.js';
import type { Notice } from '../notices/queries.js';
import { protection as protectionDecision, type Decision } from '../residents/protection.js';
import type { JobProtection } from './agentApi.js';
import {
  PAYLOAD_VERSION,
  payloadDate,
  personParts,
  REGISTERED_ADDRESS_COLUMNS,
  registeredAddress,
  homeMunicipality,
  typedAddressParts,
  type PayloadAddressV2,
} from './payload.js';

/**
 * The RPA job aggregate (`rpa_jobs`, with the agents' last contact in `rpa_agents`; evidence files
 * are `evidence.ts`). This module is the only writer of those tables, and its exported functions
 * are the job owner's commands. It reacts to notice events (review, send-back, cancel) through
 * `domain/events.ts` and publishes `job.succeeded`, on which the notice owner moves the notice to
 * 入力済; it never writes a notice.
 *
 * queued → leased → succeeded, or back to queued (application error, retried with backoff; lease
 * expired), or needsAttention (business error, retries spent: staff retry or mark done by hand),
 * or cancelled. The idempotency key makes one notice one job, however often it is enqueued.
 */
export const jobStatuses = ['queued', 'leased', 'succeeded', 'needsAttention', 'cancelled'] as const;
export type JobStatus = (typeof jobStatuses)[number];
export const jobStatusLabels: Readonly<Record<JobStatus, string>> = {
  queued: '待ち',
  leased: '入力中',
  succeeded: '完了',
  needsAttention: '要対応',
  cancelled: '取消',
};

export interface Job {
  id: number;
  idempotencyKey: string;
  /** What the agent types into the core system's 受付番号; the idempotency probe searches for it. */
  reference: string | null;
  noticeId: number | null;
  scenario: string;
  householdNo: string | null;
  payload: Record<string, unknown>;
  /**
   * The payload's 支援措置 flag (`payload.protection.supportMeasure`): only an agent whose group
   * holds `resident.viewProtectedAddress` claims the job, and only staff holding that right see its
   * page, error text and evidence. A job queued before the flag existed has none (false).
   */
  protected: boolean;
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
  /** When jobs may be leased (JST); absent = always. */
  serviceHours?: ServiceHours;
  /** The main core system (`rpa.coreSystem`): agents that name none serve it, and jobs made before systems existed. */
  coreSystem?: string;
  /** The other core systems (`rpa.systems`) and their service hours. */
  systems?: Readonly<Record<string, { serviceHours?: ServiceHours }>>;
}

/** The service hours of a core system; undefined when the system is not configured at all. */
export function systemHours(settings: QueueSettings, system: string | undefined): { hours: ServiceHours | undefined } | undefined {
  if (!system || system === (settings.coreSystem ?? system)) return { hours: settings.serviceHours };
  const s = settings.systems?.[system];
  return s ? { hours: s.serviceHours } : undefined;
}

/**
 * Seconds until the core system is open for entries again, or 0 when it is open now. Outside the
 * service hours (the core system's night batch, its maintenance) no job is leased.
 */
export function secondsUntilOpen(hours: ServiceHours | undefined, now: Date): number {
  if (!hours) return 0;
  const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
  const from = minutes(hours.from);
  const to = minutes(hours.to);
  const days = hours.weekdays ?? [0, 1, 2, 3, 4, 5, 6];
  // Japan has no daylight saving time: UTC+9 all year.
  const jst = new Date(now.getTime() + 9 * 3_600_000);
  const open = (day: number, m: number) => days.includes(day) && (from <= to ? m >= from && m < to : m >= from || m < to);
  const day0 = jst.getUTCDay();
  const m0 = jst.getUTCHours() * 60 + jst.getUTCMinutes();
  if (open(day0, m0)) return 0;
  for (let step = 1; step <= 8 * 24 * 60; step++) {
    const m = m0 + step;
    if (open((day0 + Math.floor(m / 1440)) % 7, m % 1440)) return step * 60 - jst.getUTCSeconds();
  }
  return 3600;
}

export const defaultQueueSettings: QueueSettings = { leaseSeconds: 120, maxAttempts: 3, backoffSeconds: 60 };

export const jobMoves = ['claim', 'heartbeat', 'release', 'expire', 'succeed', 'fail', 'retry', 'doneByHand', 'cancel'] as const;
export type JobMove = (typeof jobMoves)[number];
export const jobMoveLabels: Readonly<Record<JobMove, string>> = {
  claim: '貸出',
  heartbeat: '貸出の延長',
  release: '貸出の返却',
  expire: '貸出の期限切れ',
  succeed: '完了',
  fail: '失敗',
  retry: '再実行',
  doneByHand: '手入力済',
  cancel: '取消',
};

/** The moves allowed from each status: the one table of a job's life. */
export const allowedJobMoves = {
  queued: ['claim', 'doneByHand', 'cancel'],
  leased: ['heartbeat', 'release', 'expire', 'succeed', 'fail'],
  needsAttention: ['retry', 'doneByHand', 'cancel'],
  succeeded: [],
  cancelled: [],
} as const satisfies Record<JobStatus, readonly JobMove[]>;

/** Throws 409 naming the allowed moves when `move` is not allowed from `from`. */
export function assertJobMove(from: JobStatus, move: JobMove): void {
  const allowed: readonly JobMove[] = allowedJobMoves[from];
  if (!allowed.includes(move))
    throw moveNotAllowed(
      'ジョブ',
      jobStatusLabels[from],
      jobMoveLabels[move],
      allowed.map((m) => jobMoveLabels[m]),
    );
}

/** Where the flag sits in `rpa_jobs.payload`: the claim query reads it there. */
export const PROTECTION_FLAG: JsonFlag = { column: 'payload', path: '$.protection.supportMeasure' };

/**
 * Whether a payload is flagged. Anything but an absent or `false` value counts as flagged, as in
 * the claim query: a malformed flag keeps the job from ordinary agents rather than handing it out.
 */
export function payloadIsProtected(payload: Record<string, unknown>): boolean {
  const p = payload.protection as { supportMeasure?: unknown } | null | undefined;
  if (p === undefined || p === null) return false;
  return typeof p !== 'object' || (p.supportMeasure !== undefined && p.supportMeasure !== null && p.supportMeasure !== false);
}

/** Why a protected job waits for a dedicated agent (the job list shows it in place of the error). */
export const PROTECTED_JOB_REASON = '支援措置の対象のため、権限のある端末か支援措置担当が入力してください';

export function toJob(r: Record<string, unknown>): Job {
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const s = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const payload = JSON.parse(String(r.payload)) as Record<string, unknown>;
  return {
    id: Number(r.id),
    idempotencyKey: String(r.idempotency_key),
    reference: s(r.reference),
    noticeId: n(r.notice_id),
    scenario: String(r.scenario),
    householdNo: s(r.household_no),
    payload,
    protected: payloadIsProtected(payload),
    status: r.status as JobStatus,
    awaitingReview: dbBool(r.awaiting_review),
    blockedBy: n(r.blocked_by),
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    availableAt: dbDate(r.available_at)!,
    leasedBy: s(r.leased_by),
    leaseExpiresAt: dbDate(r.lease_expires_at),
    coreRef: s(r.core_ref),
    errorKind: s(r.error_kind),
    errorMessage: s(r.error_message),
    resolution: s(r.resolution),
    createdAt: dbDate(r.created_at)!,
    finishedAt: dbDate(r.finished_at),
  };
}

/** The queue's settings from `rpa:` in municipality.yaml. */
export function queueSettingsOf(config: AppConfig): QueueSettings {
  return {
    leaseSeconds: config.rpa.leaseSeconds,
    maxAttempts: config.rpa.maxAttempts,
    backoffSeconds: config.rpa.backoffSeconds,
    ...(config.rpa.serviceHours ? { serviceHours: config.rpa.serviceHours } : {}),
    coreSystem: config.rpa.coreSystem,
    systems: config.rpa.systems ?? {},
  };
}

/**
 * Whether a notice type or certificate type is configured for RPA (a scenario file exists for it),
 * and how its jobs are cut: `per: person` (one job per person the notice changes, the default) or
 * `per: notice` (one job for the notice: the scenario loops over `movers`, so a household's 転入 is
 * one entry in the core system). The agent's scenario check (rpa-agent/src/scenario.ts) validates
 * the file; here only `per` is read.
 */
export interface ScenarioCheck {
  (scenario: string): boolean;
  per?(scenario: string): JobGranularity;
  /** The core system whose folder has the scenario (`rpa.coreSystem` or one of `rpa.systems`). */
  system?(scenario: string): string;
}
export type JobGranularity = 'person' | 'notice';

export function scenarioFolder(configDir: string, coreSystem: string): string {
  return path.join(configDir, 'scenarios', coreSystem);
}

/**
 * Which core system enters a scenario: the one configured system whose folder has it. A scenario
 * in two systems' folders is a configuration error (never guess where an entry goes): the server
 * refuses to start (`checkCoreSystems`), and a job is not made.
 */
export function systemOfScenario(
  configDir: string,
  rpa: { coreSystem: string; systems?: Record<string, unknown> },
  scenario: string,
): string | undefined {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(scenario)) return undefined;
  const found = [rpa.coreSystem, ...Object.keys(rpa.systems ?? {})].filter((s) =>
    existsSync(path.join(scenarioFolder(configDir, s), `${scenario}.yaml`)),
  );
  if (found.length > 1)
    throw new Error(
      `シナリオ ${scenario}.yaml が複数の基幹系のフォルダーにあります (${found.join('・')})。どちらで入力するか 1 つにしてください`,
    );
  return found[0];
}

/** Every configured core system has its folder, and no scenario is in two of them. Problems as sentences. */
export function checkCoreSystems(configDir: string, rpa: { coreSystem: string; systems?: Record<string, unknown> }): string[] {
  const problems: string[] = [];
  const systems = [rpa.coreSystem, ...Object.keys(rpa.systems ?? {})];
  const seen = new Map<string, string>();
  for (const s of systems) {
    const dir = scenarioFolder(configDir, s);
    if (!existsSync(dir)) {
      problems.push(`基幹系 ${s} のシナリオのフォルダー (scenarios/${s}) がありません`);
      continue;
    }
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.yaml') && !n.startsWith('_'))) {
      const other = seen.get(f);
      if (other) problems.push(`シナリオ ${f} が基幹系 ${other} と ${s} の両方のフォルダーにあります`);
      else seen.set(f, s);
    }
  }
  return problems;
}

export function scenarioCheck(configDir: string, rpa: string | { coreSystem: string; systems?: Record<string, unknown> }): ScenarioCheck {
  const systems = typeof rpa === 'string' ? { coreSystem: rpa } : rpa;
  const system = (scenario: string) => systemOfScenario(configDir, systems, scenario);
  const exists = (scenario: string) => system(scenario) !== undefined;
  const fileOf = (scenario: string) => path.join(scenarioFolder(configDir, system(scenario)!), `${scenario}.yaml`);
  return Object.assign(exists, {
    system: (scenario: string) => system(scenario) ?? systems.coreSystem,
    per(scenario: string): JobGranularity {
      if (!exists(scenario)) return 'person';
      const per = (parseYaml(readFileSync(fileOf(scenario), 'utf8')) as { per?: unknown } | null)?.per;
      // The agent refuses any other value (validate); never guess a granularity it would not run.
      if (per !== undefined && per !== 'person' && per !== 'notice')
        throw new Error(`シナリオ ${scenario}.yaml の per は person か notice です (${String(per)})`);
      return per ?? 'person';
    },
  });
}

const memberOf = (m: Notice['members'][number]) => ({
  addresseeNo: m.addresseeNo,
  name: m.name,
  nameKana: m.nameKana,
  birthDate: m.birthDate,
  sex: m.sex,
  relationship: m.relationship,
  moving: m.moving,
  head: m.head,
  event: m.event,
});

/**
 * The core-system entries of a notice: one per person it changes (those moving, born or deceased;
 * every member when none is marked). The core system's screens take one person per entry.
 */
export function noticeEntries(n: Notice): Record<string, unknown>[] {
  const marked = n.members.filter((m) => m.moving || m.event);
  const subjects = marked.length ? marked : n.members;
  const head = n.members.find((m) => m.head) ?? null;
  return subjects.map((m, i) => ({
    version: PAYLOAD_VERSION,
    reference: `MDG-${n.id}-${i + 1}`,
    kind: 'notice',
    type: n.type,
    noticeId: n.id,
    effectiveDate: n.effectiveDate,
    reportedDate: n.reportedDate,
    householdNo: n.householdNo,
    data: n.data,
    subject: memberOf(m),
    head: head ? memberOf(head) : null,
    headName: head?.name ?? m.name,
    members: n.members.map(memberOf),
    movers: subjects.map(memberOf),
  }));
}

/** The 支援措置 flag of a job, from the one protection decision (`residents/protection.ts`). */
const flagOf = (d: Decision): JobProtection => ({ supportMeasure: d.protected });

async function insertJob(
  trx: Knex.Transaction,
  values: {
    key: string;
    reference: string;
    scenario: string;
    householdNo: string | null;
    payload: Record<string, unknown>;
    awaitingReview: boolean;
    blockedBy: number | null;
    noticeId?: number;
    certificateRequestId?: number;
    coreSystem?: string;
  },
  settings: QueueSettings,
  now: Date,
): Promise<number> {
  return insertReturningId(trx, 'rpa_jobs', {
    core_system: values.coreSystem ?? settings.coreSystem ?? null,
    idempotency_key: values.key,
    reference: values.reference,
    notice_id: values.noticeId ?? null,
    certificate_request_id: values.certificateRequestId ?? null,
    scenario: values.scenario,
    household_no: values.householdNo,
    payload: JSON.stringify(values.payload),
    status: 'queued',
    awaiting_review: values.awaitingReview,
    blocked_by: values.blockedBy,
    attempts: 0,
    max_attempts: settings.maxAttempts,
    available_at: now,
    created_at: now,
    updated_at: now,
  });
}

/**
 * Enqueues the core-system entries of an accepted notice (inside the accepting transaction), when
 * a scenario exists for its type. Jobs of one household run in order: each waits for the one
 * before it. They wait for the review too.
 */
export async function enqueueNotice(
  trx: Knex.Transaction,
  n: Notice,
  settings: QueueSettings,
  hasScenario: ScenarioCheck,
  now = new Date(),
): Promise<number[]> {
  if (!hasScenario(n.type)) return [];
  const ids: number[] = [];
  // One flag for the whole notice (its members, household, target household, typed addresses):
  // every entry carries the household and the typed addresses.
  const protection = flagOf(
    (await protectionDecision(trx, now)).notice({
      memberNos: n.members.flatMap((m) => (m.addresseeNo ? [m.addresseeNo] : [])),
      householdNo: n.householdNo,
      data: n.data,
    }),
  );
  let before = n.householdNo
    ? ((
        (await trx('rpa_jobs')
          .where({ household_no: n.householdNo })
          .whereNotIn('status', ['succeeded', 'cancelled'])
          .orderBy('id', 'desc')
          .first('id')) as { id: number } | undefined
      )?.id ?? null)
    : null;
  const home = await homeMunicipality(trx);
  const typed = {
    previous: await typedAddressParts(trx, n.data.previousAddress, home),
    new: await typedAddressParts(trx, n.data.newAddress, home),
    next: await typedAddressParts(trx, n.data.nextAddress, home),
  };
  const entries = noticeEntries(n);
  // `per: notice`: the first entry's payload (its subject the first mover) carries every mover. The
  // payload says how it was cut: the agent refuses it if the scenario's `per` has changed since.
  const per = hasScenario.per?.(n.type) ?? 'person';
  for (const [i, payload] of (per === 'notice' ? entries.slice(0, 1) : entries).entries()) {
    payload.per = per;
    const subject = payload.subject as {
      addresseeNo: string | null;
      nameKana: string | null;
      birthDate: string | null;
      sex: string | null;
      address?: string | null;
      registeredHeadName?: string | null;
    };
    // As registered now, for screens that ask for the current address or head (転出, 世帯の変更, 死亡, 出生),
    // and for what the counter did not retype (kana, birth date, sex of a registered person).
    const reg = subject.addresseeNo ? await registered(trx, subject.addresseeNo) : null;
    subject.address = reg?.address ?? null;
    subject.registeredHeadName = reg?.headName ?? null;
    subject.nameKana ??= reg?.nameKana ?? null;
    subject.birthDate ??= reg?.birthDate ?? null;
    subject.sex ??= reg?.sex ?? null;
    // The same for every mover a household scenario loops over (what the counter did not retype).
    for (const m of payload.movers as {
      addresseeNo: string | null;
      nameKana: string | null;
      birthDate: string | null;
      sex: string | null;
    }[]) {
      if (!m.addresseeNo || (m.nameKana && m.birthDate && m.sex)) continue;
      const mreg = m.addresseeNo === subject.addresseeNo ? reg : await registered(trx, m.addresseeNo);
      m.nameKana ??= mreg?.nameKana ?? null;
      m.birthDate ??= mreg?.birthDate ?? null;
      m.sex ??= mreg?.sex ?? null;
    }
    const anyone = n.members.find((m) => m.addresseeNo);
    payload.householdAddress =
      subject.address ?? (anyone?.addresseeNo ? ((await registered(trx, anyone.addresseeNo))?.address ?? null) : null);
    payload.protection = protection;
    // Payload version 2 (rpa/payload.ts): 和暦 parts, code names and addresses split for the screens.
    type PersonFields = { birthDate: string | null; sex: string | null; relationship: string | null };
    for (const m of [subject, payload.head, ...(payload.members as unknown[]), ...(payload.movers as unknown[])])
      if (m) Object.assign(m, personParts(m as PersonFields));
    payload.effective = payloadDate(n.effectiveDate);
    payload.reported = payloadDate(n.reportedDate);
    payload.addresses = { current: reg?.parts ?? null, ...typed };
    const key = `notice:${n.id}:${i + 1}`;
    const existing = (await trx('rpa_jobs').where({ idempotency_key: key }).first('id')) as { id: number } | undefined;
    if (existing) {
      ids.push(Number(existing.id));
      continue;
    }
    const id = await insertJob(
      trx,
      {
        key,
        reference: String(payload.reference),
        scenario: n.type,
        householdNo: n.householdNo,
        payload,
        awaitingReview: true,
        blockedBy: before === null ? null : Number(before),
        noticeId: n.id,
        ...(hasScenario.system ? { coreSystem: hasScenario.system(n.type) } : {}),
      },
      settings,
      now,
    );
    ids.push(id);
    before = id;
  }
  return ids;
}

/** The registered address and household head (relationship code 02 = 世帯主 in the standard layout). */
async function registered(
  trx: Knex.Transaction,
  addresseeNo: string,
): Promise<{
  address: string;
  parts: PayloadAddressV2 | null;
  headName: string | null;
  nameKana: string | null;
  birthDate: string | null;
  sex: string | null;
} | null> {
  const r = (await trx('residents')
    .where({ addressee_no: addresseeNo })
    .first('household_no', 'name_kana', 'birth_date', 'sex', ...REGISTERED_ADDRESS_COLUMNS)) as Record<string, unknown> | undefined;
  if (!r) return null;
  const head = r.household_no
    ? ((await trx('residents')
        .where({ household_no: String(r.household_no), relationship_code1: '02', resident_status: '1' })
        .first('name')) as { name: string } | undefined)
    : undefined;
  const opt = (v: unknown) => (v === null || v === undefined || v === '' ? null : String(v));
  return {
    address: addressText(r),
    parts: await registeredAddress(trx, r),
    headName: head?.name ?? null,
    nameKana: opt(r.name_kana),
    birthDate: opt(r.birth_date),
    sex: opt(r.sex),
  };
}

const addressText = (r: Record<string, unknown>): string => {
  const str = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  return `${str(r.town_name)}${str(r.block_number)}${r.address_suffix ? ` ${str(r.address_suffix)}` : ''}`;
};

/** The resident a certificate is for, as the core system's request screen wants it. */
async function certificateSubject(
  trx: Knex.Transaction,
  addresseeNo: string | undefined,
  label: string | undefined,
): Promise<Record<string, unknown>> {
  const r = addresseeNo
    ? ((await trx('residents')
        .where({ addressee_no: addresseeNo })
        .first('addressee_no', 'name', 'name_kana', 'birth_date', 'sex', 'household_no', ...REGISTERED_ADDRESS_COLUMNS)) as
        Record<string, unknown> | undefined)
    : undefined;
  if (!r)
    return {
      addresseeNo: addresseeNo ?? null,
      name: label ?? '',
      nameKana: null,
      birthDate: null,
      birth: null,
      sex: null,
      address: null,
      addressParts: null,
    };
  return {
    addresseeNo: String(r.addressee_no),
    name: String(r.name),
    nameKana: r.name_kana ?? null,
    birthDate: r.birth_date ?? null,
    sex: r.sex ?? null,
    householdNo: r.household_no ?? null,
    address: addressText(r),
    birth: payloadDate(r.birth_date ? String(r.birth_date) : null),
    addressParts: await registeredAddress(trx, r),
  };
}

/** Enqueues one job per line of an accepted certificate request whose type has a scenario (no review: issued at once). */
export async function enqueueCertificateRequest(
  trx: Knex.Transaction,
  requestId: number,
  priced: PricedRequest,
  settings: QueueSettings,
  hasScenario: ScenarioCheck,
  now = new Date(),
): Promise<number[]> {
  const ids: number[] = [];
  const decide = await protectionDecision(trx, now);
  for (const [i, line] of priced.lines.entries()) {
    if (!hasScenario(line.typeId)) continue;
    const key = `certificate:${requestId}:${i + 1}`;
    if (await trx('rpa_jobs').where({ idempotency_key: key }).first('id')) continue;
    const reference = `MDC-${requestId}-${i + 1}`;
    const subject = await certificateSubject(trx, line.subject.addresseeNo, line.subject.label);
    // The person, their household and anyone at their address (a 住民票 shows the address).
    const protection = flagOf(decide.person(line.subject.addresseeNo));
    const payload = {
      version: PAYLOAD_VERSION,
      reference,
      protection,
      kind: 'certificate',
      type: line.typeId,
      requestId,
      subject,
      copies: line.copies,
      items: line.items ?? null,
      purposeId: line.purposeId,
      options: line.options,
      exempt: line.exempt,
    };
    ids.push(
      await insertJob(
        trx,
        {
          key,
          reference,
          scenario: line.typeId,
          householdNo: null,
          payload,
          awaitingReview: false,
          blockedBy: null,
          certificateRequestId: requestId,
          ...(hasScenario.system ? { coreSystem: hasScenario.system(line.typeId) } : {}),
        },
        settings,
        now,
      ),
    );
  }
  return ids;
}

/** The review opens the notice's waiting jobs to the agents; a send-back makes them wait again. */
async function holdForReview(trx: Knex.Transaction, noticeId: number, waiting: boolean, now: Date): Promise<void> {
  await trx('rpa_jobs').where({ notice_id: noticeId, status: 'queued' }).update({ awaiting_review: waiting, updated_at: now });
}

/** A cancelled notice's entries not yet made are cancelled (queued or waiting for staff; a leased one finishes). */
async function cancelOpenJobsOfNotice(trx: Knex.Transaction, noticeId: number, now: Date): Promise<void> {
  await trx('rpa_jobs')
    .where({ notice_id: noticeId })
    .whereIn('status', ['queued', 'needsAttention'])
    .update({ status: 'cancelled', finished_at: now, updated_at: now });
}

// The job owner's reactions to notice events (in the notice command's transaction).
subscribe('notice.reviewed', 'rpaJob', (trx, e) => holdForReview(trx, e.noticeId, false, e.at));
subscribe('notice.reopened', 'rpaJob', (trx, e) => holdForReview(trx, e.noticeId, true, e.at));
subscribe('notice.cancelled', 'rpaJob', (trx, e) => cancelOpenJobsOfNotice(trx, e.noticeId, e.at));

/** Leases that ran out (an agent died or lost the network) go back to the queue. */
export async function requeueExpired(db: Knex, now = new Date()): Promise<number> {
  await stopUnprobed(db, null, now);
  return db('rpa_jobs')
    .where({ status: 'leased' })
    .andWhere('lease_expires_at', '<', now)
    .update({ status: 'queued', leased_by: null, lease_expires_at: null, updated_at: now });
}

/**
 * Gives the next ready job to an agent, or null: one atomic UPDATE … RETURNING (SQLite) or
 * UPDLOCK/READPAST (SQL Server), so two agents never get the same job. An agent whose group lacks
 * `resident.viewProtectedAddress` (`mayReceiveProtected` false) never gets a job flagged 支援措置:
 * the query itself skips them, and they wait for a dedicated agent (or staff enter them by hand).
 */
export async function claimJob(
  db: Knex,
  agent: string,
  settings: QueueSettings,
  now = new Date(),
  mayReceiveProtected = false,
  /** The scenarios this agent serves (an agent pool: one PC for certificates, one for moves); absent = all. */
  scenarios?: readonly string[],
  /** The core system the agent enters into; absent = the main one (`settings.coreSystem`). */
  system?: string,
): Promise<Job | null> {
  await requeueExpired(db, now);
  const served = scenarios?.length ? scenarios.filter((s) => /^[A-Za-z][A-Za-z0-9]*$/.test(s)) : undefined;
  if (served && !served.length) return null;
  // Jobs made before systems were configured (no core_system) belong to the main one.
  const main = !system || !settings.coreSystem || system === settings.coreSystem;
  const bySystem = settings.coreSystem
    ? main
      ? { sql: ' AND (core_system = ? OR core_system IS NULL)', bindings: [settings.coreSystem] }
      : { sql: ' AND core_system = ?', bindings: [system] }
    : { sql: '', bindings: [] };
  const q = dialectOf(db).claimQuery(
    db,
    'rpa_jobs',
    { status: 'queued', awaiting_review: false },
    ['available_at', 'id'],
    {
      status: 'leased',
      leased_by: agent,
      lease_expires_at: new Date(now.getTime() + settings.leaseSeconds * 1000),
      last_heartbeat_at: now,
      updated_at: now,
      unprobed_commit_at: null,
    },
    served
      ? {
          sql: `available_at <= ? AND blocked_by IS NULL AND scenario IN (${served.map(() => '?').join(', ')})${bySystem.sql}`,
          bindings: [now, ...served, ...bySystem.bindings],
        }
      : { sql: `available_at <= ? AND blocked_by IS NULL${bySystem.sql}`, bindings: [now, ...bySystem.bindings] },
    mayReceiveProtected ? undefined : PROTECTION_FLAG,
  );
  const res = (await q) as unknown;
  const rows = (Array.isArray(res) ? res : ((res as { rows?: unknown[] }).rows ?? [])) as Record<string, unknown>[];
  return rows[0] ? toJob(rows[0]) : null;
}

/** The job as leased by `agent`, for one of the agent's moves (409 when its lease is gone). */
async function leased(trx: Knex.Transaction, id: number, agent: string, move: JobMove): Promise<Record<string, unknown>> {
  const r = (await trx('rpa_jobs').where({ id }).first()) as Record<string, unknown> | undefined;
  if (!r) throw notFound('ジョブ');
  assertJobMove(r.status as JobStatus, move);
  if (r.leased_by !== agent) throw new DomainError('rpa.leaseLost');
  return r;
}

/**
 * Whether `agent` holds the lease of job `id` now (evidence is accepted only then). Throws 404,
 * or 409 when the lease is gone.
 */
export async function requireLease(db: Knex, id: number, agent: string): Promise<{ attempts: number }> {
  return db.transaction(async (trx) => {
    const r = await leased(trx, id, agent, 'heartbeat');
    return { attempts: Number(r.attempts) };
  });
}

/**
 * Extends the lease. `unprobedCommit`: the agent is about to press the saving button of a scenario
 * without a probe (idempotency: none); from then on a lost lease stops the job for staff
 * (`stopUnprobed`) instead of queueing it again, since a second run could save it twice.
 */
export async function heartbeat(
  db: Knex,
  id: number,
  agent: string,
  settings: QueueSettings,
  now = new Date(),
  opts: { unprobedCommit?: boolean } = {},
): Promise<Date> {
  const until = new Date(now.getTime() + settings.leaseSeconds * 1000);
  await db.transaction(async (trx) => {
    await leased(trx, id, agent, 'heartbeat');
    // Only while the lease is still this agent's and unexpired, in the same statement: a claim by
    // another agent between the read and this write (SQL Server reads without a lock) must make
    // this heartbeat fail, or two agents could both press a saving button nothing can check.
    const changed = await trx('rpa_jobs')
      .where({ id, status: 'leased', leased_by: agent })
      .andWhere('lease_expires_at', '>=', now)
      .update({
        lease_expires_at: until,
        last_heartbeat_at: now,
        updated_at: now,
        ...(opts.unprobedCommit ? { unprobed_commit_at: now } : {}),
      });
    if (Number(changed) !== 1) throw new DomainError('rpa.leaseLost');
  });
  return until;
}

/** What a job says when its run was cut off at a saving step that nothing can check. */
export const UNPROBED_COMMIT_LOST =
  '端末が登録の途中で止まりました。このシナリオには登録を確かめる手段がない (idempotency: none) ため、自動では再実行しません。基幹系で登録されたか確かめ、登録済みなら「手入力済みにする」、なければ「再実行」してください';

/** Leased jobs cut off after an unprobed saving step: to staff, never back to the queue. */
async function stopUnprobed(db: Knex.Transaction | Knex, ids: readonly number[] | null, now: Date): Promise<number[]> {
  const run = async (trx: Knex.Transaction): Promise<number[]> => {
    const pick = () => {
      const q = trx('rpa_jobs').where({ status: 'leased' }).whereNotNull('unprobed_commit_at');
      return ids ? q.whereIn('id', [...ids]) : q.andWhere('lease_expires_at', '<', now);
    };
    const stopped = ((await pick().orderBy('id').pluck('id')) as unknown[]).map(Number);
    if (!stopped.length) return stopped;
    await pick().update({
      status: 'needsAttention',
      error_kind: 'business',
      error_message: UNPROBED_COMMIT_LOST,
      leased_by: null,
      lease_expires_at: null,
      finished_at: now,
      updated_at: now,
    });
    await appendAudit(
      trx,
      {
        staffLogin: 'system',
        action: 'rpa.stoppedUncertain',
        targetKind: 'rpaJob',
        targetIds: stopped.map(String),
        result: 'success',
        detail: { reason: ids ? 'server stop' : 'lease expired after an unprobed saving step' },
      },
      now,
    );
    return stopped;
  };
  return 'commit' in db && typeof db.commit === 'function' ? run(db as Knex.Transaction) : (db as Knex).transaction(run);
}

/**
 * The agent gives the lease back without running (it was asked to stop): no attempt is counted.
 * Only before the saving step; after it the agent finishes and reports.
 */
export async function releaseJob(db: Knex, id: number, agent: string, now = new Date()): Promise<void> {
  await db.transaction(async (trx) => {
    await leased(trx, id, agent, 'release');
    await trx('rpa_jobs').where({ id }).update({ status: 'queued', leased_by: null, lease_expires_at: null, updated_at: now });
  });
}

/**
 * Every job an agent holds goes back to the queue (the server is stopping): the agent's next call
 * gets 409, and the job runs again later; the agents' idempotency probe prevents a double entry
 * when the cut-off run had already saved. A job cut off after the saving step of a scenario
 * without a probe goes to staff instead (`stopUnprobed`). Returns the ids put back in the queue;
 * audited as one record with them.
 */
export async function returnAllLeases(db: Knex, reason: string, now = new Date()): Promise<number[]> {
  return db.transaction(async (trx) => {
    const leasedIds = (await trx('rpa_jobs').where({ status: 'leased' }).orderBy('id').pluck('id')).map(Number);
    if (!leasedIds.length) return leasedIds;
    // Those cut off after an unprobed saving step go to staff (audited there), the others back to the queue.
    const stopped = new Set(await stopUnprobed(trx, leasedIds, now));
    const ids = leasedIds.filter((id) => !stopped.has(id));
    if (!ids.length) return ids;
    await trx('rpa_jobs')
      .whereIn('id', ids)
      .where({ status: 'leased' })
      .update({ status: 'queued', leased_by: null, lease_expires_at: null, updated_at: now });
    await appendAudit(
      trx,
      {
        staffLogin: 'system',
        action: 'rpa.leaseReturned',
        targetKind: 'rpaJob',
        targetIds: ids.map(String),
        result: 'success',
        detail: { reason },
      },
      now,
    );
    return ids;
  });
}

/** Remembers an agent's call: the job page lists agents with their last call and version. */
export async function touchAgent(
  db: Knex,
  name: string,
  version: string | null,
  host: string | null,
  jobId: number | null,
  now = new Date(),
): Promise<void> {
  const values: Record<string, unknown> = {
    last_seen_at: now,
    ...(version ? { version: version.slice(0, 32) } : {}),
    ...(host ? { host: host.slice(0, 128) } : {}),
    ...(jobId ? { last_job_id: jobId } : {}),
  };
  const n = await db('rpa_agents').where({ name }).update(values);
  if (!n)
    await db('rpa_agents')
      .insert({ name, created_at: now, ...values })
      .onConflict('name')
      .merge(values);
}

/**
 * The entry is in the core system: the job succeeds with the core system's number (基幹系処理番号),
 * the next job of the household is unblocked, and `job.succeeded` lets the notice owner move the
 * notice to 入力済 with its last entry.
 */
export async function succeedJob(db: Knex, id: number, agent: string, coreRef: string, actor: AuditActor, now = new Date()): Promise<void> {
  if (!coreRef.trim())
    throw invalidInput('基幹系システムの処理番号を指定してください', [
      { field: 'coreRef', message: '基幹系システムの処理番号を指定してください' },
    ]);
  await db.transaction(async (trx) => {
    const r = await leased(trx, id, agent, 'succeed');
    await trx('rpa_jobs')
      .where({ id })
      .update({
        status: 'succeeded',
        core_ref: coreRef.slice(0, 64),
        leased_by: null,
        lease_expires_at: null,
        finished_at: now,
        updated_at: now,
        error_kind: null,
        error_message: null,
      });
    await trx('rpa_jobs').where({ blocked_by: id }).update({ blocked_by: null, updated_at: now });
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'rpa.succeeded',
        targetKind: 'rpaJob',
        targetIds: [String(id), ...(r.notice_id ? [`notice:${String(r.notice_id)}`] : [])],
        result: 'success',
        detail: { coreRef, attempt: Number(r.attempts) + 1 },
      },
      now,
    );
    const noticeId = r.notice_id === null || r.notice_id === undefined ? null : Number(r.notice_id);
    await publish(trx, { type: 'job.succeeded', at: now, actor, jobId: id, noticeId, coreRef: coreRef.slice(0, 64) });
  });
}

/**
 * A failed run. An application error (the core system was slow, a click got lost) is retried with
 * backoff until the attempts are spent; a business error (the core system refused the data) goes
 * to staff at once.
 */
export async function failJob(
  db: Knex,
  id: number,
  agent: string,
  kind: 'business' | 'application',
  message: string,
  settings: QueueSettings,
  actor: AuditActor,
  now = new Date(),
): Promise<JobStatus> {
  return db.transaction(async (trx) => {
    const r = await leased(trx, id, agent, 'fail');
    const attempts = Number(r.attempts) + 1;
    const retry = kind === 'application' && attempts < Number(r.max_attempts);
    const status: JobStatus = retry ? 'queued' : 'needsAttention';
    const delay = settings.backoffSeconds * 2 ** (attempts - 1) * 1000;
    await trx('rpa_jobs')
      .where({ id })
      .update({
        status,
        attempts,
        leased_by: null,
        lease_expires_at: null,
        error_kind: kind,
        error_message: message.slice(0, 1000),
        available_at: retry ? new Date(now.getTime() + delay) : r.available_at,
        updated_at: now,
      });
    await appendAudit(
      trx,
      {
        ...actor,
        action: 'rpa.failed',
        targetKind: 'rpaJob',
        targetIds: [String(id)],
        result: 'failure',
        detail: { kind, attempt: attempts, next: status },
      },
      now,
    );
    return status;
  });
}

/** Staff act on a job that needs attention: try again, or record that it was entered by hand. */
export async function resolveJob(
  db: Knex,
  id: number,
  action: 'retry' | 'doneByHand' | 'cancel',
  reason: string,
  actor: AuditActor,
  now = new Date(),
): Promise<void> {
  if (!reason.trim()) throw invalidInput('理由を入力してください', [{ field: 'reason', message: '理由を入力してください' }]);
  await db.transaction(async (trx) => {
    const r = (await trx('rpa_jobs').where({ id }).first()) as Record<string, unknown> | undefined;
    if (!r) throw notFound('ジョブ');
    assertJobMove(r.status as JobStatus, action);
    const values: Record<string, unknown> = { resolution: reason.slice(0, 400), updated_at: now };
    if (action === 'retry')
      Object.assign(values, { status: 'queued', attempts: 0, available_at: now, error_kind: null, error_message: null });
    if (action === 'doneByHand') Object.assign(values, { status: 'succeeded', core_ref: 'manual', finished_at: now });
    if (action === 'cancel') Object.assign(values, { status: 'cancelled', finished_at: now });
    await trx('rpa_jobs').where({ id }).update(values);
    if (action !== 'retry') await trx('rpa_jobs').where({ blocked_by: id }).update({ blocked_by: null, updated_at: now });
    await appendAudit(
      trx,
      {
        ...actor,
        action: `rpa.${action}`,
        targetKind: 'rpaJob',
        targetIds: [String(id)],
        result: 'success',
        detail: { reason: reason.slice(0, 200) },
      },
      now,
    );
    if (action === 'doneByHand')
      await publish(trx, {
        type: 'job.succeeded',
        at: now,
        actor,
        jobId: id,
        noticeId: r.notice_id === null || r.notice_id === undefined ? null : Number(r.notice_id),
        coreRef: 'manual',
      });
  });
}
