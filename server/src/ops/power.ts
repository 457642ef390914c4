import type { Knex } from 'knex';
import { dbDate } from '../db/values.js';

/** The events upsmon passes (NOTIFYCMD / upssched) and what each means for madoguchi. */
export const upsEvents = { ONLINE: 'online', ONBATT: 'onBattery', LOWBATT: 'lowBattery', FSD: 'shutdown' } as const;
export type UpsEvent = keyof typeof upsEvents;
export type PowerState = (typeof upsEvents)[UpsEvent];

export interface PowerStatus {
  state: PowerState;
  event: string;
  changedAt: Date | null;
}

/** Records an event from the UPS; the server reads the state (banner, no new RPA leases). */
export async function recordUpsEvent(db: Knex, event: UpsEvent, now = new Date()): Promise<PowerState> {
  const state = upsEvents[event];
  await db.transaction(async (trx) => {
    const n = await trx('power_state').where({ id: 1 }).update({ state, event, changed_at: now });
    if (!n) await trx('power_state').insert({ id: 1, state, event, changed_at: now });
  });
  return state;
}

const cache = new WeakMap<Knex, { at: number; status: PowerStatus }>();

/** The current state, read at most once a second per database (every page shows it). */
export async function powerStatus(db: Knex, now = Date.now()): Promise<PowerStatus> {
  const hit = cache.get(db);
  if (hit && now - hit.at < 1000) return hit.status;
  const row = (await db('power_state').where({ id: 1 }).first()) as { state: PowerState; event: string; changed_at: unknown } | undefined;
  const status: PowerStatus = row
    ? { state: row.state, event: row.event, changedAt: dbDate(row.changed_at) }
    : { state: 'online', event: 'ONLINE', changedAt: null };
  cache.set(db, { at: now, status });
  return status;
}

/** The banner every staff page shows while the power is not normal. */
export function powerBanner(s: PowerStatus): string | null {
  if (s.state === 'onBattery')
    return '停電のためバッテリーで運転しています。入力中の作業を保存してください。RPA の新しい入力は止めています。';
  if (s.state === 'lowBattery' || s.state === 'shutdown')
    return 'バッテリー残量が少ないため、まもなくサーバーを停止します。作業を保存してください。';
  return null;
}
