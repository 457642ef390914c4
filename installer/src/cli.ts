import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildBundle } from './bundle.js';
import { mb } from './progress.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** `npm run bundle [-- --out DIR] [--gzip-level N]`: builds dist-bundle/madoguchi-<version>-linux-x64.tar.gz. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, 'gzip-level': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(
      '使い方: npm run bundle [-- --out DIR] [--gzip-level 1-9]\n  オフライン用のリリースアーカイブ (既定 dist-bundle/) を作ります。',
    );
    return;
  }
  const level = values['gzip-level'] === undefined ? undefined : Number(values['gzip-level']);
  if (level !== undefined && !(Number.isInteger(level) && level >= 1 && level <= 9)) throw new Error('--gzip-level は 1〜9 です');
  const outDir = path.resolve(values.out ?? path.join(repoRoot, 'dist-bundle'));
  const r = await buildBundle({ repoRoot, outDir, level });
  const m = r.manifest;
  console.log(r.archive.file);
  console.log(r.archive.sha256File);
  console.log(
    `バンドル作成完了: ${path.basename(r.archive.file)} — ${m.fileCount.toLocaleString('ja-JP')} ファイル ${mb(m.totalBytes)} → ${mb(r.archive.bytes)}, ` +
      `npm パッケージ ${m.packages.length} 個, Node.js ${m.node}, commit ${m.git.commit?.slice(0, 12) ?? '-'}${m.git.dirty ? ' (未コミットの変更あり)' : ''}, ` +
      `SHA-256 ${r.archive.sha256}, ${r.seconds.toFixed(1)} 秒`,
  );
}

main().catch((e: unknown) => {
  console.error(`バンドルを作成できませんでした: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
