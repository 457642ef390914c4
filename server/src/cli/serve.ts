import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { loadAppConfig } from '../config/appConfig.js';
import { openDatabase } from '../db/connect.js';
import { createDemoStaff, DEMO_LOGINS_FILE } from '../demo/demoStaff.js';
import { generateTown, MAX_PEOPLE, MIN_PEOPLE } from '../demo/generator.js';
import { todayInJapan } from '../domain/japanTime.js';
import { LayoutRegistry } from '../linkage/forward/layouts.js';
import type { RunningServer } from '../main.js';
import { removePidFile, writePidFile } from '../ops/pidFile.js';
import { version } from '../version.js';
import { readStandbyState } from '../standby/state.js';
import { common, int } from './common.js';
import { runIngest } from './linkage.js';

/**
 * Stops cleanly on SIGTERM/SIGINT. The pid file lets `madoguchi ups-event LOWBATT|FSD` (run by
 * upsmon) find the running server and start the graceful stop well inside upsmon's FINALDELAY.
 */
function onSignalsClose(server: Pick<RunningServer, 'close'>, dataDir: string): (why: string, exitCode?: number) => void {
  writePidFile(dataDir);
  let stopping = false;
  // A second signal (LOWBATT then FSD, or systemd after upsmon) must not cut the stop in half.
  const stop = (why: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${why}\n`);
    server.close().then(
      () => {
        removePidFile(dataDir);
        process.exit(exitCode);
      },
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM を受けたので停止します…'));
  process.on('SIGINT', () => stop('SIGINT を受けたので停止します…'));
  return stop;
}

/** `madoguchi serve` and `madoguchi demo`. */
export function addServeCommands(program: Command): void {
  program
    .command('serve')
    .description('サーバーを起動する (未適用のデータベース移行を先に行う)')
    .action(async (_o, cmd: Command) => {
      const o = common(cmd);
      // Paired as the standby (<data-dir>/standby/state.json): only the receiving side runs.
      if (readStandbyState(o.dataDir)?.role === 'standby') {
        const { startStandbyServer } = await import('../standby/server.js');
        const standby = await startStandbyServer({ configDir: o.config, dataDir: o.dataDir, port: o.port, host: o.host });
        onSignalsClose(standby, o.dataDir);
        console.log(`まどぐち ${version} を待機系として起動しました: ${standby.url}`);
        return;
      }
      const { startServer } = await import('../main.js');
      const server = await startServer({ configDir: o.config, dataDir: o.dataDir, port: o.port, host: o.host });
      const stop = onSignalsClose(server, o.dataDir);
      // Fail closed: a primary whose peer was promoted meanwhile stops (exit 1), and its start refuses until rejoin.
      if (server.standby)
        server.standby.onFailedOver = (m) => stop(`エラー: ${m} 停止します。madoguchi standby rejoin を実行してください。`, 1);
      console.log(`まどぐち ${version} を起動しました: ${server.url}`);
    });

  program
    .command('demo')
    .description('初回はデモの町を生成して取り込み、デモ用の職員を作ってから起動する。2 回目からは起動だけ')
    .addOption(new Option('--people <n>', 'デモの町の住民数').default(5000).argParser(int('people', MIN_PEOPLE, MAX_PEOPLE)))
    .option('--seed <seed>', 'デモの町の乱数シード', 'madoguchi')
    .action(async (opts: { people: number; seed: string }, cmd: Command) => {
      const o = common(cmd);
      const config = loadAppConfig(o.config);
      const dbFile = path.resolve(o.dataDir, config.database.sqlite.file);
      const fresh = config.database.client === 'sqlite' ? !existsSync(dbFile) : false;
      if (fresh) {
        mkdirSync(o.dataDir, { recursive: true });
        const out = path.join(o.dataDir, 'demo-town');
        console.log(`デモの町 (${config.municipality.name}, ${opts.people.toLocaleString('ja-JP')} 人) を生成しています…`);
        await generateTown({
          people: opts.people,
          outDir: out,
          encoding: 'cp932',
          seed: opts.seed,
          asOf: todayInJapan(),
          diff: true,
          municipality: config.municipality,
          layouts: LayoutRegistry.load(o.config),
        });
        await runIngest(o, out, undefined);
        const knex = openDatabase(config.database, o.dataDir);
        try {
          await createDemoStaff(knex, o.dataDir);
        } finally {
          await knex.destroy();
        }
      }
      const { startServer } = await import('../main.js');
      const server = await startServer({ configDir: o.config, dataDir: o.dataDir, port: o.port, host: o.host });
      onSignalsClose(server, o.dataDir);
      console.log(`\nまどぐち ${version} (デモ) を起動しました: ${server.url}`);
      const logins = path.join(o.dataDir, DEMO_LOGINS_FILE);
      if (existsSync(logins)) console.log(`\nデモ用の職員アカウント (${logins}):\n${readFileSync(logins, 'utf8')}`);
      console.log('停止するには Ctrl+C を押してください。');
    });
}
