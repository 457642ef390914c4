import { appendAudit } from '../../audit/trail.js';
import { parseRegisterDate } from '../../domain/dates.js';
import { entitlementsFor, presentResident } from '../../residents/present.js';
import { searchResidents } from '../../residents/search.js';
import { protectedHouseholds, warningsFor } from '../../residents/warnings.js';
import { badRequest, type RouteKit } from '../app.js';

const q = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

/**
 * The resident JSON API. Every reference of personal data is audited with the ids shown, in the
 * same transaction as the read, so a record exists for every response that left the server.
 */
export function registerResidentRoutes({ route, deps, session, actor }: RouteKit): void {
  const knex = deps.knex;

  route('GET', '/api/v1/residents', { permission: 'resident.search' }, async (ctx) => {
    const name = q(ctx.query.name);
    const kana = q(ctx.query.kana);
    const birthRaw = q(ctx.query.birthDate);
    const birthDate = birthRaw ? parseRegisterDate(birthRaw) : undefined;
    if (birthRaw && !birthDate) throw badRequest('生年月日は YYYY-MM-DD で指定してください');
    if (!name && !kana && !birthDate) throw badRequest('氏名・カナ・生年月日のいずれかを指定してください');
    const limit = ctx.query.limit === undefined ? 50 : Number(ctx.query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw badRequest('limit は 1〜200 の整数で指定してください');
    const started = process.hrtime.bigint();
    const viewer = session(ctx);
    const hits = await searchResidents(knex, { ...(name ? { name } : {}), ...(kana ? { kana } : {}), ...(birthDate ? { birthDate } : {}), limit });
    const nos = hits.map((h) => String(h.row.addressee_no));
    const [warnings, entitlements, guarded] = await Promise.all([warningsFor(knex, nos), entitlementsFor(knex, nos, viewer), protectedHouseholds(knex, hits.map((h) => String(h.row.household_no)))]);
    const results = hits.map((h) => {
      const no = String(h.row.addressee_no);
      return { ...presentResident(h.row, warnings.get(no) ?? [], viewer, guarded.has(String(h.row.household_no))), match: h.match, entitlements: (entitlements.get(no) ?? []).map((e) => e.kind) };
    });
    await knex.transaction((trx) => appendAudit(trx, { ...actor(ctx), action: 'resident.search', targetKind: 'resident', targetIds: nos, result: 'success', detail: { conditions: [name && 'name', kana && 'kana', birthDate && 'birthDate'].filter(Boolean), hits: nos.length, masked: results.filter((r) => r.addressMasked).length } }));
    ctx.body = { count: results.length, elapsedMs: Number(process.hrtime.bigint() - started) / 1e6, results };
  });

  route('GET', '/api/v1/residents/:addresseeNo', { permission: 'resident.search' }, async (ctx) => {
    const no = ctx.params.addresseeNo ?? '';
    if (!/^[0-9]{1,15}$/.test(no)) throw badRequest('宛名番号は数字で指定してください');
    const viewer = session(ctx);
    const row = (await knex('residents').where({ addressee_no: no }).first()) as Record<string, unknown> | undefined;
    if (!row) return ctx.throw(404, '指定された住民は見つかりません');
    const household = (await knex('residents').where({ household_no: row.household_no }).orderBy('relationship_code1').orderBy('birth_date')) as Record<string, unknown>[];
    const nos = household.map((r) => String(r.addressee_no));
    const [warnings, entitlements] = await Promise.all([warningsFor(knex, nos), entitlementsFor(knex, nos, viewer)]);
    const wantMyNumber = ctx.query.myNumber === '1';
    if (wantMyNumber && !viewer.permissions.has('resident.viewMyNumber')) ctx.throw(403, '個人番号を表示する権限がありません');
    const householdProtected = nos.some((n) => (warnings.get(n) ?? []).some((w) => w.kind === 'supportMeasure'));
    const person = presentResident(row, warnings.get(no) ?? [], viewer, householdProtected);
    await knex.transaction(async (trx) => {
      await appendAudit(trx, { ...actor(ctx), action: 'resident.view', targetKind: 'resident', targetIds: nos, result: 'success', detail: { subject: no, addressMasked: person.addressMasked } });
      if (wantMyNumber) await appendAudit(trx, { ...actor(ctx), action: 'resident.viewMyNumber', targetKind: 'resident', targetIds: [no], result: 'success' });
    });
    ctx.body = {
      person: { ...person, ...(wantMyNumber ? { myNumber: (row.my_number as string | null) ?? null } : {}) },
      entitlements: entitlements.get(no) ?? [],
      household: household.map((r) => presentResident(r, warnings.get(String(r.addressee_no)) ?? [], viewer, householdProtected)),
    };
  });
}
