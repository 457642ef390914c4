import { expect } from 'chai';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Counter } from '../../server/src/config/appConfig.js';
import { todayInJapan } from '../../server/src/domain/dates.js';
import {
  COUNTER_TIME_CSV_COLUMNS,
  CsvEncodingError,
  VISIT_CSV_COLUMNS,
  counterTimeCsv,
  counterTimeReport,
  decodeCsv,
  fiscalQuarterOf,
  nearestRank,
  parseVisitCsv,
  visitCsv,
  visitRows,
  type DurationStats,
  type VisitRow,
} from '../../server/src/stats/visitStats.js';
import { getAs } from '../helpers/http.js';
import { loginAs, type LoggedIn } from '../helpers/login.js';
import { configDir, tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const RANGE = { from: '2026-06-29', to: '2026-07-01' };
const FISCAL_2026 = { from: '2026-04-01', to: '2027-03-31' };

/** The duration statistics without the identifying keys, for exact comparison. */
const numbers = (s: DurationStats): DurationStats => ({
  visits: s.visits,
  closed: s.closed,
  medianMinutes: s.medianMinutes,
  p90Minutes: s.p90Minutes,
  procedures: s.procedures,
  proceduresPerVisit: s.proceduresPerVisit,
});
const none = (visits = 0): DurationStats => ({
  visits,
  closed: 0,
  medianMinutes: null,
  p90Minutes: null,
  procedures: 0,
  proceduresPerVisit: visits ? 0 : null,
});

describe('visit statistics: counter time by counter, day and fiscal quarter; the statistics CSV', function () {
  this.timeout(60_000);
  let server: TestServer;
  let admin: LoggedIn;
  let clerk: LoggedIn;
  let clerkLogin: string;
  let counters: Counter[];
  const ids: Record<string, number> = {};
  let routesRegistered = false;

  before(async () => {
    server = await startTestServer();
    counters = server.config.counters;
    admin = await loginAs(server.url, server.knex, ['admin']); // holds export.csv
    clerk = await loginAs(server.url, server.knex, ['counter']); // does not
    clerkLogin = ((await server.knex('staff').where({ id: clerk.staffId }).first('login_id')) as { login_id: string }).login_id;
    const knex = server.knex;
    let n = 0;
    /** A visit opened at `at` (Japan time) lasting `minutes` (null: still paused). */
    const visit = async (
      key: string,
      at: string,
      minutes: number | null,
      counterId: string | null,
      extra: Record<string, unknown> = {},
    ) => {
      const openedAt = new Date(`${at}+09:00`);
      const [row] = await knex('visits')
        .insert({
          visit_no: `${at.slice(0, 10).replaceAll('-', '')}-${String(++n).padStart(4, '0')}`,
          status: minutes === null ? 'paused' : 'closed',
          channel: 'counter',
          counter_id: counterId,
          opened_by: clerk.staffId,
          opened_at: openedAt,
          closed_at: minutes === null ? null : new Date(openedAt.getTime() + minutes * 60_000),
          updated_by: clerk.staffId,
          updated_at: openedAt,
          ...extra,
        })
        .returning('id');
      ids[key] = typeof row === 'object' ? (row as { id: number }).id : Number(row);
    };
    // 2026-06-29 (Mon, 第1四半期): 08:45 JST is 23:45 UTC the day before.
    await visit('A1', '2026-06-29T08:45:00', 12, 'shimin-1', {
      visitor_name: '来庁 花子',
      visitor_kana: 'ライチョウ ハナコ',
      visitor_address: '緑ケ丘二丁目3番地4',
      visitor_addressee_no: '100000000009',
      visitor_birth_date: '1977-10-03',
    });
    await visit('A2', '2026-06-29T09:10:00', 5, 'shimin-1');
    await visit('B1', '2026-06-29T09:30:00', 25, 'hoken-5');
    await visit('A3', '2026-06-29T10:00:00', 30, 'shimin-1');
    await visit('A4', '2026-06-29T11:00:00', 18, 'shimin-1');
    await visit('A5', '2026-06-29T13:00:00', null, 'shimin-1');
    await visit('B2', '2026-06-29T14:00:00', 40, 'hoken-5');
    // 2026-07-01 (Wed, 第2四半期).
    await visit('C1', '2026-07-01T09:00:00', 8, 'shimin-1');
    await visit('C2', '2026-07-01T10:00:00', 9, 'shimin-1');
    await visit('D1', '2026-07-01T10:30:00', 60, 'hoken-5');
    await visit('C3', '2026-07-01T11:00:00', 10, 'shimin-1');
    await visit('P1', '2026-07-01T12:00:00', 3, null, { channel: 'post' });
    await visit('C4', '2026-07-01T23:30:00', 15, 'shimin-1');
    // Just outside the period, on either side (Japan time).
    await visit('X1', '2026-06-28T23:59:59', 7, 'shimin-1');
    await visit('X2', '2026-07-02T00:00:00', 7, 'shimin-1');

    const at = new Date('2026-06-29T09:00:00+09:00');
    await knex('visit_subjects').insert(
      ['100000000001', '100000000002'].map((a) => ({ visit_id: ids.A1, addressee_no: a, added_by: clerk.staffId, added_at: at })),
    );
    await knex('visit_subjects').insert({
      visit_id: ids.B1,
      manual_name: '転入 予定',
      manual_address: '東京都千代田区',
      added_by: clerk.staffId,
      added_at: at,
    });
    const notice = (visitId: number, type: string) => ({
      visit_id: visitId,
      notice_type: type,
      status: 'accepted',
      reported_date: '2026-06-29',
      data: '{"name":"来庁 花子"}',
      created_by: clerk.staffId,
      created_at: at,
      updated_at: at,
    });
    await knex('notices').insert([notice(ids.A1!, 'moveIn'), notice(ids.A1!, 'individual'), notice(ids.D1!, 'relocation')]);
    const proc = (visitId: number, procedureId: string, status = 'pending', removed = false) => ({
      visit_id: visitId,
      procedure_id: procedureId,
      members: '["100000000001"]',
      reasons: '[]',
      source: 'rule',
      status,
      removed,
      updated_at: at,
    });
    await knex('visit_procedures').insert([
      proc(ids.A1!, 'nhiEnrol'),
      proc(ids.A1!, 'myNumberCardAddress'),
      proc(ids.A1!, 'lateElderlyAddress', 'pending', true),
      proc(ids.A2!, 'pensionAddress', 'referred'),
      proc(ids.B1!, 'nhiEnrol', 'done'),
      proc(ids.D1!, 'nhiAddress', 'done'),
      proc(ids.D1!, 'lateElderlyAddress', 'referred'),
    ]);
    routesRegistered = (await getAs(`${server.url}stats/visits`, admin)).status !== 404;
  });
  after(async () => {
    await server.close();
  });

  it('takes percentiles by nearest rank and fiscal quarters from April', () => {
    const upTo = (k: number) => Array.from({ length: k }, (_, i) => i + 1);
    expect(nearestRank([], 50)).to.equal(null);
    expect(nearestRank([7], 90)).to.equal(7);
    expect(nearestRank([1, 2], 50)).to.equal(1); // even count: the lower middle value
    expect(nearestRank(upTo(10), 90)).to.equal(9);
    expect(nearestRank(upTo(30), 90)).to.equal(27); // 0.9 × 30 is 27.000000000000004 in floating point
    expect(nearestRank(upTo(11), 50)).to.equal(6);
    expect(nearestRank(upTo(4), 100)).to.equal(4);
    expect(fiscalQuarterOf('2026-06-30')).to.deep.include({
      key: '2026-Q1',
      start: '2026-04-01',
      end: '2026-06-30',
      label: '2026年度 第1四半期',
      warekiLabel: '令和8年度 第1四半期 (4〜6月)',
    });
    expect(fiscalQuarterOf('2026-12-31')).to.deep.include({ key: '2026-Q3', start: '2026-10-01', end: '2026-12-31' });
    expect(fiscalQuarterOf('2027-02-10')).to.deep.include({
      key: '2026-Q4',
      fiscalYear: 2026,
      quarter: 4,
      start: '2027-01-01',
      end: '2027-03-31',
      warekiLabel: '令和8年度 第4四半期 (1〜3月)',
    });
    expect(fiscalQuarterOf('2024-02-29').end).to.equal('2024-03-31');
    expect(fiscalQuarterOf('2019-05-01').warekiLabel).to.equal('平成31年度 第1四半期 (4〜6月)');
  });

  it('lists the visits of the period (Japan time, both ends included) without personal data', async () => {
    const rows = await visitRows(server.knex, RANGE, counters);
    expect(rows.map((r) => r.visitNo.slice(-4))).to.deep.equal([
      '0001',
      '0002',
      '0003',
      '0004',
      '0005',
      '0006',
      '0007',
      '0008',
      '0009',
      '0010',
      '0011',
      '0012',
      '0013',
    ]);
    expect(rows[0]).to.deep.equal({
      visitNo: '20260629-0001',
      channel: 'counter',
      openedAt: '2026-06-29 08:45:00',
      closedAt: '2026-06-29 08:57:00',
      minutes: 12,
      status: 'closed',
      counterId: 'shimin-1',
      counterName: '住民窓口 1番',
      staffLogin: clerkLogin,
      subjects: 2,
      noticeTypes: ['moveIn', 'individual'],
      procedures: 2,
      procedureIds: ['nhiEnrol', 'myNumberCardAddress'],
      referred: 0,
    } satisfies VisitRow);
    const byNo = new Map(rows.map((r) => [r.visitNo.slice(-4), r]));
    expect(byNo.get('0002')).to.deep.include({ procedures: 1, referred: 1, subjects: 0, noticeTypes: [] });
    expect(byNo.get('0006')).to.deep.include({ status: 'paused', closedAt: null, minutes: null });
    expect(byNo.get('0010')).to.deep.include({
      counterId: 'hoken-5',
      counterName: '保険年金窓口 5番',
      procedures: 2,
      referred: 1,
      noticeTypes: ['relocation'],
    });
    expect(byNo.get('0012')).to.deep.include({ channel: 'post', counterId: null, counterName: null, minutes: 3 });
    expect(byNo.get('0013')).to.deep.include({ openedAt: '2026-07-01 23:30:00', closedAt: '2026-07-01 23:45:00', minutes: 15 });
    const text = visitCsv(rows, 'utf8').toString('utf8');
    for (const personal of ['花子', 'ハナコ', '緑ケ丘', '100000000', '1977', '転入 予定', '千代田'])
      expect(text, personal).to.not.contain(personal);
  });

  it('reports visits, median and 90th percentile minutes and procedures per visit by counter and day, per counter and per quarter', async () => {
    const report = await counterTimeReport(server.knex, RANGE, counters);
    expect(report.days.map((d) => ({ date: d.date, counterId: d.counterId, ...numbers(d) }))).to.deep.equal([
      {
        date: '2026-06-29',
        counterId: 'shimin-1',
        visits: 5,
        closed: 4,
        medianMinutes: 12,
        p90Minutes: 30,
        procedures: 3,
        proceduresPerVisit: 0.6,
      },
      {
        date: '2026-06-29',
        counterId: 'hoken-5',
        visits: 2,
        closed: 2,
        medianMinutes: 25,
        p90Minutes: 40,
        procedures: 1,
        proceduresPerVisit: 0.5,
      },
      {
        date: '2026-07-01',
        counterId: 'shimin-1',
        visits: 4,
        closed: 4,
        medianMinutes: 9,
        p90Minutes: 15,
        procedures: 0,
        proceduresPerVisit: 0,
      },
      {
        date: '2026-07-01',
        counterId: 'hoken-5',
        visits: 1,
        closed: 1,
        medianMinutes: 60,
        p90Minutes: 60,
        procedures: 2,
        proceduresPerVisit: 2,
      },
    ]);
    // Every configured counter, in the configuration's order; the post visit is not counter time.
    expect(report.counters.map((c) => c.counterId)).to.deep.equal(counters.map((c) => c.id));
    const byCounter = new Map(report.counters.map((c) => [c.counterId, numbers(c)]));
    expect(byCounter.get('shimin-1')).to.deep.equal({
      visits: 9,
      closed: 8,
      medianMinutes: 10,
      p90Minutes: 30,
      procedures: 3,
      proceduresPerVisit: 3 / 9,
    });
    expect(byCounter.get('hoken-5')).to.deep.equal({
      visits: 3,
      closed: 3,
      medianMinutes: 40,
      p90Minutes: 60,
      procedures: 3,
      proceduresPerVisit: 1,
    });
    expect(byCounter.get('shimin-2')).to.deep.equal(none());
    expect(report.quarters.map((q) => ({ key: q.quarter.key, from: q.from, to: q.to, partial: q.partial, ...numbers(q) }))).to.deep.equal([
      {
        key: '2026-Q1',
        from: '2026-06-29',
        to: '2026-06-30',
        partial: true,
        visits: 7,
        closed: 6,
        medianMinutes: 18,
        p90Minutes: 40,
        procedures: 4,
        proceduresPerVisit: 4 / 7,
      },
      {
        key: '2026-Q2',
        from: '2026-07-01',
        to: '2026-07-01',
        partial: true,
        visits: 5,
        closed: 5,
        medianMinutes: 10,
        p90Minutes: 60,
        procedures: 2,
        proceduresPerVisit: 0.4,
      },
    ]);
    expect(numbers(report.overall)).to.deep.equal({
      visits: 12,
      closed: 11,
      medianMinutes: 15,
      p90Minutes: 40,
      procedures: 6,
      proceduresPerVisit: 0.5,
    });

    // The whole fiscal year: four quarters, the ones without visits included; the visits just
    // outside the short period now count (06-28 23:59:59 in 第1, 07-02 00:00 in 第2).
    const year = await counterTimeReport(server.knex, FISCAL_2026, counters);
    expect(year.quarters.map((q) => ({ key: q.quarter.key, from: q.from, to: q.to, partial: q.partial, ...numbers(q) }))).to.deep.equal([
      {
        key: '2026-Q1',
        from: '2026-04-01',
        to: '2026-06-30',
        partial: false,
        visits: 8,
        closed: 7,
        medianMinutes: 18,
        p90Minutes: 40,
        procedures: 4,
        proceduresPerVisit: 0.5,
      },
      {
        key: '2026-Q2',
        from: '2026-07-01',
        to: '2026-09-30',
        partial: false,
        visits: 6,
        closed: 6,
        medianMinutes: 9,
        p90Minutes: 60,
        procedures: 2,
        proceduresPerVisit: 2 / 6,
      },
      { key: '2026-Q3', from: '2026-10-01', to: '2026-12-31', partial: false, ...none() },
      { key: '2026-Q4', from: '2027-01-01', to: '2027-03-31', partial: false, ...none() },
    ]);

    const [header, ...lines] = decodeCsv(counterTimeCsv(report, 'cp932'), 'cp932');
    expect(header).to.deep.equal([...COUNTER_TIME_CSV_COLUMNS]);
    expect(lines).to.have.length(4 + counters.length + 2 + 1);
    expect(lines[0]).to.deep.equal([
      '日別',
      '2026年度 第1四半期',
      '2026-06-29',
      '2026-06-29',
      'shimin-1',
      '住民窓口 1番',
      '5',
      '4',
      '12',
      '30',
      '3',
      '0.6',
    ]);
    expect(lines.find((l) => l[0] === '窓口別' && l[4] === 'shimin-1')).to.deep.equal([
      '窓口別',
      '',
      '2026-06-29',
      '2026-07-01',
      'shimin-1',
      '住民窓口 1番',
      '9',
      '8',
      '10',
      '30',
      '3',
      '0.33',
    ]);
    expect(lines.find((l) => l[0] === '窓口別' && l[4] === 'shimin-2')).to.deep.equal([
      '窓口別',
      '',
      '2026-06-29',
      '2026-07-01',
      'shimin-2',
      '住民窓口 2番',
      '0',
      '0',
      '',
      '',
      '0',
      '',
    ]);
    expect(lines.filter((l) => l[0] === '四半期別')).to.deep.equal([
      ['四半期別', '2026年度 第1四半期', '2026-06-29', '2026-06-30', '', '', '7', '6', '18', '40', '4', '0.57'],
      ['四半期別', '2026年度 第2四半期', '2026-07-01', '2026-07-01', '', '', '5', '5', '10', '60', '2', '0.4'],
    ]);
    expect(lines[lines.length - 1]).to.deep.equal(['全体', '', '2026-06-29', '2026-07-01', '', '', '12', '11', '15', '40', '6', '0.5']);
  });

  it('writes the CSV as UTF-8 with a BOM or as CP932, CRLF and RFC 4180 quoting, and reads it back to the same rows', async () => {
    // A configuration with registered-but-rare characters (CP932's IBM extensions 髙 﨑), a quote and a comma.
    const renamed = counters.map((c) => (c.id === 'shimin-1' ? { ...c, name: '髙﨑支所 "1番", 住民窓口' } : c));
    const rows = await visitRows(server.knex, RANGE, renamed);
    expect(rows[0]!.counterName).to.equal('髙﨑支所 "1番", 住民窓口');
    for (const encoding of ['utf8', 'cp932'] as const) {
      const buf = visitCsv(rows, encoding);
      expect(parseVisitCsv(buf, encoding), encoding).to.deep.equal(rows);
      const text = encoding === 'utf8' ? buf.toString('utf8') : new TextDecoder('shift_jis').decode(buf);
      expect(text.startsWith('\uFEFF'), encoding).to.equal(encoding === 'utf8');
      expect(text.replace(/^\uFEFF/, '').split('\r\n')[0]).to.equal(VISIT_CSV_COLUMNS.join(','));
      expect(text.endsWith('\r\n')).to.equal(true);
      expect(/[^\r]\n/.test(text), 'bare LF').to.equal(false);
      expect(text.split('\r\n')).to.have.length(rows.length + 2);
      expect(text).to.contain(
        `,"髙﨑支所 ""1番"", 住民窓口",${clerkLogin},2,"転入届,手続きのみ (異動なし)",2,"nhiEnrol,myNumberCardAddress",0\r\n`,
      );
      expect(text).to.contain(',郵送,2026-07-01 12:00:00,2026-07-01 12:03:00,3,完了,,,');
      expect(text).to.contain(',2026-06-29 13:00:00,,,保留中,shimin-1,');
    }
    const sjis = visitCsv(rows, 'cp932');
    expect(sjis.includes(Buffer.from([0xfb, 0xfc, 0xfa, 0xb1]))).to.equal(true); // 髙﨑
    expect(sjis.includes(0x3f)).to.equal(false); // no '?' anywhere: nothing was replaced
    // The JIS wave dash that Japanese text stores is written as CP932's 0x8160, not refused.
    const wave = visitCsv(
      await visitRows(
        server.knex,
        RANGE,
        counters.map((c) => (c.id === 'hoken-5' ? { ...c, name: '保険年金窓口〜5番' } : c)),
      ),
      'cp932',
    );
    expect(wave.includes(Buffer.from([0x81, 0x60]))).to.equal(true);
  });

  it('refuses a CP932 export with a character CP932 cannot encode, naming the row and column', async () => {
    const rows = await visitRows(
      server.knex,
      RANGE,
      counters.map((c) => (c.id === 'hoken-5' ? { ...c, name: '𠮷田出張所' } : c)),
    );
    expect(parseVisitCsv(visitCsv(rows, 'utf8'), 'utf8')[2]!.counterName).to.equal('𠮷田出張所');
    let error: unknown;
    try {
      visitCsv(rows, 'cp932');
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(CsvEncodingError);
    const e = error as CsvEncodingError;
    expect(e).to.deep.include({ row: 3, column: '窓口名', character: '𠮷', status: 422 });
    expect(e.message).to.equal(
      'CP932 (Shift_JIS) で表せない文字があります: 3 件目 (来庁番号 20260629-0003) の列「窓口名」の「𠮷」(U+20BB7)。UTF-8 で出力するか、設定の文字を見直してください',
    );
    const report = {
      ...RANGE,
      days: [],
      quarters: [],
      overall: none(),
      counters: [{ counterId: 'x', counterName: '𠮷田出張所', ...none() }],
    };
    expect(() => counterTimeCsv(report, 'cp932')).to.throw(CsvEncodingError, '1 件目 (窓口別 2026-06-29 𠮷田出張所) の列「窓口名」');
  });

  describe('pages and exports (GET /stats/…)', () => {
    before(function () {
      if (!routesRegistered) {
        console.log('      (skipped: server/src/http/app.ts does not call registerStatsRoutes(kit) yet)');
        this.skip();
      }
    });

    const q = new URLSearchParams(RANGE).toString();
    const auditOf = async (action: string) => {
      const r = (await server.knex('audit_trail').where({ action }).orderBy('seq', 'desc').first('staff_id', 'detail', 'result')) as {
        staff_id: number;
        detail: string;
        result: string;
      };
      return { staffId: Number(r.staff_id), result: r.result, detail: JSON.parse(r.detail) as Record<string, unknown> };
    };

    it('shows the report as tables and accessible SVG charts, and records the look', async () => {
      const res = await getAs(`${server.url}stats/visits?${q}`, admin);
      expect(res.status).to.equal(200);
      const page = await res.text();
      expect(page)
        .to.contain('<svg')
        .and.contain('<title id="chart-visits-title">窓口別の来庁数')
        .and.contain('<title id="chart-quarters-title">')
        .and.contain('aria-labelledby="chart-visits-title"');
      expect(page).to.contain(
        '<td>住民窓口 1番</td><td class="num">9</td><td class="num">8</td><td class="num">10</td><td class="num">30</td><td class="num">0.33</td>',
      );
      expect(page).to.contain(
        '<td>保険年金窓口 5番</td><td class="num">3</td><td class="num">3</td><td class="num">40</td><td class="num">60</td><td class="num">1.00</td>',
      );
      expect(page).to.contain(
        '令和8年度 第1四半期 (4〜6月)</td><td>令和8年6月29日〜令和8年6月30日 <span class="muted">(四半期の一部)</span></td><td class="num">7</td><td class="num">6</td><td class="num">18</td><td class="num">40</td>',
      );
      expect(page).to.contain('<td>令和8年7月1日 (水)</td><td>保険年金窓口 5番</td><td class="num">1</td>');
      const qHtml = q.replaceAll('&', '&amp;');
      expect(page)
        .to.contain(`/stats/visits.csv?${qHtml}&amp;encoding=cp932`)
        .and.contain(`/stats/counter-time.csv?${qHtml}&amp;encoding=utf8`);
      expect(page).to.not.contain('style=');
      expect(await auditOf('stats.read')).to.deep.equal({
        staffId: admin.staffId,
        result: 'success',
        detail: { report: 'counterTime', ...RANGE },
      });
    });

    it('defaults to the current fiscal quarter and refuses bad periods in Japanese', async () => {
      const current = fiscalQuarterOf(todayInJapan());
      const page = await (await getAs(`${server.url}stats/visits`, admin)).text();
      expect(page)
        .to.contain(`name="from" type="date" value="${current.start}"`)
        .and.contain(`name="to" type="date" value="${current.end}"`);
      for (const [query, message] of [
        ['from=2026-02-30&to=2026-03-01', '期間の開始は YYYY-MM-DD の形式の実在する日付で指定してください'],
        ['from=2026-04-01&to=R8.4.30', '期間の終了 (YYYY-MM-DD): 形式が正しくありません'],
        ['from=2026-07-01&to=2026-06-30', '期間の開始は終了と同じか、それより前の日付にしてください'],
        ['from=2020-04-01&to=2026-03-31', '期間は 731 日 (2 年) 以内で指定してください'],
      ] as const) {
        for (const path of ['stats/visits', 'stats/visits.csv', 'stats/counter-time.csv']) {
          const res = await getAs(`${server.url}${path}?${query}`, admin);
          expect(res.status, `${path}?${query}`).to.equal(400);
          expect(await res.text()).to.contain(message);
        }
      }
      const bad = await getAs(`${server.url}stats/visits.csv?${q}&encoding=latin1`, admin);
      expect(bad.status).to.equal(400);
      expect(await bad.text()).to.contain('文字コード (encoding): 次のいずれかで指定してください: utf8、cp932');
    });

    it('exports the visits in both encodings and the report, each export recorded', async () => {
      const expected = await visitRows(server.knex, RANGE, counters);
      for (const encoding of ['utf8', 'cp932'] as const) {
        const res = await getAs(`${server.url}stats/visits.csv?${q}&encoding=${encoding}`, admin);
        expect(res.status).to.equal(200);
        expect(res.headers.get('content-type')).to.equal(encoding === 'utf8' ? 'text/csv; charset=utf-8' : 'text/csv; charset=Shift_JIS');
        expect(res.headers.get('content-disposition')).to.contain('visits-2026-06-29-2026-07-01.csv');
        expect(parseVisitCsv(Buffer.from(await res.arrayBuffer()), encoding)).to.deep.equal(expected);
        expect(await auditOf('stats.export')).to.deep.equal({
          staffId: admin.staffId,
          result: 'success',
          detail: { report: 'visits', ...RANGE, encoding, rows: 13 },
        });
      }
      const res = await getAs(`${server.url}stats/counter-time.csv?${q}`, admin);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-disposition')).to.contain('counter-time-2026-06-29-2026-07-01.csv');
      const [header, ...lines] = decodeCsv(Buffer.from(await res.arrayBuffer()), 'utf8');
      expect(header).to.deep.equal([...COUNTER_TIME_CSV_COLUMNS]);
      expect(lines.find((l) => l[0] === '窓口別' && l[4] === 'hoken-5')).to.deep.equal([
        '窓口別',
        '',
        '2026-06-29',
        '2026-07-01',
        'hoken-5',
        '保険年金窓口 5番',
        '3',
        '3',
        '40',
        '60',
        '3',
        '1',
      ]);
      expect(await auditOf('stats.export')).to.deep.equal({
        staffId: admin.staffId,
        result: 'success',
        detail: { report: 'counterTime', ...RANGE, encoding: 'utf8', rows: lines.length },
      });
    });

    it('answers 422 naming the row and column when the CP932 export meets 𠮷, and records the failure', async () => {
      const t2 = tempDir();
      const config = path.join(t2.dir, 'config');
      cpSync(configDir, config, { recursive: true });
      const yaml = path.join(config, 'municipality.yaml');
      writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('name: 住民窓口 1番,', 'name: 𠮷田支所 住民窓口,'));
      const other = await startTestServer({ configDir: config });
      try {
        const boss = await loginAs(other.url, other.knex, ['admin']);
        const at = new Date('2026-06-29T10:00:00+09:00');
        await other.knex('visits').insert({
          visit_no: '20260629-0001',
          status: 'closed',
          channel: 'counter',
          counter_id: 'shimin-1',
          opened_by: boss.staffId,
          opened_at: at,
          closed_at: new Date(at.getTime() + 600_000),
          updated_at: at,
        });
        const res = await getAs(`${other.url}stats/visits.csv?${q}&encoding=cp932`, boss);
        expect(res.status).to.equal(422);
        expect(await res.text()).to.contain(
          'CP932 (Shift_JIS) で表せない文字があります: 1 件目 (来庁番号 20260629-0001) の列「窓口名」の「𠮷」(U+20BB7)',
        );
        const failed = (await other
          .knex('audit_trail')
          .where({ action: 'stats.export' })
          .orderBy('seq', 'desc')
          .first('result', 'detail')) as { result: string; detail: string };
        expect(failed.result).to.equal('failure');
        expect(JSON.parse(failed.detail)).to.deep.equal({ report: 'visits', ...RANGE, encoding: 'cp932', rows: 1, error: 'unencodable' });
        expect((await getAs(`${other.url}stats/counter-time.csv?${q}&encoding=cp932`, boss)).status).to.equal(422);
        const utf8 = await getAs(`${other.url}stats/visits.csv?${q}&encoding=utf8`, boss);
        expect(utf8.status).to.equal(200);
        expect(parseVisitCsv(Buffer.from(await utf8.arrayBuffer()), 'utf8')[0]!.counterName).to.equal('𠮷田支所 住民窓口');
      } finally {
        await other.close();
        t2.remove();
      }
    });

    it('refuses staff without export.csv (403) and records nothing for them', async () => {
      const before = Number(
        ((await server.knex('audit_trail').where('action', 'like', 'stats.%').count({ n: '*' }).first()) as { n: number | string }).n,
      );
      for (const path of [`stats/visits?${q}`, `stats/visits.csv?${q}`, `stats/counter-time.csv?${q}`]) {
        const res = await getAs(`${server.url}${path}`, clerk);
        expect(res.status, path).to.equal(403);
        expect(await res.text()).to.contain('この操作を行う権限がありません');
      }
      const after = Number(
        ((await server.knex('audit_trail').where('action', 'like', 'stats.%').count({ n: '*' }).first()) as { n: number | string }).n,
      );
      expect(after).to.equal(before);
      const anonymous = await fetch(`${server.url}stats/visits.csv?${q}`, { redirect: 'manual' });
      expect(anonymous.status).to.equal(401);
    });
  });
});
