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
    result: T.Union([T.Literal('running'), T.Literal('applied'), T.Literal('skipped'), T.Literal('quarantined'), T.Literal('failed')], {
      description: '`running` 取込中、`applied` 取込済、`skipped` 処理なし (取込済と同一)、`quarantined` 隔離、`failed` 失敗',
    }),
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
  state: T.Union([T.Literal('ok'), T.Literal('loading'), T.Literal('missing'), T.Literal('error'), T.Literal('none')], {
    description: '`ok` 正常、`loading` 取込中、`missing` 未着 (期限超過)、`error` エラー、`none` 未取込',
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

export const LinkageStatusSchema = Component('LinkageStatus', {
  specs: T.Array(SpecStatusSchema, { description: '連携仕様ごとの状態' }),
  loads: T.Array(LoadProgressSchema, { description: '取込中のファイル' }),
  alerts: T.Array(Obj({ specId: T.String(), date: IsoDate(), message: T.String() }), {
    description: '到着期限を過ぎても届いていないファイル',
  }),
});
