import { Type as T } from '@sinclair/typebox';
import { notFound } from '../../errors/domainError.js';
import { parseSearchParams, runSearch, viewPerson } from '../../residents/service.js';
import { json, type RouteKit } from '../kit.js';
import { AddresseeNo } from '../schemas/common.js';
import { PersonViewSchema, SearchQuerySchema, SearchResponseSchema } from '../schemas/residents.js';

const TAG = '住民';

/** 宛名番号 as typed in a form or path: 1–15 digits. */
export const ADDRESSEE_NO = /^[0-9]{1,15}$/;

/**
 * The resident JSON API. Every reference of personal data is audited with the ids shown, in the
 * same transaction as the read, so a record exists for every response that left the server.
 */
export function registerResidentApi({ route, deps, session, actor }: RouteKit): void {
  const knex = deps.knex;

  route(
    {
      method: 'GET',
      path: '/api/v1/residents',
      access: { permission: 'resident.search' },
      tag: TAG,
      summary: '住民を検索する',
      description: [
        '氏名・カナ・生年月日・住所のいずれか (1 つ以上) と、性別・検索対象で住民を検索します。',
        '完全一致で見つからないときは異体字・カナの揺れでも探し、その結果には `match` で印を付けます。件数は 200 件で数えるのをやめ、`totalCapped` が true になります。',
        '支援措置の対象者の住所は、権限 `resident.viewProtectedAddress` がなければ伏せます。検索結果に表示した人は監査ログに記録されます。',
      ].join('\n\n'),
      query: SearchQuerySchema,
      response: json(SearchResponseSchema),
    },
    async (ctx) => runSearch(knex, parseSearchParams(ctx.input.query, deps.config.municipality), session(ctx), actor(ctx)),
  );

  route(
    {
      method: 'GET',
      path: '/api/v1/residents/:addresseeNo',
      access: { permission: 'resident.search' },
      tag: TAG,
      summary: '住民 1 人を照会する (世帯・資格・異動履歴・同じ住所の世帯)',
      description:
        '本人と世帯員、有効な役割の範囲の資格、異動の履歴、同じ住所の他の世帯を返します。照会は表示した人全員とともに監査ログに記録されます。個人番号は `myNumber=1` と権限 `resident.viewMyNumber` があるときだけ返し、その表示も記録されます。',
      params: T.Object({ addresseeNo: AddresseeNo({ description: '宛名番号 (数字 15 桁まで)' }) }),
      query: T.Object({
        myNumber: T.Optional(
          T.Union([T.Literal('1'), T.Literal('0')], { title: '個人番号を表示 (myNumber)', description: '`1` で個人番号を含める' }),
        ),
      }),
      response: json(PersonViewSchema),
    },
    async (ctx) => {
      const view = await viewPerson(knex, ctx.input.params.addresseeNo, session(ctx), actor(ctx), {
        myNumber: ctx.input.query.myNumber === '1',
      });
      if (!view) throw notFound('住民');
      return view;
    },
  );
}
