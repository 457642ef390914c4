import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadAppConfig } from '../config/appConfig.js';
import { migrateLatest, openDatabase } from '../db/connect.js';
import { generateTown, MAX_PEOPLE, MIN_PEOPLE } from '../demo/generator.js';
import { todayInJapan } from '../domain/japanTime.js';
import { applyFiles, NO_GAIJI_MAP, type FileResult } from '../linkage/forward/apply.js';
import { planIngest } from '../linkage/forward/ingest.js';
import { LayoutRegistry } from '../linkage/forward/layouts.js';
import { writeReports } from '../linkage/forward/report.js';
import { refreshSearchKeys } from '../linkage/forward/rekey.js';
import { applyOptionsFrom, configuredGaijiMap, loadGaijiMap } from '../linkage/forward/settings.js';
import { setVariantTable, variantTableFor } from '../domain/variants.js';
import { common, DATE_RE, int, progressBar, type CommonOptions } from './common.js';
import { reconcileJobs, reconcileSettingsOf, WITNESS_SPECS } from '../rpa/reconcile.js';

const OUTCOME: Record<string, string> = {
  applied: '取込済',
  skipped: '同一内容のため処理なし',
  quarantined: '隔離 (取込せず)',
  held: '保留 (件数が大きく減るため取込せず)',
  failed: '失敗',
};

/** Loads linkage files into the cache with a progress bar, printing one line per file (also used by `demo`). */
export async function runIngest(
  o: CommonOptions,
  target: string,
  encoding: 'auto' | 'utf8' | 'cp932' | undefined,
  gaijiFile?: string,
  force = false,
  allowShrink = false,
): Promise<FileResult[]> {
  const config = loadAppConfig(o.config);
  const registry = LayoutRegistry.load(o.config);
  const configured = configuredGaijiMap(config, o.config);
  const alongside = existsSync(target) && statSync(target).isDirectory() ? path.join(target, 'gaiji-map.csv') : undefined;
  // The same rule as the server: a configured map must exist; otherwise one shipped with the files.
  const mapFile = gaijiFile ?? configured ?? (alongside && existsSync(alongside) ? alongside : undefined);
  const gaiji = loadGaijiMap(mapFile);
  const planned = planIngest(target, registry);
  // The same 異体字 table as the server, and stored keys brought up to it before the load adds rows.
  setVariantTable(variantTableFor(o.config));
  const knex = openDatabase(config.database, o.dataDir);
  try {
    await migrateLatest(knex);
    const rekey = await refreshSearchKeys(knex);
    if (rekey.rekeyed && rekey.rowsRead)
      console.log(
        `検索キーを作り直しました: ${rekey.rowsRead.toLocaleString('ja-JP')} 件を確認、${Object.values(rekey.changed)
          .reduce((a, b) => a + b, 0)
          .toLocaleString('ja-JP')} 件を更新`,
      );
    const bar = progressBar('取込');
    let currentFile = '';
    const options = { ...applyOptionsFrom(config, gaiji), ...(encoding ? { encoding } : {}), force, allowShrink };
    const results = await applyFiles(knex, registry, planned, {
      ...options,
      onProgress: (p) => {
        if (p.file !== currentFile) {
          if (currentFile) bar.stop();
          currentFile = p.file;
          bar.start(Math.max(1, Math.round(p.totalBytes / 1024)), 0, { unit: `KB ${p.specId}` });
        }
        bar.update(Math.round(p.bytes / 1024));
      },
    });
    if (currentFile) bar.stop();
    if (results.some((r) => WITNESS_SPECS.includes(r.specId) && r.outcome === 'applied')) {
      const sum = await reconcileJobs(knex, reconcileSettingsOf(config));
      const flagged = sum.byState.enteredTwice + sum.byState.notSeen + sum.byState.unreported;
      console.log(
        `RPA の入力と基幹系の連携 (異動履歴・発行履歴) の照合: ${sum.checked} 件${flagged ? ` — 要確認 ${flagged} 件 (二重入力 ${sum.byState.enteredTwice}・連携に現れない ${sum.byState.notSeen}・入力済・未報告 ${sum.byState.unreported}): /rpa/jobs` : ''}`,
      );
    }
    const reportDir = path.join(o.dataDir, config.linkage.dropDir, 'reports');
    for (const r of results) {
      console.log(
        `${r.specId}${r.edition ? `@${r.edition}` : ''}\t${OUTCOME[r.outcome]}\t${r.rowsApplied.toLocaleString('ja-JP')} 件\t${r.encoding ?? '-'}\t不正 ${r.rowsRejected}\t外字未対応 ${r.unmappedGaiji}\t${path.basename(r.file)}`,
      );
      if (r.issues.length) {
        const report = writeReports(path.join(reportDir, r.specId), r, path.basename(r.file));
        for (const i of r.issues.slice(0, 5))
          console.log(
            `  ${i.line} 行目${i.column ? ` [${i.column}]` : ''}: ${i.reason}${i.value !== undefined ? ` (値: ${i.value})` : ''}`,
          );
        console.log(`  報告書: ${report}`);
      }
    }
    if (mapFile) console.log(`同定マップ: ${mapFile} (${gaiji.size} 文字)`);
    // Without any map every 外字 is unmapped: say so, or the quarantine reads like a gap in the map
    // (a differential folder ingested apart from the full files' folder, where the map was).
    else if (results.some((r) => r.unmappedGaiji > 0)) console.log(`同定マップ: なし — ${NO_GAIJI_MAP}`);
    return results;
  } finally {
    await knex.destroy();
  }
}

/** `madoguchi generate` (a demo town as linkage files) and `madoguchi ingest`. */
export function addLinkageCommands(program: Command): void {
  program
    .command('generate')
    .description('デモの町を標準仕様の連携 CSV ファイルとして書き出す (シードが同じなら毎回同じ内容)')
    .requiredOption('--out <dir>', '出力フォルダー')
    .addOption(new Option('--people <n>', '住民数').default(5000).argParser(int('people', MIN_PEOPLE, MAX_PEOPLE)))
    .addOption(new Option('--encoding <enc>', 'ファイルの文字コード').choices(['utf8', 'cp932']).default('utf8'))
    .option('--seed <seed>', '乱数シード', 'madoguchi')
    .option('--as-of <date>', '出力日 (YYYY-MM-DD。既定: 日本時間の今日)')
    .option('--diff', '翌日分の差分ファイルも書き出す', false)
    .option('--json', '結果を JSON で表示する (最大メモリ使用量つき)', false)
    .action(
      async (
        opts: { out: string; people: number; encoding: 'utf8' | 'cp932'; seed: string; asOf?: string; diff: boolean; json: boolean },
        cmd: Command,
      ) => {
        const o = common(cmd);
        if (opts.asOf && !DATE_RE.test(opts.asOf)) throw new InvalidArgumentError('--as-of は YYYY-MM-DD で指定してください');
        const config = loadAppConfig(o.config);
        const bar = progressBar('生成');
        bar.start(opts.people, 0, { unit: '人' });
        const started = process.hrtime.bigint();
        const summary = await generateTown({
          people: opts.people,
          outDir: path.resolve(opts.out),
          encoding: opts.encoding,
          seed: opts.seed,
          asOf: opts.asOf ?? todayInJapan(),
          diff: opts.diff,
          municipality: config.municipality,
          layouts: LayoutRegistry.load(o.config),
          onProgress: (n) => bar.update(n),
        });
        bar.stop();
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        if (opts.json) {
          console.log(JSON.stringify({ ...summary, seconds, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }));
        } else {
          console.log(
            `住民 ${summary.people.toLocaleString('ja-JP')} 人 / 世帯 ${summary.households.toLocaleString('ja-JP')} / 消除者 ${summary.formerResidents} / 外国人住民 ${summary.foreignResidents} / 住登外者 ${summary.nonResidents} / 法人 ${summary.corporations}`,
          );
          console.log(
            `支援措置 ${summary.supportMeasures} / 発行禁止 ${summary.issuanceBans} / 滞納 ${summary.arrears} / MJ文字の氏名 ${summary.mjNames}`,
          );
          console.log(`出力: ${path.resolve(opts.out)} (${summary.files.length} ファイル, ${seconds.toFixed(1)} 秒)`);
        }
      },
    );

  program
    .command('ingest')
    .description(
      '連携ファイルをキャッシュに取り込む (仕様 ID ごとのフォルダーを並べたフォルダー、仕様 1 つのフォルダー、またはファイル 1 つ)',
    )
    .argument('<path>', '取り込むフォルダーまたはファイル')
    .addOption(new Option('--encoding <enc>', 'ファイルの文字コード (既定: 設定の値)').choices(['auto', 'utf8', 'cp932']))
    .option('--gaiji-map <file>', '外字の同定マップ CSV (既定: 設定の値、なければ <path>/gaiji-map.csv)')
    .option('--force', '前に取り込んだのと同じ内容のファイルも取り込む (同定マップを直したあとなど)', false)
    .option('--allow-shrink', 'linkage.shrinkGuard の上限を超えて件数が減る全件ファイルも取り込む (内容を確かめてから)', false)
    .action(
      async (
        target: string,
        opts: { encoding?: 'auto' | 'utf8' | 'cp932'; gaijiMap?: string; force: boolean; allowShrink: boolean },
        cmd: Command,
      ) => {
        const o = common(cmd);
        const results = await runIngest(
          o,
          path.resolve(target),
          opts.encoding,
          opts.gaijiMap && path.resolve(opts.gaijiMap),
          opts.force,
          opts.allowShrink,
        );
        const held = results.filter((r) => r.outcome === 'held');
        const bad = results.filter((r) => r.outcome === 'quarantined' || r.outcome === 'failed');
        const total = results.reduce((s, r) => s + r.rowsApplied, 0);
        for (const h of held)
          console.error(
            `${h.specId}: ${h.message}\n  ファイルを確認し、正しければ --allow-shrink を付けてもう一度実行してください: ${path.basename(h.file)}`,
          );
        if (held.length && !bad.length) {
          console.error(
            `件数が大きく減る全件ファイルがあるため取り込みませんでした (${held.length} 件)。一括取込のため、ほかのファイルも取り込んでいません。`,
          );
          process.exitCode = 4;
        } else if (bad.length) {
          console.error(`取り込めなかったファイルがあります (${bad.length} 件)。一括取込のため、ほかのファイルも取り込んでいません。`);
          process.exitCode = 3;
        } else console.log(`取込完了: ${total.toLocaleString('ja-JP')} 件`);
      },
    );
}
