import type { Command } from 'commander';
import { listApiClients, registerApiClient, revokeApiClient } from '../auth/apiClients.js';
import { cliActor, withDb } from './common.js';

/** `madoguchi client register|revoke|list` and `madoguchi agent register`. */
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
          [c.name, c.groupCode, c.revokedAt ? '失効' : '有効', c.lastSeenAt?.toISOString() ?? '-', c.lastAddress ?? '-'].join('\t'),
        );
    });
}
