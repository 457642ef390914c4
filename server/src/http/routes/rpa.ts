import { appendAudit } from '../../audit/trail.js';
import { powerStatus } from '../../ops/power.js';
import { claimJob, defaultQueueSettings, failJob, heartbeat, jobStatuses, jobStatusLabels, resolveJob, succeedJob, toJob, type JobStatus } from '../../rpa/jobs.js';
import { noticeTypeLabels, type NoticeType } from '../../domain/procedureTypes.js';
import { html } from '../html.js';
import { badRequest, type RouteAccess, type RouteKit } from '../app.js';
import { jst } from './linkage.js';

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');

/** The agents' API (bearer token, `rpa.agent`) and the staff's job list (`rpa.manage`). */
export function registerRpaRoutes({ route, deps, render, session, actor, form }: RouteKit): void {
  const db = deps.knex;
  const agentAccess: RouteAccess = { permission: 'rpa.agent' };
  const settings = defaultQueueSettings;
  const agentName = (ctx: Parameters<RouteKit['session']>[0]): string => {
    const s = session(ctx);
    if (s.kind !== 'client') throw Object.assign(new Error('RPA 端末のトークンで呼んでください'), { status: 403, expose: true });
    return s.displayName;
  };
  const jobId = (raw: string | undefined): number => {
    const id = Number(raw);
    if (!Number.isInteger(id) || id < 1) throw badRequest('ジョブ番号が正しくありません');
    return id;
  };

  route('POST', '/api/v1/agent/claim', agentAccess, async (ctx) => {
    const name = agentName(ctx);
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
    // The payload holds personal data: handing it to an agent is a reference, so it is audited.
    await db.transaction((trx) => appendAudit(trx, { ...actor(ctx), action: 'rpa.claim', targetKind: 'rpaJob', targetIds: [String(job.id)], result: 'success', detail: { scenario: job.scenario, attempt: job.attempts + 1 } }));
    ctx.body = { job: { id: job.id, idempotencyKey: job.idempotencyKey, scenario: job.scenario, payload: job.payload, attempt: job.attempts + 1, leaseExpiresAt: job.leaseExpiresAt } };
  });

  route('POST', '/api/v1/agent/jobs/:id/heartbeat', agentAccess, async (ctx) => {
    ctx.body = { leaseExpiresAt: await heartbeat(db, jobId(ctx.params.id), agentName(ctx), settings) };
  });

  route('POST', '/api/v1/agent/jobs/:id/success', agentAccess, async (ctx) => {
    await succeedJob(db, jobId(ctx.params.id), agentName(ctx), str(form(ctx).coreRef), actor(ctx));
    ctx.body = { status: 'succeeded' };
  });

  route('POST', '/api/v1/agent/jobs/:id/failure', agentAccess, async (ctx) => {
    const b = form(ctx);
    const kind = str(b.kind);
    if (kind !== 'business' && kind !== 'application') throw badRequest('kind は business か application です');
    ctx.body = { status: await failJob(db, jobId(ctx.params.id), agentName(ctx), kind, str(b.message) || '(理由なし)', settings, actor(ctx)) };
  });

  route('GET', '/rpa/jobs', { permission: 'rpa.manage' }, async (ctx) => {
    const status = str(ctx.query.status);
    if (status && !jobStatuses.includes(status as JobStatus)) throw badRequest('状態が正しくありません');
    let q = db('rpa_jobs').orderBy('id', 'desc').limit(300);
    if (status) q = q.where({ status });
    const jobs = ((await q) as Record<string, unknown>[]).map(toJob);
    const counts = (await db('rpa_jobs').groupBy('status').select('status').count({ n: '*' })) as { status: JobStatus; n: number | string }[];
    const csrf = session(ctx).csrfToken ?? '';
    render(ctx, 'RPA ジョブ', html`<h1>RPA ジョブ (基幹系への入力)</h1>
<table id="job-counts"><tr>${jobStatuses.map((s) => html`<th>${jobStatusLabels[s]}</th>`)}</tr><tr>${jobStatuses.map((s) => html`<td class="num"><a href="/rpa/jobs?status=${s}">${Number(counts.find((c) => c.status === s)?.n ?? 0)}</a></td>`)}</tr></table>
<table id="jobs"><thead><tr><th>番号</th><th>届出</th><th>状態</th><th>試行</th><th>端末</th><th>処理番号</th><th>エラー</th><th>作成</th><th></th></tr></thead><tbody>
${jobs.map((j) => html`<tr><td class="num">${j.id}</td><td>${noticeTypeLabels[j.scenario as NoticeType] ?? j.scenario} ${j.awaitingReview && j.status === 'queued' ? html`<span class="muted">(審査待ち)</span>` : ''}${j.blockedBy ? html` <span class="muted">(ジョブ ${j.blockedBy} の後)</span>` : ''}</td><td class="${j.status === 'needsAttention' ? 'result-failed' : ''}">${jobStatusLabels[j.status]}</td><td class="num">${j.attempts}/${j.maxAttempts}</td><td>${j.leasedBy ?? ''}</td><td>${j.coreRef ?? ''}</td><td>${j.errorKind ? `${j.errorKind === 'business' ? '業務' : 'アプリ'}: ${j.errorMessage ?? ''}` : ''}</td><td>${jst(j.createdAt.toISOString())}</td>
<td>${j.status === 'needsAttention' || j.status === 'queued' ? html`<form method="post" action="/rpa/jobs/${j.id}/resolve" class="inline"><input type="hidden" name="_csrf" value="${csrf}"><select name="action">${j.status === 'needsAttention' ? html`<option value="retry">再実行</option>` : ''}<option value="doneByHand">手入力済みにする</option><option value="cancel">取り消す</option></select><input name="reason" placeholder="理由" required size="10"><button type="submit">実行</button></form>` : ''}</td></tr>`)}
</tbody></table>`);
  });

  route('POST', '/rpa/jobs/:id/resolve', { permission: 'rpa.manage' }, async (ctx) => {
    const b = form(ctx);
    const action = str(b.action);
    if (action !== 'retry' && action !== 'doneByHand' && action !== 'cancel') throw badRequest('操作が正しくありません');
    await resolveJob(db, jobId(ctx.params.id), action, str(b.reason), actor(ctx));
    ctx.status = 303;
    ctx.redirect('/rpa/jobs');
  });
}
