import { addDays, isCalendarDate } from './dates.js';
import { isLate } from './navigation.js';
import { isMoveOut, noticeDateLabel } from './noticeDates.js';
import { noticeTypeLabels, type NoticeType } from './procedureTypes.js';

/** A member of a notice as staff entered or picked them. */
export interface NoticeMemberInput {
  addresseeNo: string | null;
  name: string;
  nameKana: string | null;
  birthDate: string | null;
  sex: string | null;
  relationship: string | null;
  moving: boolean;
  head: boolean;
  event: boolean;
}

/** What each notice type may carry besides its members. Unused fields stay empty. */
export interface NoticeData {
  /** 従前の住所 (moveIn, specialMoveIn), or the address before a relocation. */
  previousAddress?: string;
  /** 新しい住所 in the town (moveIn, specialMoveIn, relocation). */
  newAddress?: string;
  /** 転出先 (moveOut, specialMoveOut). */
  nextAddress?: string;
  /** 転出先の国 (moveAbroad). */
  country?: string;
  /** 転出予定日 on a 転出証明書 (specialMoveIn: must come within 30 days of it). */
  plannedMoveDate?: string;
  /** 転出証明書 or 転出証明書情報 reference (moveIn: paper certificate; specialMoveIn: 住基ネット record). */
  certificateRef?: string;
  /** The household joined (householdMerge, a moveIn into an existing household). */
  targetHouseholdNo?: string;
  /** 本籍 and 筆頭者 (moveIn of Japanese nationals: printed on the 住民異動届; from the 転出証明書). */
  honseki?: string;
  hittousha?: string;
  note?: string;
}

export interface NoticeInput {
  type: NoticeType;
  effectiveDate: string | null;
  reportedDate: string;
  householdNo: string | null;
  data: NoticeData;
  members: NoticeMemberInput[];
}

export interface FieldError {
  /** The form field the message belongs next to (`effectiveDate`, `members`, `newAddress`, …). */
  field: string;
  message: string;
}

export interface ValidationResult {
  errors: FieldError[];
  /** A late notice is accepted with this warning (the reason is asked at the counter). */
  lateWarning: string | null;
}

/**
 * Checks a notice before it is accepted: what each type needs (dates, addresses, the moving
 * members, a head), with messages in Japanese next to the field. Deadlines only warn (a late
 * notice must still be accepted; 住民基本台帳法 asks for the reason).
 */
export function validateNotice(n: NoticeInput, deadlineDays: Readonly<Partial<Record<NoticeType, number>>>): ValidationResult {
  const errors: FieldError[] = [];
  const need = (field: string, value: string | undefined | null, message: string) => {
    if (!value || !value.trim()) errors.push({ field, message });
  };
  const label = noticeTypeLabels[n.type];
  const date = n.effectiveDate;
  if (!date) errors.push({ field: 'effectiveDate', message: `${noticeDateLabel(n.type)}を入力してください` });
  else if (!isCalendarDate(date)) errors.push({ field: 'effectiveDate', message: `${noticeDateLabel(n.type)}が正しい日付ではありません` });
  else if (!isMoveOut(n.type) && date > n.reportedDate)
    errors.push({ field: 'effectiveDate', message: `${noticeDateLabel(n.type)}が届出日より後です (${label}は異動の後に届け出ます)` });

  const moving = n.members.filter((m) => m.moving);
  if (n.type !== 'individual' && n.members.length === 0)
    errors.push({ field: 'members', message: '届出の対象者を 1 人以上選んでください' });
  n.members.forEach((m, i) => {
    if (!m.name.trim()) errors.push({ field: `members.${i}.name`, message: '氏名を入力してください' });
    if (m.birthDate && !isCalendarDate(m.birthDate))
      errors.push({ field: `members.${i}.birthDate`, message: '生年月日が正しい日付ではありません' });
  });

  switch (n.type) {
    case 'moveIn':
    case 'specialMoveIn':
      need('previousAddress', n.data.previousAddress, '従前の住所を入力してください');
      need('newAddress', n.data.newAddress, '新しい住所を入力してください');
      if (!moving.length) errors.push({ field: 'members', message: '転入する人を選んでください' });
      if (!n.data.targetHouseholdNo && moving.filter((m) => m.head).length !== 1)
        errors.push({ field: 'members', message: '新しい世帯の世帯主を 1 人選んでください (既存の世帯に入る場合は世帯番号を入力)' });
      if (n.type === 'specialMoveIn') {
        need('certificateRef', n.data.certificateRef, '転出証明書情報 (住基ネット) の番号を入力してください');
        need('plannedMoveDate', n.data.plannedMoveDate, '転出証明書情報の転出予定日を入力してください');
      }
      break;
    case 'moveOut':
    case 'specialMoveOut':
      need('nextAddress', n.data.nextAddress, '転出先の住所を入力してください');
      if (!moving.length) errors.push({ field: 'members', message: '転出する人を選んでください' });
      break;
    case 'moveAbroad':
      need('country', n.data.country, '転出先の国を入力してください');
      if (!moving.length) errors.push({ field: 'members', message: '転出する人を選んでください' });
      break;
    case 'relocation':
      need('newAddress', n.data.newAddress, '新しい住所を入力してください');
      if (!moving.length) errors.push({ field: 'members', message: '転居する人を選んでください' });
      if (n.data.newAddress && n.data.previousAddress && n.data.newAddress.trim() === n.data.previousAddress.trim())
        errors.push({ field: 'newAddress', message: '新しい住所が今の住所と同じです' });
      break;
    case 'headChange':
      if (n.members.filter((m) => m.head).length !== 1) errors.push({ field: 'members', message: '新しい世帯主を 1 人選んでください' });
      break;
    case 'householdSplit':
      if (!moving.length) errors.push({ field: 'members', message: '分離して新しい世帯になる人を選んでください' });
      else if (moving.length === n.members.length)
        errors.push({ field: 'members', message: '世帯の全員を分離することはできません (残る人がいません)' });
      if (moving.filter((m) => m.head).length !== 1) errors.push({ field: 'members', message: '新しい世帯の世帯主を 1 人選んでください' });
      break;
    case 'householdMerge':
      need('targetHouseholdNo', n.data.targetHouseholdNo, '合併先の世帯番号を入力してください');
      if (n.data.targetHouseholdNo && n.data.targetHouseholdNo === n.householdNo)
        errors.push({ field: 'targetHouseholdNo', message: '合併先が同じ世帯です' });
      if (n.members.filter((m) => m.head).length !== 1) errors.push({ field: 'members', message: '合併後の世帯主を 1 人選んでください' });
      break;
    case 'householdRestructure':
      if (!n.members.some((m) => m.moving)) errors.push({ field: 'members', message: '世帯に入る人・出る人を選んでください' });
      break;
    case 'birth': {
      const born = n.members.filter((m) => m.event);
      if (born.length !== 1) errors.push({ field: 'members', message: '生まれた子を 1 人入力してください' });
      else {
        if (!born[0]!.sex) errors.push({ field: 'members', message: '生まれた子の性別を選んでください' });
        if (date && born[0]!.birthDate && born[0]!.birthDate !== date)
          errors.push({ field: 'effectiveDate', message: '出生日と子の生年月日が違います' });
      }
      break;
    }
    case 'death': {
      const died = n.members.filter((m) => m.event);
      if (died.length !== 1) errors.push({ field: 'members', message: '亡くなった人を 1 人選んでください' });
      break;
    }
    case 'individual':
      break;
  }

  let lateWarning: string | null = null;
  if (date && isCalendarDate(date))
    lateWarning = isLate(n.type, date, n.reportedDate, deadlineDays as Record<string, number>).message ?? null;
  if (
    n.type === 'specialMoveIn' &&
    n.data.plannedMoveDate &&
    isCalendarDate(n.data.plannedMoveDate) &&
    n.reportedDate > addDays(n.data.plannedMoveDate, 30)
  ) {
    lateWarning = `${lateWarning ? `${lateWarning}。` : ''}転出予定日から 30 日を過ぎているため特例転入はできません。転出証明書による転入届に切り替えてください`;
    errors.push({ field: 'plannedMoveDate', message: '転出予定日から 30 日を過ぎています (特例転入の期限切れ)' });
  }
  return { errors, lateWarning };
}

/** Typical deadlines (住民基本台帳法 14 days; 死亡届 7 days); the municipality's config overrides them. */
export const defaultDeadlineDays: Readonly<Partial<Record<NoticeType, number>>> = {
  moveIn: 14,
  specialMoveIn: 14,
  moveOut: 14,
  specialMoveOut: 14,
  moveAbroad: 14,
  relocation: 14,
  headChange: 14,
  householdSplit: 14,
  householdMerge: 14,
  householdRestructure: 14,
  birth: 14,
  death: 7,
};
