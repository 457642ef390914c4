import { DomainError, invalidInput } from '../errors/domainError.js';
import type { Knex } from 'knex';
import { appendAudit } from '../audit/trail.js';
import type { StaffSession } from '../auth/sessions.js';
import type { AuditActor } from '../auth/staffRepo.js';
import { changeReason } from '../domain/codes.js';
import { parseDateInput, type EraKey } from '../domain/dateInput.js';
import { formatWareki } from '../domain/wareki.js';
import { entitlementsFor, presentResident, registeredAddress, type PresentedEntitlement, type PresentedResident } from './present.js';
import {
  anyOf,
  AddressPresenter,
  canSeeProtected,
  NOT_PROTECTED,
  protection,
  withoutProtected,
  type PresentedAddress,
} from './protection.js';
import { searchResidents, searchTargets, type ResidentQuery, type SearchTarget } from './search.js';
import { warningsFor } from './warnings.js';

const bad = (message: string) => invalidInput(message);
const text = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

export interface ParsedSearch {
  query: ResidentQuery;
  /** What was understood, for display next to the search form (e.g. 生年月日 昭和50年4月1日). */
  understood: string[];
}

/** The town's own prefecture, county and name, dropped from the front of a typed address. */
export interface OwnMunicipality {
  prefecture: string;
  county?: string | null;
  name: string;
}

export function stripOwnMunicipality(address: string, m: OwnMunicipality | undefined): string {
  let t = address.normalize('NFKC').trim();
  if (m) for (const prefix of [m.prefecture, m.county ?? '', m.name]) if (prefix && t.startsWith(prefix)) t = t.slice(prefix.length).trim();
  return t;
}

/** Turns what staff typed (query string or form) into a search, with errors in Japanese. */
export function parseSearchParams(p: Record<string, unknown>, municipality?: OwnMunicipality): ParsedSearch {
  const target = (text(p.target) || 'residents') as SearchTarget;
  if (!searchTargets.includes(target)) throw bad('検索対象の指定が正しくありません');
  const name = text(p.name);
  const kana = text(p.kana);
  const address = stripOwnMunicipality(text(p.address), municipality);
  const birthText = text(p.birthDate);
  const era = text(p.era).toUpperCase();
  if (era && !['M', 'T', 'S', 'H', 'R'].includes(era)) throw bad('元号キーは M・T・S・H・R のいずれかです');
  const understood: string[] = [];
  let birth: ResidentQuery['birth'];
  if (birthText) {
    const d = parseDateInput(birthText, (era || undefined) as EraKey | undefined);
    if (!d.ok) throw bad(d.message);
    birth = { from: d.from, to: d.to };
    understood.push(`生年月日 ${d.label}`);
  }
  const sex = text(p.sex);
  if (sex && sex !== '1' && sex !== '2') throw bad('性別は 1 (男) か 2 (女) で指定してください');
  if (!name && !kana && !birth && !address) throw bad('氏名・カナ・生年月日・住所のいずれかを入力してください');
  if (address && (target === 'nonResidents' || target === 'corporations'))
    throw bad('住所での検索は住民 (住登者・消除者・外国人) だけが対象です');
  const page = p.page === undefined || p.page === '' ? 1 : Number(p.page);
  if (!Number.isInteger(page) || page < 1 || page > 1000) throw bad('page は 1 以上の整数で指定してください');
  const pageSize = p.pageSize === undefined || p.pageSize === '' ? 20 : Number(p.pageSize);
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 200) throw bad('pageSize は 1〜200 の整数で指定してください');
  return {
    query: {
      target,
      ...(name ? { name } : {}),
      ...(kana ? { kana } : {}),
      ...(birth ? { birth } : {}),
      ...(address ? { address } : {}),
      ...(sex ? { sex: sex as '1' | '2' } : {}),
      page,
      pageSize,
    },
    understood,
  };
}

export interface SearchResultItem extends PresentedResident {
  kind: 'resident' | 'nonResident' | 'corporation';
  match: 'exact' | 'variant' | 'kanaFold';
  /** Entitlement kinds held, limited to the active role's scope. */
  entitlements: string[];
}

export interface SearchResponse {
  target: SearchTarget;
  page: number;
  pageSize: number;
  total: number;
  totalCapped: boolean;
  elapsedMs: number;
  understood: string[];
  results: SearchResultItem[];
}

/**
 * Runs a search for a viewer and audits which people were shown, in one go. For staff without
 * `resident.viewProtectedAddress`, an address (町字・番地) search leaves out every protected row in
 * SQL (the protection decision's `withoutProtected`): the protected people, their households and
 * everyone at their addresses are neither listed nor counted, and the other rows keep their order,
 * so the search cannot be used to find where a protected person lives. A name, kana or birth-date
 * search still finds them, with the warning and the address masked.
 */
export async function runSearch(knex: Knex, parsed: ParsedSearch, viewer: StaffSession, actor: AuditActor): Promise<SearchResponse> {
  const started = process.hrtime.bigint();
  const q = parsed.query;
  const hideProtected = q.address !== undefined && !canSeeProtected(viewer);
  const [page, decide] = await Promise.all([
    searchResidents(knex, q, hideProtected ? (b) => withoutProtected(b, knex) : undefined),
    protection(knex),
  ]);
  const nos = page.hits.map((h) => String(h.row.addressee_no));
  const [warnings, entitlements] = await Promise.all([warningsFor(knex, nos), entitlementsFor(knex, nos, viewer)]);
  const kind: SearchResultItem['kind'] =
    q.target === 'nonResidents' ? 'nonResident' : q.target === 'corporations' ? 'corporation' : 'resident';
  const presenter = new AddressPresenter(viewer, decide);
  const results = page.hits.map((h) => {
    const no = String(h.row.addressee_no);
    const d = anyOf(decide.row(h.row), kind === 'resident' ? NOT_PROTECTED : decide.address(registeredAddress(h.row)));
    presenter.present(registeredAddress(h.row), d, [no]);
    const presented = presentResident(h.row, warnings.get(no) ?? [], viewer, d.protected);
    return { ...presented, kind, match: h.match, entitlements: (entitlements.get(no) ?? []).map((e) => e.kind) };
  });
  await knex.transaction(async (trx) => {
    await appendAudit(trx, {
      ...actor,
      action: 'resident.search',
      targetKind: kind,
      targetIds: nos,
      result: 'success',
      detail: {
        target: q.target,
        conditions: ['name', 'kana', 'birth', 'address', 'sex'].filter((k) => q[k as keyof ResidentQuery] !== undefined),
        page: q.page,
        hits: page.total,
        shown: nos.length,
        masked: results.filter((r) => r.addressMasked).length,
        ...(hideProtected ? { protectedLeftOut: true } : {}),
      },
    });
    const unmasked = presenter.auditEntry(actor, kind, { via: 'resident.search' });
    if (unmasked) await appendAudit(trx, unmasked);
  });
  return {
    target: q.target,
    page: q.page,
    pageSize: q.pageSize,
    total: page.total,
    totalCapped: page.totalCapped,
    elapsedMs: Number(process.hrtime.bigint() - started) / 1e6,
    understood: parsed.understood,
    results,
  };
}

export interface HistoryEntry {
  changeDate: string | null;
  changeDateWareki: string;
  reason: string;
  /** Presented (the mask text when protected and the viewer lacks the right); null when none. */
  addressBefore: PresentedAddress | null;
  addressAfter: PresentedAddress | null;
}

export interface PersonView {
  person: PresentedResident & { myNumber?: string | null; nameRoman: string | null; alias: string | null };
  household: (PresentedResident & { entitlements: PresentedEntitlement[] })[];
  entitlements: PresentedEntitlement[];
  history: HistoryEntry[];
  /** Other households registered at the same address (D-16); empty when the address is protected and the viewer lacks the right. */
  sameAddress: PresentedResident[];
  householdProtected: boolean;
  /** The address is protected (own household or another household at the same address). */
  addressProtected: boolean;
}

/**
 * One person with their household, scoped entitlements, history and the other households at the
 * same address. Audited as one reference (subject + everyone shown); showing the My Number is a
 * second record.
 */
export async function viewPerson(
  knex: Knex,
  addresseeNo: string,
  viewer: StaffSession,
  actor: AuditActor,
  opts: { myNumber?: boolean; visitId?: number } = {},
): Promise<PersonView | null> {
  const row = await knex('residents').where({ addressee_no: addresseeNo }).first();
  if (!row) return null;
  if (opts.myNumber && !viewer.permissions.has('resident.viewMyNumber')) throw new DomainError('resident.myNumberForbidden');
  const household = await knex('residents')
    .where({ household_no: row.household_no, resident_status: '1' })
    .orderBy('relationship_code1')
    .orderBy('birth_date');
  if (!household.some((r) => r.addressee_no === addresseeNo)) household.unshift(row);
  const decide = await protection(knex);
  const canSeeAddress = canSeeProtected(viewer);
  const own = anyOf(decide.row(row), ...household.map((r) => decide.row(r)));
  // Anyone living at a protected address shares it (own household or another household there).
  const addressProtected = own.protected;
  const householdProtected = decide.household(row.household_no).protected;
  // No neighbour list for a protected address without the right: who lives there points at it.
  const neighbours =
    row.address_key && (!addressProtected || canSeeAddress)
      ? await knex('residents')
          .where({ address_key: row.address_key, resident_status: '1' })
          .whereNot({ household_no: row.household_no })
          .orderBy('household_no')
          .limit(30)
      : [];
  const nos = [...household, ...neighbours].map((r) => r.addressee_no);
  const [warnings, entitlements] = await Promise.all([
    warningsFor(knex, nos),
    entitlementsFor(
      knex,
      household.map((r) => r.addressee_no),
      viewer,
    ),
  ]);
  const history = await knex('resident_history').where({ addressee_no: addresseeNo }).orderBy('seq', 'desc').limit(50);
  const presenter = new AddressPresenter(viewer, decide);
  const placed = (r: typeof row) => presenter.present(registeredAddress(r), own, [r.addressee_no]);
  const person = presentResident(row, warnings.get(addresseeNo) ?? [], viewer, addressProtected);
  placed(row);
  const householdShown = household.map((r) => {
    placed(r);
    return {
      ...presentResident(r, warnings.get(r.addressee_no) ?? [], viewer, addressProtected),
      entitlements: entitlements.get(r.addressee_no) ?? [],
    };
  });
  const sameAddress = neighbours.map((r) => {
    placed(r);
    return presentResident(r, warnings.get(r.addressee_no) ?? [], viewer, addressProtected);
  });
  const historyShown = history.map((h) => {
    const at = (s: string | null) => (s ? presenter.present(s, anyOf(own, decide.address(s)), [addresseeNo]) : null);
    return {
      changeDate: h.change_date,
      changeDateWareki: h.change_date ? formatWareki(h.change_date) : '',
      reason: changeReason[h.change_reason_code] ?? h.change_reason_code,
      addressBefore: at(h.address_before),
      addressAfter: at(h.address_after),
    };
  });
  await knex.transaction(async (trx) => {
    await appendAudit(trx, {
      ...actor,
      action: 'resident.view',
      targetKind: 'resident',
      targetIds: nos,
      result: 'success',
      detail: { subject: addresseeNo, addressMasked: person.addressMasked, ...(opts.visitId ? { visit: opts.visitId } : {}) },
    });
    const unmasked = presenter.auditEntry(actor, 'resident', { subject: addresseeNo, ...(opts.visitId ? { visit: opts.visitId } : {}) });
    if (unmasked) await appendAudit(trx, unmasked);
    if (opts.myNumber)
      await appendAudit(trx, {
        ...actor,
        action: 'resident.viewMyNumber',
        targetKind: 'resident',
        targetIds: [addresseeNo],
        result: 'success',
        ...(opts.visitId ? { detail: { visit: opts.visitId } } : {}),
      });
  });
  return {
    person: {
      ...person,
      nameRoman: row.name_roman,
      alias: row.alias,
      ...(opts.myNumber ? { myNumber: row.my_number } : {}),
    },
    household: householdShown,
    entitlements: entitlements.get(addresseeNo) ?? [],
    history: historyShown,
    sameAddress,
    householdProtected,
    addressProtected,
  };
}
