import { entitlementKinds } from '../domain/codes.js';
import { MASKED_ADDRESS } from '../residents/warnings.js';
import { searchTargets } from '../residents/search.js';
import { identityDocuments, visitorRoles } from '../visits/identity.js';

/**
 * The OpenAPI 3.1 description of the JSON API under /api/v1, for the municipality's and vendors'
 * integrators (RPA, 基幹系 vendors, card readers). Written by hand as a plain object: every route
 * declared with `kit.route` whose path starts with /api/v1/ must be here, with its permission as
 * `x-permission` — test/integration/openapi.test.ts compares the two in both directions.
 * Enumerations come from the code that validates them, so they cannot drift.
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, 'null'], ...extra });
const arrayOf = (items: object, extra: Record<string, unknown> = {}) => ({ type: 'array', items, ...extra });
const json = (schema: object, example?: unknown) => ({ 'application/json': { schema, ...(example === undefined ? {} : { example }) } });
const labelList = (labels: Readonly<Record<string, string>>) =>
  Object.entries(labels)
    .map(([k, l]) => `\`${k}\` ${l}`)
    .join('、');

const SERVER_ERROR = 'サーバーでエラーが発生しました。しばらくしてからやり直してください。';

/** The error responses of an operation: each status with the messages it answers with (the first is the example). */
function errors(byStatus: Partial<Record<400 | 401 | 403 | 404 | 409 | 413, readonly string[]>>): Record<string, object> {
  const describe: Record<number, string> = {
    400: '入力が正しくありません。message に直し方を日本語で返します。',
    401: 'ログインしていない、セッションの有効期限切れ、または端末の認証トークンが無効です。',
    403: '権限がない、CSRF トークンが一致しない、またはパスワードの変更が必要です。',
    404: '指定されたものが見つかりません。',
    409: '現在の状態ではその操作はできません。',
    413: '送られたファイルが大きすぎます。',
  };
  const out: Record<string, object> = {};
  for (const [status, messages] of Object.entries(byStatus)) {
    const s = Number(status);
    out[status] = {
      description: `${describe[s]} 返すメッセージの例: ${messages.map((m) => `「${m}」`).join(' ')}`,
      content: {
        'application/json': {
          schema: ref('Error'),
          examples: Object.fromEntries(
            messages.map((message, i) => [`e${i + 1}`, { summary: message, value: { error: { status: s, message } } }]),
          ),
        },
      },
    };
  }
  out['500'] = {
    description: '予期しないエラー。詳細はサーバーのログにだけ記録します。',
    content: json(ref('Error'), { error: { status: 500, message: SERVER_ERROR } }),
  };
  return out;
}

const UNAUTHENTICATED = ['ログインしてください', '端末の認証トークンが無効です'] as const;
const FORBIDDEN = ['この操作を行う権限がありません', 'パスワードを変更してから操作してください'] as const;
const CSRF = '画面の有効期限が切れました。画面を開き直してからやり直してください (CSRF)';
const NO_CLIENT_VISITS = '端末からは来庁記録を変更できません';
const BAD_VISIT_ID = '来庁番号が正しくありません';
const VISIT_NOT_FOUND = '指定された来庁記録はありません';
const VISIT_CLOSED = 'この来庁記録は完了しています。変更するには新しい来庁を開いてください';

/** Read-only operations: a browser session or a machine client's token. */
const READ_SECURITY = [{ cookieAuth: [] }, { bearerAuth: [] }];
/** State-changing operations: a browser session must also send its CSRF token. */
const WRITE_SECURITY = [{ cookieAuth: [], csrfHeader: [] }, { bearerAuth: [] }];

const permissionNote = (permission: string) =>
  permission === 'authenticated'
    ? '\n\n**必要な権限**: ログインしていること (権限は問いません)。'
    : `\n\n**必要な権限**: \`${permission}\``;

function op(o: {
  tag: string;
  operationId: string;
  summary: string;
  description: string;
  permission: string;
  write?: boolean;
  [k: string]: unknown;
}): object {
  const { tag, permission, write, description, ...rest } = o;
  return {
    tags: [tag],
    ...rest,
    description: description + permissionNote(permission),
    'x-permission': permission,
    security: write ? WRITE_SECURITY : READ_SECURITY,
  };
}

const visitIdParam = {
  name: 'id',
  in: 'path',
  required: true,
  description: '来庁記録の内部番号 (Visit.id。来庁番号 visitNo ではありません)',
  schema: { type: 'integer', minimum: 1 },
  example: 42,
};

const visitResponse = (description: string) => ({ description, content: json(ref('Visit')) });

const formAndJson = (schema: object, example: unknown) => ({
  required: true,
  content: {
    'application/x-www-form-urlencoded': { schema },
    'application/json': { schema, example },
  },
});

const VISITOR_DOCUMENT_NOTE = `本人確認書類: ${labelList(identityDocuments)}`;

export function openApiDocument(version: string): object {
  return {
    openapi: '3.1.0',
    info: {
      title: 'madoguchi 書かない窓口 API',
      version,
      summary: '住民検索・来庁記録・住所入力補助・前方連携状況の JSON API',
      description: [
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
        'エラーは常に `{ "error": { "status": 400, "message": "…" } }` の形で、message は職員にそのまま見せられる日本語です。500 の詳細はサーバーのログにだけ残ります。',
        '',
        '## 入力',
        'POST の本文は `application/x-www-form-urlencoded` または `application/json` です。JSON でも値は文字列で送ってください (数値などは未入力として扱います)。',
      ].join('\n'),
    },
    tags: [
      { name: '住民', description: '住民・住登外者・法人の検索と個人の照会 (監査ログに記録)' },
      { name: '来庁', description: '来庁記録: 受付、本人確認、対象者の追加、保留・再開・完了' },
      { name: '住所入力補助', description: '住所マスタからの町字・番地の候補、住所の照合、郵便番号 (オフライン)' },
      { name: '前方連携', description: '基幹系から受け取るファイルの取込状況' },
      { name: 'API 仕様', description: 'この文書' },
    ],
    paths: {
      '/api/v1/residents': {
        get: op({
          tag: '住民',
          operationId: 'searchResidents',
          permission: 'resident.search',
          summary: '住民を検索する',
          description: [
            '氏名・カナ・生年月日・住所のいずれか (1 つ以上) と、性別・検索対象で住民を検索します。',
            '完全一致で見つからないときは異体字・カナの揺れでも探し、その結果には `match` で印を付けます。件数は 200 件で数えるのをやめ、`totalCapped` が true になります (条件を追加して絞り込んでください)。',
            `支援措置の対象者の住所は、権限 \`resident.viewProtectedAddress\` がなければ「${MASKED_ADDRESS}」に置き換わります。検索結果に表示した人は監査ログに記録されます。`,
          ].join('\n\n'),
          parameters: [
            {
              name: 'target',
              in: 'query',
              description:
                '検索対象: `residents` 住登者 (既定)、`former` 住登者と消除者、`foreign` 外国人住民、`nonResidents` 住登外者、`corporations` 法人',
              schema: { type: 'string', enum: [...searchTargets], default: 'residents' },
            },
            { name: 'name', in: 'query', description: '氏名 (漢字)。異体字も探します', schema: { type: 'string' }, example: '山田 太郎' },
            {
              name: 'kana',
              in: 'query',
              description: 'カナ氏名 (前方一致)。ひらがな・半角カナも可',
              schema: { type: 'string' },
              example: 'ヤマダ タロウ',
            },
            {
              name: 'birthDate',
              in: 'query',
              description:
                '生年月日。窓口で入力するとおりの自由入力です: 和暦 (`S50.4.1`、`昭和50年4月1日`、`S500401`)、テンキーの元号コード (`3500401`: 1 明治 … 5 令和)、元号なしの 6 桁 (`500401`、era の指定が必要)、西暦 (`1975-04-01`、`19750401`)。年だけ (`S50`)・年月だけ (`S50.4`) ならその期間で検索します。解釈した内容は応答の `understood` に入ります。',
              schema: { type: 'string' },
              examples: {
                letter: { value: 'S50.4.1' },
                kanji: { value: '昭和50年4月1日' },
                digits: { summary: 'era=S と一緒に', value: '500401' },
                western: { value: '1975-04-01' },
              },
            },
            {
              name: 'era',
              in: 'query',
              description:
                '元号キー (画面の元号選択): 元号を書かずに入力した生年月日に使います。`M` 明治、`T` 大正、`S` 昭和、`H` 平成、`R` 令和 (小文字も可)',
              schema: { type: 'string', enum: ['M', 'T', 'S', 'H', 'R'] },
            },
            {
              name: 'address',
              in: 'query',
              description: '住所 (町字以下、表記の揺れを正規化して照合)。住登外者・法人には使えません',
              schema: { type: 'string' },
              example: '緑ケ丘2-3',
            },
            { name: 'sex', in: 'query', description: '性別: `1` 男、`2` 女', schema: { type: 'string', enum: ['1', '2'] } },
            {
              name: 'page',
              in: 'query',
              description: 'ページ (1 から)',
              schema: { type: 'integer', minimum: 1, maximum: 1000, default: 1 },
            },
            {
              name: 'pageSize',
              in: 'query',
              description: '1 ページの件数',
              schema: { type: 'integer', minimum: 1, maximum: 200, default: 20 },
            },
          ],
          responses: {
            '200': { description: '検索結果', content: json(ref('SearchResponse')) },
            ...errors({
              400: [
                '氏名・カナ・生年月日・住所のいずれかを入力してください',
                '検索対象の指定が正しくありません',
                '元号キーは M・T・S・H・R のいずれかです',
                '元号を指定してください (例: S50.4.1、昭和50年4月1日、または元号キーを選んでから 500401)',
                '「S50.2.30」は存在しない日付です',
                '性別は 1 (男) か 2 (女) で指定してください',
                '住所での検索は住民 (住登者・消除者・外国人) だけが対象です',
                'page は 1 以上の整数で指定してください',
                'pageSize は 1〜200 の整数で指定してください',
              ],
              401: UNAUTHENTICATED,
              403: FORBIDDEN,
            }),
          },
        }),
      },
      '/api/v1/residents/{addresseeNo}': {
        get: op({
          tag: '住民',
          operationId: 'getResident',
          permission: 'resident.search',
          summary: '住民を照会する (世帯・資格・異動履歴・同じ住所の世帯)',
          description: [
            '宛名番号で 1 人を照会し、世帯員、有効な役割の表示範囲の資格、異動履歴 (新しい順 50 件)、同じ住所の他の世帯 (30 人まで) を返します。照会は表示した全員の宛名番号とともに監査ログに記録されます。',
            '**個人番号**は `myNumber=1` を付け、権限 `resident.viewMyNumber` を持つときだけ `person.myNumber` に入ります (権限がなければ 403)。表示は照会とは別に 1 回ごとに監査ログに記録されます。`myNumber` を付けなければ `person.myNumber` は応答にありません。',
            `支援措置の対象世帯 (と同じ住所の世帯) の住所は、権限 \`resident.viewProtectedAddress\` がなければ「${MASKED_ADDRESS}」に、異動履歴の住所は null に置き換わります。`,
          ].join('\n\n'),
          parameters: [
            {
              name: 'addresseeNo',
              in: 'path',
              required: true,
              description: '宛名番号 (数字 1〜15 桁)',
              schema: { type: 'string', pattern: '^[0-9]{1,15}$' },
              example: '100000123',
            },
            {
              name: 'myNumber',
              in: 'query',
              description: '`1` のとき個人番号も返します (権限 `resident.viewMyNumber` が必要、監査ログに記録)',
              schema: { type: 'string', enum: ['1'] },
            },
          ],
          responses: {
            '200': { description: '照会結果', content: json(ref('PersonView')) },
            ...errors({
              400: ['宛名番号は数字で指定してください'],
              401: UNAUTHENTICATED,
              403: [...FORBIDDEN, '個人番号を表示する権限がありません'],
              404: ['指定された住民は見つかりません'],
            }),
          },
        }),
      },
      '/api/v1/visits': {
        post: op({
          tag: '来庁',
          operationId: 'openVisit',
          permission: 'visit.handle',
          write: true,
          summary: '来庁を受け付ける (来庁記録を開く)',
          description:
            'ログイン中の職員と窓口で、窓口受付の来庁記録を開きます。来庁番号は日本の日付と当日の連番です (`20261202-0007`)。本文は不要です (ブラウザのセッションでは CSRF トークンをヘッダーで送ります)。端末のトークンでは開けません (403)。',
          responses: {
            '201': visitResponse('開いた来庁記録'),
            ...errors({ 401: UNAUTHENTICATED, 403: [...FORBIDDEN, NO_CLIENT_VISITS, CSRF] }),
          },
        }),
      },
      '/api/v1/visits/{id}': {
        get: op({
          tag: '来庁',
          operationId: 'getVisit',
          permission: 'visit.handle',
          summary: '来庁記録を取得する',
          description: '来庁記録を、本人確認の内容と対象者 (住民記録から選んだ人の宛名番号、または手入力の人) とともに返します。',
          parameters: [visitIdParam],
          responses: {
            '200': visitResponse('来庁記録'),
            ...errors({ 400: [BAD_VISIT_ID], 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: [VISIT_NOT_FOUND] }),
          },
        }),
      },
      '/api/v1/agent/claim': {
        post: op({
          tag: 'RPA',
          operationId: 'claimJob',
          permission: 'rpa.agent',
          write: true,
          summary: '次のジョブを借りる (RPA 端末)',
          description:
            '審査済で順番の来た次のジョブを 1 件、貸出期限つきで渡します (SQLite は 1 回の UPDATE … RETURNING、SQL Server は UPDLOCK・READPAST で、2 台に同じジョブは渡りません)。ジョブがなければ 204。期限切れの貸出は先に待ちへ戻します。端末の Bearer トークンで呼びます。',
          responses: {
            '200': {
              description: 'ジョブ (id, idempotencyKey, scenario, payload, attempt, leaseExpiresAt)',
              content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } },
            },
            '204': { description: '渡せるジョブはありません' },
            ...errors({ 401: UNAUTHENTICATED, 403: [...FORBIDDEN, 'RPA 端末のトークンで呼んでください'] }),
          },
        }),
      },
      '/api/v1/agent/jobs/{id}/heartbeat': {
        post: op({
          tag: 'RPA',
          operationId: 'jobHeartbeat',
          permission: 'rpa.agent',
          write: true,
          summary: '貸出期限を延ばす',
          description: '入力中のジョブの貸出期限を延ばします。期限が切れて別の端末に渡ったジョブは 409。',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
          responses: {
            '200': { description: '新しい期限 (leaseExpiresAt)' },
            ...errors({
              400: ['ジョブ番号が正しくありません'],
              401: UNAUTHENTICATED,
              403: [...FORBIDDEN, 'RPA 端末のトークンで呼んでください'],
              404: ['指定されたジョブはありません'],
              409: ['このジョブの貸出はもう有効ではありません (期限切れで別の端末に渡った可能性があります)'],
            }),
          },
        }),
      },
      '/api/v1/agent/jobs/{id}/success': {
        post: op({
          tag: 'RPA',
          operationId: 'jobSuccess',
          permission: 'rpa.agent',
          write: true,
          summary: '入力できたことを報告する',
          description:
            '基幹系システムの処理番号 (coreRef) を付けて完了を報告します。届出は「入力済」になり、同じ世帯の次のジョブが動き出します。',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
          requestBody: formAndJson(
            { type: 'object', required: ['coreRef'], properties: { coreRef: { type: 'string' } } },
            { coreRef: 'R08-000123' },
          ),
          responses: {
            '200': { description: '完了' },
            ...errors({
              400: ['ジョブ番号が正しくありません'],
              401: UNAUTHENTICATED,
              403: [...FORBIDDEN, 'RPA 端末のトークンで呼んでください'],
              404: ['指定されたジョブはありません'],
              409: ['このジョブの貸出はもう有効ではありません (期限切れで別の端末に渡った可能性があります)'],
            }),
          },
        }),
      },
      '/api/v1/agent/jobs/{id}/failure': {
        post: op({
          tag: 'RPA',
          operationId: 'jobFailure',
          permission: 'rpa.agent',
          write: true,
          summary: '失敗を報告する',
          description:
            'kind が application (画面が遅い・クリックが効かないなど) なら回数の上限まで間隔を倍にしながら再実行し、business (基幹系がデータを受け付けない) なら職員の対応待ち (needsAttention) にします。',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
          requestBody: formAndJson(
            {
              type: 'object',
              required: ['kind'],
              properties: { kind: { type: 'string', enum: ['business', 'application'] }, message: { type: 'string' } },
            },
            { kind: 'application', message: 'HTTP 500' },
          ),
          responses: {
            '200': { description: '次の状態 (queued または needsAttention)' },
            ...errors({
              400: ['ジョブ番号が正しくありません'],
              401: UNAUTHENTICATED,
              403: [...FORBIDDEN, 'RPA 端末のトークンで呼んでください'],
              404: ['指定されたジョブはありません'],
              409: ['このジョブの貸出はもう有効ではありません (期限切れで別の端末に渡った可能性があります)'],
            }),
          },
        }),
      },
      '/api/v1/agent/jobs/{id}/release': {
        post: op({
          tag: 'RPA',
          operationId: 'jobRelease',
          permission: 'rpa.agent',
          write: true,
          summary: '貸出を返す (実行しない)',
          description: '端末が停止を求められたとき、登録の前であればジョブを待ちに戻します。試行回数は増えません。',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }],
          responses: {
            '200': { description: '待ちに戻した' },
            ...errors({
              400: ['ジョブ番号が正しくありません'],
              401: UNAUTHENTICATED,
              403: [...FORBIDDEN, 'RPA 端末のトークンで呼んでください'],
              404: ['指定されたジョブはありません'],
              409: ['このジョブの貸出はもう有効ではありません (期限切れで別の端末に渡った可能性があります)'],
            }),
          },
        }),
      },
      '/api/v1/agent/jobs/{id}/evidence': {
        post: op({
          tag: 'RPA',
          operationId: 'jobEvidence',
          permission: 'rpa.agent',
          write: true,
          summary: '証跡 (画面写真・トレース) を送る',
          description:
            '本文にファイルそのもの (画面写真は PNG、トレースは Playwright の zip、20 MB まで) を送ります。貸出中の端末だけが送れます。ジョブとともにデータフォルダーの evidence/ に保存し、保存期間 (rpa.evidenceRetentionDays) を過ぎると削除します。',
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } },
            { name: 'kind', in: 'query', required: true, schema: { type: 'string', enum: ['screenshot', 'trace'] } },
          ],
          requestBody: {
            required: true,
            content: {
              'image/png': { schema: { type: 'string', format: 'binary' } },
              'application/zip': { schema: { type: 'string', format: 'binary' } },
            },
          },
          responses: {
            '201': { description: '保存した証跡の番号・試行・大きさ' },
            ...errors({
              400: ['kind は screenshot か trace です', '画面写真は PNG で送ってください'],
              401: UNAUTHENTICATED,
              403: [...FORBIDDEN, 'RPA 端末のトークンで呼んでください'],
              404: ['指定されたジョブはありません'],
              409: ['このジョブの貸出はもう有効ではありません (期限切れで別の端末に渡った可能性があります)'],
              413: ['ファイルが大きすぎます (上限 20 MB)'],
            }),
          },
        }),
      },
      '/api/v1/agent/scenarios': {
        get: op({
          tag: 'RPA',
          operationId: 'agentScenarios',
          permission: 'rpa.agent',
          summary: 'シナリオファイルを取得する',
          description:
            'サーバーの config/scenarios/<rpa.coreSystem>/ にある YAML をそのまま (名前・本文・SHA-256) 返します。端末は各ジョブの前に If-None-Match 付きで問い合わせ、職員が直したシナリオが次のジョブから使われます。',
          parameters: [{ name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string' } }],
          responses: {
            '200': { description: '{ coreSystem, files: [{ name, text, sha256 }] } と ETag' },
            '304': { description: '前回の ETag から変わっていない' },
            ...errors({
              401: UNAUTHENTICATED,
              403: [...FORBIDDEN, 'RPA 端末のトークンで呼んでください'],
              404: ['シナリオのフォルダーがありません'],
            }),
          },
        }),
      },
      '/api/v1/visits/{id}/notices': {
        get: op({
          tag: '来庁',
          operationId: 'listVisitNotices',
          permission: 'notice.accept',
          summary: '来庁の届出を一覧する',
          description:
            '来庁で作成した届出 (転入・転出・転居・世帯の変更・出生・死亡など。世帯ごとに 1 件) を、状態 (draft 下書き・accepted 受付済・reviewed 審査済・entered 入力済・cancelled 取消) と対象者とともに返します。',
          parameters: [visitIdParam],
          responses: {
            '200': {
              description: '届出の一覧',
              content: {
                'application/json': {
                  schema: { type: 'object', properties: { notices: arrayOf({ type: 'object', additionalProperties: true }) } },
                },
              },
            },
            ...errors({ 400: ['番号が正しくありません'], 401: UNAUTHENTICATED, 403: FORBIDDEN }),
          },
        }),
      },
      '/api/v1/visits/{id}/procedures': {
        get: op({
          tag: '来庁',
          operationId: 'listVisitProcedures',
          permission: 'notice.accept',
          summary: '関連する手続きと質問を取得する',
          description:
            '受け付けた届出から導いた関連手続き (E-20) を、担当課・窓口、この窓口で扱うか (`here`)、理由、期限、状態 (pending 未処理・printed 申請書印刷済・accepted 受付済・referred 他課案内済) とともに返します。あわせて、答えると一覧が変わる質問と、保存済みの回答を返します。',
          parameters: [visitIdParam],
          responses: {
            '200': {
              description: '関連する手続き・質問・回答',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: {
                      procedures: arrayOf({ type: 'object', additionalProperties: true }),
                      questions: arrayOf({ type: 'object', additionalProperties: true }),
                      answers: { type: 'object', additionalProperties: true },
                    },
                  },
                },
              },
            },
            ...errors({ 400: ['番号が正しくありません'], 401: UNAUTHENTICATED, 403: FORBIDDEN }),
          },
        }),
      },
      '/api/v1/visits/{id}/visitor': {
        post: op({
          tag: '来庁',
          operationId: 'saveVisitor',
          permission: 'visit.handle',
          write: true,
          summary: '来庁者と本人確認を保存する',
          description: [
            '来庁者の区分 (本人・代理人・同一世帯の者)、本人確認書類、書類や申告どおりの来庁者の情報を保存し、更新後の来庁記録を返します。保存するたびに全項目を置き換えます (送らなかった項目は空になります)。本人確認書類を送ると `identityCheckedAt` に確認日時が入ります。',
            '書類と住民記録が違うときは、書類どおりの値を送ってください (住民記録は変わりません)。カード読取装置の値もここに入ります。',
            `${VISITOR_DOCUMENT_NOTE}。来庁者の区分: ${labelList(visitorRoles)}。`,
            '完了した来庁記録は変更できません (409)。端末のトークンでは変更できません (403)。',
          ].join('\n\n'),
          parameters: [visitIdParam],
          requestBody: formAndJson(ref('VisitorInput'), {
            visitorRole: 'proxy',
            identityDocument: 'driversLicence',
            identityDocumentNote: '',
            visitorName: '山田 花子',
            visitorKana: 'ヤマダ ハナコ',
            visitorBirthDate: 'S52.10.3',
            visitorSex: '2',
            visitorAddress: '緑ケ丘2丁目3番地4',
            visitorPhone: '096-000-0000',
            proxyRelationship: '妻',
            proxyPowerOfAttorney: '1',
            proxyDocument: '委任状',
          }),
          responses: {
            '200': visitResponse('更新後の来庁記録'),
            ...errors({
              400: [
                BAD_VISIT_ID,
                '来庁者の区分が正しくありません',
                '本人確認書類の種類が正しくありません',
                '性別が正しくありません',
                '宛名番号は数字で指定してください',
                '代理人の場合は本人との関係を入力してください',
                '来庁者の生年月日は日まで入力してください',
              ],
              401: UNAUTHENTICATED,
              403: [...FORBIDDEN, NO_CLIENT_VISITS, CSRF],
              404: [VISIT_NOT_FOUND],
              409: [VISIT_CLOSED],
            }),
          },
        }),
      },
      '/api/v1/visits/{id}/subjects': {
        post: op({
          tag: '来庁',
          operationId: 'addVisitSubject',
          permission: 'visit.handle',
          write: true,
          summary: '来庁の対象者を追加する',
          description:
            '来庁の用件の対象者を追加し、更新後の来庁記録を返します。住民記録の人は `addresseeNo` (宛名番号) で、住民記録にない人は `manualName` ほかの手入力で指定します (`addresseeNo` があれば手入力の項目は使いません)。同じ宛名番号を 2 回追加しても 1 人です。完了した来庁記録には追加できません (409)。',
          parameters: [visitIdParam],
          requestBody: formAndJson(ref('SubjectInput'), { addresseeNo: '100000123' }),
          responses: {
            '200': visitResponse('更新後の来庁記録'),
            ...errors({
              400: [
                BAD_VISIT_ID,
                '指定された宛名番号の住民はいません',
                '宛名番号は数字で指定してください',
                '手入力する人の氏名を入力してください',
                '生年月日は日まで入力してください',
              ],
              401: UNAUTHENTICATED,
              403: [...FORBIDDEN, NO_CLIENT_VISITS, CSRF],
              404: [VISIT_NOT_FOUND],
              409: [VISIT_CLOSED],
            }),
          },
        }),
      },
      '/api/v1/visits/{id}/status': {
        post: op({
          tag: '来庁',
          operationId: 'changeVisitStatus',
          permission: 'visit.handle',
          write: true,
          summary: '来庁記録を保留・再開・完了する',
          description:
            '`pause` 保留 (来庁者が他の課へ)、`resume` この窓口で再開 (来庁記録の窓口がこの窓口に移ります)、`close` 完了。保留は対応中から、再開は保留中・対応中から、完了は対応中・保留中からだけできます (それ以外は 409)。更新後の来庁記録を返します。',
          parameters: [visitIdParam],
          requestBody: formAndJson(ref('StatusChange'), { change: 'pause' }),
          responses: {
            '200': visitResponse('更新後の来庁記録'),
            ...errors({
              400: ['change は pause・resume・close のいずれかです', BAD_VISIT_ID],
              401: UNAUTHENTICATED,
              403: [...FORBIDDEN, NO_CLIENT_VISITS, CSRF],
              404: [VISIT_NOT_FOUND],
              409: ['この来庁記録は「完了」のため、その操作はできません'],
            }),
          },
        }),
      },
      '/api/v1/addresses/towns': {
        get: op({
          tag: '住所入力補助',
          operationId: 'listTowns',
          permission: 'visit.handle',
          summary: '町字の候補 (前方一致)',
          description:
            '住所マスタ (住所関連マスタ) から、名前 (`緑`、`緑ケ丘`) または読み (`みどり`、`ミドリ`) の先頭が一致する町字を 20 件まで返します。',
          parameters: [
            {
              name: 'q',
              in: 'query',
              required: true,
              description: '町字の名前または読みの最初の文字',
              schema: { type: 'string', minLength: 1 },
              example: 'みどり',
            },
          ],
          responses: {
            '200': {
              description: '町字の候補',
              content: json({ type: 'object', required: ['towns'], properties: { towns: arrayOf(ref('TownChoice')) } }),
            },
            ...errors({ 400: ['q (町字の最初の文字) を指定してください'], 401: UNAUTHENTICATED, 403: FORBIDDEN }),
          },
        }),
      },
      '/api/v1/addresses/blocks': {
        get: op({
          tag: '住所入力補助',
          operationId: 'listBlocks',
          permission: 'visit.handle',
          summary: '番地の候補 (町字ごと)',
          description: '1 つの町字の番地 (と方書) を、入力した先頭が一致するものから 30 件まで返します。',
          parameters: [
            {
              name: 'town',
              in: 'query',
              required: true,
              description: '町字コード (TownChoice.townCode)',
              schema: { type: 'string', pattern: '^[0-9]{1,7}$' },
              example: '0012',
            },
            { name: 'q', in: 'query', description: '番地の先頭 (省略するとすべて)', schema: { type: 'string' }, example: '2-' },
          ],
          responses: {
            '200': {
              description: '番地の候補',
              content: json({ type: 'object', required: ['blocks'], properties: { blocks: arrayOf(ref('AddressChoice')) } }),
            },
            ...errors({ 400: ['town (町字コード) を数字で指定してください'], 401: UNAUTHENTICATED, 403: FORBIDDEN }),
          },
        }),
      },
      '/api/v1/addresses/match': {
        get: op({
          tag: '住所入力補助',
          operationId: 'matchAddress',
          permission: 'visit.handle',
          summary: '自由入力の住所を住所マスタと照合する',
          description:
            '表記の揺れを正規化して住所マスタと照合します (「緑ヶ丘二丁目3番地の4」=「緑ケ丘２－３－４」)。都道府県・郡・市区町村名は書いても省いてもかまいません。完全に一致するものがなければ前方一致の候補を返します (10 件まで)。',
          parameters: [
            {
              name: 'text',
              in: 'query',
              required: true,
              description: '住所 (自由入力)',
              schema: { type: 'string', minLength: 1 },
              example: '緑ヶ丘二丁目3番地の4',
            },
          ],
          responses: {
            '200': {
              description: '一致した住所 (なければ空の配列)',
              content: json({ type: 'object', required: ['matches'], properties: { matches: arrayOf(ref('AddressChoice')) } }),
            },
            ...errors({ 400: ['text (住所) を指定してください'], 401: UNAUTHENTICATED, 403: FORBIDDEN }),
          },
        }),
      },
      '/api/v1/postal-codes/{code}': {
        get: op({
          tag: '住所入力補助',
          operationId: 'lookupPostalCode',
          permission: 'visit.handle',
          summary: '郵便番号から町域を引く (オフライン)',
          description:
            '日本郵便の郵便番号データ (KEN_ALL、サーバーに同梱) から、郵便番号の町域を返します。1 つの郵便番号に複数の町域があるのは普通です。データにない番号は空の配列です。全角数字・〒・いろいろなハイフンも受け付けます。',
          parameters: [
            {
              name: 'code',
              in: 'path',
              required: true,
              description: '郵便番号 7 桁 (ハイフンは任意)',
              schema: { type: 'string', pattern: '^〒?\\s*[0-9０-９]{3}\\s*[-‐‑‒–—―−ー－]?\\s*[0-9０-９]{4}$' },
              example: '860-0001',
            },
          ],
          responses: {
            '200': {
              description: '郵便番号 (ハイフンなし 7 桁) と町域',
              content: json(
                {
                  type: 'object',
                  required: ['postalCode', 'areas'],
                  properties: { postalCode: { type: 'string', pattern: '^[0-9]{7}$' }, areas: arrayOf(ref('PostalArea')) },
                },
                { postalCode: '8600001', areas: [{ postalCode: '8600001', prefecture: '熊本県', city: '熊本市中央区', town: '千葉城町' }] },
              ),
            },
            ...errors({ 400: ['郵便番号は 7 桁の数字で指定してください (例: 860-0001)'], 401: UNAUTHENTICATED, 403: FORBIDDEN }),
          },
        }),
      },
      '/api/v1/linkage/status': {
        get: op({
          tag: '前方連携',
          operationId: 'getLinkageStatus',
          permission: 'linkage.read',
          summary: '前方連携の状況',
          description:
            '連携仕様ごとの状態 (最終取込と最後の処理)、取込中のファイルの進み具合、到着期限を過ぎても届いていないファイルの警告を返します。この照会は何も記録しません。',
          responses: {
            '200': { description: '前方連携の状況', content: json(ref('LinkageStatus')) },
            ...errors({ 401: UNAUTHENTICATED, 403: FORBIDDEN }),
          },
        }),
      },
      '/api/v1/linkage/runs': {
        get: op({
          tag: '前方連携',
          operationId: 'listLinkageRuns',
          permission: 'linkage.read',
          summary: '取込の履歴 (新しい順)',
          description: 'ファイルの取込の記録を新しい順に返します。',
          parameters: [
            { name: 'limit', in: 'query', description: '件数', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
            { name: 'spec', in: 'query', description: '連携仕様 ID で絞り込みます', schema: { type: 'string' }, example: '001o005' },
          ],
          responses: {
            '200': {
              description: '取込の記録',
              content: json({ type: 'object', required: ['runs'], properties: { runs: arrayOf(ref('RunRecord')) } }),
            },
            ...errors({ 400: ['limit は 1〜200 の整数で指定してください'], 401: UNAUTHENTICATED, 403: FORBIDDEN }),
          },
        }),
      },
      '/api/v1/linkage/runs/{id}': {
        get: op({
          tag: '前方連携',
          operationId: 'getLinkageRun',
          permission: 'linkage.read',
          summary: '取込 1 件と問題の一覧',
          description:
            '取込の記録と、その取込で見つかった問題 (不正な行・未対応の外字など、1,000 件まで) を返します。問題の値の個人情報は一部伏字です。',
          parameters: [
            {
              name: 'id',
              in: 'path',
              required: true,
              description: '取込番号 (RunRecord.id)',
              schema: { type: 'integer', minimum: 1 },
              example: 7,
            },
          ],
          responses: {
            '200': { description: '取込と問題の一覧', content: json(ref('RunWithIssues')) },
            ...errors({
              400: ['取込番号は正の整数で指定してください'],
              401: UNAUTHENTICATED,
              403: FORBIDDEN,
              404: ['指定された取込はありません'],
            }),
          },
        }),
      },
      '/api/v1/openapi.json': {
        get: op({
          tag: 'API 仕様',
          operationId: 'getOpenApiDocument',
          permission: 'authenticated',
          summary: 'この API の OpenAPI 3.1 文書',
          description: 'この文書そのものを返します。info.version はサーバーのバージョンです。',
          responses: {
            '200': { description: 'OpenAPI 3.1 文書', content: json({ type: 'object', required: ['openapi', 'info', 'paths'] }) },
            ...errors({ 401: UNAUTHENTICATED, 403: ['パスワードを変更してから操作してください'] }),
          },
        }),
      },
    },
    components: {
      securitySchemes: {
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
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          description: 'すべてのエラー応答の形',
          properties: {
            error: {
              type: 'object',
              required: ['status', 'message'],
              properties: {
                status: { type: 'integer', minimum: 400, maximum: 599, description: 'HTTP ステータス' },
                message: { type: 'string', description: '職員にそのまま見せられる日本語のメッセージ' },
              },
            },
          },
          example: { error: { status: 403, message: 'この操作を行う権限がありません' } },
        },
        Warning: {
          type: 'object',
          required: ['kind', 'label'],
          description: '窓口で最初に見せる警告。支援措置が先頭です',
          properties: {
            kind: {
              type: 'string',
              enum: ['supportMeasure', 'issuanceBan', 'arrears'],
              description: '`supportMeasure` 支援措置 (住所を伏せる)、`issuanceBan` 発行禁止、`arrears` 滞納あり',
            },
            label: { type: 'string', examples: ['支援措置', '仮支援措置', '発行禁止 (本人申出による交付制限)', '滞納あり'] },
          },
        },
        Entitlement: {
          type: 'object',
          required: ['kind', 'label', 'insuredNo', 'acquiredDate', 'lostDate'],
          description: '資格 (有効な役割の表示範囲のものだけ)',
          properties: {
            kind: { type: 'string', enum: [...entitlementKinds] },
            label: { type: 'string', examples: ['国民健康保険'] },
            insuredNo: nullable('string', { description: '記号番号' }),
            acquiredDate: nullable('string', { format: 'date', description: '取得日 (西暦 YYYY-MM-DD)' }),
            lostDate: nullable('string', { format: 'date', description: '喪失日 (西暦 YYYY-MM-DD)' }),
          },
        },
        PresentedResident: {
          type: 'object',
          description: '利用者の権限に合わせて表示できる形にした住民',
          required: [
            'addresseeNo',
            'householdNo',
            'name',
            'nameKana',
            'sex',
            'birthDate',
            'birthDateWareki',
            'status',
            'relationship',
            'address',
            'addressMasked',
            'warnings',
          ],
          properties: {
            addresseeNo: { type: 'string', pattern: '^[0-9]{1,15}$', description: '宛名番号' },
            householdNo: { type: 'string', description: '世帯番号 (住登外者・法人は空文字)' },
            name: { type: 'string', description: '氏名 (法人は名称)' },
            nameKana: nullable('string'),
            sex: { type: 'string', description: '性別の表示 (男・女・不明)', examples: ['男'] },
            birthDate: nullable('string', { format: 'date', description: '生年月日 (西暦)。不詳なら null' }),
            birthDateWareki: { type: 'string', description: '和暦の生年月日。不詳なら「不詳」', examples: ['昭和50年4月1日'] },
            status: { type: 'string', description: '住民の状態 (住登者・転出者・死亡者・その他消除者)' },
            relationship: nullable('string', { description: '続柄', examples: ['世帯主'] }),
            address: {
              type: 'string',
              description: `住所。支援措置の対象で権限 resident.viewProtectedAddress がなければ「${MASKED_ADDRESS}」`,
            },
            addressMasked: { type: 'boolean', description: '住所を伏せたとき true' },
            warnings: arrayOf(ref('Warning')),
          },
        },
        SearchResultItem: {
          description: '検索結果の 1 件',
          allOf: [
            ref('PresentedResident'),
            {
              type: 'object',
              required: ['kind', 'match', 'entitlements'],
              properties: {
                kind: { type: 'string', enum: ['resident', 'nonResident', 'corporation'] },
                match: {
                  type: 'string',
                  enum: ['exact', 'variant', 'kanaFold'],
                  description: '`exact` 完全一致、`variant` 異体字で一致、`kanaFold` カナの揺れで一致',
                },
                entitlements: arrayOf(
                  { type: 'string', enum: [...entitlementKinds] },
                  { description: '持っている資格の種類 (有効な役割の表示範囲だけ)' },
                ),
              },
            },
          ],
        },
        SearchResponse: {
          type: 'object',
          required: ['target', 'page', 'pageSize', 'total', 'totalCapped', 'elapsedMs', 'understood', 'results'],
          properties: {
            target: { type: 'string', enum: [...searchTargets] },
            page: { type: 'integer', minimum: 1 },
            pageSize: { type: 'integer', minimum: 1, maximum: 200 },
            total: { type: 'integer', minimum: 0, description: '該当件数 (200 件で数えるのをやめます)' },
            totalCapped: { type: 'boolean', description: 'true なら該当は total 件以上' },
            elapsedMs: { type: 'number', description: 'サーバーでの検索時間 (ミリ秒)' },
            understood: arrayOf({ type: 'string' }, { description: '入力をどう解釈したか', examples: [['生年月日 昭和50年4月1日']] }),
            results: arrayOf(ref('SearchResultItem')),
          },
        },
        HistoryEntry: {
          type: 'object',
          required: ['changeDate', 'changeDateWareki', 'reason', 'addressBefore', 'addressAfter'],
          properties: {
            changeDate: nullable('string', { format: 'date' }),
            changeDateWareki: { type: 'string' },
            reason: { type: 'string', description: '異動事由', examples: ['転入'] },
            addressBefore: nullable('string', { description: '支援措置で伏せたときは null' }),
            addressAfter: nullable('string', { description: '支援措置で伏せたときは null' }),
          },
        },
        PersonView: {
          type: 'object',
          required: ['person', 'household', 'entitlements', 'history', 'sameAddress', 'householdProtected'],
          properties: {
            person: {
              allOf: [
                ref('PresentedResident'),
                {
                  type: 'object',
                  required: ['nameRoman', 'alias'],
                  properties: {
                    nameRoman: nullable('string', { description: 'ローマ字氏名' }),
                    alias: nullable('string', { description: '通称' }),
                    myNumber: nullable('string', {
                      pattern: '^[0-9]{12}$',
                      description:
                        '個人番号。myNumber=1 と権限 resident.viewMyNumber のときだけあり、表示は監査ログに記録されます。未登録なら null',
                    }),
                  },
                },
              ],
            },
            household: arrayOf(
              {
                allOf: [
                  ref('PresentedResident'),
                  { type: 'object', required: ['entitlements'], properties: { entitlements: arrayOf(ref('Entitlement')) } },
                ],
              },
              { description: '世帯員 (本人を含む)' },
            ),
            entitlements: arrayOf(ref('Entitlement'), { description: '本人の資格' }),
            history: arrayOf(ref('HistoryEntry'), { description: '異動の履歴 (新しい順)' }),
            sameAddress: arrayOf(ref('PresentedResident'), { description: '同じ住所の他の世帯の人' }),
            householdProtected: { type: 'boolean', description: '世帯が支援措置の対象' },
          },
        },
        VisitSubject: {
          type: 'object',
          required: ['id', 'addresseeNo', 'manualName', 'manualKana', 'manualBirthDate', 'manualAddress', 'addedAt'],
          description: '来庁の対象者: 住民記録の人 (addresseeNo) か手入力の人 (manual…)',
          properties: {
            id: { type: 'integer' },
            addresseeNo: nullable('string', { pattern: '^[0-9]{1,15}$' }),
            manualName: nullable('string'),
            manualKana: nullable('string'),
            manualBirthDate: nullable('string', { format: 'date' }),
            manualAddress: nullable('string'),
            addedAt: { type: 'string', format: 'date-time' },
          },
        },
        Visit: {
          type: 'object',
          description: '来庁記録',
          required: [
            'id',
            'visitNo',
            'status',
            'channel',
            'counterId',
            'openedBy',
            'openedByName',
            'openedAt',
            'closedAt',
            'updatedAt',
            'identityCheckedAt',
            'subjects',
            'visitorRole',
            'identityDocument',
            'identityDocumentNote',
            'visitorAddresseeNo',
            'visitorName',
            'visitorKana',
            'visitorBirthDate',
            'visitorSex',
            'visitorAddress',
            'visitorPhone',
            'proxyRelationship',
            'proxyPowerOfAttorney',
            'proxyDocument',
          ],
          properties: {
            id: { type: 'integer', description: '内部番号 (API の {id})' },
            visitNo: {
              type: 'string',
              pattern: '^[0-9]{8}-[0-9]{4,}$',
              description: '来庁番号 (日付と当日の連番)',
              examples: ['20261202-0007'],
            },
            status: { type: 'string', enum: ['open', 'paused', 'closed'], description: '`open` 対応中、`paused` 保留中、`closed` 完了' },
            channel: {
              type: 'string',
              enum: ['counter', 'post', 'exOfficio'],
              description: '`counter` 窓口、`post` 郵送、`exOfficio` 職権',
            },
            counterId: nullable('string', { description: '対応中の窓口' }),
            openedBy: { type: 'integer', description: '受け付けた職員の番号' },
            openedByName: { type: 'string' },
            openedAt: { type: 'string', format: 'date-time' },
            closedAt: nullable('string', { format: 'date-time' }),
            updatedAt: { type: 'string', format: 'date-time' },
            identityCheckedAt: nullable('string', { format: 'date-time', description: '本人確認書類を確認した日時' }),
            visitorRole: { type: 'string', enum: Object.keys(visitorRoles), description: labelList(visitorRoles) },
            identityDocument: nullable('string', { enum: [...Object.keys(identityDocuments), null], description: VISITOR_DOCUMENT_NOTE }),
            identityDocumentNote: nullable('string'),
            visitorAddresseeNo: nullable('string'),
            visitorName: nullable('string'),
            visitorKana: nullable('string'),
            visitorBirthDate: nullable('string', { format: 'date' }),
            visitorSex: nullable('string', { enum: ['1', '2', null], description: '`1` 男、`2` 女' }),
            visitorAddress: nullable('string'),
            visitorPhone: nullable('string'),
            proxyRelationship: nullable('string'),
            proxyPowerOfAttorney: { type: 'boolean', description: '委任状あり' },
            proxyDocument: nullable('string'),
            subjects: arrayOf(ref('VisitSubject')),
          },
        },
        VisitorInput: {
          type: 'object',
          description: '来庁者と本人確認 (POST /api/v1/visits/{id}/visitor)。空の値は未入力です',
          properties: {
            visitorRole: {
              type: 'string',
              enum: Object.keys(visitorRoles),
              default: 'subject',
              description: `来庁者の区分: ${labelList(visitorRoles)}`,
            },
            identityDocument: {
              type: 'string',
              enum: ['', ...Object.keys(identityDocuments)],
              description: `${VISITOR_DOCUMENT_NOTE}。空なら未確認`,
            },
            identityDocumentNote: { type: 'string', description: '書類のメモ (その他の書類の名前など)' },
            visitorAddresseeNo: { type: 'string', pattern: '^([0-9]{1,15})?$', description: '来庁者が住民記録の人ならその宛名番号' },
            visitorName: { type: 'string' },
            visitorKana: { type: 'string' },
            visitorBirthDate: {
              type: 'string',
              description: '生年月日 (日まで)。`1975-04-01`、`S50.4.1`、`昭和50年4月1日` など',
              examples: ['1975-04-01', 'S50.4.1'],
            },
            visitorSex: { type: 'string', enum: ['', '1', '2'], description: '`1` 男、`2` 女' },
            visitorAddress: { type: 'string' },
            visitorPhone: { type: 'string' },
            proxyRelationship: { type: 'string', description: '本人との関係 (代理人のとき必須、それ以外は保存しません)' },
            proxyPowerOfAttorney: {
              type: ['string', 'boolean'],
              description: '委任状あり (フォームでは `1`、JSON では true も可。代理人のときだけ保存)',
            },
            proxyDocument: { type: 'string', description: '委任状・代理権の書類 (代理人のときだけ保存)' },
            _csrf: { type: 'string', description: 'CSRF トークン (ヘッダー x-csrf-token の代わりにフォームで送るとき)' },
          },
        },
        SubjectInput: {
          type: 'object',
          description: '来庁の対象者 (POST /api/v1/visits/{id}/subjects): addresseeNo か manualName のどちらか',
          properties: {
            addresseeNo: { type: 'string', pattern: '^[0-9]{1,15}$', description: '住民記録の人の宛名番号' },
            manualName: { type: 'string', description: '住民記録にない人の氏名 (addresseeNo がないとき必須)' },
            manualKana: { type: 'string' },
            manualBirthDate: { type: 'string', description: '生年月日 (日まで)。`1975-04-01`、`S50.4.1` など' },
            manualAddress: { type: 'string' },
            _csrf: { type: 'string', description: 'CSRF トークン (フォームで送るとき)' },
          },
        },
        StatusChange: {
          type: 'object',
          required: ['change'],
          properties: {
            change: {
              type: 'string',
              enum: ['pause', 'resume', 'close'],
              description: '`pause` 保留、`resume` この窓口で再開、`close` 完了',
            },
            _csrf: { type: 'string', description: 'CSRF トークン (フォームで送るとき)' },
          },
        },
        TownChoice: {
          type: 'object',
          required: ['townCode', 'townName', 'townKana', 'postalCode'],
          properties: {
            townCode: { type: 'string', description: '町字コード' },
            townName: { type: 'string', examples: ['緑ケ丘二丁目'] },
            townKana: nullable('string'),
            postalCode: nullable('string', { pattern: '^[0-9]{7}$' }),
          },
        },
        AddressChoice: {
          type: 'object',
          required: ['townCode', 'townName', 'blockNumber', 'addressSuffix', 'postalCode'],
          properties: {
            townCode: { type: 'string' },
            townName: { type: 'string' },
            blockNumber: { type: 'string', description: '番地', examples: ['3-4'] },
            addressSuffix: { type: 'string', description: '方書 (なければ空文字)' },
            postalCode: nullable('string', { pattern: '^[0-9]{7}$' }),
          },
        },
        PostalArea: {
          type: 'object',
          required: ['postalCode', 'prefecture', 'city', 'town'],
          properties: {
            postalCode: { type: 'string', pattern: '^[0-9]{7}$' },
            prefecture: { type: 'string' },
            city: { type: 'string' },
            town: { type: 'string', description: '町域名。市区町村全域 (「以下に掲載がない場合」「…一円」) なら空文字' },
          },
        },
        RunRecord: {
          type: 'object',
          description: 'ファイルの取込 1 回の記録',
          required: [
            'id',
            'specId',
            'edition',
            'fileName',
            'sha256',
            'kind',
            'encoding',
            'startedAt',
            'finishedAt',
            'durationMs',
            'rowsRead',
            'rowsApplied',
            'rowsRejected',
            'unmappedGaiji',
            'result',
            'message',
          ],
          properties: {
            id: { type: 'integer', description: '取込番号' },
            specId: { type: 'string', description: '連携仕様 ID' },
            edition: nullable('string', { description: '連携仕様の版' }),
            fileName: { type: 'string' },
            sha256: nullable('string', { pattern: '^[0-9a-f]{64}$' }),
            kind: { type: 'string', description: '`full` 全件、`diff` 差分' },
            encoding: nullable('string'),
            startedAt: nullable('string', { format: 'date-time' }),
            finishedAt: nullable('string', { format: 'date-time' }),
            durationMs: nullable('integer'),
            rowsRead: { type: 'integer' },
            rowsApplied: { type: 'integer' },
            rowsRejected: { type: 'integer' },
            unmappedGaiji: { type: 'integer', description: '未対応の外字の数' },
            result: {
              type: 'string',
              enum: ['running', 'applied', 'skipped', 'quarantined', 'failed'],
              description: '`running` 取込中、`applied` 取込済、`skipped` 処理なし (取込済と同一)、`quarantined` 隔離、`failed` 失敗',
            },
            message: nullable('string', { description: '理由・メモ' }),
          },
        },
        RunIssue: {
          type: 'object',
          required: ['line', 'column', 'value', 'reason'],
          properties: {
            line: { type: 'integer' },
            column: nullable('string'),
            value: nullable('string', { description: '問題の値 (個人情報は一部伏字)' }),
            reason: { type: 'string' },
          },
        },
        RunWithIssues: {
          type: 'object',
          required: ['run', 'issues'],
          properties: { run: ref('RunRecord'), issues: arrayOf(ref('RunIssue'), { maxItems: 1000 }) },
        },
        SpecStatus: {
          type: 'object',
          required: ['specId', 'title', 'edition', 'provisional', 'expectedBy', 'lastApplied', 'lastRun', 'state'],
          properties: {
            specId: { type: 'string' },
            title: { type: 'string' },
            edition: { type: 'string' },
            provisional: { type: 'boolean', description: '暫定の連携仕様' },
            expectedBy: nullable('string', { description: 'ファイルの到着期限 (時刻)', examples: ['06:00'] }),
            lastApplied: { oneOf: [ref('RunRecord'), { type: 'null' }], description: '最後に取り込んだ記録' },
            lastRun: { oneOf: [ref('RunRecord'), { type: 'null' }], description: '最後の処理' },
            state: {
              type: 'string',
              enum: ['ok', 'loading', 'missing', 'error', 'none'],
              description: '`ok` 正常、`loading` 取込中、`missing` 未着 (期限超過)、`error` エラー、`none` 未取込',
            },
          },
        },
        LoadProgress: {
          type: 'object',
          required: ['specId', 'file', 'rows', 'bytes', 'totalBytes', 'startedAt'],
          properties: {
            specId: { type: 'string' },
            file: { type: 'string' },
            rows: { type: 'integer' },
            bytes: { type: 'integer' },
            totalBytes: { type: 'integer' },
            startedAt: { type: 'string', format: 'date-time' },
          },
        },
        LinkageAlert: {
          type: 'object',
          required: ['specId', 'date', 'message'],
          properties: { specId: { type: 'string' }, date: { type: 'string', format: 'date' }, message: { type: 'string' } },
        },
        LinkageStatus: {
          type: 'object',
          required: ['specs', 'loads', 'alerts'],
          properties: {
            specs: arrayOf(ref('SpecStatus'), { description: '連携仕様ごとの状態' }),
            loads: arrayOf(ref('LoadProgress'), { description: '取込中のファイル' }),
            alerts: arrayOf(ref('LinkageAlert'), { description: '到着期限を過ぎても届いていないファイル' }),
          },
        },
      },
    },
  };
}
