import { japanDateTime } from '../../domain/japanTime.js';
import { durationText, exitText, sudoText, type MaintenanceReport, type SessionReport } from '../../maintenance/report.js';
import { html, type SafeHtml } from '../html.js';

/** The remote maintenance log (admin.staff): sessions over the VPN, each opening onto what was run in it. */

export interface View {
  title: string;
  body: SafeHtml;
}

export interface MaintenanceFilter {
  from: string;
  to: string;
}

const time = (d: Date) => japanDateTime(d).slice(11);

function sessionItem(s: SessionReport, now: Date): SafeHtml {
  const rows = [
    ...s.commands.map((c) => ({
      at: c.startedAt,
      row: html`<tr><td>${time(c.startedAt)}</td><td>madoguchi</td><td>${c.sudoUser ? `${c.sudoUser} → ${c.osUser}` : c.osUser}</td><td><code>${c.argv.join(' ')}</code></td><td class="${c.exitCode === 0 ? '' : 'result-failed'}">${exitText(c)}${c.finishedAt ? html` <span class="muted">(${durationText(c.startedAt, c.finishedAt)})</span>` : ''}</td></tr>`,
    })),
    ...s.sudo.map((e) => ({
      at: e.at,
      row: html`<tr><td>${time(e.at)}</td><td>sudo</td><td>${e.runAs ?? ''}</td><td><code>${e.command}</code>${e.pwd ? html` <span class="muted">(${e.pwd})</span>` : ''}</td><td class="${e.refusal ? 'result-failed' : ''}">${sudoText(e)}</td></tr>`,
    })),
  ].sort((a, b) => a.at.getTime() - b.at.getTime());
  const open = s.closedAt === null;
  return html`<details class="maintenance-session" id="session-${s.id}" data-session="${s.id}">
<summary><strong>${s.login}</strong> ・ 接続元 ${s.remoteAddress ?? '不明'} ・ ${japanDateTime(s.openedAt)} 〜 ${open ? html`<span class="state-missing">接続中</span>` : time(s.closedAt!)} (${durationText(s.openedAt, s.closedAt ?? now)}) ・ madoguchi ${s.commands.length} 件・sudo ${s.sudo.length} 件</summary>
${
  rows.length
    ? html`<table><thead><tr><th>時刻</th><th>種類</th><th>実行した利用者</th><th>コマンド</th><th>結果</th></tr></thead><tbody>${rows.map((r) => r.row)}</tbody></table>`
    : html`<p class="muted">このセッションで実行した madoguchi・sudo のコマンドの記録はありません。</p>`
}
<p class="muted">サーバー ${s.host ?? '—'} ・ ${s.service}${s.tty ? ` ・ ${s.tty}` : ''} ・ セッション番号 ${s.id}</p>
</details>`;
}

export function maintenanceView(r: MaintenanceReport, f: MaintenanceFilter, now: Date): View {
  const openCount = r.sessions.filter((s) => s.closedAt === null).length;
  return {
    title: '保守の記録',
    body: html`<h1>保守の記録</h1>
<p class="muted">保守用 VPN からの SSH の接続 (だれが・どこから・いつからいつまで) と、その中で実行した madoguchi と sudo のコマンドです。行を開くと実行したコマンドが出ます。この画面を開いたことも監査ログに残ります。</p>
<form method="get" action="/admin/maintenance" class="card filters">
  <label>期間<br><input name="from" type="date" value="${f.from}" aria-label="期間の初日" autofocus> 〜 <input name="to" type="date" value="${f.to}" aria-label="期間の最終日"></label>
  <button type="submit">表示する</button>
</form>
<p id="maintenance-summary">セッション ${r.sessions.length} 件${openCount ? html` (<span class="state-missing">接続中 ${openCount} 件</span>)` : ''}</p>
${r.truncated ? html`<p class="warning">件数が多いため一部だけを表示しています。期間を短くしてください。</p>` : ''}
${r.sudoLog.message ? html`<p class="warning" id="sudo-log-state">${r.sudoLog.message}: <code>${r.sudoLog.file}</code></p>` : ''}
<div id="maintenance-sessions">${r.sessions.length ? r.sessions.map((s) => sessionItem(s, now)) : html`<p class="muted">この期間の保守セッションはありません。</p>`}</div>
<h2>セッション外の madoguchi の実行</h2>
<p class="muted">タイマー (バックアップなど)、UPS の通知、サーバーの画面 (コンソール) からの実行です。</p>
${
  r.unattached.length
    ? html`<table id="maintenance-unattached"><thead><tr><th>日時</th><th>実行した利用者</th><th>コマンド</th><th>結果</th></tr></thead><tbody>
${r.unattached.map((c) => html`<tr><td>${japanDateTime(c.startedAt)}</td><td>${c.sudoUser ? `${c.sudoUser} → ${c.osUser}` : c.osUser}</td><td><code>${c.argv.join(' ')}</code></td><td class="${c.exitCode === 0 ? '' : 'result-failed'}">${exitText(c)}</td></tr>`)}
</tbody></table>`
    : html`<p class="muted">ありません。</p>`
}
${
  r.unreadableTotal
    ? html`<h2>sudo の記録で読めなかった行 (${r.unreadableTotal} 件)</h2>
<p class="warning">形が崩れていて、どのセッションのものか分からない行です。記録ファイルを直接確かめてください。</p>
<table id="sudo-unreadable"><thead><tr><th>ファイル</th><th>行</th><th>理由</th><th>内容</th></tr></thead><tbody>
${r.unreadable.map((u) => html`<tr><td><code>${u.file ?? ''}</code></td><td class="num">${u.line}</td><td>${u.reason}</td><td><code>${u.text}</code></td></tr>`)}
</tbody></table>`
    : ''
}
<p class="muted">sudo の記録は <code>${r.sudoLog.file}</code> と前月分 (<code>.1</code>) から読みます。それより古い月は圧縮して保管しています (docs/operations.md §7)。</p>`,
  };
}
