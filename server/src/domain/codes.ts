/**
 * Code tables of the national standard as the layouts reference them (`code: NAME`).
 * Sources: ../shared/reference/standard-linkage.md §3 ([観測] vendor tables; verify against the
 * official 基本データリスト コード一覧 before production — see docs/data-model.md).
 */
export type CodeTable = Readonly<Record<string, string>>;

export const residentKind: CodeTable = { '1': '日本人住民', '2': '外国人住民' };
export const residentStatus: CodeTable = { '1': '住登者', '2': '転出者', '3': '死亡者', '9': 'その他消除者' };
export const sex: CodeTable = { '0': '不明', '1': '男', '2': '女' };

/** 続柄 codes; a chain of up to four joined by 「の」 (子の子 = 20,20). */
export const relationship: CodeTable = {
  '02': '世帯主',
  '11': '夫',
  '12': '妻',
  '13': '夫（未届）',
  '14': '妻（未届）',
  '20': '子',
  '51': '父',
  '52': '母',
  '71': '兄',
  '74': '弟',
  '81': '姉',
  '84': '妹',
  '96': '縁故者',
  '99': '同居人',
};

export const changeReason: CodeTable = {
  '01': '国内転入',
  '02': '国外転入等',
  '03': '出生',
  '04': '職権記載（帰化等）',
  '05': '職権記載（国籍喪失）',
  '06': '職権記載',
  '07': '改製',
  '08': '再製',
  '09': '異動の取消し（増）',
  '21': '国内転出',
  '22': '国外転出',
  '23': '死亡',
  '24': '職権消除（帰化等）',
  '25': '職権消除（国籍喪失）',
  '26': '職権消除',
  '27': '改製',
  '28': '異動の取消し（減）',
  '41': '転居',
  '42': '軽微な修正',
  '43': '職権修正',
  '44': '誤記修正',
  '45': '個人番号の変更請求',
  '46': '個人番号の職権修正',
  '47': '個人番号の職権記載',
  '48': '住民票コードの変更請求',
  '49': '住民票コードの職権記載',
  '50': '世帯分離',
  '51': '世帯合併',
  '52': '世帯変更',
  '53': '世帯主変更',
  '54': '旧氏の記載',
  '55': '旧氏の変更',
  '56': '旧氏の削除',
  '57': '通称の記載',
  '58': '通称の削除',
  '59': '異動の取消し（修正）',
};

export const article30_45: CodeTable = {
  '01': '中長期在留者',
  '02': '特別永住者',
  '03': '一時庇護許可者',
  '04': '仮滞在許可者',
  '05': '出生による経過滞在者',
  '06': '国籍喪失による経過滞在者',
};

export const supportMeasureKind: CodeTable = { '1': '支援措置', '2': '仮支援措置', '3': '支援措置終了' };

export const nhiQualification: CodeTable = { '1': '世帯主', '2': '擬制世帯主', '3': '世帯員' };
export const nhiAcquireReason: CodeTable = {
  '01': '転入',
  '02': '社保離脱',
  '03': '生保廃止',
  '04': '出生',
  '08': '職権回復',
  '09': 'その他',
  '13': '後期高齢者医療制度離脱',
  '14': '月中社保離脱',
  '15': '月中国保組合離脱',
};
export const nhiLossReason: CodeTable = {
  '41': '転出',
  '42': '社保加入',
  '43': '生保開始',
  '44': '死亡',
  '48': '職権抹消',
  '49': 'その他',
  '51': '後期加入（年齢到達）',
  '52': '後期加入（障害認定）',
};
export const careInsuredKind: CodeTable = { '1': '第１号被保険者', '2': '第２号被保険者' };
export const careLevel: CodeTable = {
  '01': '非該当',
  '09': 'みなし非該当',
  '11': '経過的要介護',
  '12': '要支援１',
  '13': '要支援２',
  '19': 'みなし要支援',
  '21': '要介護１',
  '22': '要介護２',
  '23': '要介護３',
  '24': '要介護４',
  '25': '要介護５',
  '31': '再調査',
  '88': '取消',
  '99': 'なし',
};
/** [提案] 国民年金被保険者種別: no official table was found. */
export const pensionCategory: CodeTable = { '1': '第１号', '2': '第２号', '3': '第３号', '4': '任意加入' };
/** [提案] 処理区分 of differential files. */
export const processingKind: CodeTable = { '1': '追加', '2': '更新', '3': '削除' };
/** [提案] 発行禁止 and 滞納 of the local feeds. */
export const issuanceBanKind: CodeTable = { '1': '本人申出による交付制限', '2': '不当請求による交付制限', '9': 'その他' };
export const taxKind: CodeTable = {
  '01': '個人住民税',
  '02': '固定資産税',
  '03': '軽自動車税',
  '04': '国民健康保険税',
  '05': '介護保険料',
  '06': '後期高齢者医療保険料',
};
export const nonResidentReason: CodeTable = { '1': '固定資産税', '2': '個人住民税', '3': '国民年金', '9': 'その他' };

export const codeTables: Readonly<Record<string, CodeTable>> = {
  residentKind,
  residentStatus,
  sex,
  relationship,
  changeReason,
  article30_45,
  supportMeasureKind,
  nhiQualification,
  nhiAcquireReason,
  nhiLossReason,
  careInsuredKind,
  careLevel,
  pensionCategory,
  processingKind,
  issuanceBanKind,
  taxKind,
  nonResidentReason,
};

/** 続柄表記 from a chain of codes: [20, 12] → 子の妻. */
export function relationshipLabel(codes: readonly string[]): string {
  return codes
    .filter((c) => c !== '')
    .map((c) => {
      const label = relationship[c];
      if (!label) throw new Error(`unknown 続柄 code ${c}`);
      return label;
    })
    .join('の');
}

/** Entitlement kinds (glossary), in display order. */
export const entitlementKinds = [
  'nationalHealthInsurance',
  'lateElderlyMedical',
  'longTermCare',
  'nationalPension',
  'childAllowance',
] as const;
export type EntitlementKind = (typeof entitlementKinds)[number];

/** [提案] 在留資格等コード: the official table was not available; these codes are ours. */
export const residenceStatus: CodeTable = {
  A01: '永住者',
  A02: '定住者',
  A03: '日本人の配偶者等',
  B01: '技術・人文知識・国際業務',
  B02: '技能実習',
  B03: '特定技能',
  B04: '留学',
  B05: '家族滞在',
};
