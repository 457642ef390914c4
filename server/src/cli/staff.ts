import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import {
  applyStaffImport,
  formatStaffDiff,
  japanTimestamp,
  parseStaffCsv,
  planStaffImport,
  writeInitialPasswords,
} from '../auth/staffImport.js';
import { loadAppConfig } from '../config/appConfig.js';
import { migrateLatest, openDatabase } from '../db/connect.js';
import { cliActor, common } from './common.js';

/** `madoguchi staff import`. */
export function addStaffCommands(program: Command): void {
  const staff = program.command('staff').description('職員アカウント');
  staff
    .command('import')
    .description('人事異動を CSV (UTF-8 または CP932) から一括で反映する。差分を表示してから、すべて反映するか何も変えないか')
    .argument('<file>', 'CSV ファイル (列: ログインID, 氏名, 所属, グループ, 有効期間開始, 有効期間終了, 状態, 初期パスワード)')
    .option('--dry-run', '差分を表示するだけで、何も変更しない', false)
    .option(
      '--passwords-out <file>',
      '追加した職員の初期パスワードを書くファイル (既定: <data-dir>/staff-import-passwords-<YYYYMMDDHHmmss>.txt、モード 0600)',
    )
    .action(async (file: string, opts: { dryRun: boolean; passwordsOut?: string }, cmd: Command) => {
      const o = common(cmd);
      if (!existsSync(file) || !statSync(file).isFile()) throw new InvalidArgumentError(`ファイルがありません: ${file}`);
      const config = loadAppConfig(o.config);
      const parsed = parseStaffCsv(readFileSync(file), file);
      const knex = openDatabase(config.database, o.dataDir);
      try {
        await migrateLatest(knex);
        const plan = await planStaffImport(knex, parsed, { passwordPolicy: config.auth.password });
        if (plan.errors.length) {
          for (const e of plan.errors) console.error(`${file}:${e.line}${e.column ? ` 列「${e.column}」` : ''}: ${e.message}`);
          console.error(`エラーが ${plan.errors.length} 件あるため反映していません (1 件でもエラーがあれば何も変更しません)`);
          process.exitCode = 2;
          return;
        }
        console.log(`${file} (${parsed.encoding === 'utf8' ? 'UTF-8' : 'CP932 (Shift_JIS)'}, ${parsed.rows.length} 人)`);
        process.stdout.write(formatStaffDiff(plan));
        if (opts.dryRun) {
          console.log('ドライランのため反映していません');
          return;
        }
        const adds = plan.changes.flatMap((c) =>
          c.kind === 'add' ? [{ loginId: c.loginId, displayName: c.after.displayName, password: c.password }] : [],
        );
        if (!plan.changes.some((c) => c.kind !== 'unchanged')) {
          console.log('反映する変更はありません');
          return;
        }
        // The passwords are written before the change commits, so that none can be lost after it.
        const passwordsFile = adds.length
          ? path.resolve(opts.passwordsOut ?? path.join(o.dataDir, `staff-import-passwords-${japanTimestamp()}.txt`))
          : undefined;
        if (passwordsFile) writeInitialPasswords(passwordsFile, adds);
        try {
          const r = await applyStaffImport(knex, plan, cliActor());
          console.log(`反映しました: 追加 ${r.added.length} 件、変更 ${r.updated} 件、無効化 ${r.disabled} 件`);
          if (passwordsFile)
            console.log(
              `追加した職員の初期パスワード: ${passwordsFile} (所有者のみ読めます。本人に渡したら削除してください。初回ログイン時に変更が必要です)`,
            );
        } catch (e) {
          if (passwordsFile) rmSync(passwordsFile, { force: true });
          throw e;
        }
      } finally {
        await knex.destroy();
      }
    });
}
