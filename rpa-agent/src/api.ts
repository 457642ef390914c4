import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import type {
  ClaimResult,
  EvidenceResult,
  FailureRequest,
  FailureResult,
  HeartbeatResult,
  ReleaseResult,
  ScenarioFiles,
  SuccessRequest,
  SuccessResult,
} from '@madoguchi/server/rpa/agentApi';
import { agentVersion } from './version.js';

/** The agent API's shapes come from the server's contract module, so client and server cannot drift. */
export type { ClaimedJob, ScenarioFiles } from '@madoguchi/server/rpa/agentApi';

/** The server could not be reached (network, restart, TLS): the agent waits and tries again. */
export class ServerAway extends Error {}
/** The server answered with an error status. */
export class ServerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** The agent API over HTTPS with the internal CA (or HTTP on a test bench), bearer token. */
export class ServerApi {
  private readonly base: URL;
  private readonly agent: http.Agent;

  constructor(
    server: string,
    private readonly token: string,
    ca?: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.base = new URL(server.endsWith('/') ? server : `${server}/`);
    this.agent =
      this.base.protocol === 'https:' ? new https.Agent({ keepAlive: true, ...(ca ? { ca } : {}) }) : new http.Agent({ keepAlive: true });
  }

  protected request(
    method: string,
    path: string,
    body?: Buffer | string,
    type = 'application/json',
    extra: Record<string, string> = {},
  ): Promise<Response> {
    const url = new URL(path, this.base);
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        url,
        {
          method,
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: {
            authorization: `Bearer ${this.token}`,
            'x-madoguchi-agent-version': agentVersion,
            'x-madoguchi-agent-host': os.hostname(),
            accept: 'application/json',
            ...(body !== undefined ? { 'content-type': type, 'content-length': Buffer.byteLength(body) } : {}),
            ...extra,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', (e) => reject(new ServerAway(e.message)));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => reject(new ServerAway(`サーバーに接続できません: ${e.message}`)));
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  protected async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body === undefined ? undefined : JSON.stringify(body));
    if (res.status >= 500 || res.status === 0) throw new ServerAway(`サーバーが HTTP ${res.status} を返しました`);
    if (res.status >= 400) {
      let message = `HTTP ${res.status}`;
      try {
        message = (JSON.parse(res.body.toString('utf8')) as { error?: { message?: string } }).error?.message ?? message;
      } catch {
        /* not JSON */
      }
      throw new ServerError(res.status, message);
    }
    return (res.body.length ? JSON.parse(res.body.toString('utf8')) : {}) as T;
  }

  /** A job, or null with how long the server asks to wait (seconds) when it has none. */
  /** The next job of this agent's core system (agent.yaml coreSystem) and pool (serves). */
  async claim(scenarios?: readonly string[], coreSystem?: string): Promise<{ job: ClaimResult['job'] | null; retryAfter: number | null }> {
    const res = await this.request(
      'POST',
      'api/v1/agent/claim',
      JSON.stringify({ ...(scenarios?.length ? { scenarios } : {}), ...(coreSystem ? { coreSystem } : {}) }),
    );
    if (res.status === 204) {
      const ra = Number(res.headers['retry-after']);
      return { job: null, retryAfter: Number.isFinite(ra) && ra > 0 ? ra : null };
    }
    if (res.status >= 500 || res.status === 0) throw new ServerAway(`サーバーが HTTP ${res.status} を返しました`);
    if (res.status >= 400) throw new ServerError(res.status, res.body.toString('utf8').slice(0, 300));
    return { job: (JSON.parse(res.body.toString('utf8')) as ClaimResult).job, retryAfter: null };
  }

  /** `unprobedCommit`: the saving step of a scenario without a probe is next (a lost lease then stops the job for staff). */
  heartbeat(id: number, unprobedCommit = false): Promise<HeartbeatResult> {
    return this.json('POST', `api/v1/agent/jobs/${id}/heartbeat`, unprobedCommit ? { unprobedCommit: true } : {});
  }

  release(id: number): Promise<ReleaseResult> {
    return this.json('POST', `api/v1/agent/jobs/${id}/release`, {});
  }

  succeed(id: number, coreRef: string): Promise<SuccessResult> {
    const body: SuccessRequest = { coreRef };
    return this.json('POST', `api/v1/agent/jobs/${id}/success`, body);
  }

  fail(id: number, kind: FailureRequest['kind'], message: string): Promise<FailureResult> {
    const body: FailureRequest = { kind, message };
    return this.json('POST', `api/v1/agent/jobs/${id}/failure`, body);
  }

  async evidence(id: number, kind: EvidenceResult['kind'], body: Buffer): Promise<void> {
    const res = await this.request(
      'POST',
      `api/v1/agent/jobs/${id}/evidence?kind=${kind}`,
      body,
      kind === 'screenshot' ? 'image/png' : 'application/zip',
    );
    if (res.status !== 201) throw new ServerError(res.status, res.body.toString('utf8').slice(0, 300));
  }

  private scenarioTag: string | null = null;

  /** The scenario files, or null when they have not changed since the last call (ETag). */
  async scenarios(coreSystem?: string): Promise<ScenarioFiles | null> {
    const res = await this.request(
      'GET',
      `api/v1/agent/scenarios${coreSystem ? `?coreSystem=${encodeURIComponent(coreSystem)}` : ''}`,
      undefined,
      'application/json',
      this.scenarioTag ? { 'if-none-match': this.scenarioTag } : {},
    );
    if (res.status === 304) return null;
    if (res.status >= 500 || res.status === 0) throw new ServerAway(`サーバーが HTTP ${res.status} を返しました`);
    if (res.status >= 400) throw new ServerError(res.status, res.body.toString('utf8').slice(0, 300));
    this.scenarioTag = typeof res.headers.etag === 'string' ? res.headers.etag : null;
    return JSON.parse(res.body.toString('utf8')) as ScenarioFiles;
  }

  close(): void {
    this.agent.destroy();
  }
}
