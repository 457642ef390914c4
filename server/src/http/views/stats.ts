import { addDays } from '../../domain/dates.js';
import { formatWareki } from '../../domain/wareki.js';
import { fiscalQuarterOf, roundMean, type CounterTimeReport, type DurationStats } from '../../stats/visitStats.js';
import { html, type SafeHtml } from '../html.js';

/** The visit statistics page (N-44): the counter-time report as tables and accessible SVG charts. */

export interface View {
  title: string;
  body: SafeHtml;
}

const minutes = (n: number | null): string => (n === null ? '—' : n.toLocaleString('ja-JP', { maximumFractionDigits: 1 }));
const mean = (n: number | null): string =>
  n === null ? '—' : roundMean(n)!.toLocaleString('ja-JP', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const WEEKDAYS = ['日', '月', '火', '水', '木', '金', '土'];
const dayLabel = (d: string): string => `${formatWareki(d)} (${WEEKDAYS[new Date(`${d}T00:00:00Z`).getUTCDay()]})`;
const statCells = (s: DurationStats): SafeHtml =>
  html`<td class="num">${s.visits.toLocaleString('ja-JP')}</td><td class="num">${s.closed.toLocaleString('ja-JP')}</td><td class="num">${minutes(s.medianMinutes)}</td><td class="num">${minutes(s.p90Minutes)}</td><td class="num">${mean(s.proceduresPerVisit)}</td>`;
const STAT_HEADS = html`<th>来庁数</th><th>完了数</th><th>所要分 中央値</th><th>所要分 90パーセンタイル</th><th>来庁あたり手続き数</th>`;

/** Longer day tables start folded (a fiscal year is over a thousand rows). */
const DAY_ROWS_OPEN = 100;

const INK = '#1b1b1b';
const MUTED = '#5a5a5a';
const GRID = '#d0d0d0';
const BLUE = '#0b5cad';
const ORANGE = '#a15c00';

/** A round upper bound for an axis (1, 2 or 5 × 10^k). */
function niceMax(v: number): number {
  if (v <= 0) return 10;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Horizontal bars, one per item; the data are also in the table beside it. */
function barChart(id: string, title: string, items: readonly { label: string; value: number }[], unit: string): SafeHtml {
  const rowH = 28;
  const labelW = 210;
  const barW = 380;
  const width = labelW + barW + 80;
  const height = items.length * rowH + 20;
  const max = Math.max(1, ...items.map((i) => i.value));
  return html`<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="${id}-title" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-size="13" font-family="sans-serif">
<title id="${id}-title">${title}</title>
${items.map((it, i) => {
  const y = 10 + i * rowH;
  const w = Math.round((it.value / max) * barW);
  return html`<g><title>${it.label}: ${it.value.toLocaleString('ja-JP')}${unit}</title><text x="${labelW - 8}" y="${y + 18}" text-anchor="end" fill="${INK}">${it.label}</text><rect x="${labelW}" y="${y + 5}" width="${w}" height="${rowH - 10}" fill="${BLUE}"></rect><text x="${labelW + w + 6}" y="${y + 18}" fill="${INK}">${it.value.toLocaleString('ja-JP')}${unit}</text></g>`;
})}
<line x1="${labelW}" y1="6" x2="${labelW}" y2="${height - 6}" stroke="${MUTED}"></line>
</svg>`;
}

/** Two bars per group (median and 90th percentile), with a legend and a minute axis. */
function pairedBarChart(
  id: string,
  title: string,
  groups: readonly { label: string; a: number | null; b: number | null }[],
  names: [string, string],
): SafeHtml {
  const left = 56;
  const top = 36;
  const plotH = 200;
  const groupW = 130;
  const width = left + Math.max(1, groups.length) * groupW + 20;
  const height = top + plotH + 48;
  const max = niceMax(Math.max(0, ...groups.flatMap((g) => [g.a ?? 0, g.b ?? 0])));
  const y = (v: number) => top + plotH - Math.round((v / max) * plotH);
  const ticks = [0, 1, 2, 3, 4, 5].map((i) => (max * i) / 5);
  const bar = (x: number, v: number | null, fill: string, name: string, group: string): SafeHtml =>
    v === null
      ? html`<text x="${x + 20}" y="${top + plotH - 6}" text-anchor="middle" fill="${MUTED}">—<title>${group} ${name}: データなし</title></text>`
      : html`<g><title>${group} ${name}: ${minutes(v)} 分</title><rect x="${x}" y="${y(v)}" width="40" height="${top + plotH - y(v)}" fill="${fill}"></rect><text x="${x + 20}" y="${y(v) - 4}" text-anchor="middle" fill="${INK}">${minutes(v)}</text></g>`;
  return html`<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="${id}-title" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-size="13" font-family="sans-serif">
<title id="${id}-title">${title}</title>
<g><rect x="${left}" y="8" width="14" height="14" fill="${BLUE}"></rect><text x="${left + 20}" y="20" fill="${INK}">${names[0]}</text><rect x="${left + 110}" y="8" width="14" height="14" fill="${ORANGE}"></rect><text x="${left + 130}" y="20" fill="${INK}">${names[1]}</text></g>
${ticks.map((t) => html`<line x1="${left}" y1="${y(t)}" x2="${width - 10}" y2="${y(t)}" stroke="${GRID}"></line><text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" fill="${MUTED}">${minutes(t)}</text>`)}
<text x="12" y="${top + plotH / 2}" fill="${MUTED}" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle">分</text>
${groups.map((g, i) => {
  const x = left + i * groupW + 20;
  return html`${bar(x, g.a, BLUE, names[0], g.label)}${bar(x + 46, g.b, ORANGE, names[1], g.label)}<text x="${x + 43}" y="${top + plotH + 18}" text-anchor="middle" fill="${INK}">${g.label.split(' ')[0]}</text><text x="${x + 43}" y="${top + plotH + 36}" text-anchor="middle" fill="${INK}">${g.label.split(' ').slice(1).join(' ')}</text>`;
})}
<line x1="${left}" y1="${top + plotH}" x2="${width - 10}" y2="${top + plotH}" stroke="${MUTED}"></line>
</svg>`;
}

/**
 * The report of `report.from`…`report.to` with links to the current and previous quarter and the
 * fiscal year of `today`, and to the CSV exports of the period.
 */
export function counterTimeView(report: CounterTimeReport, today: string): View {
  const range = { from: report.from, to: report.to };
  const current = fiscalQuarterOf(today);
  const previous = fiscalQuarterOf(addDays(current.start, -1));
  const fyStart = `${current.fiscalYear}-04-01`;
  const period = (from: string, to: string) => new URLSearchParams({ from, to }).toString();
  const q = period(range.from, range.to);
  return {
    title: '窓口の来庁・所要時間',
    body: html`<h1>窓口の来庁・所要時間</h1>
<form method="get" action="/stats/visits" class="card filters">
  <label>期間 (日本時間、両端を含む)<br><input name="from" type="date" value="${range.from}" aria-label="期間の初日" required> 〜 <input name="to" type="date" value="${range.to}" aria-label="期間の最終日" required></label>
  <button type="submit">集計する</button>
  <span><a href="/stats/visits?${period(current.start, current.end)}">今四半期</a> ・ <a href="/stats/visits?${period(previous.start, previous.end)}">前四半期</a> ・ <a href="/stats/visits?${period(fyStart, addDays(`${current.fiscalYear + 1}-04-01`, -1))}">今年度</a></span>
</form>
<p>${formatWareki(range.from)}〜${formatWareki(range.to)} に開始した来庁のうち、窓口で受け付けたもの (郵送・職権を除く)。
所要分は来庁の開始から完了まで (保留中の時間を含む) で、完了した来庁だけで計算します。中央値と 90 パーセンタイルは最近順位法
(小さい順に並べて ⌈p/100 × 件数⌉ 番目の値。件数が偶数のときの中央値は中央の 2 つのうち小さい方)。窓口は来庁記録の最後の窓口です。</p>
<p class="card">CSV で出力: 来庁記録 (統計用、個人情報なし) <a href="/stats/visits.csv?${q}&amp;encoding=utf8">UTF-8</a> ・ <a href="/stats/visits.csv?${q}&amp;encoding=cp932">Shift_JIS (CP932)</a>
 / 所要時間の集計 <a href="/stats/counter-time.csv?${q}&amp;encoding=utf8">UTF-8</a> ・ <a href="/stats/counter-time.csv?${q}&amp;encoding=cp932">Shift_JIS (CP932)</a></p>

<h2>窓口別</h2>
<figure class="card" id="by-counter">
${barChart(
  'chart-visits',
  `窓口別の来庁数 (${formatWareki(range.from)}〜${formatWareki(range.to)})`,
  report.counters.map((c) => ({ label: c.counterName, value: c.visits })),
  ' 件',
)}
<table><caption>窓口別の来庁数と所要時間</caption><thead><tr><th>窓口</th>${STAT_HEADS}</tr></thead><tbody>
${report.counters.map((c) => html`<tr><td>${c.counterName}</td>${statCells(c)}</tr>`)}
<tr class="self"><td>全体</td>${statCells(report.overall)}</tr>
</tbody></table>
</figure>

<h2>四半期別 (第1四半期 = 4〜6月)</h2>
<figure class="card" id="by-quarter">
${pairedBarChart(
  'chart-quarters',
  '四半期別の所要分 (中央値と 90 パーセンタイル)',
  report.quarters.map((x) => ({ label: x.quarter.warekiLabel.replace(/ \(.*\)$/, ''), a: x.medianMinutes, b: x.p90Minutes })),
  ['中央値', '90パーセンタイル'],
)}
<table><caption>四半期別の来庁数と所要時間</caption><thead><tr><th>四半期</th><th>集計した期間</th>${STAT_HEADS}</tr></thead><tbody>
${report.quarters.map((x) => html`<tr><td>${x.quarter.warekiLabel}</td><td>${formatWareki(x.from)}〜${formatWareki(x.to)}${x.partial ? html` <span class="muted">(四半期の一部)</span>` : ''}</td>${statCells(x)}</tr>`)}
</tbody></table>
</figure>

<h2>窓口・日別</h2>
${
  report.days.length
    ? html`<details${report.days.length <= DAY_ROWS_OPEN ? html` open` : ''}><summary>窓口・日別の表 (${report.days.length.toLocaleString('ja-JP')} 行)</summary>
<table id="by-day"><thead><tr><th>日付</th><th>窓口</th>${STAT_HEADS}</tr></thead><tbody>
${report.days.map((d) => html`<tr><td>${dayLabel(d.date)}</td><td>${d.counterName}</td>${statCells(d)}</tr>`)}
</tbody></table></details>`
    : html`<p class="muted">この期間の来庁はありません。</p>`
}`,
  };
}
