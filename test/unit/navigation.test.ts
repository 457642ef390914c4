import { expect } from 'chai';
import { derive, evaluate, isLate, questionsToAsk } from '../../server/src/domain/navigation.js';
import type {
  Condition,
  DerivedProcedure,
  NavigationInput,
  NoticeMember,
  NoticeType,
  ProcedureDefinition,
  Question,
} from '../../server/src/domain/procedureTypes.js';
import { schoolGrade, schoolStage, schoolYearOf } from '../../server/src/domain/schoolAge.js';

// ---------------------------------------------------------------------------------------------
// A small procedure set modelled on DOMAIN.md "Related procedures by life event".

const MOVE_IN: NoticeType[] = ['moveIn', 'specialMoveIn'];
const MOVE_OUT: NoticeType[] = ['moveOut', 'specialMoveOut', 'moveAbroad'];
const HOUSEHOLD: NoticeType[] = ['householdSplit', 'householdMerge', 'headChange', 'householdRestructure'];

function def(
  id: string,
  name: string,
  order: number,
  when: Condition | undefined,
  o: Partial<ProcedureDefinition> = {},
): ProcedureDefinition {
  return {
    id,
    name,
    section: 'test',
    counter: 'c1',
    permission: 'notice.accept',
    guidance: '',
    legal: [],
    bring: [],
    forms: [],
    pamphlets: [],
    questions: [],
    adds: [],
    order,
    ...(when ? { when } : {}),
    ...o,
  };
}

const qEmployee: Question = { id: 'employeeInsurance', text: '勤務先の健康保険に加入していますか？', type: 'yesNo' };
const qCare: Question = {
  id: 'careCertified',
  text: '要介護・要支援の認定を受けていますか？',
  type: 'yesNo',
  askWhen: { member: { moving: true, ageFrom: 40, ageUnder: 65, ageBasis: 'legal' } },
};
const qPension: Question = {
  id: 'pensionCategory',
  text: '国民年金の種別',
  type: 'choice',
  choices: ['1', '2', '3'],
  askWhen: { member: { moving: true, ageFrom: 20, ageUnder: 60, ageBasis: 'legal' } },
};
const qPrevAllowance: Question = { id: 'prevAllowance', text: '前住所地で児童手当を受けていましたか？', type: 'yesNo' };
const qSeal: Question = {
  id: 'wantsSeal',
  text: '印鑑登録をしますか？',
  type: 'yesNo',
  askWhen: { member: { moving: true, ageFrom: 15 } },
};
const qDog: Question = { id: 'hasDog', text: '犬を飼っていますか？', type: 'yesNo' };

const PROCEDURES: ProcedureDefinition[] = [
  def(
    'nhiEnroll',
    '国民健康保険 加入',
    10,
    {
      any: [
        { notice: MOVE_IN, member: { moving: true, ageUnder: 75 }, answer: { employeeInsurance: false } },
        { notice: ['birth'], householdHolds: 'nationalHealthInsurance', member: { event: true } },
      ],
    },
    { adds: ['nhiCard'], deadlineDays: 14, questions: [qEmployee] },
  ),
  def('nhiCard', '国民健康保険 資格確認書 交付', 11, undefined),
  def('lateElderly', '後期高齢者医療 加入・住所変更', 20, { notice: MOVE_IN, member: { moving: true, ageFrom: 75 } }),
  def('careFirst', '介護保険 資格取得 (第1号)', 30, { notice: MOVE_IN, member: { moving: true, ageFrom: 65, ageBasis: 'legal' } }),
  def(
    'careSecond',
    '介護保険 資格取得 (第2号・認定あり)',
    31,
    {
      notice: MOVE_IN,
      member: { moving: true, ageFrom: 40, ageUnder: 65, ageBasis: 'legal' },
      answer: { careCertified: true },
    },
    { questions: [qCare] },
  ),
  def(
    'pension',
    '国民年金 住所変更・種別変更',
    40,
    {
      notice: MOVE_IN,
      member: { moving: true, ageFrom: 20, ageUnder: 60, ageBasis: 'legal' },
      answer: { pensionCategory: '1' },
    },
    { questions: [qPension] },
  ),
  def(
    'childAllowance',
    '児童手当 認定請求',
    50,
    {
      any: [
        { notice: MOVE_IN, member: { moving: true, untilEndOfSchoolYearOfAge: 18 } },
        { notice: ['birth'], member: { event: true } },
      ],
    },
    { deadlineDays: 15, questions: [qPrevAllowance] },
  ),
  def('childMedical', '子ども医療費 受給者証', 51, {
    any: [
      { notice: MOVE_IN, member: { moving: true, untilEndOfSchoolYearOfAge: 15 } },
      { notice: ['birth'], member: { event: true } },
    ],
  }),
  def('schoolTransfer', '就学 転入学', 60, { notice: MOVE_IN, member: { moving: true, schoolStage: ['elementary', 'juniorHigh'] } }),
  def('sealRegistration', '印鑑登録', 70, { notice: MOVE_IN, answer: { wantsSeal: true } }, { questions: [qSeal] }),
  def('myNumberCard', 'マイナンバーカード 継続利用・住所変更', 80, {
    notice: [...MOVE_IN, 'relocation'],
    member: { moving: true, hasMyNumberCard: true },
  }),
  def('dogRegistration', '犬の登録 変更', 90, { notice: [...MOVE_IN, 'relocation'], answer: { hasDog: true } }, { questions: [qDog] }),
  def('nhiLoss', '国民健康保険 資格喪失', 110, {
    any: [
      { notice: MOVE_OUT, member: { moving: true, holds: 'nationalHealthInsurance' } },
      { notice: ['death'], member: { event: true, holds: 'nationalHealthInsurance' } },
    ],
  }),
  def('lateElderlyLoss', '後期高齢者医療 資格喪失', 120, {
    any: [
      { notice: MOVE_OUT, member: { moving: true, holds: 'lateElderlyMedical' } },
      { notice: ['death'], member: { event: true, holds: 'lateElderlyMedical' } },
    ],
  }),
  def('careLoss', '介護保険 資格喪失', 130, {
    any: [
      { notice: MOVE_OUT, member: { moving: true, holds: 'longTermCare' } },
      { notice: ['death'], member: { event: true, holds: 'longTermCare' } },
    ],
  }),
  def('childAllowanceEnd', '児童手当 消滅', 150, { notice: MOVE_OUT, member: { moving: true, holds: 'childAllowance' } }),
  def('nhiAddress', '国民健康保険 住所変更', 210, { notice: ['relocation'], member: { moving: true, holds: 'nationalHealthInsurance' } }),
  def('lateElderlyAddress', '後期高齢者医療 住所変更', 220, {
    notice: ['relocation'],
    member: { moving: true, holds: 'lateElderlyMedical' },
  }),
  def('careAddress', '介護保険 住所変更', 230, { notice: ['relocation'], member: { moving: true, holds: 'longTermCare' } }),
  def('childAllowanceAddress', '児童手当 住所変更', 250, { notice: ['relocation'], member: { moving: true, holds: 'childAllowance' } }),
  def('birthLumpSum', '出産育児一時金', 300, { notice: ['birth'], householdHolds: 'nationalHealthInsurance' }),
  def('funeral', '葬祭費', 310, {
    notice: ['death'],
    any: [{ member: { event: true, holds: 'nationalHealthInsurance' } }, { member: { event: true, holds: 'lateElderlyMedical' } }],
  }),
  def('deathHeadChange', '世帯主変更届', 320, { notice: ['death'], member: { event: true, head: true } }),
  def('nhiHeadChange', '国民健康保険 世帯主・資格確認書 変更', 400, { notice: HOUSEHOLD, householdHolds: 'nationalHealthInsurance' }),
  def('childAllowanceRecipientChange', '児童手当 受給者変更', 410, {
    notice: ['householdSplit', 'householdMerge', 'headChange'],
    householdHolds: 'childAllowance',
  }),
];

// Small sets for adds, cycles and validity periods.
const CHAIN: ProcedureDefinition[] = [
  def('chainC', '手続き C', 3, undefined, { deadlineDays: 30 }),
  def('chainA', '手続き A', 1, { notice: ['moveIn'] }, { adds: ['chainB'] }),
  def('chainB', '手続き B', 2, undefined, { adds: ['chainC'] }),
  def('chainD', '手続き D', 4, undefined),
];
const CYCLE: ProcedureDefinition[] = [
  def('cycleX', '手続き X', 1, { notice: ['moveIn'] }, { adds: ['cycleY'] }),
  def('cycleY', '手続き Y', 2, undefined, { adds: ['cycleZ'] }),
  def('cycleZ', '手続き Z', 3, undefined, { adds: ['cycleX', 'cycleY'] }),
];
const DIAMOND: ProcedureDefinition[] = [
  def('elder', '高齢者向け', 1, { notice: ['moveIn'], member: { ageFrom: 65 } }, { adds: ['guide'] }),
  def('insured', '国保加入者向け', 2, { notice: ['moveIn'], member: { holds: 'nationalHealthInsurance' } }, { adds: ['guide'] }),
  def('guide', '健康診査の案内', 3, undefined, { adds: ['guideMap'] }),
  def('guideMap', '会場地図', 4, undefined, { adds: ['guide'] }),
];
// The second adder reaches `late` after `late` has already passed its members on to `tail`.
const LATE_MERGE: ProcedureDefinition[] = [
  def('r1', '規則 1', 1, { notice: ['moveIn'], member: { ageFrom: 65 } }, { adds: ['late'] }),
  def('r2', '規則 2', 2, { notice: ['moveIn'], member: { holds: 'nationalHealthInsurance' } }, { adds: ['middle'] }),
  def('middle', '中間', 3, undefined, { adds: ['late'] }),
  def('late', '後から合流', 4, undefined, { adds: ['tail'] }),
  def('tail', '末尾', 5, undefined),
];
const PERIODS: ProcedureDefinition[] = [
  def('endedYesterday', '昨日で終了', 1, { notice: ['moveIn'] }, { validTo: '2026-04-09' }),
  def('startsTomorrow', '明日から', 2, { notice: ['moveIn'] }, { validFrom: '2026-04-11' }),
  def('onlyToday', '今日だけ', 3, { notice: ['moveIn'] }, { validFrom: '2026-04-10', validTo: '2026-04-10' }),
  def('always', '期限なし', 4, { notice: ['moveIn'] }, { adds: ['addedButEnded'] }),
  def('addedButEnded', '終了した付随手続き', 5, undefined, { validTo: '2026-03-31' }),
  // One id, two versions (a law change on 2026-04-01): 65+ before, 70+ after.
  def('versioned', '旧制度', 6, { notice: ['moveIn'], member: { ageFrom: 65 } }, { validTo: '2026-03-31' }),
  def('versioned', '新制度', 6, { notice: ['moveIn'], member: { ageFrom: 70 } }, { validFrom: '2026-04-01' }),
];

// ---------------------------------------------------------------------------------------------
// Inputs

const E = '2026-04-10';
const NHI = 'nationalHealthInsurance' as const;

function m(key: string, birthDate: string | null, o: Partial<NoticeMember> = {}): NoticeMember {
  return { key, birthDate, moving: true, head: false, event: false, holds: [], ...o };
}
function input(noticeType: NoticeType, effectiveDate: string, members: NoticeMember[], o: Partial<NavigationInput> = {}): NavigationInput {
  return { noticeType, effectiveDate, members, householdHolds: [], answers: {}, ...o };
}

interface Case {
  name: string;
  input: NavigationInput;
  defs?: ProcedureDefinition[];
  on?: string;
  ids: string[];
  members?: Record<string, string[]>;
  reasons?: Record<string, string[]>;
  sources?: Record<string, DerivedProcedure['source']>;
  deadlines?: Record<string, string | undefined>;
}

const noEmployee = { employeeInsurance: false };
const employee = { employeeInsurance: true };

const cases: Case[] = [
  // 転入: 国保
  {
    name: '転入, 75 歳未満, 勤務先の保険なし → 国保加入 (+ 資格確認書 added)',
    input: input('moveIn', E, [m('a', '1986-01-10', { head: true })], { answers: noEmployee }),
    ids: ['nhiEnroll', 'nhiCard'],
    members: { nhiEnroll: ['a'], nhiCard: ['a'] },
    reasons: { nhiEnroll: ['転入', '75 歳未満', '勤務先の健康保険に加入していますか: いいえ'], nhiCard: ['「国民健康保険 加入」に伴う'] },
    sources: { nhiEnroll: 'rule', nhiCard: 'added' },
    deadlines: { nhiEnroll: '2026-04-24', nhiCard: undefined },
  },
  {
    name: '特例転入 is a 転入 too',
    input: input('specialMoveIn', E, [m('a', '1986-01-10', { head: true })], { answers: noEmployee }),
    ids: ['nhiEnroll', 'nhiCard'],
    reasons: { nhiEnroll: ['特例転入', '75 歳未満', '勤務先の健康保険に加入していますか: いいえ'] },
  },
  { name: '転入 with employee insurance → no 国保', input: input('moveIn', E, [m('a', '1986-01-10')], { answers: employee }), ids: [] },
  { name: '転入, question not answered yet → no 国保', input: input('moveIn', E, [m('a', '1986-01-10')]), ids: [] },
  {
    name: 'only the moving members under 75 get 国保 (a stayer is not listed)',
    input: input('moveIn', E, [m('a', '1986-01-10'), m('s', '1990-01-01', { moving: false }), m('o', '1940-01-01')], {
      answers: noEmployee,
    }),
    ids: ['nhiEnroll', 'nhiCard', 'lateElderly', 'careFirst'],
    members: { nhiEnroll: ['a'], nhiCard: ['a'], lateElderly: ['o'], careFirst: ['o'] },
  },
  // 後期高齢者医療: 75 on the birthday
  {
    name: '75th birthday on the move date → 後期 (birthday basis), no 国保',
    input: input('moveIn', E, [m('a', '1951-04-10')], { answers: noEmployee }),
    ids: ['lateElderly', 'careFirst'],
    reasons: { lateElderly: ['転入', '75 歳以上'], careFirst: ['転入', '65 歳以上'] },
  },
  {
    name: 'the day before the 75th birthday → still 国保, not 後期',
    input: input('moveIn', E, [m('a', '1951-04-11')], { answers: noEmployee }),
    ids: ['nhiEnroll', 'nhiCard', 'careFirst'],
  },
  // 介護保険 第1号: 65 by legal age
  {
    name: 'the day before the 65th birthday → 介護 第1号 (legal age)',
    input: input('moveIn', E, [m('a', '1961-04-11')], { answers: employee }),
    ids: ['careFirst'],
    members: { careFirst: ['a'] },
  },
  {
    name: 'two days before the 65th birthday → no 介護',
    input: input('moveIn', E, [m('a', '1961-04-12')], { answers: employee }),
    ids: [],
  },
  {
    name: 'the 65th birthday itself → 介護 第1号',
    input: input('moveIn', E, [m('a', '1961-04-10')], { answers: employee }),
    ids: ['careFirst'],
  },
  {
    name: '40–64 with 要介護認定 → 介護 第2号',
    input: input('moveIn', E, [m('a', '1970-05-01')], { answers: { ...employee, careCertified: true } }),
    ids: ['careSecond'],
    reasons: { careSecond: ['転入', '40 歳以上', '65 歳未満', '要介護・要支援の認定を受けていますか: はい'] },
  },
  {
    name: '40–64 without 認定 → no 介護',
    input: input('moveIn', E, [m('a', '1970-05-01')], { answers: { ...employee, careCertified: false } }),
    ids: [],
  },
  // 国民年金: 20–59 by legal age, category 1
  {
    name: 'the day before the 20th birthday, 第1号 → 国民年金',
    input: input('moveIn', E, [m('a', '2006-04-11')], { answers: { ...employee, pensionCategory: '1' } }),
    ids: ['pension'],
    members: { pension: ['a'] },
  },
  {
    name: 'two days before the 20th birthday → no 国民年金',
    input: input('moveIn', E, [m('a', '2006-04-12')], { answers: { ...employee, pensionCategory: '1' } }),
    ids: [],
  },
  {
    name: 'the day before the 60th birthday → no 国民年金 (already 60)',
    input: input('moveIn', E, [m('a', '1966-04-11')], { answers: { ...employee, pensionCategory: '1' } }),
    ids: [],
  },
  {
    name: '第2号 → no 国民年金',
    input: input('moveIn', E, [m('a', '1990-07-07')], { answers: { ...employee, pensionCategory: '2' } }),
    ids: [],
  },
  // 児童手当: until the end of the school year in which the child reaches 18
  {
    name: 'a child on March 31 of the school year they reach 18 → 児童手当 (15-day deadline)',
    input: input('moveIn', '2027-03-31', [m('p', '1980-01-01', { head: true }), m('c', '2008-06-01')], { answers: employee }),
    ids: ['childAllowance'],
    members: { childAllowance: ['c'] },
    reasons: { childAllowance: ['転入', '高校卒業前の子 (18 歳到達年度末まで)'] },
    deadlines: { childAllowance: '2027-04-15' },
  },
  {
    name: 'the same child on April 1 → no 児童手当',
    input: input('moveIn', '2027-04-01', [m('p', '1980-01-01', { head: true }), m('c', '2008-06-01')], { answers: employee }),
    ids: [],
  },
  // 就学: the April 1 / April 2 cohorts
  {
    name: 'on 2025-04-01 a child born 2019-04-01 is in 小1, one born 2019-04-02 is not',
    input: input('moveIn', '2025-04-01', [m('p', '1990-05-05', { head: true }), m('a', '2019-04-01'), m('b', '2019-04-02')], {
      answers: employee,
    }),
    ids: ['childAllowance', 'childMedical', 'schoolTransfer'],
    members: { childAllowance: ['a', 'b'], childMedical: ['a', 'b'], schoolTransfer: ['a'] },
    reasons: { schoolTransfer: ['転入', '小中学生'], childMedical: ['転入', '中学卒業前の子 (15 歳到達年度末まで)'] },
  },
  {
    name: 'on 2025-03-31 neither is at school yet',
    input: input('moveIn', '2025-03-31', [m('p', '1990-05-05', { head: true }), m('a', '2019-04-01'), m('b', '2019-04-02')], {
      answers: employee,
    }),
    ids: ['childAllowance', 'childMedical'],
    members: { childAllowance: ['a', 'b'] },
  },
  {
    name: 'on 2026-04-01 both are at elementary school',
    input: input('moveIn', '2026-04-01', [m('p', '1990-05-05', { head: true }), m('a', '2019-04-01'), m('b', '2019-04-02')], {
      answers: employee,
    }),
    ids: ['childAllowance', 'childMedical', 'schoolTransfer'],
    members: { schoolTransfer: ['a', 'b'] },
  },
  {
    name: 'a 中2 → 就学, 児童手当, 子ども医療費',
    input: input('moveIn', E, [m('c', '2012-08-01')]),
    ids: ['childAllowance', 'childMedical', 'schoolTransfer'],
    members: { schoolTransfer: ['c'] },
  },
  { name: 'a 高2-age child → 児童手当 only', input: input('moveIn', E, [m('c', '2009-08-01')]), ids: ['childAllowance'] },
  // Unknown birth dates
  {
    name: 'a member with an unknown birth date fails every age condition',
    input: input('moveIn', E, [m('a', '1986-01-10', { head: true }), m('u', null)], { answers: noEmployee }),
    ids: ['nhiEnroll', 'nhiCard'],
    members: { nhiEnroll: ['a'] },
  },
  {
    name: '… but not the conditions without an age (マイナンバーカード)',
    input: input('moveIn', E, [m('u', null, { hasMyNumberCard: true })], { answers: noEmployee }),
    ids: ['myNumberCard'],
    members: { myNumberCard: ['u'] },
    reasons: { myNumberCard: ['転入', 'マイナンバーカードを所持'] },
  },
  // Optional procedures by answer
  {
    name: '印鑑登録 when asked for (household-level: no members)',
    input: input('moveIn', E, [m('a', '1986-01-10')], { answers: { ...employee, wantsSeal: true } }),
    ids: ['sealRegistration'],
    members: { sealRegistration: [] },
    reasons: { sealRegistration: ['転入', '印鑑登録をしますか: はい'] },
  },
  { name: '印鑑登録 declined', input: input('moveIn', E, [m('a', '1986-01-10')], { answers: { ...employee, wantsSeal: false } }), ids: [] },
  {
    name: 'マイナンバーカード for the card holder only; 犬の登録 when a dog is kept',
    input: input('moveIn', E, [m('a', '1986-01-10'), m('b', '1987-02-02', { hasMyNumberCard: true })], {
      answers: { ...employee, hasDog: true },
    }),
    ids: ['myNumberCard', 'dogRegistration'],
    members: { myNumberCard: ['b'] },
  },
  // 転居
  {
    name: '転居: 住所変更 per entitlement held by the movers',
    input: input(
      'relocation',
      E,
      [
        m('a', '1970-01-01', { holds: [NHI], hasMyNumberCard: true }),
        m('b', '1955-01-01', { holds: ['longTermCare', 'nationalPension'] }),
        m('c', '1972-01-01', { moving: false, holds: [NHI, 'childAllowance'] }),
      ],
      { answers: { hasDog: true } },
    ),
    ids: ['myNumberCard', 'dogRegistration', 'nhiAddress', 'careAddress'],
    members: { nhiAddress: ['a'], careAddress: ['b'], myNumberCard: ['a'] },
    reasons: { nhiAddress: ['転居', '国民健康保険に加入中'] },
  },
  {
    name: '転居 with nothing held → nothing',
    input: input('relocation', E, [m('a', '1986-01-10')], { answers: { hasDog: false } }),
    ids: [],
  },
  // 転出
  {
    name: '転出: 資格喪失 for each entitlement the movers hold (not the stayers)',
    input: input('moveOut', E, [
      m('a', '1985-01-01', { holds: [NHI, 'childAllowance'] }),
      m('b', '1948-01-01', { holds: ['lateElderlyMedical', 'longTermCare'] }),
      m('c', '1987-01-01', { moving: false, holds: [NHI] }),
    ]),
    ids: ['nhiLoss', 'lateElderlyLoss', 'careLoss', 'childAllowanceEnd'],
    members: { nhiLoss: ['a'], lateElderlyLoss: ['b'], careLoss: ['b'], childAllowanceEnd: ['a'] },
    reasons: { nhiLoss: ['転出', '国民健康保険に加入中'] },
  },
  { name: '転出 holding nothing → nothing', input: input('moveOut', E, [m('a', '1985-01-01')]), ids: [] },
  {
    name: '国外転出 of a 国保 member → 資格喪失',
    input: input('moveAbroad', E, [m('a', '1985-01-01', { holds: [NHI] })]),
    ids: ['nhiLoss'],
  },
  {
    name: 'a 国保 member staying behind in a 転出 → nothing',
    input: input('specialMoveOut', E, [m('a', '1985-01-01'), m('c', '1987-01-01', { moving: false, holds: [NHI] })]),
    ids: [],
  },
  // 出生
  {
    name: '出生 in a 国保 household → 児童手当, 子ども医療費, 国保加入, 出産育児一時金',
    input: input('birth', E, [m('mo', '1995-01-01', { moving: false, head: true, holds: [NHI] }), m('k', E, { event: true })], {
      householdHolds: [NHI],
    }),
    ids: ['nhiEnroll', 'nhiCard', 'childAllowance', 'childMedical', 'birthLumpSum'],
    members: { nhiEnroll: ['k'], nhiCard: ['k'], childAllowance: ['k'], childMedical: ['k'], birthLumpSum: [] },
    reasons: {
      nhiEnroll: ['出生', '出生した子', '世帯に国民健康保険の加入者あり'],
      birthLumpSum: ['出生', '世帯に国民健康保険の加入者あり'],
    },
    deadlines: { childAllowance: '2026-04-25', nhiEnroll: '2026-04-24' },
  },
  {
    name: '出生 in a household without 国保 → 児童手当 and 子ども医療費 only',
    input: input('birth', E, [m('mo', '1995-01-01', { moving: false, head: true }), m('k', E, { event: true })]),
    ids: ['childAllowance', 'childMedical'],
  },
  // 死亡
  {
    name: '死亡 of the head, in 国保 → 資格喪失, 葬祭費, 世帯主変更',
    input: input('death', E, [
      m('d', '1960-01-01', { head: true, event: true, moving: false, holds: [NHI] }),
      m('w', '1962-01-01', { moving: false, holds: [NHI] }),
    ]),
    ids: ['nhiLoss', 'funeral', 'deathHeadChange'],
    members: { nhiLoss: ['d'], funeral: ['d'], deathHeadChange: ['d'] },
    reasons: { funeral: ['死亡', '亡くなった人', '国民健康保険に加入中'], deathHeadChange: ['死亡', '亡くなった人', '世帯主'] },
  },
  {
    name: '死亡 of a 後期 member who is not the head → 後期/介護 喪失 and 葬祭費',
    input: input('death', E, [
      m('h', '1950-01-01', { head: true, moving: false, holds: ['lateElderlyMedical', 'longTermCare'] }),
      m('d', '1945-01-01', { event: true, moving: false, holds: ['lateElderlyMedical', 'longTermCare'] }),
    ]),
    ids: ['lateElderlyLoss', 'careLoss', 'funeral'],
    members: { lateElderlyLoss: ['d'], careLoss: ['d'], funeral: ['d'] },
  },
  {
    name: '死亡 of an employee-insured member → nothing',
    input: input('death', E, [
      m('h', '1970-01-01', { head: true, moving: false, holds: [NHI] }),
      m('d', '1972-01-01', { event: true, moving: false }),
    ]),
    ids: [],
  },
  // 世帯分離 / 合併 / 世帯主変更
  {
    name: '世帯分離 in a 国保 household → 国保 世帯主変更',
    input: input('householdSplit', E, [m('a', '1990-01-01', { head: true })], { householdHolds: [NHI] }),
    ids: ['nhiHeadChange'],
    members: { nhiHeadChange: [] },
  },
  {
    name: '世帯合併: 国保 held by a member, 児童手当 by the household → both changes',
    input: input('householdMerge', E, [m('a', '1990-01-01', { head: true, holds: [NHI] })], { householdHolds: ['childAllowance'] }),
    ids: ['nhiHeadChange', 'childAllowanceRecipientChange'],
    reasons: {
      nhiHeadChange: ['世帯合併', '世帯に国民健康保険の加入者あり'],
      childAllowanceRecipientChange: ['世帯合併', '世帯に児童手当の受給者あり'],
    },
  },
  { name: '世帯主変更 without entitlements → nothing', input: input('headChange', E, [m('a', '1990-01-01', { head: true })]), ids: [] },
  {
    name: '世帯構成変更 is not a 児童手当 受給者変更',
    input: input('householdRestructure', E, [m('a', '1990-01-01')], { householdHolds: [NHI, 'childAllowance'] }),
    ids: ['nhiHeadChange'],
  },
  // 2/29 births
  {
    name: 'born 2/29: legal 65 at the end of 2/28 (non-leap year) → 介護 on 2/28',
    input: input('moveIn', '2025-02-28', [m('a', '1960-02-29')], { answers: employee }),
    ids: ['careFirst'],
  },
  { name: 'born 2/29: not yet on 2/27', input: input('moveIn', '2025-02-27', [m('a', '1960-02-29')], { answers: employee }), ids: [] },
  {
    name: 'born 2/29: 75 by birthday on 3/1 of a non-leap year → 後期',
    input: input('moveIn', '2027-03-01', [m('a', '1952-02-29')], { answers: noEmployee }),
    ids: ['lateElderly', 'careFirst'],
  },
  {
    name: 'born 2/29: still 74 on 2/28 → 国保',
    input: input('moveIn', '2027-02-28', [m('a', '1952-02-29')], { answers: noEmployee }),
    ids: ['nhiEnroll', 'nhiCard', 'careFirst'],
  },
  // adds, cycles, validity
  {
    name: 'adds chain A → B → C (transitive, with the adder as reason; D untouched)',
    defs: CHAIN,
    input: input('moveIn', E, [m('a', '1986-01-10')]),
    ids: ['chainA', 'chainB', 'chainC'],
    sources: { chainA: 'rule', chainB: 'added', chainC: 'added' },
    reasons: { chainA: ['転入'], chainB: ['「手続き A」に伴う'], chainC: ['「手続き B」に伴う'] },
    deadlines: { chainC: '2026-05-10', chainA: undefined },
  },
  { name: 'adds chain: nothing when the root does not apply', defs: CHAIN, input: input('relocation', E, [m('a', '1986-01-10')]), ids: [] },
  {
    name: 'an adds cycle X → Y → Z → X ends, each once, X stays a rule',
    defs: CYCLE,
    input: input('moveIn', E, [m('a', '1986-01-10')]),
    ids: ['cycleX', 'cycleY', 'cycleZ'],
    sources: { cycleX: 'rule', cycleY: 'added', cycleZ: 'added' },
    reasons: { cycleX: ['転入'], cycleY: ['「手続き X」に伴う'], cycleZ: ['「手続き Y」に伴う'] },
  },
  {
    name: 'an add reached from two procedures: one entry with both reasons and members; a loop back adds no reason',
    defs: DIAMOND,
    input: input('moveIn', E, [m('o', '1950-01-01'), m('y', '1990-01-01'), m('i', '1991-01-01', { holds: [NHI] })]),
    ids: ['elder', 'insured', 'guide', 'guideMap'],
    members: { elder: ['o'], insured: ['i'], guide: ['o', 'i'], guideMap: ['o', 'i'] },
    reasons: { guide: ['「高齢者向け」に伴う', '「国保加入者向け」に伴う'], guideMap: ['「健康診査の案内」に伴う'] },
    sources: { elder: 'rule', insured: 'rule', guide: 'added', guideMap: 'added' },
  },
  {
    name: 'members merged into an add later still reach what it adds',
    defs: LATE_MERGE,
    input: input('moveIn', E, [m('o', '1950-01-01'), m('i', '1991-01-01', { holds: [NHI] })]),
    ids: ['r1', 'r2', 'middle', 'late', 'tail'],
    members: { middle: ['i'], late: ['o', 'i'], tail: ['o', 'i'] },
    reasons: { late: ['「規則 1」に伴う', '「中間」に伴う'], tail: ['「後から合流」に伴う'] },
  },
  {
    name: 'validity: ended yesterday and starting tomorrow are ignored; today-only and open-ended count; an ended add is skipped',
    defs: PERIODS,
    input: input('moveIn', E, [m('a', '1986-01-10')]),
    ids: ['onlyToday', 'always'],
  },
  {
    name: 'validity: the version valid on the date is used (new rule: 70+)',
    defs: PERIODS,
    input: input('moveIn', E, [m('a', '1959-01-01')]),
    ids: ['onlyToday', 'always'],
  },
  {
    name: 'validity: before the law change the old version (65+) applies',
    defs: PERIODS,
    on: '2026-03-20',
    input: input('moveIn', '2026-03-20', [m('a', '1959-01-01')]),
    ids: ['endedYesterday', 'always', 'addedButEnded', 'versioned'],
    reasons: { versioned: ['転入', '65 歳以上'], addedButEnded: ['「期限なし」に伴う'] },
  },
];

describe('navigation: derive (table)', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).to.be.at.least(30);
  });
  for (const c of cases) {
    it(c.name, () => {
      const got = derive(c.defs ?? PROCEDURES, c.input, { on: c.on ?? c.input.effectiveDate });
      expect(got.map((d) => d.procedureId)).to.deep.equal(c.ids);
      const byId = new Map(got.map((d) => [d.procedureId, d]));
      for (const [id, members] of Object.entries(c.members ?? {})) expect(byId.get(id)?.members, `members of ${id}`).to.deep.equal(members);
      for (const [id, reasons] of Object.entries(c.reasons ?? {})) expect(byId.get(id)?.reasons, `reasons of ${id}`).to.deep.equal(reasons);
      for (const [id, source] of Object.entries(c.sources ?? {})) expect(byId.get(id)?.source, `source of ${id}`).to.equal(source);
      for (const [id, deadline] of Object.entries(c.deadlines ?? {})) {
        expect(byId.has(id), `${id} derived`).to.equal(true);
        expect(byId.get(id)?.deadline, `deadline of ${id}`).to.equal(deadline);
      }
    });
  }
});

describe('navigation: evaluate', () => {
  const people = input('moveIn', E, [m('old', '1950-01-01'), m('ins', '1990-01-01', { holds: [NHI] }), m('kid', '2015-06-01')]);
  it('a member condition needs one member that satisfies every key together', () => {
    expect(evaluate({ member: { ageFrom: 65, holds: NHI } }, people)).to.deep.equal({ holds: false, members: [], reasons: [] });
    const both = evaluate({ member: { ageFrom: 30, holds: NHI } }, people);
    expect(both).to.deep.equal({ holds: true, members: ['ins'], reasons: ['30 歳以上', '国民健康保険に加入中'] });
  });
  it('all: every part holds, members are the union (in notice order)', () => {
    expect(evaluate({ all: [{ member: { holds: NHI } }, { member: { ageFrom: 65 } }] }, people).members).to.deep.equal(['old', 'ins']);
    expect(evaluate({ all: [{ member: { holds: NHI } }, { member: { ageFrom: 90 } }] }, people).holds).to.equal(false);
  });
  it('any: one part holds, members of the holding parts only', () => {
    const r = evaluate(
      {
        any: [
          { member: { ageFrom: 90 } },
          { member: { schoolStage: ['elementary', 'juniorHigh'] } },
          { notice: ['death'], member: { ageFrom: 0 } },
        ],
      },
      people,
    );
    expect(r).to.deep.equal({ holds: true, members: ['kid'], reasons: ['小中学生'] });
    expect(evaluate({ any: [{ member: { ageFrom: 90 } }, { notice: ['death'] }] }, people).holds).to.equal(false);
  });
  it('not negates and brings no members', () => {
    const r = evaluate({ notice: ['moveIn'], not: { member: { holds: 'lateElderlyMedical' } } }, people);
    expect(r).to.deep.equal({ holds: true, members: [], reasons: ['転入', '非該当: 後期高齢者医療に加入中'] });
    expect(evaluate({ not: { member: { holds: NHI } } }, people).holds).to.equal(false);
  });
  it('answers: booleans, choices and answered: false', () => {
    const a = { ...people, answers: { employeeInsurance: false, pensionCategory: '1' } };
    expect(evaluate({ answer: { employeeInsurance: false } }, a).holds).to.equal(true);
    expect(evaluate({ answer: { employeeInsurance: true } }, a).holds).to.equal(false);
    expect(evaluate({ answer: { pensionCategory: '1' } }, a).holds).to.equal(true);
    expect(evaluate({ answer: { pensionCategory: '2' } }, a).holds).to.equal(false);
    expect(evaluate({ answer: { hasDog: { answered: false } } }, a).holds).to.equal(true);
    expect(evaluate({ answer: { employeeInsurance: { answered: false } } }, a).holds).to.equal(false);
    expect(evaluate({ answer: { employeeInsurance: { answered: true } } }, a).holds).to.equal(true);
    expect(evaluate({ answer: { employeeInsurance: false } }, a, { questions: [qEmployee] }).reasons).to.deep.equal([
      '勤務先の健康保険に加入していますか: いいえ',
    ]);
    expect(evaluate({ answer: { employeeInsurance: false } }, a).reasons).to.deep.equal(['employeeInsurance: いいえ']);
  });
  it('householdHolds looks at the household list and the members', () => {
    expect(evaluate({ householdHolds: NHI }, people).holds).to.equal(true);
    expect(evaluate({ householdHolds: 'childAllowance' }, people).holds).to.equal(false);
    expect(evaluate({ householdHolds: 'childAllowance' }, { ...people, householdHolds: ['childAllowance'] }).holds).to.equal(true);
  });
  it('unknown and partial birth dates fail age and school conditions', () => {
    const unknown = input('moveIn', E, [m('u', null), m('p', '1950-03')]);
    expect(evaluate({ member: { ageFrom: 0 } }, unknown).holds).to.equal(false);
    expect(evaluate({ member: { ageUnder: 200 } }, unknown).holds).to.equal(false);
    expect(evaluate({ member: { untilEndOfSchoolYearOfAge: 18 } }, unknown).holds).to.equal(false);
    expect(
      evaluate({ member: { schoolStage: ['preschool', 'elementary', 'juniorHigh', 'highSchoolAge', 'adult'] } }, unknown).holds,
    ).to.equal(false);
    expect(evaluate({ member: { moving: true } }, unknown).members).to.deep.equal(['u', 'p']);
  });
  it('moving: false and head describe themselves', () => {
    const r = evaluate(
      { member: { moving: false, head: true } },
      input('headChange', E, [m('a', '1980-01-01', { moving: false, head: true }), m('b', '1980-01-01', { head: true })]),
    );
    expect(r).to.deep.equal({ holds: true, members: ['a'], reasons: ['異動しない世帯員', '世帯主'] });
  });
});

describe('navigation: questionsToAsk', () => {
  const ids = (i: NavigationInput, defs: ProcedureDefinition[] = PROCEDURES, on = i.effectiveDate) =>
    questionsToAsk(defs, i, on).map((q) => q.id);
  it('a 45-year-old moving in is asked every question that could add a procedure', () => {
    expect(ids(input('moveIn', E, [m('a', '1981-01-01')]))).to.deep.equal([
      'employeeInsurance',
      'careCertified',
      'pensionCategory',
      'wantsSeal',
      'hasDog',
    ]);
  });
  it('askWhen filters: at 70 no 第2号 or 年金 question', () => {
    expect(ids(input('moveIn', E, [m('a', '1956-01-01')]))).to.deep.equal(['employeeInsurance', 'wantsSeal', 'hasDog']);
  });
  it('a question whose answer could not add the procedure is not asked (80: no 国保 question)', () => {
    expect(ids(input('moveIn', E, [m('a', '1946-01-01')]))).to.deep.equal(['wantsSeal', 'hasDog']);
  });
  it('askWhen on a 14-year-old: no 印鑑登録 question; the derived 児童手当 asks its own question', () => {
    expect(ids(input('moveIn', E, [m('c', '2011-06-01')]))).to.deep.equal(['employeeInsurance', 'prevAllowance', 'hasDog']);
  });
  it('answered questions stay (the answer can be changed)', () => {
    expect(ids(input('moveIn', E, [m('a', '1981-01-01')], { answers: { employeeInsurance: true, hasDog: false } }))).to.deep.equal([
      'employeeInsurance',
      'careCertified',
      'pensionCategory',
      'wantsSeal',
      'hasDog',
    ]);
  });
  it('other notices ask only what they can use', () => {
    expect(ids(input('moveOut', E, [m('a', '1981-01-01', { holds: [NHI] })]))).to.deep.equal([]);
    expect(ids(input('relocation', E, [m('a', '1981-01-01')]))).to.deep.equal(['hasDog']);
  });
  it('deduplicates by id (the first definition wins) and finds a question defined by another procedure', () => {
    const extra = [
      ...PROCEDURES,
      def(
        'nhiTax',
        '国民健康保険税 説明',
        12,
        { notice: MOVE_IN, answer: { employeeInsurance: false } },
        { questions: [{ id: 'employeeInsurance', text: '別の文言', type: 'yesNo' }] },
      ),
      def('dogTag', '犬の鑑札', 95, { notice: ['relocation'], answer: { hasDog: true, dogTagLost: true } }),
    ];
    const qs = questionsToAsk(extra, input('moveIn', E, [m('a', '1946-01-01'), m('b', '1981-01-01')]), E);
    expect(qs.map((q) => q.id)).to.deep.equal(['employeeInsurance', 'careCertified', 'pensionCategory', 'wantsSeal', 'hasDog']);
    expect(qs[0]?.text).to.equal('勤務先の健康保険に加入していますか？');
    // dogTag mentions hasDog (defined by dogRegistration) on a 転居; dogTagLost has no definition and is skipped.
    expect(questionsToAsk(extra, input('relocation', E, [m('a', '1981-01-01')]), E).map((q) => q.id)).to.deep.equal(['hasDog']);
  });
  it('a definition out of its validity period asks nothing', () => {
    const dated = PROCEDURES.map((p) => (p.id === 'dogRegistration' ? { ...p, validTo: '2026-04-09' } : p));
    expect(ids(input('relocation', E, [m('a', '1981-01-01')]), dated)).to.deep.equal([]);
  });
});

describe('navigation: isLate (a warning, never a block)', () => {
  const deadlines = { moveIn: 14, relocation: 14, moveOut: 14, birth: 14, death: 7 };
  it('14 days from the move date', () => {
    expect(isLate('moveIn', '2026-04-01', '2026-04-15', deadlines)).to.deep.equal({ late: false });
    expect(isLate('moveIn', '2026-04-01', '2026-04-18', deadlines)).to.deep.equal({
      late: true,
      message: '届出期限 (異動日から 14 日) を 3 日過ぎています。遅れた理由を確認してください',
    });
    expect(isLate('relocation', '2025-12-25', '2026-01-09', deadlines).message).to.equal(
      '届出期限 (異動日から 14 日) を 1 日過ぎています。遅れた理由を確認してください',
    );
  });
  it('7 days for a death', () => {
    expect(isLate('death', '2026-04-01', '2026-04-08', deadlines)).to.deep.equal({ late: false });
    expect(isLate('death', '2026-04-01', '2026-04-10', deadlines)).to.deep.equal({
      late: true,
      message: '届出期限 (死亡日から 7 日) を 2 日過ぎています。遅れた理由を確認してください',
    });
  });
  it('a 転出 reported before the move, or a type without a deadline, is not late', () => {
    expect(isLate('moveOut', '2026-04-20', '2026-04-10', deadlines)).to.deep.equal({ late: false });
    expect(isLate('individual', '2020-01-01', '2026-04-10', deadlines)).to.deep.equal({ late: false });
    expect(isLate('moveOut', '2026-03-01', '2026-03-20', deadlines).message).to.equal(
      '届出期限 (転出 (予定) 日から 14 日) を 5 日過ぎています。遅れた理由を確認してください',
    );
  });
});

describe('school stage (April 2 – April 1 cohorts)', () => {
  it('counts the school year from April 1', () => {
    expect(schoolYearOf('2026-03-31')).to.equal(2025);
    expect(schoolYearOf('2026-04-01')).to.equal(2026);
  });
  it('a child born April 1 is a year ahead of one born April 2', () => {
    expect(schoolGrade('2019-04-01', '2025-04-01')).to.equal(1);
    expect(schoolGrade('2019-04-02', '2025-04-01')).to.equal(0);
    expect(schoolStage('2019-04-01', '2025-04-01')).to.equal('elementary');
    expect(schoolStage('2019-04-02', '2025-04-01')).to.equal('preschool');
    expect(schoolStage('2019-04-01', '2025-03-31')).to.equal('preschool');
    expect(schoolGrade('2019-04-01', '2026-04-01')).to.equal(2);
    expect(schoolGrade('2019-04-02', '2026-04-01')).to.equal(1);
    expect(schoolStage('2019-04-02', '2026-04-01')).to.equal('elementary');
    expect(schoolStage('2019-04-02', '2026-03-31')).to.equal('preschool');
  });
  it('moves to junior high, high-school age and adult on April 1', () => {
    expect(schoolStage('2013-04-01', '2025-03-31')).to.equal('elementary');
    expect(schoolStage('2013-04-01', '2025-04-01')).to.equal('juniorHigh');
    expect(schoolStage('2013-04-02', '2025-04-01')).to.equal('elementary');
    expect(schoolStage('2010-04-02', '2026-03-31')).to.equal('juniorHigh');
    expect(schoolStage('2010-04-02', '2026-04-01')).to.equal('highSchoolAge');
    expect(schoolStage('2007-04-02', '2026-03-31')).to.equal('highSchoolAge');
    expect(schoolStage('2007-04-02', '2026-04-01')).to.equal('adult');
  });
  it('handles 2/29 births (and a register 2/29 in a non-leap year)', () => {
    expect(schoolStage('2020-02-29', '2026-03-31')).to.equal('preschool');
    expect(schoolStage('2020-02-29', '2026-04-01')).to.equal('elementary');
    expect(schoolGrade('2020-02-29', '2026-04-01')).to.equal(schoolGrade('2020-03-01', '2026-04-01'));
    expect(schoolGrade('2019-02-29', '2025-04-01')).to.equal(1);
    expect(schoolGrade('2019-02-28', '2025-04-01')).to.equal(1);
  });
});
