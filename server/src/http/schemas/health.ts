import { Type as T } from '@sinclair/typebox';
import { Component, IsoDateTime, Nullable, Obj } from './common.js';

const OkWarn = T.Union([T.Literal('ok'), T.Literal('warn')]);
const lit = <V extends string>(...values: V[]) => T.Union(values.map((v) => T.Literal(v)));

/** /healthz: nothing personal (no file names, paths or names). */
export const SystemHealthSchema = Component(
  'SystemHealth',
  {
    status: lit('ok', 'error'),
    version: T.String(),
    residents: Nullable(T.Integer({ minimum: 0 }), { description: '住民記録の人数 (住登者)' }),
    database: lit('ok', 'error'),
    warnings: T.Array(lit('linkage', 'backup', 'rpa', 'ups', 'protection', 'standby'), {
      description: '確認が必要な部分 (status を error にはしません)',
    }),
    messages: T.Array(T.String(), {
      description: '確認が必要なことの説明 (1 件 1 行): 保留中の全件ファイル、未確認の支援措置の終了、異動履歴と合わない RPA の入力',
      examples: [['連携 001o005: 全件ファイルを保留中 (現在 2,026 件 → 0 件)', '支援措置の終了 1 件が未確認です']],
    }),
    linkage: Obj({
      status: OkWarn,
      holds: T.Array(
        Obj({
          specId: T.String(),
          rowsBefore: T.Integer({ minimum: 0, description: '現在の件数' }),
          rowsInFile: T.Integer({ minimum: 0, description: 'ファイルの件数' }),
        }),
        { description: '件数が大きく減るため保留中の全件ファイル (あれば status は warn)' },
      ),
      freshness: lit('ok', 'stale', 'none', 'unknown'),
      lastAt: Nullable(IsoDateTime()),
      maxAgeHours: T.Number(),
    }),
    backup: Nullable(
      Obj({
        status: OkWarn,
        freshness: lit('ok', 'stale', 'failed', 'none'),
        lastAt: Nullable(IsoDateTime()),
        lastVerified: Nullable(T.Boolean()),
        count: T.Integer({ minimum: 0 }),
      }),
    ),
    protection: Obj({
      status: T.Union([T.Literal('ok'), T.Literal('warn')], {
        description: '連携ファイルで終了し、支援措置担当がまだ確認していない支援措置があれば warn (公開の応答なので件数は出さない)',
      }),
    }),
    rpa: Obj({
      status: OkWarn,
      agentsSeen: T.Integer({ minimum: 0 }),
      agentsKnown: T.Integer({ minimum: 0 }),
      queued: T.Integer({ minimum: 0 }),
      needsAttention: T.Integer({ minimum: 0 }),
      reconciliation: Obj(
        {
          enteredTwice: T.Integer({ minimum: 0, description: '異動履歴に 2 行以上ある (二重入力)' }),
          notSeen: T.Integer({ minimum: 0, description: '完了したのに異動履歴に現れない' }),
          unreported: T.Integer({ minimum: 0, description: '要対応・取消なのに異動履歴にある (入力済・未報告)' }),
        },
        { description: 'RPA の入力と基幹系の異動履歴 (001o009) の照合で要確認のジョブの数' },
      ),
    }),
    ups: Obj({
      status: OkWarn,
      power: lit('online', 'onBattery', 'lowBattery', 'shutdown', 'unknown'),
      event: Nullable(T.String()),
      changedAt: Nullable(IsoDateTime()),
      live: Nullable(
        T.Union([
          Obj({
            reachable: T.Literal(true),
            status: T.String(),
            label: T.String(),
            onBattery: T.Boolean(),
            lowBattery: T.Boolean(),
            charge: Nullable(T.Number()),
            runtimeSeconds: Nullable(T.Number()),
            load: Nullable(T.Number()),
          }),
          Obj({ reachable: T.Literal(false), code: T.String(), reason: T.String() }),
        ]),
      ),
    }),
    standby: T.Optional(
      Obj(
        {
          status: OkWarn,
          role: T.Literal('primary'),
          epoch: T.Integer({ minimum: 0 }),
          lagSeconds: Nullable(T.Number({ description: '今 − 待機系が受領した最新の複製の取得時刻 (秒)' })),
          lastOkAt: Nullable(IsoDateTime()),
        },
        { description: '待機系と対にしているときだけ: 待機系への送信 (遅れていれば warn。status は error にしない)' },
      ),
    ),
  },
  { description: '稼働状況。データベースに接続できないときだけ 503 (status: error)' },
);
