/**
 * Visit statistics (001/004 §6 N-44, 000 §13-12): the visit records as a statistics export and
 * the counter-time report (visits, median and 90th-percentile time at the counter, procedures per
 * visit) by counter, day and fiscal quarter, measured from the visit log.
 *
 * No personal data leaves through here: no names, addresses, addressee numbers or answers. The
 * columns are documented in docs/data-dictionary.md (来庁記録 (統計用), 窓口所要時間の集計).
 */
import type { Knex } from 'knex';
import type { Counter } from '../config/appConfig.js';
import { dbDate } from '../db/values.js';
import { addDays } from '../domain/dates.js';
import { noticeTypeLabels } from '../domain/procedureTypes.js';
import { japanDateTime, japanDayBounds } from '../domain/japanTime.js';
import { toWarekiParts } from '../domain/wareki.js';
import { decodeCsv, encodeCsv, type CsvEncoding } from '../text/index.js';
import { statusLabels, type VisitStatus } from '../visits/visits.js';

// The CSV helpers moved to text/; these names stay for the routes and tests that import them here.
export { CsvEncodingError, decodeCsv, encodeCsv, type CsvEncoding } from '../text/index.js';

/** A period of Japanese calendar days, both ends included (`YYYY-MM-DD`). */
export interface DateRange {
  from: string;
  to: string;
}

/** One visit as the statistics export shows it. Times are Japan time `YYYY-MM-DD HH:MM:SS`. */
export interface VisitRow {
  visitNo: string;
  /** `counter`, `post` or `exOfficio`. */
  channel: string;
  openedAt: string;
  closedAt: string | null;
  /** Minutes from opening to closing (0.1 min), closed visits only; paused time included. */
  minutes: number | null;
  status: string;
  /** The counter the visit was last at (a visit resumed at another counter moves there). */
  counterId: string | null;
  /** The counter's name from the configuration; null when not configured. */
  counterName: string | null;
  /** The login id of the member of staff who opened the visit. */
  staffLogin: string;
  subjects: number;
  /** Notice types (codes) in the order they were taken. */
  noticeTypes: string[];
  /** Procedures on the visit's list, not removed. */
  procedures: number;
  procedureIds: string[];
  /** Of those, the ones referred to another section (status `referred`). */
  referred: number;
}

export const channelLabels: Readonly<Record<string, string>> = { counter: '窓口', post: '郵送', exOfficio: '職権' };

/** The visit export's columns, in order (docs/data-dictionary.md#来庁記録-統計用). */
export const VISIT_CSV_COLUMNS = [
  '来庁番号',
  '受付の種類',
  '開始日時',
  '終了日時',
  '所要分',
  '状態',
  '窓口ID',
  '窓口名',
  '受付職員',
  '対象者数',
  '届出',
  '手続き数',
  '手続き',
  '他課案内数',
] as const;

/** The longest period a page or export covers (two years and a day, for a year-on-year quarter). */
export const MAX_RANGE_DAYS = 731;

/** Minutes between two instants to 0.1 min; null when the end is missing or before the start. */
export function durationMinutes(openedAt: Date, closedAt: Date | null): number | null {
  if (!closedAt) return null;
  const ms = closedAt.getTime() - openedAt.getTime();
  return ms < 0 ? null : Math.round(ms / 6000) / 10;
}

/**
 * Visits opened in the period (Japan time), oldest first, with counts of their subjects, notices
 * and procedures. `counters` (the configuration's) gives the counter names.
 */
export async function visitRows(knex: Knex, range: DateRange, counters: readonly Counter[]): Promise<VisitRow[]> {
  const { from: fromAt, to: toAt } = japanDayBounds(range.from, range.to);
  const inRange = () => knex('visits').where('visits.opened_at', '>=', fromAt).andWhere('visits.opened_at', '<', toAt);
  const ids = inRange().select('visits.id');
  const [visits, subjects, notices, procedures] = await Promise.all([
    inRange()
      .join('staff', 'staff.id', 'visits.opened_by')
      .orderBy([{ column: 'visits.opened_at' }, { column: 'visits.id' }])
      .select(
        'visits.id',
        'visits.visit_no',
        'visits.channel',
        'visits.status',
        'visits.counter_id',
        'visits.opened_at',
        'visits.closed_at',
        'staff.login_id',
      ) as Promise<Record<string, unknown>[]>,
    knex('visit_subjects').whereIn('visit_id', ids).groupBy('visit_id').select('visit_id').count({ n: '*' }) as Promise<
      { visit_id: number | string; n: number | string }[]
    >,
    knex('notices')
      .whereIn('visit_id', ids)
      .orderBy([{ column: 'visit_id' }, { column: 'id' }])
      .select('visit_id', 'notice_type') as Promise<{ visit_id: number | string; notice_type: string }[]>,
    knex('visit_procedures')
      .whereIn('visit_id', ids)
      .where('removed', false)
      .orderBy([{ column: 'visit_id' }, { column: 'id' }])
      .select('visit_id', 'procedure_id', 'status') as Promise<{ visit_id: number | string; procedure_id: string; status: string }[]>,
  ]);
  const subjectCount = new Map(subjects.map((s) => [Number(s.visit_id), Number(s.n)]));
  const noticesOf = new Map<number, string[]>();
  for (const n of notices) {
    const list = noticesOf.get(Number(n.visit_id)) ?? [];
    list.push(n.notice_type);
    noticesOf.set(Number(n.visit_id), list);
  }
  const proceduresOf = new Map<number, { id: string; status: string }[]>();
  for (const p of procedures) {
    const list = proceduresOf.get(Number(p.visit_id)) ?? [];
    list.push({ id: p.procedure_id, status: p.status });
    proceduresOf.set(Number(p.visit_id), list);
  }
  const names = new Map(counters.map((c) => [c.id, c.name]));
  return visits.map((v) => {
    const id = Number(v.id);
    const openedAt = dbDate(v.opened_at)!;
    const closedAt = dbDate(v.closed_at);
    const counterId = v.counter_id === null || v.counter_id === undefined || v.counter_id === '' ? null : String(v.counter_id);
    const procs = proceduresOf.get(id) ?? [];
    return {
      visitNo: String(v.visit_no),
      channel: String(v.channel),
      openedAt: japanDateTime(openedAt),
      closedAt: closedAt ? japanDateTime(closedAt) : null,
      minutes: v.status === 'closed' ? durationMinutes(openedAt, closedAt) : null,
      status: String(v.status),
      counterId,
      counterName: counterId ? (names.get(counterId) ?? null) : null,
      staffLogin: String(v.login_id),
      subjects: subjectCount.get(id) ?? 0,
      noticeTypes: noticesOf.get(id) ?? [],
      procedures: procs.length,
      procedureIds: procs.map((p) => p.id),
      referred: procs.filter((p) => p.status === 'referred').length,
    };
  });
}

/* ---------- CSV ---------- */

const num = (n: number | null): string => (n === null ? '' : String(n));
const list = (xs: readonly string[]): string => xs.join(',');
const noticeLabel = (t: string): string => (noticeTypeLabels as Readonly<Record<string, string>>)[t] ?? t;
const reverse = (m: Readonly<Record<string, string>>): Map<string, string> => new Map(Object.entries(m).map(([k, v]) => [v, k]));

/** The visit export: one line per visit, columns `VISIT_CSV_COLUMNS`. */
export function visitCsv(rows: readonly VisitRow[], encoding: CsvEncoding): Buffer {
  const lines = rows.map((r) => [
    r.visitNo,
    channelLabels[r.channel] ?? r.channel,
    r.openedAt,
    r.closedAt ?? '',
    num(r.minutes),
    statusLabels[r.status as VisitStatus] ?? r.status,
    r.counterId ?? '',
    r.counterName ?? '',
    r.staffLogin,
    String(r.subjects),
    list(r.noticeTypes.map(noticeLabel)),
    String(r.procedures),
    list(r.procedureIds),
    String(r.referred),
  ]);
  return encodeCsv(VISIT_CSV_COLUMNS, lines, encoding, (i) => `来庁番号 ${rows[i]!.visitNo}`);
}

/** Reads a visit export back (round-trip checks, and for those who load it into other tools). */
export function parseVisitCsv(buf: Buffer, encoding: CsvEncoding): VisitRow[] {
  const [header, ...records] = decodeCsv(buf, encoding);
  if (!header || header.join(',') !== VISIT_CSV_COLUMNS.join(','))
    throw new Error(`来庁記録の CSV の見出しが違います: ${header?.join(',') ?? '(空)'}`);
  const channels = reverse(channelLabels);
  const statuses = reverse(statusLabels);
  const notices = reverse(noticeTypeLabels);
  const orNull = (s: string): string | null => (s === '' ? null : s);
  const split = (s: string): string[] => (s === '' ? [] : s.split(','));
  return records.map((f) => ({
    visitNo: f[0]!,
    channel: channels.get(f[1]!) ?? f[1]!,
    openedAt: f[2]!,
    closedAt: orNull(f[3]!),
    minutes: f[4] === '' ? null : Number(f[4]),
    status: statuses.get(f[5]!) ?? f[5]!,
    counterId: orNull(f[6]!),
    counterName: orNull(f[7]!),
    staffLogin: f[8]!,
    subjects: Number(f[9]),
    noticeTypes: split(f[10]!).map((l) => notices.get(l) ?? l),
    procedures: Number(f[11]),
    procedureIds: split(f[12]!),
    referred: Number(f[13]),
  }));
}

/* ---------- the counter-time report ---------- */

/**
 * The nearest-rank percentile: the value at rank ⌈p/100 × N⌉ (at least 1) of the N values in
 * ascending order. Always one of the observed values; the median is p = 50, so with an even N it
 * is the lower of the two middle values. Null without values. `p` is a whole percentage (1–100).
 */
export function nearestRank(sortedAscending: readonly number[], p: number): number | null {
  const n = sortedAscending.length;
  if (n === 0) return null;
  // Integer arithmetic: 0.9 × 30 is 27.000000000000004 in floating point.
  const rank = Math.max(1, Math.ceil((p * n) / 100));
  return sortedAscending[Math.min(rank, n) - 1]!;
}

/** A Japanese fiscal quarter: 第1四半期 = April–June … 第4四半期 = January–March of the next year. */
export interface FiscalQuarter {
  /** `2026-Q1` (fiscal year, 西暦). */
  key: string;
  fiscalYear: number;
  quarter: 1 | 2 | 3 | 4;
  start: string;
  end: string;
  /** `2026年度 第1四半期`, for files (the months are in the period columns). */
  label: string;
  /** `令和8年度 第1四半期 (4〜6月)`, for screens. */
  warekiLabel: string;
}

const QUARTER_MONTHS = ['4〜6月', '7〜9月', '10〜12月', '1〜3月'] as const;

export function fiscalQuarterOf(date: string): FiscalQuarter {
  const y = Number(date.slice(0, 4));
  const m = Number(date.slice(5, 7));
  const quarter = (m >= 4 ? Math.floor((m - 4) / 3) + 1 : 4) as 1 | 2 | 3 | 4;
  const fiscalYear = m >= 4 ? y : y - 1;
  const startMonth = [4, 7, 10, 1][quarter - 1]!;
  const startYear = quarter === 4 ? fiscalYear + 1 : fiscalYear;
  const start = `${startYear}-${String(startMonth).padStart(2, '0')}-01`;
  const nextStart = startMonth === 10 ? `${startYear + 1}-01-01` : `${startYear}-${String(startMonth + 3).padStart(2, '0')}-01`;
  const w = toWarekiParts(`${fiscalYear}-04-01`);
  const tail = `第${quarter}四半期 (${QUARTER_MONTHS[quarter - 1]})`;
  return {
    key: `${fiscalYear}-Q${quarter}`,
    fiscalYear,
    quarter,
    start,
    end: addDays(nextStart, -1),
    label: `${fiscalYear}年度 第${quarter}四半期`,
    warekiLabel: w ? `${w.era}${w.year === 1 ? '元' : w.year}年度 ${tail}` : `${fiscalYear}年度 ${tail}`,
  };
}

export interface DurationStats {
  /** Visits opened (any state). */
  visits: number;
  /** Of those, closed ones with a time: the basis of the median and the 90th percentile. */
  closed: number;
  medianMinutes: number | null;
  p90Minutes: number | null;
  /** Procedures on the visits' lists (not removed). */
  procedures: number;
  /** procedures ÷ visits; null without visits. */
  proceduresPerVisit: number | null;
}

export interface CounterKey {
  /** null: visits at the counter with no counter chosen. */
  counterId: string | null;
  counterName: string;
}

export interface CounterDayStats extends CounterKey, DurationStats {
  date: string;
}

export interface QuarterStats extends DurationStats {
  quarter: FiscalQuarter;
  /** The part of the quarter inside the report's period. */
  from: string;
  to: string;
  partial: boolean;
}

export interface CounterTimeReport extends DateRange {
  /** Per counter and day, days in order, counters in the configuration's order; only days with visits. */
  days: CounterDayStats[];
  /** Per counter for the whole period: every configured counter, then any other seen. */
  counters: (CounterKey & DurationStats)[];
  /** All counters per fiscal quarter that the period touches (also those without visits). */
  quarters: QuarterStats[];
  overall: DurationStats;
}

export const NO_COUNTER_NAME = '窓口未設定';
export const UNKNOWN_COUNTER_SUFFIX = ' (設定にない窓口)';

function stats(rows: readonly VisitRow[]): DurationStats {
  const times = rows
    .map((r) => r.minutes)
    .filter((m): m is number => m !== null)
    .sort((a, b) => a - b);
  const procedures = rows.reduce((n, r) => n + r.procedures, 0);
  return {
    visits: rows.length,
    closed: times.length,
    medianMinutes: nearestRank(times, 50),
    p90Minutes: nearestRank(times, 90),
    procedures,
    proceduresPerVisit: rows.length ? procedures / rows.length : null,
  };
}

/** The report from visit rows (only visits taken at a counter: channel `counter`). */
export function summarizeCounterTime(rows: readonly VisitRow[], range: DateRange, counters: readonly Counter[]): CounterTimeReport {
  const atCounter = rows.filter((r) => r.channel === 'counter');
  const order = new Map(counters.map((c, i) => [c.id, i]));
  const nameOf = (id: string | null): string =>
    id === null ? NO_COUNTER_NAME : (counters.find((c) => c.id === id)?.name ?? `${id}${UNKNOWN_COUNTER_SUFFIX}`);
  const rank = (id: string | null): [number, string] =>
    id === null ? [2, ''] : order.has(id) ? [0, String(order.get(id)!).padStart(6, '0')] : [1, id];
  const byCounter = (a: string | null, b: string | null): number => {
    const [x, y] = [rank(a), rank(b)];
    return x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0);
  };
  const group = <K>(key: (r: VisitRow) => K): Map<K, VisitRow[]> => {
    const m = new Map<K, VisitRow[]>();
    for (const r of atCounter) {
      const k = key(r);
      const l = m.get(k);
      if (l) l.push(r);
      else m.set(k, [r]);
    }
    return m;
  };
  const days = [...group((r) => `${r.openedAt.slice(0, 10)}\t${r.counterId ?? ''}`).entries()]
    .map(([k, rs]) => {
      const [date, id] = k.split('\t') as [string, string];
      const counterId = id === '' ? null : id;
      return { date, counterId, counterName: nameOf(counterId), ...stats(rs) };
    })
    .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : byCounter(a.counterId, b.counterId)));
  const perCounter = group((r) => r.counterId);
  const ids = [...new Set<string | null>([...counters.map((c) => c.id), ...perCounter.keys()])].sort(byCounter);
  const quarters: QuarterStats[] = [];
  for (let q = fiscalQuarterOf(range.from); q.start <= range.to; q = fiscalQuarterOf(addDays(q.end, 1))) {
    const from = q.start < range.from ? range.from : q.start;
    const to = q.end > range.to ? range.to : q.end;
    const rs = atCounter.filter((r) => r.openedAt.slice(0, 10) >= from && r.openedAt.slice(0, 10) <= to);
    quarters.push({ quarter: q, from, to, partial: from !== q.start || to !== q.end, ...stats(rs) });
  }
  return {
    from: range.from,
    to: range.to,
    days,
    counters: ids.map((id) => ({ counterId: id, counterName: nameOf(id), ...stats(perCounter.get(id) ?? []) })),
    quarters,
    overall: stats(atCounter),
  };
}

/** Counter time per counter and day, per counter, and per fiscal quarter, for the period. */
export async function counterTimeReport(knex: Knex, range: DateRange, counters: readonly Counter[]): Promise<CounterTimeReport> {
  return summarizeCounterTime(await visitRows(knex, range, counters), range, counters);
}

/** The report export's columns (docs/data-dictionary.md#窓口所要時間の集計). */
export const COUNTER_TIME_CSV_COLUMNS = [
  '区分',
  '四半期',
  '期間開始',
  '期間終了',
  '窓口ID',
  '窓口名',
  '来庁数',
  '完了数',
  '所要分中央値',
  '所要分90パーセンタイル',
  '手続き数',
  '来庁あたり手続き数',
] as const;

/** Rounds a mean for files and screens (two decimals). */
export const roundMean = (n: number | null): number | null => (n === null ? null : Math.round(n * 100) / 100);

/** The report as lines: 日別, then 窓口別 (whole period), then 四半期別, then 全体. */
export function counterTimeLines(report: CounterTimeReport): string[][] {
  const values = (s: DurationStats): string[] => [
    String(s.visits),
    String(s.closed),
    num(s.medianMinutes),
    num(s.p90Minutes),
    String(s.procedures),
    num(roundMean(s.proceduresPerVisit)),
  ];
  const quarterOf = (date: string): string => fiscalQuarterOf(date).label;
  return [
    ...report.days.map((d) => ['日別', quarterOf(d.date), d.date, d.date, d.counterId ?? '', d.counterName, ...values(d)]),
    ...report.counters.map((c) => ['窓口別', '', report.from, report.to, c.counterId ?? '', c.counterName, ...values(c)]),
    ...report.quarters.map((q) => ['四半期別', q.quarter.label, q.from, q.to, '', '', ...values(q)]),
    ['全体', '', report.from, report.to, '', '', ...values(report.overall)],
  ];
}

export function counterTimeCsv(report: CounterTimeReport, encoding: CsvEncoding): Buffer {
  const lines = counterTimeLines(report);
  return encodeCsv(COUNTER_TIME_CSV_COLUMNS, lines, encoding, (i) => `${lines[i]![0]} ${lines[i]![2]} ${lines[i]![5]}`.trim());
}
