import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import path from 'node:path';
import { mirrorDir, standbyDir, writeFileAtomic } from './state.js';
import { ShipmentRefused } from './replica.js';

/**
 * The files shipped besides the database, mirrored under `<data-dir>/standby/files/<root>/…`:
 * `config/` (the configuration folder, scenarios included), `evidence/` (RPA evidence) and
 * `anchor/` (the audit anchor file). By manifest of relative path, size, mtime and SHA-256:
 * changed files are sent, files gone on the primary are deleted from the mirror.
 */
export const FILE_ROOTS = ['config', 'evidence', 'anchor'] as const;
export type FileRoot = (typeof FILE_ROOTS)[number];

export interface FileEntry {
  path: string;
  size: number;
  mtimeMs: number;
  sha256: string;
}

export interface FilesManifest {
  epoch: number;
  at: string;
  files: FileEntry[];
}

/** Where each root is on the primary. `anchor` is a single file. */
export interface FileSources {
  config: string;
  evidence: string;
  anchorFile: string;
}

/** `<root>/a/b`: a known root, no empty, `.` or `..` segment, no backslash or NUL. */
export function safeRelative(p: string): boolean {
  const parts = p.split('/');
  return (
    parts.length >= 2 &&
    (FILE_ROOTS as readonly string[]).includes(parts[0]!) &&
    parts.every((s) => s !== '' && s !== '.' && s !== '..' && !/[\\\0]/.test(s))
  );
}

function walk(root: string, prefix: string, out: { abs: string; rel: string }[]): void {
  if (!existsSync(root)) return;
  for (const d of readdirSync(root, { withFileTypes: true })) {
    const abs = path.join(root, d.name);
    const rel = `${prefix}/${d.name}`;
    if (d.isDirectory()) walk(abs, rel, out);
    else if (d.isFile() && !d.name.endsWith('.tmp')) out.push({ abs, rel });
  }
}

/** The primary's side: lists the files with hashes (cached by size and mtime between cycles). */
export class FileLister {
  private cache = new Map<string, FileEntry>();
  constructor(private readonly sources: FileSources) {}

  list(): { entries: FileEntry[]; abs: Map<string, string> } {
    const found: { abs: string; rel: string }[] = [];
    walk(this.sources.config, 'config', found);
    walk(this.sources.evidence, 'evidence', found);
    if (existsSync(this.sources.anchorFile))
      found.push({ abs: this.sources.anchorFile, rel: `anchor/${path.basename(this.sources.anchorFile)}` });
    const entries: FileEntry[] = [];
    const abs = new Map<string, string>();
    for (const f of found) {
      if (!safeRelative(f.rel)) continue;
      let st;
      try {
        st = statSync(f.abs);
      } catch {
        continue; // gone meanwhile
      }
      const cached = this.cache.get(f.rel);
      let e: FileEntry;
      if (cached && cached.size === st.size && cached.mtimeMs === st.mtimeMs) e = cached;
      else {
        let data: Buffer;
        try {
          data = readFileSync(f.abs);
        } catch {
          continue;
        }
        e = { path: f.rel, size: data.length, mtimeMs: st.mtimeMs, sha256: createHash('sha256').update(data).digest('hex') };
        this.cache.set(f.rel, e);
      }
      entries.push(e);
      abs.set(f.rel, f.abs);
    }
    return { entries, abs };
  }
}

export interface FilesState {
  epoch: number;
  /** When the mirror was last complete (the primary's manifest time). */
  syncedAt: string;
  files: number;
  bytes: number;
}

const filesStateFile = (dataDir: string) => path.join(standbyDir(dataDir), 'files.json');

export function readFilesState(dataDir: string): FilesState | null {
  try {
    return JSON.parse(readFileSync(filesStateFile(dataDir), 'utf8')) as FilesState;
  } catch {
    return null;
  }
}

/** The standby's side of the file mirror. */
export class FileMirror {
  private expected = new Map<string, FileEntry>();
  /** Mirror files whose hash was checked, by path → size:mtime, so that each offer does not reread all. */
  private known = new Map<string, string>();

  constructor(private readonly dataDir: string) {}

  private abs(rel: string): string {
    return path.join(mirrorDir(this.dataDir), rel);
  }

  /** The manifest: deletes what the primary no longer has, answers what to send. */
  offer(raw: unknown): { need: string[] } {
    const m = raw as Partial<FilesManifest>;
    if (
      !m ||
      !Number.isInteger(m.epoch) ||
      typeof m.at !== 'string' ||
      !Array.isArray(m.files) ||
      !m.files.every(
        (f) =>
          f &&
          typeof f.path === 'string' &&
          safeRelative(f.path) &&
          Number.isInteger(f.size) &&
          typeof f.mtimeMs === 'number' &&
          /^[0-9a-f]{64}$/.test(String(f.sha256)),
      )
    )
      throw new ShipmentRefused('manifest.invalid', 'ファイルの目録の形式が正しくありません。');
    this.expected = new Map(m.files.map((f) => [f.path, f]));
    const present: { abs: string; rel: string }[] = [];
    for (const root of FILE_ROOTS) walk(this.abs(root), root, present);
    for (const p of present) {
      if (!this.expected.has(p.rel)) {
        rmSync(p.abs, { force: true });
        this.known.delete(p.rel);
      }
    }
    const need: string[] = [];
    let bytes = 0;
    for (const f of m.files) {
      bytes += f.size;
      const file = this.abs(f.path);
      let st;
      try {
        st = lstatSync(file);
      } catch {
        need.push(f.path);
        continue;
      }
      const stamp = `${st.size}:${st.mtimeMs}`;
      if (this.known.get(f.path) === `${stamp}:${f.sha256}`) continue;
      if (st.size === f.size && createHash('sha256').update(readFileSync(file)).digest('hex') === f.sha256) {
        this.known.set(f.path, `${stamp}:${f.sha256}`);
        continue;
      }
      need.push(f.path);
    }
    if (need.length === 0)
      writeFileAtomic(
        filesStateFile(this.dataDir),
        `${JSON.stringify({ epoch: m.epoch!, syncedAt: m.at, files: m.files.length, bytes } satisfies FilesState)}\n`,
      );
    return { need };
  }

  /** One file's content (hash signed as `bodySha`), checked against the last manifest. */
  async put(rel: string, body: Readable, bodySha: string): Promise<void> {
    const want = this.expected.get(rel);
    if (!want || !safeRelative(rel)) throw new ShipmentRefused('manifest.invalid', `目録にないファイルです: ${rel}`);
    if (want.sha256 !== bodySha) throw new ShipmentRefused('file.sha', `ファイル ${rel} の SHA-256 が目録と合いません。`);
    const file = this.abs(rel);
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.incoming`;
    const h = createHash('sha256');
    try {
      await pipeline(
        body,
        new Transform({
          transform(c: Buffer, _e, done) {
            h.update(c);
            done(null, c);
          },
        }),
        createWriteStream(tmp),
      );
      if (h.digest('hex') !== want.sha256)
        throw new ShipmentRefused('file.sha', `ファイル ${rel} が転送中に壊れました (SHA-256 が合いません)。`);
      const t = new Date(want.mtimeMs);
      utimesSync(tmp, t, t);
      renameSync(tmp, file);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
}

export const readStream = (file: string): Readable => createReadStream(file);
