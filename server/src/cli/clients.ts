import type { Command } from 'commander';
import { listApiClients, registerApiClient, revokeApiClient } from '../auth/apiClients.js';
import { loadAppConfig } from '../config/appConfig.js';
import { cliActor, common, withDb } from './common.js';

/** `madoguchi client register|revoke|list`, `madoguchi agent register` and `madoguchi card-reader register`. */
export function addClientCommands(program: Command): void {
  const client = program.command('client').description('JSON API をベアラートークンで呼び出す端末 (RPA 端末など)');
  client
    .command('register')
    .description('端末を登録してトークンを表示する (表示はこの 1 回だけ。保存するのはハッシュのみ)')
    .argument('<name>', '端末名 (例: rpa-01)')
    .option('--group <code>', '端末に与える権限とデータの範囲を決めるグループ', 'rpaAgent')
    .action(async (name: string, opts: { group: string }, cmd: Command) => {
      const token = await withDb(cmd, (knex) => registerApiClient(knex, name, opts.group, cliActor()));
      console.log(token);
      console.error(
        `端末「${name}」を登録しました (グループ ${opts.group})。上のトークンを端末の設定に書いてください。再表示はできません。`,
      );
    });
  program
    .command('agent')
    .description('RPA 端末')
    .command('register')
    .description('RPA 端末の PC を登録し (グループ rpaAgent)、トークンを 1 回だけ表示する')
    .argument('<name>', '端末名 (例: rpa-01)')
    .action(async (name: string, _o, cmd: Command) => {
      const token = await withDb(cmd, (knex) => registerApiClient(knex, name, 'rpaAgent', cliActor()));
      console.log(token);
      console.error(
        `RPA 端末「${name}」を登録しました。上のトークンを端末の設定ファイル (token) に書いてください。失効は madoguchi client revoke ${name}。`,
      );
    });
  program
    .command('card-reader')
    .description('窓口のカード読取ヘルパー (窓口の PC)')
    .command('register')
    .description('窓口の PC のカード読取ヘルパーを一つの窓口に結び付けて登録し (グループ cardReader)、トークンを 1 回だけ表示する')
    .argument('<name>', '端末名 (例: card-shimin-1)')
    .requiredOption('--counter <id>', '窓口 ID (municipality.yaml の counters の id)')
    .action(async (name: string, opts: { counter: string }, cmd: Command) => {
      const counters = loadAppConfig(common(cmd).config).counters;
      const counter = counters.find((c) => c.id === opts.counter);
      if (!counter) {
        console.error(`窓口「${opts.counter}」は municipality.yaml にありません。窓口 ID: ${counters.map((c) => c.id).join(', ')}`);
        process.exitCode = 2;
        return;
      }
      const token = await withDb(cmd, (knex) => registerApiClient(knex, name, 'cardReader', cliActor(), counter.id));
      console.log(token);
      console.error(
        `カード読取端末「${name}」を ${counter.name} に登録しました。上のトークンを窓口の PC の card-reader.yaml (token) に書いてください。失効は madoguchi client revoke ${name}。`,
      );
    });
  client
    .command('revoke')
    .description('端末を失効させる (以後そのトークンは拒否される)')
    .argument('<name>', '端末名')
    .action(async (name: string, _o, cmd: Command) => {
      const done = await withDb(cmd, (knex) => revokeApiClient(knex, name, cliActor()));
      if (!done) {
        console.error(`有効な端末「${name}」はありません`);
        process.exitCode = 2;
      } else console.log(`端末「${name}」を失効させました`);
    });
  client
    .command('list')
    .description('端末の一覧を最後の接続 (日時・アドレス) とあわせて表示する')
    .action(async (_o, cmd: Command) => {
      const rows = await withDb(cmd, (knex) => listApiClients(knex));
      for (const c of rows)
        console.log(
          [
            c.name,
            c.groupCode,
            c.counterId ?? '-',
            c.revokedAt ? '失効' : '有効',
            c.lastSeenAt?.toISOString() ?? '-',
            c.lastAddress ?? '-',
          ].join('\t'),
        );
    });
}
