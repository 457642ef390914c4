import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { exportAuditCsv, verifyAudit } from '../audit/trail.js';
import { loadAppConfig } from '../config/appConfig.js';
import { migrateLatest, openDatabase } from '../db/connect.js';
import { common, DATE_RE } from './common.js';

/** `madoguchi audit verify|export`. */
export function addAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('recompute the hash chain; exits 1 and names the first broken record')
    .option('--from <date>', 'first day (YYYY-MM-DD, Japan time)')
    .option('--to <date>', 'last day (YYYY-MM-DD, Japan time)')
    .action(async (opts: { from?: string; to?: string }, cmd: Command) => {
      const o = common(cmd);
      for (const d of [opts.from, opts.to])
        if (d && !DATE_RE.test(d)) throw new InvalidArgumentError('日付は YYYY-MM-DD で指定してください');
      const config = loadAppConfig(o.config);
      const knex = openDatabase(config.database, o.dataDir);
      try {
        await migrateLatest(knex);
        const r = await verifyAudit(knex, { ...(opts.from ? { from: opts.from } : {}), ...(opts.to ? { to: opts.to } : {}) });
        if (r.ok) console.log(`監査ログは正常です (${r.checked.toLocaleString('ja-JP')} 件を検証)`);
        else {
          console.error(`監査ログの連鎖が壊れています: 連番 ${r.broken!.seq} — ${r.broken!.reason} (${r.checked} 件目まで正常)`);
          process.exitCode = 1;
        }
      } finally {
        await knex.destroy();
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
