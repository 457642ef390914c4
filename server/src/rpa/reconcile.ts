import type { Knex } from 'knex';
import type { AppConfig } from '../config/appConfig.js';
import { dbDate } from '../db/values.js';
import { todayInJapan } from '../domain/japanTime.js';
import { kanaExactKey } from '../domain/searchKeys.js';
import { businessDaysBetween } from '../ops/backup/retention.js';

/**
 * Reconciliation of the RPA's entries with the core system's own linkage: the 異動履歴 (001o009)
 * that the core system exports is an independent witness of what was entered. After each applied
 * 001o009 file, every recent notice job is matched with the history rows it must have produced
 * (per person: the 宛名番号, or for a new resident the kana and birth date; the 異動事由 of the
 * notice type; the 異動日):
 * - `matched`: one row per person;
 * - `enteredTwice`: a person has two or more rows (the entry was made twice);
 * - `notSeen`: a succeeded job with a person without a row after `notSeenAfterBusinessDays`;
 * - `unreported`: a job that stopped for staff (要対応) has rows no other job explains: entered, but madoguchi does not know.
 * Jobs cancelled by staff are not reconciled (a notice is corrected by cancelling it and accepting it again).
 * This module owns `rpa_reconciliations` (one row per job). It reads only the jobs and the cache.
 */
export const reconcileStates = ['pending', 'matched', 'enteredTwice', 'notSeen', 'unreported'] as const;
export type ReconcileState = (typeof reconcileStates)[number];
export const reconcileStateLabels: Readonly<Record<ReconcileState, string>> = {
  pending: '照合待ち',
  matched: '照合済',
  enteredTwice: '二重入力',
  notSeen: '連携に現れない',
  unreported: '入力済・未報告',
};
/** The states staff must look at (shown on /rpa/jobs, a warning on /healthz). */
export const flaggedStates: readonly ReconcileState[] = ['enteredTwice', 'notSeen', 'unreported'];

/** 異動事由 (codes.ts changeReason) of the history row each notice type leaves for each person it changes. */
export const changeReasonsOf: Readonly<Partial<Record<string, readonly string[]>>> = {
  moveIn: ['01', '02'],
  specialMoveIn: ['01', '02'],
  moveOut: ['21'],
  specialMoveOut: ['21'],
  moveAbroad: ['22'],
  relocation: ['41'],
  birth: ['03'],
  death: ['23'],
  householdSplit: ['50'],
  householdMerge: ['51'],
  householdRestructure: ['52'],
  headChange: ['53'],
};

/** The linkage spec whose rows are the witness (住民記録の異動履歴). */
export const HISTORY_SPEC = '001o009';
/** The core system's 証明書の発行履歴, when it exports one: the witness for certificate jobs. */
export const ISSUANCE_SPEC = 'ext-issuance-log';
/** Specs after whose load the jobs are reconciled. */
export const WITNESS_SPECS: readonly string[] = [HISTORY_SPEC, ISSUANCE_SPEC];

export function reconcileSettingsOf(config: AppConfig): ReconcileSettings {
  return { notSeenAfterBusinessDays: config.rpa.notSeenAfterBusinessDays, closedDates: config.openingHours.closedDates };
}

export interface ReconcileSettings {
  notSeenAfterBusinessDays: number;
  closedDates: readonly string[];
  /** Jobs older than this are no longer reconciled (their history rows are long settled). */
  lookbackDays?: number;
}

interface Person {
  addresseeNo: string | null;
  name: string | null;
  nameKana: string | null;
  birthDate: string | null;
}

interface HistoryRow {
  addressee_no: string;
  seq: number;
  change_reason_code: string;
  name: string | null;
  name_kana: string | null;
  birth_date: string | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const personOf = (p: unknown): Person => {
  const o = (p ?? {}) as Record<string, unknown>;
  return { addresseeNo: str(o.addresseeNo), name: str(o.name), nameKana: str(o.nameKana), birthDate: str(o.birthDate) };
};
const plainName = (s: string | null): string => (s ?? '').normalize('NFKC').replace(/[\s\u3000]/g, '');

/** Whether a history row is this person's: the 宛名番号 when known, else birth date and kana (or name). */
function isPersons(h: HistoryRow, p: Person): boolean {
  if (p.addresseeNo) return h.addressee_no === p.addresseeNo;
  if (!p.birthDate || h.birth_date !== p.birthDate) return false;
  if (p.nameKana && h.name_kana && kanaExactKey(p.nameKana) === kanaExactKey(h.name_kana)) return true;
  return !!p.name && plainName(p.name) === plainName(h.name);
}

export interface ReconcileSummary {
  checked: number;
  byState: Record<ReconcileState, number>;
}

/** Matches every recent notice job with the history rows in the cache; returns how many of each state. */
export async function reconcileJobs(db: Knex, settings: ReconcileSettings, now = new Date()): Promise<ReconcileSummary> {
  const since = new Date(now.getTime() - (settings.lookbackDays ?? 90) * 86_400_000);
  const jobs = (await db('rpa_jobs')
    .whereNotNull('notice_id')
    .whereIn('scenario', Object.keys(changeReasonsOf))
    .whereIn('status', ['succeeded', 'needsAttention'])
    .where('created_at', '>=', since)
    // Succeeded jobs claim their rows first (oldest first); a stopped job then sees only rows nobody explains.
    .orderByRaw("CASE WHEN status = 'succeeded' THEN 0 ELSE 1 END")
    .orderBy('id')
    .select('id', 'notice_id', 'scenario', 'status', 'payload', 'finished_at', 'updated_at')) as Record<string, unknown>[];
  // A notice with one job whose payload lists several movers was entered as one (per: notice); else one person per job.
  const perNotice = new Map<number, number>();
  // (The jobs of a notice are made together, at its acceptance: the same window holds them all.)
  for (const n of (await db('rpa_jobs')
    .whereNotNull('notice_id')
    .where('created_at', '>=', since)
    .groupBy('notice_id')
    .select('notice_id')
    .count({ n: '*' })) as { notice_id: number; n: number | string }[])
    perNotice.set(Number(n.notice_id), Number(n.n));

  // History rows by (date, reasons), read once per distinct pair.
  const rowsFor = new Map<string, Promise<HistoryRow[]>>();
  const historyOn = (date: string, reasons: readonly string[]): Promise<HistoryRow[]> => {
    const key = `${date}|${reasons.join(',')}`;
    let rows = rowsFor.get(key);
    if (!rows) {
      rows = db('resident_history as h')
        .leftJoin('residents as r', 'r.addressee_no', 'h.addressee_no')
        .where('h.change_date', date)
        .whereIn('h.change_reason_code', [...reasons])
        .select('h.addressee_no', 'h.seq', 'h.change_reason_code', 'h.name', 'h.name_kana', 'r.birth_date') as Promise<HistoryRow[]>;
      rowsFor.set(key, rows);
    }
    return rows;
  };

  const byState = Object.fromEntries(reconcileStates.map((s) => [s, 0])) as Record<ReconcileState, number>;
  const results: Result[] = [];
  // A history row of a new resident (no 宛名番号 in the job) is given to one person only: two jobs
  // for look-alikes (same birth date and kana) cannot both be matched by one entry.
  const claimed = new Set<string>();
  const rowKey = (h: HistoryRow) => `${h.addressee_no}|${h.seq}`;
  for (const j of jobs) {
    const payload = JSON.parse(String(j.payload)) as Record<string, unknown>;
    const date = str(payload.effectiveDate);
    const reasons = changeReasonsOf[String(j.scenario)];
    if (!date || !reasons) continue;
    const movers = Array.isArray(payload.movers) ? payload.movers : [];
    // The job says how it was cut (payload.per); older jobs: one job of a notice with several movers was per notice.
    const perNoticeJob =
      payload.per !== undefined ? payload.per === 'notice' : perNotice.get(Number(j.notice_id)) === 1 && movers.length > 1;
    const persons = (perNoticeJob ? movers : [payload.subject]).map(personOf);
    const history = await historyOn(date, reasons);
    const counts = persons.map((p) => {
      // A registered person's rows are theirs (every one counts: two are an entry made twice); a new
      // resident's are the ones no earlier job took. A stopped job sees only rows nobody explains.
      const succeeded = j.status === 'succeeded';
      const mine = history.filter((h) => isPersons(h, p) && ((succeeded && p.addresseeNo) || !claimed.has(rowKey(h))));
      if (succeeded) for (const h of mine) claimed.add(rowKey(h));
      return mine.length;
    });
    const rows = counts.reduce((a, b) => a + b, 0);
    let state: ReconcileState;
    let detail: string;
    if (j.status === 'succeeded') {
      if (counts.some((c) => c >= 2)) {
        state = 'enteredTwice';
        detail = `異動履歴に同じ異動日・異動事由の行が 2 行以上ある人が ${counts.filter((c) => c >= 2).length} 人います (${persons.length} 人中)`;
      } else if (counts.every((c) => c === 1)) {
        state = 'matched';
        detail = `異動履歴の ${rows} 行と一致 (${persons.length} 人)`;
      } else {
        const finished = dbDate(j.finished_at) ?? dbDate(j.updated_at) ?? now;
        const waited = businessDaysBetween(finished, now, settings.closedDates);
        const missing = counts.filter((c) => c === 0).length;
        state = waited >= settings.notSeenAfterBusinessDays ? 'notSeen' : 'pending';
        detail = `異動履歴に行のない人が ${missing} 人います (${persons.length} 人中、完了から ${waited} 開庁日)`;
      }
    } else if (rows > 0) {
      state = 'unreported';
      detail = `ジョブは要対応ですが、異動履歴に ${rows} 行あります (基幹系に入力済み)`;
    } else continue;
    byState[state]++;
    results.push({ jobId: Number(j.id), state, persons: persons.length, rows, detail });
  }

  const certificates = await reconcileCertificates(db, settings, since, now);
  for (const r of certificates ?? []) {
    byState[r.state]++;
    results.push(r);
  }
  const checkedJobs = new Set([...jobs.map((j) => Number(j.id)), ...results.map((r) => r.jobId)]);

  await db.transaction(async (trx) => {
    const before = new Map(
      (
        (await trx('rpa_reconciliations').select('job_id', 'state', 'flagged_at')) as {
          job_id: number;
          state: string;
          flagged_at: unknown;
        }[]
      ).map((r) => [Number(r.job_id), r]),
    );
    // A failed job whose history rows went away (or that succeeded since) has nothing more to say.
    const seen = new Set(results.map((r) => r.jobId));
    const gone = [...before.keys()].filter((id) => !seen.has(id) && checkedJobs.has(id));
    if (gone.length) await trx('rpa_reconciliations').whereIn('job_id', gone).del();
    // Jobs cancelled by staff (a notice corrected by cancelling and accepting it again) and jobs past
    // the window are no longer reconciled: their rows go, so that no flag stays for good.
    await trx('rpa_reconciliations')
      .whereIn('job_id', trx('rpa_jobs').where('created_at', '<', since).orWhere({ status: 'cancelled' }).select('id'))
      .del();
    // Without a 発行履歴 (no longer exported) nothing can be said of certificates: no stale flags either.
    if (!certificates) {
      await trx('rpa_reconciliations').whereIn('job_id', trx('rpa_jobs').whereNotNull('certificate_request_id').select('id')).del();
    }
    for (const r of results) {
      const flagged = flaggedStates.includes(r.state);
      const old = before.get(r.jobId);
      const row = {
        state: r.state,
        persons: r.persons,
        history_rows: r.rows,
        detail: r.detail.slice(0, 400),
        // When the flag was first raised, kept while it stays raised.
        flagged_at: flagged ? (old && old.state === r.state && old.flagged_at ? old.flagged_at : now) : null,
        checked_at: now,
      };
      if (old) await trx('rpa_reconciliations').where({ job_id: r.jobId }).update(row);
      else await trx('rpa_reconciliations').insert({ job_id: r.jobId, ...row });
    }
  });
  return { checked: results.length, byState };
}

type Result = { jobId: number; state: ReconcileState; persons: number; rows: number; detail: string };

/**
 * Certificate jobs against the 発行履歴 (ext-issuance-log), only when the core system exports one
 * (the table has rows): a succeeded job's reported number must be there for its person (else not
 * seen after the business days); a job that stopped for staff while the log has
 * an issue for its person on that day that no succeeded job reported is entered but not reported.
 * Two issues for one person on one day are not flagged: a counter may issue by hand as well.
 */
async function reconcileCertificates(db: Knex, settings: ReconcileSettings, since: Date, now: Date): Promise<Result[] | null> {
  if (!(await db('certificate_issuances').first('id'))) return null;
  const jobs = (await db('rpa_jobs')
    .whereNotNull('certificate_request_id')
    .whereIn('status', ['succeeded', 'needsAttention'])
    .where('created_at', '>=', since)
    .select('id', 'status', 'payload', 'core_ref', 'finished_at', 'updated_at', 'created_at')) as Record<string, unknown>[];
  const subjectOf = (j: Record<string, unknown>) =>
    str(((JSON.parse(String(j.payload)) as { subject?: { addresseeNo?: unknown } }).subject ?? {}).addresseeNo);
  const people = [...new Set(jobs.map(subjectOf).filter((x): x is string => !!x))];
  const log = new Map<string, { issue_no: string; issue_date: string }[]>();
  for (let i = 0; i < people.length; i += 500)
    for (const r of (await db('certificate_issuances')
      .whereIn('addressee_no', people.slice(i, i + 500))
      .select('issue_no', 'issue_date', 'addressee_no')) as { issue_no: string; issue_date: string; addressee_no: string }[])
      log.set(r.addressee_no, [...(log.get(r.addressee_no) ?? []), r]);
  const reported = new Set(jobs.filter((j) => j.status === 'succeeded' && j.core_ref).map((j) => String(j.core_ref).trim()));
  const out: Result[] = [];
  for (const j of jobs) {
    const who = subjectOf(j);
    if (!who) continue;
    const rows = log.get(who) ?? [];
    const day = todayInJapan(dbDate(j.finished_at) ?? dbDate(j.updated_at) ?? now);
    if (j.status === 'succeeded') {
      const ref = String(j.core_ref ?? '').trim();
      const found = ref === 'manual' ? rows.some((r) => r.issue_date === day) : rows.some((r) => r.issue_no === ref);
      if (found) {
        out.push({ jobId: Number(j.id), state: 'matched', persons: 1, rows: 1, detail: '発行履歴と一致' });
        continue;
      }
      const waited = businessDaysBetween(dbDate(j.finished_at) ?? now, now, settings.closedDates);
      out.push({
        jobId: Number(j.id),
        state: waited >= settings.notSeenAfterBusinessDays ? 'notSeen' : 'pending',
        persons: 1,
        rows: 0,
        detail: `報告された発行番号が発行履歴にありません (完了から ${waited} 開庁日)`,
      });
      continue;
    }
    const unexplained = rows.filter((r) => r.issue_date === day && !reported.has(r.issue_no.trim()));
    if (unexplained.length)
      out.push({
        jobId: Number(j.id),
        state: 'unreported',
        persons: 1,
        rows: unexplained.length,
        detail: `ジョブは要対応ですが、その日の発行履歴に、どのジョブも報告していない発行が ${unexplained.length} 件あります`,
      });
  }
  return out;
}

export interface ReconcileFlag {
  jobId: number;
  scenario: string;
  reference: string;
  coreRef: string | null;
  status: string;
  state: ReconcileState;
  detail: string;
  flaggedAt: Date | null;
}

/** The jobs staff must look at, newest flag first. No personal data: job, type, numbers and counts. */
export async function reconcileFlags(db: Knex, limit = 200): Promise<ReconcileFlag[]> {
  const rows = (await db('rpa_reconciliations as c')
    .join('rpa_jobs as j', 'j.id', 'c.job_id')
    .whereIn('c.state', [...flaggedStates])
    .orderBy('c.flagged_at', 'desc')
    .orderBy('c.job_id', 'desc')
    .limit(limit)
    .select(
      'c.job_id',
      'c.state',
      'c.detail',
      'c.flagged_at',
      'j.scenario',
      'j.idempotency_key',
      'j.core_ref',
      'j.status',
      'j.payload',
    )) as Record<string, unknown>[];
  return rows.map((r) => ({
    jobId: Number(r.job_id),
    scenario: String(r.scenario),
    reference: String((JSON.parse(String(r.payload)) as { reference?: unknown }).reference ?? ''),
    coreRef: r.core_ref === null || r.core_ref === undefined ? null : String(r.core_ref),
    status: String(r.status),
    state: r.state as ReconcileState,
    detail: String(r.detail),
    flaggedAt: dbDate(r.flagged_at),
  }));
}

/** How many jobs are flagged, per state (for /healthz). */
export async function reconcileCounts(db: Knex): Promise<Record<'enteredTwice' | 'notSeen' | 'unreported', number>> {
  const rows = (await db('rpa_reconciliations')
    .whereIn('state', [...flaggedStates])
    .groupBy('state')
    .select('state')
    .count({ n: '*' })) as {
    state: string;
    n: number | string;
  }[];
  const out = { enteredTwice: 0, notSeen: 0, unreported: 0 };
  for (const r of rows) if (r.state in out) out[r.state as keyof typeof out] = Number(r.n);
  return out;
}
