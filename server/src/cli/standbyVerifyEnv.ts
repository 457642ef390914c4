import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { common } from './common.js';

const rootOf = (cmd: Command): Command => (cmd.parent ? rootOf(cmd.parent) : cmd);

/**
 * `madoguchi standby verify-env --port N [--dir D]`: a server on a copy of the standby's latest
 * verified replica, for trying an upgrade on real data; the standby goes on receiving meanwhile.
 */
export function addVerifyEnvCommand(standby: Command): void {
  standby
    .command('verify-env')
    .description(
      '待機系の最新の検証済みの複製を写して、検証環境のサーバーを起動する (連携フォルダーの監視・定時処理・送出なし、RPA にはジョブを渡さない)',
    )
    .option('--dir <dir>', '写しを置くフォルダー (既定: <data-dir>/verify-env。前回の検証環境は置き換える)')
    .option('--remove', '検証環境を消して終わる (その中の監査記録は待機系の記録に移してから消す)')
    .addHelpText('after', '\n--port <n> (必須): 検証環境の HTTP のポート番号。待機系・運用系と別の番号にします。')
    .action(async (opts: { dir?: string; remove?: boolean }, cmd: Command) => {
      const o = common(cmd);
      // Loaded here, not at the top: every other command starts without the server's modules.
      const { prepareVerifyEnv, removeVerifyEnv, VERIFY_ENV_BANNER } = await import('../standby/verifyEnv.js');
      if (opts.remove) {
        const r = await removeVerifyEnv({ standbyDataDir: o.dataDir, dir: path.resolve(opts.dir ?? path.join(o.dataDir, 'verify-env')) });
        console.log(
          r.removed ? `検証環境を消しました (監査記録 ${r.auditRecords} 件を待機系の記録に移しました)。` : '消す検証環境はありません。',
        );
        return;
      }
      // --port is the global option (commander gives it to the root command wherever it is typed). It
      // must be typed here: the default or MADOGUCHI_PORT is the standby's own port.
      if (rootOf(cmd).getOptionValueSource('port') !== 'cli')
        throw new InvalidArgumentError('検証環境のポート番号を --port で指定してください (待機系・運用系と別の番号)');
      const dir = path.resolve(opts.dir ?? path.join(o.dataDir, 'verify-env'));
      const env = await prepareVerifyEnv({ standbyDataDir: o.dataDir, dir });
      console.log(`複製 (番号 ${env.replica.seq}、運用系で ${env.replica.snapshotAt} に取得) を ${env.dir} に写しました。`);
      const { startServer } = await import('../main.js');
      const server = await startServer({
        configDir: env.configDir,
        dataDir: env.dataDir,
        port: o.port,
        host: o.host,
        watch: false,
        banner: VERIFY_ENV_BANNER,
      });
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        server.close().then(
          () => process.exit(0),
          (e: unknown) => {
            console.error(e);
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      console.log(`検証環境を起動しました: ${server.url}`);
      console.log(`  ${VERIFY_ENV_BANNER}`);
      console.log('  連携フォルダーの監視・定時処理・バックアップ・待機系への送出は止めてあり、RPA の端末にはジョブを渡しません。');
      console.log(
        '  停止するには Ctrl+C を押してください。写しは madoguchi standby verify-env --remove で消します (監査記録は待機系に移します)。',
      );
    });
}
