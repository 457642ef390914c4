import type { CardErrorCode } from '@madoguchi/server/cards/cardApi';

/**
 * Why a card reading did not happen, with the Japanese message the counter staff see. The message
 * and `detail` never hold the PIN, the card number typed by staff, or anything read from the card:
 * `detail` names only the step and the status word, for the helper's log.
 */
export class CardError extends Error {
  readonly code: CardErrorCode;
  /** Tries the PIN has left (wrongPin, pinNearlyLocked, locked). */
  readonly triesLeft?: number;
  /** Technical, non-personal context for the log, e.g. "SELECT EF 0002: SW 6A82". */
  readonly detail?: string;

  constructor(code: CardErrorCode, opts: { triesLeft?: number; detail?: string; cause?: unknown } = {}) {
    super(cardErrorMessage(code, opts.triesLeft), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CardError';
    this.code = code;
    if (opts.triesLeft !== undefined) this.triesLeft = opts.triesLeft;
    if (opts.detail !== undefined) this.detail = opts.detail;
  }
}

export function cardErrorMessage(code: CardErrorCode, triesLeft?: number): string {
  switch (code) {
    case 'pcscUnavailable':
      return 'カード読取の仕組み (PC/SC) が使えません。窓口PCの「スマート カード」サービスが動いているか、システム担当に確認してください';
    case 'noReader':
      return 'カード読取装置が見つかりません。読取装置のケーブルが窓口PCにつながっているか確認してください';
    case 'noCard':
      return 'カードが置かれていません。カードを読取装置に置いてから、もう一度読み取ってください';
    case 'unknownCard':
      return '読み取れないカードです (マイナンバーカード・在留カードではありません)';
    case 'badPin':
      return '暗証番号は数字4桁で入力してください';
    case 'wrongPin':
      return `暗証番号が違います。あと ${triesLeft ?? '?'} 回まちがえるとカードがロックされます`;
    case 'pinNearlyLocked':
      return '暗証番号の残り回数が 1 回のため、読み取りを止めました。次にまちがえるとロックされます。暗証番号が確かでないときは、市区町村の窓口で暗証番号を再設定してください';
    case 'locked':
      return '暗証番号がロックされています。市区町村の窓口で暗証番号の初期化が必要です';
    case 'badCardNumber':
      return '在留カード等の番号の形式が違います (英字2文字・数字8桁・英字2文字、例: AB12345678CD)';
    case 'wrongCardNumber':
      return '在留カード等の番号がカードと合いません。カード表面の番号を確かめて、もう一度入力してください';
    case 'readFailed':
      return 'カードを読み取れませんでした。カードを置き直して、もう一度読み取ってください';
  }
}

/** A hex word for `detail`, e.g. 0x6a82 → "6A82". */
export const swHex = (sw: number): string => sw.toString(16).toUpperCase().padStart(4, '0');
