import Database from 'better-sqlite3';

/** sqlite3_backup_step with a negative count copies everything; better-sqlite3 clamps to 0…2^31-1. */
const ALL_PAGES = 0x7fffffff;

export interface OnlineBackupOptions {
  /** Pages copied per step; the event loop runs between steps (default 1024 pages, 4 MB). */
  pagesPerStep?: number;
  onProgress?: (donePages: number, totalPages: number) => void;
}

/**
 * An online copy with the SQLite backup API, never a file copy: each step reads a consistent
 * snapshot, and SQLite restarts the copy when another connection (the server, another process)
 * wrote in between. So that a busy database still gets backed up, each restart makes the steps
 * four times larger, and the third copies all remaining pages in one step, in one read
 * transaction. In WAL mode that step does not block writers; it blocks this event loop for its
 * duration, which the nightly schedule (outside counter hours) makes acceptable.
 */
export async function onlineBackup(source: string, dest: string, opts: OnlineBackupOptions = {}): Promise<{ restarts: number }> {
  const db = new Database(source, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    let step = Math.max(1, opts.pagesPerStep ?? 1024);
    let lastRemaining = Number.POSITIVE_INFINITY;
    let restarts = 0;
    await db.backup(dest, {
      progress: ({ totalPages, remainingPages }) => {
        if (remainingPages > lastRemaining) {
          restarts += 1;
          step = restarts >= 3 ? ALL_PAGES : Math.min(ALL_PAGES, step * 4);
        }
        lastRemaining = remainingPages;
        opts.onProgress?.(totalPages - remainingPages, totalPages);
        return step;
      },
    });
    return { restarts };
  } finally {
    db.close();
  }
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

export function tableCounts(db: Database.Database): Record<string, number> {
  const names = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").all() as {
      name: string;
    }[]
  ).map((r) => r.name);
  const counts: Record<string, number> = {};
  for (const name of names) counts[name] = Number((db.prepare(`SELECT count(*) AS n FROM ${quote(name)}`).get() as { n: number }).n);
  return counts;
}

/**
 * Makes the copied file stand alone (rollback journal instead of WAL, so no -wal/-shm files
 * belong to it) and describes it. The server switches it back to WAL when it opens it.
 */
export function describeSnapshot(file: string): { pageSize: number; pageCount: number; tables: Record<string, number> } {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('journal_mode = DELETE');
    return {
      pageSize: Number(db.pragma('page_size', { simple: true })),
      pageCount: Number(db.pragma('page_count', { simple: true })),
      tables: tableCounts(db),
    };
  } finally {
    db.close();
  }
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export interface DatabaseCheck {
  problems: string[];
  tables: Record<string, number> | null;
}

/** integrity_check, foreign_key_check and row counts of a database file (open a copy: this may write). */
export function checkDatabase(file: string): DatabaseCheck {
  const problems: string[] = [];
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true });
  } catch (e) {
    return { problems: [`データベースを開けません: ${message(e)}`], tables: null };
  }
  try {
    try {
      const lines = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
      if (lines.length !== 1 || lines[0] !== 'ok') {
        problems.push(
          `整合性検査 (PRAGMA integrity_check) で異常があります: ${lines.slice(0, 3).join(' / ')}${lines.length > 3 ? ` ほか ${lines.length - 3} 件` : ''}`,
        );
      }
    } catch (e) {
      problems.push(`整合性検査 (PRAGMA integrity_check) ができません: ${message(e)}`);
    }
    try {
      const orphans = db.pragma('foreign_key_check') as { table: string; parent: string }[];
      const byTable = new Map<string, number>();
      for (const o of orphans) byTable.set(`${o.table} → ${o.parent}`, (byTable.get(`${o.table} → ${o.parent}`) ?? 0) + 1);
      for (const [link, n] of byTable) problems.push(`参照先のない行があります (PRAGMA foreign_key_check): ${link} ${n} 行`);
    } catch (e) {
      problems.push(`外部キーの検査 (PRAGMA foreign_key_check) ができません: ${message(e)}`);
    }
    try {
      return { problems, tables: tableCounts(db) };
    } catch (e) {
      problems.push(`表の件数を数えられません: ${message(e)}`);
      return { problems, tables: null };
    }
  } finally {
    db.close();
  }
}
