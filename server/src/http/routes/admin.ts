import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import { listApiClients, registerApiClient, revokeApiClient } from '../../auth/apiClients.js';
import { entitlementKindLabels, permissionLabels, permissions } from '../../auth/permissions.js';
import { randomPassword } from '../../auth/passwords.js';
import { applyStaffImport, formatStaffDiff, parseStaffCsv, planStaffImport, StaffImportError } from '../../auth/staffImport.js';
import { createStaff, resetPassword, saveGroup, unlockStaff, updateStaff } from '../../auth/staffRepo.js';
import { appendAudit } from '../../audit/trail.js';
import { dbDate } from '../../db/values.js';
import { entitlementKinds } from '../../domain/codes.js';
import { html, type SafeHtml } from '../html.js';
import { badRequest, type RouteAccess, type RouteKit } from '../kit.js';
import { readRawBody } from '../rawBody.js';
import { japanWarekiTime as jst } from '../../domain/japanTime.js';

const str = (v: unknown): string => (typeof v === 'string' ? v.trim() : '');
const list = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' && v ? [v] : [];
const optionalDate = (v: unknown, label: string): string | null => {
  const s = str(v);
  if (!s) return null;
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(s)) throw badRequest(`${label}は YYYY-MM-DD で入力してください`);
  return s;
};

interface StaffRow {
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

async function groupsByStaff(knex: Knex): Promise<Map<number, string[]>> {
  const rows = (await knex('staff_group_members')
    .join('staff_groups', 'staff_groups.id', 'staff_group_members.group_id')
    .select('staff_id', 'code')) as { staff_id: number; code: string }[];
  const out = new Map<number, string[]>();
  for (const r of rows) out.set(Number(r.staff_id), [...(out.get(Number(r.staff_id)) ?? []), r.code]);
  return out;
}

const allGroups = (knex: Knex) =>
  knex('staff_groups').orderBy('id').select('code', 'name', 'description') as Promise<
    { code: string; name: string; description: string | null }[]
  >;

const MAX_IMPORT_BYTES = 2 * 1024 * 1024;

/** Staff, groups (permissions and data scopes), machine clients and the bulk import (admin.staff). */
export function registerAdminRoutes({ legacyRoute: route, deps, render, session, actor, form }: RouteKit): void {
  const knex = deps.knex;
  const admin: RouteAccess = { permission: 'admin.staff' };
  const csrf = (ctx: Parameters<RouteKit['session']>[0]) => session(ctx).csrfToken ?? '';
  const hidden = (token: string) => html`<input type="hidden" name="_csrf" value="${token}">`;
  const adminNav = html`<p class="muted"><a href="/admin/staff">職員</a> ・ <a href="/admin/groups">グループと権限</a> ・ <a href="/admin/staff/import">一括更新 (CSV)</a> ・ <a href="/admin/clients">接続端末</a> ・ <a href="/admin/bulletins">伝達事項</a></p>`;

  route('GET', '/admin/staff', admin, async (ctx) => {
    const text = str(ctx.query.q);
    const group = str(ctx.query.group);
    const state = str(ctx.query.state);
    let query = knex('staff').orderBy('login_id');
    if (text) query = query.where((w) => w.where('login_id', 'like', `%${text}%`).orWhere('display_name', 'like', `%${text}%`));
    if (state === 'locked') query = query.whereNotNull('locked_at');
    if (state === 'disabled') query = query.where({ disabled: true });
    if (state === 'active') query = query.where({ disabled: false }).whereNull('locked_at');
    if (group)
      query = query.whereIn(
        'id',
        knex('staff_group_members')
          .join('staff_groups', 'staff_groups.id', 'staff_group_members.group_id')
          .where('staff_groups.code', group)
          .select('staff_id'),
      );
    const [staff, memberships, groups] = await Promise.all([query as Promise<StaffRow[]>, groupsByStaff(knex), allGroups(knex)]);
    const groupName = new Map(groups.map((g) => [g.code, g.name]));
    render(
      ctx,
      '職員管理',
      html`<h1>職員管理</h1>${adminNav}
<form method="get" action="/admin/staff" class="card filters">
  <label>ID・氏名<br><input name="q" value="${text}" autofocus></label>
  <label>グループ<br><select name="group"><option value="">すべて</option>${groups.map((g) => html`<option value="${g.code}" ${g.code === group ? html`selected` : ''}>${g.name}</option>`)}</select></label>
  <label>状態<br><select name="state">${[
    ['', 'すべて'],
    ['active', '利用中'],
    ['locked', 'ロック中'],
    ['disabled', '無効'],
  ].map(([v, l]) => html`<option value="${v}" ${v === state ? html`selected` : ''}>${l}</option>`)}</select></label>
  <button type="submit">絞り込む</button> <a href="/admin/staff/new">＋ 職員を追加</a>
</form>
<table><thead><tr><th>ログイン ID</th><th>氏名</th><th>所属</th><th>グループ</th><th>有効期間</th><th>状態</th><th>前回ログイン</th></tr></thead><tbody>
${staff.map((s) => html`<tr><td><a href="/admin/staff/${s.id}">${s.login_id}</a></td><td>${s.display_name}</td><td>${s.section ?? ''}</td><td>${(memberships.get(Number(s.id)) ?? []).map((c) => groupName.get(c) ?? c).join('・')}</td><td>${s.valid_from ?? ''} 〜 ${s.valid_to ?? ''}</td><td>${statusLabel(s)}</td><td>${jst(dbDate(s.last_login_at)?.toISOString() ?? null)}</td></tr>`)}
</tbody></table>
<p class="muted">${staff.length} 人</p>`,
    );
  });

  const staffForm = (
    token: string,
    groups: { code: string; name: string }[],
    s: Partial<StaffRow>,
    member: string[],
    action: string,
    isNew: boolean,
  ): SafeHtml => html`
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

  route('GET', '/admin/staff/new', admin, async (ctx) => {
    render(
      ctx,
      '職員の追加',
      html`<h1>職員の追加</h1>${adminNav}${staffForm(csrf(ctx), await allGroups(knex), {}, [], '/admin/staff/new', true)}
<p class="muted">初期パスワードは保存後に一度だけ表示されます。初回ログイン時に変更が求められます。</p>`,
    );
  });

  route('POST', '/admin/staff/new', admin, async (ctx) => {
    const body = form(ctx);
    const loginId = str(body.loginId);
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(loginId)) throw badRequest('ログイン ID は半角英数字と . _ - で 64 文字以内にしてください');
    if (await knex('staff').where({ login_id: loginId }).first('id')) throw badRequest(`ログイン ID「${loginId}」はすでに使われています`);
    const displayName = str(body.displayName);
    if (!displayName) throw badRequest('氏名を入力してください');
    const password = randomPassword(14);
    const validFrom = optionalDate(body.validFrom, '有効期間の開始');
    const validTo = optionalDate(body.validTo, '有効期間の終了');
    const id = await createStaff(
      knex,
      {
        loginId,
        displayName,
        section: str(body.section),
        password,
        groups: list(body.groups),
        mustChangePassword: true,
        validFrom,
        validTo,
      },
      actor(ctx),
    );
    render(
      ctx,
      '職員を追加しました',
      html`<h1>職員を追加しました</h1>
<div class="card"><p>${displayName} (${loginId}) の初期パスワード:</p><p class="secret">${password}</p><p class="muted">この画面を閉じると二度と表示できません。本人に直接伝えてください。初回ログイン時に変更が求められます。</p></div>
<p><a href="/admin/staff/${id}">職員の詳細へ</a> ・ <a href="/admin/staff">一覧へ</a></p>`,
    );
  });

  // Registered before /admin/staff/:id, which would otherwise take 'import' for an id.
  route('GET', '/admin/staff/import', admin, async (ctx) => {
    render(
      ctx,
      '職員の一括更新',
      html`<h1>職員の一括更新 (CSV)</h1>${adminNav}
<div class="card">
  <p>人事異動の CSV (Excel で保存した Shift_JIS、または UTF-8) を選び、まず「確認 (ドライラン)」で変更内容を確かめてから「反映」してください。反映はすべて成功するか、何も変わらないかのどちらかです。</p>
  <p>書式: <a href="/admin/staff/import/template.csv">テンプレートをダウンロード</a> (列の説明は運用マニュアル「職員の一括更新」)</p>
  <p><label>CSV ファイル<br><input type="file" id="staff-csv" accept=".csv,text/csv" autofocus></label></p>
  <p><button type="button" id="staff-dry-run" data-csrf="${csrf(ctx)}">確認 (ドライラン)</button> <button type="button" id="staff-apply" data-csrf="${csrf(ctx)}" disabled>反映する</button></p>
</div>
<pre id="staff-import-result" class="card" aria-live="polite"></pre>
<script src="/static/staff-import.js"></script>`,
    );
  });

  route('GET', '/admin/staff/import/template.csv', admin, async (ctx) => {
    ctx.type = 'text/csv; charset=utf-8';
    ctx.attachment('staff-import-template.csv');
    ctx.body = await readFile(path.join(deps.configDir, 'staff-import-template.csv'));
  });

  route('POST', '/admin/staff/import', admin, async (ctx) => {
    const mode = ctx.query.mode === 'apply' ? 'apply' : 'dryRun';
    const fileName = str(ctx.query.name) || 'upload.csv';
    const bytes = await readRawBody(ctx.req, MAX_IMPORT_BYTES);
    if (!bytes.length) throw badRequest('CSV ファイルが空です');
    const parsed = parseStaffCsv(bytes, fileName);
    const plan = await planStaffImport(knex, parsed, { fileName, passwordPolicy: deps.config.auth.password });
    if (plan.errors.length) {
      await knex.transaction((trx) =>
        appendAudit(trx, {
          ...actor(ctx),
          action: 'staff.import',
          targetKind: 'staff',
          targetIds: [],
          result: 'failure',
          detail: { fileName, mode, errors: plan.errors.length },
        }),
      );
      ctx.status = 400;
      ctx.body = {
        ok: false,
        errors: plan.errors.map((e) => ({ ...e, text: `${fileName}:${e.line} ${e.column ? `列「${e.column}」: ` : ''}${e.message}` })),
      };
      return;
    }
    const diff = formatStaffDiff(plan);
    if (mode === 'dryRun') {
      ctx.body = { ok: true, applied: false, diff };
      return;
    }
    let result: Awaited<ReturnType<typeof applyStaffImport>>;
    try {
      result = await applyStaffImport(knex, plan, actor(ctx));
    } catch (e) {
      if (e instanceof StaffImportError)
        throw Object.assign(new Error(`${e.message} (何も反映していません。確認からやり直してください)`), { status: 409, expose: true });
      throw e;
    }
    ctx.body = { ok: true, applied: true, diff, added: result.added, updated: result.updated, disabled: result.disabled };
  });

  const staffId = (raw: string | undefined): number => {
    const id = Number(raw);
    if (!Number.isInteger(id) || id < 1) throw badRequest('職員番号は正の整数で指定してください');
    return id;
  };

  route('GET', '/admin/staff/:id', admin, async (ctx) => {
    const id = staffId(ctx.params.id);
    const s = (await knex('staff').where({ id }).first()) as StaffRow | undefined;
    if (!s) return ctx.throw(404, '職員が見つかりません');
    const member = (await groupsByStaff(knex)).get(id) ?? [];
    const token = csrf(ctx);
    render(
      ctx,
      `職員 ${s.login_id}`,
      html`<h1>職員 ${s.display_name} (${s.login_id})</h1>${adminNav}
<p>状態: <strong>${statusLabel(s)}</strong> ・ 前回ログイン: ${jst(dbDate(s.last_login_at)?.toISOString() ?? null) || 'なし'}</p>
${staffForm(token, await allGroups(knex), s, member, `/admin/staff/${id}`, false)}
<div class="card">
  ${s.locked_at ? html`<form method="post" action="/admin/staff/${id}/unlock" class="inline">${hidden(token)}<button type="submit">ロックを解除する</button></form>` : html`<span class="muted">ロックされていません</span>`}
  <form method="post" action="/admin/staff/${id}/reset-password" class="inline">${hidden(token)}<button type="submit">パスワードを初期化する</button></form>
</div>`,
    );
  });

  route('POST', '/admin/staff/:id', admin, async (ctx) => {
    const id = staffId(ctx.params.id);
    const body = form(ctx);
    const displayName = str(body.displayName);
    if (!displayName) throw badRequest('氏名を入力してください');
    if (id === session(ctx).staffId && body.disabled) throw badRequest('自分のアカウントは無効にできません');
    await updateStaff(
      knex,
      id,
      {
        displayName,
        section: str(body.section),
        validFrom: optionalDate(body.validFrom, '有効期間の開始'),
        validTo: optionalDate(body.validTo, '有効期間の終了'),
        disabled: Boolean(body.disabled),
        groups: list(body.groups),
      },
      actor(ctx),
    );
    ctx.status = 303;
    ctx.redirect(`/admin/staff/${id}`);
  });

  route('POST', '/admin/staff/:id/unlock', admin, async (ctx) => {
    const id = staffId(ctx.params.id);
    await unlockStaff(knex, id, actor(ctx));
    ctx.status = 303;
    ctx.redirect(`/admin/staff/${id}`);
  });

  route('POST', '/admin/staff/:id/reset-password', admin, async (ctx) => {
    const id = staffId(ctx.params.id);
    const temporary = await resetPassword(knex, id, actor(ctx));
    render(
      ctx,
      'パスワードを初期化しました',
      html`<h1>パスワードを初期化しました</h1>
<div class="card"><p>仮パスワード:</p><p class="secret">${temporary}</p><p class="muted">この画面を閉じると二度と表示できません。本人に直接伝えてください。次のログインで変更が求められます。ロックも解除しました。</p></div>
<p><a href="/admin/staff/${id}">職員の詳細へ</a></p>`,
    );
  });

  route('GET', '/admin/groups', admin, async (ctx) => {
    const groups = await allGroups(knex);
    const perms = (await knex('staff_group_permissions')
      .join('staff_groups', 'staff_groups.id', 'staff_group_permissions.group_id')
      .select('code', 'permission')) as { code: string; permission: string }[];
    const scopes = (await knex('staff_group_scopes')
      .join('staff_groups', 'staff_groups.id', 'staff_group_scopes.group_id')
      .select('code', 'entitlement_kind')) as { code: string; entitlement_kind: string }[];
    render(
      ctx,
      'グループと権限',
      html`<h1>グループと権限</h1>${adminNav}
<table><thead><tr><th>グループ</th>${permissions.map((p) => html`<th title="${p}">${permissionLabels[p]}</th>`)}<th>表示する資格</th></tr></thead><tbody>
${groups.map(
  (g) =>
    html`<tr><td><a href="/admin/groups/${g.code}">${g.name}</a><br><code>${g.code}</code></td>${permissions.map((p) => html`<td>${perms.some((x) => x.code === g.code && x.permission === p) ? '○' : ''}</td>`)}<td>${scopes
      .filter((x) => x.code === g.code)
      .map((x) => entitlementKindLabels[x.entitlement_kind as keyof typeof entitlementKindLabels] ?? x.entitlement_kind)
      .join('・')}</td></tr>`,
)}
</tbody></table>
<form method="get" action="/admin/groups/new" class="card filters"><label>新しいグループのコード (半角英数字)<br><input name="code" pattern="[A-Za-z][A-Za-z0-9_-]{0,63}" required></label><button type="submit">＋ グループを追加</button></form>`,
    );
  });

  const groupCode = (raw: unknown): string => {
    const code = str(raw);
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(code)) throw badRequest('グループのコードは英字で始まる半角英数字 64 文字以内にしてください');
    return code;
  };

  route('GET', '/admin/groups/:code', admin, async (ctx) => {
    const code = ctx.params.code === 'new' ? groupCode(ctx.query.code) : groupCode(ctx.params.code);
    const g = (await knex('staff_groups').where({ code }).first('id', 'name', 'description')) as
      { id: number; name: string; description: string | null } | undefined;
    if (!g && ctx.params.code !== 'new') return ctx.throw(404, 'グループが見つかりません');
    const perms = g ? ((await knex('staff_group_permissions').where({ group_id: g.id }).pluck('permission')) as string[]) : [];
    const scopes = g ? ((await knex('staff_group_scopes').where({ group_id: g.id }).pluck('entitlement_kind')) as string[]) : [];
    render(
      ctx,
      `グループ ${code}`,
      html`<h1>グループ ${g?.name ?? '(新規)'} <code>${code}</code></h1>${adminNav}
<form method="post" action="/admin/groups/${code}" class="card">
  ${hidden(csrf(ctx))}
  <p><label>名称 (画面上部に役割として表示)<br><input name="name" required value="${g?.name ?? ''}" autofocus></label></p>
  <p><label>説明<br><input name="description" size="60" value="${g?.description ?? ''}"></label></p>
  <fieldset><legend>操作の権限</legend>${permissions.map((p) => html`<label class="check"><input type="checkbox" name="permissions" value="${p}" ${perms.includes(p) ? html`checked` : ''}> ${permissionLabels[p]} <code>${p}</code></label>`)}</fieldset>
  <fieldset><legend>表示する資格 (データの範囲)</legend>${entitlementKinds.map((k) => html`<label class="check"><input type="checkbox" name="scopes" value="${k}" ${scopes.includes(k) ? html`checked` : ''}> ${entitlementKindLabels[k]}</label>`)}</fieldset>
  <p><button type="submit">保存する</button></p>
</form>`,
    );
  });

  route('POST', '/admin/groups/:code', admin, async (ctx) => {
    const code = groupCode(ctx.params.code);
    const body = form(ctx);
    const name = str(body.name);
    if (!name) throw badRequest('グループの名称を入力してください');
    const perms = list(body.permissions);
    const unknown = perms.find((p) => !(permissions as readonly string[]).includes(p));
    if (unknown) throw badRequest(`権限「${unknown}」はありません`);
    const scopes = list(body.scopes);
    const unknownScope = scopes.find((k) => !(entitlementKinds as readonly string[]).includes(k));
    if (unknownScope) throw badRequest(`資格の種類「${unknownScope}」はありません`);
    await saveGroup(knex, { code, name, description: str(body.description), permissions: perms, scopes }, actor(ctx));
    ctx.status = 303;
    ctx.redirect('/admin/groups');
  });

  route('GET', '/admin/bulletins', admin, async (ctx) => {
    const rows = (await knex('bulletins').orderBy('posted_at', 'desc').limit(100)) as {
      id: number;
      title: string;
      body: string;
      show_until: string | null;
      posted_at: unknown;
    }[];
    const token = csrf(ctx);
    render(
      ctx,
      '伝達事項',
      html`<h1>伝達事項</h1>${adminNav}
<form method="post" action="/admin/bulletins" class="card">${hidden(token)}
  <p><label>件名<br><input name="title" required maxlength="100" size="60" autofocus></label></p>
  <p><label>本文<br><textarea name="body" required maxlength="2000" rows="5" cols="70"></textarea></label></p>
  <p><label>表示する最終日 (空欄なら削除するまで)<br><input name="showUntil" type="date"></label></p>
  <p><button type="submit">掲示する</button></p>
</form>
<table><thead><tr><th>掲示日時</th><th>件名</th><th>最終日</th><th></th></tr></thead><tbody>
${rows.map((b) => html`<tr><td>${jst(dbDate(b.posted_at)?.toISOString() ?? null)}</td><td>${b.title}</td><td>${b.show_until ?? ''}</td><td><form method="post" action="/admin/bulletins/${b.id}/delete" class="inline">${hidden(token)}<button type="submit">削除</button></form></td></tr>`)}
</tbody></table>`,
    );
  });

  route('POST', '/admin/bulletins', admin, async (ctx) => {
    const body = form(ctx);
    const title = str(body.title);
    const text = typeof body.body === 'string' ? body.body.trim() : '';
    if (!title || !text) throw badRequest('件名と本文を入力してください');
    const showUntil = optionalDate(body.showUntil, '表示する最終日');
    const s = session(ctx);
    if (s.staffId === null) return ctx.throw(403, '端末からは掲示できません');
    await knex.transaction(async (trx) => {
      const [row] = await trx('bulletins')
        .insert({
          title: title.slice(0, 100),
          body: text.slice(0, 2000),
          show_until: showUntil,
          posted_by: s.staffId,
          posted_at: new Date(),
        })
        .returning('id');
      const id = typeof row === 'object' ? (row as { id: number }).id : Number(row);
      await appendAudit(trx, {
        ...actor(ctx),
        action: 'bulletin.create',
        targetKind: 'bulletin',
        targetIds: [String(id)],
        result: 'success',
      });
    });
    ctx.status = 303;
    ctx.redirect('/admin/bulletins');
  });

  route('POST', '/admin/bulletins/:id/delete', admin, async (ctx) => {
    const id = Number(ctx.params.id);
    if (!Number.isInteger(id) || id < 1) throw badRequest('番号が正しくありません');
    await knex.transaction(async (trx) => {
      if (!(await trx('bulletins').where({ id }).del()))
        throw Object.assign(new Error('伝達事項が見つかりません'), { status: 404, expose: true });
      await appendAudit(trx, {
        ...actor(ctx),
        action: 'bulletin.delete',
        targetKind: 'bulletin',
        targetIds: [String(id)],
        result: 'success',
      });
    });
    ctx.status = 303;
    ctx.redirect('/admin/bulletins');
  });

  route('GET', '/admin/clients', admin, async (ctx) => {
    const [clients, groups] = await Promise.all([listApiClients(knex), allGroups(knex)]);
    const token = csrf(ctx);
    render(
      ctx,
      '接続端末',
      html`<h1>接続端末 (RPA 端末など)</h1>${adminNav}
<p class="muted">端末は画面ではなく JSON API を「Authorization: Bearer トークン」で使います。トークンは登録時に一度だけ表示されます。</p>
<table><thead><tr><th>端末名</th><th>グループ</th><th>登録</th><th>最終接続</th><th>接続元</th><th>状態</th><th></th></tr></thead><tbody>
${clients.map((c) => html`<tr><td>${c.name}</td><td>${c.groupCode}</td><td>${jst(c.createdAt.toISOString())}</td><td>${jst(c.lastSeenAt?.toISOString() ?? null)}</td><td>${c.lastAddress ?? ''}</td><td>${c.revokedAt ? '失効' : '有効'}</td><td>${c.revokedAt ? '' : html`<form method="post" action="/admin/clients/${c.name}/revoke" class="inline">${hidden(token)}<button type="submit">失効させる</button></form>`}</td></tr>`)}
</tbody></table>
<form method="post" action="/admin/clients" class="card filters">${hidden(token)}
  <label>端末名<br><input name="name" required pattern="[A-Za-z0-9._-]{1,64}"></label>
  <label>グループ<br><select name="groupCode">${groups.map((g) => html`<option value="${g.code}" ${g.code === 'rpaAgent' ? html`selected` : ''}>${g.name}</option>`)}</select></label>
  <button type="submit">＋ 端末を登録</button>
</form>`,
    );
  });

  route('POST', '/admin/clients', admin, async (ctx) => {
    const body = form(ctx);
    const name = str(body.name);
    const token = await registerApiClient(knex, name, str(body.groupCode), actor(ctx));
    render(
      ctx,
      '端末を登録しました',
      html`<h1>端末を登録しました</h1>
<div class="card"><p>${name} のトークン:</p><p class="secret">${token}</p><p class="muted">この画面を閉じると二度と表示できません。端末の設定ファイルに書き込んでください。</p></div>
<p><a href="/admin/clients">接続端末の一覧へ</a></p>`,
    );
  });

  route('POST', '/admin/clients/:name/revoke', admin, async (ctx) => {
    if (!(await revokeApiClient(knex, ctx.params.name ?? '', actor(ctx)))) ctx.throw(404, '有効な端末が見つかりません');
    ctx.status = 303;
    ctx.redirect('/admin/clients');
  });
}

function statusLabel(s: Pick<StaffRow, 'disabled' | 'locked_at' | 'must_change_password'>): string {
  if (s.disabled) return '無効';
  if (s.locked_at) return 'ロック中';
  if (s.must_change_password) return '利用中 (パスワード変更待ち)';
  return '利用中';
}
