import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { hashFile } from './fileHash.js';
import type { ControlKind } from './layouts.js';

/**
 * Control files the core system writes beside a data file `X.csv`, checked the same way by the
 * watcher and by `madoguchi ingest`:
 * - `X.csv.count`: the number of data records (the header not counted), the first number in it;
 * - `X.csv.md5`: the MD5 of the data file (`md5sum` output is fine);
 * - `X.csv.done`: an empty marker written after the data file.
 * A layout can make one of them mandatory (`control:`): a data file without it is quarantined.
 */

export interface ControlFiles {
  count?: { file: string; rows: number };
  md5?: { file: string; hex: string };
  done?: { file: string };
}

/** Reads the control files next to `base` (the data file's path in its drop folder). Throws a Japanese message on a bad one. */
export function readControlFiles(base: string): ControlFiles {
  const out: ControlFiles = {};
  const countFile = `${base}.count`;
  if (existsSync(countFile)) {
    const text = readFileSync(countFile, 'utf8').replace(/^\uFEFF/, '');
    // The whole content is one count (`1200`, `1,200`, `件数=1200`); anything else is refused, never half-read.
    const m = /^\s*(?:件数\s*[=:]?\s*)?([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)\s*(?:件)?\s*$/.exec(text.normalize('NFKC'));
    if (!m)
      throw new Error(
        `件数ファイル ${path.basename(countFile)} の形式が不正です (件数の数字だけを書いてください: ${JSON.stringify(text.slice(0, 40))})`,
      );
    out.count = { file: countFile, rows: Number(m[1]!.replace(/,/g, '')) };
  }
  const md5File = `${base}.md5`;
  if (existsSync(md5File)) {
    const hex = readFileSync(md5File, 'utf8').trim().split(/\s+/)[0]?.toLowerCase() ?? '';
    if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error(`MD5 ファイル ${path.basename(md5File)} の形式が不正です (32 桁の16進数)`);
    out.md5 = { file: md5File, hex };
  }
  const doneFile = `${base}.done`;
  if (existsSync(doneFile) && statSync(doneFile).isFile()) out.done = { file: doneFile };
  return out;
}

const KIND_LABEL: Record<Exclude<ControlKind, 'none'>, string> = {
  count: '件数ファイル (.count)',
  md5: 'MD5 ファイル (.md5)',
  done: '完了ファイル (.done)',
};

/**
 * What must stop the load before it starts: a mandatory control file that is missing, or an MD5
 * that does not match. The row count is checked after reading (`countMismatch`).
 */
export async function controlProblemBeforeLoad(file: string, control: ControlFiles, required: ControlKind): Promise<string | null> {
  if (required !== 'none' && !control[required])
    return `この連携仕様には${KIND_LABEL[required]}が必須ですが、ありません。データと一緒に送ってもらってください`;
  if (control.md5) {
    const actual = await hashFile(file, 'md5');
    if (actual !== control.md5.hex)
      return `MD5 が一致しません (サイドカー ${control.md5.hex}、ファイル ${actual})。ファイルが途中で切れたか壊れています`;
  }
  return null;
}

export function countMismatch(control: ControlFiles, rowsRead: number): string | null {
  if (!control.count || control.count.rows === rowsRead) return null;
  return `件数ファイルの件数 (${control.count.rows.toLocaleString('ja-JP')} 件) とファイルの行数 (${rowsRead.toLocaleString('ja-JP')} 件) が一致しません。ファイルが途中で切れた可能性があります`;
}

/**
 * The sequence in a file name: its runs of digits after the spec id, in order
 * (`001o005_439991_20261201020000_2.csv` → `439991.20261201020000.2`), compared run by run, so a
 * per-day counter after a timestamp orders within the day and never outranks the timestamp.
 */
export function fileSequence(name: string): string | null {
  const base = path
    .basename(name)
    .replace(/\.csv$/i, '')
    .replace(/^([0-9]{3}o[0-9]{3}|ext-[a-z0-9-]+)/, '');
  const runs = base.match(/[0-9]+/g);
  return runs ? runs.map((r) => r.replace(/^0+(?=[0-9])/, '')).join('.') : null;
}

/** Run-by-run numeric comparison of two sequences; a longer one wins when the shorter is its prefix. */
export function compareSequence(a: string, b: string): number {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i]!;
    const q = y[i]!;
    if (p.length !== q.length) return p.length - q.length;
    if (p !== q) return p < q ? -1 : 1;
  }
  return x.length - y.length;
}
