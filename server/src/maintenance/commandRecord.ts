import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { loadAppConfig } from '../config/appConfig.js';
import { openDatabase } from '../db/connect.js';
import { recordCommandEnd, recordCommandStart, type CommandRun } from './log.js';
import { redactArgv } from './redact.js';

/**
 * Records every run of the `madoguchi` command in `maintenance_commands` (cli/index.ts `main()`
 * starts it before any command's action, so a new command cannot pass by it). Recording never
 * stops a command: when the database is not there, not migrated or not reachable, the run goes on
 * and one line on stderr says it was not recorded. The database is never created or migrated
 * here (that is `migrate`'s and the commands' business), and no connection is held while the
 * command runs (`restore` replaces the file, `backup` copies it).
 */

/** Commands not recorded: the services (their start is in the journal, they never end as a command) and the PAM hook itself. */
const NOT_RECORDED = new Set(['serve', 'demo', 'maintenance pam']);
/** A recording that takes longer than this is given up (a SQL Server that does not answer). */
const RECORD_TIMEOUT_MS = 5_000;

const osUserName = (): string => {
  try {
    return os.userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? '?'}`;
  }
};

/** The client's address from `SSH_CONNECTION` ("client port server port"; kept through sudo by the role's env_keep). */
export function sshClientAddress(env: NodeJS.ProcessEnv): string | null {
  const first = (env.SSH_CONNECTION ?? env.SSH_CLIENT ?? '').trim().split(/\s+/)[0];
  return first ? first.slice(0, 64) : null;
}

export interface RecordTarget {
  config: string;
  dataDir: string;
}

export class CommandRecorder {
  private run: CommandRun | null = null;
  private target: RecordTarget | null = null;

  constructor(
    private readonly args: readonly string[],
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly warn: (line: string) => void = (l) => console.error(l),
  ) {}

  /** Called before the command's action (commander's preAction hook) with its name and the global options. */
  async start(commandPath: string, target: RecordTarget): Promise<void> {
    if (NOT_RECORDED.has(commandPath)) return;
    this.target = target;
    this.run = {
      runId: randomUUID(),
      osUser: osUserName(),
      sudoUser: this.env.SUDO_USER?.trim() || null,
      clientAddress: sshClientAddress(this.env),
      argv: redactArgv(this.args),
      host: os.hostname(),
      startedAt: new Date(),
    };
    const run = this.run;
    if (!(await this.write((knex) => recordCommandStart(knex, run)))) this.run = null;
  }

  /** Called once the command is over, with its exit code. */
  async finish(exitCode: number): Promise<void> {
    const run = this.run;
    if (!run) return;
    this.run = null;
    await this.write((knex) => recordCommandEnd(knex, run, exitCode));
  }

  private async write(f: (knex: Knex) => Promise<void>): Promise<boolean> {
    const skip = (why: string) => {
      this.warn(`保守の記録: このコマンドの実行は記録しません (${why})`);
      return false;
    };
    let knex: Knex;
    try {
      const settings = loadAppConfig(this.target!.config).database;
      if (settings.client === 'sqlite') {
        const file = path.resolve(this.target!.dataDir, settings.sqlite.file);
        if (!existsSync(file)) return skip('データベースがまだありません');
        // root would leave root-owned -wal/-shm files that the service cannot open.
        if (process.getuid?.() === 0 && statSync(file).uid !== 0)
          return skip('root では書き込みません。sudo -u madoguchi で実行してください');
      }
      knex = openDatabase(settings, this.target!.dataDir);
    } catch (e) {
      return skip(`設定またはデータベースを開けません: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('データベースが応答しません')), RECORD_TIMEOUT_MS);
      });
      const work = (async () => {
        if (!(await knex.schema.hasTable('maintenance_commands'))) throw new Error('データベースが更新されていません (madoguchi migrate)');
        await f(knex);
      })();
      await Promise.race([work, timeout]);
      return true;
    } catch (e) {
      return skip(e instanceof Error ? e.message.split('\n')[0]! : String(e));
    } finally {
      clearTimeout(timer);
      await knex.destroy().catch(() => undefined);
    }
  }
}
