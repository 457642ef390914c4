import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { appendAudit } from '../audit/trail.js';
import type { AuditActor } from '../auth/staffRepo.js';
import { noticeTypeLabels, type NoticeType } from '../domain/procedureTypes.js';
import type { NoticeData } from '../domain/noticeValidation.js';
import { dbDate } from '../db/values.js';
import { japanDateTime, japanDayBounds } from '../domain/japanTime.js';
import { noticeStatusLabels, type NoticeStatus } from '../notices/notices.js';
import { coreRefsOfNotices } from '../notices/queries.js';
import { encodeCsv, type CsvEncoding } from '../text/index.js';

/** The columns of the notice CSV for the core system (docs/data-dictionary.md). One row per member. */
export const NOTICE_CSV_COLUMNS = [
  '届出番号',
  '受付番号',
  '届出の種類',
  '状態',
  '異動日',
  '届出日',
  '世帯番号',
  '宛名番号',
  '氏名',
  'フリガナ',
  '生年月日',
  '性別',
  '続柄',
  '異動する',
  '世帯主',
  '従前の住所',
  '新しい住所',
  '転出先',
  '転出先の国',
  '受付日時',
  '審査日時',
  '入力済日時',
  '基幹系処理番号',
] as const;

const jstTime = (d: Date | null) => (d ? japanDateTime(d) : '');

/**
 * Writes the notices accepted on one Japanese day as CSV into `dir` (000 §9-2), atomically: a
 * `.tmp` file renamed into place, so the core system never reads half a file. Audited as an
 * export of personal data.
 */
export async function exportNoticesCsv(
  db: Knex,
  opts: { date: string; dir: string; encoding: CsvEncoding },
  actor: AuditActor,
): Promise<{ file: string; notices: number; rows: number }> {
  const { from, to } = japanDayBounds(opts.date);
  const notices = (await db('notices')
    .whereIn('status', ['accepted', 'reviewed', 'entered'])
    .where('accepted_at', '>=', from)
    .andWhere('accepted_at', '<', to)
    .orderBy('id')) as Record<string, unknown>[];
  const ids = notices.map((n) => Number(n.id));
  // 基幹系処理番号 come from the notice's jobs (never a copied, cut column).
  const refs = await coreRefsOfNotices(db, ids);
  const members = ids.length ? ((await db('notice_members').whereIn('notice_id', ids).orderBy('id')) as Record<string, unknown>[]) : [];
  const s = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  const rows: string[][] = [];
  for (const n of notices) {
    const data = JSON.parse(String(n.data)) as NoticeData;
    for (const m of members.filter((x) => Number(x.notice_id) === Number(n.id))) {
      rows.push([
        s(n.id),
        `MDG-${s(n.id)}`,
        noticeTypeLabels[n.notice_type as NoticeType] ?? s(n.notice_type),
        noticeStatusLabels[n.status as NoticeStatus] ?? s(n.status),
        s(n.effective_date),
        s(n.reported_date),
        s(n.household_no),
        s(m.addressee_no),
        s(m.name),
        s(m.name_kana),
        s(m.birth_date),
        m.sex === '1' ? '男' : m.sex === '2' ? '女' : '',
        s(m.relationship),
        m.moving ? '1' : '0',
        m.head ? '1' : '0',
        s(data.previousAddress),
        s(data.newAddress),
        s(data.nextAddress),
        s(data.country),
        jstTime(dbDate(n.accepted_at)),
        jstTime(dbDate(n.reviewed_at)),
        jstTime(dbDate(n.entered_at)),
        (refs.get(Number(n.id)) ?? []).join(','),
      ]);
    }
  }
  const bytes = encodeCsv(NOTICE_CSV_COLUMNS, rows, opts.encoding, (i) => `届出番号 ${rows[i]?.[0] ?? ''}`);
  mkdirSync(opts.dir, { recursive: true });
  const file = path.join(opts.dir, `notices-${opts.date.replaceAll('-', '')}.csv`);
  const tmp = `${file}.tmp`;
  try {
    writeFileSync(tmp, bytes, { mode: 0o640 });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  await db.transaction((trx) =>
    appendAudit(trx, {
      ...actor,
      action: 'notice.exportCsv',
      targetKind: 'notice',
      targetIds: ids.map(String),
      result: 'success',
      detail: { date: opts.date, file: path.basename(file), rows: rows.length, encoding: opts.encoding },
    }),
  );
  return { file, notices: notices.length, rows: rows.length };
}
