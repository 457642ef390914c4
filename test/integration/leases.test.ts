import { expect } from 'chai';
import path from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest, sqliteKnex } from '../../server/src/db/connect.js';
import { createLogger } from '../../server/src/ops/logger.js';
import { clusterStatus, LeaseKeeper, LeaseLostError, listLeases, type LeaseStart } from '../../server/src/ops/leases.js';
import { buildCli } from '../../server/src/cli/index.js';
import { getAs } from '../helpers/http.js';
import { configDir, tempDir } from '../helpers/paths.js';
import { startTestServer } from '../helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The lease rules on a real SQLite file, with two keepers on two connections pools (as two nodes):
 * one holder at a time, expiry and takeover, renewal, a token that grows on every acquisition,
 * and the fencing check that refuses a node whose lease went to another.
 */
describe('leases: the work that runs once across app nodes', function () {
  this.timeout(20_000);
  const t = tempDir();
  const file = path.join(t.dir, 'madoguchi.sqlite');
  const logger = createLogger({ console: false });
  let a: Knex;
  let b: Knex;
  const events: string[] = [];
  const job = (who: string) => ({
    start: async (l: LeaseStart) => {
      events.push(`${who} start ${l.token} after ${l.previousHolder ?? '-'}`);
      return { stop: async () => void events.push(`${who} stop`) };
    },
  });
  // A long renewal period: the test runs the rounds itself.
  const keeper = (knex: Knex, nodeId: string) => new LeaseKeeper(knex, { nodeId, leaseSeconds: 2, renewSeconds: 3600, logger });
  const row = async (name: string) => (await listLeases(a, name))[0]!;

  before(async () => {
    a = sqliteKnex(file);
    b = sqliteKnex(file);
    await migrateLatest(a);
  });
  after(async () => {
    await a.destroy();
    await b.destroy();
    t.remove();
  });

  it('one holder; expiry hands the work over with a new token; fencing refuses the old holder', async () => {
    const ka = keeper(a, 'node-a:8443');
    const kb = keeper(b, 'node-b:8443');
    ka.guard('linkage', job('a'));
    kb.guard('linkage', job('b'));
    await ka.start();
    await kb.start();
    expect(events).to.deep.equal(['a start 1 after -']);
    expect(ka.current('linkage')).to.deep.equal({ token: 1, held: true });
    expect(kb.current('linkage')).to.deep.equal({ token: null, held: false });
    expect((await row('linkage')).holder).to.equal('node-a:8443');

    // Renewal keeps the token and moves the expiry on; the other node still waits.
    const first = await row('linkage');
    await sleep(600);
    await ka.round();
    await kb.round();
    const renewed = await row('linkage');
    expect(renewed.token).to.equal(1);
    expect(renewed.expiresAt! > first.expiresAt!).to.equal(true);
    expect(kb.current('linkage').held).to.equal(false);

    // a stops renewing (a paused process): after the lease time b takes over, token 2.
    await sleep(2100);
    await kb.round();
    expect(kb.current('linkage')).to.deep.equal({ token: 2, held: true });
    expect(events.at(-1)).to.equal('b start 2 after node-a:8443');
    expect((await row('linkage')).holder).to.equal('node-b:8443');

    // a wakes up and tries to commit: the check inside its transaction refuses, the write rolls back.
    const fenced = await a
      .transaction(async (trx) => {
        await trx('linkage_runs').insert({ spec_id: 'x', file_name: 'fenced.csv', kind: '-', started_at: new Date(), result: 'applied' });
        await ka.fence(trx, 'linkage');
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(fenced).to.be.instanceOf(LeaseLostError);
    expect(await a('linkage_runs').where({ file_name: 'fenced.csv' }).first()).to.equal(undefined);
    // The holder's own check passes (and renews).
    await b.transaction((trx) => kb.fence(trx, 'linkage'));

    // a's next round sees the lease gone and stops its work.
    await ka.round();
    expect(events.at(-1)).to.equal('a stop');
    expect(ka.current('linkage').held).to.equal(false);

    // Both nodes are alive (presence), b holds the linkage.
    const status = await clusterStatus(a);
    expect(status.nodes.sort()).to.deep.equal(['node-a:8443', 'node-b:8443']);
    expect(status.leases).to.deep.equal([{ name: 'linkage', holder: 'node-b:8443', token: 2, expiresAt: status.leases[0]!.expiresAt }]);
    expect(await ka.otherNodes()).to.deep.equal(['node-b:8443']);

    // b restarts after a crash (same node id, its lease still live): the new process takes it at once.
    const kb2 = keeper(a, 'node-b:8443');
    kb2.guard('linkage', job('b2'));
    await kb2.start();
    expect(kb2.current('linkage')).to.deep.equal({ token: 3, held: true });
    expect(events.at(-1)).to.equal('b2 start 3 after node-b:8443');

    // A graceful stop releases the lease: a takes it at its next round, without waiting for the lease time.
    expect(await kb2.stop()).to.deep.equal({ released: ['node:node-b:8443', 'linkage'] });
    expect(events.at(-1)).to.equal('b2 stop');
    await ka.round();
    expect(ka.current('linkage')).to.deep.equal({ token: 4, held: true });
    expect(events.at(-1)).to.equal('a start 4 after node-b:8443');
    await ka.stop();
    await kb.stop();
    expect((await listLeases(a)).every((r) => !r.live)).to.equal(true);
  });

  it('madoguchi cluster status lists the nodes and who holds what', async () => {
    const kc = new LeaseKeeper(a, { nodeId: 'node-c:8443', leaseSeconds: 120, renewSeconds: 3600, logger });
    kc.guard('schedules', job('c'));
    await kc.start();
    const lines: string[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void lines.push(args.join(' '));
    try {
      await buildCli().parseAsync(['node', 'madoguchi', '--config', configDir, '--data-dir', t.dir, 'cluster', 'status']);
    } finally {
      console.log = log;
      await kc.stop();
    }
    const out = lines.join('\n');
    expect(out).to.contain('node-c:8443  動作中').and.contain('node-a:8443  停止');
    expect(out).to.match(/schedules \(夜間の定期処理\): node-c:8443 {2}番号 1 {2}期限/);
    // The linkage lease was released by its last holder: nobody holds it.
    expect(out).to.match(/linkage \(連携ファイルの取込・未着の監視\): なし \(前の担当 node-a:8443・引き継ぎ待ち\) {2}番号 4/);
  });

  it('one node alone holds every lease at once; the dashboard and /healthz name it (node ids only)', async () => {
    const server = await startTestServer({ watch: true });
    try {
      const node = server.running.leases.nodeId;
      expect(server.running.leases.current('linkage').held).to.equal(true);
      expect(server.running.leases.current('schedules').held).to.equal(true);
      const health = (await (await fetch(`${server.url}healthz`)).json()) as {
        cluster: { node: string; nodes: string[]; leases: { name: string; holder: string | null; token: number }[] };
      };
      expect(health.cluster.node).to.equal(node);
      expect(health.cluster.nodes).to.deep.equal([node]);
      expect(health.cluster.leases.map((l) => [l.name, l.holder, l.token])).to.deep.equal([
        ['linkage', node, 1],
        ['schedules', node, 1],
      ]);
      const admin = await server.login(['admin']);
      const res = await getAs(`${server.url}admin/operations`, admin);
      expect(res.status).to.equal(200);
      const body = await res.text();
      expect(body).to.contain('サーバーの担当');
      expect(body).to.match(new RegExp(`data-lease="linkage"><td>連携ファイルの取込・未着の監視</td><td class="state-ok">${node}`));
      expect(body).to.match(/id="ops-nodes">動いているサーバー: [^<]+<span class="muted">\(このサーバー\)/);
    } finally {
      await server.close();
    }
  });
});
