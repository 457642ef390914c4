import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';

/** Files still being written by their owner (`x.tmp` renamed to `x` when done) are skipped. */
const unfinished = (name: string) => name.endsWith('.tmp') || name.endsWith('.partial');

/** Regular files under `dir` (symbolic links followed), relative, with `/` separators. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (unfinished(entry.name)) continue;
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      let st;
      try {
        st = statSync(path.join(dir, relPath));
      } catch {
        continue; // a dangling link, or a file removed meanwhile
      }
      if (st.isDirectory()) walk(relPath);
      else if (st.isFile()) out.push(relPath);
    }
  };
  walk('');
  return out.sort();
}

/** Copies a folder's regular files into `dest` (created 0700); returns the copied paths relative to `dest`. */
export async function copyTree(src: string, dest: string, onFile?: () => void): Promise<string[]> {
  const files = listFiles(src);
  for (const rel of files) {
    const to = path.join(dest, ...rel.split('/'));
    mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
    try {
      await copyFile(path.join(src, ...rel.split('/')), to);
    } catch (e) {
      // Evidence files are deleted by their retention while we copy: that one is simply gone.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      continue;
    }
    onFile?.();
  }
  return files.filter((rel) => existsSync(path.join(dest, ...rel.split('/'))));
}
