import { Type as T } from '@sinclair/typebox';
import { Obj } from './common.js';

/** Every error answer (http/errorHandler.ts). */
export const ErrorSchema = Obj(
  {
    error: Obj({
      status: T.Integer({ minimum: 400, maximum: 599, description: 'HTTP ステータス' }),
      code: T.String({ description: 'エラーの種類 (errors/catalog.ts のコード)', examples: ['auth.forbidden'] }),
      message: T.String({ description: '職員にそのまま見せられる日本語のメッセージ' }),
      fields: T.Optional(
        T.Array(Obj({ field: T.String({ description: '項目 (フォームまたは JSON のパス)' }), message: T.String() }), {
          description: '項目ごとの問題 (入力の誤りのとき)',
        }),
      ),
    }),
  },
  {
    description: 'すべてのエラー応答の形',
    examples: [{ error: { status: 403, code: 'auth.forbidden', message: 'この操作を行う権限がありません' } }],
  },
);
