import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadAppConfig } from '../config/appConfig.js';
import { todayInJapan } from '../domain/japanTime.js';
import { exportNoticesCsv } from '../rpa/csvOut.js';
import { cliActor, common, DATE_RE, withDb } from './common.js';

/** `madoguchi notices export`. */
export function addNoticesCommands(program: Command): void {
  program
    .command('notices')
    .description('accepted notices for the core system')
    .command('export')
    .description('write the notices accepted on a day as CSV (tmp + rename) into backwardLinkage.csvDir')
    .option('--date <YYYY-MM-DD>', 'the Japanese day (default: today)')
    .addOption(new Option('--encoding <enc>', 'utf8 (BOM) or cp932').choices(['utf8', 'cp932']))
    .action(async (opts: { date?: string; encoding?: 'utf8' | 'cp932' }, cmd: Command) => {
      const o = common(cmd);
      const config = loadAppConfig(o.config);
      const date = opts.date ?? todayInJapan();
      if (!DATE_RE.test(date)) throw new InvalidArgumentError('--date は YYYY-MM-DD で指定してください');
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
