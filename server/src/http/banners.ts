import type { DiskHealth } from '../ops/diskHealth.js';
import { diskBanner } from '../ops/diskHealth.js';
import { powerBanner, type PowerStatus } from '../ops/power.js';
import type { Banner } from './html.js';
import { OPERATIONS_PERMISSION } from './nav.js';

export interface BannerInput {
  /** The power state read for this request (null when it could not be read). */
  power: PowerStatus | null | undefined;
  /** The disk monitor's last collection (null when disks are not monitored). */
  disks: DiskHealth | null | undefined;
  /** The permissions of the active role. */
  permissions: ReadonlySet<string>;
  /** A line for everyone that the server was started with (the verification environment's). */
  notice?: string | null;
}

/**
 * The one place that decides which banners a member of staff sees: the power failure for
 * everyone (they must save their work); disk health only for those who see the operations
 * dashboard (administrators act on it; counter clerks cannot).
 */
export function staffBanners({ power, disks, permissions, notice }: BannerInput): Banner[] {
  const out: Banner[] = [];
  // The verification environment says so first: work done here never reaches the register.
  if (notice) out.push({ id: 'notice-banner', text: notice, level: 'warning' });
  const p = power ? powerBanner(power) : null;
  if (p) out.push({ id: 'power-banner', text: p, level: 'error' });
  const d = permissions.has(OPERATIONS_PERMISSION) ? diskBanner(disks ?? null) : null;
  if (d)
    out.push({
      id: 'disk-banner',
      text: d,
      level: disks!.state === 'failed' || disks!.state === 'degraded' ? 'error' : 'warning',
      link: { href: '/admin/operations#ops-disks', label: '稼働状況を見る' },
    });
  return out;
}
