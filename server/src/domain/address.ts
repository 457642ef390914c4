/**
 * Address search key: widths (NFKC), 漢数字 → 算用数字, 丁目/番地/番/号 and hyphen variants →
 * "-", ヶ/ケ/が/ガ → ケ, 大字/字 prefixes dropped, spaces removed. The displayed address is never
 * changed; this key only lets 「緑ヶ丘二丁目3番地の4」 and 「緑ケ丘2-3-4」 meet.
 */
const KANJI_DIGITS: Record<string, number> = { 〇: 0, 一: 1, 二: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };

function kanjiNumber(s: string): string {
  // 十 / 百 with optional leading and trailing digits (e.g. 二十三 → 23, 百五 → 105).
  let total = 0;
  let current = 0;
  for (const ch of s) {
    if (ch === '百') {
      total += (current || 1) * 100;
      current = 0;
    } else if (ch === '十') {
      total += (current || 1) * 10;
      current = 0;
    } else current = current * 10 + (KANJI_DIGITS[ch] ?? 0);
  }
  return String(total + current);
}

export function addressKey(s: string): string {
  let k = s.normalize('NFKC').replace(/[\s\u3000]+/g, '');
  k = k.replace(/[〇一二三四五六七八九十百]+(?=(丁目|番地|番|号|の|-|$))/g, (m) => kanjiNumber(m));
  k = k.replace(/^大字/, '').replace(/(?<=[^0-9])字(?=[^0-9])/g, '');
  k = k.replace(/[ヶケがガ](?=[丘谷崎浦原岳島沢関江台])/g, 'ケ');
  k = k.replace(/[‐‑‒–—―−ｰー－](?=[0-9])/g, '-');
  k = k.replace(/([0-9])(?:丁目|番地|番|号|の|-)+(?=[0-9])/g, '$1-');
  k = k.replace(/([0-9]+)(丁目|番地|番|号)$/g, '$1');
  return k;
}
