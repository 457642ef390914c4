import { Type as T } from '@sinclair/typebox';
import { entitlementKinds } from '../../domain/codes.js';
import { searchTargets } from '../../residents/search.js';
import { MASKED_ADDRESS } from '../../residents/warnings.js';
import { AddresseeNo, Component, IsoDate, Nullable, Obj, PresentedAddressField } from './common.js';

/** A date as the register holds it: a day (`1999-02-29` included, as the register may), or a month for monthly schemes. */
const RegisterDate = T.String({ pattern: '^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$' });

const lit = <V extends string>(values: readonly V[], options = {}) =>
  T.Union(
    values.map((v) => T.Literal(v)),
    options,
  );

export const WarningSchema = Component(
  'Warning',
  {
    kind: lit(['supportMeasure', 'issuanceBan', 'arrears'] as const, {
      description: '`supportMeasure` 支援措置 (住所を伏せる)、`issuanceBan` 発行禁止、`arrears` 滞納あり',
    }),
    label: T.String({ examples: ['支援措置', '仮支援措置', '発行禁止 (本人申出による交付制限)', '滞納あり'] }),
  },
  { description: '窓口で最初に見せる警告。支援措置が先頭です' },
);

export const EntitlementSchema = Component(
  'Entitlement',
  {
    kind: lit(entitlementKinds),
    label: T.String({ examples: ['国民健康保険'] }),
    insuredNo: Nullable(T.String(), { description: '記号番号' }),
    acquiredDate: Nullable(RegisterDate, { description: '取得日 (西暦 YYYY-MM-DD。月までの資格 (児童手当など) は YYYY-MM)' }),
    lostDate: Nullable(RegisterDate, { description: '喪失日 (西暦 YYYY-MM-DD。月までの資格は YYYY-MM)' }),
  },
  { description: '資格 (有効な役割の表示範囲のものだけ)' },
);

const presentedProperties = {
  addresseeNo: AddresseeNo({ description: '宛名番号' }),
  householdNo: T.String({ description: '世帯番号 (住登外者・法人は空文字)' }),
  name: T.String({ description: '氏名 (法人は名称)', 'x-personal': 'name' }),
  nameKana: Nullable(T.String()),
  sex: T.String({ description: '性別の表示 (男・女・不明)', examples: ['男'] }),
  birthDate: Nullable(IsoDate(), { description: '生年月日 (西暦)。不詳なら null' }),
  birthDateWareki: T.String({ description: '和暦の生年月日。不詳なら「不詳」', examples: ['昭和50年4月1日'] }),
  status: T.String({ description: '住民の状態 (住登者・転出者・死亡者・その他消除者)' }),
  relationship: Nullable(T.String(), { description: '続柄', examples: ['世帯主'] }),
  address: PresentedAddressField({
    description: `住所。支援措置の対象 (本人・同じ世帯・同じ住所) で権限 resident.viewProtectedAddress がなければ「${MASKED_ADDRESS}」`,
  }),
  addressMasked: T.Boolean({ description: '住所を伏せたとき true' }),
  warnings: T.Array(WarningSchema),
};

export const PresentedResidentSchema = Component('PresentedResident', presentedProperties, {
  description: '利用者の権限に合わせて表示できる形にした住民',
});

export const SearchResultItemSchema = Component(
  'SearchResultItem',
  {
    ...presentedProperties,
    kind: lit(['resident', 'nonResident', 'corporation'] as const),
    match: lit(['exact', 'variant', 'kanaFold'] as const, {
      description: '`exact` 完全一致、`variant` 異体字で一致、`kanaFold` カナの揺れで一致',
    }),
    entitlements: T.Array(T.String(), { description: '持っている資格の種類 (有効な役割の表示範囲だけ)' }),
  },
  { description: '検索結果の 1 件' },
);

export const SearchResponseSchema = Component('SearchResponse', {
  target: lit(searchTargets),
  page: T.Integer({ minimum: 1 }),
  pageSize: T.Integer({ minimum: 1, maximum: 200 }),
  total: T.Integer({ minimum: 0, description: '該当件数 (200 件で数えるのをやめます)' }),
  totalCapped: T.Boolean({ description: 'true なら該当は total 件以上' }),
  elapsedMs: T.Number({ description: 'サーバーでの検索時間 (ミリ秒)' }),
  understood: T.Array(T.String(), { description: '入力をどう解釈したか', examples: [['生年月日 昭和50年4月1日']] }),
  results: T.Array(SearchResultItemSchema),
});

export const SearchQuerySchema = T.Object({
  target: T.Optional(
    T.String({
      title: '検索対象 (target)',
      description: '`residents` 住登者 (既定)、`former` 住登者と消除者、`foreign` 外国人住民、`nonResidents` 住登外者、`corporations` 法人',
    }),
  ),
  name: T.Optional(T.String({ maxLength: 100, title: '氏名 (name)', description: '氏名 (漢字)。異体字も探します' })),
  kana: T.Optional(T.String({ maxLength: 100, title: 'カナ (kana)', description: 'カナ氏名 (前方一致)。ひらがな・半角カナも可' })),
  birthDate: T.Optional(
    T.String({
      maxLength: 40,
      title: '生年月日 (birthDate)',
      description:
        '窓口で入力するとおりの自由入力: 和暦 (`S50.4.1`、`昭和50年4月1日`、`S500401`)、テンキーの元号コード (`3500401`)、元号なしの 6 桁 (`500401`、era の指定が必要)、西暦 (`1975-04-01`)。年だけ・年月だけならその期間で検索します。',
    }),
  ),
  era: T.Optional(T.String({ maxLength: 1, title: '元号キー (era)', description: '`M` 明治、`T` 大正、`S` 昭和、`H` 平成、`R` 令和' })),
  address: T.Optional(T.String({ maxLength: 200, title: '住所 (address)', description: '住所 (町字以下、表記の揺れを正規化して照合)' })),
  sex: T.Optional(T.String({ maxLength: 1, title: '性別 (sex)', description: '`1` 男、`2` 女' })),
  page: T.Optional(T.String({ maxLength: 6, title: 'ページ (page)', description: 'ページ (1 から 1000)' })),
  pageSize: T.Optional(T.String({ maxLength: 4, title: '件数 (pageSize)', description: '1 ページの件数 (1 から 200、既定 20)' })),
});

const HistoryEntrySchema = Component('HistoryEntry', {
  changeDate: Nullable(IsoDate()),
  changeDateWareki: T.String(),
  reason: T.String({ description: '異動事由', examples: ['転入'] }),
  addressBefore: Nullable(PresentedAddressField(), {
    description: `異動前の住所。支援措置で伏せたときは「${MASKED_ADDRESS}」、なければ null`,
  }),
  addressAfter: Nullable(PresentedAddressField(), {
    description: `異動後の住所。支援措置で伏せたときは「${MASKED_ADDRESS}」、なければ null`,
  }),
});

export const PersonViewSchema = Component('PersonView', {
  person: Obj({
    ...presentedProperties,
    nameRoman: Nullable(T.String(), { description: 'ローマ字氏名' }),
    alias: Nullable(T.String(), { description: '通称' }),
    myNumber: T.Optional(
      Nullable(T.String({ pattern: '^[0-9]{12}$', 'x-personal': 'myNumber' }), {
        description: '個人番号。myNumber=1 と権限 resident.viewMyNumber のときだけあり、表示は監査ログに記録されます。未登録なら null',
      }),
    ),
  }),
  household: T.Array(Obj({ ...presentedProperties, entitlements: T.Array(EntitlementSchema) }), { description: '世帯員 (本人を含む)' }),
  entitlements: T.Array(EntitlementSchema, { description: '本人の資格' }),
  history: T.Array(HistoryEntrySchema, { description: '異動の履歴 (新しい順)' }),
  sameAddress: T.Array(PresentedResidentSchema, {
    description: '同じ住所の他の世帯の人。住所が支援措置で保護され、権限 resident.viewProtectedAddress がなければ空',
  }),
  householdProtected: T.Boolean({ description: '世帯が支援措置の対象' }),
  addressProtected: T.Boolean({ description: '住所が支援措置で保護されている (本人の世帯、または同じ住所の他の世帯)' }),
});

export const TownChoiceSchema = Component('TownChoice', {
  townCode: T.String({ description: '町字コード' }),
  townName: T.String({ examples: ['緑ケ丘二丁目'] }),
  townKana: Nullable(T.String()),
  postalCode: Nullable(T.String({ pattern: '^[0-9]{7}$' })),
});

export const AddressChoiceSchema = Component('AddressChoice', {
  townCode: T.String(),
  townName: T.String(),
  blockNumber: T.String({ description: '番地', examples: ['3-4'] }),
  addressSuffix: T.String({ description: '方書 (なければ空文字)' }),
  postalCode: Nullable(T.String({ pattern: '^[0-9]{7}$' })),
});

export const PostalAreaSchema = Component('PostalArea', {
  postalCode: T.String({ pattern: '^[0-9]{7}$' }),
  prefecture: T.String(),
  city: T.String(),
  town: T.String({ description: '町域名。市区町村全域 (「以下に掲載がない場合」「…一円」) なら空文字' }),
});
