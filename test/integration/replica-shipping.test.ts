import { expect } from 'chai';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { migrateLatest, sqliteKnex } from '../../server/src/db/connect.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { onlineBackup } from '../../server/src/ops/backup/sqlite.js';
import { EMPTY_SHA, sha256 } from '../../server/src/standby/auth.js';
import { PeerError, peerRequest } from '../../server/src/standby/client.js';
import { FAILED_OVER_MESSAGE } from '../../server/src/standby/primary.js';
import { startStandbyServer } from '../../server/src/standby/server.js';
import { promote, StandbyRefusal } from '../../server/src/standby/promote.js';
import { ReplicaReceiver, ShipmentRefused } from '../../server/src/standby/replica.js';
import { hashFile, readChunk, sealSnapshot, type DbManifest } from '../../server/src/standby/snapshot.js';
import { replicaFile, secretFile, standbyDir, writeStandbyState } from '../../server/src/standby/state.js';
import { configDir, tempDir } from '../helpers/paths.js';

const CHUNK = 4096;
const SECRET = 'x'.repeat(64);

/** A snapshot of `live` as the primary takes it, with its manifest (4 KiB chunks, so that a small file has many). */
async function snapshot(live: string, out: string, seq: number, epoch = 1): Promise<DbManifest> {
  await onlineBackup(live, out);
  const migrations = sealSnapshot(out);
  const h = hashFile(out, CHUNK);
  return {
    epoch,
    seq,
    snapshotAt: new Date().toISOString(),
    size: h.size,
    sha256: h.sha256,
    chunkBytes: CHUNK,
    chunks: h.chunks,
    migrations,
  };
}

const body = (file: string, need: number[], tamper?: (b: Buffer) => void) => {
  const b = Buffer.concat(need.map((i) => readChunk(file, i, CHUNK)));
  tamper?.(b);
  return { stream: Readable.from([b]), sha: b.length ? sha256(b) : EMPTY_SHA };
};

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof ShipmentRefused) return e.code;
    throw e;
  }
  throw new Error('not refused');
}

function pair(dataDir: string, role: 'primary' | 'standby', epoch: number, peerUrl: string): void {
  mkdirSync(standbyDir(dataDir), { recursive: true });
  writeFileSync(secretFile(dataDir), SECRET, { mode: 0o600 });
  writeStandbyState(dataDir, { role, epoch, peerUrl });
}

describe('standby: verified replica shipping', function () {
  this.timeout(30_000);
  const t = tempDir('madoguchi-replica-');
  const live = path.join(t.dir, 'live.sqlite');
  const snap = path.join(t.dir, 'snap.sqlite');
  const standby = path.join(t.dir, 'standby');

  before(async () => {
    const knex = sqliteKnex(live);
    await migrateLatest(knex);
    await knex.destroy();
  });
  after(() => t.remove());

  it('installs a verified state, then sends only the changed chunks; a corrupted chunk, a wrong file hash, a schema mismatch or a stale epoch is refused and the installed state stays', async () => {
    const rx = new ReplicaReceiver(standby);
    mkdirSync(standbyDir(standby), { recursive: true });
    const m1 = await snapshot(live, snap, 1);
    const o1 = rx.offer(m1, 1);
    expect(o1.need).to.have.length(m1.chunks.length);
    const b1 = body(snap, o1.need);
    const st1 = await rx.receive(o1.session, b1.stream, b1.sha);
    expect(st1.seq).to.equal(1);
    expect(hashFile(replicaFile(standby), CHUNK).sha256).to.equal(m1.sha256);

    // A change: only the chunks that differ travel.
    const db = new Database(live);
    db.exec("CREATE TABLE scratch (name TEXT); INSERT INTO scratch VALUES ('rpa-01')");
    db.close();
    const m2 = await snapshot(live, snap, 2);
    const o2 = rx.offer(m2, 1);
    expect(o2.need.length)
      .to.be.greaterThan(0)
      .and.lessThan(m2.chunks.length / 2);

    // A chunk damaged on the way (its body hash signed as sent): refused, nothing installed.
    const bad = body(snap, o2.need, (b) => (b[10] = b[10]! ^ 0xff));
    expect(await refusal(rx.receive(o2.session, bad.stream, bad.sha))).to.equal('chunk.sha');
    expect(rx.current()!.seq).to.equal(1);
    expect(hashFile(replicaFile(standby), CHUNK).sha256).to.equal(m1.sha256);
    expect(rx.lastRefusal?.code).to.equal('chunk.sha');
    // A body that is not what was signed.
    const o2b = rx.offer(m2, 1);
    const good = body(snap, o2b.need);
    expect(await refusal(rx.receive(o2b.session, good.stream, 'a'.repeat(64)))).to.equal('body.sha');

    // Chunks right but the whole-file hash wrong, and a migration list that does not match.
    const o3 = rx.offer({ ...m2, sha256: 'b'.repeat(64) }, 1);
    const b3 = body(snap, o3.need);
    expect(await refusal(rx.receive(o3.session, b3.stream, b3.sha))).to.equal('file.sha');
    const o4 = rx.offer({ ...m2, migrations: m2.migrations.slice(0, -1) }, 1);
    const b4 = body(snap, o4.need);
    expect(await refusal(rx.receive(o4.session, b4.stream, b4.sha))).to.equal('schema.mismatch');
    expect(rx.current()!.seq).to.equal(1);

    // A database from a newer madoguchi (a migration this build does not know).
    const db2 = new Database(live);
    db2.prepare("INSERT INTO knex_migrations (name, batch, migration_time) VALUES ('999_future', 9, '2026-12-07')").run();
    db2.close();
    const m5 = await snapshot(live, snap, 5);
    const o5 = rx.offer(m5, 1);
    const b5 = body(snap, o5.need);
    expect(await refusal(rx.receive(o5.session, b5.stream, b5.sha))).to.equal('schema.unknown');
    const db3 = new Database(live);
    db3.prepare("DELETE FROM knex_migrations WHERE name = '999_future'").run();
    db3.close();

    // The good state installs; an older epoch or sequence is refused.
    const m6 = await snapshot(live, snap, 6);
    const o6 = rx.offer(m6, 1);
    const b6 = body(snap, o6.need);
    expect((await rx.receive(o6.session, b6.stream, b6.sha)).seq).to.equal(6);
    const check = new Database(replicaFile(standby), { readonly: true });
    expect(check.prepare('SELECT name FROM scratch').all()).to.deep.equal([{ name: 'rpa-01' }]);
    check.close();
    // The installed file damaged on this disk: refused once, then everything is sent again.
    const fd = openSync(replicaFile(standby), 'r+');
    writeSync(fd, Buffer.from('damaged'), 0, 7, CHUNK * 3 + 100);
    closeSync(fd);
    const m7 = await snapshot(live, snap, 7);
    const o7 = rx.offer(m7, 1);
    const b7 = body(snap, o7.need);
    expect(await refusal(rx.receive(o7.session, b7.stream, b7.sha))).to.equal('chunk.sha');
    const o8 = rx.offer({ ...m7, seq: 8 }, 1);
    expect(o8.need).to.have.length(m7.chunks.length);
    const b8 = body(snap, o8.need);
    expect((await rx.receive(o8.session, b8.stream, b8.sha)).seq).to.equal(8);
    expect(hashFile(replicaFile(standby)).sha256).to.equal(m7.sha256);

    expect(await refusal(() => rx.offer({ ...m6, seq: 9 }, 2))).to.equal('epoch.stale');
    expect(await refusal(() => rx.offer({ ...m6, seq: 8 }, 1))).to.equal('seq.stale');
    expect(await refusal(() => rx.offer({ ...m6, seq: 10, chunks: m6.chunks.slice(1) }, 1))).to.equal('manifest.invalid');
  });

  it('promotes the verified replica when the old primary is gone: database, shipped configuration and anchor installed, audited, epoch raised', async () => {
    // The standby of the first test, its old primary unreachable (nothing listens on port 9).
    pair(standby, 'standby', 1, 'http://127.0.0.1:9');
    const own = path.join(t.dir, 'own-config');
    cpSync(configDir, own, { recursive: true });
    writeFileSync(path.join(own, 'only-here.txt'), 'x');
    const mirror = path.join(standbyDir(standby), 'files');
    cpSync(configDir, path.join(mirror, 'config'), { recursive: true });
    mkdirSync(path.join(mirror, 'anchor'), { recursive: true });
    writeFileSync(path.join(mirror, 'anchor', 'audit-anchors.log'), 'anchor line\n');
    // A mirror that never completed is refused before anything is stopped (its config could lack layouts or scenarios).
    const early = await promote({ dataDir: standby, configDir: own, actor: 'cli:tester' }).catch((e: unknown) => e);
    expect(early).to.be.instanceOf(StandbyRefusal);
    expect((early as Error).message).to.contain('files.json');
    writeFileSync(
      path.join(standbyDir(standby), 'files.json'),
      JSON.stringify({ epoch: 1, syncedAt: new Date().toISOString(), files: 1, bytes: 12 }),
    );
    const r = await promote({ dataDir: standby, configDir: own, actor: 'cli:tester' });
    expect(r).to.include({ promoted: true, epoch: 2, seq: 8, forced: false, fencing: 'ECONNREFUSED' });
    expect(JSON.parse(readFileSync(path.join(standbyDir(standby), 'state.json'), 'utf8'))).to.include({ role: 'primary', epoch: 2 });
    expect(existsSync(path.join(own, 'only-here.txt'))).to.equal(false);
    expect(existsSync(path.join(r.configBackup!, 'only-here.txt'))).to.equal(true);
    expect(readFileSync(path.join(standby, 'audit-anchors.log'), 'utf8')).to.equal('anchor line\n');
    const db = new Database(r.dbFile, { readonly: true });
    try {
      expect(db.prepare('SELECT name FROM scratch').all()).to.deep.equal([{ name: 'rpa-01' }]);
      const audit = db.prepare("SELECT staff_login, detail FROM audit_trail WHERE action = 'standby.promote'").all() as {
        staff_login: string;
        detail: string;
      }[];
      expect(audit).to.have.length(1);
      expect(audit[0]!.staff_login).to.equal('cli:tester');
      expect(JSON.parse(audit[0]!.detail)).to.include({ forced: false, epochFrom: 1, epochTo: 2, seq: 8 });
    } finally {
      db.close();
    }
    // Promoted once: a second run refuses.
    const again = await promote({ dataDir: standby, configDir: own, actor: 'cli:tester' }).catch((e: unknown) => e);
    expect(again).to.be.instanceOf(StandbyRefusal);
  });

  describe('between servers', () => {
    const servers: RunningServer[] = [];
    after(async () => {
      for (const s of servers) await s.close().catch(() => undefined);
    });

    it('a standby serves only its page, /healthz with its role, and refuses logins (audited in its own trail)', async () => {
      const dir = path.join(t.dir, 'standby-node');
      pair(dir, 'standby', 1, 'http://127.0.0.1:9');
      const sb = await startStandbyServer({ configDir, dataDir: dir, port: 0, host: '127.0.0.1' });
      try {
        const home = await fetch(sb.url);
        expect(home.status).to.equal(503);
        expect(await home.text()).to.contain('この系は待機系です');
        const login = await fetch(`${sb.url}login`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'loginId=a&password=b',
        });
        expect(login.status).to.equal(503);
        const api = await fetch(`${sb.url}api/v1/visits`);
        expect(api.status).to.equal(503);
        expect(((await api.json()) as { error: { code: string } }).error.code).to.equal('standby.standbyNode');
        const health = (await (await fetch(`${sb.url}healthz`)).json()) as Record<string, unknown>;
        expect(health).to.include({ status: 'ok', role: 'standby', epoch: 1, seq: null, lagSeconds: null });
        const audited = await sb.knex('audit_trail').where({ action: 'standby.loginRefused' }).count({ n: '*' }).first();
        expect(Number(audited?.n)).to.equal(1);
      } finally {
        await sb.close();
      }
    });

    it('a running primary that finds its peer promoted past it calls for its own stop', async () => {
      // A free port for the peer, which comes up only after this primary started.
      const probe = net.createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
      const port = (probe.address() as net.AddressInfo).port;
      await new Promise<void>((r) => probe.close(() => r()));
      const a = path.join(t.dir, 'fenced');
      pair(a, 'primary', 1, `http://127.0.0.1:${port}`);
      const sa = await startServer({ configDir, dataDir: a, port: 0, host: '127.0.0.1', watch: false });
      servers.push(sa);
      const fenced = new Promise<string>((resolve) => (sa.standby!.onFailedOver = resolve));
      const b = path.join(t.dir, 'promoted');
      pair(b, 'primary', 2, sa.url.replace(/\/$/, ''));
      // The promoted peer starts while this primary still answers: its own check sees a lower epoch and starts.
      servers.push(await startServer({ configDir, dataDir: b, port, host: '127.0.0.1', watch: false }));
      void sa.standby!.shipper!.waitShipped(); // a cycle now, as an acceptance would start one
      const message = await Promise.race([fenced, new Promise<string>((r) => setTimeout(() => r('timeout'), 15_000))]);
      expect(message).to.contain('世代 2');
    });

    it('a primary whose peer was promoted refuses to start; a primary refuses shipments and unsigned requests; promote refuses while the old primary answers', async () => {
      // X: a primary of epoch 2 (promoted), its own peer far away.
      const x = path.join(t.dir, 'x');
      pair(x, 'primary', 2, 'http://127.0.0.1:9');
      const sx = await startServer({ configDir, dataDir: x, port: 0, host: '127.0.0.1', watch: false });
      servers.push(sx);
      const xUrl = sx.url.replace(/\/$/, '');

      // The old primary (epoch 1) paired with X must not start.
      const old = path.join(t.dir, 'old');
      pair(old, 'primary', 1, xUrl);
      let refused: Error | null = null;
      await startServer({ configDir, dataDir: old, port: 0, host: '127.0.0.1', watch: false }).then(
        (s) => servers.push(s),
        (e: Error) => (refused = e),
      );
      expect(refused, 'the old primary started').to.not.equal(null);
      expect(refused!.message).to.contain(FAILED_OVER_MESSAGE);

      // A shipment to a primary is refused (signed 409), an unsigned request is 401 and audited.
      const peer = { url: xUrl, secret: Buffer.from(SECRET) };
      const status = await peerRequest<{ role: string; epoch: number }>(peer, {
        method: 'GET',
        path: '/api/v1/standby/status',
        timeoutMs: 5000,
      });
      expect(status).to.include({ role: 'primary', epoch: 2 });
      const err = await peerRequest(peer, { method: 'POST', path: '/api/v1/standby/db/offer', json: { epoch: 3 }, timeoutMs: 5000 }).catch(
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(PeerError);
      expect((err as PeerError).code).to.equal('role.primary');
      const forged = await peerRequest(
        { ...peer, secret: Buffer.from('y'.repeat(64)) },
        { method: 'GET', path: '/api/v1/standby/status', timeoutMs: 5000 },
      ).catch((e: unknown) => e);
      expect((forged as PeerError).status).to.equal(401);
      const unsigned = await fetch(`${xUrl}/api/v1/standby/status`);
      expect(unsigned.status).to.equal(401);
      const audited = await sx.knex('audit_trail').where({ action: 'standby.unsigned' }).count({ n: '*' }).first();
      expect(Number(audited?.n)).to.be.greaterThan(0);

      // X's standby does not answer: /healthz stays 200 with the warning (the counter goes on).
      const until = Date.now() + 5000;
      while (!sx.standby?.shipper?.state.degraded && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const health = await fetch(`${xUrl}/healthz`);
      expect(health.status).to.equal(200);
      const h = (await health.json()) as { warnings: string[]; standby?: { status: string; epoch: number } };
      expect(h.warnings).to.include('standby');
      expect(h.standby).to.include({ status: 'warn', epoch: 2 });

      // A standby paired with X: X answers, so no promotion (not even forced without a reason).
      const sb = path.join(t.dir, 'sb');
      pair(sb, 'standby', 1, xUrl);
      const attempt = (o: { force?: boolean; reason?: string }) =>
        promote({ dataDir: sb, configDir, actor: 'cli:test', ...o }).then(
          () => 'promoted',
          (e: unknown) => (e instanceof StandbyRefusal ? e.message : String(e)),
        );
      expect(await attempt({})).to.contain('まだ応答しています');
      expect(await attempt({ force: true })).to.contain('--reason');
      // Forced with a reason it passes the fencing and stops at the next check: no replica yet.
      expect(await attempt({ force: true, reason: '訓練' })).to.contain('検証済みの複製がありません');
      expect(readFileSync(path.join(standbyDir(sb), 'state.json'), 'utf8')).to.contain('"standby"');
      expect(statSync(secretFile(sb)).mode & 0o077).to.equal(0);
    });
  });
});
