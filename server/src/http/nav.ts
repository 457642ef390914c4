/** Who sees the operations dashboard and, with it, the disk-health banner (http/banners.ts). */
export const OPERATIONS_PERMISSION = 'admin.staff';

/**
 * The staff screens: the links of the header (shown only to those who may follow them), and the
 * first screens offered on the home page to a role without counter work.
 */
export const NAV: readonly { href: string; label: string; permission: string }[] = [
  { href: '/search', label: '住民検索', permission: 'resident.search' },
  { href: '/worklist', label: '課の作業一覧', permission: 'visit.handle' },
  { href: '/review', label: '審査', permission: 'notice.review' },
  { href: '/support-measures/endings', label: '支援措置の終了', permission: 'resident.viewProtectedAddress' },
  { href: '/rpa/jobs', label: 'RPA', permission: 'rpa.manage' },
  { href: '/stats/visits', label: '窓口統計', permission: 'export.csv' },
  { href: '/linkage', label: '連携状況', permission: 'linkage.read' },
  { href: '/admin/staff', label: '職員管理', permission: 'admin.staff' },
  { href: '/admin/audit', label: '監査ログ', permission: 'audit.read' },
  { href: '/admin/procedures', label: '手続き設定', permission: 'admin.procedures' },
  { href: '/admin/operations', label: '稼働状況', permission: OPERATIONS_PERMISSION },
  { href: '/admin/maintenance', label: '保守の記録', permission: OPERATIONS_PERMISSION },
];
