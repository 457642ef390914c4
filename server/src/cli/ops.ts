import path from 'node:path';
import type { Command } from 'commander';
import { ensureDefaultGroups } from '../auth/staffRepo.js';
import { loadAppConfig } from '../config/appConfig.js';
import { migrateLatest, openDatabase } from '../db/connect.js';
import { addBackupCommands as addBackupAndRestore } from '../ops/backup/commands.js';
import { makeDevCertificate } from '../ops/devCert.js';
import { pidFilePath, signalServer } from '../ops/pidFile.js';
import { recordUpsEvent, upsEvents, type UpsEvent } from '../ops/power.js';
import { common, progressBar, withDb } from './common.js';

/** `madoguchi cert dev`. */
export function addCertCommands(program: Command): void {
  program
    .command('cert')
    .description('HTTPS の証明書')
    .command('dev')
    .description('HTTPS を試すためのローカル CA とサーバー証明書を作る (本番では庁内の CA を使う)')
    .option('--out <dir>', '出力フォルダー (既定: <data-dir>/tls)')
    .option('--hosts <names>', '証明書に入れるホスト名・アドレス (カンマ区切り)', 'localhost,127.0.0.1')
    .action((opts: { out?: string; hosts: string }, cmd: Command) => {
      const o = common(cmd);
      const dir = path.resolve(opts.out ?? path.join(o.dataDir, 'tls'));
      const f = makeDevCertificate(
        dir,
        opts.hosts
          .split(',')
          .map((h) => h.trim())
          .filter(Boolean),
      );
      console.log(`作成しました:\n  CA 証明書 (ブラウザ・端末に信頼させる): ${f.caCert}\n  サーバー証明書: ${f.cert}\n  秘密鍵: ${f.key}`);
      console.log(`municipality.yaml に次を設定してください:\nhttp:\n  tls:\n    cert: ${f.cert}\n    key: ${f.key}\n  redirectPort: 80`);
    });
}

/** `madoguchi ups-event`: the power state, and on LOWBATT/FSD a SIGTERM to the server named by the pid file. */
export function addUpsEventCommand(program: Command): void {
  program
    .command('ups-event')
    .description(
      'upsmon (NOTIFYCMD/upssched) から呼ばれる: ONBATT で画面に停電の帯を出して RPA への新しい貸出を止め、ONLINE で元に戻し、LOWBATT/FSD でサーバーを正常に停止する',
    )
    .argument('<event>', 'UPS のイベント: ONBATT (停電)・ONLINE (復電)・LOWBATT (残量低下)・FSD (強制停止)')
    .action(async (event: string, _o, cmd: Command) => {
      const name = event.toUpperCase();
      if (!(name in upsEvents)) {
        console.error(`知らないイベントです: ${event} (ONBATT・ONLINE・LOWBATT・FSD のいずれか)`);
        process.exitCode = 2;
        return;
      }
      const o = common(cmd);
      const state = await withDb(cmd, (knex) => recordUpsEvent(knex, name as UpsEvent));
      console.log(`電源の状態: ${state}`);
      if (state === 'lowBattery' || state === 'shutdown') {
        // A pid file left by a crash may name a process that has since been given the number: never signal that one.
        const r = signalServer(o.dataDir, 'SIGTERM');
        switch (r.outcome) {
          case 'signalled':
            console.log(`サーバー (pid ${r.pid}) に停止を指示しました`);
            break;
          case 'notRunning':
            console.log(`サーバー (pid ${r.pid}) は動いていません`);
            break;
          case 'reused':
            console.log(
              `サーバー (pid ${r.pid}) は動いていません。pid ファイル (${pidFilePath(o.dataDir)}) は古く、その番号はいま別のプロセスのものです (${r.why})。停止の指示は送りません`,
            );
            break;
          case 'failed':
            console.error(`サーバー (pid ${r.pid}) に停止を指示できませんでした: ${r.error}`);
            process.exitCode = 1;
            break;
          case 'noPidFile':
            console.log('動いているサーバーはありません (pid ファイルなし)');
        }
      }
    });
}

/** `madoguchi backup now|list|verify` and `madoguchi restore FILE` (server/src/ops/backup/commands.ts). */
export function addBackupCommands(program: Command): void {
  addBackupAndRestore(program, { common, progressBar });
}

/** `madoguchi migrate`. */
export function addMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('未適用のデータベース移行を適用する')
    .action(async (_o, cmd: Command) => {
      const o = common(cmd);
      const config = loadAppConfig(o.config);
      const knex = openDatabase(config.database, o.dataDir);
      try {
        const applied = await migrateLatest(knex);
        await ensureDefaultGroups(knex);
        console.log(applied.length ? `適用しました: ${applied.join(', ')}` : 'データベースは最新です');
      } finally {
        await knex.destroy();
      }
    });
}
