import { existsSync, lstatSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

interface PackageJson {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** A package of the production closure, as a directory relative to the repository root. */
export interface ClosurePackage {
  name: string;
  version: string;
  /** e.g. `node_modules/knex` or `server/node_modules/chokidar` */
  dir: string;
}

/** A `node_modules` entry that is a symlink to a workspace, kept as a relative link in the bundle. */
export interface WorkspaceLink {
  /** e.g. `node_modules/@madoguchi/server` */
  path: string;
  /** relative to the link's folder, e.g. `../../server` */
  target: string;
}

export interface Closure {
  packages: ClosurePackage[];
  links: WorkspaceLink[];
}

const readPackage = (dir: string): PackageJson => JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as PackageJson;

/**
 * The production dependencies of the given workspaces, found the way Node resolves them (the
 * package's own node_modules, then each parent's, up to the repository root) in what `npm ci`
 * installed here — no registry, no network. Dev dependencies are never followed; optional and
 * peer dependencies are taken when installed. A missing required dependency is an error, since
 * the bundle would fail on the closed network where nothing can be fetched.
 */
export function productionClosure(repoRoot: string, workspaces: string[]): Closure {
  const root = realpathSync(repoRoot);
  const workspaceDirs = new Set(workspaces.map((w) => path.join(root, w)));
  const packages = new Map<string, ClosurePackage>();
  const links = new Map<string, WorkspaceLink>();
  const missing: string[] = [];

  const resolve = (fromDir: string, name: string): string | undefined => {
    for (let dir = fromDir; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'node_modules', name);
      if (existsSync(path.join(candidate, 'package.json'))) return candidate;
      if (dir === root || path.dirname(dir) === dir) return undefined;
    }
  };

  const visit = (pkgDir: string, who: string): void => {
    const pkg = readPackage(pkgDir);
    const wanted: [string, boolean][] = [
      ...Object.keys(pkg.dependencies ?? {}).map((n): [string, boolean] => [n, true]),
      ...Object.keys(pkg.optionalDependencies ?? {}).map((n): [string, boolean] => [n, false]),
      ...Object.keys(pkg.peerDependencies ?? {}).map((n): [string, boolean] => [n, false]),
    ];
    for (const [name, required] of wanted) {
      // Type declarations (tedious depends on @types/node) are never loaded at run time.
      if (name.startsWith('@types/')) continue;
      const found = resolve(pkgDir, name);
      if (!found) {
        if (required) missing.push(`${name} (required by ${who})`);
        continue;
      }
      const rel = path.relative(root, found);
      if (lstatSync(found).isSymbolicLink()) {
        const real = realpathSync(found);
        if (!workspaceDirs.has(real)) throw new Error(`${rel} はリポジトリ外へのリンクです (npm link?): ${real}`);
        links.set(rel, { path: rel, target: path.relative(path.dirname(found), real) });
        continue;
      }
      if (packages.has(rel)) continue;
      const dep = readPackage(found);
      packages.set(rel, { name, version: dep.version ?? '0.0.0', dir: rel });
      visit(found, name);
    }
  };

  for (const ws of workspaceDirs) visit(ws, path.relative(root, ws));
  if (missing.length)
    throw new Error(`インストールされていない依存パッケージがあります (npm ci を実行してください): ${missing.join(', ')}`);
  return {
    packages: [...packages.values()].sort((a, b) => a.dir.localeCompare(b.dir)),
    links: [...links.values()].sort((a, b) => a.path.localeCompare(b.path)),
  };
}
