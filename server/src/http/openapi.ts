import type { TSchema } from '@sinclair/typebox';
import { errorCatalog } from '../errors/catalog.js';
import { MASKED_ADDRESS } from '../residents/warnings.js';
import type { RouteInfo, RouteSpec } from './kit.js';
import { ErrorSchema } from './schemas/errors.js';

/**
 * The OpenAPI 3.1 description of the JSON API, generated from the route registry: every route
 * declared with `kit.route` whose path starts with /api/v1/ (and /healthz) becomes an operation
 * with its permission (`x-permission`), parameters, body and response schemas, and the error
 * answers its declaration implies. Nothing here is written twice: a route's contract lives
 * beside its handler. Objects marked `x-component` are listed once under components.schemas.
 */

const TAGS = [
  { name: '住民', description: '住民・住登外者・法人の検索と個人の照会 (監査ログに記録)' },
  { name: '来庁', description: '来庁記録: 受付、本人確認、対象者の追加、保留・再開・完了、届出と手続き' },
  { name: '住所入力補助', description: '住所マスタからの町字・番地の候補、住所の照合、郵便番号 (オフライン)' },
  { name: '前方連携', description: '基幹系から受け取るファイルの取込状況' },
  { name: 'RPA エージェント', description: '基幹系へ入力する RPA エージェント用 (端末トークン)' },
  { name: '稼働状況', description: '監視用' },
  { name: 'API 仕様', description: 'この文書' },
];

const INTRO = [
  '書かない窓口システム madoguchi の JSON API です。自治体の情報システム担当、RPA や基幹系のベンダーなど、他のシステムから連携する方のための仕様です。',
  '',
  '## 認証',
  '- **職員のブラウザ**: ログイン画面で発行されるセッション Cookie `madoguchi_session` (cookieAuth)。POST には画面と同じ CSRF トークンをヘッダー `x-csrf-token` (またはフォームの `_csrf` 欄) で送ります。',
  '- **端末・他システム**: 管理画面 (接続端末) で発行するトークン `mdg_…` を `Authorization: Bearer mdg_…` で送ります (bearerAuth)。トークンは `/api/` 以下でだけ使えます。無効なトークンは無視されず 401 になります。端末には職員がいないため、来庁記録の作成・変更はできません (403)。',
  '',
  '## 権限',
  '各操作に必要な権限を説明と `x-permission` に示します。権限はグループ (役割) が持ち、資格 (国保・介護など) は有効な役割の表示範囲だけを返します。権限がなければ 403、未ログインなら 401 です。',
  '',
  '## 個人情報の扱い',
  '- 個人情報を返す応答はすべて、表示した宛名番号とともに監査ログに記録されます (応答と同じトランザクション)。',
  '- **個人番号 (マイナンバー)** は `GET /api/v1/residents/{addresseeNo}` に `myNumber=1` を付け、権限 `resident.viewMyNumber` を持つときだけ返します。表示は 1 回ごとに監査ログに記録されます。',
  `- **支援措置**の対象者 (と同じ住所・世帯の人) の住所は、権限 \`resident.viewProtectedAddress\` を持たない利用者には「${MASKED_ADDRESS}」に置き換えて返し、\`addressMasked\` を true にします。異動履歴の住所は null になります。`,
  '- 応答には `Cache-Control: no-store` が付きます。',
  '',
  '## エラー',
  'エラーは常に `{ "error": { "status": 400, "code": "input.invalid", "message": "…", "fields": [ … ] } }` の形です。message は職員にそのまま見せられる日本語、code はエラーの種類 (変わらない識別子)、fields は入力の誤りのとき項目ごとの問題です。500 の詳細はサーバーのログにだけ残ります。',
  '',
  '## 入力',
  'POST の本文は `application/x-www-form-urlencoded` または `application/json` です。各操作の入力スキーマで検査し、合わない入力は 400 で項目名を日本語で返します。フォームとクエリの値は宣言した型に変換します (`"12"` → 12)。JSON は宣言した型のまま送ってください。',
].join('\n');

const SECURITY_SCHEMES = {
  cookieAuth: {
    type: 'apiKey',
    in: 'cookie',
    name: 'madoguchi_session',
    description:
      '職員のブラウザのセッション (ログイン画面で発行、一定時間操作がなければ失効)。POST にはセッションの CSRF トークンをヘッダー `x-csrf-token` (csrfHeader) で、またはフォームの `_csrf` 欄で一緒に送ります。違えば 403 です。',
  },
  csrfHeader: {
    type: 'apiKey',
    in: 'header',
    name: 'x-csrf-token',
    description: 'セッション Cookie で POST するときの CSRF トークン (画面の `_csrf` と同じ値)。Bearer トークンでは不要です。',
  },
  bearerAuth: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'mdg_…',
    description:
      '端末・他システム用のトークン `mdg_…` (管理画面の接続端末で発行・失効)。`/api/` 以下でだけ有効で、それ以外のパスや無効なトークンは 401 です。権限はトークンのグループのものです。Cookie は送りません (CSRF トークンは不要)。',
  },
};

/** Read-only operations: a browser session or a machine client's token. */
const READ_SECURITY = [{ cookieAuth: [] }, { bearerAuth: [] }];
/** State-changing operations: a browser session must also send its CSRF token. */
const WRITE_SECURITY = [{ cookieAuth: [], csrfHeader: [] }, { bearerAuth: [] }];

type AnySpec = RouteSpec<TSchema | undefined, TSchema | undefined, TSchema | undefined>;
type Json = Record<string, unknown>;

const toOpenApiPath = (path: string): string => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const isDocumented = (r: RouteInfo): boolean => r.path.startsWith('/api/v1/') || r.path === '/healthz';

/**
 * Copies a schema as plain JSON, moving every `x-component` object into `components` and putting
 * a `$ref` in its place. TypeBox's symbols are dropped by the JSON round trip.
 */
function hoist(schema: unknown, components: Map<string, Json>): unknown {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (!v || typeof v !== 'object') return v;
    const o = v as Json;
    const out: Json = {};
    for (const [k, val] of Object.entries(o)) out[k] = walk(val);
    const name = o['x-component'];
    if (typeof name === 'string') {
      delete out['x-component'];
      const known = components.get(name);
      if (known && JSON.stringify(known) !== JSON.stringify(out)) throw new Error(`two different schemas are named ${name}`);
      components.set(name, out);
      return { $ref: `#/components/schemas/${name}` };
    }
    return out;
  };
  return walk(JSON.parse(JSON.stringify(schema)));
}

/** `in: path|query` parameters from an object schema. */
function parameters(schema: TSchema | undefined, where: 'path' | 'query', components: Map<string, Json>): Json[] {
  if (!schema) return [];
  const s = hoist(schema, components) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, p]) => {
    const { title, description, ...rest } = p;
    const text = [title, description].filter((x) => typeof x === 'string').join(' — ');
    return {
      name,
      in: where,
      required: where === 'path' || (s.required ?? []).includes(name),
      ...(text ? { description: text } : {}),
      schema: rest,
    };
  });
}

/** The error answers a declaration implies, each with the catalog's messages as examples. */
function errorResponses(spec: AnySpec): Json {
  const out: Json = {};
  const add = (status: number, description: string, codes: readonly string[]) => {
    const messages = codes.map((c) => errorCatalog[c as keyof typeof errorCatalog]?.message).filter(Boolean);
    out[String(status)] = {
      description: messages.length ? `${description} 例: ${messages.map((m) => `「${m}」`).join(' ')}` : description,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
  };
  const extra = spec.errors ?? [];
  const byStatus = (status: number) => extra.filter((c) => errorCatalog[c as keyof typeof errorCatalog]?.status === status);
  if (spec.params || spec.query || spec.body || byStatus(400).length)
    add(400, '入力が正しくありません。message と fields に直し方を日本語で返します。', ['input.invalid', ...byStatus(400)]);
  if (spec.access === 'residentScreen') add(401, 'この端末は住民用画面として窓口につながっていません。', ['residentScreen.notPaired']);
  else if (spec.access === 'standbyPeer')
    add(401, '相手の系の署名 (共有の秘密による HMAC) がないか、正しくありません。', ['standby.unsigned']);
  else if (spec.access !== 'public') {
    add(401, 'ログインしていない、セッションの有効期限切れ、または端末の認証トークンが無効です。', ['auth.loginRequired', 'auth.badToken']);
    add(403, '権限がない、CSRF トークンが一致しない、またはパスワードの変更が必要です。', [
      'auth.forbidden',
      'auth.mustChangePassword',
      ...(spec.method === 'POST' ? ['auth.csrf'] : []),
      ...byStatus(403),
    ]);
  }
  if (spec.params || byStatus(404).length) add(404, '指定されたものが見つかりません。', ['notFound.resource', ...byStatus(404)]);
  for (const status of [409, 413, 415, 429, 503]) if (byStatus(status).length) add(status, '', byStatus(status));
  if (spec.body) add(413, '送られたデータが大きすぎます。', ['input.tooLarge']);
  out['500'] = {
    description: '予期しないエラー。詳細はサーバーのログにだけ記録します。',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
  return out;
}

function operation(r: RouteInfo & { spec: AnySpec }, components: Map<string, Json>): Json {
  const spec = r.spec;
  const permission = typeof spec.access === 'object' ? spec.access.permission : spec.access;
  const note =
    permission === 'public'
      ? '\n\n**必要な権限**: なし (ログイン不要)。'
      : permission === 'authenticated'
        ? '\n\n**必要な権限**: ログインしていること (権限は問いません)。'
        : permission === 'residentScreen'
          ? '\n\n**必要な権限**: 窓口につないだ住民用画面 (端末の Cookie)。職員のセッションでは使えません。'
          : permission === 'standbyPeer'
            ? '\n\n**必要な権限**: 対になった運用系・待機系の署名 (共有の秘密による HMAC-SHA256)。職員のセッションでは使えません。'
            : `\n\n**必要な権限**: \`${permission}\``;
  const responses: Json = {};
  const resp = spec.response;
  if (resp.kind === 'json') {
    responses[String(resp.status ?? 200)] = {
      description: resp.description ?? spec.summary,
      content: { 'application/json': { schema: hoist(resp.schema, components) } },
    };
  } else if (resp.kind === 'empty') responses['204'] = { description: spec.summary };
  else if (resp.kind === 'file')
    responses['200'] = { description: resp.description ?? spec.summary, content: Object.fromEntries(resp.types.map((t) => [t, {}])) };
  else responses['200'] = { description: spec.summary, content: { 'text/html': {} } };
  const body = spec.body ? hoist(spec.body, components) : null;
  return {
    tags: [spec.tag ?? 'その他'],
    operationId: `${spec.method.toLowerCase()}${toOpenApiPath(r.path)
      .replace(/^\/api\/v1/, '')
      .split(/[/{}-]+/)
      .filter(Boolean)
      .map((w) => w[0]!.toUpperCase() + w.slice(1))
      .join('')}`,
    summary: spec.summary,
    description: (spec.description ?? spec.summary) + note,
    'x-permission': permission,
    ...(permission === 'public' ? { security: [] } : { security: spec.method === 'POST' ? WRITE_SECURITY : READ_SECURITY }),
    parameters: [...parameters(spec.params, 'path', components), ...parameters(spec.query, 'query', components)],
    ...(body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: body }, 'application/x-www-form-urlencoded': { schema: body } },
          },
        }
      : {}),
    responses: { ...responses, ...errorResponses(spec) },
  };
}

/** The document for the routes declared so far (the route list of `createApp`). */
export function openApiDocument(routes: readonly RouteInfo[], version: string) {
  const components = new Map<string, Json>();
  components.set('Error', hoist(ErrorSchema, new Map()) as Json);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    if (!isDocumented(r) || !r.spec) continue;
    const item = (paths[toOpenApiPath(r.path)] ??= {});
    item[r.method.toLowerCase()] = operation(r as RouteInfo & { spec: AnySpec }, components);
  }
  return {
    openapi: '3.1.0' as const,
    info: {
      title: 'madoguchi 書かない窓口 API',
      version,
      summary: '住民検索・来庁記録・住所入力補助・前方連携状況・RPA エージェントの JSON API',
      description: INTRO,
    },
    tags: TAGS,
    paths,
    components: { schemas: Object.fromEntries([...components].sort(([a], [b]) => a.localeCompare(b))), securitySchemes: SECURITY_SCHEMES },
  };
}
