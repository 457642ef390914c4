import { Type as T } from '@sinclair/typebox';
import { noticeTypes } from '../../domain/procedureTypes.js';
import { noticeStatuses } from '../../notices/notice.js';
import { MASKED_ADDRESS } from '../../residents/warnings.js';
import { Component, IsoDateTime, Nullable, Obj, PresentedAddressField } from './common.js';

/** The notice (届出) contracts of the JSON API. */

const Str = T.String();
const address = (label: string) =>
  T.Optional(
    PresentedAddressField({
      description: `${label}。届出が支援措置の対象者・世帯・住所に触れるときは、権限 resident.viewProtectedAddress がなければ「${MASKED_ADDRESS}」`,
    }),
  );

export const NoticeMemberSchema = Obj({
  addresseeNo: Nullable(Str),
  name: T.String({ 'x-personal': 'name' }),
  nameKana: Nullable(Str),
  birthDate: Nullable(Str),
  sex: Nullable(Str),
  relationship: Nullable(Str),
  moving: T.Boolean(),
  head: T.Boolean(),
  event: T.Boolean(),
});

/** The fields of a notice's data; the typed addresses are presented values. */
export const NoticeDataSchema = Obj({
  previousAddress: address('従前の住所'),
  newAddress: address('新しい住所'),
  nextAddress: address('転出先の住所'),
  country: T.Optional(Str),
  plannedMoveDate: T.Optional(Str),
  certificateRef: T.Optional(Str),
  targetHouseholdNo: T.Optional(Str),
  honseki: T.Optional(Str),
  hittousha: T.Optional(Str),
  note: T.Optional(Str),
});

/** A notice as the JSON API gives it; `coreRefs` are the core system's numbers (基幹系処理番号) of its entries. */
export const NoticeSchema = Component('Notice', {
  id: T.Integer(),
  visitId: T.Integer(),
  type: T.Union(noticeTypes.map((t) => T.Literal(t))),
  status: T.Union(noticeStatuses.map((t) => T.Literal(t))),
  effectiveDate: Nullable(Str),
  reportedDate: Str,
  householdNo: Nullable(Str),
  data: NoticeDataSchema,
  lateWarning: Nullable(Str),
  members: T.Array(NoticeMemberSchema),
  createdAt: IsoDateTime(),
  updatedAt: IsoDateTime(),
  acceptedAt: Nullable(IsoDateTime()),
  acceptedBy: Nullable(T.Integer()),
  reviewedAt: Nullable(IsoDateTime()),
  reviewedBy: Nullable(T.Integer()),
  enteredAt: Nullable(IsoDateTime()),
  coreRefs: T.Array(Str, { description: '基幹系処理番号 (入力した順)' }),
  addressProtected: T.Boolean({ description: '届出が支援措置の対象者・世帯 (入る世帯を含む)・住所に触れる (支援措置の警告を表示)' }),
  reviewBySupportMeasures: T.Boolean({
    description: '審査は権限 resident.viewProtectedAddress を持つ職員 (支援措置担当) だけができる',
  }),
});

export const NoticeListSchema = Obj({ notices: T.Array(NoticeSchema) });
