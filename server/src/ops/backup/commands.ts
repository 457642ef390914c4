import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type cliProgress from 'cli-progress';
import type { Knex } from 'knex';
import { loadAppConfig, type AppConfig } from '../../config/appConfig.js';
import { japanDateTime } from '../../domain/japanTime.js';
import { version } from '../../version.js';
import { closeLogger, createLogger } from '../logger.js';
import { backupTarget, listBackups, restoreBackup, RestoreError, takeBackup, verifyBackup, type BackupProgress } from '../backup.js';
import { openMssqlForBackup } from './mssql.js';

interface CliHelpers {
  common(cmd: Command): { dataDir: string; config: string };
  progressBar(label: string): cliProgress.SingleBar;
}

const PHASES: Record<BackupProgress['phase'], { label: string; unit: string }> = {
  database: { label: 'データベース', unit: 'ページ' },
  files: { label: 'ファイル', unit: '個' },
  verify: { label: '検証', unit: '項目' },
};

/** One progress bar per phase, on stderr. */
function phaseBars(progressBar: CliHelpers['progressBar']) {
  let phase: string | undefined;
  let bar: cliProgress.SingleBar | undefined;
  return {
    update(p: BackupProgress) {
      if (p.phase !== phase) {
        bar?.stop();
        phase = p.phase;
        bar = progressBar(PHASES[p.phase].label);
        bar.start(Math.max(1, p.total), 0, { unit: PHASES[p.phase].unit });
      }
      bar!.setTotal(Math.max(1, p.total));
      bar!.update(p.done);
    },
    stop: () => bar?.stop(),
  };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

const verifiedText = (v: boolean | null) => (v === true ? '検証済み' : v === false ? '異常あり' : '未検証');

async function withMssql<T>(config: AppConfig, f: (knex: Knex | undefined) => Promise<T>): Promise<T> {
  const knex = config.database.client === 'mssql' ? openMssqlForBackup(config.database.mssql!) : undefined;
  try {
    return await f(knex);
  } finally {
    await knex?.destroy();
  }
}

/** `madoguchi backup now|list|verify` and `madoguchi restore FILE`. */
export function addBackupCommands(program: Command, { common, progressBar }: CliHelpers): void {
  const backup = program
    .command('backup')
    .description('データベース・設定・RPA の証跡の検証済みバックアップ (docs/operations.md §3 を参照)');
  backup
    .command('now')
    .description('いまバックアップを取って検証し、そのフォルダーを表示する')
    .option('--to <dir>', 'バックアップ先のフォルダー (既定: municipality.yaml の backup.target)')
    .action(async (opts: { to?: string }, cmd: Command) => {
      const o = common(cmd);
      const config = loadAppConfig(o.config);
      const bars = phaseBars(progressBar);
      const started = Date.now();
      // The audit anchor taken with the backup goes to the server's log files as well.
      const logger = createLogger({
        dataDir: o.dataDir,
        console: false,
        level: config.logging.level,
        retainDays: config.logging.retainDays,
      });
      const r = await takeBackup({
        config,
        configDir: o.config,
        dataDir: o.dataDir,
        ...(opts.to ? { target: path.resolve(opts.to) } : {}),
        onProgress: (p) => bars.update(p),
        logger,
      }).finally(async () => {
        bars.stop();
        await closeLogger(logger);
      });
      const m = r.manifest;
      // Only the folder goes to standard output, for scripts (the upgrade takes a backup first).
      console.log(r.path);
      const db = m.database;
      const dbText =
        db?.client === 'sqlite'
          ? `${Object.keys(db.tables).length} 表・${Object.values(db.tables)
              .reduce((s, n) => s + n, 0)
              .toLocaleString('ja-JP')} 行`
          : db?.client === 'mssql'
            ? `SQL Server ${db.disk}`
            : '-';
      console.error(
        `バックアップしました (${verifiedText(m.verified)}): ${formatBytes(r.bytes)}、ファイル ${m.files.length} 個、データベース ${dbText}、${((Date.now() - started) / 1000).toFixed(1)} 秒`,
      );
      if (!m.verified) {
        for (const p of m.problems) console.error(`  - ${p}`);
        process.exitCode = 1;
      }
    });
  backup
    .command('list')
    .description('バックアップの一覧 (取得日時・大きさ・検証・フォルダー)')
    .option('--target <dir>', 'バックアップ先のフォルダー (既定: backup.target)')
    .action((opts: { target?: string }, cmd: Command) => {
      const o = common(cmd);
      const target = backupTarget(loadAppConfig(o.config), o.dataDir, opts.target && path.resolve(opts.target));
      const entries = listBackups(target);
      if (!entries.length) {
        console.log(`バックアップはありません (${target})`);
        return;
      }
      console.log(['取得日時 (日本時間)', '大きさ', '検証', 'フォルダー'].join('\t'));
      for (const e of entries) {
        console.log([japanDateTime(e.createdAt), formatBytes(e.bytes), verifiedText(e.verified), e.path].join('\t'));
        if (e.verified === false) for (const p of e.problems) console.log(`\t\t\t  - ${p}`);
      }
    });
  backup
    .command('verify')
    .description(
      'バックアップを検査する (既定: 最新のもの)。全ファイルの SHA-256 と、複製での integrity_check・表の件数。異常があれば終了コード 1',
    )
    .argument('[path]', 'バックアップのフォルダー (またはその manifest.json)')
    .action(async (p: string | undefined, _o, cmd: Command) => {
      const o = common(cmd);
      const config = loadAppConfig(o.config);
      let dir = p && path.resolve(p);
      if (dir && existsSync(dir) && statSync(dir).isFile()) dir = path.dirname(dir);
      if (!dir) {
        const target = backupTarget(config, o.dataDir);
        dir = listBackups(target)[0]?.path;
        if (!dir) {
          console.error(`検証するバックアップがありません (${target})`);
          process.exitCode = 1;
          return;
        }
      }
      const bars = phaseBars(progressBar);
      const v = await withMssql(config, (knex) =>
        verifyBackup(dir, { ...(knex ? { knex } : {}), onProgress: (x) => bars.update(x) }),
      ).finally(() => bars.stop());
      if (v.verified) console.log(`異常はありません: ${dir}`);
      else {
        console.error(`バックアップに異常があります: ${dir}`);
        for (const x of v.problems) console.error(`  - ${x}`);
        process.exitCode = 1;
      }
    });

  program
    .command('restore')
    .description('バックアップを戻す (サーバーは停止しておく)。検証し、いまのデータベースを退避してから、バックアップを複写する')
    .argument('<file>', 'バックアップのフォルダー、その manifest.json、またはそのデータベースファイル')
    .action(async (file: string, _o, cmd: Command) => {
      const o = common(cmd);
      const config = loadAppConfig(o.config);
      try {
        const r = await restoreBackup(file, { config, dataDir: o.dataDir });
        console.log(`復元しました: ${r.from}`);
        console.log(
          `  検査: ${r.checked === 'manifest' ? 'SHA-256・整合性 (integrity_check)・外部キー・表の件数' : '整合性 (integrity_check)・外部キーのみ (manifest のないファイルのため)'}`,
        );
        console.log(
          `  データベース: ${r.database}${
            r.tables
              ? ` (${Object.keys(r.tables).length} 表・${Object.values(r.tables)
                  .reduce((s, n) => s + n, 0)
                  .toLocaleString('ja-JP')} 行)`
              : ''
          }`,
        );
        if (r.movedAside.length) console.log(`  それまでのデータベースは残してあります: ${r.movedAside.join(', ')}`);
        else console.log('  それまでのデータベースはありませんでした');
        if (r.evidenceRestored) console.log(`  RPA の証跡 ${r.evidenceRestored} 個を戻しました (あったものは上書きしていません)`);
        if (r.backupVersion && r.backupVersion !== version)
          console.log(`  注意: バックアップはバージョン ${r.backupVersion}、このサーバーは ${version} です`);
        console.log(
          '  設定は戻していません (バックアップの config/ と比べてください)。サーバーを起動してください (systemctl start madoguchi)',
        );
      } catch (e) {
        if (!(e instanceof RestoreError)) throw e;
        console.error(e.message);
        process.exitCode = 1;
      }
    });
}
