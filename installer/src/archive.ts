import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

export interface ArchiveResult {
  file: string;
  sha256File: string;
  sha256: string;
  bytes: number;
}

/**
 * Packs `parent/top` into `outFile` with the system tar (GNU tar; the npm `tar` package is not
 * installed here) and gzips the stream in Node, so that the bytes read give the progress and the
 * bytes written give the SHA-256 in one pass. Entries are sorted and owned by 0:0 with one mtime,
 * so an unpack as a plain user or as root gives the same tree. Writes `outFile.sha256` in
 * `sha256sum -c` format.
 */
export async function packArchive(
  parent: string,
  top: string,
  outFile: string,
  opts: { level?: number; mtime: Date; onBytes?: (n: number) => void },
): Promise<ArchiveResult> {
  const tmp = `${outFile}.part`;
  const tar = spawn(
    'tar',
    [
      '--sort=name',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      `--mtime=@${Math.floor(opts.mtime.getTime() / 1000)}`,
      '-cf',
      '-',
      '-C',
      parent,
      top,
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => resolve(code ?? 1));
  });
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      opts.onBytes?.(chunk.length);
      cb(null, chunk);
    },
  });
  const hash = createHash('sha256');
  let bytes = 0;
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  try {
    await pipeline(tar.stdout, counter, createGzip({ level: opts.level ?? 6 }), hasher, createWriteStream(tmp));
    const code = await exited;
    if (code !== 0) throw new Error(`tar が失敗しました (終了コード ${code}): ${stderr.trim()}`);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  renameSync(tmp, outFile);
  const sha256 = hash.digest('hex');
  const sha256File = `${outFile}.sha256`;
  writeFileSync(sha256File, `${sha256}  ${path.basename(outFile)}\n`);
  return { file: outFile, sha256File, sha256, bytes };
}
