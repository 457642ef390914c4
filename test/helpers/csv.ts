import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { GaijiMap } from '../../server/src/linkage/forward/gaiji.js';

/** Reads a linkage CSV as records keyed by header; CP932 through the 同定マップ when given. */
export function readCsv(file: string, encoding: 'utf8' | 'cp932' = 'utf8', gaiji?: GaijiMap): Record<string, string>[] {
  const bytes = readFileSync(file);
  let text = new TextDecoder(encoding === 'utf8' ? 'utf-8' : 'shift_jis').decode(bytes);
  if (gaiji) text = gaiji.apply(text).text;
  return parse(text, { columns: true, bom: true }) as Record<string, string>[];
}
