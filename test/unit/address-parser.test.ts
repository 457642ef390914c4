import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { isValidMunicipalityCode } from '../../server/src/domain/addresseeNo.js';
import {
  LocalGovernmentListError,
  localGovernments,
  localGovernmentsFile,
  parseAddress,
  parseLocalGovernments,
  type AddressParseError,
  type ParsedAddress,
} from '../../server/src/domain/addressParser.js';

const ok = (text: string): ParsedAddress => {
  const r = parseAddress(text);
  if ('error' in r) expect.fail(`「${text}」: ${r.error}`);
  return r;
};
const refused = (text: string): string => {
  const r = parseAddress(text);
  expect(r, text).to.have.property('error');
  return (r as AddressParseError).error;
};
/** The parts after the 市区町村, without `whole` and the 市区町村 (for compact expectations). */
const rest = (r: ParsedAddress) => {
  const { town, chome, banchi, go, suffix } = r;
  return Object.fromEntries(Object.entries({ town, chome, banchi, go, suffix }).filter(([, v]) => v !== undefined));
};

describe('address parser: the local-government list (server/data/local-governments.csv)', () => {
  const list = localGovernments();

  it('has every body once, with valid check digits, in the expected number', () => {
    expect(list.length).to.be.within(1900, 2100);
    for (const g of list) expect(isValidMunicipalityCode(g.code), g.code).to.equal(true);
    expect(new Set(list.map((g) => g.code)).size).to.equal(list.length);
    const count = (kind: string) => list.filter((g) => g.kind === kind).length;
    expect(count('都道府県')).to.equal(47);
    expect(count('政令市')).to.equal(20);
    expect(count('特別区')).to.equal(23);
    expect(count('市')).to.be.within(760, 780); // 792 市 with the 20 政令市
    expect(count('町') + count('村')).to.be.within(900, 950);
    expect(count('区')).to.be.within(165, 180);
  });

  it('has all 47 prefectures with their JIS codes, and every other body under one of them', () => {
    const prefs = list.filter((g) => g.kind === '都道府県');
    expect(prefs.map((p) => p.code.slice(0, 2))).to.deep.equal(Array.from({ length: 47 }, (_, i) => String(i + 1).padStart(2, '0')));
    expect(prefs[0]!.name).to.equal('北海道');
    expect(prefs[12]!.name).to.equal('東京都');
    expect(prefs[46]!.name).to.equal('沖縄県');
    const byCode = new Map(prefs.map((p) => [p.code.slice(0, 2), p.name]));
    for (const g of list) expect(g.prefecture, g.code).to.equal(byCode.get(g.code.slice(0, 2)));
  });

  it('has the 政令市 with their 区 as they are now (浜松市 since 2024: 中央区, 浜名区, 天竜区)', () => {
    const cities = list.filter((g) => g.kind === '政令市');
    for (const c of cities) expect(list.some((w) => w.kind === '区' && w.city === c.name && w.prefecture === c.prefecture)).to.equal(true);
    const hamamatsu = list.filter((w) => w.kind === '区' && w.city === '浜松市');
    expect(hamamatsu.map((w) => `${w.code} ${w.name}`)).to.deep.equal(['221384 中央区', '221392 浜名区', '221406 天竜区']);
    expect(list.filter((w) => w.kind === '区' && w.city === '横浜市')).to.have.length(18);
  });

  it('names the 郡 of every 町村 (the 東京都 islands have none), and gives readings', () => {
    const noCounty = list.filter((g) => (g.kind === '町' || g.kind === '村') && !g.county);
    expect(noCounty.every((g) => g.prefecture === '東京都')).to.equal(true);
    expect(noCounty.map((g) => g.name)).to.include.members(['大島町', '八丈町', '小笠原村']);
    const toyako = list.find((g) => g.name === '洞爺湖町')!;
    expect(toyako).to.include({ code: '015849', county: '虻田郡', kind: '町', kana: 'とうやこちょう' });
    for (const g of list) expect(g.kana, g.code).to.match(/^[\u3041-\u309F]+$/);
  });

  it('states its source and date in the file', () => {
    const head = readFileSync(localGovernmentsFile(), 'utf8').split('\n').slice(0, 4).join('\n');
    expect(head)
      .to.match(/総務省/)
      .and.match(/KEN_ALL/)
      .and.match(/作成: \d{4}-\d{2}-\d{2}/);
  });

  it('refuses a list with a bad check digit, a duplicate or an unknown 政令市, naming the line', () => {
    const header = '団体コード,種別,都道府県,郡,市,名称,よみ,別表記';
    const pref = '130001,都道府県,東京都,,,東京都,とうきょうと,';
    expect(() => parseLocalGovernments(`${header}\n${pref}\n131017,特別区,東京都,,,千代田区,ちよだく,\n`, 'x.csv'))
      .to.throw(LocalGovernmentListError)
      .with.property('message', 'x.csv:3: 団体コード「131017」は 6 桁で検査数字が合う番号ではありません');
    expect(() => parseLocalGovernments(`# c\n${header}\n${pref}\n${pref}\n`, 'x.csv')).to.throw(
      'x.csv:4: 団体コード 130001 は 3 行目にもあります',
    );
    expect(() => parseLocalGovernments(`${header}\n${pref}\n131016,区,東京都,,東京市,千代田区,ちよだく,\n`, 'x.csv')).to.throw(
      'x.csv:3: 政令市「東京市」が東京都にありません',
    );
    expect(() => parseLocalGovernments('code,name\n', 'x.csv')).to.throw('x.csv:1: 見出しは');
  });

  it('reads back every body written with its 都道府県 (and 郡 or 政令市), and without it unless the name is shared; a 政令市 needs its 区', () => {
    const shared: string[] = [];
    for (const g of list) {
      if (g.kind === '都道府県') continue;
      if (g.kind === '政令市') {
        expect(refused(`${g.prefecture}${g.name}`)).to.match(/の後に区名がありません/);
        continue;
      }
      const written = g.kind === '区' ? `${g.city}${g.name}` : `${g.county}${g.name}`;
      const r = ok(`${g.prefecture}${written}`);
      expect(r.prefecture.code, written).to.equal(g.code.slice(0, 2));
      expect(r.municipality.ward?.code ?? r.municipality.code, written).to.equal(g.code);
      if (g.county && g.name !== '泊村') expect(ok(`${g.prefecture}${g.name}`).municipality.code, g.name).to.equal(g.code);
      const bare = parseAddress(written);
      if ('error' in bare) {
        expect(bare.error, written).to.match(/複数の都道府県にあります/);
        expect(bare.error).to.include(g.prefecture);
        shared.push(written);
      } else expect(bare.municipality.ward?.code ?? bare.municipality.code, written).to.equal(g.code);
    }
    expect(shared).to.include.members(['府中市', '伊達市']);
    expect(shared.length).to.be.below(60);
  });
});

describe('address parser: 都道府県 (each prefectural office)', () => {
  // [address, JIS code, 市区町村, its code, 区, parts after it]
  const offices: [string, string, string, string, string | undefined, ReturnType<typeof rest>][] = [
    ['北海道札幌市中央区北3条西6丁目', '01', '札幌市', '011002', '中央区', { town: '北3条西', chome: '6' }],
    ['青森県青森市長島一丁目1番1号', '02', '青森市', '022012', undefined, { town: '長島', chome: '1', banchi: '1', go: '1' }],
    ['岩手県盛岡市内丸10番1号', '03', '盛岡市', '032018', undefined, { town: '内丸', banchi: '10', go: '1' }],
    ['宮城県仙台市青葉区本町三丁目8番1号', '04', '仙台市', '041009', '青葉区', { town: '本町', chome: '3', banchi: '8', go: '1' }],
    ['秋田県秋田市山王四丁目1番1号', '05', '秋田市', '052019', undefined, { town: '山王', chome: '4', banchi: '1', go: '1' }],
    ['山形県山形市松波二丁目8番1号', '06', '山形市', '062014', undefined, { town: '松波', chome: '2', banchi: '8', go: '1' }],
    ['福島県福島市杉妻町2番16号', '07', '福島市', '072010', undefined, { town: '杉妻町', banchi: '2', go: '16' }],
    ['茨城県水戸市笠原町978番6', '08', '水戸市', '082015', undefined, { town: '笠原町', banchi: '978', go: '6' }],
    ['栃木県宇都宮市塙田1丁目1番20号', '09', '宇都宮市', '092011', undefined, { town: '塙田', chome: '1', banchi: '1', go: '20' }],
    ['群馬県前橋市大手町1丁目1番1号', '10', '前橋市', '102016', undefined, { town: '大手町', chome: '1', banchi: '1', go: '1' }],
    ['埼玉県さいたま市浦和区高砂3丁目15番1号', '11', 'さいたま市', '111007', '浦和区', { town: '高砂', chome: '3', banchi: '15', go: '1' }],
    ['千葉県千葉市中央区市場町1番1号', '12', '千葉市', '121002', '中央区', { town: '市場町', banchi: '1', go: '1' }],
    ['東京都新宿区西新宿二丁目8番1号', '13', '新宿区', '131041', undefined, { town: '西新宿', chome: '2', banchi: '8', go: '1' }],
    ['神奈川県横浜市中区日本大通1', '14', '横浜市', '141003', '中区', { town: '日本大通', banchi: '1' }],
    ['新潟県新潟市中央区新光町4番地1', '15', '新潟市', '151009', '中央区', { town: '新光町', banchi: '4', go: '1' }],
    ['富山県富山市新総曲輪1番7号', '16', '富山市', '162019', undefined, { town: '新総曲輪', banchi: '1', go: '7' }],
    ['石川県金沢市鞍月1丁目1番地', '17', '金沢市', '172014', undefined, { town: '鞍月', chome: '1', banchi: '1' }],
    ['福井県福井市大手3丁目17番1号', '18', '福井市', '182010', undefined, { town: '大手', chome: '3', banchi: '17', go: '1' }],
    ['山梨県甲府市丸の内一丁目6番1号', '19', '甲府市', '192015', undefined, { town: '丸の内', chome: '1', banchi: '6', go: '1' }],
    ['長野県長野市大字南長野字幅下692-2', '20', '長野市', '202011', undefined, { town: '大字南長野字幅下', banchi: '692', go: '2' }],
    ['岐阜県岐阜市薮田南2丁目1番1号', '21', '岐阜市', '212016', undefined, { town: '薮田南', chome: '2', banchi: '1', go: '1' }],
    ['静岡県静岡市葵区追手町9番6号', '22', '静岡市', '221007', '葵区', { town: '追手町', banchi: '9', go: '6' }],
    ['愛知県名古屋市中区三の丸三丁目1番2号', '23', '名古屋市', '231002', '中区', { town: '三の丸', chome: '3', banchi: '1', go: '2' }],
    ['三重県津市広明町13番地', '24', '津市', '242012', undefined, { town: '広明町', banchi: '13' }],
    ['滋賀県大津市京町四丁目1番1号', '25', '大津市', '252018', undefined, { town: '京町', chome: '4', banchi: '1', go: '1' }],
    ['京都府京都市上京区下立売通新町西入薮ノ内町', '26', '京都市', '261009', '上京区', { town: '下立売通新町西入薮ノ内町' }],
    ['大阪府大阪市中央区大手前2丁目', '27', '大阪市', '271004', '中央区', { town: '大手前', chome: '2' }],
    ['兵庫県神戸市中央区下山手通5丁目10番1号', '28', '神戸市', '281000', '中央区', { town: '下山手通', chome: '5', banchi: '10', go: '1' }],
    ['奈良県奈良市登大路町30番地', '29', '奈良市', '292010', undefined, { town: '登大路町', banchi: '30' }],
    ['和歌山県和歌山市小松原通一丁目1番地', '30', '和歌山市', '302015', undefined, { town: '小松原通', chome: '1', banchi: '1' }],
    ['鳥取県鳥取市東町一丁目220', '31', '鳥取市', '312011', undefined, { town: '東町', chome: '1', banchi: '220' }],
    ['島根県松江市殿町1番地', '32', '松江市', '322016', undefined, { town: '殿町', banchi: '1' }],
    ['岡山県岡山市北区内山下2丁目4番6号', '33', '岡山市', '331007', '北区', { town: '内山下', chome: '2', banchi: '4', go: '6' }],
    ['広島県広島市中区基町10番52号', '34', '広島市', '341002', '中区', { town: '基町', banchi: '10', go: '52' }],
    ['山口県山口市滝町1番1号', '35', '山口市', '352039', undefined, { town: '滝町', banchi: '1', go: '1' }],
    ['徳島県徳島市万代町1丁目1番地', '36', '徳島市', '362018', undefined, { town: '万代町', chome: '1', banchi: '1' }],
    ['香川県高松市番町四丁目1番10号', '37', '高松市', '372013', undefined, { town: '番町', chome: '4', banchi: '1', go: '10' }],
    ['愛媛県松山市一番町4丁目4-2', '38', '松山市', '382019', undefined, { town: '一番町', chome: '4', banchi: '4', go: '2' }],
    ['高知県高知市丸ノ内1丁目2番20号', '39', '高知市', '392014', undefined, { town: '丸ノ内', chome: '1', banchi: '2', go: '20' }],
    ['福岡県福岡市博多区東公園7番7号', '40', '福岡市', '401307', '博多区', { town: '東公園', banchi: '7', go: '7' }],
    ['佐賀県佐賀市城内1丁目1番59号', '41', '佐賀市', '412015', undefined, { town: '城内', chome: '1', banchi: '1', go: '59' }],
    ['長崎県長崎市尾上町3番1号', '42', '長崎市', '422011', undefined, { town: '尾上町', banchi: '3', go: '1' }],
    ['熊本県熊本市中央区水前寺6丁目18番1号', '43', '熊本市', '431001', '中央区', { town: '水前寺', chome: '6', banchi: '18', go: '1' }],
    ['大分県大分市大手町3丁目1番1号', '44', '大分市', '442011', undefined, { town: '大手町', chome: '3', banchi: '1', go: '1' }],
    ['宮崎県宮崎市橘通東2丁目10番1号', '45', '宮崎市', '452017', undefined, { town: '橘通東', chome: '2', banchi: '10', go: '1' }],
    ['鹿児島県鹿児島市鴨池新町10番1号', '46', '鹿児島市', '462012', undefined, { town: '鴨池新町', banchi: '10', go: '1' }],
    ['沖縄県那覇市泉崎1丁目2番2号', '47', '那覇市', '472018', undefined, { town: '泉崎', chome: '1', banchi: '2', go: '2' }],
  ];

  it('covers all 47', () => {
    expect(new Set(offices.map((o) => o[1])).size).to.equal(47);
  });

  for (const [address, pref, name, code, ward, parts] of offices) {
    it(address, () => {
      const r = ok(address);
      expect(r.whole).to.equal(address);
      expect(r.prefecture.code).to.equal(pref);
      expect(r.prefecture.name).to.equal(localGovernments().find((g) => g.kind === '都道府県' && g.code.startsWith(pref))!.name);
      expect(r.municipality).to.include({ name, code });
      expect(r.municipality.ward?.name).to.equal(ward);
      expect(rest(r)).to.deep.equal(parts);
    });
  }

  it('fills in the 都道府県 when the 市区町村 name is unique in the country', () => {
    const r = ok('横浜市中区日本大通1');
    expect(r.prefecture).to.deep.equal({ name: '神奈川県', code: '14' });
    expect(r.municipality).to.deep.equal({ name: '横浜市', code: '141003', ward: { name: '中区', code: '141046' } });
    expect(ok('鹿児島市鴨池新町10番1号').prefecture).to.deep.equal({ name: '鹿児島県', code: '46' });
  });
});

describe('address parser: 政令市の区 (all 20)', () => {
  const cases: [string, string, string, string, string][] = [
    ['札幌市中央区北1条西2丁目', '01', '札幌市', '中央区', '011011'],
    ['仙台市青葉区国分町三丁目7番1号', '04', '仙台市', '青葉区', '041017'],
    ['さいたま市浦和区常盤6丁目4番4号', '11', 'さいたま市', '浦和区', '111074'],
    ['千葉市中央区千葉港1番1号', '12', '千葉市', '中央区', '121011'],
    ['横浜市中区本町6丁目50番地の10', '14', '横浜市', '中区', '141046'],
    ['川崎市川崎区宮本町1番地', '14', '川崎市', '川崎区', '141313'],
    ['相模原市中央区中央2丁目11番15号', '14', '相模原市', '中央区', '141526'],
    ['新潟市中央区学校町通1番町602番地1', '15', '新潟市', '中央区', '151033'],
    ['静岡市葵区追手町5番1号', '22', '静岡市', '葵区', '221015'],
    ['浜松市中央区元城町103番地の2', '22', '浜松市', '中央区', '221384'],
    ['名古屋市中区三の丸三丁目1番1号', '23', '名古屋市', '中区', '231061'],
    ['京都市中京区寺町通御池上る上本能寺前町488番地', '26', '京都市', '中京区', '261041'],
    ['大阪市北区中之島1丁目3番20号', '27', '大阪市', '北区', '271276'],
    ['堺市堺区南瓦町3番1号', '27', '堺市', '堺区', '271411'],
    ['神戸市中央区加納町6丁目5番1号', '28', '神戸市', '中央区', '281107'],
    ['岡山市北区大供一丁目1番1号', '33', '岡山市', '北区', '331015'],
    ['広島市中区国泰寺町一丁目6番34号', '34', '広島市', '中区', '341011'],
    ['北九州市小倉北区城内1番1号', '40', '北九州市', '小倉北区', '401064'],
    ['福岡市中央区天神1丁目8番1号', '40', '福岡市', '中央区', '401331'],
    ['熊本市中央区手取本町1番1号', '43', '熊本市', '中央区', '431010'],
  ];

  it('covers every 政令市', () => {
    const cities = localGovernments()
      .filter((g) => g.kind === '政令市')
      .map((g) => g.name);
    expect(cases.map((c) => c[2])).to.have.members(cities);
  });

  for (const [address, pref, city, ward, code] of cases) {
    it(address, () => {
      const r = ok(address);
      expect(r.prefecture.code).to.equal(pref);
      expect(r.municipality.name).to.equal(city);
      expect(r.municipality.ward).to.deep.equal({ name: ward, code });
    });
  }

  it('keeps 番町 and 条 in the 町字 (新潟市 学校町通1番町, 札幌市 北1条西)', () => {
    expect(rest(ok('新潟市中央区学校町通1番町602番地1'))).to.deep.equal({ town: '学校町通1番町', banchi: '602', go: '1' });
    expect(rest(ok('札幌市中央区北1条西2丁目1番地'))).to.deep.equal({ town: '北1条西', chome: '2', banchi: '1' });
    expect(rest(ok('京都市中京区寺町通御池上る上本能寺前町488番地'))).to.deep.equal({ town: '寺町通御池上る上本能寺前町', banchi: '488' });
  });

  it('refuses a 政令市 without its 区, and a 区 it does not have (浜松市中区 ended in 2024)', () => {
    expect(refused('静岡県浜松市元城町103')).to.equal('浜松市の後に区名がありません (中央区、浜名区、天竜区)');
    expect(refused('浜松市中区元城町103-2')).to.equal('区名「中区」は浜松市にありません (中央区、浜名区、天竜区)');
    expect(refused('大阪市')).to.match(/^大阪市の後に区名がありません \(都島区、/);
  });

  it('reads a bare ward name as the 東京都 特別区, and 特別区 with or without 東京都', () => {
    expect(ok('中央区銀座1-2-3').municipality).to.deep.equal({ name: '中央区', code: '131024' });
    expect(ok('東京都北区赤羽1-2').municipality).to.deep.equal({ name: '北区', code: '131172' });
  });
});

describe('address parser: 郡', () => {
  it('parses a 町村 with and without its 郡 name', () => {
    for (const address of [
      '北海道洞爺湖町栄町58番地',
      '北海道虻田郡洞爺湖町栄町58番地',
      '虻田郡洞爺湖町栄町58番地',
      '洞爺湖町栄町58番地',
    ]) {
      const r = ok(address);
      expect(r.prefecture, address).to.deep.equal({ name: '北海道', code: '01' });
      expect(r.municipality, address).to.deep.equal({ name: '洞爺湖町', code: '015849', county: '虻田郡' });
      expect(rest(r), address).to.deep.equal({ town: '栄町', banchi: '58' });
    }
  });

  it('tells apart same-named 町村 by 都道府県 or 郡', () => {
    expect(ok('和歌山県日高郡日高町').municipality).to.deep.equal({ name: '日高町', code: '303828', county: '日高郡' });
    expect(ok('日高郡日高町').prefecture.name).to.equal('和歌山県');
    expect(ok('沙流郡日高町').prefecture.name).to.equal('北海道');
    expect(ok('北海道古宇郡泊村').municipality.code).to.equal('014036');
    expect(refused('北海道泊村')).to.equal('市区町村名「泊村」は北海道に複数あります (古宇郡、国後郡)。郡名から入力してください');
  });

  it('reads the 東京都 islands with or without the island name, and 郵便 spellings (檮原町, 須惠町)', () => {
    expect(ok('東京都八丈島八丈町大賀郷2551-2').municipality).to.deep.equal({ name: '八丈町', code: '134015' });
    expect(ok('東京都八丈町大賀郷2551-2').municipality.code).to.equal('134015');
    expect(ok('高知県高岡郡檮原町').municipality).to.deep.equal({ name: '梼原町', code: '394050', county: '高岡郡' });
    expect(ok('福岡県須惠町').municipality.code).to.equal('403440');
  });

  it('refuses a 郡 the 町村 is not in', () => {
    expect(refused('北海道勇払郡洞爺湖町栄町58')).to.equal('市区町村名「勇払郡洞爺湖町」は北海道にありません');
  });
});

describe('address parser: 町字 with 大字/字', () => {
  it('keeps 大字 and 字 as written', () => {
    expect(rest(ok('長野県長野市大字南長野字幅下692-2'))).to.deep.equal({ town: '大字南長野字幅下', banchi: '692', go: '2' });
    expect(rest(ok('埼玉県比企郡嵐山町大字菅谷字東123番地'))).to.deep.equal({ town: '大字菅谷字東', banchi: '123' });
    expect(rest(ok('北海道虻田郡ニセコ町字富士見55'))).to.deep.equal({ town: '字富士見', banchi: '55' });
    expect(rest(ok('岩手県九戸郡洋野町種市第23地割27番地'))).to.deep.equal({ town: '種市第23地割', banchi: '27' });
  });

  it('does not read 漢数字 in a name as a number (一宮, 三田, 九段, 十日町, 一番町)', () => {
    expect(rest(ok('東京都港区三田二丁目3番4号'))).to.deep.equal({ town: '三田', chome: '2', banchi: '3', go: '4' });
    expect(rest(ok('東京都千代田区九段北1-2-3'))).to.deep.equal({ town: '九段北', chome: '1', banchi: '2', go: '3' });
    expect(rest(ok('宮城県仙台市青葉区一番町4-1-3'))).to.deep.equal({ town: '一番町', chome: '4', banchi: '1', go: '3' });
    expect(rest(ok('新潟県十日町市千歳町三丁目3番地'))).to.deep.equal({ town: '千歳町', chome: '3', banchi: '3' });
    expect(ok('一宮市本町2丁目5番6号').municipality.name).to.equal('一宮市');
  });

  it('gives an empty 町字 when the address stops at the 市区町村', () => {
    expect(rest(ok('北海道虻田郡洞爺湖町'))).to.deep.equal({ town: '' });
  });
});

describe('address parser: 丁目・番地・号', () => {
  const town = '東京都千代田区霞が関';
  const forms: [string, ReturnType<typeof rest>][] = [
    ['1丁目2番3号', { town: '霞が関', chome: '1', banchi: '2', go: '3' }],
    ['1-2-3', { town: '霞が関', chome: '1', banchi: '2', go: '3' }],
    ['１－２－３', { town: '霞が関', chome: '1', banchi: '2', go: '3' }],
    ['1−2−3', { town: '霞が関', chome: '1', banchi: '2', go: '3' }],
    ['1‐2‐3', { town: '霞が関', chome: '1', banchi: '2', go: '3' }],
    ['1―2―3', { town: '霞が関', chome: '1', banchi: '2', go: '3' }],
    ['1ー2ー3', { town: '霞が関', chome: '1', banchi: '2', go: '3' }],
    ['１ー２ー３', { town: '霞が関', chome: '1', banchi: '2', go: '3' }],
    ['一丁目二番地三', { town: '霞が関', chome: '1', banchi: '2', go: '3' }],
    ['十二丁目二十三番四号', { town: '霞が関', chome: '12', banchi: '23', go: '4' }],
    ['1丁目2-3', { town: '霞が関', chome: '1', banchi: '2', go: '3' }],
    ['1丁目', { town: '霞が関', chome: '1' }],
    ['2番地の3', { town: '霞が関', banchi: '2', go: '3' }],
    ['2番地', { town: '霞が関', banchi: '2' }],
    ['2番3号', { town: '霞が関', banchi: '2', go: '3' }],
    ['2-3', { town: '霞が関', banchi: '2', go: '3' }],
    ['2の3', { town: '霞が関', banchi: '2', go: '3' }],
    ['2', { town: '霞が関', banchi: '2' }],
    ['０２番地', { town: '霞が関', banchi: '02' }],
    [' 1-2-3', { town: '霞が関', chome: '1', banchi: '2', go: '3' }],
  ];
  for (const [numbers, parts] of forms) {
    it(`「${numbers}」`, () => {
      const r = ok(town + numbers);
      expect(r.whole).to.equal(town + numbers);
      expect(rest(r)).to.deep.equal(parts);
    });
  }

  it('「字東123番地」', () => {
    expect(rest(ok('埼玉県比企郡嵐山町字東123番地'))).to.deep.equal({ town: '字東', banchi: '123' });
    expect(rest(ok('埼玉県比企郡嵐山町字東123番地の4'))).to.deep.equal({ town: '字東', banchi: '123', go: '4' });
  });
});

describe('address parser: 方書', () => {
  const cases: [string, ReturnType<typeof rest>][] = [
    ['東京都千代田区霞が関1-2-3 サンハイツ101号室', { town: '霞が関', chome: '1', banchi: '2', go: '3', suffix: 'サンハイツ101号室' }],
    ['東京都千代田区霞が関1丁目2番3号メゾン緑201', { town: '霞が関', chome: '1', banchi: '2', go: '3', suffix: 'メゾン緑201' }],
    ['東京都千代田区霞が関1-2-3　コーポ　さくら 203', { town: '霞が関', chome: '1', banchi: '2', go: '3', suffix: 'コーポ　さくら 203' }],
    ['東京都千代田区霞が関1-2-3-405', { town: '霞が関', chome: '1', banchi: '2', go: '3', suffix: '405' }],
    ['東京都千代田区霞が関1-2-3 405', { town: '霞が関', chome: '1', banchi: '2', go: '3', suffix: '405' }],
    ['東京都千代田区霞が関2番地の3グリーンハイツ', { town: '霞が関', banchi: '2', go: '3', suffix: 'グリーンハイツ' }],
    ['東京都千代田区霞が関2番地三田ビル', { town: '霞が関', banchi: '2', suffix: '三田ビル' }],
    ['東京都千代田区霞が関2-3緑荘', { town: '霞が関', banchi: '2', go: '3', suffix: '緑荘' }],
    ['北海道虻田郡洞爺湖町栄町 山田方', { town: '栄町', suffix: '山田方' }],
  ];
  for (const [address, parts] of cases) {
    it(address, () => {
      expect(rest(ok(address))).to.deep.equal(parts);
    });
  }
});

describe('address parser: refusals', () => {
  it('refuses a 市区町村 name found in several 都道府県 when none is typed', () => {
    expect(refused('府中市宮西町2-24')).to.equal(
      '市区町村名「府中市」は複数の都道府県にあります (東京都、広島県)。都道府県から入力してください',
    );
    expect(refused('伊達市')).to.equal('市区町村名「伊達市」は複数の都道府県にあります (北海道、福島県)。都道府県から入力してください');
    expect(ok('東京都府中市宮西町2-24').municipality.code).to.equal('132063');
    expect(ok('広島県府中市府川町315').municipality.code).to.equal('342084');
    expect(ok('福島県伊達市保原町字舟橋180').municipality.code).to.equal('072133');
  });

  it('refuses an unknown 市区町村 naming what was typed', () => {
    expect(refused('東京都ほげ市1-2')).to.equal('市区町村名「ほげ市」は東京都にありません');
    expect(refused('ほげ市1-2')).to.equal('市区町村名「ほげ市」が見つかりません。都道府県から入力してください');
    expect(refused('大字上野字東123番地')).to.equal('市区町村名「大字上野字東」が見つかりません。都道府県から入力してください');
    expect(refused('東京都')).to.equal('東京都の後に市区町村名がありません');
    expect(refused('　')).to.equal('住所が入力されていません');
  });
});

describe('address parser: characters as written', () => {
  it('keeps 𠮷, 髙 and IVS in 町字 and 方書, and `whole` exactly', () => {
    const text = '東京都千代田区𠮷田町1-2-3 髙橋ビル101';
    const r = ok(text);
    expect(r.whole).to.equal(text);
    expect(r.town).to.equal('𠮷田町');
    expect(r.suffix).to.equal('髙橋ビル101');
    const ivs = '神奈川県藤沢市辻\u{E0101}堂1-2 葛\u{E0100}ハイツ';
    const s = ok(ivs);
    expect(s.town).to.equal('辻\u{E0101}堂');
    expect(s.suffix).to.equal('葛\u{E0100}ハイツ');
    expect(s.whole).to.equal(ivs);
  });

  it('matches names through IVS, 異体字, ヶ/ケ, half-width kana and spaces', () => {
    expect(ok('東京都葛\u{E0100}飾区立石5-13-1').municipality.code).to.equal('131229');
    expect(ok('髙知県髙知市丸ノ内1丁目2番20号').prefecture).to.deep.equal({ name: '高知県', code: '39' });
    expect(ok('竜ヶ崎市3710').municipality).to.deep.equal({ name: '龍ケ崎市', code: '082082' });
    expect(ok('千葉県袖ヶ浦市坂戸市場1-1').municipality.name).to.equal('袖ケ浦市');
    // Names as written win over 異体字 folding (嶋→島): 鹿嶋市 is 茨城県's, 鹿島市 佐賀県's.
    expect(ok('鹿嶋市宮中1-1').municipality).to.deep.equal({ name: '鹿嶋市', code: '082228' });
    expect(ok('鹿島市納富分2643-1').municipality).to.deep.equal({ name: '鹿島市', code: '412074' });
    expect(ok('佐賀県鹿嶋市納富分2643-1').municipality.code).to.equal('412074');
    expect(ok('北海道虻田郡ﾆｾｺ町字富士見55').municipality.name).to.equal('ニセコ町');
    const spaced = ok('東京都　千代田区　霞が関 1-1-1');
    expect(spaced.municipality.name).to.equal('千代田区');
    expect(rest(spaced)).to.deep.equal({ town: '霞が関', chome: '1', banchi: '1', go: '1' });
  });

  it('takes a leading postal code apart', () => {
    const r = ok('〒060-8588 北海道札幌市中央区北3条西6丁目');
    expect(r.postalCode).to.equal('0608588');
    expect(r.municipality.ward?.code).to.equal('011011');
  });
});
