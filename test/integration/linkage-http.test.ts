import { expect } from 'chai';
import { cpSync, renameSync } from 'node:fs';
import path from 'node:path';
import { loginAs } from '../helpers/login.js';
import { fastWatchConfig, tempDir } from '../helpers/paths.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { makeTown, specFile } from '../helpers/town.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('linkage status page and API', function () {
  this.timeout(120_000);
  const t = tempDir();
  let server: TestServer;
  let residentsFile: string;
  let get: (path: string) => Promise<Response>;

  before(async () => {
    const config = fastWatchConfig(t.dir);
    const town = await makeTown(path.join(t.dir, 'town'), 30_000, 'utf8', 'http');
    residentsFile = specFile(town, '001o005');
    server = await startTestServer({ configDir: config, watch: true });
    const { cookie } = await loginAs(server.url, server.knex, ['counter']);
    get = (p: string) => fetch(`${server.url}${p}`, { headers: { cookie } });
  });
  after(async () => {
    await server.close();
    t.remove();
  });

  it('shows a running load with its progress, then the applied run', async () => {
    const drop = path.join(server.dataDir, 'linkage', '001o005');
    cpSync(residentsFile, path.join(drop, 'x.csv.part'));
    renameSync(path.join(drop, 'x.csv.part'), path.join(drop, '001o005_439991_20261101020000.csv'));
    let sawLoad: { specId: string; rows: number; bytes: number; totalBytes: number } | undefined;
    let sawPage = '';
    for (let i = 0; i < 400 && !sawLoad; i++) {
      const status = (await (await get('api/v1/linkage/status')).json()) as {
        loads: { specId: string; rows: number; bytes: number; totalBytes: number }[];
      };
      sawLoad = status.loads.find((l) => l.rows > 0);
      if (sawLoad) sawPage = await (await get('linkage')).text();
      else await sleep(20);
    }
    expect(sawLoad, 'progress seen during the load').to.not.equal(undefined);
    expect(sawLoad!.specId).to.equal('001o005');
    expect(sawLoad!.bytes).to.be.within(1, sawLoad!.totalBytes);
    expect(sawPage).to.contain('取込中: 001o005');
    expect(sawPage).to.match(/<progress max="\d+" value="\d+">/);
    for (let i = 0; i < 400; i++) {
      const runs = (await (await get('api/v1/linkage/runs?spec=001o005')).json()) as { runs: { result: string }[] };
      if (runs.runs[0]?.result === 'applied') break;
      await sleep(50);
    }
    const { runs } = (await (await get('api/v1/linkage/runs?spec=001o005&limit=5')).json()) as {
      runs: { id: number; result: string; rowsApplied: number; durationMs: number; fileName: string }[];
    };
    expect(runs[0]).to.include({ result: 'applied', fileName: '001o005_439991_20261101020000.csv' });
    expect(runs[0]!.rowsApplied).to.be.greaterThan(30_000);
    expect(runs[0]!.durationMs).to.be.greaterThan(0);
    const detail = (await (await get(`api/v1/linkage/runs/${runs[0]!.id}`)).json()) as { run: { id: number }; issues: unknown[] };
    expect(detail.run.id).to.equal(runs[0]!.id);
    expect(detail.issues).to.deep.equal([]);
    const page = await (await get('linkage')).text();
    expect(page).to.contain('連携仕様ごとの状態');
    expect(page).to.contain('住民情報');
    expect(page).to.contain('取込済');
    const runPage = await (await get(`linkage/runs/${runs[0]!.id}`)).text();
    expect(runPage).to.contain('問題はありません');
  });

  it('reports each spec state and rejects bad parameters in Japanese', async () => {
    const status = (await (await get('api/v1/linkage/status')).json()) as {
      specs: { specId: string; state: string; provisional: boolean; expectedBy: string | null }[];
    };
    const residents = status.specs.find((s) => s.specId === '001o005')!;
    expect(residents.state).to.equal('ok');
    expect(residents.provisional).to.equal(true);
    expect(residents.expectedBy).to.equal('06:00');
    expect(status.specs.find((s) => s.specId === 'ext-arrears')!.state).to.be.oneOf(['none', 'missing']);
    const bad = await get('api/v1/linkage/runs/abc');
    expect(bad.status).to.equal(400);
    // The schema names the field in Japanese (its title) and says how to fix it.
    const badBody = (await bad.json()) as { error: { code: string; message: string; fields: { field: string; message: string }[] } };
    expect(badBody.error).to.deep.include({ code: 'input.invalid', message: '取込番号: 整数で指定してください' });
    expect(badBody.error.fields).to.deep.equal([{ field: 'id', message: '取込番号: 整数で指定してください' }]);
    const none = await get('api/v1/linkage/runs/99999');
    expect(none.status).to.equal(404);
    const limit = await get('api/v1/linkage/runs?limit=1000');
    expect(limit.status).to.equal(400);
    expect(((await limit.json()) as { error: { message: string } }).error.message).to.equal('件数 (limit): 200 以下で指定してください');
  });
});
