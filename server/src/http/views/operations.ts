import type { UpsSettings } from '../../config/appConfig.js';
import { japanWarekiTime as jst } from '../../domain/japanTime.js';
import type { SpecStatus } from '../../linkage/status.js';
import type { BackupFreshness } from '../../ops/backup.js';
import { diskStateLabels, PROGRESS_LABEL, SOURCE_LABEL, type DiskHealth, type DiskMember, type DiskState } from '../../ops/diskHealth.js';
import type { LinkageFreshness } from '../../ops/health.js';
import type { ClusterStatus } from '../../ops/leases.js';
import type { PowerState, PowerStatus } from '../../ops/power.js';
import { runtimeMinutes, type LiveUpsStatus } from '../../ops/upsStatus.js';
import { jobStatuses, jobStatusLabels } from '../../rpa/jobs.js';
import type { StandbyReport } from '../../standby/status.js';
import { html, type SafeHtml } from '../html.js';

/** The operator's dashboard (admin.staff): UPS, disks, backups, linkage files and the RPA queue at a glance. */

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
  /** The disk monitor's last collection; null when the server runs without one. */
  disks: DiskHealth | null;
  /** The nodes alive and which holds which lease; `node`: this one. */
  cluster: ClusterStatus & { node: string | null; leaseSeconds: number };
  /** Shipping to the standby; absent without a standby pairing. */
  standby?: StandbyReport;
}

const MEMBER_LABEL: Readonly<Record<DiskMember['state'], string>> = {
  ok: '正常',
  failed: '故障',
  rebuilding: '再構築中',
  spare: '予備',
  unknown: '不明',
};
const stateClass = (s: DiskState): string => (s === 'ok' ? 'state-ok' : s === 'rebuilding' ? 'state-loading' : 'state-missing');

/** RAID arrays, disks and the sources that could not be read, with what to do (Japanese messages). */
function disksSection(d: DiskHealth | null): SafeHtml {
  if (!d || !d.sources.length)
    return html`<p class="muted" id="ops-disks-none">監視しているディスクはありません (municipality.yaml の disks に指定がなく、/proc/mdstat に RAID もありません)${d && d.checkedAt === null ? '。起動直後は最初の確認を待っています' : ''}。</p>`;
  return html`<p id="ops-disks-state" class="${stateClass(d.state)}" data-state="${d.state}">${diskStateLabels[d.state]} <span class="muted">(${d.checkedAt ? `${jst(d.checkedAt.toISOString())} に確認` : '確認中'})</span></p>
${d.messages.length ? html`<ul class="warning" id="ops-disks-messages">${d.messages.map((m) => html`<li>${m}</li>`)}</ul>` : ''}
${
  d.arrays.length
    ? html`<table id="ops-disk-arrays"><thead><tr><th>RAID</th><th>方式</th><th>状態</th><th>ディスク</th><th>進捗</th></tr></thead><tbody>
${d.arrays.map(
  (a) =>
    html`<tr data-array="${a.name}"><td>${a.name}</td><td>${a.level ?? '—'}</td><td class="${stateClass(a.state)}">${diskStateLabels[a.state]}${a.expected !== null ? html` <span class="muted">(${a.working}/${a.expected} 台)</span>` : ''}</td><td>${a.members.map((m, i) => html`${i ? '、' : ''}${m.name} ${m.state === 'ok' ? '' : html`<strong>(${MEMBER_LABEL[m.state]})</strong>`}`)}</td><td>${a.progress ? `${PROGRESS_LABEL[a.progress.action] ?? a.progress.action} ${a.progress.percent === null ? '待機中' : `${a.progress.percent}%`}` : '—'}</td></tr>`,
)}
</tbody></table>`
    : ''
}
${
  d.devices.length
    ? html`<table id="ops-disk-devices"><thead><tr><th>ディスク</th><th>種類</th><th>状態</th><th>代替処理済み</th><th>代替待ち</th><th>回復不能</th><th>NVMe 警告</th><th>温度</th></tr></thead><tbody>
${d.devices.map(
  (v) =>
    html`<tr data-device="${v.name}"><td>${v.name}</td><td>${v.kind}</td><td class="${stateClass(v.state)}">${diskStateLabels[v.state]}</td><td class="num">${dash(v.reallocatedSectors)}</td><td class="num">${dash(v.pendingSectors)}</td><td class="num">${dash(v.uncorrectableSectors)}</td><td class="num">${v.criticalWarning === null ? '—' : `0x${v.criticalWarning.toString(16)}`}</td><td class="num">${dash(v.temperature, ' ℃')}</td></tr>`,
)}
</tbody></table>`
    : ''
}
${d.sources
  .filter((s) => s.state === 'unknown')
  .map(
    (s) => html`<p class="state-missing" data-source="${s.kind}">${SOURCE_LABEL[s.kind]}(${s.target}) を確認できません: ${s.reason}</p>`,
  )}`;
}

/** What each lease guards (ops/leases.ts; main.ts names them). */
const LEASE_LABEL: Readonly<Record<string, string>> = {
  linkage: '連携ファイルの取込・未着の監視',
  schedules: '夜間の定期処理 (バックアップ・届出の CSV・証跡と監査記録の整理・日次アンカー)',
};

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
  const { now, ups, live, power, backup, fresh, specs, jobs, cluster, standby } = s;
  const me = (node: string | null) => (node !== null && node === cluster.node ? html` <span class="muted">(このサーバー)</span>` : '');
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
<h2 id="ops-disks">ディスク (RAID・SMART)</h2>
${disksSection(s.disks)}
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
<h2>サーバーの担当</h2>
<p class="muted">1 度だけ動かす処理は、どれか 1 台のサーバーが担当します。担当のサーバーが止まると、${cluster.leaseSeconds} 秒以内に別のサーバーが引き継ぎます。</p>
<table id="ops-cluster"><thead><tr><th>処理</th><th>担当のサーバー</th><th>担当の期限</th></tr></thead><tbody>
${cluster.leases.map((l) => html`<tr data-lease="${l.name}"><td>${LEASE_LABEL[l.name] ?? l.name}</td><td class="${l.holder ? 'state-ok' : 'state-missing'}">${l.holder ?? '引き継ぎ待ち'}${me(l.holder)}</td><td>${l.expiresAt ? jst(l.expiresAt) : '—'}</td></tr>`)}
</tbody></table>
<p id="ops-nodes">動いているサーバー: ${cluster.nodes.length ? cluster.nodes.map((n, i) => html`${i ? '、' : ''}${n}${me(n)}`) : '—'}</p>
<h2>RPA のジョブ</h2>
<table id="ops-rpa"><thead><tr>${jobStatuses.map((s) => html`<th>${jobStatusLabels[s]}</th>`)}</tr></thead>
<tbody><tr>${jobStatuses.map((s) => html`<td class="num" data-status="${s}">${jobs.get(s) ?? 0}</td>`)}</tr></tbody></table>
${power.state !== 'online' ? html`<p class="warning">停電中のため、RPA 端末へ新しいジョブを渡していません。</p>` : ''}
<p class="muted"><a href="/linkage">前方連携の詳細</a> ・ <a href="/rpa/jobs">RPA ジョブの一覧</a> ・ <a href="/admin/maintenance">保守の記録 (遠隔保守の接続と実行したコマンド)</a></p>`,
  };
}
