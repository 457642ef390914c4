import { expect } from 'chai';
import { defaultDeadlineDays, validateNotice, type NoticeInput, type NoticeMemberInput } from '../../server/src/domain/noticeValidation.js';
import type { NoticeType } from '../../server/src/domain/procedureTypes.js';

const member = (o: Partial<NoticeMemberInput> = {}): NoticeMemberInput => ({
  addresseeNo: null,
  name: '窓口 太郎',
  nameKana: 'マドグチ タロウ',
  birthDate: '1980-05-05',
  sex: '1',
  relationship: '世帯主',
  moving: true,
  head: false,
  event: false,
  ...o,
});
const notice = (type: NoticeType, o: Partial<NoticeInput> = {}): NoticeInput => ({
  type,
  effectiveDate: '2026-11-20',
  reportedDate: '2026-11-25',
  householdNo: 'H1',
  data: {},
  members: [member({ head: true })],
  ...o,
});
const fields = (n: NoticeInput) => validateNotice(n, defaultDeadlineDays).errors.map((e) => `${e.field}: ${e.message}`);

describe('notice validation (each type, messages next to the field)', () => {
  it('moveIn needs the previous and new address, movers and one head (or a household to join)', () => {
    expect(fields(notice('moveIn', { members: [member()] }))).to.deep.equal([
      'previousAddress: 従前の住所を入力してください',
      'newAddress: 新しい住所を入力してください',
      'members: 新しい世帯の世帯主を 1 人選んでください (既存の世帯に入る場合は世帯番号を入力)',
    ]);
    expect(
      fields(notice('moveIn', { data: { previousAddress: '東京都千代田区千代田1-1', newAddress: '緑ケ丘二丁目3番地4' } })),
    ).to.deep.equal([]);
    expect(
      fields(notice('moveIn', { data: { previousAddress: 'a', newAddress: 'b', targetHouseholdNo: 'H9' }, members: [member()] })),
    ).to.deep.equal([]);
  });
  it('specialMoveIn also needs the 転出証明書情報 and refuses one 30 days past the planned date', () => {
    const base = { previousAddress: 'a', newAddress: 'b' };
    expect(fields(notice('specialMoveIn', { data: base }))).to.deep.equal([
      'certificateRef: 転出証明書情報 (住基ネット) の番号を入力してください',
      'plannedMoveDate: 転出証明書情報の転出予定日を入力してください',
    ]);
    const late = validateNotice(
      notice('specialMoveIn', { data: { ...base, certificateRef: 'X1', plannedMoveDate: '2026-10-20' } }),
      defaultDeadlineDays,
    );
    expect(late.errors.map((e) => e.field)).to.deep.equal(['plannedMoveDate']);
    expect(late.lateWarning).to.contain('特例転入はできません');
  });
  it('moveOut, specialMoveOut and moveAbroad need the destination and the movers; a planned date may be in the future', () => {
    expect(fields(notice('moveOut', { effectiveDate: '2026-12-10' }))).to.deep.equal(['nextAddress: 転出先の住所を入力してください']);
    expect(
      fields(notice('specialMoveOut', { data: { nextAddress: '大阪府大阪市北区1-1' }, members: [member({ moving: false })] })),
    ).to.deep.equal(['members: 転出する人を選んでください']);
    expect(fields(notice('moveAbroad'))).to.deep.equal(['country: 転出先の国を入力してください']);
  });
  it('relocation needs a new address different from the old one', () => {
    expect(fields(notice('relocation', { data: { previousAddress: '本町1-1', newAddress: '本町1-1' } }))).to.deep.equal([
      'newAddress: 新しい住所が今の住所と同じです',
    ]);
  });
  it('household changes need the right head and members', () => {
    expect(fields(notice('headChange', { members: [member(), member()] }))).to.deep.equal(['members: 新しい世帯主を 1 人選んでください']);
    expect(fields(notice('householdSplit', { members: [member({ head: true }), member({ moving: true })] }))).to.deep.equal([
      'members: 世帯の全員を分離することはできません (残る人がいません)',
    ]);
    expect(fields(notice('householdSplit', { members: [member({ head: true }), member({ moving: false })] }))).to.deep.equal([]);
    expect(fields(notice('householdMerge', { data: { targetHouseholdNo: 'H1' } }))).to.deep.equal([
      'targetHouseholdNo: 合併先が同じ世帯です',
    ]);
    expect(fields(notice('householdRestructure', { members: [member({ moving: false })] }))).to.deep.equal([
      'members: 世帯に入る人・出る人を選んでください',
    ]);
  });
  it('birth needs one child with a sex and the same birth date; death needs the deceased', () => {
    expect(fields(notice('birth', { members: [member({ event: true, sex: null, birthDate: '2026-11-20' })] }))).to.deep.equal([
      'members: 生まれた子の性別を選んでください',
    ]);
    expect(fields(notice('birth', { members: [member({ event: true, birthDate: '2026-11-19' })] }))).to.deep.equal([
      'effectiveDate: 出生日と子の生年月日が違います',
    ]);
    expect(fields(notice('death', { members: [member()] }))).to.deep.equal(['members: 亡くなった人を 1 人選んでください']);
  });
  it('checks dates and warns (never blocks) when a notice is late', () => {
    expect(fields(notice('relocation', { effectiveDate: null, data: { newAddress: 'x' } }))).to.deep.equal([
      'effectiveDate: 異動日を入力してください',
    ]);
    expect(fields(notice('relocation', { effectiveDate: '2026-02-30', data: { newAddress: 'x' } }))).to.deep.equal([
      'effectiveDate: 異動日が正しい日付ではありません',
    ]);
    expect(fields(notice('relocation', { effectiveDate: '2026-11-30', data: { newAddress: 'x' } }))).to.deep.equal([
      'effectiveDate: 異動日が届出日より後です (転居届は異動の後に届け出ます)',
    ]);
    const late = validateNotice(notice('relocation', { effectiveDate: '2026-11-01', data: { newAddress: 'x' } }), defaultDeadlineDays);
    expect(late.errors).to.deep.equal([]);
    expect(late.lateWarning).to.equal('届出期限 (異動日から 14 日) を 10 日過ぎています。遅れた理由を確認してください');
    const death = validateNotice(notice('death', { effectiveDate: '2026-11-10', members: [member({ event: true })] }), defaultDeadlineDays);
    expect(death.lateWarning).to.equal('届出期限 (死亡日から 7 日) を 8 日過ぎています。遅れた理由を確認してください');
    expect(
      validateNotice(notice('death', { effectiveDate: '2026-11-18', members: [member({ event: true })] }), defaultDeadlineDays).lateWarning,
    ).to.equal(null);
  });
});
