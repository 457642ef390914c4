import { parseSearchParams, runSearch, viewPerson } from '../../residents/service.js';
import { badRequest, type RouteKit } from '../kit.js';

export const ADDRESSEE_NO = /^[0-9]{1,15}$/;

/**
 * The resident JSON API. Every reference of personal data is audited with the ids shown, in the
 * same transaction as the read, so a record exists for every response that left the server.
 */
export function registerResidentApi({ legacyRoute: route, deps, session, actor }: RouteKit): void {
  const knex = deps.knex;

  route('GET', '/api/v1/residents', { permission: 'resident.search' }, async (ctx) => {
    ctx.body = await runSearch(knex, parseSearchParams(ctx.query, deps.config.municipality), session(ctx), actor(ctx));
  });

  route('GET', '/api/v1/residents/:addresseeNo', { permission: 'resident.search' }, async (ctx) => {
    const no = ctx.params.addresseeNo ?? '';
    if (!ADDRESSEE_NO.test(no)) throw badRequest('宛名番号は数字で指定してください');
    const view = await viewPerson(knex, no, session(ctx), actor(ctx), { myNumber: ctx.query.myNumber === '1' });
    if (!view) return ctx.throw(404, '指定された住民は見つかりません');
    ctx.body = view;
  });
}
