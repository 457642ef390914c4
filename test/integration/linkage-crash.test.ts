import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest, sqliteKnex } from '../../server/src/db/connect.js';
import { applyFiles } from '../../server/src/linkage/forward/apply.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { readCsv } from '../helpers/csv.js';
import { cliPath, configDir, fastWatchConfig, repoRoot, tempDir } from '../helpers/paths.js';
import { makeTown, specFile } from '../helpers/town.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TownSet {
  file: string;
  count: number;
  sample: Map<string, string>; // addressee_no → name, for rows the two towns share by number
}

function startServe(config: string, dataDir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, 'serve', '--config', config, '--data-dir', dataDir, '--port', '0'], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('起動しました')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
}

/**
 * kill -9 of the server while it applies a full file, at several moments: the cache must hold
 * exactly the old data set or exactly the new one, and after a restart the file is applied.
 */
describe('forward linkage: kill -9 during apply', function () {
  this.timeout(300_000);
  const t = tempDir();
  const config = path.join(t.dir, 'config');
  const dataDir = path.join(t.dir, 'data');
  const drop = path.join(dataDir, 'linkage', '001o005');
  let a: TownSet;
  let b: TownSet;
  let knex: Knex;

  async function town(name: string, people: number): Promise<TownSet> {
    const s = await makeTown(path.join(t.dir, name), people, 'utf8', name);
    const rows = readCsv(specFile(s, '001o005'));
    return {
      file: specFile(s, '001o005'),
      count: rows.length,
      sample: new Map(rows.slice(0, 50).map((r) => [r['宛名番号']!, r['氏名']!])),
    };
  }

  /** Which of the two data sets the cache holds; fails on anything else. */
  async function holds(): Promise<'a' | 'b'> {
    const count = Number(((await knex('residents').count({ n: '*' }).first()) as { n: number }).n);
    const rows = (await knex('residents')
      .whereIn('addressee_no', [...a.sample.keys()])
      .select('addressee_no', 'name')) as { addressee_no: string; name: string }[];
    const matches = (s: TownSet) =>
      count === s.count && rows.every((r) => s.sample.get(r.addressee_no) === r.name) && rows.length === s.sample.size;
    if (matches(a)) return 'a';
    if (matches(b)) return 'b';
    throw new Error(`mixed or partial data: ${count} rows (a ${a.count}, b ${b.count})`);
  }

  before(async () => {
    fastWatchConfig(t.dir);
    a = await town('a', 20_000);
    // Within the shrink guard (2 %) both ways, so that b → a is applied rather than held.
    b = await town('b', 20_200);
    knex = sqliteKnex(path.join(dataDir, 'madoguchi.sqlite'));
    await migrateLatest(knex);
    const [r] = await applyFiles(knex, LayoutRegistry.load(configDir), [{ specId: '001o005', file: a.file }]);
    expect(r!.outcome).to.equal('applied');
    expect(await holds()).to.equal('a');
  });
  after(async () => {
    await knex?.destroy();
    t.remove();
  });

  const delays = [0, 120, 350, 700, 1100, 4000];
  const seen: ('old' | 'new')[] = [];
  delays.forEach((delay, i) => {
    it(`killed ${delay} ms after the file was claimed: old or new, then applied on restart`, async () => {
      const from = i % 2 === 0 ? 'a' : 'b';
      const to = from === 'a' ? b : a;
      expect(await holds()).to.equal(from);
      const child = await startServe(config, dataDir);
      const name = `001o005_439991_2026110${i}020000.csv`;
      cpSync(to.file, path.join(drop, `${name}.part`));
      renameSync(path.join(drop, `${name}.part`), path.join(drop, name));
      const claimed = path.join(drop, 'processing', name);
      for (let n = 0; !existsSync(claimed) && n < 400; n++) await sleep(10);
      expect(existsSync(claimed), 'file claimed').to.equal(true);
      await sleep(delay);
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      const after = await holds(); // throws on a mix
      seen.push(after === from ? 'old' : 'new');
      console.log(`      killed at +${delay} ms: cache held the ${after === from ? 'old' : 'new'} data set`);

      const again = await startServe(config, dataDir);
      for (let n = 0; readdirSync(path.join(drop, 'processing')).length && n < 600; n++) await sleep(50);
      expect(readdirSync(path.join(drop, 'processing'))).to.deep.equal([]);
      expect(await holds()).to.equal(to === a ? 'a' : 'b');
      const stopped = new Promise((r) => again.once('exit', r));
      again.kill('SIGTERM');
      expect(await stopped).to.equal(0);
    });
  });

  it('landed at least one kill inside the transaction (the old set survived it)', () => {
    expect(seen).to.have.length(delays.length);
    expect(seen).to.include('old');
  });

  it('lets searches during a load see the old set or the new one, never a mix', async () => {
    const current = await holds();
    const next = current === 'a' ? b : a;
    const reader = sqliteKnex(path.join(dataDir, 'madoguchi.sqlite'));
    const counts: number[] = [];
    let done = false;
    const reading = (async () => {
      while (!done) {
        counts.push(Number(((await reader('residents').count({ n: '*' }).first()) as { n: number }).n));
        await sleep(5);
      }
    })();
    const [r] = await applyFiles(knex, LayoutRegistry.load(configDir), [{ specId: '001o005', file: next.file }], {});
    done = true;
    await reading;
    await reader.destroy();
    expect(r!.outcome).to.equal('applied');
    expect(counts.length).to.be.greaterThan(3);
    expect(
      counts.every((c) => c === a.count || c === b.count),
      `counts seen: ${[...new Set(counts)].join(', ')}`,
    ).to.equal(true);
    expect(await holds()).to.equal(current === 'a' ? 'b' : 'a');
  });
});
