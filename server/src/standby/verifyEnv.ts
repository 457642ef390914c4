import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { loadAppConfig, MUNICIPALITY_FILE } from '../config/appConfig.js';
import { readReplicaState, verifyReplicaFile, type ReplicaState } from './replica.js';
import { hashFile } from './snapshot.js';
import { migrateLatest, sqliteKnex } from '../db/connect.js';
import { carryAuditRows } from './auditCarry.js';
import { mirrorDir, nodeDbFile, replicaFile, replicaStateFile } from './state.js';

/**
 * The verification environment: a copy of the standby's latest verified replica and of the
 * configuration mirrored with it, in a scratch folder of its own, for trying a core-system upgrade
 * or a new version on real data. The standby's own files are only read, so shipping into the
 * replica goes on while it runs. The server on the copy is started without the linkage watcher,
 * schedules and backups (`watch: false`), without a standby state file (no shipping), and with
 * every core system's service hours closed (no RPA job is ever leased from the copy: a job entered
 * twice into the real core system would be a real 二重登録).
 */

export const VERIFY_ENV_BANNER = '検証環境です (本番のデータの写し。ここでの変更は本番に反映されません)';
/** Marks a folder made by verify-env, so that a later run may replace it (and nothing else). */
export const VERIFY_ENV_MARKER = '.madoguchi-verify-env.json';

export class VerifyEnvError extends Error {}

export interface PreparedVerifyEnv {
  dir: string;
  dataDir: string;
  configDir: string;
  /** The verified state copied (seq, snapshot time on the primary). */
  replica: ReplicaState;
}

/** A closed window: `from` = `to` is never open (rpa/jobs.ts secondsUntilOpen), so claims answer 204. */
const CLOSED = { from: '00:00', to: '00:00' };

/** The folder for the copy: empty, absent, or one made by an earlier verify-env; never the standby's own data. */
async function prepareDir(dir: string, standbyDataDir: string): Promise<void> {
  const abs = path.resolve(dir);
  const data = path.resolve(standbyDataDir);
  if (
    abs === data ||
    data.startsWith(`${abs}${path.sep}`) ||
    abs === path.join(data, 'standby') ||
    abs.startsWith(`${path.join(data, 'standby')}${path.sep}`)
  )
    throw new VerifyEnvError(`検証環境のフォルダー ${abs} は待機系のデータフォルダーと重なります。別のフォルダーを指定してください。`);
  if (existsSync(abs) && readdirSync(abs).length) {
    if (!existsSync(path.join(abs, VERIFY_ENV_MARKER)))
      throw new VerifyEnvError(
        `フォルダー ${abs} は空ではなく、検証環境のものでもありません。空のフォルダーか新しいフォルダーを指定してください。`,
      );
    // Staff read real personal data there: what they did is kept before the copy goes.
    await carryAudit(abs, standbyDataDir);
    rmSync(abs, { recursive: true, force: true });
  }
  mkdirSync(abs, { recursive: true });
}

/**
 * Copies the replica as installed at one moment: the file is renamed into place before its state
 * file is written, so a copy counts only when its SHA-256 is the one the state names.
 */
function copyVerifiedReplica(dataDir: string, to: string): ReplicaState {
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = readReplicaState(dataDir);
    if (!before || !existsSync(replicaFile(dataDir)))
      throw new VerifyEnvError(
        `待機系に検証済みの複製がありません (${replicaStateFile(dataDir)})。待機系として動かして、運用系から一度受け取ってから実行してください。`,
      );
    copyFileSync(replicaFile(dataDir), to);
    const sha = hashFile(to).sha256;
    const after = readReplicaState(dataDir);
    const state = [after, before].find((s) => s?.sha256 === sha);
    if (state) return state;
  }
  throw new VerifyEnvError('複製が受信のたびに変わり、検証済みの状態を写せませんでした。少し待ってからもう一度実行してください。');
}

/**
 * Makes the copy in `dir`: `data/` with the replica as the database, `config/` from the mirrored
 * configuration with the RPA closed and the HTTP redirect port dropped (it would take port 80).
 */
export async function prepareVerifyEnv(opts: { standbyDataDir: string; dir: string }): Promise<PreparedVerifyEnv> {
  const mirroredConfig = path.join(mirrorDir(opts.standbyDataDir), 'config');
  if (!existsSync(path.join(mirroredConfig, MUNICIPALITY_FILE)))
    throw new VerifyEnvError(`待機系に運用系の設定の写しがありません (${mirroredConfig})。運用系からの受信を待ってから実行してください。`);
  await prepareDir(opts.dir, opts.standbyDataDir);
  const dir = path.resolve(opts.dir);
  const configDir = path.join(dir, 'config');
  const dataDir = path.join(dir, 'data');
  cpSync(mirroredConfig, configDir, { recursive: true });
  mkdirSync(dataDir, { recursive: true });

  const file = path.join(configDir, MUNICIPALITY_FILE);
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.getIn(['database', 'client']) === 'mssql')
    throw new VerifyEnvError(
      'SQL Server のデータベースは待機系に複製されません。検証環境は SQL Server 側で作ってください (運用手引き「SQL Server の場合」)。',
    );
  doc.setIn(['rpa', 'serviceHours'], doc.createNode(CLOSED));
  const systems = doc.getIn(['rpa', 'systems']) as { items?: { key: { value?: unknown } | string }[] } | undefined;
  for (const item of systems?.items ?? []) {
    const name = typeof item.key === 'string' ? item.key : String(item.key.value);
    doc.setIn(['rpa', 'systems', name, 'serviceHours'], doc.createNode(CLOSED));
  }
  if (doc.hasIn(['http', 'redirectPort'])) doc.deleteIn(['http', 'redirectPort']);
  writeFileSync(file, `# verify-env: 写しの設定 (RPA の入力時間を閉じ、HTTP の転送ポートを外しています)\n${doc.toString()}`);
  const config = loadAppConfig(configDir);

  const dbFile = path.resolve(dataDir, config.database.sqlite.file);
  mkdirSync(path.dirname(dbFile), { recursive: true });
  const replica = copyVerifiedReplica(opts.standbyDataDir, dbFile);
  // The same checks as an installed shipment (quick_check, migrations this version knows).
  try {
    await verifyReplicaFile(dbFile, replica);
  } catch (e) {
    throw new VerifyEnvError(`複製の写しを検査できません: ${(e as Error).message}`);
  }
  writeFileSync(
    path.join(dir, VERIFY_ENV_MARKER),
    `${JSON.stringify({ createdAt: new Date().toISOString(), from: path.resolve(opts.standbyDataDir), seq: replica.seq, snapshotAt: replica.snapshotAt, auditSeq: await lastAuditSeq(dbFile) }, null, 2)}\n`,
  );
  return { dir, dataDir, configDir, replica };
}

async function lastAuditSeq(dbFile: string): Promise<number> {
  const knex = sqliteKnex(dbFile);
  try {
    const row = (await knex('audit_trail').max({ seq: 'seq' }).first()) as { seq: number | null } | undefined;
    return Number(row?.seq ?? 0);
  } finally {
    await knex.destroy();
  }
}

/**
 * The audit records written in a verification environment (staff logged in with their own
 * accounts and read real residents there) are appended to the standby's own trail
 * (`standby/node.sqlite`, carried into the production trail at a promotion) before the folder is
 * removed. When they cannot be read or kept, the folder stays and verify-env refuses (fail closed).
 */
async function carryAudit(envDir: string, standbyDataDir: string): Promise<number> {
  try {
    const marker = JSON.parse(readFileSync(path.join(envDir, VERIFY_ENV_MARKER), 'utf8')) as { auditSeq?: number };
    const config = loadAppConfig(path.join(envDir, 'config'));
    const dbFile = path.resolve(envDir, 'data', config.database.sqlite.file);
    if (!existsSync(dbFile)) return 0;
    const env = sqliteKnex(dbFile);
    let rows: Record<string, unknown>[];
    try {
      rows = (await env('audit_trail')
        .where('seq', '>', marker.auditSeq ?? 0)
        .orderBy('seq')
        .select('*')) as Record<string, unknown>[];
    } finally {
      await env.destroy();
    }
    if (!rows.length) return 0;
    const own = sqliteKnex(nodeDbFile(standbyDataDir));
    try {
      await migrateLatest(own);
      return await own.transaction((trx) => carryAuditRows(trx, rows, 'recordedInVerifyEnvAt'));
    } finally {
      await own.destroy();
    }
  } catch (e) {
    throw new VerifyEnvError(
      `前の検証環境 (${envDir}) の監査記録を待機系の記録に移せないため、消しません: ${(e as Error).message}。別のフォルダーを指定してください。`,
    );
  }
}

/**
 * Removes a verification environment (`verify-env --remove`): its audit records go to the
 * standby's trail first. Only a folder made by verify-env is removed.
 */
export async function removeVerifyEnv(opts: { standbyDataDir: string; dir: string }): Promise<{ removed: boolean; auditRecords: number }> {
  const abs = path.resolve(opts.dir);
  if (!existsSync(abs)) return { removed: false, auditRecords: 0 };
  if (!existsSync(path.join(abs, VERIFY_ENV_MARKER)))
    throw new VerifyEnvError(`フォルダー ${abs} は検証環境のものではありません。消しません。`);
  const auditRecords = await carryAudit(abs, opts.standbyDataDir);
  rmSync(abs, { recursive: true, force: true });
  return { removed: true, auditRecords };
}
