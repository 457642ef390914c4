import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadAppConfig } from '../config/appConfig.js';
import { todayInJapan } from '../domain/japanTime.js';
import { cliActor, common, DATE_RE, withDb } from './common.js';

/** `madoguchi notices export`. */
export function addNoticesCommands(program: Command): void {
  program
    .command('notices')
    .description('基幹系に渡す受理済みの届出')
    .command('export')
    .description('1 日に受理した届出を CSV で backwardLinkage.csvDir に書き出す (一時ファイルに書いてから名前を変える)')
    .option('--date <YYYY-MM-DD>', '日付 (日本時間。既定: 今日)')
    .addOption(new Option('--encoding <enc>', '文字コード (utf8 は BOM 付き。既定: backwardLinkage.encoding)').choices(['utf8', 'cp932']))
    .action(async (opts: { date?: string; encoding?: 'utf8' | 'cp932' }, cmd: Command) => {
      const o = common(cmd);
      const config = loadAppConfig(o.config);
      const date = opts.date ?? todayInJapan();
      if (!DATE_RE.test(date)) throw new InvalidArgumentError('--date は YYYY-MM-DD で指定してください');
      const { exportNoticesCsv } = await import('../rpa/csvOut.js');
      const r = await withDb(cmd, (knex) =>
        exportNoticesCsv(
          knex,
          { date, dir: path.resolve(o.dataDir, config.backwardLinkage.csvDir), encoding: opts.encoding ?? config.backwardLinkage.encoding },
          cliActor(),
        ),
      );
      console.log(`${r.file}\t届出 ${r.notices} 件\t${r.rows} 行`);
    });
}
