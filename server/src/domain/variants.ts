/**
 * Variant kanji (異体字・旧字) folded to a common form for a *fallback* search key only; the
 * registered character is never replaced. No maintained npm package carries the MJ縮退マップ
 * (japanese-stack.md §3), so this is our own hand-checked table; it grows with the municipality.
 */
export const variantFolds: Readonly<Record<string, string>> = {
  髙: '高',
  﨑: '崎',
  嵜: '崎',
  碕: '崎',
  邉: '辺',
  邊: '辺',
  齋: '斎',
  齊: '斉',
  濵: '浜',
  濱: '浜',
  𠮷: '吉',
  德: '徳',
  櫻: '桜',
  澤: '沢',
  廣: '広',
  國: '国',
  嶋: '島',
  嶌: '島',
  槇: '槙',
  冨: '富',
  曻: '昇',
  眞: '真',
  惠: '恵',
  榮: '栄',
  藏: '蔵',
  龍: '竜',
  瀨: '瀬',
  𣘺: '橋',
  橳: '橋',
  淺: '浅',
  關: '関',
  靜: '静',
  彌: '弥',
  實: '実',
  對: '対',
  壽: '寿',
  萬: '万',
  與: '与',
  驒: '騨',
  籠: '篭',
  舘: '館',
  﨔: '欅',
  黑: '黒',
  隝: '島',
  髮: '髪',
  圓: '円',
  條: '条',
  傳: '伝',
};

export function foldVariants(key: string): string {
  let out = '';
  for (const ch of key) out += variantFolds[ch] ?? ch;
  return out;
}
