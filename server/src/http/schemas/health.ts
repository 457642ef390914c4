import { Type as T } from '@sinclair/typebox';
import { Component, IsoDateTime, Nullable, Obj } from './common.js';

const OkWarn = T.Union([T.Literal('ok'), T.Literal('warn')]);
const lit = <V extends string>(...values: V[]) => T.Union(values.map((v) => T.Literal(v)));
const DiskStateSchema = T.Union(
  ['ok', 'rebuilding', 'degraded', 'failed', 'unknown'].map((v) => T.Literal(v)),
  {
    description: 'ok 正常・rebuilding 再構築中・degraded 縮退・failed 故障・unknown 確認できない',
  },
);

/** /healthz: nothing personal (no file names, paths or names). */
export const SystemHealthSchema = Component(
  'SystemHealth',
  {
    status: lit('ok', 'error'),
    version: T.String(),
    residents: Nullable(T.Integer({ minimum: 0 }), { description: '住民記録の人数 (住登者)' }),
    database: lit('ok', 'error'),
    warnings: T.Array(lit('linkage', 'backup', 'rpa', 'ups', 'protection', 'disks', 'standby'), {
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
    cluster: Obj(
      {
        node: Nullable(T.String({ description: 'このサーバーの名前 (cluster.nodeId)' })),
        nodes: T.Array(T.String(), { description: '動いているサーバー' }),
        leases: T.Array(
          Obj({
            name: T.String({ description: '担当する処理 (linkage: 連携ファイルの取込、schedules: 夜間の定期処理)' }),
            holder: Nullable(
              T.String({ description: '担当しているサーバー (null: 期限切れ・解放済みで、次に引き継ぐサーバーを待っています)' }),
            ),
            token: T.Integer({ minimum: 1, description: '担当が移るたびに 1 増える番号' }),
            expiresAt: Nullable(IsoDateTime()),
          }),
        ),
      },
      { description: '複数のアプリケーションサーバーの担当 (1 台構成でも表示します)' },
    ),
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
    disks: Obj(
      {
        status: OkWarn,
        state: DiskStateSchema,
        checkedAt: Nullable(IsoDateTime(), { description: '最後に確認した日時 (起動直後の最初の確認の前は null)' }),
        sources: T.Array(Obj({ kind: lit('mdstat', 'smart', 'controller'), state: DiskStateSchema }), {
          description: '設定された確認元 (設定していないものは含まない)。コマンドが失敗した・出力を読めないときは unknown',
        }),
        arrays: T.Array(
          Obj({
            source: lit('mdstat', 'controller'),
            name: T.String({ examples: ['md0', 'c0/v0'] }),
            level: Nullable(T.String()),
            state: DiskStateSchema,
            expected: Nullable(T.Integer({ minimum: 0 })),
            working: Nullable(T.Integer({ minimum: 0 })),
            progress: Nullable(Obj({ action: T.String(), percent: Nullable(T.Number()) })),
            members: T.Array(Obj({ name: T.String(), state: lit('ok', 'failed', 'rebuilding', 'spare', 'unknown') })),
          }),
        ),
        devices: T.Array(
          Obj({
            source: lit('smart', 'controller'),
            name: T.String({ examples: ['/dev/sda', 'c0 252:1'] }),
            kind: T.String(),
            state: DiskStateSchema,
            reallocatedSectors: Nullable(T.Integer({ minimum: 0 })),
            pendingSectors: Nullable(T.Integer({ minimum: 0 })),
            uncorrectableSectors: Nullable(T.Integer({ minimum: 0 })),
            criticalWarning: Nullable(T.Integer({ minimum: 0 })),
            temperature: Nullable(T.Number()),
          }),
        ),
      },
      { description: 'RAID (/proc/mdstat・RAID コントローラー) と SMART。ok 以外は warnings に disks が入る (503 にはしない)' },
    ),
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
