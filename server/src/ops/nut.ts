/**
 * A client for the NUT network protocol (RFC 9271), spoken by `upsd` on TCP port 3493.
 *
 * Why our own: the npm `node-nut` has no timeouts, no reconnect, no unescaping, frames responses on
 * TCP chunk boundaries and fails a second concurrent call (see shared reference infra.md §1.4).
 *
 * Design:
 * - one TCP socket; requests wait in a FIFO queue and exactly one is on the wire at a time, so each
 *   response belongs to the oldest request (a line for GET/USERNAME/…, `BEGIN LIST …`…`END LIST …`
 *   for LIST);
 * - every request has a deadline counted from when it is queued (connecting included). When the
 *   request on the wire misses it, the socket is dropped (a late answer could otherwise be matched
 *   to the next request) and the next request reconnects;
 * - the socket is (re)opened on demand; USERNAME/PASSWORD, when configured, are replayed first;
 * - arguments are always sent as double-quoted strings with `"` and `\` escaped; line breaks are
 *   refused. Responses are tokenized with the same rules;
 * - `ERR <CODE>` from upsd rejects with a {@link NutError} whose `code` is that CODE
 *   (`UNKNOWN-UPS`, `ACCESS-DENIED`, `DATA-STALE`, …, `source: 'server'`). Failures on our side use
 *   `TIMEOUT`, `CONNECT-FAILED`, `CONNECTION-CLOSED`, `CLIENT-CLOSED`, `PROTOCOL-ERROR` and
 *   `BAD-ARGUMENT` (`source: 'client'`).
 */
import net from 'node:net';

/** Error codes upsd sends (RFC 9271 §5.2, "Error responses"). */
export type NutServerErrorCode =
  | 'ACCESS-DENIED'
  | 'UNKNOWN-UPS'
  | 'VAR-NOT-SUPPORTED'
  | 'CMD-NOT-SUPPORTED'
  | 'INVALID-ARGUMENT'
  | 'INSTCMD-FAILED'
  | 'SET-FAILED'
  | 'READONLY'
  | 'TOO-LONG'
  | 'FEATURE-NOT-SUPPORTED'
  | 'FEATURE-NOT-CONFIGURED'
  | 'ALREADY-SSL-MODE'
  | 'DRIVER-NOT-CONNECTED'
  | 'DATA-STALE'
  | 'ALREADY-LOGGED-IN'
  | 'INVALID-PASSWORD'
  | 'ALREADY-SET-PASSWORD'
  | 'INVALID-USERNAME'
  | 'ALREADY-SET-USERNAME'
  | 'USERNAME-REQUIRED'
  | 'PASSWORD-REQUIRED'
  | 'UNKNOWN-COMMAND'
  | 'INVALID-VALUE';

/** Failures detected by this client rather than reported by upsd. */
export type NutClientErrorCode = 'TIMEOUT' | 'CONNECT-FAILED' | 'CONNECTION-CLOSED' | 'CLIENT-CLOSED' | 'PROTOCOL-ERROR' | 'BAD-ARGUMENT';

export class NutError extends Error {
  override readonly name = 'NutError';
  constructor(
    /** upsd's code after `ERR` (an unknown future code is passed through), or a client code. */
    readonly code: NutServerErrorCode | NutClientErrorCode | (string & {}),
    /** `server`: upsd answered `ERR code`; `client`: timeout, connection or parse failure. */
    readonly source: 'server' | 'client',
    /** The request line, when the error belongs to one (never contains a password). */
    readonly request?: string,
    message?: string,
  ) {
    super(message ?? (request ? `NUT ${code} (${request})` : `NUT ${code}`));
  }
}

export interface NutConnectOptions {
  host?: string;
  port?: number;
  /** Deadline for each request, counted from when it is queued. Default 5000 ms. */
  timeoutMs?: number;
  /** Sent as USERNAME/PASSWORD after every (re)connect; needed for SET VAR, INSTCMD, LOGIN, FSD. */
  username?: string;
  password?: string;
}

export interface UpsStatus {
  /** `ups.status` as upsd reports it, e.g. `OB LB`. */
  raw: string;
  /** The space-separated words of `raw` (OL, OB, LB, RB, CHRG, DISCHRG, FSD, …). */
  flags: string[];
  online: boolean;
  onBattery: boolean;
  lowBattery: boolean;
  /** FSD: a primary upsmon has ordered the shutdown (set by upsd, never by drivers). */
  forcedShutdown: boolean;
}

/** Interprets a `ups.status` value. */
export function parseStatus(raw: string): UpsStatus {
  const flags = raw.split(/\s+/).filter((w) => w !== '');
  const has = (f: string): boolean => flags.includes(f);
  return {
    raw,
    flags,
    online: has('OL'),
    onBattery: has('OB'),
    lowBattery: has('LB'),
    forcedShutdown: has('FSD'),
  };
}

/** An argument as a protocol string: always double-quoted, `"` and `\` backslash-escaped. */
export function quote(arg: string): string {
  if (/[\r\n\0]/.test(arg)) {
    throw new NutError('BAD-ARGUMENT', 'client', undefined, 'NUT arguments cannot contain line breaks or NUL');
  }
  return `"${arg.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Splits a response line into words, honouring double quotes and backslash escapes. */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (line[i] === ' ' || line[i] === '\t') {
      i++;
      continue;
    }
    let word = '';
    if (line[i] === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const c = line[i] as string;
        if (c === '\\' && i + 1 < line.length) {
          word += line[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          closed = true;
          break;
        } else {
          word += c;
          i++;
        }
      }
      if (!closed) throw new NutError('PROTOCOL-ERROR', 'client', undefined, `unterminated quote in NUT response: ${line}`);
    } else {
      while (i < line.length && line[i] !== ' ' && line[i] !== '\t') {
        if (line[i] === '\\' && i + 1 < line.length) i++;
        word += line[i];
        i++;
      }
    }
    words.push(word);
  }
  return words;
}

interface Pending {
  line: string;
  /** What to show in errors (PASSWORD is masked). */
  label: string;
  list: boolean;
  /** For a LIST: the words after `BEGIN ` once seen (`LIST VAR dummy`). */
  listHead: string | null;
  lines: string[];
  timer: NodeJS.Timeout;
  resolve(lines: string[]): void;
  reject(err: NutError): void;
}

const MAX_LINE = 64 * 1024;

export class NutClient {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  private readonly username: string | undefined;
  private readonly password: string | undefined;

  private socket: net.Socket | null = null;
  private connected = false;
  private buffer = '';
  private queue: Pending[] = [];
  private inFlight: Pending | null = null;
  private closed = false;
  private connects = 0;

  private constructor(opts: NutConnectOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? 3493;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.username = opts.username;
    this.password = opts.password;
  }

  /** Connects (and authenticates when credentials are given); rejects when upsd is unreachable. */
  static async connect(opts: NutConnectOptions = {}): Promise<NutClient> {
    const client = new NutClient(opts);
    try {
      await client.request('VER', [], false);
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /** The UPS names upsd serves (`LIST UPS`). */
  async listUps(): Promise<string[]> {
    return (await this.listUpsWithDescriptions()).map((u) => u.name);
  }

  async listUpsWithDescriptions(): Promise<{ name: string; description: string }[]> {
    const lines = await this.request('LIST UPS', [], true);
    return lines.map((l) => {
      const [kw, name, description] = this.words(l, 3, 'LIST UPS');
      if (kw !== 'UPS') throw this.protocolError('LIST UPS', l);
      return { name: name as string, description: description as string };
    });
  }

  /** `GET UPSDESC` (the `desc` of the UPS in upsd's ups.conf). */
  async upsDescription(ups: string): Promise<string> {
    const [line] = await this.request('GET UPSDESC', [ups], false);
    const w = this.words(line as string, 3, 'GET UPSDESC');
    if (w[0] !== 'UPSDESC' || w[1] !== ups) throw this.protocolError('GET UPSDESC', line as string);
    return w[2] as string;
  }

  /** One variable (`GET VAR`); rejects with e.g. `UNKNOWN-UPS`, `VAR-NOT-SUPPORTED`, `DATA-STALE`. */
  async getVar(ups: string, name: string): Promise<string> {
    const [line] = await this.request('GET VAR', [ups, name], false);
    const w = this.words(line as string, 4, 'GET VAR');
    if (w[0] !== 'VAR' || w[1] !== ups || w[2] !== name) throw this.protocolError('GET VAR', line as string);
    return w[3] as string;
  }

  /** All variables of a UPS (`LIST VAR`). */
  async listVars(ups: string): Promise<Record<string, string>> {
    const lines = await this.request('LIST VAR', [ups], true);
    const vars: Record<string, string> = {};
    for (const l of lines) {
      const w = this.words(l, 4, 'LIST VAR');
      if (w[0] !== 'VAR' || w[1] !== ups) throw this.protocolError('LIST VAR', l);
      vars[w[2] as string] = w[3] as string;
    }
    return vars;
  }

  async status(ups: string): Promise<UpsStatus> {
    return parseStatus(await this.getVar(ups, 'ups.status'));
  }

  /** battery.charge in percent. */
  async charge(ups: string): Promise<number> {
    return this.numberVar(ups, 'battery.charge');
  }

  /** battery.runtime in seconds. */
  async runtime(ups: string): Promise<number> {
    return this.numberVar(ups, 'battery.runtime');
  }

  /** `SET VAR` (needs credentials with `actions = SET` in upsd.users). */
  async setVar(ups: string, name: string, value: string): Promise<void> {
    await this.request('SET VAR', [ups, name, value], false);
  }

  /** `LOGIN` (upsmon-style attachment; needs credentials with the upsmon role). */
  async login(ups: string): Promise<void> {
    await this.request('LOGIN', [ups], false);
  }

  /** How many TCP connections this client has opened so far (1 unless it had to reconnect). */
  get connectionCount(): number {
    return this.connects;
  }

  /** Sends a request line; resolves with the response line (or the lines inside a LIST). */
  request(command: string, args: string[], list: boolean): Promise<string[]> {
    if (this.closed) return Promise.reject(new NutError('CLIENT-CLOSED', 'client', command));
    let line: string;
    try {
      line = [command, ...args.map(quote)].join(' ');
    } catch (err) {
      return Promise.reject(err);
    }
    const label = command === 'PASSWORD' ? 'PASSWORD ***' : line;
    return new Promise<string[]>((resolve, reject) => {
      const p: Pending = {
        line,
        label,
        list,
        listHead: null,
        lines: [],
        resolve,
        reject,
        timer: setTimeout(() => this.onTimeout(p), this.timeoutMs),
      };
      this.queue.push(p);
      this.pump();
    });
  }

  /** Drops the connection and fails everything still waiting with `CLIENT-CLOSED`. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const pending = [...(this.inFlight ? [this.inFlight] : []), ...this.queue];
    this.inFlight = null;
    this.queue = [];
    for (const p of pending) this.settle(p, new NutError('CLIENT-CLOSED', 'client', p.label));
    this.dropSocket();
  }

  // ---- internals ----

  private async numberVar(ups: string, name: string): Promise<number> {
    const raw = await this.getVar(ups, name);
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) {
      throw new NutError('PROTOCOL-ERROR', 'client', `GET VAR ${ups} ${name}`, `${name} is not a number: ${raw}`);
    }
    return n;
  }

  private words(line: string, min: number, request: string): string[] {
    const w = tokenize(line);
    if (w.length < min) throw this.protocolError(request, line);
    return w;
  }

  private protocolError(request: string, line: string): NutError {
    return new NutError('PROTOCOL-ERROR', 'client', request, `unexpected NUT response to ${request}: ${line}`);
  }

  private pump(): void {
    if (this.closed || this.inFlight || this.queue.length === 0) return;
    if (!this.socket) {
      this.openSocket();
      return;
    }
    if (!this.connected) return; // the connect handler pumps again
    const next = this.queue.shift() as Pending;
    this.inFlight = next;
    this.socket.write(`${next.line}\n`);
  }

  private openSocket(): void {
    const socket = net.createConnection({ host: this.host, port: this.port });
    this.connects++;
    this.socket = socket;
    this.connected = false;
    this.buffer = '';
    let lastError: Error | undefined;
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.on('connect', () => {
      if (this.socket !== socket) return;
      this.connected = true;
      if (this.username !== undefined || this.password !== undefined) this.queueLogin();
      this.pump();
    });
    socket.on('data', (chunk: string) => {
      if (this.socket === socket) this.onData(chunk);
    });
    socket.on('error', (err) => {
      lastError = err;
    });
    socket.on('close', () => {
      if (this.socket !== socket) return;
      const wasConnected = this.connected;
      this.socket = null;
      this.connected = false;
      if (!wasConnected) {
        // Nobody can be served until upsd is back: fail everything queued now rather than retry.
        const pending = this.queue;
        this.queue = [];
        for (const p of pending) {
          this.settle(
            p,
            new NutError(
              'CONNECT-FAILED',
              'client',
              p.label,
              `cannot connect to upsd at ${this.host}:${this.port}: ${lastError?.message ?? 'closed'}`,
            ),
          );
        }
        return;
      }
      const p = this.inFlight;
      this.inFlight = null;
      if (p) {
        this.settle(
          p,
          new NutError('CONNECTION-CLOSED', 'client', p.label, `upsd closed the connection: ${lastError?.message ?? 'end of stream'}`),
        );
      }
      this.pump(); // reconnect for whatever is still queued
    });
  }

  /** Puts USERNAME/PASSWORD at the head of the queue; their failure shows up in later requests. */
  private queueLogin(): void {
    const ignore = (): void => undefined;
    const creds: [string, string | undefined][] = [
      ['USERNAME', this.username],
      ['PASSWORD', this.password],
    ];
    const entries: Pending[] = [];
    for (const [command, value] of creds) {
      if (value === undefined) continue;
      const p: Pending = {
        line: `${command} ${quote(value)}`,
        label: command === 'PASSWORD' ? 'PASSWORD ***' : `USERNAME ${value}`,
        list: false,
        listHead: null,
        lines: [],
        resolve: ignore,
        reject: ignore,
        timer: setTimeout(() => this.onTimeout(p), this.timeoutMs),
      };
      entries.push(p);
    }
    this.queue.unshift(...entries);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.onLine(line);
      if (!this.socket) return; // dropped while handling the line
    }
    if (this.buffer.length > MAX_LINE) this.failConnection('response line too long');
  }

  private onLine(line: string): void {
    const p = this.inFlight;
    if (!p) {
      this.failConnection(`unsolicited NUT response: ${line}`);
      return;
    }
    if (p.listHead === null) {
      if (line.startsWith('ERR ') || line === 'ERR') {
        const code = line.slice(4).trim().split(/\s+/)[0] || 'UNKNOWN';
        this.complete(p, new NutError(code, 'server', p.label));
        return;
      }
      if (!p.list) {
        this.complete(p, [line]);
        return;
      }
      if (!line.startsWith('BEGIN LIST ')) {
        this.failConnection(`expected BEGIN LIST in reply to ${p.label}, got: ${line}`);
        return;
      }
      p.listHead = line.slice('BEGIN '.length);
      return;
    }
    if (line === `END ${p.listHead}`) {
      this.complete(p, p.lines);
      return;
    }
    p.lines.push(line);
  }

  /** Finishes the request on the wire and sends the next one. */
  private complete(p: Pending, result: string[] | NutError): void {
    this.inFlight = null;
    this.settle(p, result);
    this.pump();
  }

  private settle(p: Pending, result: string[] | NutError): void {
    clearTimeout(p.timer);
    if (result instanceof NutError) p.reject(result);
    else p.resolve(result);
  }

  private onTimeout(p: Pending): void {
    const err = new NutError('TIMEOUT', 'client', p.label, `NUT request timed out after ${this.timeoutMs} ms: ${p.label}`);
    if (this.inFlight === p) {
      // Its answer may still come and would be taken for the next request's: start a new session.
      this.inFlight = null;
      this.dropSocket();
      this.settle(p, err);
      this.pump();
      return;
    }
    const i = this.queue.indexOf(p);
    if (i < 0) return;
    this.queue.splice(i, 1);
    this.settle(p, err);
    if (this.queue.length === 0 && this.socket && !this.connected) this.dropSocket(); // stuck connect
  }

  /** A protocol violation: fail the request on the wire, drop the socket, carry on with the rest. */
  private failConnection(reason: string): void {
    const p = this.inFlight;
    this.inFlight = null;
    this.dropSocket();
    if (p) this.settle(p, new NutError('PROTOCOL-ERROR', 'client', p.label, reason));
    this.pump();
  }

  private dropSocket(): void {
    const s = this.socket;
    this.socket = null;
    this.connected = false;
    this.buffer = '';
    s?.destroy();
  }
}
