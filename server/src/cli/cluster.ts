import type { Command } from 'commander';
import { japanWarekiTime as jst } from '../domain/japanTime.js';
import { listLeases, PRESENCE_PREFIX } from '../ops/leases.js';
import { withDb } from './common.js';

/** What each lease guards (main.ts names them). */
const WORK: Readonly<Record<string, string>> = {
  linkage: '連携ファイルの取込・未着の監視',
  schedules: '夜間の定期処理',
};

/** `madoguchi cluster status`: the app nodes alive and which node holds which lease. */
export function addClusterCommands(program: Command): void {
  const cluster = program.command('cluster').description('複数のアプリケーションサーバー (担当の確認)');
  cluster
    .command('status')
    .description('動いているサーバーと、1 度だけ動かす処理をどのサーバーが担当しているかを表示する')
    .option('--json', 'JSON で出力する')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const rows = await withDb(cmd, (knex) => listLeases(knex));
      if (o.json) {
        console.log(JSON.stringify(rows, null, 2));
        return;
      }
      const nodes = rows.filter((r) => r.name.startsWith(PRESENCE_PREFIX));
      const work = rows.filter((r) => !r.name.startsWith(PRESENCE_PREFIX));
      console.log('サーバー:');
      if (!nodes.length) console.log('  (記録なし: まだどのサーバーも起動していません)');
      for (const n of nodes)
        console.log(`  ${n.holder}  ${n.live ? '動作中' : '停止'}  (最終確認 ${n.renewedAt ? jst(n.renewedAt) : '—'})`);
      console.log('担当:');
      if (!work.length) console.log('  (記録なし)');
      for (const w of work)
        console.log(
          `  ${w.name} (${WORK[w.name] ?? w.name}): ${w.live ? w.holder : `なし (前の担当 ${w.holder}・引き継ぎ待ち)`}  番号 ${w.token}  期限 ${w.expiresAt ? jst(w.expiresAt) : '—'}`,
        );
    });
}
