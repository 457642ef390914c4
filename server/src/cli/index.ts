import { Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../config/yamlFile.js';
import { LinkageFileError } from '../linkage/forward/reader.js';
import { CommandRecorder } from '../maintenance/commandRecord.js';
import { version } from '../version.js';
import { addAuditCommands } from './audit.js';
import { addClientCommands } from './clients.js';
import { addClusterCommands } from './cluster.js';
import { addLanguageCommands } from './languages.js';
import { addPreEntryCommands } from './preEntryCommand.js';
import { common, int } from './common.js';
import { addFormsCommands } from './forms.js';
import { localizeHelp } from './help.js';
import { addMaintenanceCommands } from './maintenance.js';
import { addLinkageCommands } from './linkage.js';
import { addNoticesCommands } from './notices.js';
import { addBackupCommands, addCertCommands, addMigrateCommand, addUpsEventCommand } from './ops.js';
import { addServeCommands } from './serve.js';
import { addStaffCommands } from './staff.js';
import { addStandbyCommands } from './standby.js';

/**
 * The `madoguchi` command: global options here, one module per command group. The groups are
 * added in the order `--help` lists them. A group whose work needs the HTTP server, PDF printing or
 * the standby loads those modules in its action (`await import`), so that every command starts
 * without them: `--help` 0.90 → 0.39 s, an empty `ingest` 1.12 → 0.67 s (2026-12-08, this
 * machine). (Under tsx in the tests such a module is a second instance of one a test imports:
 * tests compare errors from in-process actions by name.)
 */
export function buildCli(): Command {
  const program = new Command('madoguchi')
    .description('まどぐち — 自治体の「書かない窓口」')
    .version(version, '-V, --version', 'バージョンを表示')
    .addOption(
      new Option('--data-dir <dir>', 'データフォルダー (データベース・ログ・連携フォルダー)').env('MADOGUCHI_DATA_DIR').default('./data'),
    )
    .addOption(new Option('--config <dir>', '設定フォルダー').env('MADOGUCHI_CONFIG_DIR').default('./config'))
    .addOption(
      new Option('--port <n>', 'HTTP のポート番号')
        .env('MADOGUCHI_PORT')
        .default(8080)
        .argParser(int('port', 0, 65535)),
    )
    .addOption(new Option('--host <addr>', '待ち受けるアドレス').env('MADOGUCHI_HOST').default('127.0.0.1'))
    .showHelpAfterError();

  addServeCommands(program); // serve, demo
  addLinkageCommands(program); // generate, ingest
  addCertCommands(program); // cert dev
  addAuditCommands(program); // audit verify|export
  addStaffCommands(program); // staff import
  addClientCommands(program); // client register|revoke|list, agent register, card-reader register
  addFormsCommands(program); // forms check|preview
  addLanguageCommands(program); // languages check
  addNoticesCommands(program); // notices export
  addPreEntryCommands(program); // pre-entry publish
  addUpsEventCommand(program); // ups-event
  addBackupCommands(program); // backup now|list|verify, restore
  addMigrateCommand(program); // migrate
  addClusterCommands(program); // cluster status
  addMaintenanceCommands(program); // maintenance pam|list
  addStandbyCommands(program); // standby init|status|promote|rejoin|verify-env
  localizeHelp(program); // last: it reaches every command added above
  return program;
}

/** `maintenance pam` for the maintenance log: the names from the program down to the command. */
function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Runs the command line; errors become a message on stderr and an exit code (2: bad arguments,
 * 1: other). Every command's run is recorded in the maintenance log from here (the preAction hook
 * of the program reaches every subcommand), with its exit code once it is over.
 */
export async function main(argv: string[]): Promise<void> {
  const program = buildCli();
  const recorder = new CommandRecorder(argv.slice(2));
  program.hook('preAction', async (_program, action) => {
    const o = common(action);
    await recorder.start(commandPath(action), { config: o.config, dataDir: o.dataDir });
  });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof ConfigError) console.error(`設定ファイルのエラー:\n${e.message}`);
    else if (e instanceof LinkageFileError) console.error(e.message);
    else if (e instanceof InvalidArgumentError) console.error(`エラー: ${e.message}`);
    else console.error(e instanceof Error ? `エラー: ${e.message}` : e);
    process.exitCode = e instanceof InvalidArgumentError ? 2 : 1;
  }
  const code = process.exitCode;
  await recorder.finish(typeof code === 'number' ? code : Number(code ?? 0) || 0);
}
