import type { NoticeType } from './procedureTypes.js';

const MOVES_OUT: readonly NoticeType[] = ['moveOut', 'specialMoveOut', 'moveAbroad'];

/** The name of a notice's effective date in messages: 異動日, 出生日, 死亡日, 転出 (予定) 日. */
export function noticeDateLabel(type: NoticeType): string {
  if (type === 'birth') return '出生日';
  if (type === 'death') return '死亡日';
  if (MOVES_OUT.includes(type)) return '転出 (予定) 日';
  return '異動日';
}

export const isMoveOut = (type: NoticeType): boolean => MOVES_OUT.includes(type);
