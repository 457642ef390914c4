import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { appendAudit } from '../../audit/trail.js';
import { powerStatus } from '../../ops/power.js';
import { evidenceKinds, listEvidence, MAX_EVIDENCE_BYTES, readEvidence, storeEvidence, type EvidenceKind } from '../../rpa/evidence.js';
import {
  claimJob,
  failJob,
  heartbeat,
  jobStatuses,
  jobStatusLabels,
  queueSettingsOf,
  releaseJob,
  resolveJob,
  scenarioFolder,
  succeedJob,
  toJob,
  touchAgent,
  type Job,
  type JobStatus,
} from '../../rpa/jobs.js';
import { noticeTypeLabels, type NoticeType } from '../../domain/procedureTypes.js';
import { html, type SafeHtml } from '../html.js';
import { badRequest, type RouteAccess, type RouteKit } from '../kit.js';
import { japanWarekiTime as jst } from '../../domain/japanTime.js';

type Ctx = Parameters<RouteKit['session']>[0];

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

/** An agent not heard from for this long is shown as silent. */
const AGENT_SILENT_MS = 10 * 60_000;

async function readBody(ctx: Ctx, limit: number): Promise<Buffer> {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > limit)
    throw Object.assign(new Error(`ファイルが大きすぎます (上限 ${limit / 1024 / 1024} MB)`), { status: 413, expose: true });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit)
      throw Object.assign(new Error(`ファイルが大きすぎます (上限 ${limit / 1024 / 1024} MB)`), { status: 413, expose: true });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function scenarioLabel(scenario: string): string {
  const certificates: Record<string, string> = {
    residentCopy: '住民票の写し',
    residentEntry: '住民票記載事項証明',
    sealCertificate: '印鑑登録証明',
    incomeTax: '所得・課税証明',
    taxPayment: '納税証明',
  };
  return noticeTypeLabels[scenario as NoticeType] ?? certificates[scenario] ?? scenario;
}

/** The agents' API (bearer token, `rpa.agent`) and the staff's job pages (`rpa.manage`). */
export function registerRpaRoutes({ legacyRoute: route, deps, render, session, actor, form }: RouteKit): void {
  const db = deps.knex;
  const agentAccess: RouteAccess = { permission: 'rpa.agent' };
  const manage: RouteAccess = { permission: 'rpa.manage' };
  const settings = queueSettingsOf(deps.config);
  const dataDir = (): string => {
    if (!deps.dataDir) throw Object.assign(new Error('データフォルダーが設定されていません'), { status: 500 });
    return deps.dataDir;
  };
  /** The calling agent's name; every call also records the agent's last contact and version. */
  const agentOf = async (ctx: Ctx, jobId: number | null = null): Promise<string> => {
    const s = session(ctx);
    if (s.kind !== 'client') throw Object.assign(new Error('RPA 端末のトークンで呼んでください'), { status: 403, expose: true });
    await touchAgent(db, s.displayName, ctx.get('x-madoguchi-agent-version') || null, ctx.get('x-madoguchi-agent-host') || null, jobId);
    return s.displayName;
  };
  const jobId = (raw: string | undefined): number => {
    const id = Number(raw);
    if (!Number.isInteger(id) || id < 1) throw badRequest('ジョブ番号が正しくありません');
    return id;
  };

  route('POST', '/api/v1/agent/claim', agentAccess, async (ctx) => {
    const name = await agentOf(ctx);
    // On battery no new lease starts: an entry cut off by the shutdown would need repair by hand.
    if ((await powerStatus(db)).state !== 'online') {
      ctx.set('Retry-After', '60');
      ctx.status = 204;
      return;
    }
    const job = await claimJob(db, name, settings);
    if (!job) {
      ctx.status = 204;
      return;
    }
    await touchAgent(db, name, null, null, job.id);
    // The payload holds personal data: handing it to an agent is a reference, so it is audited.
    await db.transaction((trx) =>
      appendAudit(trx, {
        ...actor(ctx),
        action: 'rpa.claim',
        targetKind: 'rpaJob',
        targetIds: [String(job.id)],
        result: 'success',
        detail: { scenario: job.scenario, attempt: job.attempts + 1 },
      }),
    );
    ctx.body = {
      job: {
        id: job.id,
        idempotencyKey: job.idempotencyKey,
        reference: job.reference,
        scenario: job.scenario,
        payload: job.payload,
        attempt: job.attempts + 1,
        leaseExpiresAt: job.leaseExpiresAt,
        leaseSeconds: settings.leaseSeconds,
      },
    };
  });

  route('POST', '/api/v1/agent/jobs/:id/heartbeat', agentAccess, async (ctx) => {
    const id = jobId(ctx.params.id);
    ctx.body = { leaseExpiresAt: await heartbeat(db, id, await agentOf(ctx, id), settings) };
  });

  route('POST', '/api/v1/agent/jobs/:id/release', agentAccess, async (ctx) => {
    const id = jobId(ctx.params.id);
    await releaseJob(db, id, await agentOf(ctx, id));
    ctx.body = { status: 'queued' };
  });

  route('POST', '/api/v1/agent/jobs/:id/success', agentAccess, async (ctx) => {
    const id = jobId(ctx.params.id);
    await succeedJob(db, id, await agentOf(ctx, id), str(form(ctx).coreRef), actor(ctx));
    ctx.body = { status: 'succeeded' };
  });

  route('POST', '/api/v1/agent/jobs/:id/failure', agentAccess, async (ctx) => {
    const id = jobId(ctx.params.id);
    const b = form(ctx);
    const kind = str(b.kind);
    if (kind !== 'business' && kind !== 'application') throw badRequest('kind は business か application です');
    ctx.body = { status: await failJob(db, id, await agentOf(ctx, id), kind, str(b.message) || '(理由なし)', settings, actor(ctx)) };
  });

  route('POST', '/api/v1/agent/jobs/:id/evidence', agentAccess, async (ctx) => {
    const id = jobId(ctx.params.id);
    const kind = str(ctx.query.kind);
    if (!(kind in evidenceKinds)) throw badRequest('kind は screenshot か trace です');
    const name = await agentOf(ctx, id);
    const saved = await storeEvidence(db, dataDir(), id, name, kind as EvidenceKind, await readBody(ctx, MAX_EVIDENCE_BYTES));
    await db.transaction((trx) =>
      appendAudit(trx, {
        ...actor(ctx),
        action: 'rpa.evidence.store',
        targetKind: 'rpaJob',
        targetIds: [String(id)],
        result: 'success',
        detail: { evidence: saved.id, kind, bytes: saved.bytes },
      }),
    );
    ctx.status = 201;
    ctx.body = { id: saved.id, attempt: saved.attempt, kind, bytes: saved.bytes };
  });

  route('GET', '/api/v1/agent/scenarios', agentAccess, async (ctx) => {
    await agentOf(ctx);
    const dir = scenarioFolder(deps.configDir, deps.config.rpa.coreSystem);
    let names: string[] = [];
    try {
      names = readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .sort();
    } catch {
      throw Object.assign(new Error(`シナリオのフォルダーがありません: scenarios/${deps.config.rpa.coreSystem}`), {
        status: 404,
        expose: true,
      });
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
      return;
    }
    ctx.body = { coreSystem: deps.config.rpa.coreSystem, files };
  });

  const statusCell = (j: Job): SafeHtml =>
    html`<td class="${j.status === 'needsAttention' ? 'result-failed' : ''}">${jobStatusLabels[j.status]}${j.status === 'queued' && j.awaitingReview ? html` <span class="muted">(審査待ち)</span>` : ''}${j.blockedBy ? html` <span class="muted">(ジョブ ${j.blockedBy} の後)</span>` : ''}</td>`;
  const errorText = (j: Job): string =>
    j.errorKind ? `${j.errorKind === 'business' ? '業務エラー' : 'アプリケーションエラー'}: ${j.errorMessage ?? ''}` : '';
  const resolveForm = (j: Job, csrf: string): SafeHtml =>
    j.status === 'needsAttention' || j.status === 'queued'
      ? html`<form method="post" action="/rpa/jobs/${j.id}/resolve" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><select name="action" aria-label="操作">${j.status === 'needsAttention' ? html`<option value="retry">再実行</option>` : ''}<option value="doneByHand">手入力済みにする</option><option value="cancel">取り消す</option></select><input name="reason" placeholder="理由" aria-label="理由" required size="10"><button type="submit">実行</button></form>`
      : html``;

  route('GET', '/rpa/jobs', manage, async (ctx) => {
    const status = str(ctx.query.status);
    const scenario = str(ctx.query.scenario);
    const agent = str(ctx.query.agent);
    if (status && !jobStatuses.includes(status as JobStatus)) throw badRequest('状態が正しくありません');
    let q = db('rpa_jobs').orderBy('id', 'desc').limit(300);
    if (status) q = q.where({ status });
    if (scenario) q = q.where({ scenario });
    if (agent) q = q.where({ leased_by: agent });
    const jobs = ((await q) as Record<string, unknown>[]).map(toJob);
    const counts = (await db('rpa_jobs').groupBy('status').select('status').count({ n: '*' })) as {
      status: JobStatus;
      n: number | string;
    }[];
    const scenarios = ((await db('rpa_jobs').distinct('scenario').orderBy('scenario')) as { scenario: string }[]).map((r) => r.scenario);
    const agents = (await db('rpa_agents').orderBy('name')) as {
      name: string;
      version: string | null;
      host: string | null;
      last_seen_at: unknown;
      last_job_id: number | null;
    }[];
    const csrf = session(ctx).csrfToken ?? '';
    const now = Date.now();
    render(
      ctx,
      'RPA ジョブ',
      html`<h1>RPA ジョブ (基幹系への入力)</h1>
<table id="job-counts"><tr>${jobStatuses.map((s) => html`<th>${jobStatusLabels[s]}</th>`)}</tr><tr>${jobStatuses.map((s) => html`<td class="num"><a href="/rpa/jobs?status=${s}">${Number(counts.find((c) => c.status === s)?.n ?? 0)}</a></td>`)}</tr></table>
<form method="get" action="/rpa/jobs" class="inline" id="job-filter"><label>状態 <select name="status"><option value="">すべて</option>${jobStatuses.map((s) => html`<option value="${s}"${s === status ? html` selected` : ''}>${jobStatusLabels[s]}</option>`)}</select></label>
<label>届出・証明 <select name="scenario"><option value="">すべて</option>${scenarios.map((s) => html`<option value="${s}"${s === scenario ? html` selected` : ''}>${scenarioLabel(s)}</option>`)}</select></label>
<label>端末 <input name="agent" value="${agent}" size="10"></label> <button type="submit">絞り込む</button></form>
<table id="jobs"><thead><tr><th>番号</th><th>届出・証明</th><th>受付番号</th><th>状態</th><th>試行</th><th>端末</th><th>処理番号</th><th>エラー</th><th>作成</th><th></th></tr></thead><tbody>
${jobs.map((j) => html`<tr><td class="num"><a href="/rpa/jobs/${j.id}">${j.id}</a></td><td>${scenarioLabel(j.scenario)}</td><td>${j.reference ?? ''}</td>${statusCell(j)}<td class="num">${j.attempts}/${j.maxAttempts}</td><td>${j.leasedBy ?? ''}</td><td>${j.coreRef ?? ''}</td><td>${errorText(j)}</td><td>${jst(j.createdAt.toISOString())}</td><td>${resolveForm(j, csrf)}</td></tr>`)}
</tbody></table>
<h2>RPA 端末</h2>
<table id="agents"><thead><tr><th>端末名</th><th>ホスト名</th><th>版</th><th>最終通信</th><th>最後のジョブ</th><th>状態</th></tr></thead><tbody>
${agents.map((a) => {
  const seen = new Date(a.last_seen_at as string | number | Date);
  const silent = now - seen.getTime() > AGENT_SILENT_MS;
  return html`<tr><td>${a.name}</td><td>${a.host ?? ''}</td><td>${a.version ?? ''}</td><td>${jst(seen.toISOString())}</td><td>${a.last_job_id ? html`<a href="/rpa/jobs/${a.last_job_id}">${a.last_job_id}</a>` : ''}</td><td class="${silent ? 'result-failed' : ''}">${silent ? '応答なし' : '稼働中'}</td></tr>`;
})}
</tbody></table>`,
    );
  });

  route('GET', '/rpa/jobs/:id', manage, async (ctx) => {
    const id = jobId(ctx.params.id);
    const row = (await db('rpa_jobs').where({ id }).first()) as Record<string, unknown> | undefined;
    if (!row) return ctx.throw(404, '指定されたジョブはありません');
    const j = toJob(row);
    const evidence = await listEvidence(db, id);
    const subject = (j.payload.subject ?? {}) as { name?: string };
    // The job page names the person: viewing it is a reference to personal data.
    await db.transaction((trx) =>
      appendAudit(trx, {
        ...actor(ctx),
        action: 'rpa.job.view',
        targetKind: 'rpaJob',
        targetIds: [String(id)],
        result: 'success',
        detail: { evidence: evidence.length },
      }),
    );
    const csrf = session(ctx).csrfToken ?? '';
    render(
      ctx,
      `RPA ジョブ ${id}`,
      html`<h1>RPA ジョブ ${id}: ${scenarioLabel(j.scenario)}</h1>
<table id="job"><tr><th>状態</th>${statusCell(j)}</tr><tr><th>受付番号</th><td>${j.reference ?? ''}</td></tr><tr><th>対象者</th><td>${subject.name ?? ''}</td></tr>
<tr><th>届出</th><td>${j.noticeId ? html`<a href="/review/notices/${j.noticeId}">届出 ${j.noticeId}</a>` : '—'}</td></tr><tr><th>試行</th><td>${j.attempts}/${j.maxAttempts}</td></tr>
<tr><th>処理番号</th><td>${j.coreRef ?? ''}</td></tr><tr><th>エラー</th><td>${errorText(j)}</td></tr><tr><th>対応の理由</th><td>${j.resolution ?? ''}</td></tr>
<tr><th>作成</th><td>${jst(j.createdAt.toISOString())}</td></tr><tr><th>完了</th><td>${j.finishedAt ? jst(j.finishedAt.toISOString()) : ''}</td></tr></table>
<p>${resolveForm(j, csrf)}</p>
<h2>証跡 (画面写真・トレース)</h2>
${
  evidence.length === 0
    ? html`<p class="muted">証跡はありません。</p>`
    : html`<table id="evidence"><thead><tr><th>試行</th><th>種類</th><th>大きさ</th><th>日時</th><th></th></tr></thead><tbody>
${evidence.map(
  (
    e,
  ) => html`<tr><td class="num">${e.attempt}</td><td>${e.kind === 'screenshot' ? '画面写真' : 'トレース'}</td><td class="num">${Math.ceil(e.bytes / 1024)} KB</td><td>${jst(e.createdAt.toISOString())}</td><td><a href="/rpa/evidence/${e.id}">${e.kind === 'screenshot' ? '表示' : 'ダウンロード'}</a></td></tr>
${e.kind === 'screenshot' ? html`<tr><td colspan="5"><img src="/rpa/evidence/${e.id}" alt="試行 ${e.attempt} の画面" loading="lazy" style="max-width:100%;border:1px solid #999"></td></tr>` : ''}`,
)}
</tbody></table>
<p class="muted">トレースは Playwright の trace viewer (npx playwright show-trace ファイル) で開けます。個人情報を含むため、見終わったら端末から削除してください。</p>`
}
<p><a href="/rpa/jobs">ジョブ一覧へ</a></p>`,
    );
  });

  route('GET', '/rpa/evidence/:id', manage, async (ctx) => {
    const id = Number(ctx.params.id);
    if (!Number.isInteger(id) || id < 1) throw badRequest('番号が正しくありません');
    const got = await readEvidence(db, dataDir(), id);
    if (!got) return ctx.throw(404, '証跡がありません (保存期間を過ぎて削除された可能性があります)');
    await db.transaction((trx) =>
      appendAudit(trx, {
        ...actor(ctx),
        action: 'rpa.evidence.view',
        targetKind: 'rpaJob',
        targetIds: [String(got.evidence.jobId)],
        result: 'success',
        detail: { evidence: id, kind: got.evidence.kind },
      }),
    );
    ctx.type = evidenceKinds[got.evidence.kind].type;
    if (got.evidence.kind === 'trace') ctx.attachment(`job-${got.evidence.jobId}-${got.evidence.attempt}-trace.zip`);
    ctx.body = got.body;
  });

  route('POST', '/rpa/jobs/:id/resolve', manage, async (ctx) => {
    const b = form(ctx);
    const action = str(b.action);
    if (action !== 'retry' && action !== 'doneByHand' && action !== 'cancel') throw badRequest('操作が正しくありません');
    await resolveJob(db, jobId(ctx.params.id), action, str(b.reason), actor(ctx));
    ctx.status = 303;
    ctx.redirect('/rpa/jobs');
  });
}
