/** Documents shown at the identity check (本人確認書類), in the order staff meet them. */
export const identityDocuments: Readonly<Record<string, string>> = {
  myNumberCard: 'マイナンバーカード (個人番号カード)',
  driversLicence: '運転免許証',
  residenceCard: '在留カード・特別永住者証明書',
  passport: 'パスポート',
  healthInsurance: '健康保険の資格確認書・被保険者証',
  pensionBook: '年金手帳・基礎年金番号通知書',
  disabilityBook: '障害者手帳',
  other: 'その他 (メモに記入)',
};

/** Whether the visitor is the person concerned (本人) or comes for them (代理人・使者). */
export const visitorRoles: Readonly<Record<string, string>> = { subject: '本人', proxy: '代理人', household: '同一世帯の者' };

/**
 * What a card reader (later: the My Number card's 券面事項入力補助 AP, a residence card reader)
 * delivers. The visit screen's script exposes `window.madoguchi.fillIdentity(data)`, which puts
 * these values into the identity form; the server treats them like typed values.
 */
export interface IdentityReading {
  documentType: keyof typeof identityDocuments;
  name?: string;
  kana?: string;
  birthDate?: string;
  sex?: '1' | '2';
  address?: string;
}
