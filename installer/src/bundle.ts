import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packArchive, type ArchiveResult } from './archive.js';
import { productionClosure } from './closure.js';
import { MANIFEST, readManifest, writeManifest, type BundleInfo, type Manifest } from './manifest.js';
import { step } from './progress.js';
import { collect, keepAll, keepCompiled, keepInPackage, type Entry } from './select.js';

export const PLATFORM = 'linux-x64';
/** The workspaces that run on the appliance or the agent PCs (not the installer itself). */
export const RUNTIME_WORKSPACES = ['server', 'rpa-agent'];
/** Folders a workspace needs at run time besides its package.json `files` (server/static: CSS, JS). */
const EXTRA_RUNTIME_DIRS = ['static', 'data']; // server/data: the 団体コード list read by domain/addressParser.ts

const installerDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const archiveName = (version: string): string => `madoguchi-${version}-${PLATFORM}.tar.gz`;
export const topDirName = (version: string): string => `madoguchi-${version}`;

export interface BuildOptions {
  repoRoot: string;
  outDir: string;
  /** gzip level 1–9 (default 6) */
  level?: number;
}

export interface BuildResult {
  archive: ArchiveResult;
  manifest: Manifest;
  seconds: number;
}

interface Generated {
  to: string;
  data: string;
  mode: number;
}

function gitInfo(repoRoot: string): BundleInfo['git'] {
  const head = spawnSync('git', ['-C', repoRoot, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
  if (head.status !== 0) return { commit: null, dirty: false };
  const status = spawnSync('git', ['-C', repoRoot, 'status', '--porcelain'], { encoding: 'utf8' });
  return { commit: head.stdout.trim(), dirty: status.stdout.trim() !== '' };
}

/** The bundle carries this machine's node; one linked against a shared libnode would not start there. */
function checkNodeBinary(node: string): void {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(`バンドルは linux-x64 の Node.js で作成してください (この環境: ${process.platform}-${process.arch})`);
  const ldd = spawnSync('ldd', [node], { encoding: 'utf8' });
  if (ldd.status === 0 && /lib(node|uv)\.so/.test(ldd.stdout)) {
    throw new Error(
      `${node} は共有ライブラリ版の Node.js です (libnode に依存)。nodejs.org 公式版または NodeSource 版の node で作成してください`,
    );
  }
}

function workspaceEntries(repoRoot: string, ws: string, out: Entry[]): void {
  const dir = path.join(repoRoot, ws);
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { files?: string[] };
  out.push({ from: path.join(dir, 'package.json'), to: `app/${ws}/package.json`, size: statSync(path.join(dir, 'package.json')).size });
  for (const name of new Set([...(pkg.files ?? ['bin', 'dist']), ...EXTRA_RUNTIME_DIRS])) {
    const from = path.join(dir, name);
    if (!existsSync(from)) continue;
    if (statSync(from).isDirectory()) collect(from, `app/${ws}/${name}`, keepCompiled, out);
    else out.push({ from, to: `app/${ws}/${name}`, size: statSync(from).size });
  }
}

/** Everything the bundle holds, in the contract's layout under `madoguchi-<version>/`. */
export function planBundle(
  repoRoot: string,
  version: string,
): { entries: Entry[]; generated: Generated[]; links: { to: string; target: string }[]; packages: BundleInfo['packages'] } {
  const entries: Entry[] = [];
  const node = realpathSync(process.execPath);
  checkNodeBinary(node);
  entries.push({ from: node, to: 'node/bin/node', size: statSync(node).size });
  for (const ws of RUNTIME_WORKSPACES) workspaceEntries(repoRoot, ws, entries);
  const closure = productionClosure(repoRoot, RUNTIME_WORKSPACES);
  for (const p of closure.packages) collect(path.join(repoRoot, p.dir), `app/${p.dir}`, keepInPackage, entries);
  collect(path.join(repoRoot, 'config'), 'config', keepAll, entries);
  collect(path.join(repoRoot, 'docs'), 'docs', keepAll, entries);
  for (const script of ['install.sh', 'upgrade.sh', 'verify.sh', 'lib/common.sh', 'bin/madoguchi', 'systemd/madoguchi.service']) {
    const from = path.join(installerDir, 'scripts', script);
    entries.push({ from, to: script, size: statSync(from).size });
  }
  // The Debian package list (`--list server`), so that the server's list travels with the release.
  const deps = path.join(repoRoot, 'scripts/ensure-system-deps.sh');
  entries.push({ from: deps, to: 'ensure-system-deps.sh', size: statSync(deps).size });
  const helper = path.join(installerDir, 'dist/runtime/helper.js');
  if (!existsSync(helper)) throw new Error(`${helper} がありません。先に npm run build を実行してください`);
  const helperCode = readFileSync(helper, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, '');
  const appPackage = { name: 'madoguchi', version, private: true, type: 'module', workspaces: RUNTIME_WORKSPACES };
  return {
    entries,
    generated: [
      { to: 'app/package.json', data: `${JSON.stringify(appPackage, null, 2)}\n`, mode: 0o644 },
      { to: 'lib/helper.mjs', data: helperCode, mode: 0o644 },
    ],
    links: closure.links.map((l) => ({ to: `app/${l.path}`, target: l.target })),
    packages: closure.packages,
  };
}

function stageEntry(e: Entry, top: string, made: Set<string>): void {
  const dest = path.join(top, e.to);
  const parent = path.dirname(dest);
  if (!made.has(parent)) {
    mkdirSync(parent, { recursive: true });
    made.add(parent);
  }
  const target = e.link === false ? null : readlinkSafe(e.from);
  if (target !== null) {
    // A relative link that stays inside its package is kept; anything else would dangle on the server.
    const resolved = path.resolve(path.dirname(dest), target);
    if (path.isAbsolute(target) || !resolved.startsWith(`${top}${path.sep}`))
      throw new Error(`バンドルの外を指すリンクです: ${e.from} -> ${target}`);
    symlinkSync(target, dest);
    return;
  }
  copyFileSync(e.from, dest);
  chmodSync(dest, (e.mode ?? statSync(e.from).mode) & 0o111 ? 0o755 : 0o644);
}

function readlinkSafe(file: string): string | null {
  try {
    return readlinkSync(file);
  } catch {
    return null;
  }
}

/** Writes the manifest of a staged top directory and packs it with its `.sha256` into `outDir`. */
export async function finishRelease(
  top: string,
  info: BundleInfo,
  outDir: string,
  level?: number,
): Promise<{ archive: ArchiveResult; manifest: Manifest }> {
  if (path.basename(top) !== topDirName(info.version))
    throw new Error(`最上位フォルダー名は ${topDirName(info.version)} でなければなりません: ${top}`);
  const total = statTotal(top);
  const hashing = step('SHA-256', total.bytes, total.files);
  const manifest = writeManifest(top, info, (n) => hashing.add(n, 1));
  hashing.stop();
  // tar adds a 512-byte header per entry and pads each file to 512 bytes.
  const tarBytes = manifest.files.reduce((s, f) => s + 512 + Math.ceil(f.size / 512) * 512, 0) + manifest.links.length * 512;
  const packing = step('圧縮', tarBytes, undefined, false);
  mkdirSync(outDir, { recursive: true });
  const archive = await packArchive(path.dirname(top), path.basename(top), path.join(outDir, archiveName(info.version)), {
    level,
    mtime: new Date(info.builtAt),
    onBytes: (n) => packing.add(n),
  });
  packing.stop();
  return { archive, manifest };
}

function statTotal(top: string): { files: number; bytes: number } {
  const files = collect(top, '', keepAll).filter((e) => !e.link && e.to !== `/${MANIFEST}`);
  return { files: files.length, bytes: files.reduce((s, e) => s + e.size, 0) };
}

export async function buildBundle(o: BuildOptions): Promise<BuildResult> {
  const started = Date.now();
  const rootPkg = JSON.parse(readFileSync(path.join(o.repoRoot, 'package.json'), 'utf8')) as { version: string };
  const version = rootPkg.version;
  const plan = planBundle(o.repoRoot, version);
  const stage = path.join(o.outDir, `.stage-${process.pid}`);
  const top = path.join(stage, topDirName(version));
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(top, { recursive: true });
  try {
    const copyBytes = plan.entries.reduce((s, e) => s + e.size, 0);
    const copying = step('コピー', copyBytes, plan.entries.length);
    const made = new Set<string>();
    for (const e of plan.entries) {
      stageEntry(e, top, made);
      copying.add(e.size, 1);
    }
    copying.stop();
    for (const g of plan.generated) {
      mkdirSync(path.dirname(path.join(top, g.to)), { recursive: true });
      writeFileSync(path.join(top, g.to), g.data, { mode: g.mode });
    }
    for (const l of plan.links) {
      mkdirSync(path.dirname(path.join(top, l.to)), { recursive: true });
      symlinkSync(l.target, path.join(top, l.to));
    }
    const info: BundleInfo = {
      name: 'madoguchi',
      version,
      builtAt: new Date().toISOString(),
      node: process.version,
      platform: PLATFORM,
      git: gitInfo(o.repoRoot),
      packages: plan.packages,
    };
    const { archive, manifest } = await finishRelease(top, info, o.outDir, o.level);
    return { archive, manifest, seconds: (Date.now() - started) / 1000 };
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * Re-packs an unpacked (and possibly patched) release under a new version: renames its top
 * directory, rewrites the manifest and packs it. Used to make upgrade candidates for tests and
 * for a vendor's hotfix build from a verified release.
 */
export async function repackRelease(
  top: string,
  version: string,
  outDir: string,
  level?: number,
): Promise<{ archive: ArchiveResult; manifest: Manifest; top: string }> {
  const old = readManifest(top);
  const { files: _f, links: _l, fileCount: _c, totalBytes: _t, format: _v, ...info } = old;
  const renamed = path.join(path.dirname(top), topDirName(version));
  if (renamed !== top) {
    rmSync(renamed, { recursive: true, force: true });
    renameSync(top, renamed);
  }
  const result = await finishRelease(renamed, { ...info, version, builtAt: new Date().toISOString() }, outDir, level);
  return { ...result, top: renamed };
}
