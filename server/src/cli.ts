import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { exportAuditCsv, verifyAudit } from './audit/trail.js';
import { ensureDefaultGroups } from './auth/staffRepo.js';
import { exportNoticesCsv } from './rpa/csvOut.js';
import { recordUpsEvent, upsEvents, type UpsEvent } from './ops/power.js';
import { listApiClients, registerApiClient, revokeApiClient } from './auth/apiClients.js';
import {
  applyStaffImport,
  formatStaffDiff,
  japanTimestamp,
  parseStaffCsv,
  planStaffImport,
  writeInitialPasswords,
} from './auth/staffImport.js';
import { loadAppConfig } from './config/appConfig.js';
import { makeDevCertificate } from './ops/devCert.js';
import { addBackupCommands } from './ops/backup/commands.js';
import { ConfigError } from './config/yamlFile.js';
import { migrateLatest, openDatabase } from './db/connect.js';
import { todayInJapan } from './domain/dates.js';
import { generateTown, MAX_PEOPLE, MIN_PEOPLE } from './demo/generator.js';
import { createDemoStaff, DEMO_LOGINS_FILE } from './demo/demoStaff.js';
import { applyFiles, type FileResult } from './linkage/forward/apply.js';
import { planIngest } from './linkage/forward/ingest.js';
import { writeReports } from './linkage/forward/report.js';
import { applyOptionsFrom, configuredGaijiMap, loadGaijiMap } from './linkage/forward/settings.js';
import { LayoutRegistry } from './linkage/forward/layouts.js';
import { LinkageFileError } from './linkage/forward/reader.js';
import { startServer, type RunningServer } from './main.js';
import { FontSet } from './printing/fonts.js';
import { FormRenderError } from './printing/render.js';
import { checkForms, findTemplate, renderPreview, templateIds, where } from './printing/preview.js';
import { version } from './version.js';

interface CommonOptions {
  dataDir: string;
  config: string;
  port: number;
  host: string;
}

const int =
  (name: string, min: number, max: number) =>
  (v: string): number => {
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} は ${min}〜${max} の整数です`);
    return n;
  };

function common(cmd: Command): CommonOptions {
  const o = cmd.optsWithGlobals() as CommonOptions;
  return { ...o, dataDir: path.resolve(o.dataDir), config: path.resolve(o.config) };
}

function progressBar(label: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% {value}/{total} {unit}`,
      stream: process.stderr,
      noTTYOutput: true,
      notTTYSchedule: 5000,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
}

export const PID_FILE = 'madoguchi.pid';

/**
 * Stops cleanly on SIGTERM/SIGINT. The pid file lets `madoguchi ups-event LOWBATT|FSD` (run by
 * upsmon) find the running server and start the graceful stop well inside upsmon's FINALDELAY.
 */
function onSignalsClose(server: RunningServer, dataDir: string): void {
  const pidFile = path.join(dataDir, PID_FILE);
  writeFileSync(pidFile, `${process.pid}\n`);
  let stopping = false;
  // A second signal (LOWBATT then FSD, or systemd after upsmon) must not cut the stop in half.
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal} を受けたので停止します…\n`);
    server.close().then(
      () => {
        rmSync(pidFile, { force: true });
        process.exit(0);
      },
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function runIngest(
  o: CommonOptions,
  target: string,
  encoding: 'auto' | 'utf8' | 'cp932' | undefined,
  gaijiFile?: string,
  force = false,
): Promise<FileResult[]> {
  const config = loadAppConfig(o.config);
  const registry = LayoutRegistry.load(o.config);
  const configured = configuredGaijiMap(config, o.config);
  const alongside = existsSync(target) && statSync(target).isDirectory() ? path.join(target, 'gaiji-map.csv') : undefined;
  // The same rule as the server: a configured map must exist; otherwise one shipped with the files.
  const mapFile = gaijiFile ?? configured ?? (alongside && existsSync(alongside) ? alongside : undefined);
  const gaiji = loadGaijiMap(mapFile);
  const planned = planIngest(target, registry);
  const knex = openDatabase(config.database, o.dataDir);
  try {
    await migrateLatest(knex);
    const bar = progressBar('取込');
    let currentFile = '';
    const options = { ...applyOptionsFrom(config, gaiji), ...(encoding ? { encoding } : {}), force };
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
    return results;
  } finally {
    await knex.destroy();
  }
}

const OUTCOME: Record<string, string> = {
  applied: '取込済',
  skipped: '同一内容のため処理なし',
  quarantined: '隔離 (取込せず)',
  failed: '失敗',
};

export function buildCli(): Command {
  const program = new Command('madoguchi')
    .description('まどぐち — 書かない窓口 (no-writing counter) for Japanese municipalities')
    .version(version)
    .addOption(
      new Option('--data-dir <dir>', 'data directory (database, logs, linkage folders)').env('MADOGUCHI_DATA_DIR').default('./data'),
    )
    .addOption(new Option('--config <dir>', 'configuration directory').env('MADOGUCHI_CONFIG_DIR').default('./config'))
    .addOption(
      new Option('--port <n>', 'HTTP port')
        .env('MADOGUCHI_PORT')
        .default(8080)
        .argParser(int('port', 0, 65535)),
    )
    .addOption(new Option('--host <addr>', 'address to listen on').env('MADOGUCHI_HOST').default('127.0.0.1'))
    .showHelpAfterError();

  program
    .command('serve')
    .description('start the server (runs pending database migrations first)')
    .action(async (_o, cmd: Command) => {
      const o = common(cmd);
      const server = await startServer({ configDir: o.config, dataDir: o.dataDir, port: o.port, host: o.host });
      onSignalsClose(server, o.dataDir);
      console.log(`まどぐち ${version} を起動しました: ${server.url}`);
    });

  program
    .command('demo')
    .description('first run: generate a demo town, load it, create demo staff, then serve; later runs just serve')
    .addOption(new Option('--people <n>', 'residents in the demo town').default(5000).argParser(int('people', MIN_PEOPLE, MAX_PEOPLE)))
    .option('--seed <seed>', 'random seed of the demo town', 'madoguchi')
    .action(async (opts: { people: number; seed: string }, cmd: Command) => {
      const o = common(cmd);
      const config = loadAppConfig(o.config);
      const dbFile = path.resolve(o.dataDir, config.database.sqlite.file);
      const fresh = config.database.client === 'sqlite' ? !existsSync(dbFile) : false;
      if (fresh) {
        mkdirSync(o.dataDir, { recursive: true });
        const out = path.join(o.dataDir, 'demo-town');
        console.log(`デモの町 (${config.municipality.name}, ${opts.people.toLocaleString('ja-JP')} 人) を生成しています…`);
        await generateTown({
          people: opts.people,
          outDir: out,
          encoding: 'cp932',
          seed: opts.seed,
          asOf: todayInJapan(),
          diff: true,
          municipality: config.municipality,
          layouts: LayoutRegistry.load(o.config),
        });
        await runIngest(o, out, undefined);
        const knex = openDatabase(config.database, o.dataDir);
        try {
          await createDemoStaff(knex, o.dataDir);
        } finally {
          await knex.destroy();
        }
      }
      const server = await startServer({ configDir: o.config, dataDir: o.dataDir, port: o.port, host: o.host });
      onSignalsClose(server, o.dataDir);
      console.log(`\nまどぐち ${version} (デモ) を起動しました: ${server.url}`);
      const logins = path.join(o.dataDir, DEMO_LOGINS_FILE);
      if (existsSync(logins)) console.log(`\nデモ用の職員アカウント (${logins}):\n${readFileSync(logins, 'utf8')}`);
      console.log('停止するには Ctrl+C を押してください。');
    });

  program
    .command('generate')
    .description('write a deterministic demo town as national-standard linkage CSV files')
    .requiredOption('--out <dir>', 'output directory')
    .addOption(new Option('--people <n>', 'number of residents').default(5000).argParser(int('people', MIN_PEOPLE, MAX_PEOPLE)))
    .addOption(new Option('--encoding <enc>', 'file encoding').choices(['utf8', 'cp932']).default('utf8'))
    .option('--seed <seed>', 'random seed', 'madoguchi')
    .option('--as-of <date>', 'export date (YYYY-MM-DD); default today in Japan')
    .option('--diff', "also write the next day's differential files", false)
    .option('--json', 'print the summary as JSON (with peak memory)', false)
    .action(
      async (
        opts: { out: string; people: number; encoding: 'utf8' | 'cp932'; seed: string; asOf?: string; diff: boolean; json: boolean },
        cmd: Command,
      ) => {
        const o = common(cmd);
        if (opts.asOf && !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(opts.asOf))
          throw new InvalidArgumentError('--as-of は YYYY-MM-DD で指定してください');
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
    .description('load linkage files (a folder of spec-id folders, one spec folder, or one file) into the cache')
    .argument('<path>', 'folder or file to load')
    .addOption(new Option('--encoding <enc>', 'file encoding (default: from config)').choices(['auto', 'utf8', 'cp932']))
    .option('--gaiji-map <file>', '同定マップ CSV for legacy 外字 (default: config, then PATH/gaiji-map.csv)')
    .option('--force', 'apply even files whose content was applied before (e.g. after correcting the 同定マップ)', false)
    .action(async (target: string, opts: { encoding?: 'auto' | 'utf8' | 'cp932'; gaijiMap?: string; force: boolean }, cmd: Command) => {
      const o = common(cmd);
      const results = await runIngest(o, path.resolve(target), opts.encoding, opts.gaijiMap && path.resolve(opts.gaijiMap), opts.force);
      const bad = results.filter((r) => r.outcome === 'quarantined' || r.outcome === 'failed');
      const total = results.reduce((s, r) => s + r.rowsApplied, 0);
      if (bad.length) {
        console.error(`取り込めなかったファイルがあります (${bad.length} 件)。一括取込のため、ほかのファイルも取り込んでいません。`);
        process.exitCode = 3;
      } else console.log(`取込完了: ${total.toLocaleString('ja-JP')} 件`);
    });

  program
    .command('cert')
    .description('certificates for HTTPS')
    .command('dev')
    .description('make a local CA and a server certificate for trying HTTPS out (production: the internal CA)')
    .option('--out <dir>', 'output folder (default: <data-dir>/tls)')
    .option('--hosts <names>', 'host names and addresses for the certificate, comma separated', 'localhost,127.0.0.1')
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

  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('recompute the hash chain; exits 1 and names the first broken record')
    .option('--from <date>', 'first day (YYYY-MM-DD, Japan time)')
    .option('--to <date>', 'last day (YYYY-MM-DD, Japan time)')
    .action(async (opts: { from?: string; to?: string }, cmd: Command) => {
      const o = common(cmd);
      for (const d of [opts.from, opts.to])
        if (d && !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(d)) throw new InvalidArgumentError('日付は YYYY-MM-DD で指定してください');
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
      for (const d of [opts.from, opts.to])
        if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(d)) throw new InvalidArgumentError('日付は YYYY-MM-DD で指定してください');
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

  const staff = program.command('staff').description('staff accounts');
  staff
    .command('import')
    .description('bulk personnel update from a CSV (UTF-8 or CP932): shows the difference, then applies all of it or nothing')
    .argument('<file>', 'CSV file (columns: ログインID, 氏名, 所属, グループ, 有効期間開始, 有効期間終了, 状態, 初期パスワード)')
    .option('--dry-run', 'show the difference only; change nothing', false)
    .option(
      '--passwords-out <file>',
      'where the initial passwords of added staff go (default: <data-dir>/staff-import-passwords-<YYYYMMDDHHmmss>.txt, mode 0600)',
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
        let by = 'cli';
        try {
          by = `cli:${os.userInfo().username}`.slice(0, 64);
        } catch {
          // no user name (container without a passwd entry)
        }
        try {
          const r = await applyStaffImport(knex, plan, { staffLogin: by });
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

  const client = program.command('client').description('machine clients (RPA agents) that call the JSON API with a bearer token');
  const withDb = async <T>(cmd: Command, f: (knex: ReturnType<typeof openDatabase>) => Promise<T>): Promise<T> => {
    const o = common(cmd);
    const knex = openDatabase(loadAppConfig(o.config).database, o.dataDir);
    try {
      await migrateLatest(knex);
      await ensureDefaultGroups(knex);
      return await f(knex);
    } finally {
      await knex.destroy();
    }
  };
  const cliActor = () => {
    try {
      return { staffLogin: `cli:${os.userInfo().username}`.slice(0, 64) };
    } catch {
      return { staffLogin: 'cli' };
    }
  };
  client
    .command('register')
    .description('register a client and print its token (shown this once; only its hash is stored)')
    .argument('<name>', 'client name, e.g. rpa-01')
    .option('--group <code>', 'the group whose permissions and data scopes the client gets', 'rpaAgent')
    .action(async (name: string, opts: { group: string }, cmd: Command) => {
      const token = await withDb(cmd, (knex) => registerApiClient(knex, name, opts.group, cliActor()));
      console.log(token);
      console.error(
        `端末「${name}」を登録しました (グループ ${opts.group})。上のトークンを端末の設定に書いてください。再表示はできません。`,
      );
    });
  program
    .command('agent')
    .description('RPA agents')
    .command('register')
    .description('register an RPA agent PC (group rpaAgent) and print its token once')
    .argument('<name>', 'agent name, e.g. rpa-01')
    .action(async (name: string, _o, cmd: Command) => {
      const token = await withDb(cmd, (knex) => registerApiClient(knex, name, 'rpaAgent', cliActor()));
      console.log(token);
      console.error(
        `RPA 端末「${name}」を登録しました。上のトークンを端末の設定ファイル (token) に書いてください。失効は madoguchi client revoke ${name}。`,
      );
    });
  client
    .command('revoke')
    .description('revoke a client: its token is refused from now on')
    .argument('<name>')
    .action(async (name: string, _o, cmd: Command) => {
      const done = await withDb(cmd, (knex) => revokeApiClient(knex, name, cliActor()));
      if (!done) {
        console.error(`有効な端末「${name}」はありません`);
        process.exitCode = 2;
      } else console.log(`端末「${name}」を失効させました`);
    });
  client
    .command('list')
    .description('list clients with their last contact')
    .action(async (_o, cmd: Command) => {
      const rows = await withDb(cmd, (knex) => listApiClients(knex));
      for (const c of rows)
        console.log(
          [c.name, c.groupCode, c.revokedAt ? '失効' : '有効', c.lastSeenAt?.toISOString() ?? '-', c.lastAddress ?? '-'].join('\t'),
        );
    });

  const forms = program.command('forms').description('form templates (<config>/forms/*.yaml): check them, preview them with sample data');
  forms
    .command('check')
    .description('validate every template and print it with the sample data; errors as file:line (exit 2)')
    .action(async (_o, cmd: Command) => {
      const o = common(cmd);
      const r = await checkForms(o.config, FontSet.load());
      for (const t of r.templates) console.log(`${t.id}\t${t.title}\t${t.pages.length} 枚\t${t.file}`);
      if (r.problems.length) {
        for (const p of r.problems) console.error(p);
        console.error(`様式にエラーが ${r.problems.length} 件あります。直してから、もう一度 madoguchi forms check を実行してください`);
        process.exitCode = 2;
      } else console.log(`様式 ${r.templates.length} 件: エラーはありません`);
    });
  forms
    .command('preview')
    .description('print a template with sample data (4-person household) to a PDF; --grid adds a millimetre grid')
    .argument('<name>', 'template id (the id: line of the YAML file)')
    .option('--grid', 'draw a millimetre grid under the form (lines every 5 mm, numbers every 10 mm)', false)
    .option('--out <file>', 'output PDF (default: <data-dir>/preview-NAME.pdf)')
    .action(async (name: string, opts: { grid: boolean; out?: string }, cmd: Command) => {
      const o = common(cmd);
      let template;
      try {
        template = findTemplate(o.config, name);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        console.error(`様式「${name}」のファイルにエラーがあります:\n${e.message}`);
        process.exitCode = 2;
        return;
      }
      if (!template) {
        const ids = templateIds(o.config);
        console.error(`様式「${name}」はありません (${path.join(o.config, 'forms')})。あるもの: ${ids.length ? ids.join(', ') : 'なし'}`);
        process.exitCode = 2;
        return;
      }
      let pdf: Buffer;
      try {
        pdf = await renderPreview(FontSet.load(), template, { grid: opts.grid });
      } catch (e) {
        if (!(e instanceof FormRenderError)) throw e;
        console.error(`${where(template.file, e.field)}: ${e.message}`);
        process.exitCode = 2;
        return;
      }
      const out = path.resolve(opts.out ?? path.join(o.dataDir, `preview-${name}.pdf`));
      mkdirSync(path.dirname(out), { recursive: true });
      writeFileSync(out, pdf);
      console.log(out);
    });

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
      if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(date)) throw new InvalidArgumentError('--date は YYYY-MM-DD で指定してください');
      const r = await withDb(cmd, (knex) =>
        exportNoticesCsv(
          knex,
          { date, dir: path.resolve(o.dataDir, config.backwardLinkage.csvDir), encoding: opts.encoding ?? config.backwardLinkage.encoding },
          cliActor(),
        ),
      );
      console.log(`${r.file}\t届出 ${r.notices} 件\t${r.rows} 行`);
    });

  program
    .command('ups-event')
    .description(
      'called by upsmon (NOTIFYCMD/upssched): ONBATT shows a banner and pauses RPA leases, ONLINE ends it, LOWBATT/FSD stop the server gracefully',
    )
    .argument('<event>', 'ONBATT | ONLINE | LOWBATT | FSD')
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
        const pidFile = path.join(o.dataDir, PID_FILE);
        const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : NaN;
        if (Number.isInteger(pid) && pid > 0) {
          try {
            process.kill(pid, 'SIGTERM');
            console.log(`サーバー (pid ${pid}) に停止を指示しました`);
          } catch {
            console.log(`サーバー (pid ${pid}) は動いていません`);
          }
        } else console.log('動いているサーバーはありません (pid ファイルなし)');
      }
    });

  // backup now|list|verify, restore FILE (server/src/ops/backup/commands.ts)
  addBackupCommands(program, { common, progressBar });

  program
    .command('migrate')
    .description('apply pending database migrations')
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

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (e) {
    if (e instanceof ConfigError) console.error(`設定ファイルのエラー:\n${e.message}`);
    else if (e instanceof LinkageFileError) console.error(e.message);
    else if (e instanceof InvalidArgumentError) console.error(`error: ${e.message}`);
    else console.error(e instanceof Error ? `エラー: ${e.message}` : e);
    process.exitCode = e instanceof InvalidArgumentError ? 2 : 1;
  }
}
