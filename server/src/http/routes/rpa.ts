import { reconcileFlags } from '../../rpa/reconcile.js';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Type as T } from '@sinclair/typebox';
import { DomainError, invalidInput, notFound } from '../../errors/domainError.js';
import {
  ClaimResponse,
  EvidenceQuery,
  EvidenceResponse,
  FailureBody,
  FailureResponse,
  HeartbeatResponse,
  JobIdParams,
  ReleaseResponse,
  ScenariosResponse,
  SuccessBody,
  SuccessResponse,
} from '../../rpa/agentApi.js';
import { claimForAgent, recordEvidence, type AgentCall } from '../../rpa/commands/agentCalls.js';
import { jobList, viewEvidence, viewJob } from '../../rpa/commands/staffViews.js';
import { evidenceKinds, MAX_EVIDENCE_BYTES } from '../../rpa/evidence.js';
import {
  failJob,
  heartbeat,
  jobStatuses,
  queueSettingsOf,
  releaseJob,
  resolveJob,
  scenarioFolder,
  succeedJob,
  touchAgent,
  type JobStatus,
} from '../../rpa/jobs.js';
import { readRawBody } from '../rawBody.js';
import { file, htmlPage, json, redirect, type Ctx, type RouteAccess, type RouteKit } from '../kit.js';
import { CsrfField, IdParam } from '../schemas/common.js';
import { jobListView, jobView } from '../views/rpaJobs.js';

export { scenarioLabel } from '../views/rpaJobs.js';

const TAG = 'RPA 端末';
const JobListQuery = T.Object({
  status: T.Optional(T.Union([T.Literal(''), ...jobStatuses.map((s) => T.Literal(s))], { title: '状態' })),
  scenario: T.Optional(T.String({ maxLength: 64, title: '届出・証明' })),
  agent: T.Optional(T.String({ maxLength: 64, title: '端末' })),
});
const HeartbeatBody = T.Object({
  unprobedCommit: T.Optional(T.Boolean({ description: '確認のないシナリオの登録の直前 (この後に貸出が切れたら要対応)' })),
});
const CoreSystemName = T.String({
  pattern: '^[A-Za-z0-9_-]+$',
  maxLength: 64,
  title: '基幹系',
  description: 'agent.yaml の coreSystem (シナリオのフォルダー名)。ないときは rpa.coreSystem',
});
const ClaimBody = T.Object({
  coreSystem: T.Optional(CoreSystemName),
  scenarios: T.Optional(
    T.Array(T.String({ pattern: '^[A-Za-z][A-Za-z0-9]*$', maxLength: 64 }), {
      maxItems: 64,
      title: 'この端末が受け持つシナリオ',
      description: '端末の受け持ち (agent.yaml の serves)。ないときはすべて',
    }),
  ),
});
const ResolveBody = T.Object({
  _csrf: CsrfField,
  action: T.Union([T.Literal('retry'), T.Literal('doneByHand'), T.Literal('cancel')], { title: '操作' }),
  reason: T.String({ minLength: 1, maxLength: 400, title: '理由' }),
});

/** The agents' API (bearer token, `rpa.agent`; contract in `rpa/agentApi.ts`) and the staff's job pages (`rpa.manage`). */
export function registerRpaRoutes({ route, deps, render, session, actor }: RouteKit): void {
  const db = deps.knex;
  const agentAccess: RouteAccess = { permission: 'rpa.agent' };
  const manage: RouteAccess = { permission: 'rpa.manage' };
  const settings = queueSettingsOf(deps.config);
  const dataDir = (): string => {
    if (!deps.dataDir) throw new DomainError('server.unavailable', { detail: 'データフォルダーが設定されていません' });
    return deps.dataDir;
  };
  /** The calling agent (its token's name, version and host); every call records its last contact. */
  const callerOf = (ctx: Ctx): AgentCall => {
    const s = session(ctx);
    if (s.kind !== 'client') throw new DomainError('auth.forbidden');
    return {
      name: s.displayName,
      version: ctx.get('x-madoguchi-agent-version') || null,
      host: ctx.get('x-madoguchi-agent-host') || null,
      mayReceiveProtected: s.permissions.has('resident.viewProtectedAddress'),
    };
  };
  const agentOf = async (ctx: Ctx, jobId: number | null = null): Promise<string> => {
    const a = callerOf(ctx);
    await touchAgent(db, a.name, a.version, a.host, jobId);
    return a.name;
  };

  route(
    {
      method: 'POST',
      path: '/api/v1/agent/claim',
      access: agentAccess,
      tag: TAG,
      summary: '次のジョブを借りる',
      body: ClaimBody,
      description:
        '準備のできた次のジョブを貸し出します。ないとき、バッテリー運転中、基幹系の入力時間外 (rpa.serviceHours) は 204 (本文なし。バッテリー運転中と時間外は Retry-After) を返します。' +
        '本文の scenarios (端末の受け持ち) があれば、そのシナリオのジョブだけを貸し出します。' +
        '支援措置の対象のジョブ (protection.supportMeasure、payload にも同じもの) は、グループに resident.viewProtectedAddress のある端末にだけ渡し、証跡を残さないよう keepEvidence: false を付けます。',
      response: json(T.Union([ClaimResponse, T.Null()]), { description: 'ジョブ (204 のときは本文なし)' }),
    },
    async (ctx) => {
      const { scenarios, coreSystem } = ctx.input.body;
      const { job, onBattery, closedForSeconds } = await claimForAgent(
        db,
        { ...callerOf(ctx), ...(scenarios ? { scenarios } : {}), ...(coreSystem ? { coreSystem } : {}) },
        settings,
        actor(ctx),
      );
      if (!job) {
        if (onBattery) ctx.set('Retry-After', '60');
        // Outside the service hours: come back when the core system opens (at most an hour later, to see a config change).
        else if (closedForSeconds > 0) ctx.set('Retry-After', String(Math.min(3600, closedForSeconds)));
        ctx.status = 204;
        return null;
      }
      return {
        job: {
          id: job.id,
          idempotencyKey: job.idempotencyKey,
          reference: job.reference,
          scenario: job.scenario,
          payload: { ...job.payload, protection: { supportMeasure: job.protected } },
          protection: { supportMeasure: job.protected },
          keepEvidence: !job.protected,
          attempt: job.attempts + 1,
          leaseExpiresAt: job.leaseExpiresAt?.toISOString() ?? null,
          leaseSeconds: settings.leaseSeconds,
        },
      };
    },
  );

  route(
    {
      method: 'POST',
      path: '/api/v1/agent/jobs/:id/heartbeat',
      access: agentAccess,
      tag: TAG,
      summary: '貸出を延長する',
      description:
        '本文の unprobedCommit: true は、確認 (probe) のないシナリオ (idempotency: none) の登録ボタンを押す直前であることを伝えます。その後に貸出が切れたり返されたりしたジョブは、二重登録を避けるため待ちに戻さず要対応にします。',
      params: JobIdParams,
      body: HeartbeatBody,
      response: json(HeartbeatResponse),
      errors: ['rpa.leaseLost', 'state.moveNotAllowed'],
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      const unprobedCommit = ctx.input.body.unprobedCommit === true;
      return { leaseExpiresAt: (await heartbeat(db, id, await agentOf(ctx, id), settings, new Date(), { unprobedCommit })).toISOString() };
    },
  );

  route(
    {
      method: 'POST',
      path: '/api/v1/agent/jobs/:id/release',
      access: agentAccess,
      tag: TAG,
      summary: '実行せずに貸出を返す (試行に数えない)',
      params: JobIdParams,
      response: json(ReleaseResponse),
      errors: ['rpa.leaseLost', 'state.moveNotAllowed'],
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      await releaseJob(db, id, await agentOf(ctx, id));
      return { status: 'queued' as const };
    },
  );

  route(
    {
      method: 'POST',
      path: '/api/v1/agent/jobs/:id/success',
      access: agentAccess,
      tag: TAG,
      summary: '基幹系への入力が済んだことを報告する (基幹系処理番号)',
      params: JobIdParams,
      body: SuccessBody,
      response: json(SuccessResponse),
      errors: ['rpa.leaseLost', 'state.moveNotAllowed'],
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      await succeedJob(db, id, await agentOf(ctx, id), ctx.input.body.coreRef.trim(), actor(ctx));
      return { status: 'succeeded' as const };
    },
  );

  route(
    {
      method: 'POST',
      path: '/api/v1/agent/jobs/:id/failure',
      access: agentAccess,
      tag: TAG,
      summary: '失敗を報告する (業務エラーは職員へ、アプリケーションエラーは再試行)',
      params: JobIdParams,
      body: FailureBody,
      response: json(FailureResponse),
      errors: ['rpa.leaseLost', 'state.moveNotAllowed'],
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      const { kind, message } = ctx.input.body;
      const status = await failJob(db, id, await agentOf(ctx, id), kind, message?.trim() || '(理由なし)', settings, actor(ctx));
      return { status: status === 'queued' ? ('queued' as const) : ('needsAttention' as const) };
    },
  );

  route(
    {
      method: 'POST',
      path: '/api/v1/agent/jobs/:id/evidence',
      access: agentAccess,
      tag: TAG,
      summary: '証跡 (画面写真 PNG・トレース zip) を送る',
      description: '本文はファイルそのもの (image/png または application/zip)。貸出中のジョブにだけ送れます。',
      params: JobIdParams,
      query: EvidenceQuery,
      response: json(EvidenceResponse, { status: 201 }),
      errors: ['rpa.leaseLost', 'input.tooLarge'],
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      const kind = ctx.input.query.kind;
      const declared = Number(ctx.get('content-length') || 0);
      if (declared > MAX_EVIDENCE_BYTES) throw new DomainError('input.tooLarge', { limit: `${MAX_EVIDENCE_BYTES / 1024 / 1024} MB` });
      const name = await agentOf(ctx, id);
      const saved = await recordEvidence(db, dataDir(), id, name, kind, await readRawBody(ctx.req, MAX_EVIDENCE_BYTES), actor(ctx));
      ctx.status = 201;
      return { id: saved.id, attempt: saved.attempt, kind, bytes: saved.bytes };
    },
  );

  route(
    {
      method: 'GET',
      path: '/api/v1/agent/scenarios',
      access: agentAccess,
      tag: TAG,
      summary: 'シナリオのファイル一式',
      description:
        'coreSystem (agent.yaml の基幹系) のフォルダーのシナリオを返します (ないときは rpa.coreSystem)。ETag が変わっていなければ (If-None-Match) 304 を本文なしで返します。',
      query: T.Object({ coreSystem: T.Optional(CoreSystemName) }),
      response: json(T.Union([ScenariosResponse, T.Null()]), { description: 'シナリオ (304 のときは本文なし)' }),
    },
    async (ctx) => {
      await agentOf(ctx);
      const system = ctx.input.query.coreSystem ?? deps.config.rpa.coreSystem;
      if (system !== deps.config.rpa.coreSystem && !deps.config.rpa.systems[system])
        throw invalidInput(`基幹系 ${system} はサーバーの設定 (rpa.coreSystem・rpa.systems) にありません`, [
          { field: 'coreSystem', message: '設定にない基幹系です' },
        ]);
      const dir = scenarioFolder(deps.configDir, system);
      let names: string[] = [];
      try {
        names = readdirSync(dir)
          .filter((f) => f.endsWith('.yaml'))
          .sort();
      } catch {
        throw notFound(`シナリオのフォルダー (scenarios/${system}) `);
      }
      const files = names.map((name) => {
        const text = readFileSync(path.join(dir, name), 'utf8');
        return { name, text, sha256: createHash('sha256').update(text).digest('hex') };
      });
      // Agents ask before every job: an unchanged set answers 304 without the files.
      const etag = `"${createHash('sha256')
        .update(files.map((f) => `${f.name}:${f.sha256}`).join('\n'))
        .digest('hex')
        .slice(0, 32)}"`;
      ctx.set('ETag', etag);
      if (ctx.get('if-none-match') === etag) {
        ctx.status = 304;
        return null;
      }
      return { coreSystem: system, files };
    },
  );

  route(
    { method: 'GET', path: '/rpa/jobs', access: manage, summary: 'RPA ジョブの一覧と端末 (画面)', query: JobListQuery, response: htmlPage },
    async (ctx) => {
      const { status = '', scenario = '', agent = '' } = ctx.input.query;
      const list = await jobList(db, {
        ...(status ? { status: status as JobStatus } : {}),
        ...(scenario ? { scenario } : {}),
        ...(agent ? { agent } : {}),
      });
      const flags = await reconcileFlags(db);
      render(
        ctx,
        'RPA ジョブ',
        jobListView(list, { status: status as JobStatus | '', scenario, agent }, session(ctx).csrfToken ?? '', Date.now(), flags),
      );
    },
  );

  route(
    {
      method: 'GET',
      path: '/rpa/jobs/:id',
      // Checked by the command: rpa.manage, or resident.viewProtectedAddress for a 支援措置 job.
      access: 'authenticated',
      summary: 'RPA ジョブ 1 件と証跡 (画面)',
      description:
        '権限 rpa.manage が必要です。支援措置の対象のジョブは resident.viewProtectedAddress (支援措置担当) だけが見られます (拒否も監査ログに記録)。',
      params: T.Object({ id: IdParam('ジョブ番号') }),
      response: htmlPage,
      errors: ['rpa.protectedJob', 'auth.forbidden'],
    },
    async (ctx) => {
      const { job, evidence } = await viewJob(db, ctx.input.params.id, session(ctx), actor(ctx));
      render(ctx, `RPA ジョブ ${job.id}`, jobView(job, evidence, session(ctx).csrfToken ?? ''));
    },
  );

  route(
    {
      method: 'GET',
      path: '/rpa/evidence/:id',
      // Checked by the command: rpa.manage, or resident.viewProtectedAddress for a 支援措置 job.
      access: 'authenticated',
      summary: '証跡ファイル (画面写真・トレース)',
      description:
        '権限 rpa.manage が必要です。支援措置の対象のジョブの証跡は resident.viewProtectedAddress (支援措置担当) だけが見られます (拒否も監査ログに記録)。',
      params: T.Object({ id: IdParam('証跡番号') }),
      response: file(evidenceKinds.screenshot.type, evidenceKinds.trace.type),
      errors: ['rpa.protectedJob', 'auth.forbidden'],
    },
    async (ctx) => {
      const got = await viewEvidence(db, dataDir(), ctx.input.params.id, session(ctx), actor(ctx));
      ctx.type = evidenceKinds[got.evidence.kind].type;
      if (got.evidence.kind === 'trace') ctx.attachment(`job-${got.evidence.jobId}-${got.evidence.attempt}-trace.zip`);
      ctx.body = got.body;
    },
  );

  route(
    {
      method: 'POST',
      path: '/rpa/jobs/:id/resolve',
      access: manage,
      summary: '要対応のジョブを再実行・手入力済み・取消にする',
      params: T.Object({ id: IdParam('ジョブ番号') }),
      body: ResolveBody,
      response: redirect,
      errors: ['state.moveNotAllowed'],
    },
    async (ctx) => {
      await resolveJob(db, ctx.input.params.id, ctx.input.body.action, ctx.input.body.reason, actor(ctx));
      ctx.status = 303;
      ctx.redirect('/rpa/jobs');
    },
  );
}
