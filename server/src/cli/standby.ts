import { chmodSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { loadAppConfig } from '../config/appConfig.js';
import { standbyReport, type StandbyReport } from '../standby/status.js';
import {
  MIN_SECRET_BYTES,
  peerUrlProblem,
  readStandbyState,
  secretFile,
  stateFile,
  writeFileAtomic,
  writeStandbyState,
} from '../standby/state.js';
import { addVerifyEnvCommand } from './standbyVerifyEnv.js';
import { cliActor, common, int } from './common.js';

const jst = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleString('ja-JP', { timeZone: 'Asia/Tokyo', hour12: false }) : '—';

function printReport(r: StandbyReport): void {
  if (!r.configured) {
    console.log('待機系と対になっていません (<データディレクトリ>/standby/state.json がありません)。この系は単独の運用系です。');
    return;
  }
  console.log(`役割: ${r.role === 'primary' ? '運用系' : '待機系'}  世代 (epoch): ${r.epoch}  相手: ${r.peerUrl}`);
  if (r.role === 'standby') {
    if (!r.replica) console.log('複製: まだ届いていません');
    else
      console.log(
        `複製: 通番 ${r.replica.seq}・運用系で ${jst(r.replica.snapshotAt)} に取得・${r.replica.size.toLocaleString('ja-JP')} バイト・検証 ${jst(r.replica.verifiedAt)}`,
      );
    console.log(`遅れ: ${r.lagSeconds === null ? '—' : `${r.lagSeconds} 秒`}${r.degraded ? '  ⚠ 遅れています' : ''}`);
    console.log(r.files ? `ファイル: ${r.files.files} 件 (${jst(r.files.syncedAt)} 時点で一致)` : 'ファイル: まだ揃っていません');
  } else {
    const s = r.ship;
    if (!s) console.log('送信: まだ行っていません (サーバーが動いていないか、起動直後です)');
    else {
      console.log(
        `最後の送信: ${jst(s.at)} ${s.ok ? '成功' : `失敗 (${s.error ?? ''})`}  通番 ${s.seq ?? '—'}  送ったチャンク ${s.sentChunks}/${s.totalChunks} (${s.sentBytes.toLocaleString('ja-JP')} バイト, ${s.ms} ms)`,
      );
      console.log(`待機系が最後に受領: ${jst(s.lastOkAt)} (運用系で ${jst(s.lastOkSnapshotAt)} に取得した状態)`);
      if (s.files)
        console.log(
          `ファイル: ${jst(s.files.at)} ${s.files.ok ? '一致' : `未完了 (${s.files.error ?? ''})`}  ${s.files.total} 件中 ${s.files.sent} 件を送信`,
        );
    }
    console.log(`遅れ: ${r.lagSeconds === null ? '—' : `${r.lagSeconds} 秒`}${r.degraded ? '  ⚠ 待機系への送信が遅れています' : ''}`);
  }
}

/** `madoguchi standby init|status|promote|rejoin` (and verify-env, standbyVerifyEnv.ts). */
export function addStandbyCommands(program: Command): void {
  const standby = program.command('standby').description('待機系サーバー (検証サーバを兼ねる) への複製・切り替え');

  standby
    .command('init')
    .description('この系を運用系または待機系として設定する (<データディレクトリ>/standby/state.json と共有の秘密)')
    .addOption(new Option('--role <role>', '役割').choices(['primary', 'standby']).makeOptionMandatory())
    .requiredOption('--peer <url>', '相手の系の URL (例: https://madoguchi-standby.example.lg.jp:443)')
    .requiredOption(
      '--secret-file <file>',
      `共有の秘密 (${MIN_SECRET_BYTES} バイト以上、両方の系で同じもの。例: openssl rand -hex 32 > secret)`,
    )
    .option('--peer-ca <file>', '相手の証明書を発行した CA の PEM (https で庁内 CA のとき)')
    .addOption(new Option('--epoch <n>', '世代 (通常は指定しない)').default(1).argParser(int('epoch', 0, 1_000_000)))
    .option('--replace', '設定済みの状態を置き換える')
    .action(
      (
        opts: { role: 'primary' | 'standby'; peer: string; secretFile: string; peerCa?: string; epoch: number; replace?: boolean },
        cmd: Command,
      ) => {
        const o = common(cmd);
        const problem = peerUrlProblem(opts.peer);
        if (problem) throw new Error(`--peer: ${problem}`);
        if (existsSync(stateFile(o.dataDir)) && !opts.replace)
          throw new Error(`すでに設定されています (${stateFile(o.dataDir)})。置き換えるときは --replace を付けてください。`);
        const secret = readFileSync(path.resolve(opts.secretFile), 'utf8').trim();
        if (Buffer.byteLength(secret) < MIN_SECRET_BYTES)
          throw new Error(`共有の秘密が短すぎます (${MIN_SECRET_BYTES} バイト以上)。例: openssl rand -hex 32`);
        const peerCa = opts.peerCa ? path.resolve(opts.peerCa) : undefined;
        if (peerCa && !existsSync(peerCa)) throw new Error(`CA のファイルがありません: ${peerCa}`);
        writeFileAtomic(secretFile(o.dataDir), `${secret}\n`, 0o600);
        chmodSync(secretFile(o.dataDir), 0o600);
        const s = writeStandbyState(o.dataDir, {
          role: opts.role,
          epoch: opts.epoch,
          peerUrl: opts.peer.replace(/\/+$/, ''),
          ...(peerCa ? { peerCa } : {}),
        });
        console.log(`この系を${s.role === 'primary' ? '運用系' : '待機系'} (世代 ${s.epoch}、相手 ${s.peerUrl}) として設定しました。`);
        console.log(s.role === 'primary' ? '次に起動したときから待機系へ送信します。' : 'madoguchi serve で待機系として起動します。');
      },
    );

  standby
    .command('status')
    .description('役割・世代・複製の遅れ (秒)・最後の送信の結果を表示する')
    .option('--json', 'JSON で出力する')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const o = common(cmd);
      let intervalSeconds = 5;
      try {
        intervalSeconds = loadAppConfig(o.config).standby.intervalSeconds;
      } catch {
        // the status is still worth showing with a broken configuration
      }
      const r = standbyReport(o.dataDir, { intervalSeconds });
      if (opts.json) console.log(JSON.stringify(r, null, 2));
      else printReport(r);
    });

  standby
    .command('promote')
    .description('この待機系を運用系にする (旧運用系が応答している間は断る)')
    .option('--force', '旧運用系が応答していても切り替える (--reason が必要・監査に記録)')
    .option('--reason <text>', '強制する理由')
    .option('--json', '結果を JSON で出力する')
    .action(async (opts: { force?: boolean; reason?: string; json?: boolean }, cmd: Command) => {
      const o = common(cmd);
      const { promote, StandbyRefusal } = await import('../standby/promote.js');
      try {
        const r = await promote({
          dataDir: o.dataDir,
          configDir: o.config,
          ...(opts.force ? { force: true } : {}),
          ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
          actor: cliActor().staffLogin,
        });
        if (opts.json) return console.log(JSON.stringify(r, null, 2));
        console.log(`運用系に切り替えました (世代 ${r.epoch}${r.forced ? '、強制' : ''})。`);
        console.log(`  複製: 通番 ${r.seq}・旧運用系で ${jst(r.snapshotAt)} に取得 (切り替え時点で ${r.lagSeconds} 秒前)`);
        if (r.previousDb) console.log(`  この系にあったデータベースは ${r.previousDb} に残しました`);
        if (r.configBackup) console.log(`  この系の設定は ${r.configBackup} に残し、運用系から届いた設定に置き換えました`);
        console.log(
          '  sudo systemctl start madoguchi (または madoguchi serve) で運用系として起動してください。旧運用系は復旧後に madoguchi standby rejoin で待機系にしてください。',
        );
      } catch (e) {
        if (!(e instanceof StandbyRefusal)) throw e;
        if (opts.json) console.log(JSON.stringify({ promoted: false, message: e.message }, null, 2));
        console.error(`切り替えません: ${e.message}`);
        process.exitCode = 1;
      }
    });

  standby
    .command('rejoin')
    .description('切り替えられた旧運用系を、新しい運用系の待機系にする (サーバーを止めてから)')
    .option('--json', '結果を JSON で出力する')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const o = common(cmd);
      const { rejoin, StandbyRefusal } = await import('../standby/promote.js');
      try {
        const r = await rejoin({ dataDir: o.dataDir, configDir: o.config });
        if (opts.json) return console.log(JSON.stringify(r, null, 2));
        console.log(`待機系になりました (世代 ${r.epoch}、運用系 ${r.peerUrl})。madoguchi serve で待機系として起動します。`);
        if (r.divergedDb)
          console.log(
            `  この系のデータベースは ${r.divergedDb} に残しました (削除しません)。切り替えの後にこの系で書き込まれたデータは新しい運用系に統合されません。`,
          );
      } catch (e) {
        if (!(e instanceof StandbyRefusal)) throw e;
        if (opts.json) console.log(JSON.stringify({ rejoined: false, message: e.message }, null, 2));
        console.error(`待機系にしません: ${e.message}`);
        process.exitCode = 1;
      }
    });

  addVerifyEnvCommand(standby);
}

export { readStandbyState };
