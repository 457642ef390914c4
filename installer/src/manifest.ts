import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const MANIFEST = 'manifest.json';

export interface ManifestFile {
  path: string;
  size: number;
  sha256: string;
}

export interface ManifestLink {
  path: string;
  target: string;
}

export interface BundleInfo {
  name: string;
  version: string;
  builtAt: string;
  node: string;
  platform: string;
  git: { commit: string | null; dirty: boolean };
  /** What was bundled from npm (name@version, folder), for the licence and vulnerability review. */
  packages: { name: string; version: string; dir: string }[];
}

export interface Manifest extends BundleInfo {
  format: 1;
  fileCount: number;
  totalBytes: number;
  files: ManifestFile[];
  links: ManifestLink[];
}

/**
 * verify.sh reads the file list with sed (no jq on the server), so every path must survive
 * JSON.stringify unchanged: no quote, backslash or control character.
 */
const shellSafe = (p: string): boolean =>
  ![...p].some((c) => c === '"' || c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

export function hashTree(topDir: string, onFile?: (bytes: number) => void): { files: ManifestFile[]; links: ManifestLink[] } {
  const files: ManifestFile[] = [];
  const links: ManifestLink[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(topDir, rel)).sort()) {
      const childRel = rel ? `${rel}/${name}` : name;
      if (childRel === MANIFEST) continue;
      if (!shellSafe(childRel)) throw new Error(`バンドルに入れられないファイル名です: ${JSON.stringify(childRel)}`);
      const abs = path.join(topDir, childRel);
      const st = lstatSync(abs);
      if (st.isDirectory()) walk(childRel);
      else if (st.isSymbolicLink()) links.push({ path: childRel, target: readlinkSync(abs) });
      else if (st.isFile()) {
        const data = readFileSync(abs);
        files.push({ path: childRel, size: data.length, sha256: createHash('sha256').update(data).digest('hex') });
        onFile?.(data.length);
      }
    }
  };
  walk('');
  return { files, links };
}

/** One entry per line, keys in a fixed order: the shape verify.sh's sed expression expects. */
export function renderManifest(m: Manifest): string {
  const { files, links, packages, ...head } = m;
  const lines = Object.entries(head).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)},`);
  const list = (items: unknown[]) => items.map((x, i) => `    ${JSON.stringify(x)}${i < items.length - 1 ? ',' : ''}`).join('\n');
  return `{\n${lines.join('\n')}\n  "packages": [\n${list(packages)}\n  ],\n  "links": [\n${list(links)}\n  ],\n  "files": [\n${list(files)}\n  ]\n}\n`;
}

export function writeManifest(topDir: string, info: BundleInfo, onFile?: (bytes: number) => void): Manifest {
  const { files, links } = hashTree(topDir, onFile);
  const manifest: Manifest = {
    format: 1,
    ...info,
    fileCount: files.length,
    totalBytes: files.reduce((s, f) => s + f.size, 0),
    files,
    links,
  };
  writeFileSync(path.join(topDir, MANIFEST), renderManifest(manifest));
  return manifest;
}

export function readManifest(topDir: string): Manifest {
  return JSON.parse(readFileSync(path.join(topDir, MANIFEST), 'utf8')) as Manifest;
}
