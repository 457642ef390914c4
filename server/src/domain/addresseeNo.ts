/**
 * 宛名番号 / 世帯番号 check digit: modulus 11 with weights 2..7 from the rightmost body digit
 * (住民記録システム標準仕様書 v1.0 §1.3, "M11W2～7"). A remainder of 0 gives 0. The standard
 * does not say what a remainder of 1 (11 − 1 = 10) gives; common practice is 0, and a
 * municipality whose core system differs sets `remainderOneDigit`.
 */
export interface CheckDigitRule {
  remainderOneDigit: number;
}

export const defaultCheckDigitRule: CheckDigitRule = { remainderOneDigit: 0 };

export function mod11CheckDigit(body: string, rule: CheckDigitRule = defaultCheckDigitRule): number {
  if (!/^[0-9]+$/.test(body)) throw new Error(`check digit body must be digits: ${body}`);
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    const digit = body.charCodeAt(body.length - 1 - i) - 48;
    sum += digit * (2 + (i % 6));
  }
  const remainder = sum % 11;
  if (remainder === 0) return 0;
  if (remainder === 1) return rule.remainderOneDigit;
  return 11 - remainder;
}

export function withCheckDigit(body: string, rule: CheckDigitRule = defaultCheckDigitRule): string {
  return body + String(mod11CheckDigit(body, rule));
}

export function isValidAddresseeNo(no: string, rule: CheckDigitRule = defaultCheckDigitRule): boolean {
  if (!/^[0-9]{2,15}$/.test(no)) return false;
  return mod11CheckDigit(no.slice(0, -1), rule) === Number(no.slice(-1));
}

/** 全国地方公共団体コード: 5 digits + a check digit (weights 6..2, 11 − remainder, last digit). */
export function municipalityCodeCheckDigit(body5: string): number {
  let sum = 0;
  for (let i = 0; i < 5; i++) sum += (body5.charCodeAt(i) - 48) * (6 - i);
  return (11 - (sum % 11)) % 10;
}

export function isValidMunicipalityCode(code: string): boolean {
  return /^[0-9]{6}$/.test(code) && municipalityCodeCheckDigit(code.slice(0, 5)) === Number(code[5]);
}
