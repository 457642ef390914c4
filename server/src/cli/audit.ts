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
  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('recompute the hash chain and check it against the anchor file; exits 1 and names the first broken record')
    .option('--from <date>', 'first day (YYYY-MM-DD, Japan time)')
    .option('--to <date>', 'last day (YYYY-MM-DD, Japan time)')
    .option('--anchors <file>', 'anchor file (default: audit.anchorFile, <data-dir>/audit-anchors.log)')
    .option('--no-anchors', 'check the chain only (a restore drill in another folder)')
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
    .description('write the chain head (sequence and hash) to the anchor file and the log now')
    .option('--file <file>', 'anchor file (default: audit.anchorFile, <data-dir>/audit-anchors.log)')
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
    .description('write the audit trail of a period as CSV (UTF-8 with BOM)')
    .requiredOption('--from <date>', 'first day (YYYY-MM-DD, Japan time)')
    .requiredOption('--to <date>', 'last day (YYYY-MM-DD, Japan time)')
    .option('--out <file>', 'output file (default: standard output)')
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
