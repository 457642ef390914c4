import { Type as T } from '@sinclair/typebox';
import { blocksOf, matchAddress, townsStartingWith } from '../../residents/addresses.js';
import { lookupPostalCode, normalizePostalCode } from '../../residents/postalCode.js';
import { badRequest, json, type RouteAccess, type RouteKit } from '../kit.js';
import { Obj } from '../schemas/common.js';
import { AddressChoiceSchema, PostalAreaSchema, TownChoiceSchema } from '../schemas/residents.js';

const TAG = '住所入力補助';

/** Address input assistance (O-45): 町字 → 番地 type-ahead, free-text matching, offline postal codes. */
export function registerAddressApi({ route, deps }: RouteKit): void {
  const knex = deps.knex;
  const access: RouteAccess = { permission: 'visit.handle' };

  route(
    {
      method: 'GET',
      path: '/api/v1/addresses/towns',
      access,
      tag: TAG,
      summary: '町字の候補 (名前または読みの前方一致)',
      query: T.Object({ q: T.String({ minLength: 1, maxLength: 50, title: '町字の最初の文字 (q)' }) }),
      response: json(Obj({ towns: T.Array(TownChoiceSchema) })),
    },
    async (ctx) => {
      const q = ctx.input.query.q.trim();
      if (!q) throw badRequest('q (町字の最初の文字) を指定してください');
      return { towns: await townsStartingWith(knex, q) };
    },
  );

  route(
    {
      method: 'GET',
      path: '/api/v1/addresses/blocks',
      access,
      tag: TAG,
      summary: '町字の番地の候補',
      query: T.Object({
        town: T.String({ pattern: '^[0-9]{1,7}$', title: '町字コード (town)' }),
        q: T.Optional(T.String({ maxLength: 50, title: '番地の最初の文字 (q)' })),
      }),
      response: json(Obj({ blocks: T.Array(AddressChoiceSchema) })),
    },
    async (ctx) => ({ blocks: await blocksOf(knex, ctx.input.query.town, (ctx.input.query.q ?? '').trim()) }),
  );

  route(
    {
      method: 'GET',
      path: '/api/v1/addresses/match',
      access,
      tag: TAG,
      summary: '住所の文字列を住所マスタと照合する',
      query: T.Object({ text: T.String({ minLength: 1, maxLength: 200, title: '住所 (text)' }) }),
      response: json(Obj({ matches: T.Array(AddressChoiceSchema) })),
    },
    async (ctx) => {
      const text = ctx.input.query.text.trim();
      if (!text) throw badRequest('text (住所) を指定してください');
      return { matches: await matchAddress(knex, text, deps.config.municipality) };
    },
  );

  route(
    {
      method: 'GET',
      path: '/api/v1/postal-codes/:code',
      access,
      tag: TAG,
      summary: '郵便番号の地域 (オフライン)',
      params: T.Object({ code: T.String({ maxLength: 16, title: '郵便番号' }) }),
      response: json(Obj({ postalCode: T.String({ pattern: '^[0-9]{7}$' }), areas: T.Array(PostalAreaSchema) })),
    },
    async (ctx) => {
      const code = normalizePostalCode(ctx.input.params.code);
      if (!code) throw badRequest('郵便番号は 7 桁の数字で指定してください (例: 860-0001)');
      return { postalCode: code, areas: lookupPostalCode(code) };
    },
  );
}
