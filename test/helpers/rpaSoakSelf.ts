/**
 * The RPA fault run against the second vendor's screens (core-sim profile `selfNumbering`, shipped
 * scenarios `config/scenarios/selfsim`): a core system that numbers entries itself, has no field
 * for madoguchi's reference and takes a household in one entry. Jobs are households moving in
 * (one job per notice, 1–4 movers, some of 10 that the screen cannot take), households moving
 * within the town (called up by 宛名番号) and 住民票の写し (no probe: idempotency none). Agents are
 * killed at random and right after a save; the sim answers "saved, then 500", loses clicks and
 * ends sessions. Every entry is then matched to its job by its data (there is no reference to
 * match by) and every entered field compared with the job.
 */
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { mulberry32, startCoreSim, type FaultPlan } from '../fixtures/core-sim/server.js';
import { defaultResidents, type SelfEntry, type SelfNumberingSim, type SimResident } from '../fixtures/core-sim/selfNumbering.js';
import { configDir as repoConfig, tempDir } from './paths.js';
import { AgentFleet, queueSoakJobs, soakConfig, type SoakOptions } from './rpaSoak.js';

export interface SelfSoakResult {
  jobs: number;
  succeeded: number;
  needsAttention: number;
  /** Succeeded jobs with no entry, and jobs that never ended. */
  lost: number;
  /** Jobs entered more than once. */
  duplicates: number;
  /** Succeeded jobs whose reported 処理番号 is not their entry's. */
  wrongRef: number;
  /** Entered fields that differ from the job (persons, addresses, dates, certificate options). */
  fieldErrors: number;
  /** Households (jobs of several movers) whose movers ended up in more than one entry. */
  householdsSplit: number;
  /** Jobs the screen cannot take (10 movers) that are nevertheless in the core system. */
  enteredAnyway: number;
  /** 住民票の写し cut off at the saving step: to staff (要対応), whether or not it was issued. */
  uncertainToStaff: number;
  agentKills: number;
  killsAfterSave: number;
  faultsFired: number;
  seconds: number;
}

const surnames = ['髙橋', '渡邉', '𠮷田', '山﨑', '佐藤', '鈴木', '田中', '伊藤', '中村', '小林'];
const surnameKana = ['タカハシ', 'ワタナベ', 'ヨシダ', 'ヤマザキ', 'サトウ', 'スズキ', 'タナカ', 'イトウ', 'ナカムラ', 'コバヤシ'];
const given = ['太郎', '花子', '一郎', '美咲', '健太', '陽菜'];
const givenKana = ['たろう', 'ハナコ', 'ｲﾁﾛｳ', 'ミサキ', 'ケンタ', 'ヒナ'];
const relationships = ['02', '12', '20', '20'];

const iso = (d: Date) => d.toISOString().slice(0, 10);
const addDays = (base: string, n: number) => iso(new Date(Date.parse(`${base}T00:00:00Z`) + n * 86_400_000));
const plain = (s: string | null | undefined) => (s ?? '').normalize('NFKC').replace(/[\s\u3000]/g, '');

const SAKURA = (banchi: string) => ({
  whole: `熊本県まどぐち町桜台二丁目${banchi}番3号`,
  prefecture: { code: '43', name: '熊本県' },
  municipality: { code: '439991', name: 'まどぐち町' },
  town: { code: '0004002', name: '桜台二丁目' },
  chome: '2',
  banchi,
  go: '3',
  suffix: null,
  postalCode: null,
  error: null,
});
const KAMIDA = (banchi: string) => ({
  whole: `熊本県まどぐち町大字上田${banchi}番地`,
  prefecture: { code: '43', name: '熊本県' },
  municipality: { code: '439991', name: 'まどぐち町' },
  town: { code: '0010000', name: '大字上田' },
  chome: null,
  banchi,
  go: null,
  suffix: 'コーポ上田101',
  postalCode: null,
  error: null,
});
const UMEDA = {
  whole: '大阪府大阪市北区梅田一丁目2番3号',
  prefecture: { code: '27', name: '大阪府' },
  municipality: { code: '271276', name: '大阪市北区' },
  afterMunicipality: '梅田一丁目2番3号',
  suffix: null,
};

type Kind = 'moveIn' | 'relocation' | 'residentCopy';
interface Planned {
  key: string;
  kind: Kind;
  payload: Record<string, unknown>;
  /** The screen cannot take it (10 movers): must end 要対応 with nothing entered. */
  refused: boolean;
}

/** Registered households of the sim for the 転居 and 証明 jobs: two people each, at 本町. */
export function seededResidents(households: number): SimResident[] {
  const base = defaultResidents[0]!;
  const out: SimResident[] = [...defaultResidents];
  for (let h = 0; h < households; h++) {
    const setaiNo = String(5100000000 + h);
    for (let m = 0; m < 2; m++)
      out.push({
        ...base,
        atenaNo: String(9100000000 + h * 10 + m),
        setaiNo,
        shimei: `${surnames[h % surnames.length]!} ${given[(h + m) % given.length]!}`,
        kana: `${surnameKana[h % surnames.length]!}　${givenKana[(h + m) % given.length]!.normalize('NFKC').replace(/[ぁ-ゖ]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60))}`,
        seinen: addDays('1960-01-01', h * 7 + m),
        seibetsu: m ? '2' : '1',
        zokugara: m ? '20' : '10',
        address: { ...base.address, banchi: String(1 + h) },
      });
  }
  return out;
}

export function plan(jobs: number, rand: () => number, residents: readonly SimResident[]): Planned[] {
  const out: Planned[] = [];
  const households = new Map<string, SimResident[]>();
  for (const r of residents.filter((x) => x.atenaNo.startsWith('91'))) households.set(r.setaiNo, [...(households.get(r.setaiNo) ?? []), r]);
  const hh = [...households.values()];
  const singles = residents.filter((x) => x.atenaNo.startsWith('91'));
  let person = 0;
  let moves = 0;
  let copies = 0;
  const personOf = (i: number, rel: string) => {
    const s = Math.floor(rand() * surnames.length);
    const g = Math.floor(rand() * given.length);
    // A birth date of its own: the data probe (異動日 + カナ + 生年月日) tells every person apart.
    const birthDate = addDays('1950-01-01', 37 * person++ + i);
    return {
      addresseeNo: null,
      name: `${surnames[s]!} ${given[g]!}`,
      nameKana: `${surnameKana[s]!} ${givenKana[g]!}`,
      birthDate,
      sex: g % 2 ? '2' : '1',
      relationship: rel,
      moving: true,
      head: rel === '02',
      event: false,
    };
  };
  for (let i = 0; i < jobs; i++) {
    const roll = rand();
    const reference = `MDG-${7000 + i}-1`;
    const common = {
      version: 2,
      reference,
      kind: 'notice',
      noticeId: 7000 + i,
      reportedDate: '2026-12-01',
      householdNo: null,
      data: {},
      per: 'notice',
    };
    if (roll < 0.2 && copies < singles.length) {
      const r = singles[copies++]!;
      out.push({
        key: `soak:${i}`,
        kind: 'residentCopy',
        refused: false,
        payload: {
          version: 2,
          reference: `MDC-${7000 + i}-1`,
          kind: 'certificate',
          type: 'residentCopy',
          requestId: 7000 + i,
          subject: { addresseeNo: r.atenaNo, name: r.shimei, nameKana: r.kana, birthDate: r.seinen, sex: r.seibetsu, address: null },
          copies: 1 + Math.floor(rand() * 3),
          items: null,
          purposeId: null,
          options: { scope: 'household', showHouseholdHead: rand() < 0.5, showDomicile: false },
          exempt: false,
        },
      });
      continue;
    }
    if (roll < 0.45 && moves < hh.length) {
      const members = hh[moves++]!;
      const movers = (rand() < 0.5 ? members : members.slice(0, 1)).map((r) => ({
        addresseeNo: r.atenaNo,
        name: r.shimei,
        nameKana: r.kana,
        birthDate: r.seinen,
        sex: r.seibetsu,
        relationship: r.zokugara === '10' ? '02' : '20',
        moving: true,
        head: r.zokugara === '10',
        event: false,
      }));
      out.push({
        key: `soak:${i}`,
        kind: 'relocation',
        refused: false,
        payload: {
          ...common,
          type: 'relocation',
          effectiveDate: addDays('2026-10-01', i % 60),
          subject: movers[0],
          head: movers[0],
          headName: movers[0]!.name,
          members: movers,
          movers,
          addresses: { current: null, previous: null, new: KAMIDA(String(100 + i)), next: null },
        },
      });
      continue;
    }
    const refused = rand() < 0.03;
    const size = refused ? 10 : 1 + Math.floor(rand() * 4);
    const movers = Array.from({ length: size }, (_, k) => personOf(k, relationships[Math.min(k, relationships.length - 1)]!));
    out.push({
      key: `soak:${i}`,
      kind: 'moveIn',
      refused,
      payload: {
        ...common,
        type: 'moveIn',
        effectiveDate: addDays('2026-10-01', i % 60),
        subject: movers[0],
        head: movers[0],
        headName: movers[0]!.name,
        members: movers,
        movers,
        addresses: { current: null, previous: UMEDA, new: SAKURA(String(1 + (i % 40))), next: null },
      },
    });
  }
  return out;
}

/** The shipped selfsim code tables (the scenario's own maps: what the screen's codes are). */
export function selfsimMaps(): Record<string, Record<string, string>> {
  return (
    parse(readFileSync(path.join(repoConfig, 'scenarios', 'selfsim', '_system.yaml'), 'utf8')) as {
      maps: Record<string, Record<string, string>>;
    }
  ).maps;
}

/** How many entered fields differ from the job. */
export function fieldErrorsOf(job: Planned, e: SelfEntry, maps: Record<string, Record<string, string>>): string[] {
  const bad: string[] = [];
  const eq = (what: string, got: unknown, want: unknown) => {
    if (String(got ?? '') !== String(want ?? '')) bad.push(`${what}: ${String(got)} ≠ ${String(want)}`);
  };
  const p = job.payload as {
    effectiveDate?: string;
    movers?: { addresseeNo: string | null; name: string; nameKana: string; birthDate: string; sex: string; relationship: string }[];
    addresses?: { new: ReturnType<typeof SAKURA>; previous: typeof UMEDA | null };
    subject: { addresseeNo: string };
    copies?: number;
    options?: { scope: string; showHouseholdHead: boolean; showDomicile: boolean };
  };
  if (job.kind === 'residentCopy') {
    eq('kind', e.kind, 'juminhyo');
    eq('atenaNo', e.certificate?.atenaNo, p.subject.addresseeNo);
    eq('tsusu', e.certificate?.tsusu, p.copies);
    eq('hani', e.certificate?.hani, p.options!.scope === 'household' ? '1' : '2');
    eq('setainushi', e.certificate?.setainushi, p.options!.showHouseholdHead);
    eq('honseki', e.certificate?.honseki, p.options!.showDomicile);
    return bad;
  }
  eq('kind', e.kind, job.kind === 'moveIn' ? 'tennyu' : 'tenkyo');
  eq('idoYmd', e.idoYmd, p.effectiveDate);
  const movers = p.movers!;
  eq('persons', e.persons.length, movers.length);
  movers.forEach((m, k) => {
    const got = job.kind === 'moveIn' ? e.persons[k] : e.persons.find((x) => x.atenaNo === m.addresseeNo);
    if (!got) return bad.push(`person ${k + 1} missing`);
    eq(`person ${k + 1} shimei`, got.shimei, m.name);
    eq(
      `person ${k + 1} kana`,
      plain(got.kana),
      plain(m.nameKana.normalize('NFKC').replace(/[ぁ-ゖ]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60))),
    );
    eq(`person ${k + 1} seinen`, got.seinen, m.birthDate);
    if (job.kind === 'moveIn') {
      eq(`person ${k + 1} seibetsu`, got.seibetsu, m.sex);
      eq(`person ${k + 1} zokugara`, got.zokugara, maps.zokugara![m.relationship]);
    }
  });
  const a = p.addresses!.new;
  eq('prefCode', e.address?.prefCode, a.prefecture.code);
  eq('cityCode', e.address?.cityCode, a.municipality.code);
  eq('townCode', e.address?.townCode, maps.machiaza![a.town.code]);
  eq('chome', e.address?.chome, a.chome ?? '');
  eq('banchi', e.address?.banchi, a.banchi);
  eq('go', e.address?.go, a.go ?? '');
  eq('katagaki', e.address?.katagaki, a.suffix ?? '');
  if (job.kind === 'moveIn') {
    const prev = p.addresses!.previous!;
    eq('prev prefCode', e.previousAddress?.prefCode, prev.prefecture.code);
    eq('prev cityCode', e.previousAddress?.cityCode, prev.municipality.code);
    eq('prev choiki', e.previousAddress?.choiki, prev.afterMunicipality);
  }
  return bad;
}

/** The entries that belong to a job, by its data (persons, 異動日, 宛名番号). */
export function entriesOf(job: Planned, all: readonly SelfEntry[]): SelfEntry[] {
  const p = job.payload as {
    effectiveDate?: string;
    movers?: { name: string; birthDate: string; addresseeNo: string | null }[];
    subject: { addresseeNo: string };
  };
  if (job.kind === 'residentCopy') return all.filter((e) => e.kind === 'juminhyo' && e.certificate?.atenaNo === p.subject.addresseeNo);
  const kind = job.kind === 'moveIn' ? 'tennyu' : 'tenkyo';
  const mine = (x: { shimei: string; seinen: string; atenaNo?: string }) =>
    p.movers!.some((m) => (m.addresseeNo ? m.addresseeNo === x.atenaNo : m.name === x.shimei && m.birthDate === x.seinen));
  return all.filter((e) => e.kind === kind && e.idoYmd === p.effectiveDate && e.persons.some(mine));
}

export async function runSelfNumberingSoak(opts: SoakOptions): Promise<SelfSoakResult> {
  const started = Date.now();
  const rand = mulberry32(opts.seed ?? 7);
  const log = opts.log ?? (() => undefined);
  const t = tempDir('madoguchi-soak-self-');
  let server: RunningServer | undefined;
  let sim: SelfNumberingSim | undefined;
  const fleet = new AgentFleet(rand, log);
  try {
    const config = soakConfig(t.dir, opts.leaseSeconds ?? 8, { coreSystem: 'selfsim' });
    server = await startServer({ configDir: config, dataDir: path.join(t.dir, 'data'), port: 0, host: '127.0.0.1', watch: false });
    const db = server.knex;
    const residents = seededResidents(Math.ceil(opts.jobs / 2));
    sim = await startCoreSim({
      profile: 'selfNumbering',
      residents,
      faults: opts.faults ?? { rules: [] },
      sessionTimeoutMs: 60 * 60_000,
      onSave: (e) => fleet.afterSave(e.user, e.shoriNo, opts.killAfterSave ?? 0),
    });
    const planned = plan(opts.jobs, rand, residents);
    await queueSoakJobs(
      db,
      planned.map((p) => ({ key: p.key, reference: String(p.payload.reference), scenario: p.kind, payload: p.payload })),
    );
    await fleet.start(db, t.dir, 'soak-self', server.url, sim.url, opts.agents ?? 2, { coreSystem: 'selfsim' });
    await fleet.runUntilDone(db, opts.killEveryMs, opts.timeoutMs ?? 600_000);
    const status = new Map(
      (
        (await db('rpa_jobs')
          .where('idempotency_key', 'like', 'soak:%')
          .select('idempotency_key', 'status', 'core_ref', 'error_message')) as {
          idempotency_key: string;
          status: string;
          core_ref: string | null;
          error_message: string | null;
        }[]
      ).map((r) => [r.idempotency_key, r]),
    );
    const entries = sim.entries();
    const maps = selfsimMaps();
    const r: SelfSoakResult = {
      jobs: planned.length,
      succeeded: 0,
      needsAttention: 0,
      lost: 0,
      duplicates: 0,
      wrongRef: 0,
      fieldErrors: 0,
      householdsSplit: 0,
      enteredAnyway: 0,
      uncertainToStaff: 0,
      agentKills: fleet.kills,
      killsAfterSave: fleet.killsAfterSave,
      faultsFired: sim.faultLog().length,
      seconds: 0,
    };
    for (const job of planned) {
      const s = status.get(job.key)!;
      const got = entriesOf(job, entries);
      if (s.status === 'succeeded') r.succeeded++;
      if (s.status === 'needsAttention') r.needsAttention++;
      if (got.length > 1) {
        r.duplicates++;
        log(`duplicate ${job.key} ${job.kind}: ${got.map((e) => e.shoriNo).join(', ')}`);
      }
      const movers = (job.payload.movers as unknown[] | undefined)?.length ?? 1;
      // Several entries of one household that each hold only some of its movers: split, not repeated.
      if (movers > 1 && got.length > 1 && got.some((e) => e.persons.length < movers)) r.householdsSplit++;
      if (job.refused) {
        if (got.length) r.enteredAnyway++;
        continue;
      }
      if (s.status === 'succeeded') {
        if (!got.length) {
          r.lost++;
          log(`lost ${job.key} ${job.kind}`);
          continue;
        }
        if (got[0]!.shoriNo !== s.core_ref) {
          r.wrongRef++;
          log(`wrongRef ${job.key}: reported ${s.core_ref}, entered ${got[0]!.shoriNo}`);
        }
        const bad = fieldErrorsOf(job, got[0]!, maps);
        if (bad.length) log(`fields ${job.key} ${job.kind}: ${bad.join('; ')}`);
        r.fieldErrors += bad.length;
      } else if (s.status === 'needsAttention') {
        if (job.kind === 'residentCopy') r.uncertainToStaff++;
        else log(`needsAttention ${job.key} ${job.kind}: ${s.error_message ?? ''}`);
      } else {
        r.lost++;
        log(`open ${job.key} ${job.kind} ${s.status}`);
      }
    }
    r.seconds = Math.round((Date.now() - started) / 1000);
    return r;
  } finally {
    fleet.stop();
    await sim?.close();
    await server?.close();
    t.remove();
  }
}

export type { FaultPlan };
