import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** A file or symlink to put into the bundle: where it comes from and where it goes. */
export interface Entry {
  from: string;
  /** relative to the bundle's top directory, `/` separated */
  to: string;
  size: number;
  /** permission bits of the source; files are shipped 0755 when any execute bit is set, else 0644 */
  mode?: number;
  link?: boolean;
}

/** Decides per path (relative to the tree being copied, `/` separated) whether it is shipped. */
export type Keep = (rel: string, isDir: boolean) => boolean;

const LICENSE_LIKE = /^(licen[cs]e|notice|copying|authors)/i;
const NATIVE_SOURCE = /\.(c|cc|cpp|cxx|h|hh|hpp|gyp|gypi|o|a|mk|target\.mk)$/i;
const PACKAGE_ROOT_DIRS = new Set(['test', 'tests', '__tests__', '.github', 'example', 'examples', 'benchmark', 'benchmarks', '.vscode']);

/** What an installed npm package needs at run time: no nested node_modules, tests, types, maps, C sources. */
/** What node-gyp leaves in build/ besides Release/ (sources, objects, makefiles). */
const NODE_GYP_DIRS = new Set(['Debug', 'obj', 'obj.target', 'deps', 'node_gyp_bins', '.deps']);

export const keepInPackage: Keep = (rel, isDir) => {
  const parts = rel.split('/');
  const base = parts[parts.length - 1]!;
  if (isDir) {
    if (base === 'node_modules') return false;
    if (parts.length === 1 && PACKAGE_ROOT_DIRS.has(base)) return false;
    return true;
  }
  // Native modules: of node-gyp's build/ only the compiled addon is loaded (bindings looks in
  // build/Release). Other packages ship their JavaScript in build/ (TypeBox: build/cjs, build/esm).
  if (parts[0] === 'build') {
    if (parts[1] === 'Release') return parts.length === 3 && base.endsWith('.node');
    if (parts.length === 2 || NODE_GYP_DIRS.has(parts[1]!)) return false;
  }
  if (NATIVE_SOURCE.test(base)) return false;
  return keepCompiled(rel, false) && (!/\.md$/i.test(base) || LICENSE_LIKE.test(base));
};

/** Our own compiled workspaces: no type declarations, source maps or build-info files. */
export const keepCompiled: Keep = (rel, isDir) => {
  if (isDir) return true;
  return !/\.d\.[cm]?ts$/.test(rel) && !rel.endsWith('.map') && !rel.endsWith('.tsbuildinfo');
};

export const keepAll: Keep = () => true;

/** The files (and symlinks) under `fromDir` that `keep` accepts, mapped under `toDir`. */
export function collect(fromDir: string, toDir: string, keep: Keep, out: Entry[] = []): Entry[] {
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(fromDir, rel)).sort()) {
      const childRel = rel ? `${rel}/${name}` : name;
      const from = path.join(fromDir, childRel);
      const st = lstatSync(from);
      if (st.isDirectory()) {
        if (keep(childRel, true)) walk(childRel);
      } else if ((st.isFile() || st.isSymbolicLink()) && keep(childRel, false)) {
        out.push({ from, to: `${toDir}/${childRel}`, size: st.isFile() ? st.size : 0, mode: st.mode, link: st.isSymbolicLink() });
      }
    }
  };
  walk('');
  return out;
}
