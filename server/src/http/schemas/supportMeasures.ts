import { Type as T } from '@sinclair/typebox';
import { AddresseeNo, Component, IsoDateTime, Nullable, Obj } from './common.js';

/** 支援措置 ended by a linkage file, for 支援措置担当 (routes/supportMeasures.ts). */

/** A date as the register holds it (`YYYY-MM-DD`, as the linkage file gave it). */
const RegisterDay = T.String({ maxLength: 10 });

export const ProtectionEndingSchema = Component(
  'ProtectionEnding',
  {
    id: T.Integer({ description: '終了の記録の番号' }),
    addresseeNo: AddresseeNo({ description: '宛名番号' }),
    name: Nullable(T.String({ 'x-personal': 'name' }), { description: '氏名 (住民記録にないときは null)。住所は返しません' }),
    measureCode: Nullable(T.String(), { description: '支援措置の種別コード' }),
    measureKind: T.String({ description: '支援措置の種別', examples: ['支援措置', '仮支援措置'] }),
    startDate: Nullable(RegisterDay, { description: '支援措置の開始日 (西暦)' }),
    startDateWareki: T.String({ description: '開始日 (和暦)。不明なら空文字' }),
    endDate: Nullable(RegisterDay, { description: '連携ファイルの終了日 (西暦)。null は行が削除されたこと' }),
    endDateWareki: T.String({ description: '終了日 (和暦)。行が削除されたときは「行が削除された」' }),
    removed: T.Boolean({ description: '終了日ではなく、行の削除で終わったとき true' }),
    runId: T.Integer({ description: '終了させた取込の番号 (/linkage/runs/{runId})' }),
    specId: T.String({ description: '連携仕様 ID' }),
    fileName: T.String({ description: '連携ファイル名' }),
    detectedAt: IsoDateTime({ description: '終了を検出した日時' }),
    acknowledgedAt: Nullable(IsoDateTime(), { description: '確認済みにした日時 (未確認は null)' }),
    acknowledgedBy: Nullable(T.String(), { description: '確認済みにした職員' }),
  },
  { description: '連携ファイルの取込で終了した支援措置 (確認済みにするまで一覧に残ります)' },
);

export const ProtectionEndingListSchema = Obj({
  unacknowledged: T.Integer({ minimum: 0, description: '未確認の件数' }),
  endings: T.Array(ProtectionEndingSchema, { maxItems: 200, description: '未確認を先に、新しい順 (200 件まで)' }),
});
