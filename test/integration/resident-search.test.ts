import { expect } from 'chai';
import type { Knex } from 'knex';
import { createStaff } from '../../server/src/auth/staffRepo.js';
import { derivedKeys } from '../../server/src/linkage/forward/keys.js';
import { MASKED_ADDRESS } from '../../server/src/residents/warnings.js';
import { getAs } from '../helpers/http.js';
import { loginAs, loginWith, type LoggedIn } from '../helpers/login.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Item {
  addresseeNo: string;
  name: string;
  nameKana: string | null;
  match: string;
  address: string;
  addressMasked: boolean;
  birthDateWareki: string;
  status: string;
  entitlements: string[];
  kind: string;
}
interface Search {
  total: number;
  totalCapped: boolean;
  understood: string[];
  results: Item[];
}

let seq = 0;
async function resident(knex: Knex, v: Record<string, unknown>): Promise<string> {
  const no = String(200000000000 + ++seq);
  const row = {
    addressee_no: no,
    household_no: `HH${seq}`,
    resident_kind: '1',
    resident_status: '1',
    sex: '1',
    relationship_code1: '01',
    change_reason_code: '01',
    prefecture: '熊本県',
    city: '窓口郡まどぐち町',
    town_name: '本町',
    block_number: `${seq}-1`,
    birth_date: '1980-01-01',
    ...v,
  };
  await knex('residents').insert({ ...row, ...derivedKeys.residents!(row) });
  return no;
}

describe('resident search: variants, kana, widths, eras, targets, masks and audit', function () {
  this.timeout(60_000);
  let server: TestServer;
  let clerk: LoggedIn;
  const ids: Record<string, string> = {};

  before(async () => {
    server = await startTestServer();
    const k = server.knex;
    ids.takahashiHigh = await resident(k, { name: '髙橋 一郎', name_kana: 'タカハシ イチロウ' });
    ids.takahashi = await resident(k, { name: '高橋 二郎', name_kana: 'タカハシ ジロウ' });
    ids.saito = await resident(k, { name: '斉藤 花子', name_kana: 'サイトウ ハナコ', sex: '2' });
    ids.watanabe = await resident(k, { name: '渡辺 太郎', name_kana: 'ワタナベ タロウ' });
    ids.watanabeVariant = await resident(k, { name: '渡邉 太郎', name_kana: 'ワタナベ タロウ' });
    ids.heisei1 = await resident(k, { name: '平成 始', name_kana: 'ヘイセイ ハジメ', birth_date: '1989-01-08' });
    ids.showa64 = await resident(k, { name: '昭和 終', name_kana: 'ショウワ オワリ', birth_date: '1989-01-07' });
    ids.kyoko = await resident(k, { name: '京子 山本', name_kana: 'ヤマモト キョウコ', sex: '2' });
    ids.moved = await resident(k, { name: '転出 済子', name_kana: 'テンシュツ スミコ', resident_status: '2' });
    ids.foreign = await resident(k, {
      name: 'SMITH JOHN',
      name_kana: 'スミス ジョン',
      resident_kind: '2',
      alias: '鈴木 次郎',
      name_roman: 'SMITH JOHN',
    });
    ids.midori = await resident(k, {
      name: '緑 丘子',
      name_kana: 'ミドリ オカコ',
      town_name: '緑ケ丘',
      block_number: '2-3-4',
      household_no: 'HHP',
    });
    ids.midoriChild = await resident(k, {
      name: '緑 小丘',
      name_kana: 'ミドリ コオカ',
      town_name: '緑ケ丘',
      block_number: '2-3-4',
      household_no: 'HHP',
      relationship_code1: '02',
    });
    ids.neighbour = await resident(k, {
      name: '隣 同居',
      name_kana: 'トナリ ドウキョ',
      town_name: '緑ケ丘',
      block_number: '2-3-4',
      household_no: 'HHQ',
    });
    await k('support_measures').insert({ addressee_no: ids.midori, measure_code: '1', start_date: '2024-01-01' });
    await k('entitlements').insert([
      { kind: 'nationalHealthInsurance', addressee_no: ids.saito, insured_no: '77', acquired_date: '2001-04-01' },
      { kind: 'longTermCare', addressee_no: ids.saito, acquired_date: '2020-01-01' },
    ]);
    await k('non_residents').insert({
      addressee_no: '300000000001',
      name: '固定 資産',
      name_kana: 'コテイ シサン',
      ...derivedKeys.non_residents!({ name: '固定 資産', name_kana: 'コテイ シサン' }),
    });
    await k('corporations').insert({
      addressee_no: '400000000001',
      name: '株式会社まどぐち',
      name_kana: 'マドグチ',
      ...derivedKeys.corporations!({ name: '株式会社まどぐち', name_kana: 'マドグチ' }),
    });
    clerk = await loginAs(server.url, k, ['counter']);
  });
  after(async () => {
    await server.close();
  });

  const api = async (query: string, who: LoggedIn = clerk): Promise<Search> => {
    const res = await getAs(`${server.url}api/v1/residents?${query}`, who);
    expect(res.status, await res.clone().text()).to.equal(200);
    return (await res.json()) as Search;
  };

  it('finds 髙橋 by 高橋 (flagged, after the exact hit) and the other way round', async () => {
    const r = await api(`name=${encodeURIComponent('高橋一郎')}`);
    expect(r.results.map((x) => [x.name, x.match])).to.deep.equal([['髙橋 一郎', 'variant']]);
    const exact = await api(`name=${encodeURIComponent('髙橋 一郎')}`);
    expect(exact.results.map((x) => [x.name, x.match])).to.deep.equal([['髙橋 一郎', 'exact']]);
  });

  it('finds by surname alone (prefix of the name), exact spellings before variants', async () => {
    const r = await api(`name=${encodeURIComponent('高橋')}`);
    expect(r.results.map((x) => [x.name, x.match])).to.deep.equal([
      ['高橋 二郎', 'exact'],
      ['髙橋 一郎', 'variant'],
    ]);
    // 緑ケ丘2-3-4 is a protected address: only 支援措置担当 finds who lives there (issue 15, no oracle).
    const shien = await loginAs(server.url, server.knex, ['supportMeasures']);
    expect((await api(`address=${encodeURIComponent('熊本県窓口郡まどぐち町緑ケ丘2-3-4')}`, shien)).total).to.equal(3);
    expect((await api(`address=${encodeURIComponent('熊本県窓口郡まどぐち町緑ケ丘2-3-4')}`)).total).to.equal(0);
  });

  it('ranks 渡辺 (exact) before 渡邉 (variant fallback) when searching 辺', async () => {
    const r = await api(`name=${encodeURIComponent('渡辺 太郎')}`);
    expect(r.results.map((x) => [x.name, x.match])).to.deep.equal([
      ['渡辺 太郎', 'exact'],
      ['渡邉 太郎', 'variant'],
    ]);
  });

  it('treats kana forms and widths as equal: ｻｲﾄｳ and さいとう find サイトウ; small kana is a flagged fallback', async () => {
    for (const kana of ['ｻｲﾄｳ', 'さいとう', 'サイトウ', 'サイ　トウ']) {
      const r = await api(`kana=${encodeURIComponent(kana)}`);
      expect(
        r.results.map((x) => x.addresseeNo),
        kana,
      ).to.deep.equal([ids.saito]);
      expect(r.results[0]!.match).to.equal('exact');
    }
    const slip = await api(`kana=${encodeURIComponent('やまもと きようこ')}`);
    expect(slip.results.map((x) => [x.addresseeNo, x.match])).to.deep.equal([[ids.kyoko, 'kanaFold']]);
  });

  it('reads 和暦 birth dates: H1.1.8, 平成元年1月8日 and 4010108 find the same person; S64.1.8 is refused', async () => {
    const forms = ['H1.1.8', '平成元年1月8日', '4010108', '1989-01-08'];
    for (const f of forms) {
      const r = await api(`birthDate=${encodeURIComponent(f)}`);
      expect(
        r.results.map((x) => x.addresseeNo),
        f,
      ).to.deep.equal([ids.heisei1]);
      expect(r.understood).to.deep.equal(['生年月日 平成元年1月8日']);
    }
    expect((await api('birthDate=010108&era=H')).results.map((x) => x.addresseeNo)).to.deep.equal([ids.heisei1]);
    const year = await api(`birthDate=S64`);
    expect(year.results.map((x) => x.addresseeNo)).to.deep.equal([ids.showa64]);
    const bad = await getAs(`${server.url}api/v1/residents?birthDate=S64.1.8`, clerk);
    expect(bad.status).to.equal(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).to.contain('昭和の期間外です');
  });

  it('matches normalized addresses, filters by sex, pages, and searches each target', async () => {
    const addr = await api(
      `address=${encodeURIComponent('緑ヶ丘二丁目3番地の4')}`,
      await loginAs(server.url, server.knex, ['supportMeasures']),
    );
    expect(addr.results.map((x) => x.addresseeNo).sort()).to.deep.equal([ids.midori, ids.midoriChild, ids.neighbour].sort());
    expect((await api(`kana=${encodeURIComponent('た')}&sex=1`)).results.every((x) => x.nameKana!.startsWith('タ'))).to.equal(true);
    const p1 = await api('kana=%E3%81%9F&pageSize=1&page=1');
    const p2 = await api('kana=%E3%81%9F&pageSize=1&page=2');
    expect(p1.total).to.equal(2);
    expect([p1.results[0]!.name, p2.results[0]!.name]).to.deep.equal(['髙橋 一郎', '高橋 二郎']);
    expect((await api('kana=%E3%81%A6%E3%82%93')).results).to.deep.equal([]);
    expect((await api('kana=%E3%81%A6%E3%82%93&target=former')).results.map((x) => [x.addresseeNo, x.status])).to.deep.equal([
      [ids.moved, '転出者'],
    ]);
    expect((await api(`name=${encodeURIComponent('鈴木次郎')}&target=foreign`)).results.map((x) => x.addresseeNo)).to.deep.equal([
      ids.foreign,
    ]);
    expect((await api(`name=${encodeURIComponent('smith john')}&target=foreign`)).results.map((x) => x.addresseeNo)).to.deep.equal([
      ids.foreign,
    ]);
    expect((await api('kana=%E3%81%93%E3%81%A6%E3%81%84&target=nonResidents')).results.map((x) => [x.addresseeNo, x.kind])).to.deep.equal([
      ['300000000001', 'nonResident'],
    ]);
    expect((await api('kana=%E3%81%BE%E3%81%A9&target=corporations')).results.map((x) => [x.name, x.kind])).to.deep.equal([
      ['株式会社まどぐち', 'corporation'],
    ]);
    const missing = await getAs(`${server.url}api/v1/residents?target=residents`, clerk);
    expect(missing.status).to.equal(400);
    expect(((await missing.json()) as { error: { message: string } }).error.message).to.equal(
      '氏名・カナ・生年月日・住所のいずれかを入力してください',
    );
  });

  it('filters entitlements by the active role and masks a protected household in page, API and audit', async () => {
    expect((await api('kana=%E3%81%95%E3%81%84%E3%81%A8%E3%81%86')).results[0]!.entitlements).to.deep.equal([
      'longTermCare',
      'nationalHealthInsurance',
    ]);
    await createStaff(server.knex, {
      loginId: 'hoken1',
      displayName: '保険 係',
      section: '保険年金課',
      password: 'Hoken-pass-001',
      groups: ['insurance'],
      mustChangePassword: false,
    });
    const hoken = await loginWith(server.url, server.knex, 'hoken1', 'Hoken-pass-001');
    expect((await api('kana=%E3%81%95%E3%81%84%E3%81%A8%E3%81%86', hoken)).results[0]!.entitlements).to.deep.equal([
      'nationalHealthInsurance',
    ]);
    const hokenPage = await (await getAs(`${server.url}residents/${ids.saito}`, hoken)).text();
    expect(hokenPage).to.contain('国民健康保険').and.not.contain('介護保険</td>');

    const r = await api('kana=%E3%81%BF%E3%81%A9%E3%82%8A');
    expect(r.results.map((x) => [x.address, x.addressMasked])).to.deep.equal([
      [MASKED_ADDRESS, true],
      [MASKED_ADDRESS, true],
    ]);
    // Another household registered at the same address shares it: searching them must not reveal it.
    const neighbour = await api(`kana=${encodeURIComponent('となり')}`);
    expect(neighbour.results.map((x) => [x.address, x.addressMasked])).to.deep.equal([[MASKED_ADDRESS, true]]);
    const neighbourPage = await (await getAs(`${server.url}residents/${ids.neighbour}`, clerk)).text();
    expect(neighbourPage).to.contain('同じ住所に支援措置の対象者がいます');
    for (const path of [
      `residents/${ids.midoriChild}`,
      `residents/${ids.neighbour}`,
      `search?kana=${encodeURIComponent('みどり')}`,
      `search?kana=${encodeURIComponent('となり')}`,
      `api/v1/residents/${ids.midoriChild}`,
      `api/v1/residents/${ids.neighbour}`,
    ]) {
      const body = await (await getAs(`${server.url}${path}`, clerk)).text();
      expect(body, path).to.not.contain('緑ケ丘').and.not.contain('2-3-4');
    }
    const page = await (await getAs(`${server.url}residents/${ids.midori}`, clerk)).text();
    expect(page.indexOf('id="warnings"')).to.be.greaterThan(-1).and.lessThan(page.indexOf('id="person"'));
    expect(page).to.contain('支援措置').and.contain(MASKED_ADDRESS);
    const shien = await loginAs(server.url, server.knex, ['supportMeasures']);
    expect(await (await getAs(`${server.url}residents/${ids.midori}`, shien)).text()).to.contain('緑ケ丘2-3-4');
    const audit = JSON.stringify(await server.knex('audit_trail').select());
    expect(audit).to.not.contain('緑ケ丘');
  });

  it('audits every search and every person view with the people shown', async () => {
    const before = (await server.knex('audit_trail').whereIn('action', ['resident.search', 'resident.view']).count({ n: '*' }).first()) as {
      n: number;
    };
    await api('kana=%E3%82%8F%E3%81%9F%E3%81%AA%E3%81%B9');
    await getAs(`${server.url}search?kana=${encodeURIComponent('わたなべ')}`, clerk);
    await getAs(`${server.url}residents/${ids.watanabe}`, clerk);
    await getAs(`${server.url}api/v1/residents/${ids.watanabe}`, clerk);
    const rows = (await server
      .knex('audit_trail')
      .whereIn('action', ['resident.search', 'resident.view'])
      .orderBy('seq')
      .offset(Number(before.n))) as { action: string; target_ids: string; staff_login: string }[];
    expect(rows.map((x) => x.action)).to.deep.equal(['resident.search', 'resident.search', 'resident.view', 'resident.view']);
    expect(JSON.parse(rows[0]!.target_ids)).to.deep.equal([ids.watanabe, ids.watanabeVariant]);
    expect(JSON.parse(rows[2]!.target_ids)).to.include(ids.watanabe);
  });
});
