import { Type as T } from '@sinclair/typebox';
import { appendAudit } from '../../audit/trail.js';
import {
  CardAckResponse,
  CardRequestResponse,
  CardResultBody,
  ReaderStateSchema,
  cardTypeLabels,
  cardTypes,
  type CardType,
} from '../../cards/cardApi.js';
import { presentReading } from '../../cards/readingView.js';
import { CardRelay, type Asker } from '../../cards/relay.js';
import { DomainError, notFound } from '../../errors/domainError.js';
import { presenterFor } from '../../residents/protection.js';
import { getVisit } from '../../visits/visits.js';
import { json, type Ctx, type RouteAccess, type RouteKit } from '../kit.js';
import { CsrfField, Nullable, PresentedAddressField } from '../schemas/common.js';
import { VisitParams } from '../schemas/visits.js';

const TAG = 'カード読取';
const RequestId = T.String({ pattern: '^[A-Za-z0-9_-]{16,64}$', title: '読み取りの番号' });

const StatusQuery = T.Object({
  visit: T.Integer({ minimum: 1, maximum: 2_147_483_647, title: '来庁番号' }),
  request: T.Optional(RequestId),
});
const StatusResponse = T.Object(
  {
    counter: Nullable(T.Object({ id: T.String(), name: T.String() }, { additionalProperties: false })),
    reader: Nullable(
      T.Object(
        {
          connected: T.Boolean({ description: 'ヘルパーから 45 秒以内に連絡がある' }),
          name: Nullable(T.String()),
          card: T.String({ description: 'none | unknown | myNumberCard | residenceCard' }),
          cardLabel: T.String(),
          triesLeft: T.Optional(T.Integer()),
          pinPad: T.Boolean(),
        },
        { additionalProperties: false },
      ),
    ),
    request: Nullable(
      T.Object(
        {
          requestId: T.String(),
          cardType: T.Optional(T.String()),
          phase: T.String({
            description: 'waiting 読取装置が受け取る前 | reading 読み取り中 | done 結果あり | failed 失敗 | expired 期限切れ',
          }),
          error: T.Optional(
            T.Object({ code: T.String(), message: T.String(), triesLeft: T.Optional(T.Integer()) }, { additionalProperties: false }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const ReadBody = T.Object({
  _csrf: CsrfField,
  cardType: T.Union(
    cardTypes.map((c) => T.Literal(c)),
    { title: 'カードの種類' },
  ),
  // Checked in the handler, so that a refusal never echoes what was typed.
  pin: T.Optional(T.String({ maxLength: 16, title: '暗証番号 (4 桁)' })),
  cardNumber: T.Optional(T.String({ maxLength: 32, title: '在留カード等番号' })),
});
const ReadResponse = T.Object({ requestId: RequestId }, { additionalProperties: false });
const ReadingParams = T.Object({ ...VisitParams.properties, requestId: RequestId });

const Str = T.String();
const ReadingResponse = T.Object(
  {
    requestId: Str,
    cardType: T.String(),
    cardLabel: Str,
    fill: T.Object(
      {
        documentType: T.String(),
        name: Nullable(Str),
        birthDate: Nullable(Str),
        birthDateIso: Nullable(Str),
        sex: Nullable(T.String()),
        address: Nullable(PresentedAddressField()),
        addressMasked: T.Boolean(),
        documentNote: Nullable(Str),
      },
      { additionalProperties: false },
    ),
    myNumber: Nullable(T.String({ description: '個人番号 (権限 resident.viewMyNumber のある職員が読み取ったときだけ)' })),
    register: T.Object(
      {
        matches: T.Array(
          T.Object(
            { addresseeNo: Str, name: Str, birthDate: Str, address: PresentedAddressField(), addressMasked: T.Boolean() },
            { additionalProperties: false },
          ),
        ),
        differences: T.Array(T.Object({ field: Str, label: Str, card: Str, register: Str }, { additionalProperties: false })),
        note: Str,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

const RequestQuery = T.Object({ wait: T.Optional(T.Integer({ minimum: 0, maximum: 25, title: '待つ秒数' })) });

/**
 * Card readers at the counters: the helper's API (bearer token of a `cardReader` client bound to a
 * counter; contract in cards/cardApi.ts) and the staff page's calls (`visit.handle`). The relay
 * (cards/relay.ts) binds each request to the counter, the visit and the session that asked.
 */
export function registerCardReaderRoutes({ route, deps, session, actor }: RouteKit): void {
  const knex = deps.knex;
  const relay: CardRelay = deps.cardRelay ?? new CardRelay();
  const helper: RouteAccess = { permission: 'card.relay' };
  const staff: RouteAccess = { permission: 'visit.handle' };
  const counterName = (id: string) => deps.config.counters.find((c) => c.id === id)?.name ?? id;

  /** The calling helper's counter (its token is bound to one). */
  const helperCounter = (ctx: Ctx): { counterId: string; client: string } => {
    const s = session(ctx);
    if (s.kind !== 'client' || !s.counterId) throw new DomainError('auth.forbidden');
    return { counterId: s.counterId, client: s.displayName };
  };
  /** The asking member of staff at their counter, for a visit that exists and is not closed. */
  const askerOf = async (ctx: Ctx, visitId: number): Promise<Asker> => {
    const s = session(ctx);
    if (s.kind !== 'staff') throw new DomainError('auth.staffOnly');
    if (!s.counterId) throw new DomainError('card.noCounter');
    const v = await getVisit(knex, visitId);
    if (!v) throw notFound('来庁記録');
    if (v.status === 'closed') throw new DomainError('card.visitClosed');
    return { counterId: s.counterId, visitId, sessionId: s.id };
  };

  route(
    {
      method: 'POST',
      path: '/api/v1/card-reader/state',
      access: helper,
      tag: TAG,
      summary: '読取装置の状態を知らせる (ヘルパーから)',
      description: '読取装置の有無・置かれたカード・暗証番号の残り回数を知らせます。変化したときと 20 秒ごと (死活の確認) に送ります。',
      body: ReaderStateSchema,
      response: json(CardAckResponse),
    },
    async (ctx) => {
      const { counterId, client } = helperCounter(ctx);
      relay.reportState(counterId, client, ctx.input.body);
      return { status: 'received' as const };
    },
  );

  route(
    {
      method: 'GET',
      path: '/api/v1/card-reader/request',
      access: helper,
      tag: TAG,
      summary: '読み取りの依頼を受け取る (ヘルパーから、ロングポーリング)',
      description:
        'この窓口の職員が依頼した読み取りを 1 回だけ渡します。なければ wait 秒まで待ち、204 を返します。暗証番号は渡した時点でサーバーのメモリからも消えます (保存も記録もしません)。',
      query: RequestQuery,
      response: json(T.Union([CardRequestResponse, T.Null()]), { description: '依頼 (204 のときは本文なし)' }),
    },
    async (ctx) => {
      const { counterId } = helperCounter(ctx);
      const request = await relay.take(counterId, (ctx.input.query.wait ?? 20) * 1000);
      if (!request) {
        ctx.status = 204;
        return null;
      }
      return { request };
    },
  );

  route(
    {
      method: 'POST',
      path: '/api/v1/card-reader/result',
      access: helper,
      tag: TAG,
      summary: '読み取りの結果を送る (ヘルパーから)',
      description:
        '受け取った依頼の結果 (読み取った内容、または読めなかった理由) を送ります。依頼した職員の画面が 2 分以内に受け取ります。',
      body: CardResultBody,
      response: json(CardAckResponse),
      errors: ['card.unknownRequest'],
    },
    async (ctx) => {
      const { counterId, client } = helperCounter(ctx);
      const result = ctx.input.body;
      const accepted = relay.complete(counterId, result);
      await knex.transaction((trx) =>
        appendAudit(trx, {
          ...actor(ctx),
          action: 'card.read',
          targetKind: 'cardReading',
          targetIds: [],
          result: accepted ? (result.ok ? 'success' : 'failure') : 'denied',
          // Never the PIN, never what the card holds: which counter, which card, whether it worked.
          detail: {
            counter: counterId,
            client,
            ...(result.ok
              ? {
                  card: result.reading.cardType,
                  myNumber: result.ok && 'myNumber' in result.reading && result.reading.myNumber !== undefined,
                }
              : { code: result.code }),
            ...(accepted ? {} : { reason: 'unknownRequest' }),
          },
        }),
      );
      if (!accepted) throw new DomainError('card.unknownRequest');
      return { status: 'received' as const };
    },
  );

  route(
    {
      method: 'GET',
      path: '/card-reader/status',
      access: staff,
      summary: 'この窓口の読取装置と読み取りの状態 (画面が 1 秒ごとに見る)',
      query: StatusQuery,
      response: json(StatusResponse),
    },
    async (ctx) => {
      const s = session(ctx);
      if (!s.counterId) return { counter: null, reader: null, request: null };
      const r = relay.reader(s.counterId);
      const { request } = ctx.input.query;
      const status = request ? relay.status({ counterId: s.counterId, visitId: ctx.input.query.visit, sessionId: s.id }, request) : null;
      return {
        counter: { id: s.counterId, name: counterName(s.counterId) },
        reader: r
          ? {
              connected: r.connected,
              name: r.state.reader,
              card: r.connected ? r.state.card : 'none',
              cardLabel: !r.connected
                ? 'ヘルパーと通信できません'
                : r.state.card === 'none'
                  ? 'カードが置かれていません'
                  : r.state.card === 'unknown'
                    ? '読み取れないカードです'
                    : cardTypeLabels[r.state.card as CardType],
              ...(r.state.triesLeft !== undefined ? { triesLeft: r.state.triesLeft } : {}),
              pinPad: r.state.pinPad ?? false,
            }
          : null,
        request: status,
      };
    },
  );

  route(
    {
      method: 'POST',
      path: '/visits/:id/card-reading',
      access: staff,
      summary: 'この窓口の読取装置にカードの読み取りを依頼する',
      description:
        'マイナンバーカードは住民が入力した暗証番号 (4 桁) を、在留カードは券面の在留カード等番号を送ります。暗証番号は読取装置に 1 回渡すだけで、保存も記録もしません。個人番号は権限 resident.viewMyNumber のある職員のときだけ読み取ります。',
      params: VisitParams,
      body: ReadBody,
      response: json(ReadResponse),
      errors: ['card.noCounter', 'card.noReader', 'card.badPin', 'card.badCardNumber', 'card.visitClosed'],
    },
    async (ctx) => {
      const who = await askerOf(ctx, ctx.input.params.id);
      const { cardType } = ctx.input.body;
      const reader = relay.reader(who.counterId);
      if (!reader?.connected) throw new DomainError('card.noReader', { counter: counterName(who.counterId) });
      const pin = ctx.input.body.pin?.trim() ?? '';
      const cardNumber = (ctx.input.body.cardNumber ?? '').normalize('NFKC').replace(/\s/g, '').toUpperCase();
      const withPad = cardType === 'myNumberCard' && (reader.state.pinPad ?? false) && pin === '';
      if (cardType === 'myNumberCard' && !withPad && !/^\d{4}$/.test(pin))
        throw new DomainError('card.badPin', {}, [{ field: 'pin', message: '暗証番号は数字 4 桁です' }]);
      if (cardType === 'residenceCard' && !/^[A-Z]{2}\d{8}[A-Z]{2}$/.test(cardNumber))
        throw new DomainError('card.badCardNumber', {}, [{ field: 'cardNumber', message: '英字 2 文字・数字 8 桁・英字 2 文字です' }]);
      const withMyNumber = cardType === 'myNumberCard' && session(ctx).permissions.has('resident.viewMyNumber');
      const requestId = relay.ask(who, {
        cardType,
        withMyNumber,
        ...(cardType === 'myNumberCard' && !withPad ? { pin } : {}),
        ...(cardType === 'residenceCard' ? { cardNumber } : {}),
      });
      await knex.transaction((trx) =>
        appendAudit(trx, {
          ...actor(ctx),
          action: 'card.request',
          targetKind: 'visit',
          targetIds: [String(who.visitId)],
          result: 'success',
          detail: { counter: who.counterId, card: cardType, withMyNumber, pinPad: withPad },
        }),
      );
      return { requestId };
    },
  );

  route(
    {
      method: 'GET',
      path: '/visits/:id/card-reading/:requestId',
      access: staff,
      summary: 'カードの読み取り結果を受け取る (1 回だけ)',
      description:
        '読み取った内容を本人確認欄に入れる形で返し、住民記録の同じ氏名・生年月日の人と違う点を示します。支援措置に触れるときは、権限がなければ住所を伏せます。結果は 1 回だけ渡し、2 分で消えます。',
      params: ReadingParams,
      response: json(ReadingResponse),
      errors: ['card.unknownRequest'],
    },
    async (ctx) => {
      const who = await askerOf(ctx, ctx.input.params.id);
      const result = relay.collect(who, ctx.input.params.requestId);
      if (!result || !result.ok) throw new DomainError('card.unknownRequest');
      const visit = (await getVisit(knex, who.visitId))!;
      const viewer = session(ctx);
      const presenter = await presenterFor(knex, viewer);
      const shown = await presentReading(knex, ctx.input.params.requestId, result.reading, visit, viewer, presenter);
      await knex.transaction(async (trx) => {
        await appendAudit(trx, {
          ...actor(ctx),
          action: 'card.deliver',
          targetKind: 'visit',
          targetIds: [String(who.visitId), ...shown.register.matches.map((m) => m.addresseeNo)],
          result: 'success',
          detail: {
            counter: who.counterId,
            card: shown.cardType,
            myNumber: shown.myNumber !== null,
            matches: shown.register.matches.length,
          },
        });
        const unmasked = presenter.auditEntry(actor(ctx), 'visit', { visit: who.visitId, via: 'card.deliver' });
        if (unmasked) await appendAudit(trx, unmasked);
      });
      return shown;
    },
  );
}
