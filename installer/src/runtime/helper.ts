/**
 * Shipped in every bundle as lib/helper.mjs and run by install.sh/upgrade.sh with the bundle's own
 * node: what bash cannot do portably (HTTP health checks, reading municipality.yaml, the SQLite
 * backup API). It imports only Node built-ins and, at run time, the release's own app/.
 */
import { copyFileSync, existsSync, fsyncSync, openSync, closeSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const releaseDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const appRequire = createRequire(path.join(releaseDir, 'app/server/package.json'));

interface HealthAnswer {
  status: number;
  body: string;
}

function get(url: string, timeoutMs: number): Promise<HealthAnswer> {
  const lib = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    // The appliance's certificate is issued for its LAN name, not for 127.0.0.1: a local liveness probe.
    const req = lib.get(url, { timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('応答がありません')));
    req.on('error', reject);
  });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

async function waitHealth(url: string, timeoutS: number, pid?: number): Promise<number> {
  const deadline = Date.now() + timeoutS * 1000;
  let last = 'まだ応答がありません';
  for (;;) {
    try {
      const r = await get(url, 3000);
      let ok = false;
      try {
        ok = r.status === 200 && (JSON.parse(r.body) as { status?: string }).status === 'ok';
      } catch {
        ok = false;
      }
      if (ok) {
        console.log(r.body);
        return 0;
      }
      last = `HTTP ${r.status} ${r.body.slice(0, 300)}`;
    } catch (e) {
      last = `接続できません (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
    }
    if (pid !== undefined && !alive(pid)) {
      console.error(`サーバーのプロセス (pid ${pid}) が終了しました。最後の応答: ${last}`);
      return 2;
    }
    if (Date.now() >= deadline) {
      console.error(`${timeoutS} 秒以内に正常な応答がありませんでした。最後の応答: ${last}`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface AppConfigLike {
  http?: { tls?: unknown };
  database: { client: string; sqlite: { file: string } };
}

async function loadConfig(configDir: string): Promise<AppConfigLike> {
  const mod = (await import(pathToFileURL(path.join(releaseDir, 'app/server/dist/config/appConfig.js')).href)) as {
    loadAppConfig(dir: string): AppConfigLike;
  };
  return mod.loadAppConfig(configDir);
}

async function healthUrl(configDir: string, host: string, port: string): Promise<string> {
  let tls = false;
  try {
    tls = Boolean((await loadConfig(configDir)).http?.tls);
  } catch {
    tls = false;
  }
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${tls ? 'https' : 'http'}://${h.includes(':') ? `[${h}]` : h}:${port}/healthz`;
}

async function dbFile(configDir: string, dataDir: string): Promise<number> {
  const config = await loadConfig(configDir);
  if (config.database.client !== 'sqlite') {
    console.log(config.database.client);
    return 3;
  }
  console.log(path.resolve(dataDir, config.database.sqlite.file));
  return 0;
}

type SqliteDb = {
  backup(dest: string): Promise<unknown>;
  pragma(s: string, o?: { simple: boolean }): unknown;
  close(): void;
};
const openSqlite = (file: string, readonly: boolean): SqliteDb => {
  const Database = appRequire('better-sqlite3') as new (f: string, o: { readonly: boolean; fileMustExist: boolean }) => SqliteDb;
  return new Database(file, { readonly, fileMustExist: true });
};

async function sqliteBackup(src: string, dest: string): Promise<number> {
  const db = openSqlite(src, false);
  try {
    db.pragma('busy_timeout = 10000');
    await db.backup(`${dest}.part`);
  } finally {
    db.close();
  }
  renameSync(`${dest}.part`, dest);
  console.log(dest);
  return 0;
}

/** A backup folder written by `madoguchi backup now` names its database file in manifest.json. */
function backupDatabaseFile(src: string): string {
  if (!statSync(src).isDirectory()) return src;
  const m = JSON.parse(readFileSync(path.join(src, 'manifest.json'), 'utf8')) as { database?: { client?: string; file?: string } | null };
  if (m.database?.client !== 'sqlite' || !m.database.file) throw new Error(`${src} に SQLite のデータベースがありません`);
  return path.resolve(src, m.database.file);
}

/** Puts a backup back while the server is stopped: checked first, copied beside, then renamed over. */
function sqliteRestore(src: string, dest: string): number {
  const file = backupDatabaseFile(src);
  const check = openSqlite(file, true);
  try {
    const result = check.pragma('integrity_check', { simple: true });
    if (result !== 'ok') throw new Error(`バックアップが壊れています (${String(result)}): ${file}`);
  } finally {
    check.close();
  }
  const tmp = `${dest}.restoring`;
  copyFileSync(file, tmp);
  const fd = openSync(tmp, 'r+');
  fsyncSync(fd);
  closeSync(fd);
  for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${dest}${suffix}`, { force: true });
  renameSync(tmp, dest);
  console.log(`${file} -> ${dest}`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...args] = argv;
  const need = (n: number) => {
    if (args.length < n || args.slice(0, n).some((a) => a === undefined || a === '')) throw new Error(`${cmd}: 引数が足りません`);
  };
  switch (cmd) {
    case 'wait-health':
      need(2);
      return waitHealth(args[0]!, Number(args[1]), args[2] ? Number(args[2]) : undefined);
    case 'health-url':
      need(3);
      console.log(await healthUrl(args[0]!, args[1]!, args[2]!));
      return 0;
    case 'db-file':
      need(2);
      return dbFile(args[0]!, args[1]!);
    case 'sqlite-backup':
      need(2);
      if (!existsSync(args[0]!)) throw new Error(`データベースがありません: ${args[0]}`);
      return sqliteBackup(args[0]!, args[1]!);
    case 'sqlite-restore':
      need(2);
      return sqliteRestore(args[0]!, args[1]!);
    default:
      throw new Error(`知らないコマンドです: ${cmd ?? ''}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  },
);
