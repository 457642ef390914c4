import { Type as T, type SchemaOptions } from '@sinclair/typebox';
import { appendAudit, type AuditEntry } from '../../audit/trail.js';
import { isCalendarDate, todayInJapan } from '../../domain/dates.js';
import { DomainError } from '../../errors/domainError.js';
import {
  CsvEncodingError,
  MAX_RANGE_DAYS,
  counterTimeCsv,
  counterTimeLines,
  counterTimeReport,
  fiscalQuarterOf,
  visitCsv,
  visitRows,
  type CsvEncoding,
  type DateRange,
} from '../../stats/visitStats.js';
import { file, htmlPage, type Ctx, type RouteAccess, type RouteKit } from '../kit.js';
import { counterTimeView } from '../views/stats.js';

const daysBetween = (from: string, to: string): number =>
  Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000) + 1;

const calendarDate = (v: string | undefined, label: string): string | null => {
  if (!v) return null;
  if (!isCalendarDate(v)) throw new DomainError('period.badDate', { label });
  return v;
};

/**
 * The period of the query (`from`, `to` already of the form `YYYY-MM-DD` or blank); each end
 * missing defaults to the current fiscal quarter's. Refuses dates that do not exist, a reversed
 * period and one longer than two years.
 */
export function periodFrom(query: { from?: string | undefined; to?: string | undefined }, today = todayInJapan()): DateRange {
  const q = fiscalQuarterOf(today);
  const from = calendarDate(query.from, '期間の開始') ?? q.start;
  const to = calendarDate(query.to, '期間の終了') ?? q.end;
  if (from > to) throw new DomainError('period.reversed');
  if (daysBetween(from, to) > MAX_RANGE_DAYS) throw new DomainError('period.tooLong', { days: MAX_RANGE_DAYS });
  return { from, to };
}

/** A date of the period: `YYYY-MM-DD`, or blank for the current quarter's end. */
const DateOrBlank = (title: string) => T.Optional(T.String({ pattern: '^([0-9]{4}-[0-9]{2}-[0-9]{2})?$', title: `${title} (YYYY-MM-DD)` }));
const Choice = <V extends string>(values: readonly V[], options: SchemaOptions = {}) =>
  T.Unsafe<V>({ type: 'string', enum: [...values], ...options });

const Period = T.Object({ from: DateOrBlank('期間の開始'), to: DateOrBlank('期間の終了') });
const Export = T.Object({
  ...Period.properties,
  encoding: T.Optional(Choice(['utf8', 'cp932'] as const, { title: '文字コード (encoding)', default: 'utf8' })),
});
const PERIOD_ERRORS = ['period.badDate', 'period.reversed', 'period.tooLong'] as const;

/**
 * Visit statistics (N-44): the counter-time report as tables and charts, and the two CSV
 * exports. Looking and exporting are both recorded in the audit trail.
 */
export function registerStatsRoutes({ route, deps, render, actor }: RouteKit): void {
  const knex = deps.knex;
  const exportCsv: RouteAccess = { permission: 'export.csv' };
  const counters = () => deps.config.counters;
  const record = (ctx: Ctx, entry: Pick<AuditEntry, 'action' | 'result' | 'detail'>) =>
    knex.transaction((trx) => appendAudit(trx, { ...actor(ctx), targetKind: 'stats', targetIds: [], ...entry }));

  route(
    {
      method: 'GET',
      path: '/stats/visits',
      access: exportCsv,
      summary: '窓口の来庁数と所要時間 (窓口別・四半期別・日別、表とグラフ)',
      query: Period,
      response: htmlPage,
      errors: PERIOD_ERRORS,
    },
    async (ctx) => {
      const range = periodFrom(ctx.input.query);
      const report = await counterTimeReport(knex, range, counters());
      await record(ctx, { action: 'stats.read', result: 'success', detail: { report: 'counterTime', from: range.from, to: range.to } });
      const v = counterTimeView(report, todayInJapan());
      render(ctx, v.title, v.body);
    },
  );

  /** Records the export (or its failure to encode) and sends the file. */
  const send = async (
    ctx: Ctx,
    report: string,
    range: DateRange,
    encoding: CsvEncoding,
    rows: number,
    make: () => Buffer,
    name: string,
  ) => {
    const detail = { report, from: range.from, to: range.to, encoding, rows };
    let body: Buffer;
    try {
      body = make();
    } catch (e) {
      // The 422 of CsvEncodingError names the row and column; the failure is recorded too.
      if (e instanceof CsvEncodingError)
        await record(ctx, { action: 'stats.export', result: 'failure', detail: { ...detail, error: 'unencodable' } });
      throw e;
    }
    await record(ctx, { action: 'stats.export', result: 'success', detail });
    ctx.type = encoding === 'utf8' ? 'text/csv; charset=utf-8' : 'text/csv; charset=Shift_JIS';
    ctx.attachment(name);
    ctx.body = body;
  };

  route(
    {
      method: 'GET',
      path: '/stats/visits.csv',
      access: exportCsv,
      summary: '来庁記録の CSV (統計用、個人情報なし)',
      query: Export,
      response: file('text/csv'),
      errors: PERIOD_ERRORS,
    },
    async (ctx) => {
      const range = periodFrom(ctx.input.query);
      const encoding = ctx.input.query.encoding ?? 'utf8';
      const rows = await visitRows(knex, range, counters());
      await send(ctx, 'visits', range, encoding, rows.length, () => visitCsv(rows, encoding), `visits-${range.from}-${range.to}.csv`);
    },
  );

  route(
    {
      method: 'GET',
      path: '/stats/counter-time.csv',
      access: exportCsv,
      summary: '窓口所要時間の集計の CSV',
      query: Export,
      response: file('text/csv'),
      errors: PERIOD_ERRORS,
    },
    async (ctx) => {
      const range = periodFrom(ctx.input.query);
      const encoding = ctx.input.query.encoding ?? 'utf8';
      const report = await counterTimeReport(knex, range, counters());
      await send(
        ctx,
        'counterTime',
        range,
        encoding,
        counterTimeLines(report).length,
        () => counterTimeCsv(report, encoding),
        `counter-time-${range.from}-${range.to}.csv`,
      );
    },
  );
}
