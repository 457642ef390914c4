import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest, sqliteKnex } from '../../server/src/db/connect.js';
import { listLeases } from '../../server/src/ops/leases.js';
import { readCsv } from '../helpers/csv.js';
import { cliPath, fastWatchConfig, repoRoot, tempDir } from '../helpers/paths.js';
import { waitExit } from '../helpers/processes.js';
import { makeTown, specFile } from '../helpers/town.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LEASE_SECONDS = 3;

interface Node {
  child: ChildProcess;
  port: number;
  /** The default node id: `<hostname>:<port>`. */
  id: string;
  out: () => string;
}

/** `madoguchi serve` as its own process with its own data directory (logs, pid file). */
function serve(config: string, dataDir: string): Promise<Node> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'serve', '--config', config, '--data-dir', dataDir, '--port', '0'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /起動しました: https?:\/\/[^:]+:(\d+)\//.exec(out);
      const id = /"nodeId":"([^"]+)"/.exec(out);
      if (m && id) resolve({ child, port: Number(m[1]), id: id[1]!, out: () => out });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
}

/**
 * Two app nodes on one database (issue 21 §4): two real server processes share one SQLite file and
 * one drop folder. The lease holder takes the full file; it is killed (-9) during the load; the
 * other node takes the lease over within the lease time and applies the file — exactly once.
 */
describe('two app nodes: the linkage lease moves when its holder dies', function () {
  this.timeout(120_000);
  const t = tempDir();
  const dbFile = path.join(t.dir, 'shared', 'madoguchi.sqlite');
  const dropRoot = path.join(t.dir, 'shared', 'linkage');
  const drop = path.join(dropRoot, '001o005');
  let config: string;
  let knex: Knex;
  let nodes: Node[] = [];

  before(async () => {
    config = fastWatchConfig(t.dir);
    const yaml = path.join(config, 'municipality.yaml');
    const text = readFileSync(yaml, 'utf8');
    const edited = text
      .replace(/file: madoguchi\.sqlite.*/, `file: '${dbFile}'`)
      .replace(/dropDir: linkage .*/, `dropDir: '${dropRoot}'`)
      .replace(/leaseSeconds: 30 .*/, `leaseSeconds: ${LEASE_SECONDS}`);
    expect(edited).to.contain(`leaseSeconds: ${LEASE_SECONDS}`).and.contain(dbFile).and.contain(dropRoot);
    writeFileSync(yaml, edited);
    mkdirSync(path.dirname(dbFile), { recursive: true });
    knex = sqliteKnex(dbFile);
    await migrateLatest(knex);
  });
  after(async () => {
    await Promise.all(nodes.map((n) => waitExit(n.child, 100).then(() => n.child.kill('SIGKILL'))));
    await knex?.destroy();
    t.remove();
  });

  it('kill -9 of the holder during a load: the other node finishes it, applied once', async () => {
    const t0 = Date.now();
    const lap = (what: string) => process.env.LEASE_TIMING && console.log(`      ${what} +${Date.now() - t0} ms`);
    // Two nodes start together (the town is made meanwhile): one takes the leases, the other waits.
    const [town, n1, n2] = await Promise.all([
      makeTown(path.join(t.dir, 'town'), 20_000, 'utf8', 'cluster'),
      serve(config, path.join(t.dir, 'n1')),
      serve(config, path.join(t.dir, 'n2')),
    ]);
    nodes = [n1, n2];
    lap('town made, both nodes started');
    const file = specFile(town, '001o005');
    const people = readCsv(file).length;
    expect(n1.id).to.not.equal(n2.id);
    const holder = async (name: string) => (await listLeases(knex, name)).find((r) => r.live)?.holder ?? null;
    // a: the holder, b: the other.
    const [a, b] = (await holder('linkage')) === n1.id ? [n1, n2] : [n2, n1];
    expect(await holder('linkage')).to.equal(a.id);
    // The schedules are held by one of them (the two leases may go to different nodes).
    expect([a.id, b.id]).to.include(await holder('schedules'));
    expect(await holder(`node:${b.id}`)).to.equal(b.id);
    expect(await holder(`node:${a.id}`)).to.equal(a.id);

    // Both watch the same drop folder; only the holder takes the file.
    const name = '001o005_439991_20261201020000.csv';
    cpSync(file, path.join(drop, `${name}.part`));
    renameSync(path.join(drop, `${name}.part`), path.join(drop, name));
    const claimed = path.join(drop, 'processing', name);
    for (let n = 0; !existsSync(claimed) && n < 400; n++) await sleep(10);
    expect(existsSync(claimed), 'file claimed').to.equal(true);
    await sleep(400);
    lap('file claimed; kill -9 a');
    a.child.kill('SIGKILL');
    await waitExit(a.child, 5000);
    const killedAt = Date.now();
    // The kill landed inside the load: nothing of it was committed.
    expect(Number(((await knex('residents').count({ n: '*' }).first()) as { n: number }).n), 'kill inside the load').to.equal(0);
    expect(existsSync(claimed)).to.equal(true);

    // b takes the linkage lease over within the lease time (plus one renewal round).
    let takenAfter = -1;
    for (let n = 0; n < 200; n++) {
      if ((await holder('linkage')) === b.id) {
        takenAfter = Date.now() - killedAt;
        break;
      }
      await sleep(50);
    }
    console.log(`      b took the linkage lease ${takenAfter} ms after the kill (lease ${LEASE_SECONDS} s)`);
    expect(takenAfter, 'taken over').to.be.within(0, (LEASE_SECONDS + LEASE_SECONDS / 3 + 2) * 1000);
    const lease = (await listLeases(knex, 'linkage'))[0]!;
    expect(lease.token, 'a new token').to.equal(2);

    lap('lease taken over');
    // b finishes the file: applied once, every resident once, the file archived.
    for (let n = 0; existsSync(claimed) && n < 600; n++) await sleep(50);
    expect(existsSync(claimed), 'processing/ emptied').to.equal(false);
    expect(readdirSync(path.join(dropRoot, 'archive', '001o005'))).to.deep.equal([name]);
    const runs = (await knex('linkage_runs').where({ file_name: name }).orderBy('id').select('result', 'message')) as {
      result: string;
      message: string | null;
    }[];
    expect(runs.map((r) => r.result)).to.deep.equal(['failed', 'applied']);
    expect(runs[0]!.message).to.contain(a.id).and.contain(b.id).and.contain('引き継いで');
    expect(Number(((await knex('residents').count({ n: '*' }).first()) as { n: number }).n)).to.equal(people);
    const distinct = (await knex('residents').countDistinct({ n: 'addressee_no' }).first()) as { n: number };
    expect(Number(distinct.n)).to.equal(people);

    lap('file applied by b');
    // /healthz names the holder (node ids only; `madoguchi cluster status` is tested in leases.test.ts).
    const health = (await (await fetch(`http://127.0.0.1:${b.port}/healthz`)).json()) as {
      cluster: { node: string; nodes: string[]; leases: { name: string; holder: string | null }[] };
    };
    expect(health.cluster.node).to.equal(b.id);
    expect(health.cluster.leases.find((l) => l.name === 'linkage')?.holder).to.equal(b.id);
    expect(health.cluster.nodes).to.include(b.id).and.not.include(a.id);
    // A graceful stop releases b's leases at once.
    b.child.kill('SIGTERM');
    await waitExit(b.child, 20_000);
    expect(b.child.exitCode).to.equal(0);
    expect(await holder('linkage')).to.equal(null);
  });
});
