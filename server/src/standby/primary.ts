import path from 'node:path';
import type { Knex } from 'knex';
import type { AppConfig } from '../config/appConfig.js';
import { anchorFilePath } from '../audit/anchorFile.js';
import type { Logger } from '../ops/logger.js';
import { EVIDENCE_DIR } from '../rpa/evidence.js';
import { PeerError, peerOf, peerRequest } from './client.js';
import { StandbyNode } from './node.js';
import { Shipper } from './shipper.js';
import { existsSync, readFileSync } from 'node:fs';
import { failedOverFile, readSecret, type StandbyState } from './state.js';

/** A primary that finds its peer promoted: it must not serve (two primaries = two diverging 住民記録). */
export class FailedOverError extends Error {}

export const FAILED_OVER_MESSAGE = 'この系は待機系に切り替えられています。madoguchi standby rejoin を実行してください';

/**
 * Split-brain guard, at the start of a primary: asks the peer's status. A peer that is primary
 * with an epoch at least ours, or any peer with a higher epoch, means this machine was failed
 * over: refuse to start. A peer that does not answer is the normal case of a standby being down.
 */
export async function refuseIfFailedOver(
  state: StandbyState,
  secret: Buffer,
  logger: Logger,
  timeoutMs = 3000,
  dataDir?: string,
): Promise<void> {
  if (dataDir && existsSync(failedOverFile(dataDir))) {
    let why = '';
    try {
      why = (JSON.parse(readFileSync(failedOverFile(dataDir), 'utf8')) as { at?: string }).at ?? '';
    } catch {
      why = '';
    }
    throw new FailedOverError(
      `${FAILED_OVER_MESSAGE} (${why ? `${why} に` : ''}待機系がこの系より新しい運用系になっていることを確かめています)。`,
    );
  }
  try {
    const st = await peerRequest<{ role: string; epoch: number }>(peerOf(state, secret), {
      method: 'GET',
      path: '/api/v1/standby/status',
      timeoutMs,
    });
    if ((st.role === 'primary' && st.epoch >= state.epoch) || st.epoch > state.epoch)
      throw new FailedOverError(
        `${FAILED_OVER_MESSAGE} (相手 ${state.peerUrl} は${st.role === 'primary' ? '運用系' : '待機系'}・世代 ${st.epoch}、この系は世代 ${state.epoch})。`,
      );
  } catch (e) {
    if (e instanceof FailedOverError) throw e;
    logger.warn('standby peer status unknown at start', { peer: state.peerUrl, error: e instanceof PeerError ? e.message : String(e) });
  }
}

/** The primary's standby node and shipper (SQLite only; SQL Server has its own replication). */
export async function startPrimaryNode(o: {
  state: StandbyState;
  config: AppConfig;
  configDir: string;
  dataDir: string;
  knex: Knex;
  logger: Logger;
  version: string;
}): Promise<StandbyNode> {
  const secret = readSecret(o.dataDir);
  await refuseIfFailedOver(o.state, secret, o.logger, 3000, o.dataDir);
  const node = new StandbyNode(o.dataDir, o.state, secret, o.knex, o.logger, o.version);
  if (o.config.database.client !== 'sqlite') {
    o.logger.warn('standby shipping is for SQLite only: not shipping', { database: o.config.database.client });
    return node;
  }
  node.shipper = new Shipper({
    dataDir: o.dataDir,
    dbFile: path.resolve(o.dataDir, o.config.database.sqlite.file),
    epoch: o.state.epoch,
    peer: peerOf(o.state, secret),
    intervalMs: o.config.standby.intervalSeconds * 1000,
    filesIntervalMs: o.config.standby.filesIntervalSeconds * 1000,
    syncTimeoutMs: o.config.standby.syncTimeoutMs,
    sources: { config: o.configDir, evidence: path.join(o.dataDir, EVIDENCE_DIR), anchorFile: anchorFilePath(o.config, o.dataDir) },
    logger: o.logger,
    onFailedOver: (m) => node.onFailedOver?.(m),
  });
  return node;
}
