import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ServerApi } from '../../rpa-agent/src/api.js';
import { PeerError, peerRequest } from '../../server/src/standby/client.js';
import { readReplicaState } from '../../server/src/standby/replica.js';
import { nodeDbFile, readSecret, replicaFile } from '../../server/src/standby/state.js';
import { prepareVerifyEnv, removeVerifyEnv, VERIFY_ENV_BANNER, VerifyEnvError } from '../../server/src/standby/verifyEnv.js';
import { cliPath, configDir, repoRoot, tempDir } from '../helpers/paths.js';
import { waitExit } from '../helpers/processes.js';
import {
  acceptMoveIn,
  clerkLogin,
  freePort,
  noticeInReplica,
  noticePresent,
  replicaPoint,
  StandbyPair,
  type AcceptedNotice,
  type NodeHandle,
} from '../helpers/standbyPair.js';

/**
 * One round of the standby soak with two real server processes: shipping, a notice on the replica
 * when its accept answers, the fence, the verification environment, kill -9, promotion, the split
 * brain guard and the rejoin.
 */
describe('standby: primary and standby as two processes', function () {
  this.timeout(120_000);
  const t = tempDir('madoguchi-standby-');
  let pair: StandbyPair;
  let a: NodeHandle;
  let b: NodeHandle;
  const acknowledged: AcceptedNotice[] = [];

  before(async () => {
    pair = await StandbyPair.create({
      dir: t.dir,
      people: 0,
      clerks: 2,
      jobs: 5,
      seed: 'standby-test',
      intervalSeconds: 2,
      syncTimeoutMs: 1000,
    });
    [a, b] = pair.nodes;
    await pair.pairUp(a, b);
    pair.start(a);
    pair.start(b);
    await pair.waitHealthy(a, 'primary');
    await pair.waitHealthy(b, 'standby');
  });
  after(async () => {
    await pair?.stopAll();
    t.remove();
  });

  it('ships a verified replica, and an accepted notice is on it when the accept answers', async () => {
    const first = await pair.waitReplicaAfter(b, 0, 30_000);
    expect(first.seq).to.be.greaterThan(0);
    const s = await clerkLogin(a.url, pair.clerks[0]!);
    const n = await acceptMoveIn(s, 'sync', pair.newAddress);
    acknowledged.push(n);
    // Synchronous shipping: no waiting here, the 303 came after the standby verified a state holding it.
    expect(noticeInReplica(replicaFile(b.dataDir), n)).to.equal(true);
    expect((await pair.replicaOnHealth(b))!.seq).to.be.greaterThan(first.seq);
  });

  it('refuses a damaged shipment and keeps its verified replica', async () => {
    const peer = { url: b.url.replace(/\/$/, ''), secret: readSecret(b.dataDir) };
    const held = readReplicaState(b.dataDir)!;
    const file = readFileSync(replicaFile(b.dataDir));
    // A manifest that claims a changed first chunk, then the old bytes for it: the chunk's SHA-256 is wrong.
    const manifest = {
      epoch: held.epoch,
      seq: held.seq + 1000,
      snapshotAt: new Date().toISOString(),
      size: held.size,
      sha256: held.sha256,
      chunkBytes: held.chunkBytes,
      chunks: [createHash('sha256').update('not this').digest('hex'), ...held.chunks.slice(1)],
      migrations: held.migrations,
    };
    const offer = await peerRequest<{ session: string; need: number[] }>(peer, {
      method: 'POST',
      path: '/api/v1/standby/db/offer',
      json: manifest,
      timeoutMs: 10_000,
    });
    expect(offer.need).to.deep.equal([0]);
    let refused: unknown;
    await peerRequest(peer, {
      method: 'POST',
      path: `/api/v1/standby/db/chunks/${offer.session}`,
      body: file.subarray(0, held.chunkBytes),
      timeoutMs: 10_000,
    }).catch((e: unknown) => (refused = e));
    expect(refused).to.be.instanceOf(PeerError);
    expect((refused as PeerError).code).to.equal('chunk.sha');
    const h = (await pair.health(b))!;
    expect((h.body.lastRefusal as { code: string }).code).to.equal('chunk.sha');
    // The replica installed is still one whole verified state (the primary may have shipped a newer one meanwhile).
    const now = readReplicaState(b.dataDir)!;
    expect(now.seq).to.be.lessThan(held.seq + 1000);
    expect(
      createHash('sha256')
        .update(readFileSync(replicaFile(b.dataDir)))
        .digest('hex'),
    ).to.equal(now.sha256);
  });

  it('refuses to promote while the primary answers /healthz', async () => {
    const r = await pair.cli(b, ['standby', 'promote', '--json']);
    expect(r.code, r.stdout + r.stderr).to.not.equal(0);
    expect(r.stdout + r.stderr).to.match(/[ぁ-んァ-ン一-龥]/);
    expect((await pair.health(b))?.body.role).to.equal('standby');
  });

  it('verify-env: a server on a copy of the replica, banner on every page, no RPA job, while shipping goes on', async () => {
    const port = await freePort();
    const dir = path.join(t.dir, 'verify');
    const env: ChildProcess = spawn(
      process.execPath,
      [cliPath, '--data-dir', b.dataDir, '--config', b.configDir, 'standby', 'verify-env', '--port', String(port), '--dir', dir],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    env.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    env.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const url = `http://127.0.0.1:${port}/`;
    try {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const ok = await fetch(`${url}healthz`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ok) break;
        if (env.exitCode !== null || Date.now() > deadline) throw new Error(`verify-env did not start:\n${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const copied = (await fetch(`${url}healthz`).then((r) => r.json())) as Record<string, unknown>;
      expect(copied.role ?? 'primary').to.not.equal('standby');
      // Staff log in with the accounts of the copy; every page carries the banner.
      const s = await clerkLogin(url, pair.clerks[1]!);
      const home = await (await fetch(url, { headers: { cookie: s.cookie } })).text();
      expect(home).to.contain(VERIFY_ENV_BANNER);
      const n0 = acknowledged[0]!;
      const noticePage = await (await fetch(`${url}visits/${n0.visitId}/notices/${n0.noticeId}`, { headers: { cookie: s.cookie } })).text();
      expect(noticePage).to.contain(VERIFY_ENV_BANNER);
      expect(await noticePresent(s, acknowledged[0]!)).to.equal(true);
      // The RPA is directed nowhere: the queued jobs of the copy are never leased.
      const api = new ServerApi(url, pair.agentToken, undefined, 5000);
      try {
        const claim = await api.claim();
        expect(claim.job).to.equal(null);
        expect(claim.retryAfter).to.be.greaterThan(0);
      } finally {
        api.close();
      }
      expect(existsSync(path.join(dir, 'data', 'standby'))).to.equal(false);
      // Shipping into the standby's replica goes on meanwhile; the copy keeps its moment.
      const before = (await pair.replicaOnHealth(b))!;
      const n = await acceptMoveIn(await clerkLogin(a.url, pair.clerks[0]!), 'during-verify', pair.newAddress);
      acknowledged.push(n);
      expect(noticeInReplica(replicaFile(b.dataDir), n)).to.equal(true);
      expect((await pair.replicaOnHealth(b))!.seq).to.be.greaterThan(before.seq);
      expect(await noticePresent(s, n)).to.equal(false);
    } finally {
      env.kill('SIGTERM');
      await waitExit(env, 10_000);
    }
    // A second verify-env replaces the copy, but what staff did in it (they read real residents)
    // is kept first: appended to the standby's own trail, which a promotion carries into production.
    await prepareVerifyEnv({ standbyDataDir: b.dataDir, dir });
    const own = new Database(nodeDbFile(b.dataDir), { readonly: true });
    try {
      const carried = own.prepare("SELECT action FROM audit_trail WHERE detail LIKE '%recordedInVerifyEnvAt%'").all();
      expect(carried.length, 'audit records of the verification environment kept').to.be.greaterThan(0);
    } finally {
      own.close();
    }
    // --remove: the folder goes, nothing else.
    expect(await removeVerifyEnv({ standbyDataDir: b.dataDir, dir })).to.include({ removed: true });
    expect(existsSync(dir)).to.equal(false);
  });

  it('after kill -9 of the primary: promote, start as primary, every acknowledged notice there', async () => {
    const s = await clerkLogin(a.url, pair.clerks[0]!);
    acknowledged.push(await acceptMoveIn(s, 'before-kill', pair.newAddress));
    const killAt = Date.now();
    await pair.kill(a);
    // The standby's own account of what it holds (status reads its files; stopping it changes nothing there).
    const [status] = await Promise.all([pair.status(b), pair.stop(b)]);
    const point = replicaPoint(status)!;
    expect((killAt - point.snapshotAt) / 1000).to.be.at.most(15);
    await pair.cliOk(b, ['standby', 'promote', '--json']);
    pair.start(b);
    await pair.waitHealthy(b, 'primary');
    const onB = await clerkLogin(b.url, pair.clerks[1]!);
    for (const n of acknowledged) expect(await noticePresent(onB, n), n.marker).to.equal(true);
    acknowledged.push(await acceptMoveIn(onB, 'after-promote', pair.newAddress));
  });

  it('the old primary refuses to start as primary (split brain), then rejoins as standby and catches up', async () => {
    const refused = await pair.cli(a, ['serve'], 30_000);
    expect(refused.timedOut, 'serve kept running').to.equal(false);
    expect(refused.code, refused.stdout + refused.stderr).to.not.equal(0);
    expect(refused.stderr + refused.stdout).to.match(/[ぁ-んァ-ン一-龥]/);
    expect(await pair.health(a)).to.equal(null);
    const promotedAt = Date.now();
    await pair.cliOk(a, ['standby', 'rejoin']);
    // Its own database is kept aside, never deleted.
    expect(readdirSync(path.join(a.dataDir, 'standby')).some((f) => /^diverged-.*\.sqlite$/.test(f))).to.equal(true);
    pair.start(a);
    await pair.waitHealthy(a, 'standby');
    await pair.waitReplicaAfter(a, promotedAt, 30_000);
    for (const n of acknowledged) expect(noticeInReplica(replicaFile(a.dataDir), n), n.marker).to.equal(true);
  });
});

describe('standby verify-env: refusals before anything is copied', () => {
  const t = tempDir('madoguchi-verify-env-');
  after(() => t.remove());

  it('refuses without a verified replica, a folder inside the standby data, or a foreign non-empty folder', async () => {
    const data = path.join(t.dir, 'data');
    mkdirSync(path.join(data, 'standby', 'files', 'config'), { recursive: true });
    const fail = (dir: string) =>
      prepareVerifyEnv({ standbyDataDir: data, dir }).then(
        () => null,
        (e: unknown) => e as Error,
      );
    // No mirrored configuration yet.
    expect((await fail(path.join(t.dir, 'v1')))?.message).to.contain('運用系の設定の写しがありません');
    cpSync(configDir, path.join(data, 'standby', 'files', 'config'), { recursive: true });
    expect((await fail(path.join(data, 'standby', 'x')))?.message).to.contain('待機系のデータフォルダーと重なります');
    expect((await fail(t.dir))?.message).to.contain('待機系のデータフォルダーと重なります');
    const foreign = path.join(t.dir, 'foreign');
    mkdirSync(foreign);
    writeFileSync(path.join(foreign, 'keep.txt'), 'x');
    expect((await fail(foreign))?.message).to.contain('空ではなく、検証環境のものでもありません');
    expect(readFileSync(path.join(foreign, 'keep.txt'), 'utf8')).to.equal('x');
    // No replica yet: nothing to copy.
    const e = await fail(path.join(t.dir, 'v2'));
    expect(e).to.be.instanceOf(VerifyEnvError);
    expect(e?.message).to.contain('検証済みの複製がありません');
  });
});
