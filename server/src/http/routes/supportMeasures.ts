import { Type as T } from '@sinclair/typebox';
import type { Knex } from 'knex';
import { appendAudit } from '../../audit/trail.js';
import { supportMeasureKind } from '../../domain/codes.js';
import { formatWareki } from '../../domain/wareki.js';
import { DomainError, notFound } from '../../errors/domainError.js';
import { acknowledgeEnding, countUnacknowledgedEndings, listEndings } from '../../linkage/forward/protectionEndings.js';
import { PROTECTED_ADDRESS_PERMISSION } from '../../residents/protection.js';
import { htmlPage, json, redirect, type Ctx, type RouteAccess, type RouteKit } from '../kit.js';
import { CsrfField, IdParam } from '../schemas/common.js';
import { ProtectionEndingListSchema } from '../schemas/supportMeasures.js';
import { endingsView, type EndingShown } from '../views/supportMeasures.js';

const TAG = '支援措置';
/** The most endings one page or answer lists (unacknowledged first). */
const LIST_LIMIT = 200;

/** The endings with the person's name (never the address) and who acknowledged them. */
async function endingsShown(knex: Knex): Promise<{ endings: EndingShown[]; unacknowledged: number }> {
  const [list, unacknowledged] = await Promise.all([listEndings(knex, { all: true, limit: LIST_LIMIT }), countUnacknowledgedEndings(knex)]);
  const nos = [...new Set(list.map((e) => e.addresseeNo))];
  const staffIds = [...new Set(list.map((e) => e.acknowledgedBy).filter((x): x is number => x !== null))];
  const [people, staff] = await Promise.all([
    nos.length
      ? (knex('residents').whereIn('addressee_no', nos).select('addressee_no', 'name') as Promise<{ addressee_no: string; name: string }[]>)
      : [],
    staffIds.length
      ? (knex('staff').whereIn('id', staffIds).select('id', 'display_name') as Promise<{ id: number; display_name: string }[]>)
      : [],
  ]);
  const nameOf = new Map(people.map((p) => [p.addressee_no, p.name]));
  const staffName = new Map(staff.map((s) => [Number(s.id), s.display_name]));
  const endings = list.map((e) => ({
    id: e.id,
    addresseeNo: e.addresseeNo,
    name: nameOf.get(e.addresseeNo) ?? null,
    measureCode: e.measureCode,
    measureKind: (e.measureCode && supportMeasureKind[e.measureCode]) || '支援措置',
    startDate: e.startDate,
    startDateWareki: e.startDate ? formatWareki(e.startDate) : '',
    endDate: e.endDate,
    endDateWareki: e.endDate ? formatWareki(e.endDate) : '行が削除された',
    removed: !e.endDate,
    runId: e.runId,
    specId: e.specId,
    fileName: e.fileName,
    detectedAt: e.detectedAt,
    acknowledgedAt: e.acknowledgedAt,
    acknowledgedBy: e.acknowledgedBy === null ? null : (staffName.get(e.acknowledgedBy) ?? `職員 ${e.acknowledgedBy}`),
  }));
  return { endings, unacknowledged };
}

/**
 * 支援措置 ended by a linkage file (issue 16), for 支援措置担当: the list (page and JSON) and the
 * acknowledgement. Every read is personal data: it is audited with the people shown
 * (http/personalData.ts lists the paths, so a refusal is audited too).
 */
export function registerSupportMeasureRoutes({ route, deps, render, session, actor }: RouteKit): void {
  const knex = deps.knex;
  const access: RouteAccess = { permission: PROTECTED_ADDRESS_PERMISSION };

  /** The list, audited as one reference of everyone on it. */
  const read = async (ctx: Ctx) => {
    const shown = await endingsShown(knex);
    await knex.transaction((trx) =>
      appendAudit(trx, {
        ...actor(ctx),
        action: 'protection.endingsView',
        targetKind: 'resident',
        targetIds: [...new Set(shown.endings.map((e) => e.addresseeNo))],
        result: 'success',
        detail: { shown: shown.endings.length, unacknowledged: shown.unacknowledged },
      }),
    );
    return shown;
  };

  route(
    {
      method: 'GET',
      path: '/support-measures/endings',
      access,
      summary: '連携ファイルで終了した支援措置の一覧 (画面)',
      response: htmlPage,
    },
    async (ctx) => {
      const { endings, unacknowledged } = await read(ctx);
      const v = endingsView(endings, unacknowledged, session(ctx).csrfToken ?? '');
      render(ctx, v.title, v.body);
    },
  );

  route(
    {
      method: 'GET',
      path: '/api/v1/support-measures/endings',
      access,
      tag: TAG,
      summary: '連携ファイルで終了した支援措置の一覧',
      description:
        '連携ファイルの取込で支援措置が終わった人 (終了日が入った、または行が削除された) を、未確認を先に新しい順で返します (200 件まで)。' +
        '氏名は返しますが住所は返しません。表示した人は監査ログに記録されます。',
      response: json(ProtectionEndingListSchema),
    },
    async (ctx) => read(ctx),
  );

  route(
    {
      method: 'POST',
      path: '/support-measures/endings/:id/acknowledge',
      access,
      summary: '終了した支援措置を確認済みにする',
      params: T.Object({ id: IdParam('終了の記録の番号') }),
      body: T.Object({ _csrf: CsrfField }),
      response: redirect,
      errors: ['auth.staffOnly'],
    },
    async (ctx) => {
      const s = session(ctx);
      if (s.staffId === null) throw new DomainError('auth.staffOnly');
      const staffId = s.staffId;
      const id = ctx.input.params.id;
      const ending = (await knex('protection_endings').where({ id }).first('id', 'addressee_no', 'run_id', 'spec_id')) as
        { id: number; addressee_no: string; run_id: number; spec_id: string } | undefined;
      if (!ending) throw notFound('支援措置の終了の記録');
      await knex.transaction(async (trx) => {
        // A second click (or a colleague first) changes nothing and records nothing more.
        if (!(await acknowledgeEnding(trx, id, staffId))) return;
        await appendAudit(trx, {
          ...actor(ctx),
          action: 'protection.endingAcknowledged',
          targetKind: 'resident',
          targetIds: [ending.addressee_no],
          result: 'success',
          detail: { endingId: Number(ending.id), runId: Number(ending.run_id), specId: ending.spec_id },
        });
      });
      ctx.status = 303;
      ctx.redirect(`/support-measures/endings#ending-${id}`);
    },
  );
}
