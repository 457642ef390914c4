import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { anchorFilePath } from '../audit/anchorFile.js';
import { exportAuditCsv, verifyAudit, writeAnchor } from '../audit/trail.js';
import { loadAppConfig } from '../config/appConfig.js';
import { migrateLatest, openDatabase } from '../db/connect.js';
import { closeLogger, createLogger } from '../ops/logger.js';
import { common, DATE_RE } from './common.js';

/** `madoguchi audit verify|anchor|export`. */
export function addAuditCommands(program: Command): void {
  const audit = program.command('audit').description('改ざんを検知できる監査ログ');
  audit
    .command('verify')
    .description('ハッシュの連鎖を計算し直してアンカーファイルと照合する。壊れていれば最初の壊れた記録を示し、終了コード 1')
    .option('--from <date>', '最初の日 (YYYY-MM-DD、日本時間)')
    .option('--to <date>', '最後の日 (YYYY-MM-DD、日本時間)')
    .option('--anchors <file>', 'アンカーファイル (既定: audit.anchorFile、<data-dir>/audit-anchors.log)')
    .option('--no-anchors', '連鎖だけを検査する (別のフォルダーでの復元訓練など)')
    .action(async (opts: { from?: string; to?: string; anchors?: string | false }, cmd: Command) => {
      const o = common(cmd);
      for (const d of [opts.from, opts.to])
        if (d && !DATE_RE.test(d)) throw new InvalidArgumentError('日付は YYYY-MM-DD で指定してください');
      const config = loadAppConfig(o.config);
      const anchorFile = opts.anchors === false ? undefined : opts.anchors ? path.resolve(opts.anchors) : anchorFilePath(config, o.dataDir);
      const knex = openDatabase(config.database, o.dataDir);
      try {
        await migrateLatest(knex);
        const r = await verifyAudit(
          knex,
          { ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}) },
          anchorFile ? { anchorFile } : {},
        );
        if (r.ok) {
          console.log(`監査ログは正常です (${r.checked.toLocaleString('ja-JP')} 件を検証)`);
          if (!anchorFile) console.log('アンカーとの照合はしていません (--no-anchors)');
          else if (r.anchors) console.log(`アンカー ${r.anchors.toLocaleString('ja-JP')} 件と一致しました (${anchorFile})`);
          else console.log(`照合したアンカーはありません (${anchorFile})。\`madoguchi audit anchor\` で書けます`);
        } else {
          console.error(`監査ログの連鎖が壊れています: 連番 ${r.broken!.seq} — ${r.broken!.reason} (${r.checked} 件目まで正常)`);
          process.exitCode = 1;
        }
      } finally {
        await knex.destroy();
      }
    });
  audit
    .command('anchor')
    .description('連鎖の先頭 (連番とハッシュ) をいまアンカーファイルとログに書く')
    .option('--file <file>', 'アンカーファイル (既定: audit.anchorFile、<data-dir>/audit-anchors.log)')
    .action(async (opts: { file?: string }, cmd: Command) => {
      const o = common(cmd);
      const config = loadAppConfig(o.config);
      const file = opts.file ? path.resolve(opts.file) : anchorFilePath(config, o.dataDir);
      const knex = openDatabase(config.database, o.dataDir);
      const logger = createLogger({
        dataDir: o.dataDir,
        console: false,
        level: config.logging.level,
        retainDays: config.logging.retainDays,
      });
      try {
        await migrateLatest(knex);
        const a = await writeAnchor(knex, { file, kind: 'manual', log: logger });
        console.log(`アンカーを書きました: 連番 ${a.seq} ハッシュ ${a.hash} (${file} の ${a.line} 行目、チェーンは連番 ${a.start} から)`);
      } catch (e) {
        console.error(`アンカーを書けませんでした: ${e instanceof Error ? e.message : String(e)}`);
        process.exitCode = 1;
      } finally {
        await knex.destroy();
        await closeLogger(logger);
      }
    });
  audit
    .command('export')
    .description('期間の監査ログを CSV (BOM 付き UTF-8) で書き出す')
    .requiredOption('--from <date>', '最初の日 (YYYY-MM-DD、日本時間)')
    .requiredOption('--to <date>', '最後の日 (YYYY-MM-DD、日本時間)')
    .option('--out <file>', '出力ファイル (既定: 標準出力)')
    .action(async (opts: { from: string; to: string; out?: string }, cmd: Command) => {
      const o = common(cmd);
      for (const d of [opts.from, opts.to]) if (!DATE_RE.test(d)) throw new InvalidArgumentError('日付は YYYY-MM-DD で指定してください');
      const config = loadAppConfig(o.config);
      const knex = openDatabase(config.database, o.dataDir);
      try {
        await migrateLatest(knex);
        const csv = await exportAuditCsv(knex, opts);
        if (opts.out) writeFileSync(opts.out, csv, 'utf8');
        else process.stdout.write(csv);
      } finally {
        await knex.destroy();
      }
    });
}
