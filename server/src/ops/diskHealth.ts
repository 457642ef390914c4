/**
 * Disk health: pure parsers over what the tools print (Linux md's /proc/mdstat, `smartctl -j -H -A`,
 * Broadcom/LSI `storcli64 /call show J`) and the one summary the dashboard, /healthz, the staff
 * banner and the log share. Nothing here runs a command or reads a file (diskMonitor.ts does).
 * No serial numbers or models are kept: names (md0, /dev/sda, 252:1) and states only.
 */

/** Worst first is `failed` > `degraded` > `unknown` > `rebuilding` > `ok` (see `worstOf`). */

/** md's sync action of a rebuild (not an audit action: named so that the audit-label scan does not take it for one). */
const MD_RECOVERY = 'recovery';
export type DiskState = 'ok' | 'rebuilding' | 'degraded' | 'failed' | 'unknown';

export const diskStateLabels: Readonly<Record<DiskState, string>> = {
  ok: '正常',
  rebuilding: '再構築中',
  degraded: '縮退',
  failed: '故障',
  unknown: '確認できません',
};

const SEVERITY: Readonly<Record<DiskState, number>> = { ok: 0, rebuilding: 1, unknown: 2, degraded: 3, failed: 4 };

export function worstOf(states: Iterable<DiskState>): DiskState {
  let worst: DiskState = 'ok';
  for (const s of states) if (SEVERITY[s] > SEVERITY[worst]) worst = s;
  return worst;
}

export type DiskSourceKind = 'mdstat' | 'smart' | 'controller';

export interface DiskMember {
  name: string;
  /** ok, failed (md `(F)`, storcli Failed/Offln/UBad), rebuilding (a new member being filled), spare. */
  state: 'ok' | 'failed' | 'rebuilding' | 'spare' | 'unknown';
}

export interface DiskArray {
  source: 'mdstat' | 'controller';
  /** md0, or the controller's virtual drive `c0/v0`. */
  name: string;
  /** raid1, raid10, RAID1 … */
  level: string | null;
  state: DiskState;
  members: DiskMember[];
  /** Disks the array should have and those working (md `[2/1]`); null when the tool does not say. */
  expected: number | null;
  working: number | null;
  /** A rebuild, resync or check in progress, with its percentage when the tool prints one. */
  progress: { action: string; percent: number | null } | null;
  /** One Japanese line for people (null when all is well). */
  message: string | null;
}

export interface DiskDevice {
  source: 'smart' | 'controller';
  /** /dev/sda, /dev/nvme0, or the controller's slot `c0 252:1`. */
  name: string;
  /** ata, nvme, scsi, or the controller drive's interface. */
  kind: string;
  state: DiskState;
  /** ATA 5 Reallocated_Sector_Ct / 197 Current_Pending_Sector / 198 Offline_Uncorrectable (raw values). */
  reallocatedSectors: number | null;
  pendingSectors: number | null;
  uncorrectableSectors: number | null;
  /** NVMe critical_warning (a bit field; 0 = none). */
  criticalWarning: number | null;
  temperature: number | null;
  message: string | null;
}

/** What one parser understood; `unknown` with a reason when it did not (fail closed). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const fail = <T>(reason: string): Parsed<T> => ({ ok: false, reason });

// ---------------------------------------------------------------------------------------------
// /proc/mdstat (drivers/md/md.c, md_seq_show): a "Personalities" line, one block per array
// (header, status line, optional progress and bitmap lines), then "unused devices: …".

const MD_HEADER = /^(md[A-Za-z0-9_]+) : (active|inactive)(?: \((read-only|auto-read-only)\))?(.*)$/;
const MD_MEMBER = /^([A-Za-z0-9_!.-]+)\[(\d+)\]((?:\([A-Z]\))*)$/;
const MD_STATUS = /\[(\d+)\/(\d+)\] \[([U_]+)\]/;
const MD_PROGRESS = /(recovery|resync|reshape|check|repair)\s*=\s*([0-9]+(?:\.[0-9]+)?)%/;
const MD_WAITING = /(recovery|resync|reshape|check|repair)\s*=\s*(DELAYED|PENDING)/;

export const PROGRESS_LABEL: Readonly<Record<string, string>> = {
  recovery: '再構築',
  resync: '再同期',
  reshape: '構成変更',
  check: '整合性検査',
  repair: '修復',
};

/** Missing members an md level can survive at most; more while active means the data is at risk. */
function mdTolerance(level: string, expected: number): number {
  if (level === 'raid1') return expected - 1;
  if (level === 'raid4' || level === 'raid5') return 1;
  // near-2 layout: one member of each mirrored pair may be missing while md keeps running.
  if (level === 'raid10') return Math.floor(expected / 2);
  if (level === 'raid6') return 2;
  return 0;
}

/**
 * Parses /proc/mdstat. An empty list (no arrays) is a valid answer. Anything the format does not
 * allow (no "Personalities" line, no "unused devices" line at the end, an array without its
 * status line) is refused: a truncated or foreign text must never read as healthy.
 */
export function parseMdstat(text: string): Parsed<DiskArray[]> {
  const lines = text.split('\n').map((l) => l.replace(/\s+$/, ''));
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const first = lines.findIndex((l) => l !== '');
  if (first < 0) return fail('内容が空です');
  if (!lines[first]!.startsWith('Personalities :')) return fail('/proc/mdstat の形式ではありません (Personalities の行がありません)');
  if (!/^unused devices: /.test(lines[lines.length - 1]!)) return fail('途中で切れています (unused devices の行がありません)');
  const arrays: DiskArray[] = [];
  let i = first + 1;
  const body = lines.slice(0, -1);
  while (i < body.length) {
    const line = body[i]!;
    if (line === '' || /^read_ahead /.test(line)) {
      i++;
      continue;
    }
    const h = MD_HEADER.exec(line);
    if (!h) return fail(`読めない行があります: ${line.slice(0, 60)}`);
    const block: string[] = [];
    for (i++; i < body.length && /^\s+\S/.test(body[i]!); i++) block.push(body[i]!.trim());
    const parsed = mdArray(h[1]!, h[2] as 'active' | 'inactive', h[4]!.trim(), block);
    if (!parsed.ok) return parsed;
    arrays.push(parsed.value);
  }
  return { ok: true, value: arrays };
}

function mdArray(name: string, activity: 'active' | 'inactive', rest: string, block: string[]): Parsed<DiskArray> {
  const words = rest ? rest.split(/\s+/) : [];
  // Active arrays name their level first; inactive ones list members only.
  const level = activity === 'active' && words.length && !MD_MEMBER.test(words[0]!) ? words.shift()! : null;
  const members: DiskMember[] = [];
  const numbers: number[] = [];
  for (const w of words) {
    const m = MD_MEMBER.exec(w);
    if (!m) return fail(`${name}: 読めないディスクの表記です (${w.slice(0, 30)})`);
    const flags = m[3]!;
    numbers.push(Number(m[2]));
    members.push({ name: m[1]!, state: flags.includes('(F)') ? 'failed' : flags.includes('(S)') ? 'spare' : 'ok' });
  }
  if (!block.length || !/\bblocks\b/.test(block[0]!)) return fail(`${name}: 状態の行がありません (途中で切れています)`);
  const base = { source: 'mdstat' as const, name, level, members, progress: null, message: null };
  if (activity === 'inactive') {
    return {
      ok: true,
      value: {
        ...base,
        state: 'failed',
        expected: null,
        working: null,
        message: `RAID ${name} が停止しています (inactive)。保守事業者に連絡してください`,
      },
    };
  }
  const status = MD_STATUS.exec(block[0]!);
  const expected = status ? Number(status[1]) : null;
  const working = status ? Number(status[2]) : null;
  if (status && status[3]!.length !== expected) return fail(`${name}: 状態の表記が合いません (${status[0]})`);
  let progress: DiskArray['progress'] = null;
  for (const l of block.slice(1)) {
    const p = MD_PROGRESS.exec(l);
    const w = MD_WAITING.exec(l);
    if (p) progress = { action: p[1]!, percent: Number(p[2]) };
    else if (w) progress = { action: w[1]!, percent: null };
  }
  // A member being filled is listed without a flag but not counted as working yet: md gives it
  // the next free number, so the highest-numbered unflagged members are the ones being filled.
  if (progress?.action === 'recovery' && working !== null) {
    const filling = members.filter((m) => m.state === 'ok').length - working;
    const byNumber = members.map((m, k) => ({ m, n: numbers[k]! })).filter((x) => x.m.state === 'ok');
    byNumber.sort((a, b) => b.n - a.n);
    for (const x of byNumber.slice(0, Math.max(0, filling))) x.m.state = 'rebuilding';
  }
  const missing = expected !== null && working !== null ? expected - working : 0;
  const failedMembers = members.filter((m) => m.state === 'failed').length;
  const lost = Math.max(missing, failedMembers);
  let state: DiskState = 'ok';
  let message: string | null = null;
  const what = (n: number) => (failedMembers ? `ディスク ${n} 台が故障` : `ディスク ${n} 台が欠落`);
  if (missing > 0 && level && expected !== null && (missing > mdTolerance(level, expected) || working === 0)) {
    state = 'failed';
    message = `RAID ${name} が故障しています (${what(lost)}、データを失うおそれがあります)。すぐに保守事業者に連絡してください`;
  } else if (missing > 0 && progress && (progress.action === 'recovery' || progress.action === 'reshape')) {
    state = 'rebuilding';
    message = `RAID ${name} を再構築中です${progress.percent !== null ? ` (${progress.percent}%)` : ' (待機中)'}。終わるまでディスクを抜かないでください`;
  } else if (missing > 0) {
    state = 'degraded';
    message = `RAID ${name} が縮退しています (${what(lost)})。保守事業者に連絡してください`;
  } else if (progress && (progress.action === 'resync' || progress.action === 'recovery')) {
    // After an unclean stop md rewrites the copies: redundancy is not certain until it ends.
    state = 'rebuilding';
    message = `RAID ${name} を再同期中です${progress.percent !== null ? ` (${progress.percent}%)` : ' (待機中)'}。終わるまでサーバーを止めないでください`;
  } else if (failedMembers > 0) {
    // A failed member while all roles are filled (a spare took over): replace it.
    state = 'degraded';
    message = `RAID ${name} のディスク ${failedMembers} 台が故障しています (予備に切り替え済み)。保守事業者に連絡してください`;
  }
  return { ok: true, value: { ...base, state, expected, working, progress, message } };
}

// ---------------------------------------------------------------------------------------------
// smartctl -j -H -A /dev/X (smartmontools 7.x JSON): smart_status, ata_smart_attributes,
// nvme_smart_health_information_log, scsi_grown_defect_list; smartctl.exit_status is a bit field.

interface SmartJson {
  smartctl?: { exit_status?: number; messages?: { string?: string; severity?: string }[] };
  local_time?: { time_t?: number };
  device?: { name?: string; type?: string; protocol?: string };
  smart_status?: { passed?: boolean; nvme?: { value?: number } };
  ata_smart_attributes?: { table?: { id?: number; name?: string; when_failed?: string; raw?: { value?: number } }[] };
  nvme_smart_health_information_log?: {
    critical_warning?: number;
    media_errors?: number;
    percentage_used?: number;
    temperature?: number;
  };
  scsi_grown_defect_list?: number;
  temperature?: { current?: number };
}

const NVME_WARNINGS: readonly [number, string][] = [
  [0x01, '予備領域が下限を下回りました'],
  [0x02, '温度が上限を超えています'],
  [0x04, '信頼性が低下しています'],
  [0x08, '読み取り専用になりました'],
  [0x10, '揮発性メモリのバックアップが故障しています'],
];

/**
 * One device's `smartctl -j -H -A` output. `exitCode` is smartctl's own (bits 0–1: the command
 * line or the device could not be used, so nothing is known; bits 3 and up describe the disk and
 * the JSON says the rest). Without a `smart_status` nothing is known either. `device` is what
 * was asked for (a device, or a recording a root timer wrote); a recording is shown by the JSON's
 * own `device.name`. With `maxAgeMinutes`, a report older than that by its own
 * `local_time` (a recording its timer stopped writing) is refused too.
 */
export function parseSmartctl(
  text: string,
  device: string,
  exitCode: number | null = null,
  freshness: { now: Date; maxAgeMinutes: number } | null = null,
): Parsed<DiskDevice> {
  let j: SmartJson;
  try {
    j = JSON.parse(text) as SmartJson;
  } catch {
    return fail(`${device}: smartctl の出力を JSON として読めません (途中で切れている可能性があります)`);
  }
  if (!j || typeof j !== 'object' || !j.smartctl || typeof j.smartctl !== 'object')
    return fail(`${device}: smartctl の JSON ではありません`);
  if (freshness) {
    const at = j.local_time?.time_t;
    if (typeof at !== 'number') return fail(`${device}: smartctl の出力に時刻 (local_time) がありません`);
    const minutes = (freshness.now.getTime() - at * 1000) / 60_000;
    if (minutes > freshness.maxAgeMinutes) return fail(`${device}: smartctl の記録が古すぎます (${Math.floor(minutes)} 分前)`);
  }
  // A recording names its disk inside; a device asked for directly is its own name.
  const shown = !device.startsWith('/dev/') && typeof j.device?.name === 'string' && j.device.name ? j.device.name : device;
  const status = typeof j.smartctl.exit_status === 'number' ? j.smartctl.exit_status : (exitCode ?? 0);
  if (status & 0b11) {
    const why = j.smartctl.messages?.find((m) => m.severity === 'error')?.string ?? `終了コード ${status}`;
    return fail(`${shown}: smartctl がディスクを読めません (${why.slice(0, 120)})`);
  }
  const passed = j.smart_status?.passed;
  if (typeof passed !== 'boolean') return fail(`${shown}: SMART の判定 (smart_status) がありません`);
  const protocol = (j.device?.protocol ?? j.device?.type ?? '').toLowerCase();
  const nvme = j.nvme_smart_health_information_log;
  const kind = nvme || protocol === 'nvme' ? 'nvme' : protocol === 'scsi' ? 'scsi' : 'ata';
  const attr = (id: number) => j.ata_smart_attributes?.table?.find((a) => a.id === id);
  const raw = (id: number): number | null => {
    const v = attr(id)?.raw?.value;
    return typeof v === 'number' ? v : null;
  };
  const reallocated = raw(5);
  const pending = raw(197);
  const uncorrectable = raw(198);
  const criticalWarning = typeof nvme?.critical_warning === 'number' ? nvme.critical_warning : null;
  const temperature = j.temperature?.current ?? nvme?.temperature ?? null;
  const failing = (j.ata_smart_attributes?.table ?? []).filter((a) => a.when_failed === 'now').map((a) => a.name ?? `ID ${a.id}`);

  const problems: string[] = [];
  let state = 'ok' as DiskState;
  const raise = (s: DiskState, why: string) => {
    state = worstOf([state, s]);
    problems.push(why);
  };
  // NVMe's verdict is its critical_warning bits (judged below: a hot drive is not a dying one).
  if (!passed && !(kind === 'nvme' && criticalWarning)) raise('failed', 'SMART の自己診断が「故障の予兆あり (FAILED)」を返しました');
  if (failing.length) raise('failed', `しきい値を下回った項目があります (${failing.join('、')})`);
  if (criticalWarning) {
    const words = NVME_WARNINGS.filter(([bit]) => criticalWarning & bit).map(([, w]) => w);
    raise(criticalWarning === 0x02 ? 'degraded' : 'failed', `NVMe の重大警告: ${words.join('、') || `0x${criticalWarning.toString(16)}`}`);
  }
  if (reallocated) raise('degraded', `代替処理済みのセクタが ${reallocated} 個あります`);
  if (pending) raise('degraded', `代替処理待ちのセクタが ${pending} 個あります`);
  if (uncorrectable) raise('degraded', `回復できないセクタが ${uncorrectable} 個あります`);
  if (nvme?.media_errors) raise('degraded', `メディアエラーが ${nvme.media_errors} 回記録されています`);
  if (typeof nvme?.percentage_used === 'number' && nvme.percentage_used >= 100)
    raise('degraded', `書き込み寿命の ${nvme.percentage_used}% を使いました`);
  if (j.scsi_grown_defect_list) raise('degraded', `不良として登録されたブロックが ${j.scsi_grown_defect_list} 個あります`);
  const onlyHeat = criticalWarning === 0x02 && problems.length === 1;
  const action =
    state === 'failed'
      ? 'すぐに保守事業者に連絡し、交換してください'
      : onlyHeat
        ? 'サーバー室の温度とサーバーのファンを確かめてください'
        : '交換を計画してください (保守事業者に連絡)';
  return {
    ok: true,
    value: {
      source: 'smart',
      name: shown,
      kind,
      state,
      reallocatedSectors: reallocated,
      pendingSectors: pending,
      uncorrectableSectors: uncorrectable,
      criticalWarning,
      temperature: typeof temperature === 'number' ? temperature : null,
      message: problems.length ? `ディスク ${shown}: ${problems.join('。')}。${action}` : null,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Broadcom/LSI MegaRAID `storcli64 /call show J` (StorCLI 007.x JSON): per controller a
// "Command Status" and "Response Data" with "VD LIST" and "PD LIST".

interface StorcliJson {
  Controllers?: {
    'Command Status'?: { Controller?: number | string; Status?: string; Description?: string };
    'Response Data'?: {
      'VD LIST'?: { 'DG/VD'?: string; TYPE?: string; State?: string }[];
      'PD LIST'?: { 'EID:Slt'?: string; State?: string; DG?: number | string; Intf?: string; Med?: string }[];
    };
  }[];
}

/** StorCLI's virtual drive states (its legend: OfLn, Pdgd, Dgrd, Optl; Rec/Rbld while rebuilding). */
const VD_STATES: Readonly<Record<string, DiskState>> = {
  Optl: 'ok',
  Pdgd: 'degraded',
  Dgrd: 'degraded',
  Rec: 'rebuilding',
  Rbld: 'rebuilding',
  OfLn: 'failed',
};
/** Physical drive states: in use or waiting as a spare, being rebuilt, or out. */
const PD_STATES: Readonly<Record<string, DiskMember['state']>> = {
  Onln: 'ok',
  UGood: 'spare',
  GHS: 'spare',
  DHS: 'spare',
  JBOD: 'ok',
  Rbld: 'rebuilding',
  Cpybck: 'rebuilding',
  Failed: 'failed',
  Offln: 'failed',
  UBad: 'failed',
  Missing: 'failed',
};

export function parseStorcli(text: string): Parsed<{ arrays: DiskArray[]; devices: DiskDevice[] }> {
  let j: StorcliJson;
  try {
    j = JSON.parse(text) as StorcliJson;
  } catch {
    return fail('storcli の出力を JSON として読めません (途中で切れている可能性があります)');
  }
  if (!j || !Array.isArray(j.Controllers) || !j.Controllers.length)
    return fail('storcli の JSON ではありません (Controllers がありません)');
  const arrays: DiskArray[] = [];
  const devices: DiskDevice[] = [];
  for (const c of j.Controllers) {
    const cs = c['Command Status'];
    const id = `c${cs?.Controller ?? arrays.length}`;
    if (cs?.Status !== 'Success')
      return fail(`storcli がコントローラー ${id} を読めません (${String(cs?.Description ?? cs?.Status ?? '応答なし').slice(0, 80)})`);
    const data = c['Response Data'];
    if (!data || !Array.isArray(data['VD LIST']) || !Array.isArray(data['PD LIST']))
      return fail(`storcli の応答に ${id} の VD LIST / PD LIST がありません (/call show J の出力を指定してください)`);
    const pds = data['PD LIST'].map((pd) => {
      const st = PD_STATES[pd.State ?? ''] ?? 'unknown';
      return { pd, name: `${id} ${pd['EID:Slt'] ?? '?'}`, state: st };
    });
    for (const p of pds) {
      const state: DiskState =
        p.state === 'failed' ? 'failed' : p.state === 'rebuilding' ? 'rebuilding' : p.state === 'unknown' ? 'unknown' : 'ok';
      devices.push({
        source: 'controller',
        name: p.name,
        kind: [p.pd.Intf, p.pd.Med].filter(Boolean).join(' ') || 'disk',
        state,
        reallocatedSectors: null,
        pendingSectors: null,
        uncorrectableSectors: null,
        criticalWarning: null,
        temperature: null,
        message:
          state === 'failed'
            ? `RAID コントローラー ${id} のディスク ${p.pd['EID:Slt'] ?? '?'} が故障しています (${p.pd.State})。保守事業者に連絡してください`
            : state === 'unknown'
              ? `RAID コントローラー ${id} のディスク ${p.pd['EID:Slt'] ?? '?'} の状態 ${p.pd.State ?? '(なし)'} が分かりません`
              : null,
      });
    }
    for (const vd of data['VD LIST']) {
      const [dg, v] = (vd['DG/VD'] ?? '?/?').split('/');
      const name = `${id}/v${v}`;
      const inGroup = pds.filter((p) => String(p.pd.DG) === dg);
      let state: DiskState = VD_STATES[vd.State ?? ''] ?? 'unknown';
      // A degraded drive group with a member being rebuilt is on its way back.
      if (state === 'degraded' && inGroup.some((p) => p.state === 'rebuilding')) state = 'rebuilding';
      const broken = inGroup.filter((p) => p.state === 'failed').length;
      const label = `RAID ${name} (${vd.TYPE ?? '?'})`;
      arrays.push({
        source: 'controller',
        name,
        level: vd.TYPE ?? null,
        state,
        members: inGroup.map((p) => ({ name: p.name, state: p.state })),
        expected: null,
        working: null,
        progress: state === 'rebuilding' ? { action: MD_RECOVERY, percent: null } : null,
        message:
          state === 'ok'
            ? null
            : state === 'rebuilding'
              ? `${label} を再構築中です。終わるまでディスクを抜かないでください`
              : state === 'degraded'
                ? `${label} が縮退しています (${broken ? `ディスク ${broken} 台が故障` : vd.State})。保守事業者に連絡してください`
                : state === 'failed'
                  ? `${label} が停止しています (${vd.State})。すぐに保守事業者に連絡してください`
                  : `${label} の状態 ${vd.State ?? '(なし)'} が分かりません`,
      });
    }
  }
  return { ok: true, value: { arrays, devices } };
}

// ---------------------------------------------------------------------------------------------

/** One configured source's outcome: `unknown` when its command failed or its output was not understood. */
export interface DiskSourceResult {
  kind: DiskSourceKind;
  /** mdstat's path, the smart device, or the controller format (for the dashboard; not on /healthz). */
  target: string;
  state: DiskState;
  /** Why the source is `unknown` (Japanese; for the dashboard and the log). */
  reason: string | null;
}

export interface DiskHealth {
  state: DiskState;
  /** When the last collection ended; null before the first one. */
  checkedAt: Date | null;
  sources: DiskSourceResult[];
  arrays: DiskArray[];
  devices: DiskDevice[];
  /** One Japanese line per problem, worst first. */
  messages: string[];
}

/** The overall state and messages of the parts collected. */
export function summarize(
  parts: { sources: DiskSourceResult[]; arrays: DiskArray[]; devices: DiskDevice[] },
  checkedAt: Date | null,
): DiskHealth {
  const state = worstOf([...parts.sources.map((s) => s.state), ...parts.arrays.map((a) => a.state), ...parts.devices.map((d) => d.state)]);
  const withMessage: { state: DiskState; message: string }[] = [
    ...parts.arrays.filter((a) => a.message).map((a) => ({ state: a.state, message: a.message! })),
    ...parts.devices.filter((d) => d.message).map((d) => ({ state: d.state, message: d.message! })),
    ...parts.sources
      .filter((s) => s.state === 'unknown')
      .map((s) => ({ state: s.state, message: `${SOURCE_LABEL[s.kind]}の状態を確認できません。保守事業者に連絡してください` })),
  ];
  withMessage.sort((a, b) => SEVERITY[b.state] - SEVERITY[a.state]);
  return { state, checkedAt, ...parts, messages: withMessage.map((m) => m.message) };
}

export const SOURCE_LABEL: Readonly<Record<DiskSourceKind, string>> = {
  mdstat: 'ソフトウェア RAID (/proc/mdstat) ',
  smart: 'ディスクの SMART ',
  controller: 'RAID コントローラー',
};

/** The administrator's banner: one line for all the disk problems, or null when all is well. */
export function diskBanner(h: DiskHealth | null): string | null {
  if (!h || h.state === 'ok' || !h.messages.length) return null;
  const head = h.state === 'rebuilding' ? 'ディスク: ' : 'ディスクの異常: ';
  return head + h.messages.join(' ／ ');
}
