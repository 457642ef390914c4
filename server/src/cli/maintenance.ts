import os from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { appendAudit } from '../audit/trail.js';
import { loadAppConfig } from '../config/appConfig.js';
import { openDatabase } from '../db/connect.js';
import { japanDateTime, japanDayBounds, startOfJapanDay, todayInJapan } from '../domain/japanTime.js';
import { recordPamEvent } from '../maintenance/log.js';
import { durationText, exitText, maintenanceReport, reportJson, sudoText, type MaintenanceReport } from '../maintenance/report.js';
import { cliActor, common, DATE_RE, withDb } from './common.js';

const DAY_MS = 86_400_000;

/** The PAM_* variables pam_exec sets, as a session event (null when this is not one to record). */
function pamEventOf(env: NodeJS.ProcessEnv) {
  const type = env.PAM_TYPE ?? '';
  if (type !== 'open_session' && type !== 'close_session') return null;
  const user = (env.PAM_USER ?? '').trim();
  if (!user) throw new Error('PAM_USER がありません (pam_exec から呼ばれていません)');
  const pid = Number(env.MADOGUCHI_SSHD_PID);
  return {
    type,
    user,
    rhost: env.PAM_RHOST?.trim() || null,
    service: env.PAM_SERVICE?.trim() || 'unknown',
    tty: env.PAM_TTY?.trim() || null,
    sshdPid: Number.isInteger(pid) && pid > 0 ? pid : null,
    host: os.hostname(),
  };
}

function printReport(r: MaintenanceReport): void {
  const day = (d: Date) => japanDateTime(d).slice(0, 10);
  console.log(`保守の記録 ${day(r.from)} 〜 ${day(new Date(r.to.getTime() - 1))} (日本時間): セッション ${r.sessions.length} 件`);
  for (const s of r.sessions) {
    const end = s.closedAt ? `${japanDateTime(s.closedAt)} (${durationText(s.openedAt, s.closedAt)})` : '接続中 (終了の記録なし)';
    console.log(`\n#${s.id} ${s.login}  接続元 ${s.remoteAddress ?? '不明'}  ${japanDateTime(s.openedAt)} 〜 ${end}`);
    type Line = { at: Date; text: string };
    const lines: Line[] = [
      ...s.commands.map((c) => ({ at: c.startedAt, text: `madoguchi  ${exitText(c)}  ${c.argv.join(' ')}` })),
      ...s.sudo.map((e) => ({ at: e.at, text: `sudo       ${sudoText(e)}  ${e.command}` })),
    ].sort((a, b) => a.at.getTime() - b.at.getTime());
    if (!lines.length) console.log('  (実行の記録なし)');
    for (const l of lines) console.log(`  ${japanDateTime(l.at).slice(11)}  ${l.text}`);
  }
  if (r.unattached.length) {
    console.log(`\nセッション外の madoguchi の実行 (タイマー・サービスなど): ${r.unattached.length} 件`);
    for (const c of r.unattached)
      console.log(`  ${japanDateTime(c.startedAt)}  ${c.sudoUser ?? c.osUser}  ${exitText(c)}  ${c.argv.join(' ')}`);
  }
  if (r.truncated) console.log(`\n件数が多いため一部だけを表示しています。期間を短くしてください。`);
  if (r.sudoLog.message) console.log(`\n${r.sudoLog.message}: ${r.sudoLog.file}`);
  if (r.unreadableTotal) {
    console.log(`\nsudo の記録で読めなかった行: ${r.unreadableTotal} 件`);
    for (const u of r.unreadable) console.log(`  ${u.file ?? ''} ${u.line} 行目: ${u.reason} — ${u.text}`);
  }
}

/** `madoguchi maintenance pam|list`: the remote maintenance log (docs/operations.md §7). */
export function addMaintenanceCommands(program: Command): void {
  const maintenance = program.command('maintenance').description('遠隔保守の記録 (SSH のセッションと実行したコマンド)');
  maintenance
    .command('pam')
    .description('sshd の pam_exec から呼ばれ、保守セッションの開始・終了を記録する (PAM_TYPE・PAM_USER・PAM_RHOST を読む)')
    .action(async (_opts: unknown, cmd: Command) => {
      const event = pamEventOf(process.env);
      if (!event) return;
      const o = common(cmd);
      // Not withDb: a login must not run migrations; an old schema is reported and the login goes on.
      const knex = openDatabase(loadAppConfig(o.config).database, o.dataDir);
      try {
        if (!(await knex.schema.hasTable('maintenance_sessions'))) throw new Error('データベースが更新されていません (madoguchi migrate)');
        const r = await recordPamEvent(knex, event);
        if (r.kind === 'unmatched') {
          console.error(`保守の記録: ${event.user} の開いているセッションが見つかりません (終了だけを監査ログに記録しました)`);
          process.exitCode = 1;
        }
      } finally {
        await knex.destroy();
      }
    });
  maintenance
    .command('list')
    .description('保守のセッションと、その中で実行した madoguchi・sudo のコマンドを表示する (閲覧は監査ログに記録)')
    .option('--since <date>', '最初の日 (YYYY-MM-DD、日本時間。既定: 30 日前)')
    .option('--until <date>', '最後の日 (YYYY-MM-DD、日本時間。既定: 今日)')
    .option('--json', 'JSON で出力する')
    .action(async (opts: { since?: string; until?: string; json?: boolean }, cmd: Command) => {
      for (const d of [opts.since, opts.until])
        if (d !== undefined && !DATE_RE.test(d)) throw new InvalidArgumentError('日付は YYYY-MM-DD で指定してください');
      const now = new Date();
      const since = opts.since ?? todayInJapan(new Date(now.getTime() - 30 * DAY_MS));
      const until = opts.until ?? todayInJapan(now);
      if (since > until) throw new InvalidArgumentError('--since は --until より前の日にしてください');
      const range = { from: startOfJapanDay(since), to: japanDayBounds(until).to };
      const config = loadAppConfig(common(cmd).config);
      const report = await withDb(cmd, async (knex) => {
        const r = await maintenanceReport(knex, config.maintenance.sudoLog, range, now);
        await knex.transaction((trx) =>
          appendAudit(trx, {
            ...cliActor(),
            action: 'maintenance.read',
            targetKind: 'maintenance',
            result: 'success',
            detail: { since, until, sessions: r.sessions.length },
          }),
        );
        return r;
      });
      if (opts.json) console.log(JSON.stringify(reportJson(report), null, 2));
      else printReport(report);
    });
}
