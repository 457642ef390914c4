import type { Knex } from 'knex';
import type { UpsSettings } from '../config/appConfig.js';
import { NutClient, NutError, parseStatus } from './nut.js';
import { recordUpsEvent, type PowerState } from './power.js';

/** Japanese labels of the `ups.status` words (NUT docs/new-drivers.txt, "Status data"). */
export const statusFlagLabels: Readonly<Record<string, string>> = {
  OL: '商用電源',
  OB: 'バッテリー運転',
  LB: '残量低下',
  HB: '残量過多',
  RB: 'バッテリー要交換',
  CHRG: '充電中',
  DISCHRG: '放電中',
  BYPASS: 'バイパス運転',
  CAL: '校正中',
  OFF: '出力停止',
  OVER: '過負荷',
  TRIM: '降圧中',
  BOOST: '昇圧中',
  FSD: '強制停止',
  ALARM: '警報',
};

export interface UpsReading {
  kind: 'ok';
  ups: string;
  /** `ups.status` as upsd reports it, e.g. `OB LB`. */
  raw: string;
  flags: string[];
  /** e.g. `バッテリー運転・残量低下`. */
  label: string;
  onBattery: boolean;
  lowBattery: boolean;
  /** battery.charge (%). */
  charge: number | null;
  /** battery.runtime (seconds). */
  runtimeSeconds: number | null;
  /** ups.load (%). */
  load: number | null;
  /** input.voltage (V). */
  inputVoltage: number | null;
  readAt: Date;
}

export interface UpsUnreachable {
  kind: 'unreachable';
  ups: string;
  /** The NutError code (CONNECT-FAILED, TIMEOUT, UNKNOWN-UPS, DRIVER-NOT-CONNECTED, …) or PASSWORD-MISSING. */
  code: string;
  /** Why, in Japanese, for the dashboard and /healthz. */
  reason: string;
  readAt: Date;
}

export type LiveUpsStatus = UpsReading | UpsUnreachable;

const REASONS: Readonly<Record<string, string>> = {
  'CONNECT-FAILED': 'UPS 監視サービス (upsd) に接続できません',
  TIMEOUT: 'UPS 監視サービス (upsd) が応答しません',
  'CONNECTION-CLOSED': 'UPS 監視サービス (upsd) が接続を切りました',
  'UNKNOWN-UPS': 'この名前の UPS は upsd に登録されていません',
  'DRIVER-NOT-CONNECTED': 'UPS のドライバーが動いていません (UPS との通信が途絶えています)',
  'DATA-STALE': 'UPS からのデータが古くなっています (UPS との通信が途絶えています)',
  'ACCESS-DENIED': 'upsd に読み取りを拒否されました (upsd.users の設定を確認してください)',
};

export function flagsLabel(flags: readonly string[]): string {
  return flags.length ? flags.map((f) => statusFlagLabels[f] ?? f).join('・') : '不明';
}

const num = (v: string | undefined): number | null => {
  if (v === undefined || v.trim() === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

async function read(settings: UpsSettings, timeoutMs: number, env: NodeJS.ProcessEnv): Promise<LiveUpsStatus> {
  const ups = settings.name;
  const unreachable = (code: string, reason: string): UpsUnreachable => ({ kind: 'unreachable', ups, code, reason, readAt: new Date() });
  let password: string | undefined;
  if (settings.passwordEnv) {
    password = env[settings.passwordEnv];
    if (!password) return unreachable('PASSWORD-MISSING', `環境変数 ${settings.passwordEnv} (upsd のパスワード) が設定されていません`);
  }
  let client: NutClient | undefined;
  try {
    client = await NutClient.connect({
      host: settings.host,
      port: settings.port,
      timeoutMs,
      ...(settings.username !== undefined ? { username: settings.username } : {}),
      ...(password !== undefined ? { password } : {}),
    });
    // One LIST VAR instead of five GET VARs: a UPS without e.g. input.voltage is not an error.
    const vars = await client.listVars(ups);
    const status = parseStatus(vars['ups.status'] ?? '');
    return {
      kind: 'ok',
      ups,
      raw: status.raw,
      flags: status.flags,
      label: flagsLabel(status.flags),
      onBattery: status.onBattery,
      lowBattery: status.lowBattery,
      charge: num(vars['battery.charge']),
      runtimeSeconds: num(vars['battery.runtime']),
      load: num(vars['ups.load']),
      inputVoltage: num(vars['input.voltage']),
      readAt: new Date(),
    };
  } catch (err) {
    if (err instanceof NutError) return unreachable(err.code, REASONS[err.code] ?? `upsd がエラーを返しました (${err.code})`);
    return unreachable('ERROR', `UPS の状態を読めません: ${(err as Error).message}`);
  } finally {
    client?.close();
  }
}

export interface ReadOptions {
  /** Deadline of each of the two requests (VER with the connect, LIST VAR). Default 1500 ms: /healthz must stay quick. */
  timeoutMs?: number;
  /** How long a reading is reused. Default 3000 ms. */
  cacheMs?: number;
  env?: NodeJS.ProcessEnv;
  now?: number;
}

const cache = new Map<string, { at: number; result: Promise<LiveUpsStatus> }>();

/**
 * The UPS as upsd reports it now, read at most once every few seconds per UPS (every /healthz and
 * dashboard view asks); concurrent callers share one read. Never throws: failures come back as
 * `unreachable` with the reason. Null when the UPS is not monitored (`ups.enabled: false`).
 */
export function readUpsStatus(settings: UpsSettings, opts: ReadOptions = {}): Promise<LiveUpsStatus | null> {
  if (!settings.enabled) return Promise.resolve(null);
  const now = opts.now ?? Date.now();
  const key = `${settings.host}:${settings.port}/${settings.name}`;
  const hit = cache.get(key);
  if (hit && now - hit.at < (opts.cacheMs ?? 3000)) return hit.result;
  const result = read(settings, opts.timeoutMs ?? 1500, opts.env ?? process.env);
  cache.set(key, { at: now, result });
  return result;
}

/** Minutes of battery runtime for people (rounded down). */
export function runtimeMinutes(seconds: number | null): number | null {
  return seconds === null ? null : Math.floor(seconds / 60);
}

/**
 * At start-up: upsmon notifies changes only, so after an outage the stored state would stay
 * `lowBattery`/`shutdown` (banner, RPA paused) although the power is back. When upsd reports the
 * UPS on mains without a pending shutdown, the state goes back to online. Unreachable: unchanged.
 */
export async function reconcilePowerState(
  knex: Knex,
  settings: UpsSettings,
  opts: ReadOptions = {},
): Promise<{ from: PowerState; to: PowerState } | null> {
  const live = await readUpsStatus(settings, { ...opts, cacheMs: 0 });
  if (!live || live.kind !== 'ok' || !live.flags.includes('OL') || live.onBattery || live.flags.includes('FSD')) return null;
  const row = (await knex('power_state').where({ id: 1 }).first('state')) as { state: PowerState } | undefined;
  if (!row || row.state === 'online') return null;
  await recordUpsEvent(knex, 'ONLINE');
  return { from: row.state, to: 'online' };
}
