import { Type as T } from '@sinclair/typebox';
import { Component, IsoDate, IsoDateTime, Nullable, Obj } from './common.js';

/** The forward-linkage read model as the JSON API returns it (linkage/status.ts). */

export const RunRecordSchema = Component(
  'RunRecord',
  {
    id: T.Integer({ description: '取込番号' }),
    specId: T.String({ description: '連携仕様 ID' }),
    edition: Nullable(T.String(), { description: '連携仕様の版' }),
    fileName: T.String(),
    sha256: Nullable(T.String({ pattern: '^[0-9a-f]{64}$' })),
    kind: T.String({ description: '`full` 全件、`diff` 差分' }),
    encoding: Nullable(T.String()),
    startedAt: Nullable(IsoDateTime()),
    finishedAt: Nullable(IsoDateTime()),
    durationMs: Nullable(T.Integer()),
    rowsRead: T.Integer(),
    rowsApplied: T.Integer(),
    rowsRejected: T.Integer(),
    unmappedGaiji: T.Integer({ description: '未対応の外字の数' }),
    result: T.Union(
      [T.Literal('running'), T.Literal('applied'), T.Literal('skipped'), T.Literal('quarantined'), T.Literal('failed'), T.Literal('held')],
      {
        description:
          '`running` 取込中、`applied` 取込済、`skipped` 処理なし (取込済と同一)、`quarantined` 隔離、`failed` 失敗、' +
          '`held` 保留 (件数が大きく減る全件ファイル。管理者の確認待ち)',
      },
    ),
    message: Nullable(T.String(), { description: '理由・メモ' }),
  },
  { description: 'ファイルの取込 1 回の記録' },
);

export const RunIssueSchema = Component('RunIssue', {
  line: T.Integer(),
  column: Nullable(T.String()),
  value: Nullable(T.String(), { description: '問題の値 (個人情報は一部伏字)' }),
  reason: T.String(),
});

export const RunWithIssuesSchema = Component('RunWithIssues', {
  run: RunRecordSchema,
  issues: T.Array(RunIssueSchema, { maxItems: 1000 }),
});

export const RunListSchema = Obj({ runs: T.Array(RunRecordSchema) });

export const SpecStatusSchema = Component('SpecStatus', {
  specId: T.String(),
  title: T.String(),
  edition: T.String(),
  provisional: T.Boolean({ description: '暫定の連携仕様' }),
  expectedBy: Nullable(T.String(), { description: 'ファイルの到着期限 (時刻)', examples: ['06:00'] }),
  lastApplied: Nullable(RunRecordSchema, { description: '最後に取り込んだ記録' }),
  lastRun: Nullable(RunRecordSchema, { description: '最後の処理' }),
  state: T.Union([T.Literal('ok'), T.Literal('loading'), T.Literal('missing'), T.Literal('held'), T.Literal('error'), T.Literal('none')], {
    description: '`ok` 正常、`loading` 取込中、`missing` 未着 (期限超過)、`held` 全件ファイルを保留中、`error` エラー、`none` 未取込',
  }),
});

export const LoadProgressSchema = Component('LoadProgress', {
  specId: T.String(),
  file: T.String(),
  rows: T.Integer(),
  bytes: T.Integer(),
  totalBytes: T.Integer(),
  startedAt: IsoDateTime(),
});

export const HeldFileSchema = Component(
  'HeldFile',
  {
    id: T.Integer({ description: '保留の番号' }),
    runId: T.Integer({ description: '保留した取込の番号' }),
    specId: T.String({ description: '連携仕様 ID' }),
    fileName: T.String(),
    heldAt: IsoDateTime({ description: '保留した日時' }),
    rowsBefore: T.Integer({ minimum: 0, description: '現在の件数 (保留中はこの件数のまま)' }),
    rowsInFile: T.Integer({ minimum: 0, description: 'ファイルの件数' }),
    dropPercent: T.Number({ minimum: 0, maximum: 100, description: '反映すると減る割合 (%、小数 1 桁)' }),
  },
  {
    description: '件数が大きく減るため反映を保留している全件ファイル。管理者が理由を付けて確認するか、次の全件ファイルが届くまで保留します',
  },
);

export const LinkageStatusSchema = Component('LinkageStatus', {
  specs: T.Array(SpecStatusSchema, { description: '連携仕様ごとの状態' }),
  loads: T.Array(LoadProgressSchema, { description: '取込中のファイル' }),
  alerts: T.Array(Obj({ specId: T.String(), date: IsoDate(), message: T.String() }), {
    description: '到着期限を過ぎても届いていないファイル',
  }),
  holds: T.Array(HeldFileSchema, { description: '保留中の全件ファイル (古い順)' }),
});

export const ConfirmHoldBody = T.Object({
  reason: T.String({ maxLength: 500, title: '理由', description: 'この全件ファイルを反映してよい理由 (必須、500 文字まで)' }),
});

export const HoldConfirmedSchema = Component(
  'HoldConfirmed',
  {
    holdId: T.Integer({ description: '保留の番号' }),
    specId: T.String(),
    runId: T.Integer({ description: '反映した取込の番号' }),
    outcome: T.Union([T.Literal('applied'), T.Literal('skipped'), T.Literal('quarantined'), T.Literal('failed'), T.Literal('held')], {
      description: '取込の結果 (`applied` 取込済、`skipped` 処理なし、`quarantined` 隔離、`failed` 失敗)',
    }),
    rowsBefore: T.Integer({ minimum: 0 }),
    rowsInFile: T.Integer({ minimum: 0 }),
    rowsApplied: T.Integer({ minimum: 0 }),
    message: T.String({ description: '結果の説明' }),
  },
  { description: '保留していた全件ファイルを反映した結果' },
);
