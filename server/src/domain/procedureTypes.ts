/**
 * The shapes shared by the procedure configuration (`config/procedures/*.yaml`), the pure
 * navigation engine (`domain/navigation.ts`) and the notices. Types only: no behaviour here.
 */
import type { EntitlementKind } from './codes.js';

/** Move notices and household changes (E-18, 19), plus `individual` for procedures without a move (E-21). */
export const noticeTypes = [
  'moveIn',
  'specialMoveIn',
  'moveOut',
  'specialMoveOut',
  'moveAbroad',
  'relocation',
  'headChange',
  'householdSplit',
  'householdMerge',
  'householdRestructure',
  'birth',
  'death',
  'individual',
] as const;
export type NoticeType = (typeof noticeTypes)[number];

export const noticeTypeLabels: Readonly<Record<NoticeType, string>> = {
  moveIn: '転入届',
  specialMoveIn: '転入届 (特例転入)',
  moveOut: '転出届',
  specialMoveOut: '転出届 (特例転出)',
  moveAbroad: '国外転出届',
  relocation: '転居届',
  headChange: '世帯主変更届',
  householdSplit: '世帯分離届',
  householdMerge: '世帯合併届',
  householdRestructure: '世帯構成変更届',
  birth: '出生届',
  death: '死亡届',
  individual: '手続きのみ (異動なし)',
};

/** School stage on a date, by the Japanese school year (April 2 – April 1 cohorts). */
export type SchoolStage = 'preschool' | 'elementary' | 'juniorHigh' | 'highSchoolAge' | 'adult';

/**
 * A condition on the situation. All keys given in one object must hold (AND); `any` / `all` /
 * `not` combine conditions. Member conditions hold when at least one member of the notice
 * satisfies every member key together; those members are the procedure's subjects.
 */
export interface Condition {
  all?: Condition[];
  any?: Condition[];
  not?: Condition;
  /** The notice is one of these types. */
  notice?: NoticeType[];
  member?: MemberCondition;
  /** Some member of the household (moving or not) holds this entitlement. */
  householdHolds?: EntitlementKind;
  /** Answers to questions: yes/no as booleans, choices as strings; `answered: false` = not yet answered. */
  answer?: Record<string, boolean | string | { answered: boolean }>;
}

export interface MemberCondition {
  /** Age on the notice's effective date is at least this. */
  ageFrom?: number;
  /** Age on the effective date is below this. */
  ageUnder?: number;
  /**
   * How ages are counted: `birthday` (the age rises on the birthday: 後期高齢者医療 at 75) or
   * `legal` (年齢計算ニ関スル法律: the age is reached at the end of the day before the birthday, so
   * on that day it already counts — 介護保険 第1号 at 65, 国民年金 at 20 and 60).
   */
  ageBasis?: 'birthday' | 'legal';
  /** Still a child until the end of the school year (March 31) in which they reach this age (児童手当: 18). */
  untilEndOfSchoolYearOfAge?: number;
  schoolStage?: SchoolStage[];
  holds?: EntitlementKind;
  notHolds?: EntitlementKind;
  /** The member moves with this notice (true) or stays (false). */
  moving?: boolean;
  /** The member is (or becomes) the head of household. */
  head?: boolean;
  /** The member is the one who was born (birth) or who died (death). */
  event?: boolean;
  /** The member holds a My Number card (asked at the counter). */
  hasMyNumberCard?: boolean;
}

export type QuestionType = 'yesNo' | 'choice' | 'date' | 'text';

export interface Question {
  id: string;
  text: string;
  type: QuestionType;
  choices?: string[];
  /** Ask only when this holds (e.g. only when someone is 40–64). */
  askWhen?: Condition;
  /** Explanation for staff. */
  help?: string;
  /**
   * A detail of the application form (口座, 学校名 …), not a question that decides procedures: asked
   * only at the counter that handles the procedure, once it is on the visit's list.
   */
  detail?: boolean;
}

export interface ProcedureDefinition {
  id: string;
  name: string;
  /** The section (課) that handles it, and its counter (`counters[].id`). */
  section: string;
  counter: string;
  permission: string;
  /** Guidance and legal references for staff (F-23). */
  guidance: string;
  legal: string[];
  /** What the visitor should bring (printed on the procedure guide). */
  bring: string[];
  /** Form template ids (issue: printing) and pamphlet files. */
  forms: string[];
  pamphlets: string[];
  questions: Question[];
  /** When the procedure applies. Absent: only added by another procedure or by hand. */
  when?: Condition;
  /** Procedures that come with this one (F-25). */
  adds: string[];
  /** Days from the effective date within which it should be done (a warning when late, never a block). */
  deadlineDays?: number;
  /** Validity of this definition, for law changes (YYYY-MM-DD, inclusive). */
  validFrom?: string;
  validTo?: string;
  /** Order in lists (lower first). */
  order: number;
}

/** A member of the notice as the engine sees them. */
export interface NoticeMember {
  key: string;
  birthDate: string | null;
  moving: boolean;
  head: boolean;
  event: boolean;
  holds: EntitlementKind[];
  hasMyNumberCard?: boolean;
}

export interface NavigationInput {
  noticeType: NoticeType;
  /** The date the change takes effect (move date, birth, death); ages are counted on it. */
  effectiveDate: string;
  members: NoticeMember[];
  /** Entitlements held by anyone in the household, moving or not. */
  householdHolds: EntitlementKind[];
  answers: Record<string, boolean | string>;
}

export interface DerivedProcedure {
  procedureId: string;
  /** Member keys the procedure is for (empty: for the household). */
  members: string[];
  /** Why it is in the list, for staff ("転入 + 75 歳未満 + 勤務先の保険なし", "国保 加入 に伴う"). */
  reasons: string[];
  source: 'rule' | 'added';
  /** Deadline (YYYY-MM-DD) when the definition has one. */
  deadline?: string;
}
