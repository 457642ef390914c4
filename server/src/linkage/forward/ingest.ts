import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { PlannedFile } from './apply.js';
import type { LayoutRegistry } from './layouts.js';

export type { PlannedFile };

/**
 * What `madoguchi ingest PATH` loads: a folder holding one sub-folder per spec id (the newest
 * *.csv of each, by name — the standard's file names end with a timestamp), a single spec
 * folder, or one file (spec id from its folder or its name prefix). The files then go through
 * the same `applyFiles` pipeline as the drop-folder watcher.
 */
export function planIngest(target: string, registry: LayoutRegistry): PlannedFile[] {
  const known = registry.specIds();
  const specOf = (name: string): string | undefined => known.find((id) => name === id || name.startsWith(`${id}_`));
  const newestCsv = (dir: string): string | undefined =>
    readdirSync(dir)
      .filter((n) => /\.csv$/i.test(n))
      .sort()
      .pop();
  if (!existsSync(target)) throw new Error(`指定されたパスがありません: ${target}`);
  if (statSync(target).isFile()) {
    const spec = specOf(path.basename(path.dirname(target))) ?? specOf(path.basename(target));
    if (!spec) throw new Error(`ファイルの連携仕様 ID が分かりません (フォルダ名かファイル名の先頭を仕様 ID にしてください): ${target}`);
    return [{ specId: spec, file: target }];
  }
  const own = specOf(path.basename(target));
  if (own) {
    const f = newestCsv(target);
    return f ? [{ specId: own, file: path.join(target, f) }] : [];
  }
  const planned: PlannedFile[] = [];
  for (const id of known) {
    const dir = path.join(target, id);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    const f = newestCsv(dir);
    if (f) planned.push({ specId: id, file: path.join(dir, f) });
  }
  if (!planned.length)
    throw new Error(
      `読み込む連携ファイルがありません (仕様 ID のフォルダ ${known.join(', ')} のいずれかに CSV を置いてください): ${target}`,
    );
  return planned;
}
