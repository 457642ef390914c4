import type { UpsSettings } from '../../config/appConfig.js';
import { japanWarekiTime as jst } from '../../domain/japanTime.js';
import type { SpecStatus } from '../../linkage/status.js';
import type { BackupFreshness } from '../../ops/backup.js';
import type { LinkageFreshness } from '../../ops/health.js';
import type { PowerState, PowerStatus } from '../../ops/power.js';
import { runtimeMinutes, type LiveUpsStatus } from '../../ops/upsStatus.js';
import { jobStatuses, jobStatusLabels } from '../../rpa/jobs.js';
import type { StandbyReport } from '../../standby/status.js';
import { html, type SafeHtml } from '../html.js';

/** The operator's dashboard (admin.staff): UPS, backups, linkage files and the RPA queue at a glance. */

export interface View {
  title: string;
  body: SafeHtml;
}

/** What the dashboard shows, read at `now`. */
export interface OperationsStatus {
  now: Date;
  ups: UpsSettings;
  /** The UPS as upsd reports it now; null when monitoring is off. */
  live: LiveUpsStatus | null;
  power: PowerStatus;
  /** Null when the data directory is not known. */
  backup: BackupFreshness | null;
  specs: readonly SpecStatus[];
  fresh: LinkageFreshness;
  /** RPA jobs per status. */
  jobs: ReadonlyMap<string, number>;
  /** Shipping to the standby; absent without a standby pairing. */
  standby?: StandbyReport;
}

const POWER_LABEL: Readonly<Record<PowerState, string>> = {
  online: '商用電源',
  onBattery: '停電 (バッテリー運転)',
  lowBattery: 'バッテリー残量低下',
  shutdown: '停止指示 (FSD)',
};
const BACKUP_LABEL: Readonly<Record<BackupFreshness['status'], string>> = {
  ok: '正常',
  stale: '古い (最近の成功がない)',
  failed: '失敗',
  none: 'まだありません',
};
const SPEC_LABEL: Readonly<Record<SpecStatus['state'], string>> = {
  ok: '正常',
  loading: '取込中',
  missing: '未着 (期限超過)',
  held: '保留 (全件ファイルの確認待ち)',
  error: 'エラー',
  none: '未取込',
};

const dash = (v: number | string | null, unit = ''): string =>
  v === null ? '—' : `${typeof v === 'number' ? v.toLocaleString('ja-JP') : v}${unit}`;

function hoursSince(iso: string | null, now: number): string {
  if (!iso) return '';
  const h = (now - Date.parse(iso)) / 3600_000;
  return h < 1 ? '1 時間以内' : `${Math.floor(h)} 時間前`;
}

export function operationsView(s: OperationsStatus): View {
  const { now, ups, live, power, backup, fresh, specs, jobs, standby } = s;
  const upsRows = !live
    ? html`<tr><th>監視</th><td>しない設定です (ups.enabled: false)</td></tr>`
    : live.kind === 'unreachable'
      ? html`<tr><th>状態</th><td class="state-missing" id="ups-state">読めません: ${live.reason} <span class="muted">(保守用のコード ${live.code})</span></td></tr>`
      : html`<tr><th>状態</th><td class="${live.onBattery || live.lowBattery ? 'state-missing' : 'state-ok'}" id="ups-state">${live.label} <span class="muted">(${live.raw})</span></td></tr>
<tr><th>バッテリー残量</th><td id="ups-charge">${dash(live.charge, ' %')}</td></tr>
<tr><th>運転可能時間</th><td id="ups-runtime">${dash(runtimeMinutes(live.runtimeSeconds), ' 分')}</td></tr>
<tr><th>負荷</th><td>${dash(live.load, ' %')}</td></tr>
<tr><th>入力電圧</th><td>${dash(live.inputVoltage, ' V')}</td></tr>`;

  return {
    title: '稼働状況',
    body: html`<h1>稼働状況</h1>
<p class="muted">${jst(now.toISOString())} 現在 ・ JSON: <a href="/healthz">/healthz</a></p>
<h2>UPS (無停電電源装置)</h2>
<table id="ops-ups">
<tr><th>UPS</th><td>${ups.name} (${ups.host}:${ups.port})</td></tr>
${upsRows}
<tr><th>最後の電源イベント</th><td id="ups-power">${POWER_LABEL[power.state]} ${power.changedAt ? html`<span class="muted">(${power.event}、${jst(power.changedAt.toISOString())})</span>` : html`<span class="muted">(記録なし)</span>`}</td></tr>
<tr><th>停止の持ち時間</th><td>${ups.stopBudgetSeconds} 秒 <span class="muted">(upsmon の FINALDELAY より短くしてください)</span></td></tr>
</table>
<h2>バックアップ</h2>
${
  backup
    ? html`<table id="ops-backup">
<tr><th>状態</th><td class="${backup.status === 'ok' ? 'state-ok' : 'state-missing'}">${BACKUP_LABEL[backup.status]}</td></tr>
<tr><th>最新</th><td>${backup.lastAt ? jst(backup.lastAt) : '—'}</td></tr>
<tr><th>最新の検証</th><td>${backup.lastVerified === null ? '—' : backup.lastVerified ? '検証済 (復元して整合性を確認)' : '検証に失敗'}</td></tr>
<tr><th>検証済の世代</th><td>${backup.count}</td></tr>
<tr><th>保存先</th><td><code>${backup.target}</code></td></tr>
</table>`
    : html`<p class="muted">データディレクトリが分からないため表示できません。</p>`
}
${
  standby
    ? html`<h2>待機系への複製</h2>
<p id="ops-standby" class="${standby.degraded ? 'state-missing' : 'state-ok'}">${
        standby.degraded
          ? html`⚠ 待機系への送信が遅れています${standby.ship?.error ? html` (${standby.ship.error})` : ''}。受付は続けられますが、この間に運用系が止まると直近の受付が待機系にない場合があります。<code>madoguchi standby status</code> で確認してください。`
          : html`正常`
      } — 相手 <code>${standby.peerUrl ?? ''}</code>・世代 ${standby.epoch ?? '—'}・遅れ ${standby.lagSeconds === null ? '—' : `${standby.lagSeconds} 秒`}${standby.ship?.lastOkAt ? html`・最後の受領 ${jst(standby.ship.lastOkAt)}` : ''}</p>`
    : ''
}
<h2>前方連携 (最後に取り込んだファイル)</h2>
<p id="ops-linkage" class="${fresh.freshness === 'ok' ? 'state-ok' : 'state-missing'}">${fresh.lastAt ? html`最新の取込: ${jst(fresh.lastAt)} (${hoursSince(fresh.lastAt, now.getTime())})` : 'まだ取込はありません'}${fresh.freshness === 'stale' ? html` — ${fresh.maxAgeHours} 時間以上届いていません` : ''}</p>
<table><thead><tr><th>連携仕様</th><th>内容</th><th>最後に取り込んだファイル</th><th>取込日時</th><th>経過</th><th>状態</th></tr></thead><tbody>
${specs.map((s) => html`<tr><td>${s.specId}</td><td>${s.title}</td><td>${s.lastApplied?.fileName ?? '—'}</td><td>${jst(s.lastApplied?.finishedAt ?? null)}</td><td>${hoursSince(s.lastApplied?.finishedAt ?? null, now.getTime())}</td><td class="state-${s.state}">${SPEC_LABEL[s.state]}</td></tr>`)}
</tbody></table>
<h2>RPA のジョブ</h2>
<table id="ops-rpa"><thead><tr>${jobStatuses.map((s) => html`<th>${jobStatusLabels[s]}</th>`)}</tr></thead>
<tbody><tr>${jobStatuses.map((s) => html`<td class="num" data-status="${s}">${jobs.get(s) ?? 0}</td>`)}</tr></tbody></table>
${power.state !== 'online' ? html`<p class="warning">停電中のため、RPA 端末へ新しいジョブを渡していません。</p>` : ''}
<p class="muted"><a href="/linkage">前方連携の詳細</a> ・ <a href="/rpa/jobs">RPA ジョブの一覧</a></p>`,
  };
}
