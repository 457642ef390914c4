import { Type as T, type Static, type TSchema } from '@sinclair/typebox';
import type { Knex } from 'knex';
import { localGovernments, parseAddress } from '../domain/addressParser.js';
import { relationship as relationshipCodes, sex as sexCodes } from '../domain/codes.js';
import { toWarekiParts } from '../domain/wareki.js';

/**
 * The job payload an RPA agent fills core-system screens from: one documented, versioned shape
 * (JSON Schema below, rendered into docs/manual/rpa.md and written to
 * docs/manual/rpa-payload.schema.json). Scenarios refer to its paths (`subject.birth.eraYear`);
 * `madoguchi-agent validate` checks those paths against this schema, so a misspelled path fails
 * before it reaches a screen. Fields are only ever added within a version; a rename or a removal
 * is a new `version`.
 */
export const PAYLOAD_VERSION = 2;

const Str = (description: string) => T.String({ description });
const NStr = (description: string) => T.Union([T.String(), T.Null()], { description });

/** A date as the core system's screens may want it: 西暦 text and 和暦 parts. */
export const PayloadDate = T.Object(
  {
    iso: Str('西暦 YYYY-MM-DD (暦にない日 1999-02-29 もそのまま)'),
    era: NStr('元号 (令和・平成・昭和・大正・明治)。明治より前や不詳は null'),
    eraLetter: NStr('元号の略字 (R・H・S・T・M)'),
    eraYear: T.Union([T.Integer(), T.Null()], { description: '和暦の年 (元年は 1)' }),
    year: T.Integer({ description: '西暦の年' }),
    month: T.Integer({ description: '月' }),
    day: T.Integer({ description: '日' }),
    wareki: Str('和暦の表記 (令和7年4月1日、元年は「元年」)'),
  },
  { additionalProperties: false, description: '日付 (西暦と和暦の部品)' },
);

export const PayloadCode = T.Object(
  { code: Str('コード (標準の値)'), name: Str('コードの名前') },
  { additionalProperties: false, description: 'コードとその名前' },
);

/** A person of the notice or the certificate line. */
export const PayloadPerson = T.Object(
  {
    addresseeNo: NStr('宛名番号 (住民記録にない人、例えば出生の子や転入者は null)'),
    name: Str('氏名 (登録された文字のまま。外字・IVS を含む)'),
    nameKana: NStr('氏名カナ'),
    birthDate: NStr('生年月日 YYYY-MM-DD'),
    birth: T.Union([PayloadDate, T.Null()], { description: '生年月日の部品 (不詳は null)' }),
    sex: NStr('性別コード (1 男・2 女)'),
    sexCode: T.Union([PayloadCode, T.Null()], { description: '性別のコードと名前' }),
    relationship: NStr('続柄コード (02 世帯主 など)'),
    relationshipCode: T.Union([PayloadCode, T.Null()], { description: '続柄のコードと名前' }),
    moving: T.Boolean({ description: '異動する人 (転入・転出・転居)' }),
    head: T.Boolean({ description: '世帯主' }),
    event: T.Boolean({ description: '出生・死亡の本人' }),
    address: T.Optional(NStr('住民記録上の現住所 (全体。届出の対象者 subject のみ)')),
    registeredHeadName: T.Optional(NStr('住民記録上の世帯主の氏名 (届出の対象者 subject のみ)')),
  },
  { additionalProperties: false, description: '人' },
);

/**
 * An address split the way core-system screens ask for it. In the town: from the address master
 * (codes known). Outside the town: by the address parser (都道府県 and 市区町村 from the national
 * code list, the rest as written). `error` says why it could not be split: a scenario that uses a
 * part of such an address stops for staff instead of typing a guess.
 */
export const PayloadAddress = T.Object(
  {
    whole: Str('住所の全体 (入力・登録されたまま)'),
    prefecture: T.Union([PayloadCode, T.Null()], { description: '都道府県 (コードは JIS 2 桁: 01〜47)' }),
    municipality: T.Union([PayloadCode, T.Null()], {
      description: '市区町村 (コードは全国地方公共団体コード 6 桁。政令市は区の名前 (大阪市北区) と区のコード)',
    }),
    county: NStr('郡 (町村が郡にあるとき)'),
    town: T.Union([T.Object({ code: NStr('町字コード (住所マスタにあるとき)'), name: Str('町字 (大字・字を含む)') }), T.Null()], {
      description: '町字',
    }),
    chome: NStr('丁目 (数字)'),
    banchi: NStr('番地・番 (数字。枝番を含まない)'),
    go: NStr('号・枝番 (数字)'),
    suffix: NStr('方書 (建物名・部屋番号)'),
    afterMunicipality: NStr('市区町村より後ろ (町字・番地・方書) を書かれたまま'),
    postalCode: NStr('郵便番号 7 桁 (分かるとき)'),
    error: NStr('分割できなかった理由 (分割できたときは null)'),
  },
  { additionalProperties: false, description: '住所 (部品に分けたもの)' },
);

export const NoticePayload = T.Object(
  {
    version: T.Literal(PAYLOAD_VERSION, { description: 'ペイロードの版' }),
    reference: Str('まどぐちの受付番号 (MDG-届出番号-連番)。基幹系に参照欄があれば入力する'),
    kind: T.Literal('notice', { description: '`notice` (届出のジョブ)' }),
    type: Str('届出の種類 (moveIn・moveOut・relocation・birth・death など)'),
    noticeId: T.Integer({ description: '届出番号' }),
    effectiveDate: NStr('異動日 YYYY-MM-DD'),
    effective: T.Union([PayloadDate, T.Null()], { description: '異動日の部品' }),
    reportedDate: Str('届出日 YYYY-MM-DD'),
    reported: T.Union([PayloadDate, T.Null()], { description: '届出日の部品' }),
    householdNo: NStr('世帯番号'),
    data: T.Record(T.String(), T.Unknown(), { description: '届出の入力 (previousAddress・newAddress・nextAddress・country・note など)' }),
    subject: PayloadPerson,
    head: T.Union([PayloadPerson, T.Null()], { description: '世帯主' }),
    headName: Str('世帯主の氏名 (世帯主がいなければ本人)'),
    members: T.Array(PayloadPerson, { description: '届出の世帯員 (届出の順。異動しない世帯員も入る)' }),
    movers: T.Array(PayloadPerson, {
      description: '届出で異動する人 (異動・出生・死亡の印のある世帯員。印がなければ全員)。`per: notice` のシナリオが繰り返す',
    }),
    per: T.Union([T.Literal('person'), T.Literal('notice')], {
      description:
        'ジョブの作り方 (`person`: 1 人 1 ジョブ、`notice`: 届出で 1 ジョブ)。シナリオの per と違えば端末は入力せず要対応にする (世帯の二重入力・入力漏れを防ぐ)',
    }),
    addresses: T.Object(
      {
        current: T.Union([PayloadAddress, T.Null()], { description: '本人の登録された住所' }),
        previous: T.Union([PayloadAddress, T.Null()], { description: '従前の住所 (転入・転居)' }),
        new: T.Union([PayloadAddress, T.Null()], { description: '新しい住所 (転入・転居、町内)' }),
        next: T.Union([PayloadAddress, T.Null()], { description: '転出先の住所' }),
      },
      { additionalProperties: false, description: '住所の部品' },
    ),
    householdAddress: NStr('世帯の登録された住所 (全体)'),
    protection: T.Object({ supportMeasure: T.Boolean({ description: '支援措置の対象に関わるジョブ' }) }, { additionalProperties: false }),
  },
  { additionalProperties: false, description: '届出のジョブ' },
);

export const CertificatePayload = T.Object(
  {
    version: T.Literal(PAYLOAD_VERSION, { description: 'ペイロードの版' }),
    reference: Str('まどぐちの受付番号 (MDC-請求番号-行)'),
    kind: T.Literal('certificate', { description: '`certificate` (証明書のジョブ)' }),
    type: Str('証明書の種類 (residentCopy・sealCertificate・incomeTax など)'),
    requestId: T.Integer({ description: '交付請求の番号' }),
    subject: T.Object(
      {
        addresseeNo: NStr('宛名番号'),
        name: Str('氏名'),
        nameKana: NStr('氏名カナ'),
        birthDate: NStr('生年月日'),
        birth: T.Union([PayloadDate, T.Null()]),
        sex: NStr('性別コード'),
        householdNo: T.Optional(NStr('世帯番号')),
        address: NStr('登録された住所 (全体)'),
        addressParts: T.Union([PayloadAddress, T.Null()], { description: '登録された住所の部品' }),
      },
      { additionalProperties: false },
    ),
    copies: T.Integer({ description: '通数' }),
    items: T.Union([T.Array(T.String()), T.Null()], { description: '記載事項 (本籍・続柄など)' }),
    purposeId: NStr('使用目的'),
    options: T.Record(T.String(), T.Unknown(), { description: '証明書ごとの選択 (世帯全員・一部など)' }),
    exempt: T.Boolean({ description: '手数料の免除' }),
    protection: T.Object({ supportMeasure: T.Boolean() }, { additionalProperties: false }),
  },
  { additionalProperties: false, description: '証明書のジョブ' },
);

export const JobPayloadSchema = T.Union([NoticePayload, CertificatePayload], {
  $id: 'https://madoguchi.example/schemas/rpa-payload-v2.json',
  title: 'まどぐち RPA ジョブのペイロード (版 2)',
});
export type NoticePayloadV2 = Static<typeof NoticePayload>;
export type CertificatePayloadV2 = Static<typeof CertificatePayload>;
export type PayloadDateV2 = Static<typeof PayloadDate>;
export type PayloadAddressV2 = Static<typeof PayloadAddress>;

/** A register date as the payload carries it; null for 不詳 or anything that is not YYYY-MM-DD. */
export function payloadDate(iso: string | null | undefined): PayloadDateV2 | null {
  const m = iso ? /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(iso) : null;
  if (!iso || !m) return null;
  const w = toWarekiParts(iso);
  const letters: Record<string, string> = { 令和: 'R', 平成: 'H', 昭和: 'S', 大正: 'T', 明治: 'M' };
  return {
    iso,
    era: w?.era ?? null,
    eraLetter: w ? (letters[w.era] ?? null) : null,
    eraYear: w?.year ?? null,
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    wareki: w ? `${w.era}${w.year === 1 ? '元' : w.year}年${w.month}月${w.day}日` : iso,
  };
}

export const payloadCode = (table: Readonly<Record<string, string>>, code: string | null | undefined) =>
  code && table[code] !== undefined ? { code, name: table[code]! } : null;

/** The extra parts of a person (和暦 birth, code names) beside what the notice holds. */
export function personParts(p: { birthDate: string | null; sex: string | null; relationship: string | null }) {
  return {
    birth: payloadDate(p.birthDate),
    sexCode: payloadCode(sexCodes, p.sex),
    relationshipCode: payloadCode(relationshipCodes, p.relationship),
  };
}

/**
 * The dotted paths a scenario may use, from the schema: `subject.birth.eraYear`, `members[].name`,
 * `data.*` (free). Used by the agent's `validate` to refuse a misspelled path.
 */
export function payloadPaths(schema: TSchema = JobPayloadSchema): Set<string> {
  const out = new Set<string>();
  const walk = (s: TSchema, prefix: string): void => {
    const node = s as { anyOf?: TSchema[]; type?: string; properties?: Record<string, TSchema>; items?: TSchema };
    if (node.anyOf) {
      for (const alt of node.anyOf) walk(alt, prefix);
      return;
    }
    if (prefix) out.add(prefix);
    if (node.type === 'object' && node.properties)
      for (const [k, v] of Object.entries(node.properties)) walk(v, prefix ? `${prefix}.${k}` : k);
    else if (node.type === 'object') out.add(`${prefix}.*`);
    else if (node.type === 'array' && node.items) walk(node.items, `${prefix}[]`);
  };
  walk(schema, '');
  return out;
}

const EMPTY_ADDRESS = {
  prefecture: null,
  municipality: null,
  county: null,
  town: null,
  chome: null,
  banchi: null,
  go: null,
  suffix: null,
  afterMunicipality: null,
  postalCode: null,
};

/** Splits `3番地4` / `3番4号` / `3-4` into 番地 and 号 (digits as written, half-width). */
function splitBlock(block: string | null): { banchi: string | null; go: string | null } {
  if (!block) return { banchi: null, go: null };
  const t = block.normalize('NFKC');
  const m = /^([0-9]+)(?:番地?|[-－ー−‐])?(?:の)?([0-9]+)?(?:号)?$/.exec(t);
  return m ? { banchi: m[1]!, go: m[2] ?? null } : { banchi: t, go: null };
}

function govOf(code: string | null | undefined) {
  if (!code) return undefined;
  return localGovernments().find((g) => g.code === code);
}

/** The columns `registeredAddressParts` reads from a resident row. */
export const REGISTERED_ADDRESS_COLUMNS = [
  'municipality_code',
  'town_code',
  'prefecture',
  'city',
  'town_name',
  'block_number',
  'address_suffix',
  'postal_code',
] as const;

/** The registered address of a resident row, with the 丁目 from the address master. */
export async function registeredAddress(
  trx: Knex | Knex.Transaction,
  r: Record<string, unknown> | undefined,
): Promise<PayloadAddressV2 | null> {
  if (!r) return null;
  const master = r.town_code
    ? ((await trx('address_master')
        .where({ town_code: String(r.town_code) })
        .first('chome')) as { chome: number | null } | undefined)
    : undefined;
  return registeredAddressParts(r, master ?? null);
}

/** A registered address (a resident row): every part from the register, no parsing. */
export function registeredAddressParts(r: Record<string, unknown>, master?: { chome: number | null } | null): PayloadAddressV2 | null {
  const str = (v: unknown) => (v === null || v === undefined || v === '' ? null : String(v));
  const town = str(r.town_name);
  if (!town && !str(r.block_number)) return null;
  const gov = govOf(str(r.municipality_code));
  const prefectureName = str(r.prefecture) ?? gov?.prefecture ?? null;
  const municipalityName = str(r.city) ?? (gov ? `${gov.city}${gov.name}` : null);
  const block = splitBlock(str(r.block_number));
  const after = `${town ?? ''}${str(r.block_number) ?? ''}${r.address_suffix ? ` ${String(r.address_suffix)}` : ''}`;
  return {
    whole: `${prefectureName ?? ''}${municipalityName ?? ''}${after}`,
    prefecture: prefectureName && str(r.municipality_code) ? { name: prefectureName, code: String(r.municipality_code).slice(0, 2) } : null,
    municipality: municipalityName && str(r.municipality_code) ? { name: municipalityName, code: String(r.municipality_code) } : null,
    county: gov?.county || null,
    town: town ? { code: str(r.town_code), name: town } : null,
    chome: master?.chome === null || master?.chome === undefined ? null : String(master.chome),
    ...block,
    suffix: str(r.address_suffix),
    afterMunicipality: after || null,
    postalCode: str(r.postal_code),
    error: null,
  };
}

/** The town itself, as its own residents' rows name it (the demo town is not in the national list). */
export interface HomeMunicipality {
  code: string;
  prefecture: string;
  city: string;
}

export async function homeMunicipality(trx: Knex | Knex.Transaction): Promise<HomeMunicipality | null> {
  const r = (await trx('residents').whereNotNull('city').whereNotNull('prefecture').first('municipality_code', 'prefecture', 'city')) as
    { municipality_code: string; prefecture: string; city: string } | undefined;
  return r && r.municipality_code ? { code: r.municipality_code, prefecture: r.prefecture, city: r.city } : null;
}

// Splits the part after the 市区町村 with the parser's own rules, under a carrier municipality.
const CARRIER = '東京都千代田区';

/**
 * A typed address split for the core system's screens. Out of town: the parser (都道府県 and
 * 市区町村 from the national list, the rest as written). In the town (typed with or without the
 * town's prefecture and name): the town's own codes, the rest split by the same rules, and the
 * 町字 matched in the address master for its code and postal code. One that cannot be split
 * carries `error` (and no parts), so a scenario using a part stops for staff instead of guessing.
 */
export async function typedAddressParts(
  trx: Knex | Knex.Transaction,
  text: string | null | undefined,
  home: HomeMunicipality | null,
): Promise<PayloadAddressV2 | null> {
  if (!text || !text.trim()) return null;
  try {
    return await splitTyped(trx, text, home);
  } catch (e) {
    // Splitting is a help for the screens: it never stops a notice from being accepted.
    return { whole: text, ...EMPTY_ADDRESS, error: `住所を部品に分けられません (${(e as Error).message})` };
  }
}

async function splitTyped(trx: Knex | Knex.Transaction, text: string, home: HomeMunicipality | null): Promise<PayloadAddressV2> {
  const t = text.trim();
  const homeTail = home
    ? t.startsWith(home.prefecture + home.city)
      ? t.slice((home.prefecture + home.city).length)
      : t.startsWith(home.city)
        ? t.slice(home.city.length)
        : null
    : null;
  const parsed = homeTail === null ? parseAddress(t) : undefined;
  if (parsed && !('error' in parsed)) {
    const ward = parsed.municipality.ward;
    const municipality = ward
      ? { name: `${parsed.municipality.name}${ward.name}`, code: ward.code }
      : { name: parsed.municipality.name, code: parsed.municipality.code };
    const at = t.indexOf(ward ? ward.name : parsed.municipality.name);
    const after = at >= 0 ? t.slice(at + (ward ? ward.name : parsed.municipality.name).length).trim() : '';
    return {
      whole: text,
      prefecture: parsed.prefecture,
      municipality,
      county: parsed.municipality.county || null,
      town: parsed.town ? { code: null, name: parsed.town } : null,
      chome: parsed.chome ?? null,
      banchi: parsed.banchi ?? null,
      go: parsed.go ?? null,
      suffix: parsed.suffix ?? null,
      afterMunicipality: after || null,
      postalCode: parsed.postalCode ?? null,
      error: null,
    };
  }
  // In the town: typed with the town's name, or without any 都道府県/市区町村 at its start (a text
  // that names one — an ambiguous 府中市 — keeps the parser's reason and is never taken for the town).
  const namesBody = homeTail === null && localGovernments().some((g) => t.startsWith(g.prefecture) || t.startsWith(g.name));
  const tail = homeTail ?? (home && !namesBody ? t : null);
  const split = tail !== null && home ? parseAddress(`${CARRIER}${tail}`) : undefined;
  if (!home || !split || 'error' in split || !split.town) {
    const why = parsed && 'error' in parsed ? parsed.error : split && 'error' in split ? split.error : '住所を部品に分けられません';
    return { whole: text, ...EMPTY_ADDRESS, error: why };
  }
  const chome = split.chome ? Number(split.chome) : null;
  const row = (await trx('address_master')
    .where({ municipality_code: home.code })
    .andWhere((w) => {
      w.where({ town_name: split.town });
      if (chome !== null) w.orWhere({ oaza_name: split.town, chome });
    })
    .first('town_code', 'postal_code')) as { town_code: string; postal_code: string | null } | undefined;
  return {
    whole: text,
    prefecture: { name: home.prefecture, code: home.code.slice(0, 2) },
    municipality: { name: home.city, code: home.code },
    county: null,
    town: { code: row?.town_code ?? null, name: split.town },
    chome: split.chome ?? null,
    banchi: split.banchi ?? null,
    go: split.go ?? null,
    suffix: split.suffix ?? null,
    afterMunicipality: tail!.trim() || null,
    postalCode: split.postalCode ?? row?.postal_code ?? null,
    // A 町字 not in the address master is typed as written, but flagged: in-town addresses come from it.
    error: row ? null : `町字「${split.town}」が住所マスタにありません`,
  };
}

/**
 * The payload reference as a Markdown table (path | 内容), for docs/manual/rpa.md between the
 * markers `<!-- payload:start -->` and `<!-- payload:end -->`; a test keeps the two equal.
 */
export function payloadReferenceMarkdown(): string {
  const rows: string[] = [];
  const seen = new Set<string>();
  const walk = (s: TSchema, prefix: string, kind: string): void => {
    const node = s as { anyOf?: TSchema[]; type?: string; properties?: Record<string, TSchema>; items?: TSchema; description?: string };
    const description = node.description ?? node.anyOf?.find((a) => (a as { description?: string }).description)?.description;
    const alternatives = node.anyOf?.filter((a) => (a as { type?: string }).type !== 'null') ?? [node];
    if (prefix && !seen.has(`${kind}:${prefix}`)) {
      seen.add(`${kind}:${prefix}`);
      rows.push(
        `| ${kind} | \`${prefix}\` | ${(description ?? '').replace(/\|/g, '\\|')}${node.anyOf?.some((a) => (a as { type?: string }).type === 'null') ? ' (ないときは null)' : ''} |`,
      );
    }
    for (const alt of alternatives) {
      const a = alt as { type?: string; properties?: Record<string, TSchema>; items?: TSchema };
      if (a.type === 'object' && a.properties)
        for (const [k, v] of Object.entries(a.properties)) walk(v, prefix ? `${prefix}.${k}` : k, kind);
      else if (a.type === 'array' && a.items) walk(a.items, `${prefix}[]`, kind);
    }
  };
  walk(NoticePayload, '', '届出');
  walk(CertificatePayload, '', '証明');
  return ['| ジョブ | 項目 | 内容 |', '|---|---|---|', ...rows].join('\n');
}
