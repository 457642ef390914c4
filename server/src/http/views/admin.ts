import { formatWareki } from '../../domain/wareki.js';
import type { ApiClientRow } from '../../auth/apiClients.js';
import { entitlementKindLabels, permissionLabels, permissions } from '../../auth/permissions.js';
import type { PostedBulletin } from '../../bulletins/bulletins.js';
import { dbDate } from '../../db/values.js';
import { entitlementKinds } from '../../domain/codes.js';
import { japanWarekiTime as jst } from '../../domain/japanTime.js';
import { html, type SafeHtml } from '../html.js';

/** The administration screens (admin.staff): staff, groups, the CSV import, machine clients, bulletins. */

export interface View {
  title: string;
  body: SafeHtml;
}

/** A member of staff as the screens show them (the `staff` row, without the password columns). */
export interface StaffRecord {
  id: number;
  login_id: string;
  display_name: string;
  section: string | null;
  valid_from: string | null;
  valid_to: string | null;
  disabled: number | boolean;
  locked_at: unknown;
  last_login_at: unknown;
  must_change_password: number | boolean;
}

export interface GroupSummary {
  code: string;
  name: string;
  description: string | null;
}

export interface StaffFilter {
  q: string;
  group: string;
  state: string;
}

const hidden = (token: string) => html`<input type="hidden" name="_csrf" value="${token}">`;
const adminNav = html`<p class="muted"><a href="/admin/staff">職員</a> ・ <a href="/admin/groups">グループと権限</a> ・ <a href="/admin/staff/import">一括更新 (CSV)</a> ・ <a href="/admin/clients">接続端末</a> ・ <a href="/admin/bulletins">伝達事項</a></p>`;
const lastLogin = (s: Pick<StaffRecord, 'last_login_at'>) => jst(dbDate(s.last_login_at)?.toISOString() ?? null);

export function staffStatusLabel(s: Pick<StaffRecord, 'disabled' | 'locked_at' | 'must_change_password'>): string {
  if (s.disabled) return '無効';
  if (s.locked_at) return 'ロック中';
  if (s.must_change_password) return '利用中 (パスワード変更待ち)';
  return '利用中';
}

export function staffListView(
  f: StaffFilter,
  staff: readonly StaffRecord[],
  memberships: ReadonlyMap<number, string[]>,
  groups: readonly GroupSummary[],
): View {
  const groupName = new Map(groups.map((g) => [g.code, g.name]));
  return {
    title: '職員管理',
    body: html`<h1>職員管理</h1>${adminNav}
<form method="get" action="/admin/staff" class="card filters">
  <label>ID・氏名<br><input name="q" value="${f.q}" autofocus></label>
  <label>グループ<br><select name="group"><option value="">すべて</option>${groups.map((g) => html`<option value="${g.code}" ${g.code === f.group ? html`selected` : ''}>${g.name}</option>`)}</select></label>
  <label>状態<br><select name="state">${[
    ['', 'すべて'],
    ['active', '利用中'],
    ['locked', 'ロック中'],
    ['disabled', '無効'],
  ].map(([v, l]) => html`<option value="${v}" ${v === f.state ? html`selected` : ''}>${l}</option>`)}</select></label>
  <button type="submit">絞り込む</button> <a href="/admin/staff/new">＋ 職員を追加</a>
</form>
<table><thead><tr><th>ログイン ID</th><th>氏名</th><th>所属</th><th>グループ</th><th>有効期間</th><th>状態</th><th>前回ログイン</th></tr></thead><tbody>
${staff.map((s) => html`<tr><td><a href="/admin/staff/${s.id}">${s.login_id}</a></td><td>${s.display_name}</td><td>${s.section ?? ''}</td><td>${(memberships.get(Number(s.id)) ?? []).map((c) => groupName.get(c) ?? c).join('・')}</td><td>${s.valid_from ?? ''} 〜 ${s.valid_to ?? ''}</td><td>${staffStatusLabel(s)}</td><td>${lastLogin(s)}</td></tr>`)}
</tbody></table>
<p class="muted">${staff.length} 人</p>`,
  };
}

function staffForm(
  token: string,
  groups: readonly GroupSummary[],
  s: Partial<StaffRecord>,
  member: readonly string[],
  action: string,
  isNew: boolean,
): SafeHtml {
  return html`
<form method="post" action="${action}" class="card">
  ${hidden(token)}
  ${isNew ? html`<p><label>ログイン ID (半角英数字と . _ -)<br><input name="loginId" required pattern="[A-Za-z0-9._-]{1,64}" autofocus></label></p>` : ''}
  <p><label>氏名<br><input name="displayName" required value="${s.display_name ?? ''}" ${isNew ? '' : html`autofocus`}></label></p>
  <p><label>所属<br><input name="section" value="${s.section ?? ''}"></label></p>
  <p><label>有効期間 開始<br><input name="validFrom" type="date" value="${s.valid_from ?? ''}"></label> 〜 <label>終了<br><input name="validTo" type="date" value="${s.valid_to ?? ''}"></label></p>
  <fieldset><legend>グループ</legend>${groups.map((g) => html`<label class="check"><input type="checkbox" name="groups" value="${g.code}" ${member.includes(g.code) ? html`checked` : ''}> ${g.name} (${g.code})</label>`)}</fieldset>
  ${isNew ? '' : html`<p><label><input type="checkbox" name="disabled" value="1" ${s.disabled ? html`checked` : ''}> 無効にする (ログインできなくなり、今のセッションも終わります)</label></p>`}
  <p><button type="submit">保存する</button></p>
</form>`;
}

export function newStaffView(token: string, groups: readonly GroupSummary[]): View {
  return {
    title: '職員の追加',
    body: html`<h1>職員の追加</h1>${adminNav}${staffForm(token, groups, {}, [], '/admin/staff/new', true)}
<p class="muted">初期パスワードは保存後に一度だけ表示されます。初回ログイン時に変更が求められます。</p>`,
  };
}

export function staffCreatedView(id: number, loginId: string, displayName: string, password: string): View {
  return {
    title: '職員を追加しました',
    body: html`<h1>職員を追加しました</h1>
<div class="card"><p>${displayName} (${loginId}) の初期パスワード:</p><p class="secret">${password}</p><p class="muted">この画面を閉じると二度と表示できません。本人に直接伝えてください。初回ログイン時に変更が求められます。</p></div>
<p><a href="/admin/staff/${id}">職員の詳細へ</a> ・ <a href="/admin/staff">一覧へ</a></p>`,
  };
}

export function staffImportView(token: string): View {
  return {
    title: '職員の一括更新',
    body: html`<h1>職員の一括更新 (CSV)</h1>${adminNav}
<div class="card">
  <p>人事異動の CSV (Excel で保存した Shift_JIS、または UTF-8) を選び、まず「確認 (ドライラン)」で変更内容を確かめてから「反映」してください。反映はすべて成功するか、何も変わらないかのどちらかです。</p>
  <p>書式: <a href="/admin/staff/import/template.csv">テンプレートをダウンロード</a> (列の説明は運用マニュアル「職員の一括更新」)</p>
  <p><label>CSV ファイル<br><input type="file" id="staff-csv" accept=".csv,text/csv" autofocus></label></p>
  <p><button type="button" id="staff-dry-run" data-csrf="${token}">確認 (ドライラン)</button> <button type="button" id="staff-apply" data-csrf="${token}" disabled>反映する</button></p>
</div>
<pre id="staff-import-result" class="card" aria-live="polite"></pre>
<script src="/static/staff-import.js"></script>`,
  };
}

export function staffDetailView(token: string, s: StaffRecord, member: readonly string[], groups: readonly GroupSummary[]): View {
  return {
    title: `職員 ${s.login_id}`,
    body: html`<h1>職員 ${s.display_name} (${s.login_id})</h1>${adminNav}
<p>状態: <strong>${staffStatusLabel(s)}</strong> ・ 前回ログイン: ${lastLogin(s) || 'なし'}</p>
${staffForm(token, groups, s, member, `/admin/staff/${s.id}`, false)}
<div class="card">
  ${s.locked_at ? html`<form method="post" action="/admin/staff/${s.id}/unlock" class="inline">${hidden(token)}<button type="submit">ロックを解除する</button></form>` : html`<span class="muted">ロックされていません</span>`}
  <form method="post" action="/admin/staff/${s.id}/reset-password" class="inline">${hidden(token)}<button type="submit">パスワードを初期化する</button></form>
</div>`,
  };
}

export function passwordResetView(id: number, temporary: string): View {
  return {
    title: 'パスワードを初期化しました',
    body: html`<h1>パスワードを初期化しました</h1>
<div class="card"><p>仮パスワード:</p><p class="secret">${temporary}</p><p class="muted">この画面を閉じると二度と表示できません。本人に直接伝えてください。次のログインで変更が求められます。ロックも解除しました。</p></div>
<p><a href="/admin/staff/${id}">職員の詳細へ</a></p>`,
  };
}

export interface GroupGrants {
  /** Group code and permission, one pair per grant. */
  permissions: readonly { code: string; permission: string }[];
  /** Group code and entitlement kind (the data the group may see). */
  scopes: readonly { code: string; entitlement_kind: string }[];
}

export function groupListView(groups: readonly GroupSummary[], grants: GroupGrants): View {
  return {
    title: 'グループと権限',
    body: html`<h1>グループと権限</h1>${adminNav}
<table><thead><tr><th>グループ</th>${permissions.map((p) => html`<th title="${p}">${permissionLabels[p]}</th>`)}<th>表示する資格</th></tr></thead><tbody>
${groups.map(
  (g) =>
    html`<tr><td><a href="/admin/groups/${g.code}">${g.name}</a><br><code>${g.code}</code></td>${permissions.map((p) => html`<td>${grants.permissions.some((x) => x.code === g.code && x.permission === p) ? '○' : ''}</td>`)}<td>${grants.scopes
      .filter((x) => x.code === g.code)
      .map((x) => entitlementKindLabels[x.entitlement_kind as keyof typeof entitlementKindLabels] ?? x.entitlement_kind)
      .join('・')}</td></tr>`,
)}
</tbody></table>
<form method="get" action="/admin/groups/new" class="card filters"><label>新しいグループのコード (半角英数字)<br><input name="code" pattern="[A-Za-z][A-Za-z0-9_-]{0,63}" required></label><button type="submit">＋ グループを追加</button></form>`,
  };
}

/** One group's form; `group` is null for a new group (its code chosen on the list). */
export function groupView(
  token: string,
  code: string,
  group: { name: string; description: string | null } | null,
  perms: readonly string[],
  scopes: readonly string[],
): View {
  return {
    title: `グループ ${code}`,
    body: html`<h1>グループ ${group?.name ?? '(新規)'} <code>${code}</code></h1>${adminNav}
<form method="post" action="/admin/groups/${code}" class="card">
  ${hidden(token)}
  <p><label>名称 (画面上部に役割として表示)<br><input name="name" required value="${group?.name ?? ''}" autofocus></label></p>
  <p><label>説明<br><input name="description" size="60" value="${group?.description ?? ''}"></label></p>
  <fieldset><legend>操作の権限</legend>${permissions.map((p) => html`<label class="check"><input type="checkbox" name="permissions" value="${p}" ${perms.includes(p) ? html`checked` : ''}> ${permissionLabels[p]} <code>${p}</code></label>`)}</fieldset>
  <fieldset><legend>表示する資格 (データの範囲)</legend>${entitlementKinds.map((k) => html`<label class="check"><input type="checkbox" name="scopes" value="${k}" ${scopes.includes(k) ? html`checked` : ''}> ${entitlementKindLabels[k]}</label>`)}</fieldset>
  <p><button type="submit">保存する</button></p>
</form>`,
  };
}

export function bulletinsView(token: string, bulletins: readonly PostedBulletin[]): View {
  return {
    title: '伝達事項',
    body: html`<h1>伝達事項</h1>${adminNav}
<form method="post" action="/admin/bulletins" class="card">${hidden(token)}
  <p><label>件名<br><input name="title" required maxlength="100" size="60" autofocus></label></p>
  <p><label>本文<br><textarea name="body" required maxlength="2000" rows="5" cols="70"></textarea></label></p>
  <p><label>表示する最終日 (空欄なら削除するまで)<br><input name="showUntil" type="date"></label></p>
  <p><button type="submit">掲示する</button></p>
</form>
<table><thead><tr><th>掲示日時</th><th>件名</th><th>最終日</th><th></th></tr></thead><tbody>
${bulletins.map((b) => html`<tr><td>${jst(b.postedAt.toISOString())}</td><td>${b.title}</td><td>${b.showUntil ? formatWareki(b.showUntil) : ''}</td><td><form method="post" action="/admin/bulletins/${b.id}/delete" class="inline">${hidden(token)}<button type="submit">削除</button></form></td></tr>`)}
</tbody></table>`,
  };
}

export function clientsView(token: string, clients: readonly ApiClientRow[], groups: readonly GroupSummary[]): View {
  return {
    title: '接続端末',
    body: html`<h1>接続端末 (RPA 端末など)</h1>${adminNav}
<p class="muted">端末は画面ではなく JSON API を「Authorization: Bearer トークン」で使います。トークンは登録時に一度だけ表示されます。</p>
<table><thead><tr><th>端末名</th><th>グループ</th><th>登録</th><th>最終接続</th><th>接続元</th><th>状態</th><th></th></tr></thead><tbody>
${clients.map((c) => html`<tr><td>${c.name}</td><td>${c.groupCode}</td><td>${jst(c.createdAt.toISOString())}</td><td>${jst(c.lastSeenAt?.toISOString() ?? null)}</td><td>${c.lastAddress ?? ''}</td><td>${c.revokedAt ? '失効' : '有効'}</td><td>${c.revokedAt ? '' : html`<form method="post" action="/admin/clients/${c.name}/revoke" class="inline">${hidden(token)}<button type="submit">失効させる</button></form>`}</td></tr>`)}
</tbody></table>
<form method="post" action="/admin/clients" class="card filters">${hidden(token)}
  <label>端末名<br><input name="name" required pattern="[A-Za-z0-9._-]{1,64}"></label>
  <label>グループ<br><select name="groupCode">${groups.map((g) => html`<option value="${g.code}" ${g.code === 'rpaAgent' ? html`selected` : ''}>${g.name}</option>`)}</select></label>
  <button type="submit">＋ 端末を登録</button>
</form>`,
  };
}

export function clientRegisteredView(name: string, token: string): View {
  return {
    title: '端末を登録しました',
    body: html`<h1>端末を登録しました</h1>
<div class="card"><p>${name} のトークン:</p><p class="secret">${token}</p><p class="muted">この画面を閉じると二度と表示できません。端末の設定ファイルに書き込んでください。</p></div>
<p><a href="/admin/clients">接続端末の一覧へ</a></p>`,
  };
}
