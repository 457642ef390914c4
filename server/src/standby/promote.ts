import { accessSync, constants, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { anchorFilePath } from '../audit/anchorFile.js';
import { appendAudit } from '../audit/trail.js';
import { carryAuditRows } from './auditCarry.js';
import { loadAppConfig } from '../config/appConfig.js';
import { migrateLatest, sqliteKnex } from '../db/connect.js';
import { runningServerPid } from '../ops/pidFile.js';
import { EVIDENCE_DIR } from '../rpa/evidence.js';
import { answers, PeerError, peerOf, peerRequest } from './client.js';
import type { NodeStatus } from './node.js';
import { readReplicaState, reconcileReplica, verifyReplicaFile, ShipmentRefused } from './replica.js';
import { readFilesState } from './files.js';
import {
  fsyncDir,
  failedOverFile,
  mirrorDir,
  nodeDbFile,
  readSecret,
  readStandbyState,
  replicaFile,
  replicaStateFile,
  shipStateFile,
  standbyDir,
  writeStandbyState,
} from './state.js';

/** A promotion or rejoin refused; the message says why and what to do (Japanese). */
export class StandbyRefusal extends Error {}

const stamp = (d = new Date()) => d.toISOString().replace(/[-:]/g, '').replace(/\..*$/, 'Z');

/** SIGTERM to the running server of this data directory, then waits for it to end. */
async function stopServer(dataDir: string, waitMs: number): Promise<number | null> {
  const pid = runningServerPid(dataDir);
  if (pid === null) return null;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return null; // ended meanwhile
  }
  const until = Date.now() + waitMs;
  while (Date.now() < until) {
    try {
      process.kill(pid, 0);
    } catch {
      return pid;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new StandbyRefusal(
    `待機系のサーバー (pid ${pid}) が ${Math.round(waitMs / 1000)} 秒以内に止まりません。止めてからやり直してください。`,
  );
}

/** Removes what is in `dest` but not in `src` (the mirror is the configuration as the primary had it). */
function removeExtras(src: string, dest: string): void {
  for (const d of readdirSync(dest, { withFileTypes: true })) {
    const there = path.join(src, d.name);
    if (!existsSync(there)) rmSync(path.join(dest, d.name), { recursive: true, force: true });
    else if (d.isDirectory()) removeExtras(there, path.join(dest, d.name));
  }
}

/** Moves a SQLite file and its -wal/-shm companions (a WAL database without its -wal loses commits). */
function moveDatabase(from: string, to: string): boolean {
  if (!existsSync(from)) return false;
  mkdirSync(path.dirname(to), { recursive: true });
  for (const suffix of ['-wal', '-shm']) if (existsSync(from + suffix)) renameSync(from + suffix, to + suffix);
  renameSync(from, to);
  return true;
}

export interface PromoteOptions {
  dataDir: string;
  configDir: string;
  force?: boolean;
  reason?: string;
  /** Who runs it (the OS user, `cli:<user>`). */
  actor: string;
  fenceTimeoutMs?: number;
  stopWaitMs?: number;
}

export interface PromoteResult {
  promoted: true;
  epoch: number;
  seq: number;
  snapshotAt: string;
  /** now − the replica's snapshot time: the data written on the old primary in that span is not here. */
  lagSeconds: number;
  forced: boolean;
  /** What the fencing check saw (`ECONNREFUSED`, `HTTP 200`, …). */
  fencing: string;
  stoppedPid: number | null;
  dbFile: string;
  previousDb: string | null;
  configBackup: string | null;
  carriedAuditRecords: number;
  ms: number;
}

/**
 * `madoguchi standby promote`: makes this standby the primary. Fencing first (the old primary
 * must not answer, unless forced with a reason), then the replica is verified again, the standby
 * server stopped, the replica and the mirrored files installed, the promotion audited in the
 * promoted database, and last the state written (role primary, epoch + 1): until then a failure
 * leaves this node a standby, and the command can be run again.
 */
export async function promote(o: PromoteOptions): Promise<PromoteResult> {
  const t0 = Date.now();
  const state = readStandbyState(o.dataDir);
  if (!state) throw new StandbyRefusal('この系は待機系として設定されていません (state.json がありません)。');
  if (state.role !== 'standby') throw new StandbyRefusal(`この系はすでに運用系です (世代 ${state.epoch})。`);
  if (o.force && !o.reason?.trim()) throw new StandbyRefusal('--force には --reason "理由" が必要です (監査に記録します)。');
  const fence = await answers(state.peerUrl, o.fenceTimeoutMs ?? 3000);
  if (fence.answers && !o.force)
    throw new StandbyRefusal(
      `運用系 (${state.peerUrl}) がまだ応答しています (${fence.detail})。二重の運用系を防ぐため切り替えません。運用系のまどぐちを止める (systemctl stop madoguchi) か、運用系のサーバーの電源が切れていることを目で確かめてから、もう一度実行してください。電源が切れていて応答がないときは、確かめた内容を --force --reason "理由" に書いて切り替えます (監査に記録します)。`,
    );
  const verified = async () => {
    reconcileReplica(o.dataDir);
    const r = readReplicaState(o.dataDir);
    if (!r || !existsSync(replicaFile(o.dataDir)))
      throw new StandbyRefusal('検証済みの複製がありません。運用系からの送信が一度も届いていないため、切り替えられません。');
    try {
      await verifyReplicaFile(replicaFile(o.dataDir), r);
    } catch (e) {
      throw new StandbyRefusal(
        `複製の再検証に失敗しました: ${(e as Error).message} 切り替えません (バックアップからの復元を検討してください)。`,
      );
    }
    return r;
  };
  let replica = await verified();
  const config = loadAppConfig(o.configDir);
  if (config.database.client !== 'sqlite')
    throw new StandbyRefusal('この系の設定のデータベースが SQLite ではありません。SQL Server の切り替えは SQL Server 側で行います。');
  // Everything that could refuse is checked before the standby server is stopped: a promotion that
  // fails half-way must not leave neither node running.
  const shippedConfigDir = path.join(mirrorDir(o.dataDir), 'config');
  if (existsSync(path.join(shippedConfigDir, 'municipality.yaml'))) {
    if (!readFilesState(o.dataDir) && !o.force)
      throw new StandbyRefusal(
        '設定フォルダー・証跡の写しがまだ一度も揃っていません (standby/files.json がありません)。運用系が動いているなら 1 分ほど待ってから、運用系が壊れているなら --force --reason "理由" で切り替えてください (設定は切替の後に確かめます)。',
      );
    const unwritable = [o.configDir, ...listFiles(o.configDir)].filter((f) => !writable(f));
    if (unwritable.length)
      throw new StandbyRefusal(
        `設定フォルダーに書き込めません: ${unwritable.slice(0, 3).join('、')}${unwritable.length > 3 ? ` ほか ${unwritable.length - 3} 件` : ''}。運用系から届いた設定をここへ入れるため、切替の前に root で所有者を変えてください (sudo chown -R madoguchi: ${o.configDir})。何も止めていません。`,
      );
  }
  const stoppedPid = await stopServer(o.dataDir, o.stopWaitMs ?? 30_000);
  // The server may have installed a newer state before it stopped: that one is verified and promoted.
  if (readReplicaState(o.dataDir)?.seq !== replica.seq) replica = await verified();
  const ts = stamp();
  const dir = standbyDir(o.dataDir);

  // Configuration: the shipped one replaces this node's, which is kept aside.
  const mirror = mirrorDir(o.dataDir);
  let configBackup: string | null = null;
  const shippedConfig = path.join(mirror, 'config');
  if (existsSync(path.join(shippedConfig, 'municipality.yaml'))) {
    configBackup = path.join(dir, `config-before-promote-${ts}`);
    if (existsSync(o.configDir)) cpSync(o.configDir, configBackup, { recursive: true });
    mkdirSync(o.configDir, { recursive: true });
    // Copied over first, extras removed after: a failure half-way never leaves an empty folder.
    cpSync(shippedConfig, o.configDir, { recursive: true, force: true, preserveTimestamps: true });
    removeExtras(shippedConfig, o.configDir);
  }
  const live = loadAppConfig(o.configDir);
  // RPA evidence and the audit anchor file.
  const evidence = path.join(mirror, 'evidence');
  if (existsSync(evidence))
    cpSync(evidence, path.join(o.dataDir, EVIDENCE_DIR), { recursive: true, force: true, preserveTimestamps: true });
  const anchorDir = path.join(mirror, 'anchor');
  if (existsSync(anchorDir)) {
    const target = anchorFilePath(live, o.dataDir);
    const shipped = readdirSync(anchorDir).find((n) => n === path.basename(target)) ?? readdirSync(anchorDir)[0];
    if (shipped) {
      if (existsSync(target)) copyFileSync(target, path.join(dir, `anchor-before-promote-${ts}.log`));
      mkdirSync(path.dirname(target), { recursive: true });
      copyFileSync(path.join(anchorDir, shipped), target);
    }
  }
  // The database: the replica becomes the live file; a file already there is kept aside.
  const dbFile = path.resolve(o.dataDir, live.database.sqlite.file);
  const previous = path.join(dir, `before-promote-${ts}.sqlite`);
  const previousDb = moveDatabase(dbFile, previous) ? previous : null;
  mkdirSync(path.dirname(dbFile), { recursive: true });
  copyFileSync(replicaFile(o.dataDir), `${dbFile}.promote.tmp`);
  renameSync(`${dbFile}.promote.tmp`, dbFile);
  fsyncDir(path.dirname(dbFile));

  const epoch = Math.max(state.epoch, replica.epoch) + 1;
  const lagSeconds = Math.round((Date.now() - Date.parse(replica.snapshotAt)) / 100) / 10;
  const knex = sqliteKnex(dbFile);
  let carried = 0;
  try {
    await migrateLatest(knex);
    // This node's refusals while standby join the promoted trail (the node's file is kept).
    const nodeDb = nodeDbFile(o.dataDir);
    const earlier: Record<string, unknown>[] = [];
    if (existsSync(nodeDb)) {
      const own = sqliteKnex(nodeDb);
      try {
        earlier.push(...((await own('audit_trail').orderBy('seq').select('*')) as Record<string, unknown>[]));
      } catch {
        // no trail there
      } finally {
        await own.destroy();
      }
    }
    await knex.transaction(async (trx) => {
      carried = await carryAuditRows(trx, earlier, 'recordedOnStandbyAt');
      await appendAudit(trx, {
        staffLogin: o.actor,
        action: 'standby.promote',
        targetKind: 'standby',
        result: 'success',
        detail: {
          forced: Boolean(o.force),
          ...(o.force ? { reason: o.reason!.trim().slice(0, 500) } : {}),
          oldPrimary: state.peerUrl,
          oldPrimaryAnswered: fence.answers,
          fencing: fence.detail,
          epochFrom: state.epoch,
          epochTo: epoch,
          seq: replica.seq,
          snapshotAt: replica.snapshotAt,
          lagSeconds,
        },
      });
    });
  } finally {
    await knex.destroy();
  }
  if (existsSync(nodeDbFile(o.dataDir))) moveDatabase(nodeDbFile(o.dataDir), path.join(dir, `node-before-promote-${ts}.sqlite`));
  rmSync(shipStateFile(o.dataDir), { force: true });
  writeStandbyState(o.dataDir, { role: 'primary', epoch, peerUrl: state.peerUrl, ...(state.peerCa ? { peerCa: state.peerCa } : {}) });
  return {
    promoted: true,
    epoch,
    seq: replica.seq,
    snapshotAt: replica.snapshotAt,
    lagSeconds,
    forced: Boolean(o.force),
    fencing: fence.detail,
    stoppedPid,
    dbFile,
    previousDb,
    configBackup,
    carriedAuditRecords: carried,
    ms: Date.now() - t0,
  };
}

export interface RejoinResult {
  rejoined: true;
  epoch: number;
  peerUrl: string;
  /** The old primary's database, kept: writes after the failover are not merged. */
  divergedDb: string | null;
}

/**
 * `madoguchi standby rejoin`, on the old primary with its server stopped: its database is moved
 * aside (never deleted, never merged) and it becomes the standby of its promoted peer.
 */
export async function rejoin(o: { dataDir: string; configDir: string; timeoutMs?: number }): Promise<RejoinResult> {
  const state = readStandbyState(o.dataDir);
  if (!state) throw new StandbyRefusal('この系は待機系と対になっていません (state.json がありません)。');
  if (state.role !== 'primary') throw new StandbyRefusal('この系はすでに待機系です。');
  const pid = runningServerPid(o.dataDir);
  if (pid !== null)
    throw new StandbyRefusal(`この系のサーバー (pid ${pid}) が動いています。止めてから実行してください (systemctl stop madoguchi)。`);
  let peer: NodeStatus;
  try {
    peer = await peerRequest<NodeStatus>(peerOf(state, readSecret(o.dataDir)), {
      method: 'GET',
      path: '/api/v1/standby/status',
      timeoutMs: o.timeoutMs ?? 5000,
    });
  } catch (e) {
    throw new StandbyRefusal(
      `相手 (${state.peerUrl}) の状態を確かめられません: ${e instanceof PeerError ? e.message : String(e)}。相手が運用系として動いているときに実行してください。`,
    );
  }
  if (peer.role !== 'primary' || peer.epoch < state.epoch)
    throw new StandbyRefusal(
      `相手 (${state.peerUrl}) は切り替え後の運用系ではありません (${peer.role}・世代 ${peer.epoch}、この系は世代 ${state.epoch})。`,
    );
  const config = loadAppConfig(o.configDir);
  const ts = stamp();
  const dbFile = path.resolve(o.dataDir, config.database.sqlite.file);
  const diverged = path.join(standbyDir(o.dataDir), `diverged-${ts}.sqlite`);
  const divergedDb = config.database.client === 'sqlite' && moveDatabase(dbFile, diverged) ? diverged : null;
  for (const f of [replicaFile(o.dataDir), replicaStateFile(o.dataDir), shipStateFile(o.dataDir), failedOverFile(o.dataDir)])
    rmSync(f, { force: true });
  writeStandbyState(o.dataDir, {
    role: 'standby',
    epoch: peer.epoch,
    peerUrl: state.peerUrl,
    ...(state.peerCa ? { peerCa: state.peerCa } : {}),
  });
  return { rejoined: true, epoch: peer.epoch, peerUrl: state.peerUrl, divergedDb };
}

export { ShipmentRefused };

/** Every file under `dir` (none when it does not exist). */
function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

function writable(file: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
