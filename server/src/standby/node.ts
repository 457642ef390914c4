import type { Knex } from 'knex';
import { appendAudit } from '../audit/trail.js';
import type { Logger } from '../ops/logger.js';
import { FileMirror, readFilesState, type FilesState } from './files.js';
import { ReplicaReceiver, type ReplicaState } from './replica.js';
import type { Shipper, ShipState } from './shipper.js';
import { readShipState } from './shipper.js';
import { readStandbyState, writeStandbyState, type StandbyState } from './state.js';

/** What `GET /api/v1/standby/status` answers (to the peer only: signed). */
export interface NodeStatus {
  role: 'primary' | 'standby';
  epoch: number;
  version: string;
  replica: Pick<ReplicaState, 'epoch' | 'seq' | 'snapshotAt' | 'sha256' | 'verifiedAt'> | null;
}

/**
 * This machine's standby pairing while the server runs: the state, the secret, and either the
 * receiving side (standby) or the shipper (primary). Both sides serve the status route, so that
 * a starting primary can ask its peer, and a shipment to a primary is refused.
 */
export class StandbyNode {
  readonly receiver: ReplicaReceiver;
  readonly mirror: FileMirror;
  shipper: Shipper | null = null;
  /** Set by `madoguchi serve`: what to do when the shipper finds this primary failed over (stop). */
  onFailedOver: ((message: string) => void) | null = null;

  constructor(
    readonly dataDir: string,
    public state: StandbyState,
    readonly secret: Buffer,
    /** Where refusals are recorded: the live database on a primary, the node's own on a standby. */
    readonly audit: Knex,
    readonly logger: Logger,
    readonly version: string,
  ) {
    this.receiver = new ReplicaReceiver(dataDir);
    this.mirror = new FileMirror(dataDir);
  }

  status(): NodeStatus {
    const r = this.state.role === 'standby' ? this.receiver.current() : null;
    return {
      role: this.state.role,
      epoch: this.state.epoch,
      version: this.version,
      replica: r && { epoch: r.epoch, seq: r.seq, snapshotAt: r.snapshotAt, sha256: r.sha256, verifiedAt: r.verifiedAt },
    };
  }

  /** A shipment from a primary with a higher epoch (after a failover elsewhere): adopt it. */
  adoptEpoch(epoch: number): void {
    if (epoch <= this.state.epoch) return;
    const fresh = readStandbyState(this.dataDir) ?? this.state;
    this.state = writeStandbyState(this.dataDir, { ...fresh, epoch });
  }

  private lastRefusal = new Map<string, number>();

  /** Records a refusal (log and audit trail); the same refusal repeated by a shipping loop is recorded once a minute. */
  async refuse(action: string, clientAddress: string | null, detail: Record<string, unknown>): Promise<void> {
    const key = `${action}:${String(detail.code ?? detail.reason ?? '')}:${clientAddress ?? ''}`;
    const now = Date.now();
    if (now - (this.lastRefusal.get(key) ?? 0) < 60_000) return;
    // Bounded: unsigned requests from many addresses must not grow it without end.
    if (this.lastRefusal.size >= 1000) this.lastRefusal.clear();
    this.lastRefusal.set(key, now);
    this.logger.warn('standby request refused', { action, clientAddress, ...detail });
    await this.audit
      .transaction((trx) =>
        appendAudit(trx, { staffLogin: 'standby-peer', clientAddress, action, targetKind: 'standby', result: 'denied', detail }),
      )
      .catch((e: unknown) => this.logger.error('standby refusal not audited', { error: e }));
  }

  files(): FilesState | null {
    return readFilesState(this.dataDir);
  }

  ship(): ShipState | null {
    return this.shipper?.state ?? readShipState(this.dataDir);
  }
}
