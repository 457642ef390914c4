/**
 * Data factories for integration tests. Where a module owns a table, the row is written through
 * it (staff → `createStaff`, visits → `openVisit`, notices → the notice commands, certificate
 * requests → `acceptCertificateRequest`). The resident register has no writer but the linkage
 * import, so residents are inserted with the linkage's derived search keys, as an import would.
 */
import type { Knex } from 'knex';
import { addSubject } from '../../server/src/visits/commands/addSubject.js';
import type { StaffSession } from '../../server/src/auth/sessions.js';
import { createStaff, type AuditActor } from '../../server/src/auth/staffRepo.js';
import { randomPassword } from '../../server/src/auth/passwords.js';
import { acceptCertificateRequest, type RequesterRelation } from '../../server/src/certificates/commands/acceptCertificateRequest.js';
import { loadCertificateCatalog } from '../../server/src/certificates/catalog.js';
import { priceRequest, type CertificateRequestLine } from '../../server/src/certificates/fees.js';
import type { ResidentRow } from '../../server/src/db/tables.generated.js';
import type { NoticeMemberInput } from '../../server/src/domain/noticeValidation.js';
import { todayInJapan } from '../../server/src/domain/japanTime.js';
import { derivedKeys } from '../../server/src/linkage/forward/keys.js';
import { acceptNotice } from '../../server/src/notices/commands/acceptNotice.js';
import { cancelNotice } from '../../server/src/notices/commands/cancelNotice.js';
import { reviewNotice } from '../../server/src/notices/commands/reviewNotice.js';
import { saveDraft } from '../../server/src/notices/commands/saveDraft.js';
import type { DraftValues } from '../../server/src/notices/notice.js';
import { getNotice, type Notice } from '../../server/src/notices/queries.js';
import { openVisit } from '../../server/src/visits/commands/openVisit.js';
import type { Visit } from '../../server/src/visits/queries.js';
import { configDir } from './paths.js';

let seq = 0;
const next = () => ++seq + (Date.now() % 100_000) * 1000;

/** The demo town of config/municipality.yaml (notices check in-town addresses against it). */
const TEST_TOWN = { prefecture: '熊本県', county: '窓口郡', name: 'まどぐち町' };

/** The columns a test usually sets; anything else of the table may be given too. */

export type ResidentValues = Partial<Omit<ResidentRow, 'id'>>;

/** A current resident (住民) of the demo town, with the search keys the linkage would derive. */
export async function makeResident(knex: Knex, v: ResidentValues = {}): Promise<ResidentRow> {
  const n = next();
  const row = {
    addressee_no: String(300_000_000_000 + n),
    household_no: `F${n}`,
    resident_kind: '1',
    resident_status: '1',
    name: 'テスト 太郎',
    name_kana: 'テスト タロウ',
    sex: '1',
    relationship_code1: '02',
    change_reason_code: '01',
    prefecture: '熊本県',
    city: '窓口郡まどぐち町',
    town_name: '本町',
    block_number: `${n % 1000}番地`,
    birth_date: '1980-01-01',
    ...v,
  };
  await knex('residents').insert({ ...row, ...derivedKeys.residents!(row) });
  return (await knex('residents').where({ addressee_no: row.addressee_no }).first())!;
}

/** A household: its head (続柄 02 世帯主) and the other members at the same address. */
export async function makeHousehold(
  knex: Knex,
  members: ResidentValues[] = [
    { name: '世帯 一郎', name_kana: 'セタイ イチロウ' },
    { name: '世帯 花子', name_kana: 'セタイ ハナコ', sex: '2' },
  ],
  shared: ResidentValues = {},
): Promise<{ householdNo: string; members: ResidentRow[] }> {
  const n = next();
  const householdNo = shared.household_no ?? `F${n}`;
  const place = { town_name: shared.town_name ?? '本町', block_number: shared.block_number ?? `${n % 1000}番地` };
  const rows: ResidentRow[] = [];
  for (const [i, m] of members.entries())
    rows.push(
      await makeResident(knex, { ...place, ...shared, household_no: householdNo, relationship_code1: i === 0 ? '02' : '03', ...m }),
    );
  const head = rows[0]!;
  await knex('households').insert({
    household_no: householdNo,
    head_addressee_no: head.addressee_no,
    head_name: head.name,
    head_name_kana: head.name_kana,
    prefecture: head.prefecture,
    city: head.city,
    town_name: head.town_name,
    block_number: head.block_number,
    ...derivedKeys.households!({ town_name: head.town_name, block_number: head.block_number }),
  });
  return { householdNo, members: rows };
}

/** A resident under a running 支援措置 (DV support measure): their address is masked for most staff. */
export async function makeProtectedResident(knex: Knex, v: ResidentValues = {}, measureCode: '1' | '2' = '1'): Promise<ResidentRow> {
  const r = await makeResident(knex, { name: '支援 対象', name_kana: 'シエン タイショウ', ...v });
  await knex('support_measures').insert({ addressee_no: r.addressee_no, measure_code: measureCode, start_date: '2020-01-01' });
  return r;
}

export interface StaffMember {
  id: number;
  loginId: string;
  password: string;
  /** For the commands' audit records. */
  actor: AuditActor;
}

/** A member of staff in the given groups (`counter`, `admin`, …), through `createStaff`. */
export async function makeStaff(knex: Knex, groups: string[], loginId = `f${next()}`): Promise<StaffMember> {
  const password = randomPassword();
  const id = await createStaff(knex, {
    loginId,
    displayName: 'テスト 職員',
    section: '住民課',
    password,
    groups,
    mustChangePassword: false,
  });
  return { id, loginId, password, actor: { staffId: id, staffLogin: loginId, clientAddress: '127.0.0.1', counterId: 'shimin-1' } };
}

/** An open visit at a counter, through the visits' own command. */
export async function makeVisit(knex: Knex, staff: StaffMember, counterId: string | null = 'shimin-1'): Promise<Visit> {
  return openVisit(knex, staff.id, counterId, staff.actor);
}

export type FactoryNoticeStatus = 'draft' | 'accepted' | 'reviewed' | 'cancelled';

/**
 * A 転入届 (move-in) of the given people into the town, taken at the visit and moved to `status`
 * through the notice commands (accepting derives no procedures and queues no RPA job here; the
 * review is by another member of staff, as the rules require).
 */
export async function makeNotice(
  knex: Knex,
  visit: Pick<Visit, 'id'>,
  staff: StaffMember,
  status: FactoryNoticeStatus = 'draft',
  members: Partial<NoticeMemberInput>[] = [{ name: '転入 太郎', nameKana: 'テンニュウ タロウ', head: true }],
  /** Who reviews (never the one who accepted); a new member of the reviewer group by default. */
  reviewer?: StaffMember,
): Promise<Notice> {
  const today = todayInJapan();
  const draft: DraftValues = {
    type: 'moveIn',
    effectiveDate: today,
    householdNo: null,
    data: { previousAddress: '東京都千代田区霞が関1-1', newAddress: '本町1番地', certificateRef: 'T-0001' },
    members: members.map((m, i) => ({
      addresseeNo: null,
      name: `転入 ${i + 1}`,
      nameKana: null,
      birthDate: '1990-04-01',
      sex: '1',
      relationship: i === 0 ? '世帯主' : '子',
      moving: true,
      head: i === 0,
      event: true,
      ...m,
    })),
  };
  const id = await saveDraft(knex, { visitId: visit.id, noticeId: null, draft }, staff.actor);
  if (status !== 'draft' && status !== 'cancelled')
    await acceptNotice(knex, { visitId: visit.id, noticeId: id }, staff.actor, {
      deadlineDays: {},
      procedures: { catalog: [], on: today },
      rpa: null,
      town: TEST_TOWN,
    });
  if (status === 'reviewed') await reviewNotice(knex, id, (reviewer ?? (await makeStaff(knex, ['reviewer']))).actor);
  if (status === 'cancelled') await cancelNotice(knex, id, 'テストのため取消', staff.actor);
  return (await getNotice(knex, id))!;
}

/**
 * A certificate request at a visit, through the accepting command: the lines, or an addressee
 * number for one 住民票の写し of that resident.
 */
export async function makeCertificateRequest(
  knex: Knex,
  visit: Pick<Visit, 'id'>,
  staff: StaffMember,
  lines: CertificateRequestLine[] | string,
  relation: RequesterRelation = 'self',
): Promise<number> {
  if (typeof lines === 'string')
    lines = [{ typeId: 'residentCopy', subject: { addresseeNo: lines }, copies: 1, purposeId: 'self', options: { scope: 'household' } }];
  // A certificate is only for a subject of the visit: add each one first, as the counter does.
  const subjects = new Set((await knex('visit_subjects').where({ visit_id: visit.id }).pluck('addressee_no')).map(String));
  for (const l of lines) {
    const no = l.subject.addresseeNo;
    if (no && !subjects.has(no)) {
      await addSubject(knex, visit.id, staff.id, { addresseeNo: no }, staff.actor);
      subjects.add(no);
    }
  }
  const priced = priceRequest(loadCertificateCatalog(configDir), { lines });
  const viewer: Pick<StaffSession, 'permissions'> = { permissions: new Set() };
  const out = await acceptCertificateRequest(
    knex,
    { visitId: visit.id, priced, relation, memo: '', save: true },
    viewer,
    staff.actor,
    null,
  );
  if (out.requestId === null) throw new Error(`certificate request refused: ${out.refusals.map((r) => r.message).join(', ')}`);
  return out.requestId;
}
