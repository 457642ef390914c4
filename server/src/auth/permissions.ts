import { entitlementKinds, type EntitlementKind } from '../domain/codes.js';

/** Operation permissions (issue: staff accounts). Groups hold them; routes declare them. */
export const permissions = [
  'resident.search',
  'resident.viewMyNumber',
  'resident.viewProtectedAddress',
  'visit.handle',
  'notice.accept',
  'notice.review',
  'certificate.accept',
  'print.form',
  'export.csv',
  'admin.staff',
  'admin.procedures',
  'audit.read',
  'linkage.read',
  'rpa.agent',
  'rpa.manage',
  'card.relay',
] as const;
export type Permission = (typeof permissions)[number];

/** Japanese labels for the admin screens. */
export const permissionLabels: Readonly<Record<Permission, string>> = {
  'resident.search': '住民の検索・閲覧',
  'resident.viewMyNumber': '個人番号の表示',
  'resident.viewProtectedAddress': '支援措置対象者の住所の表示・印刷',
  'visit.handle': '来庁の受付 (本人確認・来庁記録)',
  'notice.accept': '異動届の受付',
  'notice.review': '届出の審査 (受付済 → 審査済)',
  'certificate.accept': '証明書交付請求の受付',
  'print.form': '申請書等の印刷',
  'export.csv': 'CSV の出力',
  'admin.staff': '職員・グループ・接続端末の管理',
  'admin.procedures': '手続き・様式・手数料の管理',
  'audit.read': '監査ログの閲覧',
  'linkage.read': '連携状況の閲覧',
  'rpa.agent': 'RPA 端末として基幹系へ入力する (端末用)',
  'rpa.manage': 'RPA ジョブの確認・再実行・手入力済みの記録',
  'card.relay': '窓口のカード読取装置として読み取り結果を中継する (端末用)',
};

export const entitlementKindLabels: Readonly<Record<EntitlementKind, string>> = {
  nationalHealthInsurance: '国民健康保険',
  lateElderlyMedical: '後期高齢者医療',
  longTermCare: '介護保険',
  nationalPension: '国民年金',
  childAllowance: '児童手当',
};

export interface GroupDefinition {
  code: string;
  name: string;
  description: string;
  permissions: Permission[];
  /** Data scope: the entitlement kinds members of the group see. */
  scopes: EntitlementKind[];
}

const allKinds = [...entitlementKinds];

/** The groups a new installation starts with; a municipality adds its own in the admin screen. */
export const defaultGroups: readonly GroupDefinition[] = [
  {
    code: 'counter',
    name: '総合窓口',
    description: '住民検索・届出受付・申請書印刷。資格はすべて表示',
    permissions: ['resident.search', 'visit.handle', 'notice.accept', 'certificate.accept', 'print.form', 'linkage.read'],
    scopes: allKinds,
  },
  {
    code: 'certificates',
    name: '証明担当',
    description: '証明書交付請求の受付。資格は表示しない',
    permissions: ['resident.search', 'visit.handle', 'certificate.accept', 'print.form', 'linkage.read'],
    scopes: [],
  },
  {
    code: 'insurance',
    name: '保険年金担当',
    description: '国保・後期高齢・国民年金の手続き',
    permissions: ['resident.search', 'visit.handle', 'notice.accept', 'print.form', 'linkage.read'],
    scopes: ['nationalHealthInsurance', 'lateElderlyMedical', 'nationalPension'],
  },
  {
    code: 'welfare',
    name: '福祉担当',
    description: '介護保険・児童手当の手続き',
    permissions: ['resident.search', 'visit.handle', 'notice.accept', 'print.form', 'linkage.read'],
    scopes: ['longTermCare', 'childAllowance'],
  },
  {
    code: 'reviewer',
    name: '審査担当',
    description: '受け付けた届出の審査 (受付者とは別の職員)・RPA ジョブの確認',
    permissions: ['resident.search', 'notice.review', 'rpa.manage', 'linkage.read'],
    scopes: [],
  },
  {
    code: 'supportMeasures',
    name: '支援措置担当',
    description: '支援措置対象者の住所・個人番号を閲覧できる',
    permissions: [
      'resident.search',
      'visit.handle',
      'resident.viewProtectedAddress',
      'resident.viewMyNumber',
      'notice.accept',
      // Notices that touch a protected person are reviewed here, by staff who may see the address.
      'notice.review',
      'print.form',
      'linkage.read',
    ],
    scopes: allKinds,
  },
  {
    code: 'admin',
    name: 'システム管理者',
    description: '職員・グループ・手続きの管理、監査ログの閲覧',
    permissions: ['admin.staff', 'admin.procedures', 'audit.read', 'export.csv', 'linkage.read', 'rpa.manage'],
    scopes: [],
  },
  {
    code: 'rpaAgent',
    name: 'RPA 端末',
    description: '基幹系への入力を行う RPA 端末 (トークンで接続)',
    permissions: ['rpa.agent'],
    scopes: [],
  },
  {
    code: 'cardReader',
    name: 'カード読取端末',
    description: '窓口の PC のカード読取ヘルパー (トークンで接続し、一つの窓口に結び付く)',
    permissions: ['card.relay'],
    scopes: [],
  },
];
