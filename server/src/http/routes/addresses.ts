import { blocksOf, matchAddress, townsStartingWith } from '../../residents/addresses.js';
import { lookupPostalCode, normalizePostalCode } from '../../residents/postalCode.js';
import { badRequest, type RouteAccess, type RouteKit } from '../kit.js';

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

/** Address input assistance (O-45): 町字 → 番地 type-ahead, free-text matching, offline postal codes. */
export function registerAddressApi({ legacyRoute: route, deps }: RouteKit): void {
  const knex = deps.knex;
  const access: RouteAccess = { permission: 'visit.handle' };

  route('GET', '/api/v1/addresses/towns', access, async (ctx) => {
    const q = str(ctx.query.q);
    if (!q) throw badRequest('q (町字の最初の文字) を指定してください');
    ctx.body = { towns: await townsStartingWith(knex, q) };
  });

  route('GET', '/api/v1/addresses/blocks', access, async (ctx) => {
    const town = str(ctx.query.town);
    if (!/^[0-9]{1,7}$/.test(town)) throw badRequest('town (町字コード) を数字で指定してください');
    ctx.body = { blocks: await blocksOf(knex, town, str(ctx.query.q)) };
  });

  route('GET', '/api/v1/addresses/match', access, async (ctx) => {
    const text = str(ctx.query.text);
    if (!text) throw badRequest('text (住所) を指定してください');
    ctx.body = { matches: await matchAddress(knex, text, deps.config.municipality) };
  });

  route('GET', '/api/v1/postal-codes/:code', access, async (ctx) => {
    const code = normalizePostalCode(ctx.params.code ?? '');
    if (!code) throw badRequest('郵便番号は 7 桁の数字で指定してください (例: 860-0001)');
    ctx.body = { postalCode: code, areas: lookupPostalCode(code) };
  });
}
