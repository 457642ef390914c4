/**
 * The client side of the search benchmark: HTTP over one keep-alive agent, logins, and the
 * closed-loop terminals with their measurements. No server code is imported here.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

export const OPERATIONS = ['kana', 'nameBirth', 'address', 'person'] as const;
export type Operation = (typeof OPERATIONS)[number];
export type Mix = Record<Operation, number>;

/** `kana=40,nameBirth=25,address=15,person=20`; operations left out get weight 0. */
export function parseMix(text: string): Mix {
  const mix: Mix = { kana: 0, nameBirth: 0, address: 0, person: 0 };
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z]+)=([0-9]+(?:\.[0-9]+)?)$/.exec(part);
    if (!m || !(OPERATIONS as readonly string[]).includes(m[1]!))
      throw new Error(`--mix: 「${part}」が読めません (例: kana=40,nameBirth=25,address=15,person=20)`);
    mix[m[1] as Operation] = Number(m[2]);
  }
  if (OPERATIONS.every((o) => mix[o] <= 0)) throw new Error('--mix: 重みがすべて 0 です');
  return mix;
}

export const formatMix = (mix: Mix): string =>
  OPERATIONS.filter((o) => mix[o] > 0)
    .map((o) => `${o}=${mix[o]}`)
    .join(',');

export interface Reply {
  status: number;
  /** From `Server-Timing: app;dur=<ms>`; NaN when the header is missing. */
  serverMs: number;
  clientMs: number;
  /** The body, kept only for non-2xx answers (for the error report) or when asked for. */
  body: string;
  headers: http.IncomingHttpHeaders;
}

const SERVER_TIMING = /(?:^|,)\s*app;dur=([0-9.]+)/;

/** A small HTTP client over one keep-alive agent: the terminals share it, one socket each. */
export class Client {
  readonly agent: http.Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(baseUrl: string, sockets: number) {
    const u = new URL(baseUrl);
    this.host = u.hostname;
    this.port = Number(u.port);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
  }

  request(method: 'GET' | 'POST', path: string, headers: Record<string, string>, body?: string, keepBody = false): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const req = http.request(
        {
          host: this.host,
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const timing = SERVER_TIMING.exec(String(res.headers['server-timing'] ?? ''));
          const serverMs = timing ? Number(timing[1]) : NaN;
          const ok = status >= 200 && status < 400 && !keepBody;
          const chunks: Buffer[] = [];
          // The body of a good answer is read to the end (its transfer is part of the round trip) but not kept.
          res.on('data', (d: Buffer) => {
            if (!ok) chunks.push(d);
          });
          res.on('end', () =>
            resolve({
              status,
              serverMs,
              clientMs: performance.now() - started,
              body: Buffer.concat(chunks).toString('utf8'),
              headers: res.headers,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Open keep-alive connections now in the agent (idle and busy). */
  connections(): number {
    const count = (m: NodeJS.ReadOnlyDict<unknown[]>) => Object.values(m).reduce((n, l) => n + (l?.length ?? 0), 0);
    return count(this.agent.sockets) + count(this.agent.freeSockets);
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * Opens `n` keep-alive connections at once with a cheap page (GET /login), so that every terminal
 * has its connection before the load starts, as on a counter floor whose screens are already open.
 * (A connection opened while the server is saturated waits long for its first answer; see the
 * report of the search benchmark.)
 */
export async function preconnect(client: Client, n: number): Promise<number> {
  await Promise.all(
    Array.from({ length: n }, async () => {
      const r = await client.request('GET', '/login', { accept: 'text/html' });
      if (r.status !== 200) throw new Error(`GET /login: ${r.status} ${r.body.slice(0, 200)}`);
    }),
  );
  return client.connections();
}

/** POST /login as a browser does; returns the session cookie (`madoguchi_session=…`). */
export async function login(client: Client, loginId: string, password: string, counterId: string): Promise<string> {
  // The login form carries its own CSRF token: a cookie and the same value in a hidden field.
  const form = await client.request('GET', '/login', {}, undefined, true);
  const csrfCookie =
    (form.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).find((c) => c.startsWith('madoguchi_login_csrf=')) ?? '';
  const token = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '';
  const r = await client.request(
    'POST',
    '/login',
    { 'content-type': 'application/x-www-form-urlencoded', cookie: csrfCookie },
    new URLSearchParams({ loginId, password, counterId, _csrf: token }).toString(),
  );
  const cookie = (r.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).find((c) => c.startsWith('madoguchi_session='));
  if (r.status !== 303 || !cookie) throw new Error(`ログインに失敗しました: ${r.status} ${r.body.slice(0, 300)}`);
  return cookie;
}

/** Runs `fn` over 0…n-1, at most `limit` at a time. */
export async function forEachLimit(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const sortedCopy = (xs: number[]): Float64Array => new Float64Array(xs).sort();

interface OpStats {
  ok: number;
  errors: number;
  serverMs: number[];
  clientMs: number[];
}

export interface ErrorKind {
  count: number;
  sample: string;
}

export interface LoadResult {
  seconds: number;
  perOp: Record<Operation, OpStats>;
  /** Errors in the measurement window, by `operation status` (status 0: network error). */
  errorKinds: Map<string, ErrorKind>;
  /** The same for the warm-up, which is not counted. */
  warmupErrorKinds: Map<string, ErrorKind>;
  warmupErrors: number;
  warmupRequests: number;
  /** Requests still unanswered when the window closed, and the age of the oldest then (ms). */
  inFlightAtEnd: number;
  oldestInFlightMs: number;
  /** The longest round trip of any request of the run, warm-up and stragglers included (ms). */
  maxClientMs: number;
  /** The server's CPU time over the window (s), when `cpuSeconds` was given. */
  serverCpuSeconds: number;
}

export interface LoadOptions {
  client: Client;
  cookies: string[];
  mix: Mix;
  /** A request path for the operation, with fresh sample values each call. */
  pathFor: (op: Operation) => string;
  warmupSeconds: number;
  seconds: number;
  /** Set when the server is gone: the terminals stop and the run fails. */
  serverGone: () => string | undefined;
  /** CPU seconds used so far by the server process, read when the window opens and closes. */
  cpuSeconds?: () => number;
  /** Called for every answer (or network error), e.g. to write a trace; times from the start of the run (ms). */
  onReply?: (r: { terminal: number; op: Operation; startMs: number; endMs: number; status: number; serverMs: number }) => void;
}

/**
 * Closed loop, no think time: each terminal sends its next request as soon as the previous answer
 * has arrived. A request counts when its answer arrives inside the measurement window, whenever it
 * was sent: a request that waited through the opening of the window still shows its whole wait.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const ops = OPERATIONS.filter((op) => o.mix[op] > 0);
  const total = ops.reduce((s, op) => s + o.mix[op], 0);
  const pick = (): Operation => {
    let r = Math.random() * total;
    for (const op of ops) if ((r -= o.mix[op]) < 0) return op;
    return ops[ops.length - 1]!;
  };
  const perOp = Object.fromEntries(OPERATIONS.map((op) => [op, { ok: 0, errors: 0, serverMs: [], clientMs: [] } as OpStats])) as Record<
    Operation,
    OpStats
  >;
  const errorKinds = new Map<string, ErrorKind>();
  const warmupErrorKinds = new Map<string, ErrorKind>();
  const countError = (kinds: Map<string, ErrorKind>, op: Operation, status: number, message: string) => {
    const key = `${op} ${status}`;
    const k = kinds.get(key) ?? { count: 0, sample: message };
    k.count++;
    kinds.set(key, k);
  };
  let warmupErrors = 0;
  let warmupRequests = 0;
  let maxClientMs = 0;
  const inFlight = new Map<number, number>(); // request number → when it was sent
  let sent = 0;
  let inFlightAtEnd = 0;
  let oldestInFlightMs = 0;
  let cpuFrom = NaN;
  let cpuTo = NaN;
  const t0 = performance.now();
  const measureFrom = t0 + o.warmupSeconds * 1000;
  const measureTo = measureFrom + o.seconds * 1000;

  let done = 0;
  let failed = 0;
  let lastDone = 0;
  let lastAt = t0;
  const ticker = setInterval(() => {
    const now = performance.now();
    const phase = now < measureFrom ? 'ウォームアップ' : '計測';
    process.stderr.write(
      `負荷 ${((now - t0) / 1000).toFixed(0)}/${o.warmupSeconds + o.seconds} 秒 (${phase}): ${(((done - lastDone) * 1000) / (now - lastAt)).toFixed(0)} 件/秒、累計 ${done} 件、エラー ${failed} 件\n`,
    );
    lastDone = done;
    lastAt = now;
  }, 5000);
  const opening = setTimeout(() => (cpuFrom = o.cpuSeconds?.() ?? NaN), o.warmupSeconds * 1000);
  const closing = setTimeout(
    () => {
      cpuTo = o.cpuSeconds?.() ?? NaN;
      const now = performance.now();
      inFlightAtEnd = inFlight.size;
      for (const t of inFlight.values()) oldestInFlightMs = Math.max(oldestInFlightMs, now - t);
    },
    (o.warmupSeconds + o.seconds) * 1000,
  );

  const terminal = async (cookie: string, index: number) => {
    const headers = { cookie, accept: 'application/json' };
    while (performance.now() < measureTo && !o.serverGone()) {
      const op = pick();
      const path = o.pathFor(op);
      const started = performance.now();
      const id = sent++;
      inFlight.set(id, started);
      let status = 0;
      let serverMs = NaN;
      let clientMs = NaN;
      let message = '';
      try {
        const r = await o.client.request('GET', path, headers);
        ({ status, serverMs, clientMs } = r);
        if (status < 200 || status >= 300) message = `${decodeURIComponent(path)} → ${r.body.slice(0, 300)}`;
      } catch (e) {
        message = `${decodeURIComponent(path)} → ${e instanceof Error ? `${(e as NodeJS.ErrnoException).code ?? e.name}: ${e.message}` : String(e)}`;
      }
      const ended = performance.now();
      inFlight.delete(id);
      o.onReply?.({ terminal: index, op, startMs: started - t0, endMs: ended - t0, status, serverMs });
      maxClientMs = Math.max(maxClientMs, ended - started);
      const ok = status >= 200 && status < 300;
      done++;
      if (!ok) failed++;
      if (ended < measureFrom) {
        warmupRequests++;
        if (!ok) {
          warmupErrors++;
          countError(warmupErrorKinds, op, status, message);
        }
      } else if (ended <= measureTo) {
        const s = perOp[op];
        if (ok) {
          s.ok++;
          s.clientMs.push(clientMs);
          if (Number.isFinite(serverMs)) s.serverMs.push(serverMs);
        } else {
          s.errors++;
          countError(errorKinds, op, status, message);
        }
      }
      // A refused connection would otherwise spin; a real answer (even 4xx) does not wait.
      if (status === 0) await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await Promise.all(o.cookies.map(terminal));
  } finally {
    clearInterval(ticker);
    clearTimeout(opening);
    clearTimeout(closing);
  }
  return {
    seconds: o.seconds,
    perOp,
    errorKinds,
    warmupErrorKinds,
    warmupErrors,
    warmupRequests,
    inFlightAtEnd,
    oldestInFlightMs,
    maxClientMs,
    serverCpuSeconds: cpuTo - cpuFrom,
  };
}
