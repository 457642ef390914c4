/**
 * The bounded fuzz run (issue 15 item 6): `npm run soak -- fuzz [--requests 10000] [--concurrency 50] [--seed 1]`
 * and, shortened, test/integration/fuzz.test.ts.
 *
 * The server runs in a child process with the production heap (`--max-old-space-size=192`) on a
 * generated demo town in a temporary data folder, on loopback only, so that a crash is seen (an
 * exit is counted, the last lines of its output printed, and the server started again). Requests
 * go to every declared route of the registry (`createApp(...).routes`), round robin, with values
 * generated from each route's `params`/`query`/`body` TypeBox schemas and real ids from the
 * database, then mutated by one input kind (huge strings, invalid UTF-8, lone surrogates, NUL, SQL
 * and path tricks, wrong JSON types, deep nesting, wrong content types and encodings, bad dates and
 * kana, bad ids, oversized bodies and uploads …), as anonymous, as staff of every shipped group
 * (logged in through the login form, sending the session's CSRF token so that requests reach the
 * handlers) and as the RPA agent token. At most `concurrency` requests are in flight; the run stops
 * after `requests`. It ends with `madoguchi audit verify` of the database.
 *
 * Every 5xx is reported with its route, input kind and the server's `request failed` log line.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { TSchema } from '@sinclair/typebox';
import type { Knex } from 'knex';
import { registerApiClient } from '../server/src/auth/apiClients.js';
import { defaultGroups } from '../server/src/auth/permissions.js';
import { createStaff } from '../server/src/auth/staffRepo.js';
import { loadAppConfig } from '../server/src/config/appConfig.js';
import { openDatabase } from '../server/src/db/connect.js';
import { createApp, type RouteInfo } from '../server/src/http/app.js';
import type { Logger } from '../server/src/ops/logger.js';
import { loginWith, type LoggedIn } from '../test/helpers/login.js';
import { configDir, repoRoot, tempDir } from '../test/helpers/paths.js';

export interface FuzzOptions {
  requests: number;
  /** At most this many requests in flight (≤ 50). */
  concurrency: number;
  seed: number;
  /** Residents of the generated town. */
  people?: number;
  log?: (line: string) => void;
}

export interface FuzzFailure {
  method: string;
  route: string;
  url: string;
  kind: string;
  who: string;
  status: number;
  logLine: string;
}

export interface FuzzReport {
  soak: 'fuzz';
  requests: number;
  status5xx: number;
  crashes: number;
  slowOver5s: number;
  auditVerify: string;
  /** Requests per input kind. */
  kinds: Record<string, number>;
  /** Answers per status class (2xx, 3xx, 4xx, 5xx) and connection errors. */
  statuses: Record<string, number>;
  /** Declared routes the run reached. */
  routes: number;
  seconds: number;
  failures: FuzzFailure[];
  crashLogs: string[];
}

// ---------------------------------------------------------------------------------------------
// Random values

/** mulberry32: a small seeded generator, so a run can be repeated. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Raw pieces a JS string cannot carry into a request by itself: a token in a value is replaced,
 * after encoding, by bytes (JSON bodies) or a percent-encoded sequence (URLs and forms).
 */
const RAW: Record<string, { json: Buffer; url: string }> = {
  __RAWUTF8__: { json: Buffer.from([0xc3, 0x28, 0xff, 0xfe, 0xed, 0xa0, 0x80]), url: '%C3%28%FF%FE%ED%A0%80' },
  __RAWOVERLONG__: { json: Buffer.from([0xc0, 0xaf, 0xe0, 0x80, 0xaf]), url: '%C0%AF%E0%80%AF' },
  __RAWSURROGATE__: { json: Buffer.from('\\ud800x\\udfff', 'latin1'), url: '%ED%A0%80x%ED%BF%BF' },
  __RAWNUL__: { json: Buffer.from('a\\u0000b', 'latin1'), url: 'a%00b' },
  __RAWPCT__: { json: Buffer.from('%', 'latin1'), url: '%' },
};
const RAW_RE = /__RAW[A-Z0-9]+__/g;

const SQL = [
  "' OR 1=1 --",
  '"; DROP TABLE staff; --',
  "1' UNION SELECT login_id, password_hash FROM staff --",
  '%',
  '_',
  '\\',
  "%' ESCAPE '\\",
];
const PATHS = [
  '../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '....//....//etc/passwd',
  '/etc/passwd',
  'C:\\Windows\\win.ini',
  '%00',
  'a/../../b.pdf',
  'NUL',
];
const DATES = [
  '2026-02-30',
  '0000-00-00',
  '9999-99-99',
  'R99.99.99',
  '令和元年13月32日',
  'S64.1.8',
  'H31.5.1',
  '明治0年',
  '1900-02-29',
  '-0001-01-01',
  '2026-13-01T00:00:00Z',
  '２０２６－０４－０１',
  '昭和',
  '1e400',
];
const KANA = [
  'ｶﾞｷﾞｸﾞ',
  'ゔぁ',
  '\u3099\u309a',
  'ア\u0301',
  '𠮷野',
  '葛\udb40\udd00',
  'ー・ﾞﾟ',
  'ｱｲｳ\u200b',
  '\u202eabc',
  'ＡＢＣ',
  '😀👨‍👩‍👧',
  '\ufeff',
  '\ud800',
  '\udfff',
  'ﾀﾞﾌﾞﾙ\u3000ｽﾍﾟｰｽ',
];
const NUMBERS: unknown[] = [0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 'NaN', 'Infinity', '0x10', '1e3', ' 1', '99999999999999999999999'];
const WRONG_TYPES: unknown[] = [42, -1, true, false, null, [], [1, 2], {}, { a: 1 }, 1e308, '', [[[]]]];
const IDS = ['0', '-1', '1.5', '1e3', '0x10', '99999999999999999999999', 'NaN', ' 1', 'abc', '1;DROP', '%20', '__RAWUTF8__', '__RAWNUL__'];

const KINDS = [
  'valid',
  'hugeString',
  'invalidUtf8',
  'loneSurrogate',
  'nul',
  'sql',
  'pathTrick',
  'wrongType',
  'deepNesting',
  'wrongContentType',
  'badEncoding',
  'badDate',
  'badKana',
  'badId',
  'bigBody',
  'emptyBody',
  'repeatParam',
  'noCsrf',
] as const;
type Kind = (typeof KINDS)[number];

// ---------------------------------------------------------------------------------------------
// Values from the schemas and the database

interface Pools {
  visits: string[];
  notices: { visit: string; id: string }[];
  procedures: string[];
  certificates: string[];
  jobs: string[];
  evidence: string[];
  runs: string[];
  bulletins: string[];
  residents: string[];
  postal: string[];
  victims: string[];
  groups: string[];
  clients: string[];
  pamphlets: string[];
  formFields: string[];
}

async function readPools(knex: Knex, pools: Partial<Pools>): Promise<Pools> {
  const col = async (table: string, column: string, limit = 200): Promise<string[]> => {
    try {
      return ((await knex(table).orderBy(column, 'desc').limit(limit).pluck(column)) as unknown[]).map(String);
    } catch {
      return [];
    }
  };
  const notices = (await knex('notices')
    .orderBy('id', 'desc')
    .limit(200)
    .select('id', 'visit_id')
    .catch(() => [])) as { id: number; visit_id: number }[];
  return {
    visits: await col('visits', 'id'),
    notices: notices.map((n) => ({ visit: String(n.visit_id), id: String(n.id) })),
    procedures: await col('visit_procedures', 'id'),
    certificates: await col('certificate_requests', 'id'),
    jobs: await col('rpa_jobs', 'id'),
    evidence: await col('rpa_evidence', 'id'),
    runs: await col('linkage_runs', 'id'),
    bulletins: await col('bulletins', 'id'),
    residents: await col('residents', 'addressee_no', 300),
    postal: (await col('address_master', 'postal_code', 50)).filter((p) => p && p !== 'null'),
    victims: pools.victims ?? [],
    groups: ['fuzzgroup', 'counter', 'nosuchgroup'],
    clients: ['fuzz-victim', 'nosuch'],
    pamphlets: pools.pamphlets ?? [],
    formFields: pools.formFields ?? [],
  };
}

/** Field names the pages' forms and the handlers read (for routes whose form has no schema). */
function harvestFormFields(): string[] {
  const names = new Set<string>(['type', 'subject', 'action', 'reason', 'status', 'op', 'procedureId', 'body', 'templateId', 'move']);
  for (const dir of ['server/src/http/routes', 'server/src/http/views']) {
    for (const f of readdirSync(path.join(repoRoot, dir))) {
      if (!f.endsWith('.ts')) continue;
      const text = readFileSync(path.join(repoRoot, dir, f), 'utf8');
      for (const m of text.matchAll(/name="([A-Za-z0-9_]+)"/g)) names.add(m[1]!);
      for (const m of text.matchAll(/name="([A-Za-z]+)\$\{[^}]*\}(_[A-Za-z0-9]+)"/g))
        for (const i of [0, 1, 7]) names.add(`${m[1]}${i}${m[2]}`);
      for (const m of text.matchAll(/\b(?:body|b|form\(ctx\))\.([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]!);
    }
  }
  return [...names];
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const NAMES = ['山田 太郎', '髙橋 﨑子', '佐藤', 'テスト', 'Smith John', '渡邉 ソウ太'];
const KANAS = ['ヤマダ タロウ', 'ﾔﾏﾀﾞ', 'やまだ', 'サトウ'];

/** A plausible value for a schema (and the field's name), valid most of the time. */
function valueOf(r: Rand, schema: TSchema | undefined, name: string, pools: Pools, depth = 0): unknown {
  if (!schema || depth > 6) return 'x';
  const s = schema as TSchema & Record<string, unknown>;
  if (Array.isArray(s.anyOf) && s.anyOf.length) return valueOf(r, pick(r, s.anyOf as TSchema[]), name, pools, depth + 1);
  if (Array.isArray(s.oneOf) && s.oneOf.length) return valueOf(r, pick(r, s.oneOf as TSchema[]), name, pools, depth + 1);
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum)) return pick(r, s.enum);
  const type = Array.isArray(s.type) ? pick(r, s.type as string[]) : (s.type as string | undefined);
  const n = name.toLowerCase();
  switch (type) {
    case 'integer':
    case 'number': {
      const min = typeof s.minimum === 'number' ? s.minimum : 0;
      const max = typeof s.maximum === 'number' ? s.maximum : min + 100;
      return Math.floor(min + r() * (Math.min(max, min + 1000) - min + 1));
    }
    case 'boolean':
      return r() < 0.5;
    case 'null':
      return null;
    case 'array':
      return Array.from({ length: 1 + Math.floor(r() * 2) }, () => valueOf(r, s.items as TSchema, name, pools, depth + 1));
    case 'object': {
      const props = (s.properties ?? {}) as Record<string, TSchema>;
      const required = new Set((s.required ?? []) as string[]);
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(props)) if (required.has(k) || r() < 0.7) out[k] = valueOf(r, v, k, pools, depth + 1);
      return out;
    }
    default: {
      if (s.format === 'date' || /date|from|to|until/.test(n))
        return `20${10 + Math.floor(r() * 16)}-0${1 + Math.floor(r() * 9)}-1${Math.floor(r() * 9)}`;
      if (/addresseeno|subject/.test(n) && pools.residents.length) return pick(r, pools.residents);
      if (/postal|code$/.test(n) && pools.postal.length && n !== 'groupcode') return pick(r, pools.postal);
      if (/groupcode|group/.test(n)) return pick(r, ['counter', 'admin', 'fuzzgroup']);
      if (/kana/.test(n)) return pick(r, KANAS);
      if (/name/.test(n)) return pick(r, NAMES);
      if (/address/.test(n)) return '本町一丁目1番地2';
      if (/page|limit|copies/.test(n)) return String(1 + Math.floor(r() * 3));
      if (/sex/.test(n)) return pick(r, ['1', '2']);
      if (/counter/.test(n)) return 'shimin-1';
      const max = typeof s.maxLength === 'number' ? s.maxLength : 20;
      return pick(r, ['テスト', 'abc', '1', 'メモ', '']).slice(0, Math.max(1, max));
    }
  }
}

/** A real id for a path parameter, by where it stands in the path. */
function paramValue(r: Rand, routePath: string, param: string, pools: Pools, ctx: { visit?: string }): string {
  const p = routePath;
  const or = (xs: string[], fallback = '1') => (xs.length ? pick(r, xs) : fallback);
  if (param === 'nid' || (param === 'id' && /^\/(review\/notices|notices)\//.test(p))) {
    const mine = pools.notices.filter((n) => n.visit === ctx.visit);
    return mine.length && r() < 0.8 ? pick(r, mine).id : pools.notices.length ? pick(r, pools.notices).id : '1';
  }
  if ((param === 'id' && p.startsWith('/visits')) || (param === 'id' && p.startsWith('/api/v1/visits'))) {
    if (r() < 0.7 && pools.notices.length) {
      const n = pick(r, pools.notices);
      ctx.visit = n.visit;
      return n.visit;
    }
    return (ctx.visit = or(pools.visits));
  }
  if (param === 'rid' && p.includes('/procedures/')) return or(pools.procedures);
  if (param === 'rid') return or(pools.certificates);
  if (p.startsWith('/rpa/evidence')) return or(pools.evidence);
  if (p.includes('/jobs/')) return or(pools.jobs);
  if (p.includes('/linkage/runs') || p.includes('/api/v1/linkage/runs')) return or(pools.runs);
  if (p.includes('/bulletins/')) return or(pools.bulletins);
  if (p.startsWith('/admin/staff/')) return or(pools.victims);
  if (p.startsWith('/admin/groups/')) return pick(r, pools.groups);
  if (p.startsWith('/admin/clients/')) return pick(r, pools.clients);
  if (param === 'addresseeNo') return or(pools.residents);
  if (param === 'code') return or(pools.postal, '1000001');
  if (param === 'file') return or(pools.pamphlets, 'guide.pdf');
  return '1';
}

// ---------------------------------------------------------------------------------------------
// Requests

interface Identity {
  name: string;
  loginId?: string;
  password?: string;
  /** Staff: the session; agent: the bearer token. */
  session?: LoggedIn;
  token?: string;
  groups: string[];
  permissions: Set<string>;
}

interface Planned {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** Sent in pieces (chunked, no Content-Length), for streamed uploads. */
  chunks?: { size: number; count: number };
  from?: string;
}

/** Percent-encoding of the UTF-8 bytes (a lone surrogate becomes U+FFFD's bytes; encodeURIComponent would throw). */
const pct = (s: string): string => {
  let out = '';
  for (const b of Buffer.from(s, 'utf8'))
    out += /[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
};
const encodeUrlValue = (v: unknown): string =>
  pct(typeof v === 'string' ? v : (JSON.stringify(v) ?? '')).replace(RAW_RE, (t) => RAW[t]?.url ?? t);

function jsonBody(value: unknown): Buffer {
  const text = JSON.stringify(value) ?? 'null';
  const parts: Buffer[] = [];
  let last = 0;
  for (const m of text.matchAll(RAW_RE)) {
    parts.push(Buffer.from(text.slice(last, m.index), 'utf8'), RAW[m[0]]?.json ?? Buffer.from(m[0]));
    last = m.index + m[0].length;
  }
  parts.push(Buffer.from(text.slice(last), 'utf8'));
  return Buffer.concat(parts);
}

function formBody(value: Record<string, unknown>): Buffer {
  const pairs: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    for (const x of Array.isArray(v) ? v : [v]) pairs.push(`${encodeUrlValue(k)}=${x === undefined ? '' : encodeUrlValue(x)}`);
  }
  return Buffer.from(pairs.join('&'), 'latin1');
}

/** What each kind puts into one chosen field. */
function attack(r: Rand, kind: Kind): unknown {
  switch (kind) {
    case 'hugeString':
      return pick(r, ['あ', 'A', '髙', '𠮷']).repeat(pick(r, [5_000, 50_000, 120_000]));
    case 'invalidUtf8':
      return `a__RAW${pick(r, ['UTF8', 'OVERLONG'])}__z`;
    case 'loneSurrogate':
      return pick(r, ['__RAWSURROGATE__', '\ud800', 'x\udfffy']);
    case 'nul':
      return pick(r, ['__RAWNUL__', '\u0000', 'a\u0000b', '%00', '__RAWPCT__']);
    case 'sql':
      return pick(r, SQL);
    case 'pathTrick':
      return pick(r, PATHS);
    case 'wrongType':
      return pick(r, [...WRONG_TYPES, ...NUMBERS]);
    case 'badDate':
      return pick(r, DATES);
    case 'badKana':
      return pick(r, KANA);
    case 'badId':
      return pick(r, IDS);
    default:
      return pick(r, [...SQL, ...DATES, ...KANA]);
  }
}

/** A staff CSV, a 転出証明書情報 file or evidence: the bodies of the raw upload routes. */
function uploadBody(r: Rand, kind: Kind): { body?: Buffer; chunks?: { size: number; count: number } } {
  const header = 'ログインID,氏名,所属,グループ,有効期間開始,有効期間終了,状態,初期パスワード\r\n';
  const certHeader = '住民票コード,氏名,生年月日,性別,転出前住所_都道府県,転出前住所_市区郡町村名,転出予定年月日,送信元市区町村コード\r\n';
  if (kind === 'bigBody') return pick(r, [{ chunks: { size: 64 * 1024, count: 48 } }, { body: Buffer.alloc(3 * 1024 * 1024, 0x61) }]);
  const variants: (() => Buffer)[] = [
    () => Buffer.from(`\ufeff${header}fuzz${Math.floor(r() * 1e6)},山田 太郎,住民課,counter,2026-04-01,,有効,\r\n`),
    () => Buffer.from(header + 'a\n'.repeat(60_000)),
    () => Buffer.from(header + 'x,' + 'y,'.repeat(100_000) + '\n'),
    () => Buffer.from(header + '"unclosed,' + 'z'.repeat(10_000)),
    () => Buffer.from(certHeader + '1,山田 太郎,1980-01-01,1,東京都,千代田区,2026-05-01,131016\r\n'),
    () => Buffer.from(certHeader + '1,山田 太郎,1980-01-01,1,東京都,千代田区,2026-05-01,131016\r\n'.repeat(3000)),
    () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(header, 'utf16le')]),
    () => Buffer.from([0x82, 0xa0, 0x85, 0x40, 0xff, 0x00, 0x0d, 0x0a]),
    () => Buffer.from(String(attack(r, kind)).replace(RAW_RE, ''), 'utf8'),
    () => Buffer.alloc(0),
  ];
  return { body: pick(r, variants)() };
}

const RAW_UPLOADS = new Set(['/admin/staff/import', '/visits/:id/notices/:nid/move-out-certificate', '/api/v1/agent/jobs/:id/evidence']);

function plan(r: Rand, route: RouteInfo, kind: Kind, who: Identity, pools: Pools): Planned {
  const spec = route.spec!;
  const ctx: { visit?: string } = {};
  // Path parameters: real ids, or the attack.
  const paramNames = [...route.path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
  const target = r();
  const attackParam = paramNames.length > 0 && (kind === 'badId' || (kind !== 'valid' && target < 0.25));
  const attacked = attackParam ? pick(r, paramNames) : null;
  let urlPath = route.path;
  for (const p of paramNames) {
    const v = p === attacked ? attack(r, kind) : paramValue(r, route.path, p, pools, ctx);
    urlPath = urlPath.replace(`:${p}`, encodeUrlValue(v));
  }
  // Query.
  const query = (spec.query ? valueOf(r, spec.query, 'query', pools) : {}) as Record<string, unknown>;
  const queryKeys = Object.keys((spec.query as { properties?: object } | undefined)?.properties ?? {});
  const isJsonRoute = route.path.startsWith('/api/');
  const headers: Record<string, string> = { accept: isJsonRoute ? 'application/json' : pick(r, ['text/html', 'application/json', '*/*']) };
  if (who.session) headers.cookie = who.session.cookie;
  if (who.token) headers.authorization = `Bearer ${who.token}`;
  if (route.method === 'POST' && who.session && kind !== 'noCsrf') headers['x-csrf-token'] = who.session.csrf;

  const out: Planned = { method: spec.method, path: urlPath, headers };
  // Body.
  let body: Record<string, unknown> = {};
  if (route.method === 'POST') {
    if (spec.body) body = valueOf(r, spec.body, 'body', pools) as Record<string, unknown>;
    else if (!RAW_UPLOADS.has(route.path))
      for (let i = 0; i < 1 + Math.floor(r() * 5); i++) body[pick(r, pools.formFields)] = valueOf(r, undefined, 'x', pools);
    if (route.path === '/visits/:id/notices') body.type = pick(r, ['moveIn', 'moveOut', 'relocation', 'specialMoveIn', 'bogus']);
  }
  const bodyKeys = Object.keys(body);
  if (!attackParam && kind !== 'valid' && kind !== 'noCsrf') {
    const inQuery = queryKeys.length && (!bodyKeys.length || r() < 0.4);
    const keys = inQuery ? queryKeys : bodyKeys.length ? bodyKeys : [pick(r, pools.formFields)];
    const key = pick(r, keys);
    if (kind === 'repeatParam') {
      if (inQuery) query[key] = [valueOf(r, undefined, key, pools), attack(r, 'sql')];
      else body[key] = [attack(r, 'badKana'), attack(r, 'badDate')];
    } else if (kind === 'deepNesting') {
      let v: unknown = 'x';
      for (let i = 0; i < 3000; i++) v = r() < 0.5 ? [v] : { a: v };
      if (inQuery) query[`${key}${'[a]'.repeat(200)}`] = 'x';
      else body[key] = v;
    } else if (!['wrongContentType', 'badEncoding', 'bigBody', 'emptyBody'].includes(kind)) {
      const v = attack(r, kind);
      if (inQuery) query[key] = kind === 'hugeString' ? String(v).slice(0, 3000) : v;
      else body[key] = v;
    }
  }
  const qs = Object.entries(query)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${encodeUrlValue(k)}=${encodeUrlValue(x)}`))
    .join('&');
  out.path = urlPath + (qs ? `?${qs}` : '');

  if (route.method !== 'POST') return out;
  if (RAW_UPLOADS.has(route.path)) {
    const up = uploadBody(r, kind);
    out.headers['content-type'] = route.path.includes('evidence') ? 'image/png' : 'text/csv';
    if (up.body) out.body = up.body;
    if (up.chunks) out.chunks = up.chunks;
    if (kind === 'badEncoding') out.headers['content-encoding'] = pick(r, ['gzip', 'br', 'x-unknown']);
    if (route.path.includes('evidence')) out.path = urlPath + '?kind=' + pick(r, ['screenshot', 'trace', 'bogus']);
    return out;
  }
  const asJson = isJsonRoute ? r() < 0.85 : r() < 0.1;
  out.body = asJson ? jsonBody(body) : formBody(body);
  out.headers['content-type'] = asJson ? 'application/json' : 'application/x-www-form-urlencoded';
  if (!asJson && who.session && kind !== 'noCsrf') out.body = Buffer.concat([out.body, Buffer.from(`&_csrf=${who.session.csrf}`)]);
  switch (kind) {
    case 'deepNesting':
      if (r() < 0.5) {
        out.body = Buffer.from('['.repeat(5000) + ']'.repeat(5000));
        out.headers['content-type'] = 'application/json';
      }
      break;
    case 'wrongContentType':
      out.headers['content-type'] = pick(r, [
        'text/plain',
        'application/xml',
        'multipart/form-data; boundary=xyz',
        'application/json; charset=utf-16',
        'application/json; charset=bogus',
        'application/x-www-form-urlencoded; charset=shift_jis',
        '',
        asJson ? 'application/x-www-form-urlencoded' : 'application/json',
      ]);
      if (!out.headers['content-type']) delete out.headers['content-type'];
      break;
    case 'badEncoding': {
      const how = pick(r, ['falseGzip', 'deflateGarbage', 'br', 'gzipBomb', 'doubleGzip']);
      if (how === 'falseGzip') out.headers['content-encoding'] = 'gzip';
      if (how === 'deflateGarbage') out.headers['content-encoding'] = 'deflate';
      if (how === 'br') out.headers['content-encoding'] = 'br';
      if (how === 'doubleGzip') out.headers['content-encoding'] = 'gzip, gzip';
      if (how === 'gzipBomb') {
        out.headers['content-encoding'] = 'gzip';
        out.headers['content-type'] = 'application/json';
        out.body = bomb();
      }
      break;
    }
    case 'bigBody':
      if (r() < 0.5) out.chunks = { size: 64 * 1024, count: asJson ? 8 : 2 };
      else out.body = Buffer.alloc(asJson ? 300 * 1024 : 70 * 1024, asJson ? 0x20 : 0x61);
      break;
    case 'emptyBody':
      out.body = pick(r, [Buffer.alloc(0), Buffer.from('{"a":'), Buffer.from('null'), Buffer.from('"str"'), Buffer.from('=&=&&a')]);
      break;
    default:
  }
  return out;
}

interface Answer {
  status: number;
  ms: number;
  /** The server's own time (Server-Timing), to tell slow handling from waiting. */
  serverMs?: number;
  error?: string;
}

let gzipBomb: Buffer | undefined;
/** 30 MB of JSON in 30 KB of gzip (inflated past the JSON limit: 413). */
const bomb = (): Buffer =>
  (gzipBomb ??= gzipSync(Buffer.concat([Buffer.from('{"a":"'), Buffer.alloc(30 * 1024 * 1024, 0x61), Buffer.from('"}')])));

function send(agent: http.Agent, base: URL, p: Planned, timeoutMs: number): Promise<Answer> {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (a: Omit<Answer, 'ms'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...a, ms: Date.now() - started });
    };
    const headers: Record<string, string | number> = { ...p.headers };
    if (p.body && !p.chunks) headers['content-length'] = p.body.length;
    let req: http.ClientRequest;
    try {
      req = http.request(
        {
          host: base.hostname,
          port: base.port,
          path: p.path,
          method: p.method,
          headers,
          agent,
          ...(p.from ? { localAddress: p.from } : {}),
        },
        (res) => {
          res.resume();
          const timing = /app;dur=([0-9.]+)/.exec(String(res.headers['server-timing'] ?? ''));
          res.on('end', () => done({ status: res.statusCode ?? 0, ...(timing ? { serverMs: Number(timing[1]) } : {}) }));
          res.on('error', () => done({ status: res.statusCode ?? 0 }));
        },
      );
    } catch (e) {
      done({ status: -1, error: `request not sent: ${(e as Error).message}` });
      return;
    }
    req.setTimeout(timeoutMs, () => {
      req.destroy(new Error('timeout'));
    });
    req.on('error', (e: NodeJS.ErrnoException) => done({ status: 0, error: e.code ?? e.message }));
    if (p.chunks) {
      const chunk = Buffer.alloc(p.chunks.size, 0x61);
      let left = p.chunks.count;
      const write = () => {
        while (left > 0 && !settled) {
          left--;
          if (!req.write(chunk)) return void req.once('drain', write);
        }
        req.end();
      };
      write();
    } else req.end(p.body);
  });
}

// ---------------------------------------------------------------------------------------------
// The server in a child process

/** The CLI module run in the child (MADOGUCHI_FUZZ_CLI: another tree's, to compare a fix). */
const CLI_MODULE = process.env.MADOGUCHI_FUZZ_CLI ?? path.join(repoRoot, 'server/src/cli/index.ts');
const LAUNCH = `const { main } = await import(${JSON.stringify(CLI_MODULE)}); await main(['node', 'madoguchi', ...process.argv.slice(1)]);`;

/** `madoguchi …` from source, with the production heap limit. */
export function cliArgs(args: string[]): string[] {
  return ['--max-old-space-size=192', '--import', 'tsx', '--input-type=module', '-e', LAUNCH, '--', ...args];
}

export interface ServerChild {
  child: ChildProcess;
  url: string;
  /** The last lines of its output. */
  tail(): string[];
  /** `request failed` lines (the error handler's log of each 5xx). */
  errorLines: string[];
  exited: Promise<number | null>;
}

/** Starts `madoguchi serve|demo` in a child process and waits for its URL. */
export function startServerChild(args: string[], log: (l: string) => void = () => undefined): Promise<ServerChild> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cliArgs(args), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
    const lines: string[] = [];
    const errorLines: string[] = [];
    let partial = '';
    let started = false;
    const exited = new Promise<number | null>((res) => child.on('exit', (code, signal) => res(code ?? (signal ? 128 : null))));
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${lines.join('\n')}`)), 180_000);
    const onData = (d: Buffer) => {
      const text = partial + d.toString();
      const parts = text.split('\n');
      partial = parts.pop()!;
      for (const l of parts) {
        lines.push(l);
        if (lines.length > 200) lines.shift();
        if (/^\[error\]/.test(l)) {
          errorLines.push(l.slice(0, 2000));
          if (errorLines.length > 2000) errorLines.shift();
        }
        const m = /起動しました: (http:\/\/\S+)/.exec(l);
        if (m && !started) {
          started = true;
          clearTimeout(timer);
          log(`server: ${m[1]}`);
          resolve({ child, url: m[1]!, tail: () => [...lines, partial], errorLines, exited });
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      if (!started) {
        clearTimeout(timer);
        reject(new Error(`server exited with ${code}:\n${[...lines, partial].join('\n')}`));
      }
    });
  });
}

export async function stopServerChild(s: ServerChild): Promise<number | null> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return s.exited;
  s.child.kill('SIGTERM');
  const t = setTimeout(() => s.child.kill('SIGKILL'), 20_000);
  const code = await s.exited;
  clearTimeout(t);
  return code;
}

// ---------------------------------------------------------------------------------------------
// The run

const noLogger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined } as unknown as Logger;

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const log = o.log ?? (() => undefined);
  const started = Date.now();
  const r = rng(o.seed);
  const t = tempDir('madoguchi-fuzz-');
  const dataDir = path.join(t.dir, 'data');
  const config = loadAppConfig(configDir);
  const report: FuzzReport = {
    soak: 'fuzz',
    requests: 0,
    status5xx: 0,
    crashes: 0,
    slowOver5s: 0,
    auditVerify: 'not run',
    kinds: {},
    statuses: {},
    routes: 0,
    seconds: 0,
    failures: [],
    crashLogs: [],
  };
  let server = await startServerChild(
    ['demo', '--people', String(o.people ?? 200), '--seed', 'fuzz', '--port', '0', '--data-dir', dataDir],
    log,
  );
  const knex = openDatabase(config.database, dataDir);
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
  try {
    const { routes } = createApp({ knex, config, configDir, logger: noLogger, version: 'fuzz', linkage: {} as never });
    const declared = routes.filter((x) => x.spec);

    // Identities: anonymous, one member of staff per shipped group (and one with every group), the agent.
    const groupCodes = defaultGroups.filter((g) => g.code !== 'rpaAgent').map((g) => g.code);
    const permsOf = (groups: string[]) => new Set(defaultGroups.filter((g) => groups.includes(g.code)).flatMap((g) => g.permissions));
    const staffSets = [...groupCodes.map((g) => [g]), groupCodes];
    const identities: Identity[] = [{ name: 'anonymous', groups: [], permissions: new Set() }];
    // Created before the run with known passwords: during the run only the server writes to the
    // database (a writer in this process would hold the lock the server waits for), and a lost
    // session is renewed through the login form.
    for (const [i, groups] of staffSets.entries()) {
      const loginId = `fuzz${i}`;
      const password = `Fuzz-pass-${i}-${o.seed}-Xy9`;
      await createStaff(knex, { loginId, displayName: `ファズ ${i}`, section: '住民課', password, groups, mustChangePassword: false });
      identities.push({
        name: groups.join('+'),
        loginId,
        password,
        session: await loginWith(server.url, knex, loginId, password),
        groups,
        permissions: permsOf(groups),
      });
    }
    const agentToken = await registerApiClient(knex, 'fuzz-agent', 'rpaAgent', { staffLogin: 'fuzz' });
    identities.push({ name: 'agent', token: agentToken, groups: ['rpaAgent'], permissions: permsOf(['rpaAgent']) });
    await registerApiClient(knex, 'fuzz-victim', 'rpaAgent', { staffLogin: 'fuzz' });
    // Staff the admin routes may change (the fuzz's own accounts are never their target).
    const victims: string[] = [];
    for (let i = 0; i < 3; i++)
      victims.push(
        String(
          await createStaff(knex, {
            loginId: `victim${i}`,
            displayName: '被験 職員',
            section: '住民課',
            password: `Victim-pass-${i}-xyz`,
            groups: ['counter'],
            mustChangePassword: false,
          }),
        ),
      );
    const pamphlets = (() => {
      try {
        return readdirSync(path.join(configDir, 'pamphlets'));
      } catch {
        return [];
      }
    })();
    // A few real visits, subjects and notices so that ids lead into the handlers.
    const counter = identities.find((i) => i.name === groupCodes.join('+'))!;
    let pools = await readPools(knex, { victims, pamphlets, formFields: harvestFormFields() });
    const base = () => new URL(server.url);
    for (let i = 0; i < 4; i++) {
      const v = await send(
        agent,
        base(),
        {
          method: 'POST',
          path: '/api/v1/visits',
          headers: { cookie: counter.session!.cookie, 'x-csrf-token': counter.session!.csrf, 'content-type': 'application/json' },
          body: Buffer.from('{}'),
        },
        30_000,
      );
      if (v.status >= 300) log(`seed visit: ${v.status}`);
    }
    pools = await readPools(knex, pools);
    for (const [i, visit] of pools.visits.entries()) {
      const h = { cookie: counter.session!.cookie, 'x-csrf-token': counter.session!.csrf };
      if (pools.residents[i])
        await send(
          agent,
          base(),
          {
            method: 'POST',
            path: `/api/v1/visits/${visit}/subjects`,
            headers: { ...h, 'content-type': 'application/json' },
            body: Buffer.from(JSON.stringify({ addresseeNo: pools.residents[i] })),
          },
          30_000,
        );
      for (const type of ['moveOut', 'relocation', 'moveIn'])
        await send(
          agent,
          base(),
          {
            method: 'POST',
            path: `/visits/${visit}/notices`,
            headers: { ...h, 'content-type': 'application/x-www-form-urlencoded' },
            body: Buffer.from(`type=${type}&subject=${pools.residents[i] ?? ''}&_csrf=${counter.session!.csrf}`),
          },
          30_000,
        );
    }
    pools = await readPools(knex, pools);
    log(`pools: ${pools.visits.length} visits, ${pools.notices.length} notices, ${pools.residents.length} residents`);

    // The run.
    let next = 0;
    let inFlight = 0;
    const reached = new Set<string>();
    let restarting: Promise<void> | null = null;
    let stopping = false;
    const relogin = async (who: Identity) => {
      try {
        who.session = await loginWith(server.url, knex, who.loginId!, who.password!);
      } catch (e) {
        log(`re-login ${who.name}: ${(e as Error).message.slice(0, 200)}`);
      }
    };
    const watchCrash = (s: ServerChild) =>
      void s.exited.then(async (code) => {
        if (s !== server || stopping) return;
        report.crashes++;
        const tail = s.tail().slice(-40).join('\n');
        report.crashLogs.push(`exit ${code}:\n${tail}`);
        log(`CRASH: the server exited with ${code}:\n${tail}`);
        restarting = (async () => {
          server = await startServerChild(['serve', '--port', '0', '--data-dir', dataDir], log);
          watchCrash(server);
        })();
        await restarting;
        restarting = null;
      });
    watchCrash(server);

    const one = async (i: number) => {
      const route = declared[i % declared.length]!;
      const kind = KINDS[Math.floor(r() * KINDS.length)]!;
      // Mostly someone allowed to use the route (so the input reaches the handler), sometimes anyone.
      const access = route.access;
      const allowed = identities.filter((x) =>
        access === 'public'
          ? true
          : access === 'authenticated'
            ? x.session || x.token
            : access === 'residentScreen' || access === 'standbyPeer'
              ? false // no identity of the fuzzer is a paired resident screen or the standby peer: each request shows the refusal
              : x.permissions.has(access.permission),
      );
      const who = allowed.length && r() < 0.85 ? pick(r, allowed) : pick(r, identities);
      const p = plan(r, route, kind, who, pools);
      // Fuzzed logins come from other loopback addresses, so the per-address throttle does not slow the run's own logins.
      if (route.path === '/login' && route.method === 'POST') p.from = `127.0.0.${2 + (i % 200)}`;
      if (restarting) await restarting;
      const a = await send(agent, new URL(server.url), p, 60_000);
      report.requests++;
      report.kinds[kind] = (report.kinds[kind] ?? 0) + 1;
      const cls = a.status <= 0 ? `error:${a.error}` : `${Math.floor(a.status / 100)}xx`;
      report.statuses[cls] = (report.statuses[cls] ?? 0) + 1;
      if (a.status > 0) reached.add(`${route.method} ${route.path}`);
      if (a.ms > 5000) {
        report.slowOver5s++;
        log(
          `slow: ${a.ms} ms (server ${a.serverMs ?? '?'} ms) ${route.method} ${route.path} (${kind}, ${who.name}) ${p.path.slice(0, 120)}`,
        );
      }
      if (a.status >= 500) {
        report.status5xx++;
        await new Promise((res) => setTimeout(res, 50));
        const pathOnly = p.path.split('?')[0]!;
        const line =
          [...server.errorLines].reverse().find((l) => l.includes(JSON.stringify(pathOnly).slice(1, -1))) ?? server.errorLines.at(-1) ?? '';
        const f: FuzzFailure = {
          method: p.method,
          route: route.path,
          url: p.path.slice(0, 300),
          kind,
          who: who.name,
          status: a.status,
          logLine: line.slice(0, 1500),
        };
        report.failures.push(f);
        log(`5xx: ${a.status} ${p.method} ${route.path} (${kind}, ${who.name}) ${f.url}\n  ${f.logLine}`);
      }
      if (a.status === 401 && who.session && route.access !== 'public') await relogin(who);
      if (i > 0 && i % 500 === 0) pools = await readPools(knex, pools);
    };

    await new Promise<void>((resolve) => {
      const pump = () => {
        while (inFlight < o.concurrency && next < o.requests) {
          const i = next++;
          inFlight++;
          one(i)
            .catch((e: unknown) => log(`fuzz error: ${(e as Error).stack ?? String(e)}`))
            .finally(() => {
              inFlight--;
              if (next >= o.requests && inFlight === 0) resolve();
              else pump();
            });
        }
      };
      pump();
    });
    report.routes = reached.size;
    stopping = true;
  } finally {
    agent.destroy();
    await knex.destroy();
    const code = await stopServerChild(server);
    if (code !== 0) log(`server stopped with exit ${code}`);
  }
  // The audit trail after all that.
  const verify = spawnSync(process.execPath, cliArgs(['audit', 'verify', '--data-dir', dataDir]), { cwd: repoRoot, encoding: 'utf8' });
  report.auditVerify = verify.status === 0 ? 'ok' : `failed (${verify.status}): ${(verify.stderr || verify.stdout).trim().slice(0, 500)}`;
  log(`audit verify: ${(verify.stdout + verify.stderr).trim()}`);
  report.seconds = Math.round((Date.now() - started) / 1000);
  t.remove();
  return report;
}

/** The one JSON line of `npm run soak -- fuzz`. */
export function fuzzLine(rp: FuzzReport): string {
  return JSON.stringify({
    soak: 'fuzz',
    requests: rp.requests,
    status5xx: rp.status5xx,
    crashes: rp.crashes,
    slowOver5s: rp.slowOver5s,
    auditVerify: rp.auditVerify,
  });
}
