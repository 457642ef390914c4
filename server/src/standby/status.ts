import { readFilesState, type FilesState } from './files.js';
import type { StandbyNode } from './node.js';
import { readReplicaState, type ReplicaState } from './replica.js';
import { readShipState, type ShipState } from './shipper.js';
import { readStandbyState, type StandbyState } from './state.js';

/** What `madoguchi standby status --json` prints (and /healthz reads). */
export interface StandbyReport {
  configured: boolean;
  role: StandbyState['role'] | null;
  epoch: number | null;
  peerUrl: string | null;
  /** Standby: the installed, verified replica. */
  replica: Omit<ReplicaState, 'chunks'> | null;
  /** Standby: now − the replica's snapshot time; primary: now − the snapshot time of the last acknowledged shipment. */
  lagSeconds: number | null;
  /** Primary: the last cycle failed or an acceptance did not see its shipment in time, or nothing acknowledged for long. Standby: no replica, or it is older than the threshold. */
  degraded: boolean;
  /** Standby: the mirror of configuration, evidence and anchor. */
  files: FilesState | null;
  /** Primary: the last shipping cycle. */
  ship: ShipState | null;
}

/** Lag over which shipping counts as degraded even without a failure (the RPO is 15 s). */
export const degradedAfterSeconds = (intervalSeconds: number): number => Math.max(30, intervalSeconds * 3);

export function standbyReport(dataDir: string, o: { node?: StandbyNode; intervalSeconds?: number; now?: Date } = {}): StandbyReport {
  const state = o.node?.state ?? readStandbyState(dataDir);
  const now = (o.now ?? new Date()).getTime();
  const threshold = degradedAfterSeconds(o.intervalSeconds ?? 5);
  const lag = (iso: string | null | undefined) => (iso ? Math.max(0, Math.round((now - Date.parse(iso)) / 100) / 10) : null);
  if (!state)
    return {
      configured: false,
      role: null,
      epoch: null,
      peerUrl: null,
      replica: null,
      lagSeconds: null,
      degraded: false,
      files: null,
      ship: null,
    };
  if (state.role === 'standby') {
    const r = readReplicaState(dataDir);
    const replica = r && (({ chunks: _c, ...rest }) => rest)(r);
    const lagSeconds = lag(r?.snapshotAt);
    return {
      configured: true,
      role: 'standby',
      epoch: state.epoch,
      peerUrl: state.peerUrl,
      replica,
      lagSeconds,
      degraded: lagSeconds === null || lagSeconds > threshold,
      files: readFilesState(dataDir),
      ship: null,
    };
  }
  const ship = o.node?.ship() ?? readShipState(dataDir);
  const lagSeconds = lag(ship?.lastOkSnapshotAt);
  return {
    configured: true,
    role: 'primary',
    epoch: state.epoch,
    peerUrl: state.peerUrl,
    replica: null,
    lagSeconds,
    degraded: !ship || ship.degraded || lagSeconds === null || lagSeconds > threshold,
    files: null,
    ship,
  };
}
