import { Command } from 'commander';
import { ConfigError } from '@madoguchi/server/config/yamlFile';
import { jsonLog } from '../agent.js';
import { agentVersion } from '../version.js';
import { CardError } from './cardError.js';
import { loadCardHelperConfig } from './config.js';
import { CardHelper } from './helper.js';
import { openReaders } from './pcsc.js';
import { pcscSource } from './pcscSource.js';
import { CardServerApi } from './server.js';

/** `madoguchi-card`: the counter PC's card reader helper (docs/manual/card-reader.md). */
export function buildCardCli(): Command {
  const program = new Command('madoguchi-card')
    .description('窓口の PC のカード読取ヘルパー: 読取装置のカードを読み、madoguchi サーバー経由で職員の画面に渡す')
    .version(agentVersion)
    .showHelpAfterError();

  program
    .command('run')
    .description('読取装置を見張り、この窓口の職員が依頼した読み取りを行う (停止まで。Windows ではサービスとして動かす)')
    .requiredOption('--config <file>', 'card-reader.yaml')
    .action(async (o: { config: string }) => {
      const cfg = loadCardHelperConfig(o.config);
      const readers = await openReaders({ ...(cfg.reader ? { readerName: cfg.reader } : {}), log: (msg) => jsonLog('info', msg) });
      const helper = new CardHelper(new CardServerApi(cfg.server, cfg.token, cfg.ca), pcscSource(readers), jsonLog);
      for (const signal of ['SIGTERM', 'SIGINT', 'SIGBREAK'] as const) process.on(signal, () => helper.stop());
      jsonLog('info', 'madoguchi-card を起動しました', { version: agentVersion, reader: readers.state().reader });
      await helper.run();
      jsonLog('info', 'madoguchi-card を停止しました', { reads: helper.reads });
    });

  program
    .command('check')
    .description('読取装置と置かれたカードを表示する (暗証番号は使わず、何も読み取らない。設置の確認用)')
    .option('--reader <name>', '使う読取装置 (名前またはその先頭)')
    .action(async (o: { reader?: string }) => {
      const readers = await openReaders(o.reader ? { readerName: o.reader } : {});
      try {
        const state = await pcscSource(readers).state();
        if (!state.reader) {
          console.log('カード読取装置が見つかりません。USB の接続とドライバーを確かめてください。');
          process.exitCode = 1;
          return;
        }
        const card = {
          none: 'カードは置かれていません',
          unknown: '読み取れないカードです',
          myNumberCard: 'マイナンバーカード',
          residenceCard: '在留カード・特別永住者証明書',
        }[state.card];
        console.log(`読取装置: ${state.reader}${state.pinPad ? ' (PIN パッドあり)' : ''}`);
        console.log(`カード: ${card}${state.triesLeft !== undefined ? ` (暗証番号の残り ${state.triesLeft} 回)` : ''}`);
      } finally {
        await readers.close();
      }
    });
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCardCli().parseAsync(argv);
  } catch (e) {
    if (e instanceof ConfigError) console.error(`設定のエラー:\n${e.message}`);
    else if (e instanceof CardError) console.error(`カード読取のエラー: ${e.message}`);
    else console.error(e instanceof Error ? `エラー: ${e.message}` : e);
    process.exitCode = 1;
  }
}
