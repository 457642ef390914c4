import {
  chmodSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

/**
 * The standby pairing of this data directory. It lives in the data directory, not in the shipped
 * YAML, because the configuration is shipped to the standby and the roles swap at a failover.
 * No state file: this node is a primary without a standby (the behaviour before standby existed).
 */
export type StandbyRole = 'primary' | 'standby';

export interface StandbyState {
  role: StandbyRole;
  /** Raised by each promotion; a node refuses shipments (and a primary refuses to start) against a higher one. */
  epoch: number;
  /** The other machine's base URL (http[s]://host:port). */
  peerUrl: string;
  /** A PEM file of the CA that signed the peer's certificate (https peers with the internal CA). */
  peerCa?: string;
  updatedAt: string;
}

export const standbyDir = (dataDir: string): string => path.join(dataDir, 'standby');
export const stateFile = (dataDir: string): string => path.join(standbyDir(dataDir), 'state.json');
export const secretFile = (dataDir: string): string => path.join(standbyDir(dataDir), 'secret');
export const replicaFile = (dataDir: string): string => path.join(standbyDir(dataDir), 'replica.sqlite');
export const replicaStateFile = (dataDir: string): string => path.join(standbyDir(dataDir), 'replica.json');
export const mirrorDir = (dataDir: string): string => path.join(standbyDir(dataDir), 'files');
export const shipStateFile = (dataDir: string): string => path.join(standbyDir(dataDir), 'ship.json');
export const nodeDbFile = (dataDir: string): string => path.join(standbyDir(dataDir), 'node.sqlite');

/** Shared secrets shorter than this are refused (HMAC-SHA256 keys: 32 bytes of entropy). */
export const MIN_SECRET_BYTES = 32;

export class StandbyStateError extends Error {}

/** Writes a file under a temporary name, fsyncs, then renames: a reader never sees half a file. */
export function writeFileAtomic(file: string, data: string | Buffer, mode?: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data, mode !== undefined ? { mode } : {});
  if (mode !== undefined) chmodSync(tmp, mode);
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

/** fsync of a directory, so that a rename survives a power cut. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not supported on every file system; the rename itself is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The state, or null when this data directory has no standby pairing. Damaged → throws (fail closed). */
export function readStandbyState(dataDir: string): StandbyState | null {
  const file = stateFile(dataDir);
  if (!existsSync(file)) return null;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new StandbyStateError(`待機系の状態ファイル ${file} を読めません (${(e as Error).message})。`);
  }
  const s = v as Partial<StandbyState>;
  if (
    (s.role !== 'primary' && s.role !== 'standby') ||
    !Number.isInteger(s.epoch) ||
    (s.epoch as number) < 0 ||
    typeof s.peerUrl !== 'string' ||
    peerUrlProblem(s.peerUrl) !== null ||
    (s.peerCa !== undefined && typeof s.peerCa !== 'string')
  )
    throw new StandbyStateError(`待機系の状態ファイル ${file} の内容が正しくありません (role・epoch・peerUrl)。`);
  return {
    role: s.role,
    epoch: s.epoch!,
    peerUrl: s.peerUrl.replace(/\/+$/, ''),
    ...(s.peerCa ? { peerCa: s.peerCa } : {}),
    updatedAt: String(s.updatedAt ?? ''),
  };
}

export function writeStandbyState(dataDir: string, s: Omit<StandbyState, 'updatedAt'>): StandbyState {
  const full: StandbyState = { ...s, updatedAt: new Date().toISOString() };
  writeFileAtomic(stateFile(dataDir), `${JSON.stringify(full, null, 2)}\n`);
  return full;
}

/** The shared secret; refuses a missing, short or group/world-readable file. */
export function readSecret(dataDir: string): Buffer {
  const file = secretFile(dataDir);
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new StandbyStateError(`共有の秘密のファイル ${file} がありません。madoguchi standby init で設定してください。`);
  }
  if ((st.mode & 0o077) !== 0)
    throw new StandbyStateError(`共有の秘密のファイル ${file} がほかの利用者から読めます。chmod 600 にしてください。`);
  const secret = readFileSync(file);
  const trimmed = Buffer.from(secret.toString('utf8').trim(), 'utf8');
  if (trimmed.length < MIN_SECRET_BYTES) throw new StandbyStateError(`共有の秘密が短すぎます (${MIN_SECRET_BYTES} バイト以上)。`);
  return trimmed;
}

/**
 * Written by a primary's shipper when its standby answers (signed) that it was promoted past it:
 * from then on this node refuses to start as primary, even when the peer cannot be reached at that
 * moment, until `madoguchi standby rejoin` removes it (a restart must not forget a failover).
 */
export const failedOverFile = (dataDir: string): string => path.join(standbyDir(dataDir), 'failed-over.json');

/**
 * Why a peer URL cannot be used, or null. The database shipped holds every resident (My Numbers,
 * protected addresses) and the configuration holds the TLS key, so plain HTTP is refused except on
 * the machine's own loopback (tests, a drill on one host): the HMAC proves who sent, not secrecy.
 */
export function peerUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `URL として読めません (${url})`;
  }
  if (u.protocol === 'https:') return null;
  if (u.protocol !== 'http:') return `https:// で始まる URL にしてください (${url})`;
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname) || /^127\./.test(u.hostname);
  return loopback
    ? null
    : `住民のデータを送るため、相手の URL は https:// にしてください (http:// は同じ機械の中 (127.0.0.1) だけ): ${url}`;
}
