import { Type as T, type TOptional, type TString } from '@sinclair/typebox';
import { requesterRelations, type RequesterRelation } from '../../certificates/requests.js';
import { CsrfField, IdParam } from './common.js';
import { Enum } from './visits.js';

/**
 * The certificate request screen's inputs (証明書の請求). The requests are taken on the screen
 * only; there is no JSON route for them yet.
 */

/** The lines a request form has (l0_… to l4_…). */
export const CERTIFICATE_FORM_LINES = 5;

export const CertificateParams = T.Object({ id: IdParam('来庁番号') });
export const CertificateRequestParams = T.Object({ id: IdParam('来庁番号'), rid: IdParam('請求の番号') });

const LINE_FIELDS = { type: '種類', subject: '対象者', copies: '通数', items: '件数・筆数', purpose: '使いみち' } as const;

/**
 * The fields of each line, `l{行}_{項目}`. They stay text: the fee calculation explains a wrong
 * value line by line on the form (「1 行目: …」) rather than as an input error page.
 */
const lineFields: Record<string, TOptional<TString>> = {};
for (let i = 0; i < CERTIFICATE_FORM_LINES; i++)
  for (const [field, label] of Object.entries(LINE_FIELDS))
    lineFields[`l${i}_${field}`] = T.Optional(T.String({ maxLength: 40, title: `${i + 1} 行目の${label}` }));

/**
 * The request form. Besides the declared fields each line carries the options of its certificate
 * type (`l{行}_{オプション ID}`, from config/certificates), which the fee calculation reads.
 */
export const CertificateForm = T.Object({
  _csrf: CsrfField,
  relation: Enum(Object.keys(requesterRelations) as RequesterRelation[], { title: '請求する人' }),
  action: T.Optional(
    Enum(['price', 'save', 'addLine'], {
      title: '操作',
      description: '`price` 金額を確認、`save` 受け付ける、`addLine` 行を追加 (入力した値はそのまま)',
    }),
  ),
  memo: T.Optional(T.String({ maxLength: 500, title: '交付の指示メモ' })),
  ...lineFields,
});
