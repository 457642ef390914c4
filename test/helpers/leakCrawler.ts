/**
 * The leak crawler (issue 15 item 7): an adversarial harness that looks for 支援措置 addresses in
 * everything the server hands out. It builds a generated town with protected persons, adds typed
 * protected addresses through HTTP as staff would (a 転居 of a protected person, a 転入 into a
 * protected household, an identity form saved by 支援措置担当, certificate requests, reviewed
 * notices and RPA jobs), then requests every declared GET route with real ids as every shipped
 * group and as the RPA agent token, and scans every body (HTML, JSON, PDF via pdftotext, CSV,
 * evidence) and finally the server's log files for every form of every protected address.
 *
 * A hit seen by a viewer without `resident.viewProtectedAddress` is a leak; a hit seen by
 * 支援措置担当 is a positive control (the scanner works). Address searches are also checked as an
 * oracle: without the right, they must not list protected persons, and their presence must change
 * neither counts nor the order of the other rows.
 *
 * Used by `npm run soak -- leaks` (bench/leaks.ts) and test/integration/leak-crawler.test.ts.
 */
import type { ResidentRow } from '../../server/src/db/tables.generated.js';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import iconv from 'iconv-lite';
import type { Knex } from 'knex';
import { registerApiClient } from '../../server/src/auth/apiClients.js';
import { defaultGroups } from '../../server/src/auth/permissions.js';
import { saveGroup } from '../../server/src/auth/staffRepo.js';
import { loadAppConfig } from '../../server/src/config/appConfig.js';
import { todayInJapan } from '../../server/src/domain/japanTime.js';
import { addressKey } from '../../server/src/domain/searchKeys.js';
import { createApp } from '../../server/src/http/app.js';
import type { RouteInfo } from '../../server/src/http/kit.js';
import { GaijiMap } from '../../server/src/linkage/forward/gaiji.js';
import { applyFiles } from '../../server/src/linkage/forward/apply.js';
import { planIngest } from '../../server/src/linkage/forward/ingest.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { createLogger } from '../../server/src/ops/logger.js';
import { loadProcedures } from '../../server/src/procedures/config.js';
import { migratedSqlite } from './db.js';
import { postForm } from './http.js';
import { loginAs, type LoggedIn } from './login.js';
import { configDir } from './paths.js';
import { startTestServer, type TestServer } from './server.js';
import { makeTown } from './town.js';

const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// Protected addresses and the scanner

/** Where a protected address came from. */
export type AddressSource = 'register' | 'typedRelocation' | 'moveInTarget' | 'visitorForm';

export interface ProtectedAddress {
  source: AddressSource;
  /** A short label for reports: the household or notice it belongs to. */
  label: string;
  /** 都道府県 + 市区町村 + 町字 + 番地 (+ 方書). */
  full: string;
  /** 町字 + 番地 (what staff type). */
  townBlock: string;
  /** `addressKey(townBlock)`. */
  key: string;
  /** The 町字 in kana (address master) + 番地, when known. */
  kana: string | null;
  postalCode: string | null;
  /** 番地 alone (for the postal code + 番地 form). */
  block: string;
  /** 方書 (building and room), when there is one. */
  suffix: string | null;
  /** 町字コード (for the address dictionary's lot list). */
  townCode: string | null;
}

export type AddressForm = 'full' | 'townBlock' | 'normalisedKey' | 'kana' | 'postalBlock';

interface FormPattern {
  form: AddressForm;
  re: RegExp;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/**
 * Not followed by more of a lot number: 「100番地」 must not match 「100番地5」, nor the key 「中原100」
 * the text 「中原100番地5」.
 */
const END = '(?![0-9０-９]|(?:[-－‐の之ノ]|丁目|番地|番|号)[0-9０-９])';
/** Not preceded by a digit (「1番7号」 must not match 「11番7号」). */
const START = '(?<![0-9０-９])';
const squeeze = (s: string) => s.normalize('NFKC').replace(/\s+/gu, '');

function patternsOf(a: ProtectedAddress): FormPattern[] {
  const out: FormPattern[] = [];
  const add = (form: AddressForm, text: string | null, boundaryStart = false) => {
    if (!text) return;
    const t = squeeze(text);
    out.push({ form, re: new RegExp(`${boundaryStart ? START : ''}${esc(t)}${END}`, 'u') });
  };
  add('full', a.full);
  add('townBlock', a.townBlock);
  add('normalisedKey', a.key);
  if (a.kana) add('kana', a.kana);
  if (a.postalCode && /^\d{7}$/.test(a.postalCode)) {
    const p = a.postalCode;
    out.push({
      form: 'postalBlock',
      re: new RegExp(`(?:${p}|${p.slice(0, 3)}-${p.slice(3)})[\\s\\S]{0,160}?${START}${esc(squeeze(a.block))}${END}`, 'u'),
    });
  }
  return out;
}

export interface Hit {
  address: ProtectedAddress;
  forms: AddressForm[];
}

/**
 * The protected addresses a text contains, after removing what the viewer typed themselves (the
 * query values echoed in a search form are not a leak). Whitespace is ignored and NFKC applied,
 * so that an address broken over lines in a PDF still counts.
 */
export class AddressScanner {
  private readonly patterns: { address: ProtectedAddress; forms: FormPattern[] }[];

  constructor(readonly addresses: readonly ProtectedAddress[]) {
    this.patterns = addresses.map((address) => ({ address, forms: patternsOf(address) }));
  }

  scan(text: string, echoed: readonly string[] = []): Hit[] {
    let body = squeeze(text);
    const strip = new Set<string>();
    // Only an echo that is itself a protected address is removed: a 町字 typed alone must not cut
    // the 町字 out of the addresses listed under it.
    for (const v of echoed) {
      if (!v || !this.scan(v).length) continue;
      for (const x of [v, addressKey(v), encodeURIComponent(v), htmlEscape(v)]) if (x) strip.add(squeeze(x));
    }
    // Longest first, so that a shorter echo does not cut a longer one in half.
    for (const s of [...strip].sort((a, b) => b.length - a.length)) if (s.length >= 2) body = body.split(s).join('');
    const hits: Hit[] = [];
    for (const p of this.patterns) {
      const forms = p.forms.filter((f) => f.re.test(body)).map((f) => f.form);
      if (forms.length) hits.push({ address: p.address, forms: [...new Set(forms)] });
    }
    return hits;
  }
}

const htmlEscape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

// ---------------------------------------------------------------------------------------------
// The town

type ResidentLite = Pick<
  ResidentRow,
  | 'addressee_no'
  | 'household_no'
  | 'name'
  | 'name_kana'
  | 'birth_date'
  | 'relationship_code1'
  | 'relationship_label'
  | 'prefecture'
  | 'city'
  | 'town_name'
  | 'block_number'
  | 'address_suffix'
  | 'postal_code'
  | 'address_key'
  | 'sex'
  | 'town_code'
>;

const RESIDENT_COLUMNS = [
  'addressee_no',
  'household_no',
  'name',
  'name_kana',
  'birth_date',
  'relationship_code1',
  'relationship_label',
  'prefecture',
  'city',
  'town_name',
  'block_number',
  'address_suffix',
  'postal_code',
  'address_key',
  'sex',
  'town_code',
] as const;

const s = (v: unknown) => (v === null || v === undefined ? '' : String(v));

export interface LeakTown {
  /** Persons under a running 支援措置 and everyone in their households. */
  protectedPersons: ResidentLite[];
  /** Everyone registered at a protected address (other households in the same house included). */
  protectedSet: Set<string>;
  protectedHouseholds: string[];
  /** Unprotected residents on the same 町字 / block as a protected household. */
  neighbours: ResidentLite[];
  /** A few ordinary residents (controls). */
  others: ResidentLite[];
  addresses: ProtectedAddress[];
  /** Address searches to run (町字, block, full lot, key form, neighbours' lots). */
  addressQueries: string[];
  visits: number[];
  notices: { visitId: number; id: number }[];
  certificateRequests: { visitId: number; id: number }[];
  /** Jobs the agent token claimed (their payloads are scanned) and traces it sent. */
  agentClaims: number;
  evidence: number;
  setupErrors: string[];
}

/** Writes a generated town and loads it as the linkage tests do (full files, one go). */
export async function loadTown(server: TestServer, people: number, seed: string): Promise<void> {
  const townDir = path.join(server.dir, 'town');
  await makeTown(townDir, people, 'utf8', seed);
  const registry = LayoutRegistry.load(configDir);
  const reports = await applyFiles(server.knex, registry, planIngest(townDir, registry), {
    gaiji: GaijiMap.load(path.join(townDir, 'gaiji-map.csv')),
  });
  const bad = reports.filter((r) => r.outcome !== 'applied');
  if (bad.length) throw new Error(`town not loaded: ${bad.map((r) => `${r.specId} ${r.outcome}`).join(', ')}`);
}

function addressOf(r: Pick<ResidentLite, 'prefecture' | 'city' | 'town_name' | 'block_number' | 'address_suffix'>): string {
  return s(r.prefecture) + s(r.city) + s(r.town_name) + s(r.block_number) + (r.address_suffix ? ` ${r.address_suffix}` : '');
}

async function kanaOf(knex: Knex, townName: string): Promise<string | null> {
  const row = (await knex('address_master').where({ town_name: townName }).whereNotNull('town_kana').first('town_kana')) as
    { town_kana: string } | undefined;
  return row?.town_kana ?? null;
}

const location = (res: Response) => res.headers.get('location') ?? '';

export interface Sessions {
  byGroup: Map<string, LoggedIn>;
  agentToken: string;
}

/** The permissions each group holds now (read from the database: the shipped set may change). */
export async function groupPermissions(knex: Knex): Promise<Map<string, Set<string>>> {
  const rows = (await knex('staff_group_permissions')
    .join('staff_groups', 'staff_groups.id', 'staff_group_permissions.group_id')
    .select('staff_groups.code as code', 'staff_group_permissions.permission as permission')) as { code: string; permission: string }[];
  const out = new Map<string, Set<string>>();
  for (const r of rows) out.set(r.code, (out.get(r.code) ?? new Set()).add(r.permission));
  return out;
}

/** A group a municipality would add for reviewing protected notices, when no shipped group can. */
export const PROTECTED_REVIEW_GROUP = 'shienShinsa';

/** One member of staff per shipped group (except the agent group), and an RPA agent token. */
export async function loginEveryone(server: TestServer): Promise<Sessions> {
  const byGroup = new Map<string, LoggedIn>();
  for (const g of defaultGroups) {
    if (g.permissions.includes('rpa.agent')) continue;
    byGroup.set(g.code, await loginAs(server.url, server.knex, [g.code]));
  }
  const agentToken = await registerApiClient(server.knex, 'leak-rpa-01', 'rpaAgent', { staffLogin: 'leak-crawler' });
  return { byGroup, agentToken };
}

/**
 * Finds the protected persons and their neighbours, and creates through HTTP what staff would:
 * visits, identity forms, notices (accepted, reviewed), certificate requests; then the agent
 * claims the jobs (their payloads are scanned as the agent token's responses) and, for protected
 * jobs, sends a trace (as Playwright's would: the values typed into the core system).
 */
export async function buildLeakTown(
  server: TestServer,
  sessions: Sessions,
  onAgentResponse: (route: string, url: string, body: string) => void,
): Promise<LeakTown> {
  const { knex, url } = server;
  const errors: string[] = [];
  const today = todayInJapan();
  const measures = knex('support_measures')
    .whereIn('measure_code', ['1', '2'])
    .where('start_date', '<=', today)
    .andWhere((w) => w.whereNull('end_date').orWhere('end_date', '').orWhere('end_date', '>=', today))
    .select('addressee_no');
  const protectedHouseholds = (await knex('residents')
    .whereIn('addressee_no', measures)
    .where({ resident_status: '1' })
    .distinct('household_no')
    .orderBy('household_no')
    .pluck('household_no')) as string[];
  if (protectedHouseholds.length < 2)
    throw new Error(`the town needs at least two protected households (has ${protectedHouseholds.length})`);
  const protectedPersons = (await knex('residents')
    .whereIn('household_no', protectedHouseholds)
    .where({ resident_status: '1' })
    .orderBy(['household_no', 'relationship_code1', 'addressee_no'])
    .select(...RESIDENT_COLUMNS)) as ResidentLite[];
  const keys = [...new Set(protectedPersons.map((p) => s(p.address_key)).filter(Boolean))];
  // Everyone registered at a protected address, former residents included (their last address is it).
  const sameAddress = (await knex('residents').whereIn('address_key', keys).pluck('addressee_no')) as string[];
  const protectedSet = new Set([...protectedPersons.map((p) => p.addressee_no), ...sameAddress]);

  // Addresses: the register addresses of every protected household.
  const addresses: ProtectedAddress[] = [];
  const heads = new Map<string, ResidentLite>();
  for (const p of protectedPersons) if (!heads.has(p.household_no)) heads.set(p.household_no, p);
  for (const [hh, p] of heads) {
    const townBlock = s(p.town_name) + s(p.block_number);
    const kana = await kanaOf(knex, s(p.town_name));
    addresses.push({
      source: 'register',
      label: `世帯 ${hh}`,
      full: addressOf(p),
      townBlock,
      key: addressKey(townBlock),
      kana: kana ? kana + s(p.block_number) : null,
      postalCode: p.postal_code,
      block: s(p.block_number),
      suffix: p.address_suffix,
      townCode: p.town_code,
    });
  }

  // Neighbours: unprotected residents in the same 町字 (closest lots first), and others.
  const neighbours: ResidentLite[] = [];
  for (const [, p] of heads) {
    const rows = (await knex('residents')
      .where({ town_name: p.town_name, resident_status: '1' })
      .whereNotIn('addressee_no', [...protectedSet])
      .orderBy('address_key')
      .limit(40)
      .select(...RESIDENT_COLUMNS)) as ResidentLite[];
    const byHousehold = new Map<string, ResidentLite>();
    for (const r of rows) if (!byHousehold.has(r.household_no)) byHousehold.set(r.household_no, r);
    neighbours.push(...[...byHousehold.values()].slice(0, 3));
  }
  const others = (await knex('residents')
    .where({ resident_status: '1' })
    .whereNotIn('addressee_no', [...protectedSet])
    .whereNotIn(
      'addressee_no',
      neighbours.map((n) => n.addressee_no),
    )
    .orderBy('addressee_no')
    .limit(3)
    .select(...RESIDENT_COLUMNS)) as ResidentLite[];

  // Typed addresses: lots of the address master where nobody lives (so that no unprotected
  // resident legitimately shows them).
  const free = (await knex('address_master')
    .whereNotIn('address_key', knex('residents').whereNotNull('address_key').select('address_key'))
    .where({ address_suffix: '' })
    .orderBy('id')
    .limit(3)
    .select('town_name', 'town_kana', 'block_number', 'postal_code', 'town_code')) as {
    town_code: string;
    town_name: string;
    town_kana: string | null;
    block_number: string;
    postal_code: string | null;
  }[];
  if (free.length < 3) throw new Error('the address master has no free lots for typed addresses');
  // The third lot is the neighbour's unprotected new address (in the master: notices check it).
  const neighbourAddress = free[2]!.town_name + free[2]!.block_number;
  const place = heads.values().next().value!;
  const typed = free.slice(0, 2).map((f) => ({
    townBlock: f.town_name + f.block_number,
    address: {
      source: 'typedRelocation' as const,
      label: '',
      full: s(place.prefecture) + s(place.city) + f.town_name + f.block_number,
      townBlock: f.town_name + f.block_number,
      key: addressKey(f.town_name + f.block_number),
      kana: f.town_kana ? f.town_kana + f.block_number : null,
      postalCode: f.postal_code,
      block: f.block_number,
      suffix: null,
      townCode: f.town_code,
    },
  }));

  const counter = sessions.byGroup.get('counter')!;
  const shien = sessions.byGroup.get('supportMeasures')!;
  const reviewer = sessions.byGroup.get('reviewer')!;
  const post = async (who: LoggedIn, p: string, fields: Record<string, string | string[]>, want: number[], what: string) => {
    const res = await postForm(`${url}${p}`, who, fields);
    if (!want.includes(res.status))
      errors.push(`${what}: POST /${p} → ${res.status} ${(await res.text()).replace(/\s+/g, ' ').slice(-300)}`);
    return res;
  };
  const openVisit = async (who: LoggedIn, subjects: string[]): Promise<number> => {
    const res = await post(who, 'visits', {}, [303], 'open a visit');
    const id = Number(/\/visits\/(\d+)$/.exec(location(res))?.[1]);
    for (const no of subjects) await post(who, `visits/${id}/subjects`, { addresseeNo: no }, [303], 'add a subject');
    return id;
  };
  const householdOf = (hh: string) => protectedPersons.filter((p) => p.household_no === hh);
  const memberFields = (members: ResidentLite[]) => {
    const f: Record<string, string | string[]> = {};
    members.forEach((m, i) => {
      f[`m${i}_addresseeNo`] = m.addressee_no;
      f[`m${i}_name`] = m.name;
    });
    f.moving = members.map((_m, i) => String(i));
    f.head = String(
      Math.max(
        0,
        members.findIndex((m) => m.relationship_code1 === '02'),
      ),
    );
    return f;
  };
  const effective = (() => {
    const d = new Date(`${today}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() - 2);
    return d.toISOString().slice(0, 10);
  })();
  const startNotice = async (who: LoggedIn, visitId: number, type: string, subject?: string) => {
    const res = await post(who, `visits/${visitId}/notices`, { type, ...(subject ? { subject } : {}) }, [303], `start a ${type}`);
    return Number(/notices\/(\d+)$/.exec(location(res))?.[1]);
  };

  const [h1, h2, h3] = protectedHouseholds;
  const p1 = heads.get(h1!)!;
  const p2 = heads.get(h2!)!;
  const p3 = h3 ? heads.get(h3)! : p2;
  const n1 = neighbours[0] ?? others[0]!;
  const visits: number[] = [];
  const notices: { visitId: number; id: number }[] = [];

  // A. 支援措置担当: the protected person herself; identity form pre-filled with her true address; a 転居
  //    to a typed new address.
  const a = await openVisit(shien, [p1.addressee_no]);
  visits.push(a);
  const visitorAddress: ProtectedAddress = {
    ...addresses.find((x) => x.label === `世帯 ${h1}`)!,
    source: 'visitorForm',
    label: `来庁 ${a}`,
  };
  addresses.push(visitorAddress);
  await post(
    shien,
    `visits/${a}/visitor`,
    {
      visitorRole: 'subject',
      identityDocument: 'myNumberCard',
      visitorAddresseeNo: p1.addressee_no,
      visitorName: p1.name,
      visitorKana: s(p1.name_kana),
      visitorBirthDate: s(p1.birth_date),
      visitorSex: p1.sex,
      visitorAddress: addressOf(p1),
      visitorPhone: '090-0000-0000',
    },
    [303],
    'identity form (支援措置担当)',
  );
  const relocationA = await startNotice(shien, a, 'relocation', p1.addressee_no);
  await post(
    shien,
    `visits/${a}/notices/${relocationA}`,
    { action: 'accept', effectiveDate: effective, newAddress: typed[0]!.townBlock, ...memberFields(householdOf(h1!)) },
    [303],
    '転居 of a protected household (支援措置担当)',
  );
  addresses.push({ ...typed[0]!.address, label: `転居 ${relocationA}` });
  notices.push({ visitId: a, id: relocationA });

  // B. 総合窓口: a 転入 into a protected household (the clerk types its address); a neighbour's visit.
  const b = await openVisit(counter, [n1.addressee_no, p2.addressee_no]);
  visits.push(b);
  await post(
    counter,
    `visits/${b}/visitor`,
    { visitorRole: 'subject', identityDocument: 'driversLicence', visitorName: n1.name, visitorAddress: addressOf(n1) },
    [303],
    'identity form (neighbour)',
  );
  const moveIn = await startNotice(counter, b, 'moveIn');
  await post(
    counter,
    `visits/${b}/notices/${moveIn}`,
    {
      action: 'accept',
      effectiveDate: effective,
      previousAddress: '東京都千代田区千代田1番1号',
      newAddress: p1.town_name + s(p1.block_number),
      targetHouseholdNo: h1!,
      m0_name: '転入 次郎',
      m0_kana: 'テンニュウ ジロウ',
      m0_birthDate: '1988-05-05',
      m0_sex: '1',
      m0_relationship: '同居人',
      moving: '0',
    },
    [303],
    '転入 into a protected household',
  );
  addresses.push({ ...addresses.find((x) => x.label === `世帯 ${h1}`)!, source: 'moveInTarget', label: `転入 ${moveIn}` });
  // The visit's question (会社の健康保険がない): the 転入 then needs 国保 enrolment, a procedure with a form to print.
  await post(counter, `visits/${b}/answers`, { q_employeeInsurance: 'false' }, [303], 'answer a question');
  notices.push({ visitId: b, id: moveIn });
  // The neighbour's own 転居 (unprotected: a control that must stay visible).
  const neighbourNotice = await startNotice(counter, b, 'relocation', n1.addressee_no);
  const n1Household = (await knex('residents')
    .where({ household_no: n1.household_no, resident_status: '1' })
    .orderBy(['relationship_code1', 'addressee_no'])
    .select(...RESIDENT_COLUMNS)) as ResidentLite[];
  await post(
    counter,
    `visits/${b}/notices/${neighbourNotice}`,
    { action: 'accept', effectiveDate: effective, newAddress: neighbourAddress, ...memberFields(n1Household) },
    [303],
    '転居 of a neighbour',
  );
  notices.push({ visitId: b, id: neighbourNotice });

  // C. 総合窓口: a 転居 of another protected household, typed by the clerk.
  const c = await openVisit(counter, [p3.addressee_no]);
  visits.push(c);
  const relocationC = await startNotice(counter, c, 'relocation', p3.addressee_no);
  await post(
    counter,
    `visits/${c}/notices/${relocationC}`,
    { action: 'accept', effectiveDate: effective, newAddress: typed[1]!.townBlock, ...memberFields(householdOf(p3.household_no)) },
    [303],
    '転居 of a protected household (総合窓口)',
  );
  addresses.push({ ...typed[1]!.address, label: `転居 ${relocationC}` });
  notices.push({ visitId: c, id: relocationC });

  // Certificate requests for protected persons (本人) and the neighbour.
  const line = (i: number, type: string, subject: string, extra: Record<string, string> = {}) =>
    Object.fromEntries(Object.entries({ type, subject, copies: '1', purpose: 'self', ...extra }).map(([k, v]) => [`l${i}_${k}`, v]));
  await post(
    counter,
    `visits/${b}/certificates`,
    { relation: 'self', action: 'save', ...line(0, 'residentCopy', p2.addressee_no, { scope: 'household' }) },
    [303],
    'certificate request (protected)',
  );
  await post(
    counter,
    `visits/${c}/certificates`,
    {
      relation: 'self',
      action: 'save',
      ...line(0, 'residentCopy', p3.addressee_no, { scope: 'members' }),
      ...line(1, 'sealCertificate', p3.addressee_no),
    },
    [303],
    'certificate request (protected, two lines)',
  );
  await post(
    counter,
    `visits/${b}/certificates`,
    { relation: 'self', action: 'save', ...line(0, 'residentCopy', n1.addressee_no, { scope: 'household' }) },
    [303],
    'certificate request (neighbour)',
  );

  // Review: the jobs open to the agent. A notice touching protection may be routed to staff
  // holding both notice.review and resident.viewProtectedAddress: a shipped group if one has both,
  // else a group the municipality adds (as on /admin/groups).
  let protectedReviewer: LoggedIn | undefined;
  for (const n of notices) {
    const res = await postForm(`${url}notices/${n.id}/move`, reviewer, { move: 'review' });
    if (res.status === 303) continue;
    if (res.status !== 403) {
      errors.push(`review: POST /notices/${n.id}/move → ${res.status}`);
      continue;
    }
    if (!protectedReviewer) {
      const perms = await groupPermissions(knex);
      const both = [...perms].find(([, p]) => p.has('notice.review') && p.has('resident.viewProtectedAddress'))?.[0];
      if (!both)
        await saveGroup(
          knex,
          {
            code: PROTECTED_REVIEW_GROUP,
            name: '支援措置 審査',
            description: '支援措置に関わる届出の審査',
            permissions: ['resident.search', 'resident.viewProtectedAddress', 'notice.review', 'rpa.manage', 'linkage.read'],
            scopes: [],
          },
          { staffLogin: 'leak-crawler' },
        );
      protectedReviewer = await loginAs(url, knex, [both ?? PROTECTED_REVIEW_GROUP]);
      sessions.byGroup.set(both ?? PROTECTED_REVIEW_GROUP, protectedReviewer);
    }
    await post(protectedReviewer, `notices/${n.id}/move`, { move: 'review' }, [303], 'review (protected)');
  }

  // The agent claims every job; protected ones get a trace with what was typed.
  const agentHeaders = { authorization: `Bearer ${sessions.agentToken}`, 'content-type': 'application/json' };
  let agentClaims = 0;
  let evidence = 0;
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${url}api/v1/agent/claim`, { method: 'POST', headers: agentHeaders });
    if (res.status === 204) break;
    const text = await res.text();
    if (res.status !== 200) {
      errors.push(`claim: ${res.status} ${text.slice(0, 200)}`);
      break;
    }
    onAgentResponse('POST /api/v1/agent/claim', `${url}api/v1/agent/claim`, text);
    agentClaims++;
    const job = (JSON.parse(text) as { job: { id: number; payload: unknown } }).job;
    const trace = storedZip('trace/typed.json', Buffer.from(JSON.stringify(job.payload), 'utf8'));
    const ev = await fetch(`${url}api/v1/agent/jobs/${job.id}/evidence?kind=trace`, {
      method: 'POST',
      headers: { authorization: agentHeaders.authorization, 'content-type': 'application/zip' },
      body: trace,
    });
    if (ev.status !== 201) errors.push(`evidence: ${ev.status} ${(await ev.text()).slice(0, 200)}`);
    else evidence++;
    // Half need attention (they stay listed on /rpa/jobs), half succeed.
    const fail = job.id % 2 === 0;
    const done = await fetch(`${url}api/v1/agent/jobs/${job.id}/${fail ? 'failure' : 'success'}`, {
      method: 'POST',
      headers: agentHeaders,
      body: JSON.stringify(fail ? { kind: 'business', message: '基幹系の住所辞書にありません' } : { coreRef: `R08-${job.id}` }),
    });
    if (done.status !== 200) errors.push(`report: ${done.status} ${(await done.text()).slice(0, 200)}`);
  }

  const certificateRequests = (await knex('certificate_requests').select('visit_id', 'id')).map((r: { visit_id: number; id: number }) => ({
    visitId: Number(r.visit_id),
    id: Number(r.id),
  }));

  // Address searches: each protected lot (町字+番地, its key form, the 町字 alone, the block), and
  // the neighbours' lots.
  const addressQueries = new Set<string>();
  for (const [, p] of heads) {
    const tb = s(p.town_name) + s(p.block_number);
    addressQueries.add(tb);
    addressQueries.add(addressKey(tb));
    addressQueries.add(s(p.town_name));
    const block = /^(.*?\d+番)/.exec(s(p.block_number))?.[1];
    if (block) addressQueries.add(s(p.town_name) + block);
  }
  for (const n of neighbours) addressQueries.add(s(n.town_name) + s(n.block_number));

  return {
    protectedPersons,
    protectedSet,
    protectedHouseholds,
    neighbours,
    others,
    addresses,
    addressQueries: [...addressQueries],
    visits,
    notices,
    certificateRequests,
    agentClaims,
    evidence,
    setupErrors: errors,
  };
}

/**
 * One entry per distinct address (the visitor form and the 転入 repeat a register address): the
 * sources and labels are joined, so that a page showing it counts once.
 */
export function mergeAddresses(list: readonly ProtectedAddress[]): ProtectedAddress[] {
  const byFull = new Map<string, ProtectedAddress>();
  for (const a of list) {
    const k = squeeze(a.full);
    const seen = byFull.get(k);
    if (!seen) byFull.set(k, { ...a });
    else {
      if (!seen.source.split('+').includes(a.source)) seen.source = `${seen.source}+${a.source}` as AddressSource;
      seen.label = `${seen.label}, ${a.label}`;
    }
  }
  return [...byFull.values()];
}

/** A zip with one stored (uncompressed) entry: what a Playwright trace of typed text holds in clear. */
function storedZip(name: string, data: Buffer): Buffer {
  const crc = zlib.crc32(data);
  const n = Buffer.from(name, 'utf8');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(0x0800, 6);
  local.writeUInt32LE(crc >>> 0, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(n.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(0x0800, 8);
  central.writeUInt32LE(crc >>> 0, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(n.length, 28);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(46 + n.length, 12);
  end.writeUInt32LE(30 + n.length + data.length, 16);
  return Buffer.concat([local, n, data, central, n, end]);
}

// ---------------------------------------------------------------------------------------------
// The route registry

/** The declared routes, read from the app's own registry (the same `createApp` the server runs). */
export async function declaredRoutes(): Promise<RouteInfo[]> {
  const db = await migratedSqlite();
  try {
    const config = loadAppConfig(configDir);
    const { routes } = createApp({
      knex: db.knex,
      config,
      configDir,
      logger: createLogger({ console: false }),
      version: 'leak-crawler',
      linkage: { knex: db.knex, registry: LayoutRegistry.load(configDir), settings: config.linkage, closedDates: [], loads: () => [] },
    });
    return routes;
  } finally {
    await db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The crawl

export interface Viewer {
  name: string;
  /** Holds `resident.viewProtectedAddress`. */
  mayView: boolean;
  permissions: ReadonlySet<string>;
  headers: Record<string, string>;
  /** Bearer tokens work on /api/ only. */
  apiOnly: boolean;
}

interface Target {
  route: string;
  url: string;
  /** Query values typed by the viewer (stripped before scanning). */
  echoed: string[];
  /** An address search: its results are also checked as an oracle. */
  addressSearch?: { query: string; target: string; pageSize: number; api: boolean };
}

export interface LeakFinding {
  route: string;
  viewer: string;
  source: AddressSource;
  address: string;
  forms: AddressForm[];
  count: number;
  example: string;
}

export interface OracleFinding {
  /** The viewers (groups without the right) that saw it. */
  viewers: string[];
  /** The search: the address typed, the target and the page size, and whether API or screen. */
  query: string;
  kind: 'listsProtected' | 'countDiffers' | 'orderDiffers' | 'pageDiffers';
  detail: string;
}

export interface LeakReport {
  soak: 'leaks';
  people: number;
  protectedPersons: number;
  protectedAddresses: number;
  routes: number;
  routesCrawled: number;
  viewers: number;
  responses: number;
  leaks: number;
  leakResponses: number;
  positiveControl: number;
  /** Address searches (viewer × search) that failed an oracle check. */
  oracle: number;
  status5xx: number;
  logLeaks: number;
  /** Log files scanned (`<data-dir>/logs`). */
  logFiles: number;
  /** Requests that took longer than the timeout, and requests skipped after two on their route. */
  timeouts: number;
  skipped: number;
  timedOutRoutes: string[];
  /** Requests retried after a connection error. */
  networkErrors: number;
  /** JSON responses that did not match their declared schema (from the server log). */
  schemaMismatches: number;
  /** Hits in the address dictionary (町字 and lot lists): not about persons, not a leak. */
  dictionaryHits: number;
  agentClaims: number;
  evidence: number;
  /** The routes where 支援措置担当 saw a protected address. */
  positiveControlRoutes: string[];
  status: Record<string, number>;
  /** Statuses per route (all viewers). */
  routeStatus: Record<string, Record<string, number>>;
  setupErrors: number;
  unfilledRoutes: string[];
  seconds: number;
  findings: LeakFinding[];
  oracleFindings: OracleFinding[];
  setupErrorList: string[];
}

export interface LeakCrawlOptions {
  people: number;
  seed?: string;
  /** Parallel requests (at most 50). */
  concurrency?: number;
  /** Per request (default 15 s). A route timing out twice is not requested further. */
  requestTimeoutMs?: number;
  /** Procedure form PDFs per visit (they are the slowest pages); default all. */
  procedurePdfsPerVisit?: number;
  /** Only these viewers request PDFs (default: everyone). The shortened run keeps one of each kind. */
  pdfViewers?: readonly string[];
  /** Fewer search variants (the shortened run): one person per protected household, residents only. */
  quick?: boolean;
  log?: (line: string) => void;
}

/** Routes that serve the address dictionary (町字 and lot lists, postal codes), not persons. */
const DICTIONARY = new Set([
  '/api/v1/addresses/towns',
  '/api/v1/addresses/blocks',
  '/api/v1/addresses/match',
  '/api/v1/postal-codes/:code',
]);
/**
 * Routes skipped on purpose: static files hold no personal data. A card reading is handed once, to
 * the session that asked for it at its counter: no other viewer can fetch it, so it is crawled by
 * its own suite (test/integration/card-relay.test.ts asks as every group for a protected card).
 */
const SKIP = new Set([
  '/static/base.css',
  '/static/counter.js',
  '/static/card.js',
  '/static/staff-import.js',
  '/visits/:id/card-reading/:requestId',
]);

const fill = (p: string, params: Record<string, string | number>) =>
  p.replace(/:(\w+)/g, (_m, k: string) => encodeURIComponent(String(params[k])));
const withQuery = (p: string, q: Record<string, string> = {}) => {
  const qs = new URLSearchParams(q).toString();
  return `${p.slice(1)}${qs ? `?${qs}` : ''}`;
};

async function targetsFor(r: RouteInfo, town: LeakTown, knex: Knex, opts: LeakCrawlOptions): Promise<Target[] | null> {
  const t = (params: Record<string, string | number>, query: Record<string, string> = {}, extra: Partial<Target> = {}): Target => ({
    route: r.path,
    url: withQuery(fill(r.path, params), query),
    echoed: Object.values(query),
    ...extra,
  });
  const persons = [...town.protectedPersons, ...town.neighbours, ...town.others];
  const today = todayInJapan();
  const period = { from: `${today.slice(0, 4)}-01-01`, to: today };
  const searches = (api: boolean): Target[] => {
    const out: Target[] = [];
    const extra: Record<string, string> = api ? {} : { visit: String(town.visits[0]) };
    const seenHousehold = new Set<string>();
    const people = [...town.protectedPersons, ...town.neighbours.slice(0, 2)].filter((p) => {
      if (!opts.quick) return true;
      const first = !seenHousehold.has(p.household_no);
      seenHousehold.add(p.household_no);
      return first;
    });
    for (const p of people) {
      out.push(t({}, { name: p.name, ...extra }));
      if (p.name_kana) out.push(t({}, { kana: p.name_kana, ...extra }));
      if (p.birth_date) out.push(t({}, { birthDate: p.birth_date, ...extra }));
      if (p.birth_date) out.push(t({}, { name: p.name, birthDate: p.birth_date, target: 'former', ...extra }));
    }
    for (const q of town.addressQueries)
      for (const [target, pageSize] of (opts.quick
        ? [
            ['residents', '200'],
            ['residents', '3'],
          ]
        : [
            ['residents', '200'],
            ['residents', '3'],
            ['former', '200'],
          ]) as [string, string][])
        out.push(
          t({}, { address: q, target, pageSize, ...extra }, { addressSearch: { query: q, target, pageSize: Number(pageSize), api } }),
        );
    return out;
  };
  switch (r.path) {
    case '/linkage/runs/:id':
    case '/api/v1/linkage/runs/:id':
      return ((await knex('linkage_runs').orderBy('id').pluck('id')) as number[]).map((id) => t({ id }));
    case '/api/v1/linkage/runs':
      return [t({}), t({}, { spec: '001o013' }), t({}, { spec: '001o005' })];
    case '/api/v1/residents':
      return searches(true);
    case '/search':
      return [t({}), ...searches(false)];
    case '/api/v1/residents/:addresseeNo':
    case '/residents/:addresseeNo':
      return persons.flatMap((p) => [
        t({ addresseeNo: p.addressee_no }),
        ...(town.protectedSet.has(p.addressee_no) ? [t({ addresseeNo: p.addressee_no }, { myNumber: '1' })] : []),
      ]);
    case '/visits':
      return [t({}), t({}, { status: 'open' }), ...persons.slice(0, 4).map((p) => t({}, { addresseeNo: p.addressee_no }))];
    case '/visits/:id':
    case '/api/v1/visits/:id':
    case '/api/v1/visits/:id/notices':
    case '/api/v1/visits/:id/procedures':
    case '/visits/:id/bundle.pdf':
    case '/visits/:id/guide.pdf':
    case '/visits/:id/certificates':
      return town.visits.map((id) => t({ id }));
    case '/visits/:id/notices/:nid':
    case '/visits/:id/notices/:nid/form.pdf':
    case '/visits/:id/notices/:nid/signature.png':
      return town.notices.map((n) => t({ id: n.visitId, nid: n.id }));
    case '/review/notices/:id':
      return town.notices.map((n) => t({ id: n.id }));
    case '/visits/:id/procedures/:rid/forms.pdf': {
      const rows = (await knex('visit_procedures')
        .whereIn('visit_id', town.visits)
        .orderBy('id')
        .select('visit_id', 'id', 'procedure_id')) as {
        visit_id: number;
        id: number;
        procedure_id: string;
      }[];
      const config = loadAppConfig(configDir);
      const catalog = loadProcedures(configDir, config.counters);
      const per = new Map<number, number>();
      return rows
        .filter((x) => catalog.byId(String(x.procedure_id))?.forms.length)
        .filter((x) => {
          const n = (per.get(Number(x.visit_id)) ?? 0) + 1;
          per.set(Number(x.visit_id), n);
          return n <= (opts.procedurePdfsPerVisit ?? Infinity);
        })
        .map((x) => t({ id: x.visit_id, rid: x.id }));
    }
    case '/visits/:id/certificates/:rid/request.pdf':
      return town.certificateRequests.map((c) => t({ id: c.visitId, rid: c.id }));
    case '/pamphlets/:file': {
      const files = readdirSync(path.join(configDir, 'pamphlets')).filter((f) => f.endsWith('.pdf'));
      return files.slice(0, 1).map((file) => t({ file }));
    }
    case '/worklist': {
      const sections = [...new Set(loadAppConfig(configDir).counters.map((c) => c.section))];
      return [t({}), ...sections.map((section) => t({}, { section }))];
    }
    case '/rpa/jobs':
      return [t({}), ...['queued', 'leased', 'needsAttention', 'succeeded', 'cancelled'].map((status) => t({}, { status }))];
    case '/rpa/jobs/:id':
      return ((await knex('rpa_jobs').orderBy('id').pluck('id')) as number[]).map((id) => t({ id }));
    case '/rpa/evidence/:id':
      return ((await knex('rpa_evidence').orderBy('id').pluck('id')) as number[]).map((id) => t({ id }));
    case '/admin/staff/:id':
      return ((await knex('staff').orderBy('id').limit(2).pluck('id')) as number[]).map((id) => t({ id }));
    case '/admin/groups/:code':
      return ((await knex('staff_groups').orderBy('code').pluck('code')) as string[]).map((code) => t({ code }));
    case '/admin/groups/new':
      return [t({}, { code: 'leakcheck' })];
    case '/admin/audit':
      return [
        t({}),
        t({}, { page: '2' }),
        t({}, { page: '3' }),
        ...['notice', 'visit', 'rpa', 'print', 'certificate', 'resident'].map((action) => t({}, { action })),
        ...town.protectedPersons.slice(0, 4).map((p) => t({}, { target: p.addressee_no })),
      ];
    case '/admin/audit/export.csv':
      return [t({}, period)];
    case '/stats/visits':
      return [t({}), t({}, period)];
    case '/stats/visits.csv':
    case '/stats/counter-time.csv':
      return [t({}, period), t({}, { ...period, encoding: 'cp932' })];
    case '/api/v1/addresses/towns':
      return town.addresses.slice(0, 3).map((a) => t({}, { q: a.townBlock.slice(0, 2) }));
    case '/api/v1/addresses/blocks':
      return [...new Set(town.addresses.map((a) => a.townCode).filter((x): x is string => !!x))]
        .slice(0, 3)
        .map((code) => t({}, { town: String(Number(code)) }));
    case '/api/v1/addresses/match':
      return town.addresses.slice(0, 3).map((a) => t({}, { text: a.townBlock }));
    case '/api/v1/postal-codes/:code':
      return [...new Set(town.addresses.map((a) => a.postalCode).filter((x): x is string => !!x))].map((code) => t({ code }));
    default:
      if (/:\w+/.test(r.path)) return null;
      return [t({})];
  }
}

/** A bounded pool: runs `work` over `items`, at most `limit` at once. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

interface SearchSeen {
  viewer: string;
  query: string;
  target: string;
  pageSize: number;
  total: number;
  capped: boolean;
  results: string[];
}

/**
 * Starts a server, builds the town, crawls and scans. Stops by itself: the crawl is a fixed list
 * of requests, loopback only, with at most `concurrency` (≤ 50) in flight.
 */
export async function runLeakCrawler(opts: LeakCrawlOptions): Promise<LeakReport> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const concurrency = Math.max(1, Math.min(50, opts.concurrency ?? 8));
  // The crawler looks for leaks: a response that drifts from its declared schema is reported
  // (from the log) but still answered, so that its body is scanned rather than replaced by a 500.
  const check = process.env.MADOGUCHI_RESPONSE_CHECK;
  process.env.MADOGUCHI_RESPONSE_CHECK = 'log';
  let server: TestServer;
  try {
    server = await startTestServer();
  } finally {
    if (check === undefined) delete process.env.MADOGUCHI_RESPONSE_CHECK;
    else process.env.MADOGUCHI_RESPONSE_CHECK = check;
  }
  try {
    log(`town: ${opts.people} people`);
    await loadTown(server, opts.people, opts.seed ?? 'leaks');
    const sessions = await loginEveryone(server);
    const agentReplies: { route: string; url: string; body: string }[] = [];
    const town = await buildLeakTown(server, sessions, (route, url, body) => agentReplies.push({ route, url, body }));
    for (const e of town.setupErrors) log(`setup: ${e}`);
    log(`town and setup ready after ${Math.round((Date.now() - started) / 1000)} s`);
    log(`protected: ${town.protectedPersons.length} persons, ${town.addresses.length} addresses; visits ${town.visits.join(',')}`);
    const scanner = new AddressScanner(mergeAddresses(town.addresses));

    const viewers: Viewer[] = [];
    const perms = await groupPermissions(server.knex);
    for (const [code, session] of sessions.byGroup) {
      const p = perms.get(code) ?? new Set<string>();
      viewers.push({
        name: code,
        mayView: p.has('resident.viewProtectedAddress'),
        permissions: p,
        headers: { cookie: session.cookie },
        apiOnly: false,
      });
    }
    const agentPerms = perms.get('rpaAgent') ?? new Set(['rpa.agent']);
    viewers.push({
      name: 'rpaAgent',
      mayView: agentPerms.has('resident.viewProtectedAddress'),
      permissions: agentPerms,
      headers: { authorization: `Bearer ${sessions.agentToken}` },
      apiOnly: true,
    });

    const routes = await declaredRoutes();
    const gets = routes.filter((r) => r.method === 'GET' && !SKIP.has(r.path) && !r.path.startsWith('/static/'));
    const unfilled: string[] = [];
    const jobs: { viewer: Viewer; target: Target }[] = [];
    const crawled = new Set<string>();
    for (const r of gets) {
      const targets = await targetsFor(r, town, server.knex, opts);
      if (!targets || !targets.length) {
        unfilled.push(`GET ${r.path}`);
        continue;
      }
      crawled.add(r.path);
      for (const v of viewers) {
        const allowed =
          r.access === 'public' ||
          (r.access === 'authenticated'
            ? true
            : r.access === 'residentScreen' || r.access === 'standbyPeer'
              ? false
              : v.permissions.has(r.access.permission)) ||
          false;
        // Without the permission (or a token outside /api/), one request shows the refusal.
        const pdf = r.spec?.response.kind === 'file' && r.path.endsWith('.pdf');
        const reachable =
          allowed && (!v.apiOnly || r.path.startsWith('/api/')) && (!pdf || !opts.pdfViewers || opts.pdfViewers.includes(v.name));
        for (const target of reachable ? targets : targets.slice(0, 1)) jobs.push({ viewer: v, target });
      }
    }
    log(`crawl: ${jobs.length} requests over ${crawled.size} routes as ${viewers.length} viewers`);

    const status: Record<string, number> = {};
    const findings = new Map<string, LeakFinding>();
    let responses = 0;
    const controlRoutes = new Set<string>();
    let leakResponses = 0;
    let positiveControl = 0;
    let dictionaryHits = 0;
    const searchesSeen: SearchSeen[] = [];
    const oracleMap = new Map<string, OracleFinding>();
    const oracleResponses = new Set<string>();
    const oracle = (viewer: string, query: string, kind: OracleFinding['kind'], detail: string) => {
      oracleResponses.add(`${viewer}|${query}`);
      const key = `${kind}|${query}|${detail}`;
      const f = oracleMap.get(key);
      if (f) f.viewers.push(viewer);
      else oracleMap.set(key, { viewers: [viewer], query, kind, detail });
    };
    let pdfNo = 0;
    let networkErrors = 0;
    const routeMs = new Map<string, { n: number; ms: number }>();

    const record = (viewer: Viewer, route: string, url: string, hits: Hit[]) => {
      if (!hits.length) return;
      if (DICTIONARY.has(route)) {
        dictionaryHits++;
        return;
      }
      if (viewer.mayView) {
        positiveControl++;
        controlRoutes.add(route);
        return;
      }
      leakResponses++;
      for (const h of hits) {
        const key = `${route}|${viewer.name}|${h.address.source}|${h.address.townBlock}|${h.forms.join(',')}`;
        const f = findings.get(key);
        if (f) f.count++;
        else
          findings.set(key, {
            route,
            viewer: viewer.name,
            source: h.address.source,
            address: `${h.address.label}: ${h.address.townBlock}`,
            forms: h.forms,
            count: 1,
            example: url,
          });
      }
    };

    // The agent's claims, made during the setup, are responses to the token too.
    const agent = viewers.find((v) => v.name === 'rpaAgent')!;
    for (const a of agentReplies) {
      responses++;
      status['200'] = (status['200'] ?? 0) + 1;
      record(agent, a.route, a.url, scanner.scan(a.body));
    }

    const routeStatus: Record<string, Record<string, number>> = {};
    const timedOut = new Map<string, number>();
    let timeouts = 0;
    let skipped = 0;
    await pool(jobs, concurrency, async ({ viewer, target }) => {
      if ((timedOut.get(target.route) ?? 0) >= 2) {
        skipped++;
        return;
      }
      const t0 = Date.now();
      let res: Response;
      // A 5xx is counted but retried (twice), so that the page is still scanned.
      for (let attempt = 0; ; attempt++) {
        try {
          res = await fetch(`${server.url}${target.url}`, {
            redirect: 'manual',
            headers: { ...viewer.headers, accept: target.route.startsWith('/api/') ? 'application/json' : 'text/html,application/pdf,*/*' },
            signal: AbortSignal.timeout(opts.requestTimeoutMs ?? 15_000),
          });
        } catch (e) {
          if ((e as Error).name === 'TimeoutError') {
            timeouts++;
            timedOut.set(target.route, (timedOut.get(target.route) ?? 0) + 1);
            log(`timeout on ${target.url} as ${viewer.name}`);
            return;
          }
          if (attempt === 2) throw e;
          networkErrors++;
          log(`network error on ${target.url} as ${viewer.name}: ${(e as Error).message} ${String((e as Error).cause ?? '')}`);
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        if (res.status < 500 || attempt === 2) break;
        status[`${res.status} (retried)`] = (status[`${res.status} (retried)`] ?? 0) + 1;
        log(`${res.status} on ${target.url} as ${viewer.name}: ${(await res.text()).slice(0, 120)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      responses++;
      status[String(res.status)] = (status[String(res.status)] ?? 0) + 1;
      const rs = (routeStatus[target.route] ??= {});
      rs[String(res.status)] = (rs[String(res.status)] ?? 0) + 1;
      const type = res.headers.get('content-type') ?? '';
      const raw = Buffer.from(await res.arrayBuffer());
      let text: string;
      if (type.includes('application/pdf') && raw.subarray(0, 4).toString('latin1') === '%PDF') {
        const file = path.join(server.dir, `leak-${++pdfNo}.pdf`);
        writeFileSync(file, raw);
        try {
          text = (await run('pdftotext', ['-raw', file, '-'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })).stdout;
        } catch (e) {
          text = '';
          log(`pdftotext failed for ${target.url}: ${(e as Error).message}`);
        }
      } else if (/shift_jis|cp932|windows-31j/i.test(type) || (type.includes('csv') && target.url.includes('encoding=cp932'))) {
        text = iconv.decode(raw, 'cp932');
      } else text = raw.toString('utf8');
      record(viewer, target.route, target.url, scanner.scan(text, target.echoed));
      const rt = routeMs.get(target.route) ?? { n: 0, ms: 0 };
      rt.n++;
      rt.ms += Date.now() - t0;
      routeMs.set(target.route, rt);
      const search = target.addressSearch;
      if (search && res.status === 200 && viewer.permissions.has('resident.search')) {
        if (search.api) {
          const body = JSON.parse(text) as { total: number; totalCapped?: boolean; results: { addresseeNo: string }[] };
          searchesSeen.push({
            viewer: viewer.name,
            query: search.query,
            target: search.target,
            pageSize: search.pageSize,
            total: body.total,
            capped: body.totalCapped === true,
            results: body.results.map((x) => x.addresseeNo),
          });
        } else if (!viewer.mayView) {
          const listed = [...town.protectedSet].filter((no) => text.includes(`/residents/${no}`));
          if (listed.length)
            oracle(
              viewer.name,
              `/search address=${search.query} target=${search.target} pageSize=${search.pageSize}`,
              'listsProtected',
              `lists ${listed.length} protected person(s): ${listed.slice(0, 4).join(', ')}`,
            );
        }
      }
    });

    log(`crawl done after ${Math.round((Date.now() - started) / 1000)} s`);
    // The address-search oracle: without the right, a search lists no protected person, and the
    // others come in the same number and order as for 支援措置担当 with the protected rows removed.
    const reference = new Map<string, SearchSeen>();
    for (const x of searchesSeen)
      if (viewers.find((v) => v.name === x.viewer)?.mayView) reference.set(`${x.query}|${x.target}|${x.pageSize}`, x);
    for (const x of searchesSeen) {
      const v = viewers.find((w) => w.name === x.viewer)!;
      if (v.mayView) continue;
      const where = `/api/v1/residents address=${x.query} target=${x.target} pageSize=${x.pageSize}`;
      const listed = x.results.filter((no) => town.protectedSet.has(no));
      if (listed.length)
        oracle(x.viewer, where, 'listsProtected', `lists ${listed.length} protected person(s): ${listed.slice(0, 4).join(', ')}`);
      const ref = reference.get(`${x.query}|${x.target}|${x.pageSize}`);
      const full = reference.get(`${x.query}|${x.target}|200`);
      if (!ref || !full) continue;
      const protectedInRef = full.results.filter((no) => town.protectedSet.has(no)).length;
      const expectedTotal = full.total - protectedInRef;
      // A count capped at 200 says nothing; the rows shown are compared below.
      if (!full.capped && !x.capped && x.total !== expectedTotal)
        oracle(
          x.viewer,
          where,
          'countDiffers',
          `total ${x.total}, expected ${expectedTotal} (支援措置担当 ${full.total}, ${protectedInRef} protected)`,
        );
      const expected = full.results.filter((no) => !town.protectedSet.has(no)).slice(0, x.pageSize);
      const got = x.results.filter((no) => !town.protectedSet.has(no));
      // When the reference list is cut at its page size, the viewer's list may go on past it.
      const n =
        full.capped || full.results.length >= full.pageSize ? Math.min(got.length, expected.length) : Math.max(got.length, expected.length);
      if (x.pageSize === 200 && got.slice(0, n).join() !== expected.slice(0, n).join())
        oracle(x.viewer, where, 'orderDiffers', 'the other rows come in another order');
      if (x.pageSize < 200 && x.results.join() !== expected.join())
        oracle(x.viewer, where, 'pageDiffers', `page 1 is [${x.results.join(', ')}], expected [${expected.join(', ')}]`);
    }

    // The server's log files (read by operators without the right).
    await new Promise((r) => setTimeout(r, 300));
    let logLeaks = 0;
    const logDir = path.join(server.dataDir, 'logs');
    const logFiles = (() => {
      try {
        return readdirSync(logDir)
          .map((f) => path.join(logDir, f))
          .filter((f) => statSync(f).isFile());
      } catch {
        return [];
      }
    })();
    const logViewer: Viewer = { name: 'log', mayView: false, permissions: new Set(), headers: {}, apiOnly: false };
    let schemaMismatches = 0;
    for (const f of logFiles) {
      const content = readFileSync(f, 'utf8');
      schemaMismatches += content.split('response does not match its schema').length - 1;
      const hits = scanner.scan(content);
      if (hits.length) logLeaks++;
      record(logViewer, `log ${path.basename(f)}`, f, hits);
    }

    const oracleFindings = [...oracleMap.values()];
    const slowest = [...routeMs.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 5)
      .map(([route, t]) => `${route} ${t.n}× ${Math.round(t.ms / 1000)} s`);
    log(`slowest routes: ${slowest.join('; ')}`);
    const list = [...findings.values()].sort((a, b) => a.route.localeCompare(b.route) || a.viewer.localeCompare(b.viewer));
    return {
      soak: 'leaks',
      people: opts.people,
      protectedPersons: town.protectedPersons.length,
      protectedAddresses: town.addresses.length,
      routes: gets.length,
      routesCrawled: crawled.size,
      viewers: viewers.length,
      responses,
      leaks: leakResponses + oracleResponses.size,
      leakResponses,
      positiveControl,
      oracle: oracleResponses.size,
      status5xx: Object.entries(status)
        .filter(([k]) => k.startsWith('5'))
        .reduce((n, [, v]) => n + v, 0),
      logLeaks,
      logFiles: logFiles.length,
      timeouts,
      skipped,
      timedOutRoutes: [...timedOut.keys()],
      networkErrors,
      schemaMismatches,
      dictionaryHits,
      agentClaims: town.agentClaims,
      evidence: town.evidence,
      positiveControlRoutes: [...controlRoutes].sort(),
      status,
      routeStatus,
      setupErrors: town.setupErrors.length,
      unfilledRoutes: unfilled,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      findings: list,
      oracleFindings,
      setupErrorList: town.setupErrors,
    };
  } finally {
    await server.close();
  }
}

/** The readable list of leaks (one line each) for stderr and test messages. */
export function describeLeaks(r: LeakReport): string {
  const lines: string[] = [];
  for (const f of r.findings)
    lines.push(`LEAK ${f.route} as ${f.viewer}: ${f.source} ${f.address} [${f.forms.join(', ')}] ×${f.count} e.g. ${f.example}`);
  for (const o of r.oracleFindings) lines.push(`ORACLE ${o.kind} ${o.query} as ${o.viewers.join(',')}: ${o.detail}`);
  for (const e of r.setupErrorList) lines.push(`SETUP ${e}`);
  return lines.join('\n');
}
