import { Type as T, type SchemaOptions } from '@sinclair/typebox';
import { identityDocuments, visitorRoles } from '../../visits/identity.js';
import { visitStatuses } from '../../visits/visit.js';
import { MASKED_ADDRESS } from '../../residents/warnings.js';
import { AddresseeNo, Component, CsrfField, IdParam, IsoDate, IsoDateTime, Nullable, PresentedAddressField } from './common.js';

/**
 * The visit (来庁) contracts: the JSON API's `Visit` and the inputs the visit screen and the API
 * share (VisitorInput, SubjectInput, StatusChange). Inputs stay open (forms post buttons and
 * fields of their own); the response is closed.
 */

/** A string out of a fixed list (`enum`, so a wrong value is answered with the allowed ones). */
export const Enum = <V extends string>(values: readonly V[], options: SchemaOptions = {}) =>
  T.Unsafe<V>({ type: 'string', enum: [...values], ...options });

const labelList = (labels: Readonly<Record<string, string>>) =>
  Object.entries(labels)
    .map(([k, l]) => `\`${k}\` ${l}`)
    .join('、');

export const channels = ['counter', 'post', 'exOfficio'] as const;
export const statusChanges = ['pause', 'resume', 'close'] as const;
const visitorRoleKeys = Object.keys(visitorRoles) as ('subject' | 'proxy' | 'household')[];
const documentKeys = Object.keys(identityDocuments);
const VISITOR_DOCUMENT_NOTE = `本人確認書類: ${labelList(identityDocuments)}`;
/** 宛名番号, or empty where the field is optional in a form. */
const OptionalAddresseeNo = (options: SchemaOptions = {}) => T.String({ pattern: '^([0-9]{1,15})?$', title: '宛名番号', ...options });

/** The visit in the path (`/visits/:id`). */
export const VisitParams = T.Object({
  id: IdParam('来庁番号'),
});

export const VisitSubjectSchema = Component(
  'VisitSubject',
  {
    id: T.Integer(),
    addresseeNo: Nullable(AddresseeNo()),
    manualName: Nullable(T.String(), { 'x-personal': 'name' }),
    manualKana: Nullable(T.String()),
    manualBirthDate: Nullable(IsoDate()),
    manualAddress: Nullable(PresentedAddressField(), {
      description: `手入力の住所。支援措置に触れるときは権限がなければ「${MASKED_ADDRESS}」`,
    }),
    addedAt: IsoDateTime(),
  },
  { description: '来庁の対象者: 住民記録の人 (addresseeNo) か手入力の人 (manual…)' },
);

export const VisitSchema = Component(
  'Visit',
  {
    id: T.Integer({ description: '内部番号 (API の {id})' }),
    visitNo: T.String({ pattern: '^[0-9]{8}-[0-9]{4,}$', description: '来庁番号 (日付と当日の連番)', examples: ['20261202-0007'] }),
    status: Enum(visitStatuses, { description: '`open` 対応中、`paused` 保留中、`closed` 完了' }),
    channel: Enum(channels, { description: '`counter` 窓口、`post` 郵送、`exOfficio` 職権' }),
    counterId: Nullable(T.String(), { description: '対応中の窓口' }),
    openedBy: T.Integer({ description: '受け付けた職員の番号' }),
    openedByName: T.String(),
    openedAt: IsoDateTime(),
    closedAt: Nullable(IsoDateTime()),
    updatedAt: IsoDateTime(),
    identityCheckedAt: Nullable(IsoDateTime(), { description: '本人確認書類を確認した日時' }),
    identityCard: Nullable(Enum(['myNumberCard', 'residenceCard']), {
      description: '本人確認書類を IC カードから読み取ったとき、そのカードの種類 (ICカード読取)',
    }),
    visitorRole: Enum(visitorRoleKeys, { description: labelList(visitorRoles) }),
    identityDocument: Nullable(Enum(documentKeys), { description: VISITOR_DOCUMENT_NOTE }),
    identityDocumentNote: Nullable(T.String()),
    visitorAddresseeNo: Nullable(AddresseeNo()),
    visitorName: Nullable(T.String(), { 'x-personal': 'name' }),
    visitorKana: Nullable(T.String()),
    visitorBirthDate: Nullable(IsoDate()),
    visitorSex: Nullable(Enum(['1', '2']), { description: '`1` 男、`2` 女' }),
    visitorAddress: Nullable(PresentedAddressField(), {
      description: `来庁者の住所。来庁が支援措置に触れる (対象者・来庁者・入力した住所) ときは、権限 resident.viewProtectedAddress がなければ「${MASKED_ADDRESS}」`,
    }),
    visitorPhone: Nullable(T.String()),
    proxyRelationship: Nullable(T.String()),
    proxyPowerOfAttorney: T.Boolean({ description: '委任状あり' }),
    proxyDocument: Nullable(T.String()),
    subjects: T.Array(VisitSubjectSchema),
    addressProtected: T.Boolean({ description: '来庁が支援措置の対象者・世帯・住所に触れる (支援措置の警告を表示)' }),
  },
  { description: '来庁記録' },
);

/** The body of a new visit from the screen (the API opens a 窓口 visit and takes no body). */
export const OpenVisitForm = T.Object({
  _csrf: CsrfField,
  channel: T.Optional(
    Enum<'' | (typeof channels)[number]>(['', ...channels], {
      title: '受付の種類',
      description: '`counter` 窓口 (既定)、`post` 郵送、`exOfficio` 職権',
    }),
  ),
});

export const VisitorInputSchema = T.Object(
  {
    visitorRole: T.Optional(
      Enum(visitorRoleKeys, { title: '来庁者の区分', default: 'subject', description: `来庁者の区分: ${labelList(visitorRoles)}` }),
    ),
    identityDocument: T.Optional(
      Enum(['', ...documentKeys], { title: '本人確認書類', description: `${VISITOR_DOCUMENT_NOTE}。空なら未確認` }),
    ),
    identityDocumentNote: T.Optional(T.String({ maxLength: 200, title: '書類のメモ', description: '書類のメモ (その他の書類の名前など)' })),
    visitorAddresseeNo: T.Optional(OptionalAddresseeNo({ title: '来庁者の宛名番号', description: '来庁者が住民記録の人ならその宛名番号' })),
    visitorName: T.Optional(T.String({ maxLength: 100, title: '来庁者の氏名' })),
    visitorKana: T.Optional(T.String({ maxLength: 100, title: '来庁者のカナ' })),
    visitorBirthDate: T.Optional(
      T.String({
        maxLength: 40,
        title: '来庁者の生年月日',
        description: '生年月日 (日まで)。`1975-04-01`、`S50.4.1`、`昭和50年4月1日` など',
        examples: ['1975-04-01', 'S50.4.1'],
      }),
    ),
    visitorSex: T.Optional(Enum(['', '1', '2'], { title: '来庁者の性別', description: '`1` 男、`2` 女' })),
    visitorPostal: T.Optional(T.String({ maxLength: 10, title: '郵便番号', description: '住所の入力補助だけに使い、保存しません' })),
    cardReading: T.Optional(
      T.String({
        pattern: '^([A-Za-z0-9_-]{16,64})?$',
        title: 'カード読み取り',
        description:
          'この来庁で受け取ったカードの読み取り結果の番号 (画面が入れる)。あれば本人確認は「ICカード読取」と記録します。書類の種類を変えると記録は消えます',
      }),
    ),
    visitorAddress: T.Optional(T.String({ maxLength: 300, title: '来庁者の住所' })),
    visitorPhone: T.Optional(T.String({ maxLength: 40, title: '来庁者の電話' })),
    proxyRelationship: T.Optional(
      T.String({ maxLength: 100, title: '本人との関係', description: '本人との関係 (代理人のとき必須、それ以外は保存しません)' }),
    ),
    proxyPowerOfAttorney: T.Optional(
      T.Union([T.String(), T.Boolean()], {
        title: '委任状あり',
        description: '委任状あり (フォームでは `1`、JSON では true も可。代理人のときだけ保存)',
      }),
    ),
    proxyDocument: T.Optional(
      T.String({ maxLength: 200, title: '委任状・代理権の書類', description: '委任状・代理権の書類 (代理人のときだけ保存)' }),
    ),
    _csrf: CsrfField,
  },
  {
    'x-component': 'VisitorInput',
    description: '来庁者と本人確認。空の値は未入力です。保存するたびに全項目を置き換えます (送らなかった項目は空になります)',
  },
);

export const SubjectInputSchema = T.Object(
  {
    addresseeNo: T.Optional(OptionalAddresseeNo({ description: '住民記録の人の宛名番号' })),
    manualName: T.Optional(T.String({ maxLength: 100, title: '氏名', description: '住民記録にない人の氏名 (addresseeNo がないとき必須)' })),
    manualKana: T.Optional(T.String({ maxLength: 100, title: 'カナ' })),
    manualBirthDate: T.Optional(
      T.String({ maxLength: 40, title: '生年月日', description: '生年月日 (日まで)。`1975-04-01`、`S50.4.1` など' }),
    ),
    manualAddress: T.Optional(T.String({ maxLength: 300, title: '住所' })),
    _csrf: CsrfField,
  },
  { 'x-component': 'SubjectInput', description: '来庁の対象者: addresseeNo (住民記録の人) か manualName (手入力の人) のどちらか' },
);

export const StatusChangeSchema = T.Object(
  {
    change: Enum(statusChanges, { title: '操作 (change)', description: '`pause` 保留、`resume` この窓口で再開、`close` 完了' }),
    _csrf: CsrfField,
  },
  { 'x-component': 'StatusChange' },
);

const PeriodDay = (title: string) => T.Optional(T.String({ pattern: '^([0-9]{4}-[0-9]{2}-[0-9]{2})?$', title, description: 'YYYY-MM-DD' }));

/** The visit history's filters (画面 /visits). */
export const VisitHistoryQuery = T.Object({
  from: PeriodDay('期間の開始 (YYYY-MM-DD)'),
  to: PeriodDay('期間の終了 (YYYY-MM-DD)'),
  status: T.Optional(Enum<'' | (typeof visitStatuses)[number]>(['', ...visitStatuses], { title: '状態' })),
  addresseeNo: T.Optional(OptionalAddresseeNo({ title: '対象者の宛名番号' })),
});

/** `?visit=` on the search and person pages: the visit they were opened from. */
export const FromVisitQuery = { visit: T.Optional(IdParam('来庁番号')) };
