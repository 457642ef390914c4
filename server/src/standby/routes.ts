import { createHash } from 'node:crypto';
import { Type as T } from '@sinclair/typebox';
import type Koa from 'koa';
import { DomainError } from '../errors/domainError.js';
import { json, type RouteKit } from '../http/kit.js';
import { Nullable, Obj } from '../http/schemas/common.js';
import { BODY_SHA_HEADER, checkRequest, EMPTY_SHA, formatHeader, responseSignature, sha256, SIGNATURE_HEADER } from './auth.js';
import type { StandbyNode } from './node.js';
import { ShipmentRefused } from './replica.js';

export const STANDBY_API = '/api/v1/standby/';
/** Manifests (JSON) are read whole; the database chunks and files stream to disk. */
const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;

/**
 * Checks the HMAC signature of every request under /api/v1/standby/ (a refusal is logged and
 * audited), marks the request as the peer's (`ctx.state.standbyPeer`, the kit's 'standbyPeer'
 * access), signs the answer, and answers a refused shipment with 409 and its reason.
 */
export function standbyMiddleware(node: StandbyNode): Koa.Middleware {
  return async (ctx, next) => {
    if (!ctx.path.startsWith(STANDBY_API)) return next();
    const check = checkRequest(
      node.secret,
      { signature: ctx.get(SIGNATURE_HEADER) || undefined, bodySha: ctx.get(BODY_SHA_HEADER) || undefined },
      ctx.method,
      ctx.url,
    );
    if (!check.ok) {
      await node.refuse('standby.unsigned', ctx.ip, { reason: check.reason, route: ctx.path });
      throw new DomainError('standby.unsigned');
    }
    ctx.state.standbyPeer = true;
    try {
      await next();
    } catch (e) {
      if (!(e instanceof ShipmentRefused)) throw e;
      await node.refuse('standby.shipmentRefused', ctx.ip, { code: e.code, route: ctx.path });
      ctx.status = 409;
      ctx.body = { error: { status: 409, code: e.code, message: e.message } };
    }
    const text = ctx.body === undefined || ctx.body === null ? '' : JSON.stringify(ctx.body);
    const status = ctx.status;
    ctx.body = text;
    ctx.type = 'application/json';
    ctx.status = status;
    const t = Date.now();
    ctx.set(SIGNATURE_HEADER, formatHeader(t, responseSignature(node.secret, check.sig, status, t, text ? sha256(text) : EMPTY_SHA)));
  };
}

/** The whole body (manifests), checked against the signed hash. */
async function readSmallBody(ctx: Koa.Context): Promise<unknown> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of ctx.req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > MAX_MANIFEST_BYTES) throw new DomainError('input.tooLarge', { limit: '32 MB' });
    parts.push(c);
  }
  const body = Buffer.concat(parts);
  if (createHash('sha256').update(body).digest('hex') !== ctx.get(BODY_SHA_HEADER))
    throw new ShipmentRefused('body.sha', '送られた目録の SHA-256 が署名と合いません。');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new ShipmentRefused('manifest.invalid', '送られた目録を読めません (JSON)。');
  }
}

const ReplicaSchema = Obj({ epoch: T.Integer(), seq: T.Integer(), snapshotAt: T.String(), sha256: T.String(), verifiedAt: T.String() });
const NodeStatusSchema = Obj({
  role: T.Union([T.Literal('primary'), T.Literal('standby')]),
  epoch: T.Integer(),
  version: T.String(),
  replica: Nullable(ReplicaSchema),
});
const AckSchema = Obj({ epoch: T.Integer(), seq: T.Integer(), snapshotAt: T.String(), sha256: T.String(), verifiedAt: T.String() });

/** The receiving routes; on a primary they exist too, to answer the status and refuse shipments. */
export function registerStandbyRoutes({ route }: RouteKit, node: StandbyNode): void {
  const tag = '待機系';
  const mustBeStandby = () => {
    if (node.state.role !== 'standby')
      throw new ShipmentRefused('role.primary', 'この系は運用系です。運用系への送信は受け付けません (二重の運用系を防ぐため)。');
  };

  route(
    {
      method: 'GET',
      path: '/api/v1/standby/status',
      access: 'standbyPeer',
      tag,
      summary: 'この系の役割・世代・受け取った複製の状態 (相手の系だけ)',
      response: json(NodeStatusSchema),
    },
    async () => node.status(),
  );

  route(
    {
      method: 'POST',
      path: '/api/v1/standby/db/offer',
      access: 'standbyPeer',
      tag,
      summary: 'データベースの目録を受け取り、足りないチャンクの番号を返す',
      response: json(Obj({ session: T.String(), need: T.Array(T.Integer()), seq: T.Integer() })),
    },
    async (ctx) => {
      const manifest = await readSmallBody(ctx);
      mustBeStandby();
      const epoch = (manifest as { epoch?: unknown }).epoch;
      const answer = node.receiver.offer(manifest, node.state.epoch);
      if (typeof epoch === 'number') node.adoptEpoch(epoch);
      return answer;
    },
  );

  route(
    {
      method: 'POST',
      path: '/api/v1/standby/db/chunks/:session',
      access: 'standbyPeer',
      tag,
      summary: '足りないチャンクを受け取り、組み立て・検証してから複製として採用する',
      params: Obj({ session: T.String({ maxLength: 64, pattern: '^[0-9a-f-]+$' }) }),
      response: json(AckSchema),
    },
    async (ctx) => {
      mustBeStandby();
      const st = await node.receiver.receive(ctx.input.params.session, ctx.req, ctx.get(BODY_SHA_HEADER));
      node.logger.info('standby replica installed', { seq: st.seq, snapshotAt: st.snapshotAt });
      return { epoch: st.epoch, seq: st.seq, snapshotAt: st.snapshotAt, sha256: st.sha256, verifiedAt: st.verifiedAt };
    },
  );

  route(
    {
      method: 'POST',
      path: '/api/v1/standby/files/offer',
      access: 'standbyPeer',
      tag,
      summary: 'ファイル (設定・RPA の証跡・監査のアンカー) の目録を受け取り、送ってほしいファイルを返す',
      response: json(Obj({ need: T.Array(T.String()) })),
    },
    async (ctx) => {
      const manifest = await readSmallBody(ctx);
      mustBeStandby();
      const epoch = (manifest as { epoch?: unknown }).epoch;
      if (typeof epoch !== 'number' || epoch < node.state.epoch)
        throw new ShipmentRefused('epoch.stale', `世代 (epoch) ${String(epoch)} の送信は受け付けません (この系は ${node.state.epoch})。`);
      return node.mirror.offer(manifest);
    },
  );

  route(
    {
      method: 'POST',
      path: '/api/v1/standby/files/put',
      access: 'standbyPeer',
      tag,
      summary: 'ファイルを 1 つ受け取る (目録の SHA-256 と照合)',
      query: Obj({ path: T.String({ minLength: 1, maxLength: 1024 }) }),
      response: json(Obj({ ok: T.Boolean() })),
    },
    async (ctx) => {
      mustBeStandby();
      await node.mirror.put(ctx.input.query.path, ctx.req, ctx.get(BODY_SHA_HEADER));
      return { ok: true };
    },
  );
}
