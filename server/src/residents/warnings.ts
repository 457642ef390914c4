import type { Knex } from 'knex';
import type { IssuanceBanRow, SupportMeasureRow } from '../db/tables.generated.js';
import { todayInJapan } from '../domain/japanTime.js';
import { issuanceBanKind, supportMeasureKind } from '../domain/codes.js';

export interface Warning {
  kind: 'supportMeasure' | 'issuanceBan' | 'arrears';
  label: string;
}

const active = (q: Knex.QueryBuilder, today: string) =>
  q
    .where('support_measures.start_date', '<=', today)
    .andWhere((w) =>
      w.whereNull('support_measures.end_date').orWhere('support_measures.end_date', '').orWhere('support_measures.end_date', '>=', today),
    );
const activeBan = (q: Knex.QueryBuilder, today: string) =>
  q.where('start_date', '<=', today).andWhere((w) => w.whereNull('end_date').orWhere('end_date', '').orWhere('end_date', '>=', today));

/**
 * The warnings of each person, 支援措置 first (B-8, D-17). A support measure counts while it runs
 * (code 1 支援措置 or 2 仮支援措置, start ≤ today ≤ end); code 3 records its end.
 */
export async function warningsFor(knex: Knex, addresseeNos: readonly string[], now: Date = new Date()): Promise<Map<string, Warning[]>> {
  const out = new Map<string, Warning[]>();
  if (!addresseeNos.length) return out;
  const today = todayInJapan(now);
  const add = (no: string, w: Warning) => out.set(no, [...(out.get(no) ?? []), w]);
  const ids = [...new Set(addresseeNos)];
  const [measures, bans, arrears] = await Promise.all([
    active(knex('support_measures').whereIn('addressee_no', ids).whereIn('measure_code', ['1', '2']), today).select<
      Pick<SupportMeasureRow, 'addressee_no' | 'measure_code'>[]
    >('addressee_no', 'measure_code'),
    activeBan(knex('issuance_bans').whereIn('addressee_no', ids), today).select<Pick<IssuanceBanRow, 'addressee_no' | 'ban_kind_code'>[]>(
      'addressee_no',
      'ban_kind_code',
    ),
    knex('arrears').whereIn('addressee_no', ids).distinct('addressee_no'),
  ]);
  for (const m of measures) add(m.addressee_no, { kind: 'supportMeasure', label: supportMeasureKind[m.measure_code] ?? '支援措置' });
  for (const b of bans)
    add(b.addressee_no, { kind: 'issuanceBan', label: `発行禁止 (${issuanceBanKind[b.ban_kind_code] ?? b.ban_kind_code})` });
  for (const a of arrears) add(a.addressee_no, { kind: 'arrears', label: '滞納あり' });
  return out;
}

export const isProtected = (warnings: readonly Warning[] | undefined): boolean => (warnings ?? []).some((w) => w.kind === 'supportMeasure');

/** What replaces a protected address for staff without `resident.viewProtectedAddress`. */
export const MASKED_ADDRESS = '＊＊＊ 支援措置対象のため住所は表示できません ＊＊＊';
