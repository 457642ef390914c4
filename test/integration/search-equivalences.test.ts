import { expect } from 'chai';
import { appendFileSync, cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { SEARCH_KEY_RULES } from '../../server/src/domain/searchKeys.js';
import { loadVariantTable, setVariantTable, shippedVariantTableFile } from '../../server/src/domain/variants.js';
import { derivedKeys } from '../../server/src/linkage/forward/keys.js';
import { keySourceColumns, refreshSearchKeys } from '../../server/src/linkage/forward/rekey.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { getAs } from '../helpers/http.js';
import { loginAs, type LoggedIn } from '../helpers/login.js';
import { configDir, tempDir } from '../helpers/paths.js';

/**
 * Search equivalences through the real resident search (issue 16): what staff type meets what
 * is registered, and stored keys follow a change of the key rules or of the 異体字 table.
 */
interface Search {
  total: number;
  results: { addresseeNo: string; name: string; match: string }[];
}

let seq = 0;
async function resident(knex: Knex, v: Record<string, unknown>, keys: Record<string, unknown> = {}): Promise<string> {
  const no = String(500000000000 + ++seq);
  const row = {
    addressee_no: no,
    household_no: `SE${seq}`,
    resident_kind: '1',
    resident_status: '1',
    sex: '1',
    relationship_code1: '01',
    change_reason_code: '01',
    prefecture: '熊本県',
    city: '窓口郡まどぐち町',
    town_name: '本町',
    block_number: `${seq}-9`,
    birth_date: '1962-01-19',
    ...v,
  };
  await knex('residents').insert({ ...row, ...derivedKeys.residents!(row), ...keys });
  return no;
}

const clerks = new WeakMap<RunningServer, LoggedIn>();
async function search(server: RunningServer, query: Record<string, string>): Promise<Search> {
  let clerk = clerks.get(server);
  if (!clerk) clerks.set(server, (clerk = await loginAs(server.url, server.knex, ['counter'])));
  const res = await getAs(`${server.url}api/v1/residents?${new URLSearchParams(query).toString()}`, clerk);
  expect(res.status, await res.clone().text()).to.equal(200);
  return (await res.json()) as Search;
}

const hits = (r: Search) => r.results.map((x) => [x.name, x.match]);

describe('search equivalences through the resident search', function () {
  this.timeout(60_000);
  let t: ReturnType<typeof tempDir>;
  let server: RunningServer | undefined;
  const start = async (config: string) =>
    (server = await startServer({ configDir: config, dataDir: path.join(t.dir, 'data'), port: 0, host: '127.0.0.1', watch: false }));

  before(() => (t = tempDir()));
  after(async () => {
    await server?.close();
    setVariantTable(loadVariantTable(shippedVariantTableFile()));
    t.remove();
  });

  it('finds 〜 (U+301C, registered) by ～ (U+FF5E, typed), 森鷗外 by 森鴎外 (flagged) and 緑ケ丘２－３－４ by 緑ヶ丘2ー3ー4', async () => {
    const s = await start(configDir);
    const wave = await resident(s.knex, { name: '波\u301C浪 一郎', name_kana: 'ナミ\u301Cナミ イチロウ' });
    const ogai = await resident(s.knex, { name: '森 鷗外', name_kana: 'モリ オウガイ' });
    const midori = await resident(s.knex, {
      name: '緑 三郎',
      name_kana: 'ミドリ サブロウ',
      town_name: '緑ケ丘',
      block_number: '２－３－４',
    });

    const byTilde = await search(s, { name: '波\uFF5E浪 一郎' });
    expect(byTilde.results.map((x) => [x.addresseeNo, x.match])).to.deep.equal([[wave, 'exact']]);
    expect((await search(s, { kana: 'なみ\uFF5Eなみ' })).results.map((x) => x.addresseeNo)).to.deep.equal([wave]);

    expect(hits(await search(s, { name: '森鴎外' }))).to.deep.equal([['森 鷗外', 'variant']]);
    expect(hits(await search(s, { name: '森 鷗外' }))).to.deep.equal([['森 鷗外', 'exact']]);
    expect((await search(s, { name: '森鴎外' })).results[0]!.addresseeNo).to.equal(ogai);

    for (const address of ['緑ヶ丘2ー3ー4', '緑ケ丘2−3−4', '緑ケ丘2-3-4', '熊本県窓口郡まどぐち町緑ヶ丘２‐３‐４'])
      expect(
        (await search(s, { address })).results.map((x) => x.addresseeNo),
        address,
      ).to.deep.equal([midori]);
  });

  it("re-keys rows at start-up when the municipality's 異体字 table changes: a row keyed under the old table is found", async () => {
    const s = server!;
    // 鬭 is not in the shipped table: 闘野 does not find 鬭野 yet.
    const toNo = await resident(s.knex, { name: '鬭野 一郎', name_kana: 'トウノ イチロウ' });
    expect((await search(s, { name: '闘野一郎' })).total).to.equal(0);
    await s.close();
    server = undefined;

    const own = path.join(t.dir, 'config');
    cpSync(configDir, own, { recursive: true });
    appendFileSync(path.join(own, 'search-variants.csv'), '鬭,闘,試験用の追加\n');
    const s2 = await start(own);
    const r = await search(s2, { name: '闘野一郎' });
    expect(r.results.map((x) => [x.addresseeNo, x.match])).to.deep.equal([[toNo, 'variant']]);
    const state = await s2.knex('search_key_state').where({ id: 1 }).first();
    expect(state).to.include({ variant_pairs: loadVariantTable(path.join(own, 'search-variants.csv')).folds.size, rows_rekeyed: 1 });
    expect(readFileSync(path.join(own, 'search-variants.csv'), 'utf8')).to.contain('鬭,闘');
    // Nothing changed since: the next refresh is a no-op.
    expect((await refreshSearchKeys(s2.knex)).rekeyed).to.equal(false);
  });

  it('re-keys rows made under older key rules (a stored ~ key from before the tilde rule) when the rules version differs', async () => {
    const s = server!;
    // What the rules of version 1 stored for 「波～浪 二郎」: NFKC's '~', which 〜 typed today never meets.
    const old = await resident(
      s.knex,
      { name: '波～浪 二郎', name_kana: 'ナミ ジロウ' },
      { name_key: '波~浪二郎', name_variant_key: '波~浪二郎' },
    );
    expect((await search(s, { name: '波〜浪二郎' })).total).to.equal(0);
    await s.knex('search_key_state').where({ id: 1 }).update({ rules_version: 1 });
    await s.close();
    server = undefined;

    const s2 = await start(path.join(t.dir, 'config'));
    expect((await search(s2, { name: '波〜浪二郎' })).results.map((x) => [x.addresseeNo, x.match])).to.deep.equal([[old, 'exact']]);
    expect(await s2.knex('search_key_state').where({ id: 1 }).first()).to.include({ rules_version: SEARCH_KEY_RULES, rows_rekeyed: 1 });
  });

  it('recomputes in chunks and writes only the rows whose keys changed', async () => {
    const s = server!;
    expect(keySourceColumns('residents')).to.have.members(['name', 'name_kana', 'alias', 'town_name', 'block_number']);
    expect(keySourceColumns('address_master')).to.have.members(['town_name', 'block_number']);
    const rows = (await s.knex('residents').count({ n: '*' }).first()) as { n: number };
    await s
      .knex('residents')
      .whereIn('addressee_no', ['500000000001', '500000000003'])
      .update({ address_key: 'stale', name_kana_fold_key: 'stale' });
    const r = await refreshSearchKeys(s.knex, { force: true, chunk: 2 });
    expect(r).to.deep.include({ rekeyed: true, rowsRead: Number(rows.n) });
    expect(r.changed).to.deep.equal({ residents: 2, households: 0, non_residents: 0, corporations: 0, address_master: 0 });
    expect((await search(s, { address: '緑ヶ丘2ー3ー4' })).total).to.equal(1);
  });
});
