import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { withCheckDigit } from '../domain/addresseeNo.js';
import { relationshipLabel } from '../domain/codes.js';
import { addDays, ageOn, dateReaching, endOfSchoolYearReaching } from '../domain/dates.js';
import { formatWareki } from '../domain/wareki.js';
import { GaijiMap } from '../linkage/forward/gaiji.js';
import type { LayoutRegistry } from '../linkage/forward/layouts.js';
import {
  aliasSurnames,
  corporationForms,
  corporationStems,
  eraOf,
  femaleGiven,
  foreignOrigins,
  maleGiven,
  mjSurnames,
  otherMunicipalities,
  residenceStatuses,
  surnames,
  type ForeignOrigin,
  type Reading,
} from './names.js';
import { Random, WeightedPicker } from './random.js';
import { TownAddresses, type AddressSlot } from './town.js';
import { legacyGaiji, SpecWriter, type Encoding, type RowValues } from './writer.js';

export interface MunicipalityInfo {
  name: string;
  code: string;
  prefecture: string;
  county?: string;
}

export interface GenerateOptions {
  people: number;
  outDir: string;
  encoding: Encoding;
  seed: string;
  /** The day the export is taken (`YYYY-MM-DD`); ages and periods are relative to it. */
  asOf: string;
  diff: boolean;
  municipality: MunicipalityInfo;
  layouts: LayoutRegistry;
  onProgress?: (people: number) => void;
}

export interface GenerateSummary {
  people: number;
  households: number;
  formerResidents: number;
  foreignResidents: number;
  nonResidents: number;
  corporations: number;
  supportMeasures: number;
  issuanceBans: number;
  arrears: number;
  mjNames: number;
  entitlements: Record<string, number>;
  diffRows: number;
  files: string[];
}

export const MIN_PEOPLE = 100;
export const MAX_PEOPLE = 1_000_000;

type Sex = '1' | '2';

interface Person {
  values: RowValues;
  addresseeNo: string;
  sex: Sex;
  birthDate: string;
  age: number;
  rel: string[];
  residentSince: string;
  foreign: boolean;
  nhi: boolean;
}

interface Household {
  no: string;
  slot: AddressSlot;
  suffix: string;
  formed: string;
  surname: Reading;
  origin: ForeignOrigin | null;
  members: Person[];
}

const SPEC_WRITERS = [
  '001o005',
  '001o007',
  '001o009',
  '001o013',
  '023o002',
  '024o007',
  '025o005',
  '026o001',
  '027o003',
  'ext-nonresident',
  'ext-corporation',
  'ext-issuance-ban',
  'ext-arrears',
  'ext-address-master',
] as const;
type SpecId = (typeof SPEC_WRITERS)[number];
const DIFF_SPECS = ['001o005', '001o009', '024o007'] as const;

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** My Number check digit (番号法施行令 第8条): weights 2–7 then 2–6 from the right, modulus 11. */
export function myNumberCheckDigit(base11: string): number {
  let sum = 0;
  for (let n = 1; n <= 11; n++) {
    const p = Number(base11[11 - n]);
    sum += p * (n <= 6 ? n + 1 : n - 5);
  }
  const r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

/** 法人番号 check digit: 9 − (Σ digit × (1 or 2 alternately from the right) mod 9), prefixed. */
export function corporateNumberCheckDigit(base12: string): number {
  let sum = 0;
  for (let n = 1; n <= 12; n++) sum += Number(base12[12 - n]) * (n % 2 === 1 ? 1 : 2);
  return 9 - (sum % 9);
}

/**
 * Writes a realistic, deterministic demo town as national-standard linkage CSVs: one folder per
 * spec id with one full file each, optional differential files for the next day, and the
 * 同定マップ for the legacy 外字 used in CP932 output. Streams household by household, so memory
 * stays flat from 100 to 1,000,000 people.
 */
export async function generateTown(opts: GenerateOptions): Promise<GenerateSummary> {
  if (!Number.isInteger(opts.people) || opts.people < MIN_PEOPLE || opts.people > MAX_PEOPLE) {
    throw new Error(`人数は ${MIN_PEOPLE} から ${MAX_PEOPLE} の整数で指定してください (${opts.people})`);
  }
  return new TownGenerator(opts).run();
}

class TownGenerator {
  private readonly rng: Random;
  private readonly diffRng: Random;
  private readonly addresses: TownAddresses;
  private readonly writers = new Map<SpecId, SpecWriter>();
  private readonly diffWriters = new Map<string, SpecWriter>();
  private readonly surnamePicker = new WeightedPicker(surnames);
  private readonly originPicker = new WeightedPicker(foreignOrigins.map((o) => [o, o.weight] as const));
  private readonly statusPicker = new WeightedPicker(residenceStatuses);
  private readonly givenPickers = {
    '1': { old: new WeightedPicker(maleGiven.old), mid: new WeightedPicker(maleGiven.mid), young: new WeightedPicker(maleGiven.young) },
    '2': {
      old: new WeightedPicker(femaleGiven.old),
      mid: new WeightedPicker(femaleGiven.mid),
      young: new WeightedPicker(femaleGiven.young),
    },
  };
  private personSeq = 0;
  private householdSeq = 0;
  private diffSeq = 0;
  private readonly s: GenerateSummary;
  private readonly cityName: string;
  private readonly stamp: string;

  constructor(private readonly o: GenerateOptions) {
    this.rng = new Random(`${o.seed}:town`);
    // A second stream for the next day's changes, so that --diff never changes the full files.
    this.diffRng = new Random(`${o.seed}:diff`);
    this.addresses = new TownAddresses(o.people);
    this.cityName = `${o.municipality.county ?? ''}${o.municipality.name}`;
    this.stamp = `${o.asOf.replace(/-/g, '')}020000`;
    this.s = {
      people: 0,
      households: 0,
      formerResidents: 0,
      foreignResidents: 0,
      nonResidents: 0,
      corporations: 0,
      supportMeasures: 0,
      issuanceBans: 0,
      arrears: 0,
      mjNames: 0,
      diffRows: 0,
      files: [],
      entitlements: { nationalHealthInsurance: 0, lateElderlyMedical: 0, longTermCare: 0, nationalPension: 0, childAllowance: 0 },
    };
  }

  async run(): Promise<GenerateSummary> {
    const { o } = this;
    for (const id of SPEC_WRITERS) {
      const file = path.join(o.outDir, id, `${id}_${o.municipality.code}_${this.stamp}.csv`);
      this.writers.set(id, new SpecWriter(o.layouts.latest(id), file, o.encoding));
    }
    if (o.diff) {
      const next = `${addDays(o.asOf, 1).replace(/-/g, '')}020000`;
      for (const id of DIFF_SPECS) {
        const file = path.join(o.outDir, 'diff', id, `${id}_${o.municipality.code}_${next}.csv`);
        this.diffWriters.set(id, new SpecWriter(o.layouts.latest(id), file, o.encoding, true));
      }
    }
    let h = 0;
    while (this.s.people < o.people) {
      await this.household(h++);
      if (h % 2000 === 0) o.onProgress?.(this.s.people);
    }
    const nonResidents = Math.max(3, Math.round(o.people / 20));
    for (let i = 0; i < nonResidents; i++) await this.nonResident();
    const corporations = Math.max(2, Math.round(o.people / 50));
    for (let i = 0; i < corporations; i++) await this.corporation();
    await this.addressMaster();
    for (const w of [...this.writers.values(), ...this.diffWriters.values()]) {
      await w.close();
      this.s.files.push(w.file);
    }
    mkdirSync(o.outDir, { recursive: true });
    const mapFile = path.join(o.outDir, 'gaiji-map.csv');
    writeFileSync(
      mapFile,
      new GaijiMap(legacyGaiji.map((g) => ({ sjis: g.sjis, text: g.text, mjName: g.mjName, note: g.note }))).toCsv(),
      'utf8',
    );
    this.s.files.push(mapFile);
    o.onProgress?.(this.s.people);
    return this.s;
  }

  private w(id: SpecId): SpecWriter {
    return this.writers.get(id)!;
  }

  private nextAddresseeNo(): string {
    return withCheckDigit(pad(++this.personSeq, 9));
  }

  private myNumber(): string {
    const base = pad(this.rng.int(1, 9), 1) + pad(this.rng.int(0, 9_999_999_999), 10);
    return base + String(myNumberCheckDigit(base));
  }

  /** A birth date for someone aged `age` on the export day. */
  private birthFor(age: number): string {
    const d = addDays(this.o.asOf, -(age * 365 + Math.floor(age / 4) + this.rng.int(1, 364)));
    return ageOn(d, this.o.asOf) === age ? d : addDays(d, ageOn(d, this.o.asOf) > age ? 365 : -365);
  }

  private given(sex: Sex, birthDate: string): Reading {
    return this.givenPickers[sex][eraOf(Number(birthDate.slice(0, 4)))].pick(this.rng);
  }

  private homeAddress(hh: Household): RowValues {
    return {
      municipality_code: this.o.municipality.code,
      town_code: hh.slot.town.code,
      prefecture: this.o.municipality.prefecture,
      city: this.cityName,
      town_name: hh.slot.town.name,
      block_number: hh.slot.block,
      address_suffix: hh.suffix || null,
      postal_code: hh.slot.town.postal,
    };
  }

  private addressText(hh: Household): string {
    return `${this.o.municipality.prefecture}${this.cityName}${hh.slot.town.name}${hh.slot.block}${hh.suffix ? ` ${hh.suffix}` : ''}`;
  }

  private elsewhere(rng: Random = this.rng): { prefecture: string; city: string; town: string; block: string } {
    const [prefecture, city, , town] = rng.pick(otherMunicipalities);
    return { prefecture, city, town: `${town}${rng.int(1, 5)}丁目`, block: `${rng.int(1, 30)}番${rng.int(1, 20)}号` };
  }

  private async household(h: number): Promise<void> {
    const { rng } = this;
    const forcedSupport = h === 5 || h === 23 || h % 250 === 11;
    const forcedBan = h === 9 || h % 400 === 13;
    const forcedLeapDay = h === 3 || h % 997 === 3;
    const foreign = !forcedSupport && !forcedLeapDay && rng.chance(0.025);
    const origin = foreign ? this.originPicker.pick(rng) : null;
    const mj = !foreign && h % 100 === 7;
    const surname: Reading = mj ? mjSurnames[Math.floor(h / 100) % mjSurnames.length]! : this.surnamePicker.pick(rng);
    const { slot, suffix } = this.addresses.pick(rng);
    const hh: Household = {
      no: withCheckDigit(`5${pad(++this.householdSeq, 8)}`),
      slot,
      suffix,
      formed: '',
      surname,
      origin,
      members: [],
    };

    const type = forcedSupport ? 'singleParent' : forcedLeapDay ? 'single' : this.pickType();
    this.compose(hh, type, forcedLeapDay);
    const room = this.o.people - this.s.people;
    if (hh.members.length > room) hh.members.length = room;
    hh.formed = hh.members[0]!.residentSince;
    if (mj) this.s.mjNames += hh.members.length;

    const head = hh.members[0]!;
    await this.w('001o007').write({
      household_no: hh.no,
      head_addressee_no: head.addresseeNo,
      head_name: head.values.name,
      head_name_kana: head.values.name_kana,
      ...this.homeAddress(hh),
      formed_date: hh.formed,
      formed_date_unknown: false,
    });
    for (const p of hh.members) {
      await this.history(hh, p);
      await this.w('001o005').write(p.values);
      this.s.people++;
      if (p.foreign) this.s.foreignResidents++;
    }
    if (rng.chance(0.03)) await this.formerMember(hh);
    await this.entitlements(hh);
    if (forcedSupport) await this.supportMeasures(hh);
    if (forcedBan) {
      await this.w('ext-issuance-ban').write({
        addressee_no: head.addresseeNo,
        ban_kind_code: '1',
        reason: '本人からの交付制限申出',
        start_date: addDays(this.o.asOf, -rng.int(30, 700)),
        end_date: null,
      });
      this.s.issuanceBans++;
    }
    if (rng.chance(0.02)) await this.arrears(head);
    this.s.households++;
    if (this.o.diff && this.diffRng.chance(0.004)) await this.nextDayChange(hh);
  }

  private pickType(): 'single' | 'couple' | 'nuclear' | 'singleParent' | 'threeGen' | 'other' {
    const x = this.rng.next();
    return x < 0.34 ? 'single' : x < 0.54 ? 'couple' : x < 0.81 ? 'nuclear' : x < 0.89 ? 'singleParent' : x < 0.96 ? 'threeGen' : 'other';
  }

  private compose(hh: Household, type: string, leapDay: boolean): void {
    const { rng } = this;
    const add = (sex: Sex, age: number, rel: string[], opts: { birthDate?: string; given?: Reading } = {}): Person => {
      const p = this.person(hh, sex, age, rel, opts);
      hh.members.push(p);
      return p;
    };
    const kids = (parentAge: number, count: number, rel: string[] = ['20']): void => {
      for (let i = 0; i < count; i++) add(rng.chance(0.5) ? '1' : '2', rng.int(0, Math.max(0, Math.min(parentAge - 20, 24))), rel);
    };
    switch (type) {
      case 'single': {
        if (leapDay) {
          add(rng.chance(0.5) ? '1' : '2', 0, ['02'], { birthDate: '1999-02-29' });
          break;
        }
        const elderly = rng.chance(0.4);
        add(elderly ? (rng.chance(0.7) ? '2' : '1') : rng.chance(0.55) ? '1' : '2', elderly ? rng.int(65, 98) : rng.int(18, 64), ['02']);
        break;
      }
      case 'couple': {
        const age = rng.int(25, 92);
        add('1', age, ['02']);
        add('2', Math.max(18, age + rng.int(-6, 3)), ['12']);
        break;
      }
      case 'nuclear': {
        const age = rng.int(27, 56);
        add('1', age, ['02']);
        add('2', Math.max(20, age + rng.int(-5, 2)), ['12']);
        kids(age, rng.int(1, 3));
        break;
      }
      case 'singleParent': {
        const age = rng.int(24, 50);
        add('2', age, ['02']);
        kids(age, rng.int(1, 2));
        break;
      }
      case 'threeGen': {
        if (rng.chance(0.5)) {
          const age = rng.int(35, 55);
          add('1', age, ['02']);
          add('2', Math.max(20, age + rng.int(-4, 2)), ['12']);
          kids(age, rng.int(1, 3));
          const parentAge = Math.min(100, age + rng.int(24, 34));
          if (rng.chance(0.6)) add('1', parentAge, ['51']);
          add('2', parentAge - rng.int(0, 4), ['52']);
        } else {
          const age = rng.int(60, 82);
          add('1', age, ['02']);
          add('2', age - rng.int(0, 4), ['12']);
          const sonAge = rng.int(30, Math.min(48, age - 22));
          add('1', sonAge, ['20']);
          add('2', Math.max(22, sonAge + rng.int(-4, 2)), ['20', '12']);
          kids(sonAge, rng.int(1, 2), ['20', '20']);
        }
        break;
      }
      default: {
        const age = rng.int(30, 85);
        const sex: Sex = rng.chance(0.5) ? '1' : '2';
        add(sex, age, ['02']);
        const younger = rng.chance(0.5);
        const sib: Sex = rng.chance(0.5) ? '1' : '2';
        add(sib, Math.max(18, age + (younger ? -rng.int(1, 8) : rng.int(1, 8))), [
          sib === '1' ? (younger ? '74' : '71') : younger ? '84' : '81',
        ]);
        if (rng.chance(0.3)) add(rng.chance(0.5) ? '1' : '2', rng.int(20, 80), [rng.chance(0.5) ? '99' : '96']);
      }
    }
  }

  private person(hh: Household, sex: Sex, age: number, rel: string[], opts: { birthDate?: string; given?: Reading }): Person {
    const { rng, o } = this;
    const birthDate = opts.birthDate ?? this.birthFor(age);
    const realAge = ageOn(birthDate, o.asOf);
    const addresseeNo = this.nextAddresseeNo();
    const head = hh.members[0];
    // Born here when younger than the household's time in town; otherwise moved in.
    const movedIn = head ? head.residentSince : addDays(o.asOf, -rng.int(30, Math.max(31, Math.min(realAge - 18, 45) * 365)));
    const bornHere = birthDate >= movedIn;
    let residentSince = bornHere ? birthDate : movedIn;
    // A spouse who would have "moved in" as a child joined the household at marriage instead.
    const spouse = rel[rel.length - 1] === '11' || rel[rel.length - 1] === '12';
    if (spouse && !bornHere && residentSince < dateReaching(birthDate, 20)) {
      residentSince = addDays(dateReaching(birthDate, 20), rng.int(0, 3650));
      if (residentSince > addDays(o.asOf, -10)) residentSince = addDays(o.asOf, -10);
    }
    const values: RowValues = {
      addressee_no: addresseeNo,
      household_no: hh.no,
      resident_kind: hh.origin ? '2' : '1',
      resident_status: '1',
      sex,
      sex_label: sex === '1' ? '男' : '女',
      birth_date: birthDate,
      birth_date_unknown: false,
      relationship_code1: rel[0],
      relationship_code2: rel[1] ?? null,
      relationship_code3: rel[2] ?? null,
      relationship_code4: rel[3] ?? null,
      relationship_label: relationshipLabel(rel),
      ...this.homeAddress(hh),
      address_suffix_code: null,
      address_suffix_kana: null,
      resident_since: residentSince,
      resident_since_unknown: false,
      change_date: residentSince,
      change_date_unknown: false,
      change_reported_date: addDays(residentSince, rng.int(0, 13)),
      change_reason_code: bornHere ? '03' : hh.origin && rng.chance(0.5) ? '02' : '01',
      my_number: this.myNumber(),
    };
    if (String(values.change_reported_date) > o.asOf) values.change_reported_date = o.asOf;
    if (!bornHere) {
      if (values.change_reason_code === '02') {
        values.from_country_code = hh.origin!.nationalityCode;
        values.from_country_name = hh.origin!.nationalityName;
      } else {
        const from = this.elsewhere();
        Object.assign(values, {
          from_prefecture: from.prefecture,
          from_city: from.city,
          from_town_name: from.town,
          from_block_number: from.block,
        });
      }
    }
    if (Number(birthDate.slice(0, 4)) < 1950 && rng.chance(0.01)) {
      values.birth_date_unknown = true;
      values.birth_date_unknown_text = rng.chance(0.5) ? `${formatWareki(birthDate).replace(/[0-9]+月[0-9]+日$/, '')}頃` : '年月日不詳';
    }
    if (hh.origin) this.foreignName(values, hh.origin, sex, birthDate, residentSince);
    else {
      const given = opts.given ?? this.given(sex, birthDate);
      values.name = `${hh.surname[0]}　${given[0]}`;
      values.name_kana = `${hh.surname[1]}　${given[1]}`;
      if (rel[rel.length - 1] === '12' && rng.chance(0.04)) {
        const former = this.surnamePicker.pick(rng);
        values.former_surname = former[0];
        values.former_surname_kana = former[1];
      }
    }
    return { values, addresseeNo, sex, birthDate, age: realAge, rel, residentSince, foreign: !!hh.origin, nhi: false };
  }

  private foreignName(values: RowValues, origin: ForeignOrigin, sex: Sex, birthDate: string, since: string): void {
    const { rng, o } = this;
    const [sr, sk, skj] = rng.pick(origin.surnames);
    const [gr, gk, gkj] = rng.pick(origin.given);
    values.name = `${sr} ${gr}`;
    values.name_roman = `${sr} ${gr}`;
    values.name_kana = `${sk}　${gk}`;
    if (skj && gkj) values.name_foreign_kanji = `${skj}　${gkj}`;
    values.foreign_resident_since = since;
    values.foreign_resident_since_unknown = false;
    values.nationality_code = origin.nationalityCode;
    values.nationality_name = origin.nationalityName;
    const special = Number(birthDate.slice(0, 4)) < 1990 && rng.chance(origin.specialPermanentChance);
    values.article30_45_code = special ? '02' : '01';
    if (!special) {
      const [code, , years] = this.statusPicker.pick(rng);
      values.residence_status_code = code;
      if (years > 0) {
        values.residence_period_years = pad(years, 2);
        values.residence_period_months = '00';
        values.residence_period_days = '000';
        values.residence_expiry_date = addDays(o.asOf, rng.int(20, years * 365));
      }
    }
    if (rng.chance(origin.aliasChance)) {
      const [as, ak] = rng.pick(aliasSurnames);
      const given = this.given(sex, birthDate);
      values.alias = `${as}　${given[0]}`;
      values.alias_kana = `${ak}　${given[1]}`;
      values.name_priority_code = '02';
    } else values.name_priority_code = '01';
  }

  private async history(hh: Household, p: Person): Promise<void> {
    const { rng } = this;
    const v = p.values;
    const here = this.addressText(hh);
    let seq = 1;
    const row = (date: string, reason: string, before: string | null, after: string | null): Promise<void> =>
      this.w('001o009').write({
        addressee_no: p.addresseeNo,
        seq: seq++,
        change_date: date,
        change_date_unknown: false,
        reported_date: date,
        change_reason_code: reason,
        household_no: hh.no,
        name: v.name,
        name_kana: v.name_kana,
        relationship_label: v.relationship_label,
        address_before: before,
        address_after: after,
      });
    const fromText = v.from_country_name
      ? String(v.from_country_name)
      : v.from_prefecture
        ? `${String(v.from_prefecture)}${String(v.from_city)}${String(v.from_town_name)}${String(v.from_block_number)}`
        : null;
    const reason = String(v.change_reason_code);
    const mid = addDays(p.residentSince, -rng.int(400, 3000));
    if (rng.chance(0.12) && reason !== '03' && mid > dateReaching(p.birthDate, 18)) {
      // Moved in elsewhere in town first, then relocated to the present address.
      await row(mid, reason, fromText, `${this.o.municipality.prefecture}${this.cityName}大字上田${rng.int(100, 400)}番地`);
      await row(p.residentSince, '41', `${this.o.municipality.prefecture}${this.cityName}大字上田`, here);
      v.change_reason_code = '41';
      v.change_date = p.residentSince;
      v.resident_since = mid;
    } else await row(p.residentSince, reason, fromText, here);
    if (p.rel[0] === '02' && hh.members.length > 1 && rng.chance(0.05))
      await row(addDays(this.o.asOf, -rng.int(30, 2000)), '53', here, here);
    if (rng.chance(0.003)) await row(addDays(this.o.asOf, -rng.int(10, 900)), rng.pick(['42', '44', '59']), here, here);
  }

  private async formerMember(hh: Household): Promise<void> {
    const { rng, o } = this;
    const died = rng.chance(0.5);
    const age = died ? rng.int(70, 99) : rng.int(18, 40);
    const rel = died ? [rng.chance(0.5) ? '51' : '52'] : ['20'];
    const p = this.person(hh, died ? (rel[0] === '51' ? '1' : '2') : rng.chance(0.5) ? '1' : '2', age, rel, {});
    const removed = addDays(o.asOf, -rng.int(10, 1500));
    Object.assign(p.values, {
      resident_status: died ? '3' : '2',
      change_reason_code: died ? '23' : '21',
      change_date: removed,
      change_reported_date: removed,
      removal_date: removed,
      removal_date_unknown: false,
      removal_reported_date: removed,
    });
    if (!died) {
      const to = this.elsewhere();
      Object.assign(p.values, { to_prefecture: to.prefecture, to_city: to.city, to_town_name: to.town, to_block_number: to.block });
    }
    await this.w('001o005').write(p.values);
    await this.w('001o009').write({
      addressee_no: p.addresseeNo,
      seq: 1,
      change_date: removed,
      change_date_unknown: false,
      reported_date: removed,
      change_reason_code: died ? '23' : '21',
      household_no: hh.no,
      name: p.values.name,
      name_kana: p.values.name_kana,
      relationship_label: p.values.relationship_label,
      address_before: this.addressText(hh),
      address_after: null,
    });
    this.s.formerResidents++;
  }

  private async entitlements(hh: Household): Promise<void> {
    const { rng, o } = this;
    const head = hh.members[0]!;
    const nhiHousehold = rng.chance(head.age >= 60 && head.age < 75 ? 0.75 : hh.origin ? 0.45 : 0.22);
    const since = (p: Person, event: string): string => (event > p.residentSince ? event : p.residentSince);
    for (const p of hh.members) {
      if (nhiHousehold && p.age < 75) {
        await this.w('024o007').write({
          addressee_no: p.addresseeNo,
          insurer_no: o.municipality.code,
          insured_no: `${pad(rng.int(1, 99), 2)}-${pad(rng.int(0, 999999), 6)}`,
          qualification_code: p === head ? '1' : '3',
          acquired_date: since(p, addDays(o.asOf, -rng.int(30, 6000))),
          acquired_reason_code: p.residentSince === p.birthDate ? '04' : rng.pick(['01', '02']),
        });
        p.nhi = true;
        this.s.entitlements.nationalHealthInsurance!++;
      }
      if (p.age >= 75) {
        await this.w('025o005').write({
          addressee_no: p.addresseeNo,
          insured_no: pad(rng.int(10000000, 99999999), 8),
          qualification_code: '1',
          acquired_reason_code: '001',
          acquired_date: since(p, dateReaching(p.birthDate, 75)),
        });
        this.s.entitlements.lateElderlyMedical!++;
      }
      const certifiedYoung = p.age >= 40 && p.age < 65 && rng.chance(0.004);
      if (p.age >= 65 || certifiedYoung) {
        const share = p.age >= 85 ? 0.55 : p.age >= 75 ? 0.2 : 0.05;
        const certified = certifiedYoung || rng.chance(share);
        const from = addDays(o.asOf, -rng.int(10, 300));
        await this.w('023o002').write({
          addressee_no: p.addresseeNo,
          insurer_no: o.municipality.code,
          insured_no: pad(rng.int(0, 9_999_999_999), 10),
          qualification_code: p.age >= 65 ? '1' : '2',
          acquired_date: p.age >= 65 ? since(p, dateReaching(p.birthDate, 65)) : from,
          care_level_code: certified ? rng.pick(['12', '13', '21', '22', '23', '24', '25']) : null,
          care_valid_from: certified ? from : null,
          care_valid_to: certified ? addDays(from, 365 * rng.int(1, 3)) : null,
        });
        this.s.entitlements.longTermCare!++;
      }
      if (p.age >= 20 && p.age < 60) {
        const category = nhiHousehold ? '1' : p.rel[p.rel.length - 1] === '12' && rng.chance(0.6) ? '3' : null;
        if (category) {
          await this.w('026o001').write({
            addressee_no: p.addresseeNo,
            insured_no: pad(rng.int(1000, 9999), 4) + pad(rng.int(0, 999999), 6),
            qualification_code: category,
            種別変更年月日: null,
            acquired_date: since(p, dateReaching(p.birthDate, 20)),
            acquired_reason_code: '01',
          });
          this.s.entitlements.nationalPension!++;
        }
      }
    }
    // 児童手当: to the parent in the household, for each child up to the end of the school year
    // in which the child reaches 18.
    for (const child of hh.members) {
      const isChild = child.rel.length === 1 ? child.rel[0] === '20' : child.rel.join(',') === '20,20';
      if (!isChild || o.asOf > endOfSchoolYearReaching(child.birthDate, 18)) continue;
      const recipient =
        child.rel.length === 1 ? head : (hh.members.find((m) => m.rel.length === 1 && m.rel[0] === '20' && m.sex === '1') ?? head);
      const start = addDays(child.residentSince, 32).slice(0, 7);
      await this.w('027o003').write({
        addressee_no: recipient.addresseeNo,
        child_addressee_no: child.addresseeNo,
        acquired_date: start,
        lost_date: endOfSchoolYearReaching(child.birthDate, 18).slice(0, 7),
        acquired_reason_code: child.residentSince === child.birthDate ? '01' : '02',
      });
      this.s.entitlements.childAllowance!++;
    }
  }

  private async supportMeasures(hh: Household): Promise<void> {
    const { rng, o } = this;
    const start = addDays(o.asOf, -rng.int(30, 340));
    const provisional = rng.chance(0.2);
    for (const p of hh.members) {
      await this.w('001o013').write({
        addressee_no: p.addresseeNo,
        measure_code: provisional ? '2' : '1',
        start_date: start,
        end_date: addDays(start, 364),
        note: null,
      });
      this.s.supportMeasures++;
    }
  }

  private async arrears(p: Person): Promise<void> {
    const { rng, o } = this;
    const fy = Number(o.asOf.slice(0, 4)) - rng.int(1, 3);
    await this.w('ext-arrears').write({
      addressee_no: p.addresseeNo,
      tax_kind_code: rng.pick(['01', '02', '03', '04']),
      fiscal_year: fy,
      amount_yen: rng.int(3, 400) * 100,
      since_date: `${fy + 1}-01-31`,
    });
    this.s.arrears++;
  }

  private async nonResident(): Promise<void> {
    const { rng } = this;
    const sex: Sex = rng.chance(0.5) ? '1' : '2';
    const birth = this.birthFor(rng.int(25, 90));
    const surname = this.surnamePicker.pick(rng);
    const given = this.given(sex, birth);
    const [prefecture, city, code, town] = rng.pick(otherMunicipalities);
    await this.w('ext-nonresident').write({
      addressee_no: this.nextAddresseeNo(),
      name: `${surname[0]}　${given[0]}`,
      name_kana: `${surname[1]}　${given[1]}`,
      sex,
      birth_date: birth,
      birth_date_unknown: false,
      municipality_code: code,
      prefecture,
      city,
      town_name: `${town}${rng.int(1, 5)}丁目`,
      block_number: `${rng.int(1, 30)}番${rng.int(1, 20)}号`,
      postal_code: null,
      reason_code: rng.chance(0.8) ? '1' : '2',
      registered_date: addDays(this.o.asOf, -rng.int(100, 8000)),
      status: '1',
    });
    this.s.nonResidents++;
  }

  private async corporation(): Promise<void> {
    const { rng, o } = this;
    const [form, formKana] = new WeightedPicker(corporationForms).pick(rng);
    const [stem, stemKana] = rng.pick(corporationStems);
    const prefix = form.endsWith('法人') || form.endsWith('社団') || rng.chance(0.6);
    const base = pad(rng.int(0, 999_999_999_999), 12);
    const { slot } = this.addresses.pick(rng);
    const rep = this.surnamePicker.pick(rng);
    await this.w('ext-corporation').write({
      addressee_no: this.nextAddresseeNo(),
      corporate_number: `${corporateNumberCheckDigit(base)}${base}`,
      name: prefix ? `${form}${stem}` : `${stem}${form}`,
      name_kana: prefix ? `${formKana}${stemKana}` : `${stemKana}${formKana}`,
      representative_name: `${rep[0]}　${this.given('1', '1965-01-01')[0]}`,
      municipality_code: o.municipality.code,
      prefecture: o.municipality.prefecture,
      city: this.cityName,
      town_name: slot.town.name,
      block_number: slot.block,
      address_suffix: null,
      postal_code: slot.town.postal,
      established_date: addDays(o.asOf, -rng.int(200, 20000)),
      closed_date: null,
    });
    this.s.corporations++;
  }

  private async addressMaster(): Promise<void> {
    const w = this.w('ext-address-master');
    for (let i = 0; i < this.addresses.totalSlots; i++) {
      const { town, block, building } = this.addresses.slot(i);
      const base = {
        municipality_code: this.o.municipality.code,
        town_code: town.code,
        town_kind: town.kind,
        oaza_name: town.oaza,
        chome: town.chome,
        koaza_name: town.koaza || null,
        town_name: town.name,
        town_kana: town.kana,
        block_number: block,
        postal_code: town.postal,
        residential_addressing: town.residential,
      };
      await w.write({ ...base, address_suffix: null });
      if (building) await w.write({ ...base, address_suffix: building });
    }
  }

  /** Tomorrow's differential rows: a move out, a death, a relocation or a birth. */
  private async nextDayChange(hh: Household): Promise<void> {
    const rng = this.diffRng;
    const day = addDays(this.o.asOf, 1);
    const residents = this.diffWriters.get('001o005')!;
    const historyW = this.diffWriters.get('001o009')!;
    const nhi = this.diffWriters.get('024o007')!;
    const p = hh.members[rng.int(0, hh.members.length - 1)]!;
    const drawn = rng.pick(['moveOut', 'death', 'relocation', 'birth'] as const);
    const event = drawn === 'birth' && hh.origin ? 'relocation' : drawn;
    const hist = (person: RowValues, reason: string, seq: number, before: string | null, after: string | null) =>
      historyW.write(
        {
          addressee_no: person.addressee_no,
          seq,
          change_date: day,
          change_date_unknown: false,
          reported_date: day,
          change_reason_code: reason,
          household_no: hh.no,
          name: person.name,
          name_kana: person.name_kana,
          relationship_label: person.relationship_label,
          address_before: before,
          address_after: after,
        },
        '1',
      );
    if (event === 'birth') {
      const baby = { ...hh.members[0]!.values };
      const sex: Sex = rng.chance(0.5) ? '1' : '2';
      const given = this.givenPickers[sex].young.pick(rng);
      Object.assign(baby, {
        name: `${hh.surname[0]}　${given[0]}`,
        name_kana: `${hh.surname[1]}　${given[1]}`,
        addressee_no: withCheckDigit(`9${pad(++this.diffSeq, 8)}`),
        sex,
        sex_label: sex === '1' ? '男' : '女',
        birth_date: day,
        birth_date_unknown: false,
        birth_date_unknown_text: null,
        relationship_code1: '20',
        relationship_code2: null,
        relationship_label: '子',
        resident_since: day,
        change_date: day,
        change_reported_date: day,
        change_reason_code: '03',
        my_number: null,
        from_prefecture: null,
        from_city: null,
        from_town_name: null,
        from_block_number: null,
        from_country_code: null,
        from_country_name: null,
        former_surname: null,
        former_surname_kana: null,
      });
      await residents.write(baby, '1');
      await hist(baby, '03', 1, null, this.addressText(hh));
    } else {
      const changed: RowValues = { ...p.values, change_date: day, change_reported_date: day };
      if (event === 'moveOut' || event === 'death') {
        const to = this.elsewhere(rng);
        Object.assign(
          changed,
          event === 'death'
            ? { resident_status: '3', change_reason_code: '23', removal_date: day, removal_reported_date: day }
            : {
                resident_status: '2',
                change_reason_code: '21',
                removal_date: day,
                removal_reported_date: day,
                to_prefecture: to.prefecture,
                to_city: to.city,
                to_town_name: to.town,
                to_block_number: to.block,
              },
        );
        if (p.nhi)
          await nhi.write(
            {
              addressee_no: p.addresseeNo,
              insurer_no: this.o.municipality.code,
              insured_no: null,
              qualification_code: '3',
              acquired_date: p.residentSince,
              lost_date: day,
              lost_reason_code: event === 'death' ? '44' : '41',
            },
            '2',
          );
      } else {
        const { slot, suffix } = this.addresses.pick(rng);
        Object.assign(changed, {
          change_reason_code: '41',
          town_code: slot.town.code,
          town_name: slot.town.name,
          block_number: slot.block,
          address_suffix: suffix || null,
          postal_code: slot.town.postal,
        });
      }
      await residents.write(changed, '2');
      await hist(
        changed,
        String(changed.change_reason_code),
        90,
        this.addressText(hh),
        event === 'relocation' ? `${String(changed.town_name)}${String(changed.block_number)}` : null,
      );
    }
    this.s.diffRows++;
  }
}
