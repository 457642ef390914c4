import { Type as T } from '@sinclair/typebox';
import { appendAudit } from '../../audit/trail.js';
import { DomainError, conflict, invalidInput, notFound } from '../../errors/domainError.js';
import { findHold, type HoldRecord } from '../../linkage/forward/holds.js';
import type { FileResult } from '../../linkage/forward/apply.js';
import { findRun, linkageStatus, listRuns, runWithIssues } from '../../linkage/status.js';
import { htmlOrRedirect, htmlPage, json, type Ctx, type RouteAccess, type RouteKit } from '../kit.js';
import { CsrfField, IdParam } from '../schemas/common.js';
import { ConfirmHoldBody, HoldConfirmedSchema, LinkageStatusSchema, RunListSchema, RunWithIssuesSchema } from '../schemas/linkage.js';
import { HOLD_REASON_MAX, linkagePage, runPage, type HoldFormError } from '../views/linkage.js';

/** Who may apply a held full file: the system administrators (the permission of the operations screens). */
export const CONFIRM_HOLD_PERMISSION = 'admin.staff';

const REASON_REQUIRED = '反映する理由を入力してください';

const TAG = '前方連携';
const RunId = T.Object({ id: IdParam('取込番号') });

export function registerLinkageRoutes({ route, deps, chrome, session, actor }: RouteKit): void {
  const linkageRead: RouteAccess = { permission: 'linkage.read' };
  const confirmAccess: RouteAccess = { permission: CONFIRM_HOLD_PERMISSION };
  const knex = deps.knex;

  /** The status page; after a confirmation (`confirmed`: its run) or with a refused form. */
  const showStatus = async (ctx: Ctx, opts: { confirmed?: number | undefined; formError?: HoldFormError } = {}) => {
    const s = session(ctx);
    const [status, runs, confirmed] = await Promise.all([
      linkageStatus(deps.linkage),
      listRuns(knex, { limit: 50 }),
      opts.confirmed ? findRun(knex, opts.confirmed) : Promise.resolve(null),
    ]);
    ctx.type = 'html';
    ctx.body = linkagePage(
      {
        status,
        runs,
        canConfirm: s.permissions.has(CONFIRM_HOLD_PERMISSION),
        csrf: s.csrfToken ?? '',
        confirmed,
        formError: opts.formError ?? null,
      },
      chrome(ctx),
    );
  };

  /**
   * Applies a held full file for a member of staff, with the reason, and records the decision.
   * A refusal of the watcher (the hold was resolved meanwhile) is recorded as a failure.
   */
  const confirm = async (ctx: Ctx, id: number, reason: string): Promise<{ hold: HoldRecord; result: FileResult }> => {
    const s = session(ctx);
    if (s.staffId === null) throw new DomainError('auth.staffOnly');
    const hold = await findHold(knex, id);
    if (!hold) throw notFound('保留中の全件ファイル');
    if (hold.resolution)
      throw conflict(
        hold.resolution === 'confirmed'
          ? 'この全件ファイルはすでに反映しています'
          : 'この全件ファイルは、後から届いた全件ファイルに置き換えられました (反映していません)',
      );
    const apply = deps.linkage.confirmHold;
    if (!apply) throw conflict('前方連携の取込が動いていないため反映できません');
    const detail = { specId: hold.specId, rowsBefore: hold.rowsBefore, rowsInFile: hold.rowsInFile };
    const record = (result: 'success' | 'failure', extra: Record<string, unknown>) =>
      knex.transaction((trx) =>
        appendAudit(trx, {
          ...actor(ctx),
          action: 'linkage.holdConfirmed',
          targetKind: 'linkage_hold',
          targetIds: [String(hold.id)],
          result,
          // Counts and ids only: the reason is free text and stays in linkage_holds.
          detail: { ...detail, ...extra },
        }),
      );
    let result: FileResult;
    try {
      result = await apply(hold.id, s.staffId, reason);
    } catch (e) {
      if (e instanceof DomainError) await record('failure', { reason: e.code });
      throw e;
    }
    await record('success', { runId: result.runId, outcome: result.outcome });
    return { hold, result };
  };

  route(
    {
      method: 'GET',
      path: '/linkage',
      access: linkageRead,
      summary: '前方連携の状況 (画面)',
      query: T.Object({ confirmed: T.Optional(IdParam('反映した取込の番号')) }),
      response: htmlPage,
    },
    async (ctx) => {
      await showStatus(ctx, { confirmed: ctx.input.query.confirmed });
    },
  );

  route(
    {
      method: 'POST',
      path: '/linkage/holds/:id/confirm',
      access: confirmAccess,
      summary: '保留中の全件ファイルを理由を付けて反映する (画面)',
      params: T.Object({ id: IdParam('保留の番号') }),
      body: T.Object({ _csrf: CsrfField, reason: T.Optional(T.String({ maxLength: HOLD_REASON_MAX, title: '理由' })) }),
      response: htmlOrRedirect,
      errors: ['auth.staffOnly', 'state.conflict'],
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      const reason = (ctx.input.body.reason ?? '').trim();
      if (!reason) {
        ctx.status = 400;
        await showStatus(ctx, { formError: { holdId: id, reason: ctx.input.body.reason ?? '', message: REASON_REQUIRED } });
        return;
      }
      const { result } = await confirm(ctx, id, reason);
      ctx.status = 303;
      ctx.redirect(`/linkage?confirmed=${result.runId}#holds`);
    },
  );

  route(
    {
      method: 'GET',
      path: '/linkage/runs/:id',
      access: linkageRead,
      summary: '取込 1 回の記録と問題の一覧 (画面)',
      params: RunId,
      response: htmlPage,
    },
    async (ctx) => {
      const found = await runWithIssues(knex, ctx.input.params.id);
      if (!found) throw notFound('取込');
      ctx.type = 'html';
      ctx.body = runPage(found, chrome(ctx));
    },
  );

  route(
    {
      method: 'GET',
      path: '/api/v1/linkage/status',
      access: linkageRead,
      tag: TAG,
      summary: '連携仕様ごとの取込状況',
      description:
        '連携仕様ごとの最終取込と状態、取込中のファイル、到着期限を過ぎても届いていないファイル、' +
        '件数が大きく減るため保留中の全件ファイル (holds) を返します。',
      response: json(LinkageStatusSchema),
    },
    async () => linkageStatus(deps.linkage),
  );

  route(
    {
      method: 'POST',
      path: '/api/v1/linkage/holds/:id/confirm',
      access: confirmAccess,
      tag: TAG,
      summary: '保留中の全件ファイルを理由を付けて反映する',
      description:
        '件数が大きく減るため保留した全件ファイルを、管理者の判断で反映します (保留の判定はこのファイルに限り行いません)。' +
        '理由は必須です。決定は監査ログに残ります。すでに反映した、または置き換えられた保留は 409 です。',
      params: T.Object({ id: IdParam('保留の番号') }),
      body: ConfirmHoldBody,
      response: json(HoldConfirmedSchema),
      errors: ['auth.staffOnly', 'state.conflict'],
    },
    async (ctx) => {
      const reason = ctx.input.body.reason.trim();
      if (!reason) throw invalidInput(REASON_REQUIRED, [{ field: 'reason', message: REASON_REQUIRED }]);
      const { hold, result } = await confirm(ctx, ctx.input.params.id, reason);
      return {
        holdId: hold.id,
        specId: hold.specId,
        runId: result.runId,
        outcome: result.outcome,
        rowsBefore: hold.rowsBefore,
        rowsInFile: hold.rowsInFile,
        rowsApplied: result.rowsApplied,
        message: result.message,
      };
    },
  );

  route(
    {
      method: 'GET',
      path: '/api/v1/linkage/runs',
      access: linkageRead,
      tag: TAG,
      summary: '取込の履歴 (新しい順)',
      query: T.Object({
        limit: T.Optional(T.Integer({ minimum: 1, maximum: 200, default: 50, title: '件数 (limit)' })),
        spec: T.Optional(T.String({ maxLength: 64, title: '連携仕様 ID (spec)' })),
      }),
      response: json(RunListSchema),
    },
    async (ctx) => {
      const { limit, spec } = ctx.input.query;
      return { runs: await listRuns(knex, { limit: limit ?? 50, ...(spec ? { specId: spec } : {}) }) };
    },
  );

  route(
    {
      method: 'GET',
      path: '/api/v1/linkage/runs/:id',
      access: linkageRead,
      tag: TAG,
      summary: '取込 1 回の記録と問題の一覧',
      params: RunId,
      response: json(RunWithIssuesSchema),
    },
    async (ctx) => {
      const found = await runWithIssues(knex, ctx.input.params.id);
      if (!found) throw notFound('取込');
      return found;
    },
  );
}
