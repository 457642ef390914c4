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
import { randomPassword } from '../auth/passwords.js';
import { createStaff } from '../auth/staffRepo.js';
import { cliActor, common, withDb } from './common.js';

/** `madoguchi staff import` and `madoguchi staff add-admin`. */
export function addStaffCommands(program: Command): void {
  const staff = program.command('staff').description('職員アカウント');
  staff
    .command('add-admin')
    .description('最初のシステム管理者 (グループ admin) を作り、初期パスワードを 1 回だけ表示する (初回ログインで変更)')
    .argument('<loginId>', 'ログイン ID (半角英数字)')
    .option('--name <name>', '表示名', 'システム管理者')
    .option('--section <section>', '所属', '情報政策課')
    .action(async (loginId: string, opts: { name: string; section: string }, cmd: Command) => {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(loginId)) throw new InvalidArgumentError('ログイン ID は半角英数字と . _ - で 64 文字以内です');
      const password = randomPassword(14);
      const created = await withDb(cmd, async (knex) => {
        if (await knex('staff').where({ login_id: loginId }).first('id')) return false;
        await createStaff(
          knex,
          { loginId, displayName: opts.name, section: opts.section, password, groups: ['admin'], mustChangePassword: true },
          cliActor(),
        );
        return true;
      });
      if (!created) {
        console.error(
          `ログイン ID「${loginId}」はすでに使われています。別の ID にするか、画面の「職員の管理」でパスワードを再設定してください。`,
        );
        process.exitCode = 2;
        return;
      }
      console.log(password);
      console.error(
        `システム管理者「${loginId}」を作りました。上の初期パスワードでログインし、すぐに変更してください (再表示はできません)。職員の追加は画面の「職員の管理」または madoguchi staff import で行います。`,
      );
    });
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
