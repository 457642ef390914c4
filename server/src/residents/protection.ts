import type { Knex } from 'knex';
import { appendAudit, type AuditEntry } from '../audit/trail.js';
import type { StaffSession } from '../auth/sessions.js';
import type { AuditActor } from '../auth/staffRepo.js';
import { todayInJapan } from '../domain/japanTime.js';
import { addressKey } from '../domain/searchKeys.js';
import { MASKED_ADDRESS } from './warnings.js';

/**
 * The one protection decision (issue 15): whether an address-bearing value may reveal where a
 * person under a running 支援措置 (DV・ストーカー等支援措置) lives, wherever the value comes from —
 * a register row, an address typed into a notice (new, previous, next), the visitor's or a hand-typed
 * subject's address, a household's address, a history entry. A value is protected when
 *
 * 1. it belongs to a protected person (code 1 支援措置 or 2 仮支援措置, start ≤ today ≤ end);
 * 2. it belongs to anyone in a protected person's household, or to anyone registered at a protected
 *    address (another household in the same house shares the address);
 * 3. it belongs to a notice whose subject (a member), household or target household is protected,
 *    or whose typed addresses are protected; or to a visit with a protected subject or visitor;
 * 4. its text equals a protected address once both are normalised (`addressKey`: 「本町七十七番地の七」
 *    = 「本町77-7」), with or without the prefecture and town in front and with a 方書 after it.
 *
 * Whether a protected value is shown is decided by the one presenter (`presentAddress`): staff
 * holding `resident.viewProtectedAddress` see it (and the read is audited), everyone else sees
 * MASKED_ADDRESS. The branded type `PresentedAddress` can only come from there, and the response
 * schemas' address fields carry it, so a handler cannot return a raw address string.
 */

export const PROTECTED_ADDRESS_PERMISSION = 'resident.viewProtectedAddress';

/** Who reads: only the permissions matter to the decision whether to mask. */
export type Viewer = Pick<StaffSession, 'permissions'>;

export const canSeeProtected = (viewer: Viewer): boolean => viewer.permissions.has(PROTECTED_ADDRESS_PERMISSION);

/** The protected people, households and addresses of the register at one moment. */
export interface ProtectedSet {
  /** 宛名番号 under a running support measure. */
  readonly measures: ReadonlySet<string>;
  /** Households with such a member. */
  readonly households: ReadonlySet<string>;
  /** Normalised addresses (`address_key`) such a member is registered at. */
  readonly addressKeys: ReadonlySet<string>;
  /** Everyone covered: the measures, every member of their households, everyone at their addresses. */
  readonly covered: ReadonlySet<string>;
}

/** Why a value is protected (for the audit record and the warning). */
export type ProtectionReason = 'person' | 'household' | 'targetHousehold' | 'address';

export interface Decision {
  readonly protected: boolean;
  readonly reasons: readonly ProtectionReason[];
}

export const NOT_PROTECTED: Decision = Object.freeze({ protected: false, reasons: [] });
const decision = (reasons: Iterable<ProtectionReason>): Decision => {
  const r = [...new Set(reasons)];
  return r.length ? { protected: true, reasons: r } : NOT_PROTECTED;
};
/** Several decisions about one thing (a notice and its members): protected when any is. */
export const anyOf = (...ds: readonly Decision[]): Decision => decision(ds.flatMap((d) => d.reasons));

/** A register row, or any row that says who and where (a search hit, a household member). */
export interface PlacedRow {
  addressee_no?: unknown;
  household_no?: unknown;
  address_key?: unknown;
}

const CHUNK = 500;
const chunks = <T>(xs: readonly T[]): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += CHUNK) out.push(xs.slice(i, i + CHUNK));
  return out;
};

/** A running support measure (1 支援措置, 2 仮支援措置; 3 records the end). */
function activeMeasures(q: Knex.QueryBuilder, today: string, table = 'support_measures'): Knex.QueryBuilder {
  return q
    .whereIn(`${table}.measure_code`, ['1', '2'])
    .where(`${table}.start_date`, '<=', today)
    .andWhere((w) => w.whereNull(`${table}.end_date`).orWhere(`${table}.end_date`, '').orWhere(`${table}.end_date`, '>=', today));
}

/** The running measures' rows (for the linkage's record of ended protections): the same rule as the protected set. */
export async function activeSupportMeasureRows(
  knex: Knex | Knex.Transaction,
  today: string,
): Promise<{ addresseeNo: string; measureCode: string | null; startDate: string | null; endDate: string | null }[]> {
  const rows = (await activeMeasures(knex('support_measures'), today).select('addressee_no', 'measure_code', 'start_date', 'end_date')) as {
    addressee_no: string;
    measure_code: string | null;
    start_date: string | null;
    end_date: string | null;
  }[];
  return rows.map((r) => ({ addresseeNo: r.addressee_no, measureCode: r.measure_code, startDate: r.start_date, endDate: r.end_date }));
}

async function loadProtectedSet(knex: Knex, today: string): Promise<ProtectedSet> {
  const measures = (await activeMeasures(knex('support_measures'), today).distinct('addressee_no').pluck('addressee_no')) as string[];
  const households = new Set<string>();
  const keys = new Set<string>();
  for (const part of chunks(measures)) {
    const rows = (await knex('residents').whereIn('addressee_no', part).select('household_no', 'address_key')) as {
      household_no: string | null;
      address_key: string | null;
    }[];
    for (const r of rows) {
      if (r.household_no) households.add(r.household_no);
      if (r.address_key) keys.add(r.address_key);
    }
  }
  const covered = new Set<string>(measures);
  // Two lookups, each on its own index (household_no, address_key): an OR across both would scan.
  for (const part of chunks([...households]))
    for (const no of (await knex('residents').whereIn('household_no', part).pluck('addressee_no')) as string[]) covered.add(no);
  for (const part of chunks([...keys]))
    for (const no of (await knex('residents').whereIn('address_key', part).pluck('addressee_no')) as string[]) covered.add(no);
  return { measures: new Set(measures), households, addressKeys: keys, covered };
}

/**
 * How long a loaded set is reused at most. Before reuse a cheap stamp (the newest register row,
 * the support measures' count and newest id, the newest linkage run, today) is compared, so a new
 * measure, a new resident or an import is seen by the next request; the TTL bounds anything else
 * (an UPDATE made outside the linkage).
 */
export const PROTECTED_SET_TTL_MS = 30_000;

interface Cached {
  stamp: string;
  loadedAt: number;
  set: Promise<ProtectedSet>;
}
const cache = new WeakMap<Knex, Cached>();

async function stampOf(knex: Knex, today: string): Promise<string> {
  const row = (await knex
    .select(
      knex('residents').max('id').as('r'),
      knex('support_measures').count('*').as('c'),
      knex('support_measures').max('id').as('m'),
      knex('linkage_runs').max('id').as('l'),
    )
    .first()) as Record<string, unknown>;
  return [today, row.r, row.c, row.m, row.l].map((v) => String(v ?? '')).join('|');
}

/** The protected set, reused while the register is unchanged (see PROTECTED_SET_TTL_MS). */
export async function protectedSet(knex: Knex, now: Date = new Date()): Promise<ProtectedSet> {
  const today = todayInJapan(now);
  const stamp = await stampOf(knex, today);
  const hit = cache.get(knex);
  if (hit && hit.stamp === stamp && Date.now() - hit.loadedAt < PROTECTED_SET_TTL_MS) return hit.set;
  const set = loadProtectedSet(knex, today);
  cache.set(knex, { stamp, loadedAt: Date.now(), set });
  set.catch(() => cache.delete(knex));
  return set;
}

/** The decision over one protected set: every address-bearing value is judged here. */
export class Protection {
  constructor(readonly set: ProtectedSet) {}

  /** A person of the register (or a member of a notice) by 宛名番号. */
  person(addresseeNo: string | null | undefined): Decision {
    if (!addresseeNo) return NOT_PROTECTED;
    if (this.set.measures.has(addresseeNo)) return decision(['person']);
    return this.set.covered.has(addresseeNo) ? decision(['household']) : NOT_PROTECTED;
  }

  household(householdNo: string | null | undefined, reason: ProtectionReason = 'household'): Decision {
    return householdNo && this.set.households.has(householdNo) ? decision([reason]) : NOT_PROTECTED;
  }

  /**
   * A typed or stored address text. Protected when a protected key occurs in its normalised key
   * and is not continued by a digit (本町77-7 covers 熊本県…本町77-7, 本町77-7サニー101 and
   * 本町77-7-101, not 本町77-71). Unsure cases are masked rather than shown.
   */
  address(text: string | null | undefined): Decision {
    if (!text || !text.trim()) return NOT_PROTECTED;
    const key = addressKey(text);
    if (!key) return NOT_PROTECTED;
    if (this.set.addressKeys.has(key)) return decision(['address']);
    for (const k of this.set.addressKeys) {
      let at = key.indexOf(k);
      while (at >= 0) {
        const after = key[at + k.length];
        if (after === undefined || !/[0-9]/.test(after)) return decision(['address']);
        at = key.indexOf(k, at + 1);
      }
    }
    return NOT_PROTECTED;
  }

  /** A register row: its person, household and address key. */
  row(r: PlacedRow): Decision {
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
    const key = str(r.address_key);
    return anyOf(
      this.person(str(r.addressee_no)),
      this.household(str(r.household_no)),
      key && this.set.addressKeys.has(key) ? decision(['address']) : NOT_PROTECTED,
    );
  }

  /** A notice: its members, its household, its target household and its typed addresses. */
  notice(n: NoticeLike): Decision {
    return anyOf(
      ...n.memberNos.map((no) => this.person(no)),
      this.household(n.householdNo),
      this.household(n.data.targetHouseholdNo, 'targetHousehold'),
      this.address(n.data.newAddress),
      this.address(n.data.previousAddress),
      this.address(n.data.nextAddress),
    );
  }

  /** A visit: its subjects (register or typed), the visitor (by 宛名番号 or typed address). */
  visit(v: VisitLike): Decision {
    return anyOf(
      ...v.subjects.map((s) => anyOf(this.person(s.addresseeNo), this.address(s.manualAddress))),
      this.person(v.visitorAddresseeNo),
      this.address(v.visitorAddress),
    );
  }
}

/** What the decision reads of a notice. */
export interface NoticeLike {
  memberNos: readonly string[];
  householdNo: string | null;
  data: {
    newAddress?: string | undefined;
    previousAddress?: string | undefined;
    nextAddress?: string | undefined;
    targetHouseholdNo?: string | undefined;
  };
}

/** What the decision reads of a visit. */
export interface VisitLike {
  visitorAddresseeNo: string | null;
  visitorAddress: string | null;
  subjects: readonly { addresseeNo: string | null; manualAddress: string | null }[];
}

/** The decision for this request. */
export async function protection(knex: Knex, now: Date = new Date()): Promise<Protection> {
  return new Protection(await protectedSet(knex, now));
}

/**
 * Leaves out of a resident search every row the decision protects (person, household, address),
 * in SQL, so that counts and pages are computed without them: the rows of others keep their order
 * and their count. Correlated NOT EXISTS on the household_no and address_key indexes: the search
 * reads at most COUNT_CAP + a page of rows, each costing two index probes.
 */
export function withoutProtected(q: Knex.QueryBuilder, knex: Knex, now: Date = new Date(), table = 'residents'): Knex.QueryBuilder {
  const today = todayInJapan(now);
  const probe = (column: 'household_no' | 'address_key') =>
    activeMeasures(
      knex('residents as protected_r')
        .join('support_measures', 'support_measures.addressee_no', 'protected_r.addressee_no')
        .whereRaw(`?? = ??`, [`protected_r.${column}`, `${table}.${column}`])
        .select(knex.raw('1')),
      today,
    );
  // The person's own row is found by the household probe (they are a member of their household).
  return q.whereNotExists(probe('household_no')).whereNotExists(probe('address_key'));
}

declare const presented: unique symbol;
/**
 * An address as the viewer may see it: the value, or MASKED_ADDRESS. Only `presentAddress` makes
 * one; the response schemas' address fields (`PresentedAddressField`) and the page views take it.
 */
export type PresentedAddress = string & { readonly [presented]: true };

/** The one presenter of an address-bearing value. */
export function presentAddress(viewer: Viewer, value: string, d: Decision | boolean): PresentedAddress;
export function presentAddress(viewer: Viewer, value: string | null, d: Decision | boolean): PresentedAddress | null;
export function presentAddress(viewer: Viewer, value: string | null, d: Decision | boolean): PresentedAddress | null {
  if (value === null) return null;
  const isProtected = typeof d === 'boolean' ? d : d.protected;
  return (isProtected && !canSeeProtected(viewer) ? MASKED_ADDRESS : value) as PresentedAddress;
}

/** Whether a presented value is the mask (for views that style it). */
export const isMasked = (a: PresentedAddress | null | undefined): boolean => a === MASKED_ADDRESS;

/**
 * The presenter of one request: presents values through `presentAddress` and remembers which
 * protected values were shown unmasked, so that `audit` writes one `address.viewProtected` record
 * naming them (who read, what, in which context).
 */
export class AddressPresenter {
  private readonly shown = new Set<string>();
  private readonly reasons = new Set<ProtectionReason>();
  constructor(
    readonly viewer: Viewer,
    readonly decide: Protection,
  ) {}

  get canSee(): boolean {
    return canSeeProtected(this.viewer);
  }

  present(value: string, d: Decision, targets: readonly string[]): PresentedAddress;
  present(value: string | null, d: Decision, targets: readonly string[]): PresentedAddress | null;
  present(value: string | null, d: Decision, targets: readonly string[]): PresentedAddress | null {
    if (value !== null && value !== '' && d.protected && this.canSee) {
      for (const t of targets) this.shown.add(t);
      for (const r of d.reasons) this.reasons.add(r);
    }
    return presentAddress(this.viewer, value, d);
  }

  /** Whether any protected value was shown unmasked so far. */
  get unmaskedReads(): number {
    return this.shown.size;
  }

  /** The audit record of the unmasked reads so far (null when there were none), for the caller's transaction. */
  auditEntry(actor: AuditActor, targetKind: string, detail: Record<string, unknown> = {}): AuditEntry | null {
    if (!this.shown.size) return null;
    const entry: AuditEntry = {
      ...actor,
      action: 'address.viewProtected',
      targetKind,
      targetIds: [...this.shown],
      result: 'success',
      detail: { ...detail, reasons: [...this.reasons] },
    };
    this.shown.clear();
    this.reasons.clear();
    return entry;
  }

  /** Writes the audit record of the unmasked reads in its own transaction (nothing when there were none). */
  async audit(knex: Knex, actor: AuditActor, targetKind: string, detail: Record<string, unknown> = {}): Promise<void> {
    const entry = this.auditEntry(actor, targetKind, detail);
    if (entry) await knex.transaction((trx) => appendAudit(trx, entry));
  }
}

/** The presenter for one request. */
export async function presenterFor(knex: Knex, viewer: Viewer, now: Date = new Date()): Promise<AddressPresenter> {
  return new AddressPresenter(viewer, await protection(knex, now));
}
