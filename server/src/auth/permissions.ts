/** Operation permissions (issue: staff accounts). Groups hold them; routes declare them. */
export const permissions = [
  'resident.search', 'resident.viewMyNumber', 'resident.viewProtectedAddress', 'notice.accept', 'certificate.accept',
  'print.form', 'export.csv', 'admin.staff', 'admin.procedures', 'audit.read', 'linkage.read',
] as const;
export type Permission = (typeof permissions)[number];

export interface GroupDefinition {
  code: string;
  name: string;
  description: string;
  permissions: Permission[];
}

/** The groups a new installation starts with; a municipality adds its own. */
export const defaultGroups: readonly GroupDefinition[] = [
  { code: 'counter', name: '窓口担当', description: '住民検索・届出受付・申請書印刷', permissions: ['resident.search', 'notice.accept', 'certificate.accept', 'print.form', 'linkage.read'] },
  { code: 'certificates', name: '証明担当', description: '証明書交付請求の受付', permissions: ['resident.search', 'certificate.accept', 'print.form', 'linkage.read'] },
  { code: 'supportMeasures', name: '支援措置担当', description: '支援措置対象者の住所を閲覧できる', permissions: ['resident.search', 'resident.viewProtectedAddress', 'resident.viewMyNumber', 'notice.accept', 'print.form', 'linkage.read'] },
  { code: 'admin', name: 'システム管理者', description: '職員・グループ・手続きの管理、監査ログの閲覧', permissions: ['admin.staff', 'admin.procedures', 'audit.read', 'export.csv', 'linkage.read'] },
];
