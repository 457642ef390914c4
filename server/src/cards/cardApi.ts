import { Type as T, type Static, type TProperties, type ObjectOptions } from '@sinclair/typebox';

/**
 * The card reader helper's contract (`/api/v1/card-reader/*`): what the counter PC's helper
 * (`rpa-agent/src/card/`) posts and receives, in one module used by the server's routes and by
 * the helper, so the two cannot drift. The PIN crosses this API once, from the server's memory to
 * the helper; it is in no schema that is stored, logged or audited.
 */
const Obj = <P extends TProperties>(properties: P, options: ObjectOptions = {}) =>
  T.Object(properties, { additionalProperties: false, ...options });

export const cardTypes = ['myNumberCard', 'residenceCard'] as const;
export type CardType = (typeof cardTypes)[number];
export const cardTypeLabels: Readonly<Record<CardType, string>> = {
  myNumberCard: 'マイナンバーカード',
  residenceCard: '在留カード・特別永住者証明書',
};

/**
 * What the My Number card's 券面事項入力補助AP holds (基本4情報), exactly as stored on the card;
 * `myNumber` only when the member of staff who asked holds `resident.viewMyNumber`.
 */
export const MyNumberCardReadingSchema = Obj({
  cardType: T.Literal('myNumberCard'),
  name: T.String({ minLength: 1, maxLength: 200, title: '氏名 (カードのとおり)' }),
  address: T.String({ minLength: 1, maxLength: 400, title: '住所 (カードのとおり)' }),
  birthDate: T.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', title: '生年月日 (西暦)' }),
  /** ISO 5218: 1 男, 2 女, 9 適用不能. */
  sex: T.Union([T.Literal('1'), T.Literal('2'), T.Literal('9')], { title: '性別' }),
  myNumber: T.Optional(T.String({ pattern: '^\\d{12}$', title: '個人番号' })),
});
export type MyNumberCardReading = Static<typeof MyNumberCardReadingSchema>;

/**
 * What a residence card (在留カード) or special permanent resident certificate holds as text.
 * Name, nationality, status and period of stay are stored on the IC only as the image of the card
 * face (券面(表) イメージ), so they are not here: the helper does not guess them by OCR.
 */
export const ResidenceCardReadingSchema = Obj({
  cardType: T.Literal('residenceCard'),
  documentKind: T.Union([T.Literal('residenceCard'), T.Literal('specialPermanentResident')], { title: 'カードの種類' }),
  cardNumber: T.String({ pattern: '^[A-Z]{2}\\d{8}[A-Z]{2}$', title: '在留カード等番号 (カードが照合済み)' }),
  address: T.Union([T.String({ maxLength: 400 }), T.Null()], { title: '住居地 (裏面の最新の記載)' }),
  addressDate: T.Union([T.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), T.Null()], { title: '住居地の届出日' }),
  municipalityCode: T.Union([T.String({ pattern: '^\\d{5,6}$' }), T.Null()], { title: '住居地の市町村コード' }),
});
export type ResidenceCardReading = Static<typeof ResidenceCardReadingSchema>;

export const CardReadingSchema = T.Union([MyNumberCardReadingSchema, ResidenceCardReadingSchema]);
export type CardReading = Static<typeof CardReadingSchema>;

/** Why a reading did not happen; the helper's Japanese message travels with it. */
export const cardErrorCodes = [
  'pcscUnavailable',
  'noReader',
  'noCard',
  'unknownCard',
  'badPin',
  'wrongPin',
  'pinNearlyLocked',
  'locked',
  'badCardNumber',
  'wrongCardNumber',
  'readFailed',
] as const;
export type CardErrorCode = (typeof cardErrorCodes)[number];

/** The reader at the counter as the helper sees it (posted whenever it changes). */
export const ReaderStateSchema = Obj({
  reader: T.Union([T.String({ maxLength: 200 }), T.Null()], { title: '読取装置の名前 (なければ null)' }),
  card: T.Union([T.Literal('none'), T.Literal('unknown'), ...cardTypes.map((c) => T.Literal(c))], { title: '置かれたカード' }),
  /** 券面事項入力補助用 PIN: the tries the card has left, when a My Number card is on the reader. */
  triesLeft: T.Optional(T.Integer({ minimum: 0, maximum: 15 })),
  pinPad: T.Optional(T.Boolean({ title: '読取装置に PIN パッドがある' })),
});
export type ReaderState = Static<typeof ReaderStateSchema>;

/** A read the staff page asked for, handed to the helper once (long poll). */
export const CardRequestSchema = Obj({
  requestId: T.String({ pattern: '^[A-Za-z0-9_-]{16,64}$' }),
  cardType: T.Union(cardTypes.map((c) => T.Literal(c))),
  /** The 4-digit PIN typed by the resident; absent when the reader's PIN pad takes it. */
  pin: T.Optional(T.String({ pattern: '^\\d{4}$' })),
  /** Read the 個人番号 EF too (the member of staff holds the right). */
  withMyNumber: T.Boolean(),
  /** The residence card's number, typed from the card face: the key that opens its IC. */
  cardNumber: T.Optional(T.String({ pattern: '^[A-Z]{2}\\d{8}[A-Z]{2}$' })),
});
export type CardRequest = Static<typeof CardRequestSchema>;
export const CardRequestResponse = Obj({ request: CardRequestSchema });

/** The answer to a request: the reading, or why there is none. */
export const CardResultBody = T.Union([
  Obj({ requestId: T.String({ maxLength: 64 }), ok: T.Literal(true), reading: CardReadingSchema }),
  Obj({
    requestId: T.String({ maxLength: 64 }),
    ok: T.Literal(false),
    code: T.Union(cardErrorCodes.map((c) => T.Literal(c))),
    message: T.String({ maxLength: 400 }),
    triesLeft: T.Optional(T.Integer({ minimum: 0, maximum: 15 })),
  }),
]);
export type CardResult = Static<typeof CardResultBody>;
export const CardAckResponse = Obj({ status: T.Literal('received') });
