/**
 * The navigation engine (F-22 … F-25): from a notice (type, effective date, members with their
 * birth dates and entitlements, the household's entitlements) and the answers to questions, the
 * related procedures and why each applies. Pure: no I/O, no clock (the caller gives the dates).
 */
import { noticeDateLabel } from './noticeDates.js';
import type { EntitlementKind } from './codes.js';
import { addDays, ageOn, endOfSchoolYearReaching } from './dates.js';
import type {
  Condition,
  DerivedProcedure,
  MemberCondition,
  NavigationInput,
  NoticeMember,
  NoticeType,
  ProcedureDefinition,
  Question,
  SchoolStage,
} from './procedureTypes.js';
import { schoolStage, schoolStageLabels } from './schoolAge.js';

export interface Evaluation {
  holds: boolean;
  /** Keys of the members that matched the member conditions (input order). */
  members: string[];
  /** What matched, short Japanese texts for counter staff (empty when the condition does not hold). */
  reasons: string[];
}

export interface EvaluateOptions {
  /** Questions whose text labels the `answer` reasons (`勤務先の健康保険に加入していますか: いいえ`). */
  questions?: readonly Question[];
}

export interface LateCheck {
  late: boolean;
  message?: string;
}

/** Short names of the notice types, as reasons (`転入`). */
export const noticeShortLabels: Readonly<Record<NoticeType, string>> = {
  moveIn: '転入',
  specialMoveIn: '特例転入',
  moveOut: '転出',
  specialMoveOut: '特例転出',
  moveAbroad: '国外転出',
  relocation: '転居',
  headChange: '世帯主変更',
  householdSplit: '世帯分離',
  householdMerge: '世帯合併',
  householdRestructure: '世帯構成変更',
  birth: '出生',
  death: '死亡',
  individual: '異動なし',
};

const heldTexts: Readonly<Record<EntitlementKind, { holds: string; notHolds: string; household: string }>> = {
  nationalHealthInsurance: { holds: '国民健康保険に加入中', notHolds: '国民健康保険に未加入', household: '世帯に国民健康保険の加入者あり' },
  lateElderlyMedical: {
    holds: '後期高齢者医療に加入中',
    notHolds: '後期高齢者医療に未加入',
    household: '世帯に後期高齢者医療の加入者あり',
  },
  longTermCare: { holds: '介護保険の被保険者', notHolds: '介護保険の被保険者でない', household: '世帯に介護保険の被保険者あり' },
  nationalPension: { holds: '国民年金に加入中', notHolds: '国民年金に未加入', household: '世帯に国民年金の加入者あり' },
  childAllowance: { holds: '児童手当を受給中', notHolds: '児童手当を受給していない', household: '世帯に児童手当の受給者あり' },
};

const FULL_DATE_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

// ---------------------------------------------------------------------------------------------
// Conditions

/** A member's age on the effective date; `legal` counts the age from the end of the day before the birthday. */
function ageOf(birthDate: string, effectiveDate: string, basis: 'birthday' | 'legal' | undefined): number {
  return ageOn(birthDate, basis === 'legal' ? addDays(effectiveDate, 1) : effectiveDate);
}

function needsBirthDate(c: MemberCondition): boolean {
  return c.ageFrom !== undefined || c.ageUnder !== undefined || c.untilEndOfSchoolYearOfAge !== undefined || c.schoolStage !== undefined;
}

function memberMatches(m: NoticeMember, c: MemberCondition, effectiveDate: string): boolean {
  if (c.moving !== undefined && m.moving !== c.moving) return false;
  if (c.head !== undefined && m.head !== c.head) return false;
  if (c.event !== undefined && m.event !== c.event) return false;
  if (c.hasMyNumberCard !== undefined && (m.hasMyNumberCard ?? false) !== c.hasMyNumberCard) return false;
  if (c.holds !== undefined && !m.holds.includes(c.holds)) return false;
  if (c.notHolds !== undefined && m.holds.includes(c.notHolds)) return false;
  if (needsBirthDate(c)) {
    // Unknown (null) or partial (`YYYY-MM`) birth dates fail every age and school condition.
    const birth = m.birthDate;
    if (birth === null || !FULL_DATE_RE.test(birth)) return false;
    if (c.ageFrom !== undefined && ageOf(birth, effectiveDate, c.ageBasis) < c.ageFrom) return false;
    if (c.ageUnder !== undefined && ageOf(birth, effectiveDate, c.ageBasis) >= c.ageUnder) return false;
    if (c.untilEndOfSchoolYearOfAge !== undefined && effectiveDate > endOfSchoolYearReaching(birth, c.untilEndOfSchoolYearOfAge))
      return false;
    if (c.schoolStage !== undefined && !c.schoolStage.includes(schoolStage(birth, effectiveDate))) return false;
  }
  return true;
}

function schoolStageText(stages: readonly SchoolStage[]): string {
  if (stages.length === 2 && stages.includes('elementary') && stages.includes('juniorHigh')) return '小中学生';
  return stages.map((s) => schoolStageLabels[s]).join('・');
}

function untilEndOfSchoolYearText(age: number): string {
  const who = age === 18 ? '高校卒業前の子' : age === 15 ? '中学卒業前の子' : age === 12 ? '小学校卒業前の子' : '子';
  return `${who} (${age} 歳到達年度末まで)`;
}

/** The texts of a member condition, in a fixed order. `moving: true` says nothing staff do not already see. */
function memberTexts(c: MemberCondition, noticeType: NoticeType): string[] {
  const out: string[] = [];
  if (c.event === true) out.push(noticeType === 'birth' ? '出生した子' : noticeType === 'death' ? '亡くなった人' : '届出の本人');
  if (c.event === false) out.push(noticeType === 'birth' ? '出生した子以外' : noticeType === 'death' ? '亡くなった人以外' : '本人以外');
  if (c.moving === false) out.push('異動しない世帯員');
  if (c.head === true) out.push('世帯主');
  if (c.head === false) out.push('世帯主以外');
  if (c.ageFrom !== undefined) out.push(`${c.ageFrom} 歳以上`);
  if (c.ageUnder !== undefined) out.push(`${c.ageUnder} 歳未満`);
  if (c.untilEndOfSchoolYearOfAge !== undefined) out.push(untilEndOfSchoolYearText(c.untilEndOfSchoolYearOfAge));
  if (c.schoolStage !== undefined) out.push(schoolStageText(c.schoolStage));
  if (c.holds !== undefined) out.push(heldTexts[c.holds].holds);
  if (c.notHolds !== undefined) out.push(heldTexts[c.notHolds].notHolds);
  if (c.hasMyNumberCard === true) out.push('マイナンバーカードを所持');
  if (c.hasMyNumberCard === false) out.push('マイナンバーカードなし');
  return out;
}

function questionLabel(id: string, questions: readonly Question[] | undefined): string {
  const q = questions?.find((x) => x.id === id);
  if (!q) return id;
  return q.text.trim().replace(/[？?]+$/u, '');
}

function answerText(id: string, expected: boolean | string | { answered: boolean }, questions: readonly Question[] | undefined): string {
  const label = questionLabel(id, questions);
  if (typeof expected === 'object') return `${label}: ${expected.answered ? '回答済み' : '未回答'}`;
  if (typeof expected === 'boolean') return `${label}: ${expected ? 'はい' : 'いいえ'}`;
  return `${label}: ${expected}`;
}

function answerMatches(actual: boolean | string | undefined, expected: boolean | string | { answered: boolean }): boolean {
  if (typeof expected === 'object') return (actual !== undefined) === expected.answered;
  return actual === expected;
}

/** A static description of a condition (used under `not`, where nothing matched to describe). */
function describe(cond: Condition, noticeType: NoticeType, questions: readonly Question[] | undefined): string {
  const parts: string[] = [];
  if (cond.notice) parts.push(cond.notice.map((t) => noticeShortLabels[t]).join('・'));
  if (cond.member) parts.push(...memberTexts(cond.member, noticeType));
  if (cond.householdHolds) parts.push(heldTexts[cond.householdHolds].household);
  if (cond.answer) for (const [id, v] of Object.entries(cond.answer)) parts.push(answerText(id, v, questions));
  if (cond.all) parts.push(...cond.all.map((c) => describe(c, noticeType, questions)));
  if (cond.any) parts.push(`(${cond.any.map((c) => describe(c, noticeType, questions)).join(' または ')})`);
  if (cond.not) parts.push(`非該当: ${describe(cond.not, noticeType, questions)}`);
  return parts.filter((p) => p !== '').join(' + ');
}

function uniq(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/** Member keys in the order of the notice. */
function inInputOrder(keys: Iterable<string>, input: NavigationInput): string[] {
  const set = new Set(keys);
  return input.members.filter((m) => set.has(m.key)).map((m) => m.key);
}

function no(): Evaluation {
  return { holds: false, members: [], reasons: [] };
}

/**
 * Evaluates a condition. All keys of one object must hold. A member condition holds when at least
 * one member satisfies all its keys together; those members are returned. `all` holds when every
 * part holds (members: the union of the parts' members); `any` when one part holds (members: the
 * union of the holding parts' members); `not` negates (no members).
 */
export function evaluate(cond: Condition, input: NavigationInput, opts: EvaluateOptions = {}): Evaluation {
  const reasons: string[] = [];
  const members = new Set<string>();

  if (cond.notice !== undefined) {
    if (!cond.notice.includes(input.noticeType)) return no();
    reasons.push(noticeShortLabels[input.noticeType]);
  }
  if (cond.member !== undefined) {
    const c = cond.member;
    const matched = input.members.filter((m) => memberMatches(m, c, input.effectiveDate));
    if (matched.length === 0) return no();
    for (const m of matched) members.add(m.key);
    reasons.push(...memberTexts(c, input.noticeType));
  }
  if (cond.householdHolds !== undefined) {
    const kind = cond.householdHolds;
    if (!input.householdHolds.includes(kind) && !input.members.some((m) => m.holds.includes(kind))) return no();
    reasons.push(heldTexts[kind].household);
  }
  if (cond.answer !== undefined) {
    for (const [id, expected] of Object.entries(cond.answer)) {
      if (!answerMatches(input.answers[id], expected)) return no();
      reasons.push(answerText(id, expected, opts.questions));
    }
  }
  if (cond.all !== undefined) {
    for (const part of cond.all) {
      const r = evaluate(part, input, opts);
      if (!r.holds) return no();
      for (const k of r.members) members.add(k);
      reasons.push(...r.reasons);
    }
  }
  if (cond.any !== undefined) {
    let one = false;
    for (const part of cond.any) {
      const r = evaluate(part, input, opts);
      if (!r.holds) continue;
      one = true;
      for (const k of r.members) members.add(k);
      reasons.push(...r.reasons);
    }
    if (!one) return no();
  }
  if (cond.not !== undefined) {
    if (evaluate(cond.not, input, opts).holds) return no();
    reasons.push(`非該当: ${describe(cond.not, input.noticeType, opts.questions)}`);
  }
  return { holds: true, members: inInputOrder(members, input), reasons: uniq(reasons) };
}

// ---------------------------------------------------------------------------------------------
// Procedures

export function isValidOn(def: Pick<ProcedureDefinition, 'validFrom' | 'validTo'>, on: string): boolean {
  return (def.validFrom === undefined || def.validFrom <= on) && (def.validTo === undefined || on <= def.validTo);
}

function byOrder(a: ProcedureDefinition, b: ProcedureDefinition): number {
  return a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The definitions valid on `on`, by id. When several versions share an id (a law change), the
 * valid one is used; should two overlap, the first in the list wins.
 */
function validById(procedures: readonly ProcedureDefinition[], on: string): Map<string, ProcedureDefinition> {
  const map = new Map<string, ProcedureDefinition>();
  for (const p of procedures) if (isValidOn(p, on) && !map.has(p.id)) map.set(p.id, p);
  return map;
}

function allQuestions(defs: Iterable<ProcedureDefinition>): Question[] {
  const out: Question[] = [];
  const seen = new Set<string>();
  for (const d of defs)
    for (const q of d.questions)
      if (!seen.has(q.id)) {
        seen.add(q.id);
        out.push(q);
      }
  return out;
}

/**
 * The related procedures of a notice: the valid definitions whose `when` holds (source `rule`),
 * then, transitively, the ones they add (source `added`, reason 「<name>」に伴う, the adder's
 * members). Each procedure once; sorted by `order`, then id.
 */
export function derive(procedures: readonly ProcedureDefinition[], input: NavigationInput, opts: { on: string }): DerivedProcedure[] {
  const defs = validById(procedures, opts.on);
  const sorted = [...defs.values()].sort(byOrder);
  const questions = allQuestions(sorted);
  const found = new Map<string, DerivedProcedure>();
  const withDeadline = (def: ProcedureDefinition, d: DerivedProcedure): DerivedProcedure =>
    def.deadlineDays === undefined ? d : { ...d, deadline: addDays(input.effectiveDate, def.deadlineDays) };

  for (const def of sorted) {
    if (!def.when) continue;
    const r = evaluate(def.when, input, { questions });
    if (r.holds) found.set(def.id, withDeadline(def, { procedureId: def.id, members: r.members, reasons: r.reasons, source: 'rule' }));
  }

  // Breadth first from the rule matches; a procedure already in the list is not added again, so
  // cycles end. `via`: the procedures each one is in the list because of (itself included).
  const via = new Map<string, Set<string>>();
  for (const id of found.keys()) via.set(id, new Set([id]));
  const queue = sorted.filter((d) => found.has(d.id));
  for (let i = 0; i < queue.length; i++) {
    const adder = queue[i]!;
    const from = found.get(adder.id)!;
    const adderVia = via.get(adder.id)!;
    for (const id of adder.adds) {
      const def = defs.get(id);
      if (!def) continue; // unknown or not valid on the date
      const reason = `「${adder.name}」に伴う`;
      const existing = found.get(id);
      if (existing) {
        // Added by two independent procedures (a diamond): one entry with both reasons and all
        // members. A rule match keeps its own reasons; an add back up its own chain (a cycle) is ignored.
        if (existing.source === 'added' && !adderVia.has(id)) {
          const members = inInputOrder([...existing.members, ...from.members], input);
          const targetVia = via.get(id)!;
          const grows = members.length > existing.members.length || [...adderVia].some((v) => !targetVia.has(v));
          found.set(id, { ...existing, members, reasons: uniq([...existing.reasons, reason]) });
          for (const v of adderVia) targetVia.add(v);
          // Pass the new members on to what it adds (sets only grow, so this ends).
          if (grows) queue.push(def);
        }
        continue;
      }
      found.set(id, withDeadline(def, { procedureId: id, members: [...from.members], reasons: [reason], source: 'added' }));
      via.set(id, new Set([...adderVia, id]));
      queue.push(def);
    }
  }
  return sorted.filter((d) => found.has(d.id)).map((d) => found.get(d.id)!);
}

/** Question ids and the values a condition compares them with. */
function answerClauses(
  cond: Condition | undefined,
  out = new Map<string, Set<boolean | string | undefined>>(),
): Map<string, Set<boolean | string | undefined>> {
  if (!cond) return out;
  if (cond.answer) {
    for (const [id, v] of Object.entries(cond.answer)) {
      const values = out.get(id) ?? new Set<boolean | string | undefined>();
      if (typeof v === 'object') values.add(undefined);
      else values.add(v);
      out.set(id, values);
    }
  }
  for (const c of cond.all ?? []) answerClauses(c, out);
  for (const c of cond.any ?? []) answerClauses(c, out);
  answerClauses(cond.not, out);
  return out;
}

const MAX_TRIALS = 256;

/** True when some answers to the questions `when` mentions would make it hold (the rest of the situation as it is). */
function reachableByAnswers(when: Condition, clauses: Map<string, Set<boolean | string | undefined>>, input: NavigationInput): boolean {
  const ids = [...clauses.keys()];
  const options = ids.map((id) => {
    const vals = new Set(clauses.get(id));
    vals.add(undefined);
    if ([...vals].some((v) => typeof v === 'boolean')) {
      vals.add(true);
      vals.add(false);
    }
    return [...vals];
  });
  const total = options.reduce((n, o) => n * o.length, 1);
  if (total > MAX_TRIALS) return true; // too many to try: ask rather than hide
  for (let t = 0; t < total; t++) {
    const answers: Record<string, boolean | string> = { ...input.answers };
    let rest = t;
    ids.forEach((id, i) => {
      const o = options[i]!;
      const v = o[rest % o.length];
      rest = Math.floor(rest / o.length);
      if (v === undefined) delete answers[id];
      else answers[id] = v;
    });
    if (evaluate(when, { ...input, answers }).holds) return true;
  }
  return false;
}

/**
 * The questions to show: those of the derived procedures, and those a procedure's `when` asks
 * about in an `answer` clause when some answer could make it apply (so that answering adds it;
 * a 転出 does not ask the 転入 questions). Answered questions stay in the list (the answer can be
 * changed). Filtered by `askWhen`, each id once, in procedure order.
 */
export function questionsToAsk(procedures: readonly ProcedureDefinition[], input: NavigationInput, on: string): Question[] {
  const defs = validById(procedures, on);
  const sorted = [...defs.values()].sort(byOrder);
  const known = allQuestions(sorted);
  const derived = new Set(derive(procedures, input, { on }).map((d) => d.procedureId));
  const out: Question[] = [];
  const seen = new Set<string>();
  const offer = (q: Question) => {
    if (seen.has(q.id)) return;
    if (q.askWhen && !evaluate(q.askWhen, input).holds) return;
    seen.add(q.id);
    out.push(q);
  };
  for (const def of sorted) {
    const clauses = answerClauses(def.when);
    const isDerived = derived.has(def.id);
    const reachable = isDerived || (def.when !== undefined && clauses.size > 0 && reachableByAnswers(def.when, clauses, input));
    if (!reachable) continue;
    for (const q of def.questions) if (isDerived || clauses.has(q.id)) offer(q);
    // A `when` may ask a question defined by another procedure.
    for (const id of clauses.keys()) {
      const q = known.find((x) => x.id === id);
      if (q) offer(q);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Deadlines

function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/**
 * Whether a notice is reported after its deadline (`deadlines[type]` days from the effective date,
 * as `validateNotice` counts them). A warning for staff to ask the reason, never a block.
 */
export function isLate(
  noticeType: NoticeType,
  effectiveDate: string,
  reportedDate: string,
  deadlines: Readonly<Record<string, number>>,
): LateCheck {
  const days = deadlines[noticeType];
  if (days === undefined || !FULL_DATE_RE.test(effectiveDate) || !FULL_DATE_RE.test(reportedDate)) return { late: false };
  const due = addDays(effectiveDate, days);
  if (reportedDate <= due) return { late: false };
  const over = daysBetween(due, reportedDate);
  return {
    late: true,
    message: `届出期限 (${noticeDateLabel(noticeType)}から ${days} 日) を ${over} 日過ぎています。遅れた理由を確認してください`,
  };
}
