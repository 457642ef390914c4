import type { Command } from 'commander';
import { listApiClients, registerApiClient, revokeApiClient } from '../auth/apiClients.js';
import { cliActor, withDb } from './common.js';

/** `madoguchi client register|revoke|list` and `madoguchi agent register`. */
export function addClientCommands(program: Command): void {
  const client = program.command('client').description('machine clients (RPA agents) that call the JSON API with a bearer token');
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
}
