import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Type as T, type SchemaOptions } from '@sinclair/typebox';
import type { Knex } from 'knex';
import { listApiClients, registerApiClient, revokeApiClient } from '../../auth/apiClients.js';
import { permissions } from '../../auth/permissions.js';
import { randomPassword } from '../../auth/passwords.js';
import {
  applyStaffImport,
  formatStaffDiff,
  MAX_STAFF_IMPORT_BYTES,
  MAX_STAFF_ROWS,
  parseStaffCsv,
  planStaffImport,
  StaffImportError,
} from '../../auth/staffImport.js';
import { createStaff, resetPassword, saveGroup, unlockStaff, updateStaff } from '../../auth/staffRepo.js';
import { appendAudit } from '../../audit/trail.js';
import { BULLETIN_BODY_MAX, BULLETIN_TITLE_MAX, createBulletin, recentBulletins, retireBulletin } from '../../bulletins/bulletins.js';
import { entitlementKinds } from '../../domain/codes.js';
import { DomainError } from '../../errors/domainError.js';
import { file, htmlPage, json, redirect, type Ctx, type RouteAccess, type RouteKit } from '../kit.js';
import { readRawBody } from '../rawBody.js';
import { CsrfField, IdParam, Nullable, Obj } from '../schemas/common.js';
import {
  bulletinsView,
  clientRegisteredView,
  clientsView,
  groupListView,
  groupView,
  newStaffView,
  passwordResetView,
  staffCreatedView,
  staffDetailView,
  staffImportView,
  staffListView,
  type GroupGrants,
  type GroupSummary,
  type StaffFilter,
  type StaffRecord,
  type View,
} from '../views/admin.js';

// ---- Read models of the staff tables for these screens (their writer is auth/staffRepo.ts) ----

async function groupsByStaff(knex: Knex): Promise<Map<number, string[]>> {
  const rows = (await knex('staff_group_members')
    .join('staff_groups', 'staff_groups.id', 'staff_group_members.group_id')
    .select('staff_id', 'code')) as { staff_id: number; code: string }[];
  const out = new Map<number, string[]>();
  for (const r of rows) out.set(Number(r.staff_id), [...(out.get(Number(r.staff_id)) ?? []), r.code]);
  return out;
}

const allGroups = (knex: Knex) => knex('staff_groups').orderBy('id').select('code', 'name', 'description') as Promise<GroupSummary[]>;

async function findStaff(knex: Knex, f: StaffFilter): Promise<StaffRecord[]> {
  let query = knex('staff').orderBy('login_id');
  if (f.q) query = query.where((w) => w.where('login_id', 'like', `%${f.q}%`).orWhere('display_name', 'like', `%${f.q}%`));
  if (f.state === 'locked') query = query.whereNotNull('locked_at');
  if (f.state === 'disabled') query = query.where({ disabled: true });
  if (f.state === 'active') query = query.where({ disabled: false }).whereNull('locked_at');
  if (f.group)
    query = query.whereIn(
      'id',
      knex('staff_group_members')
        .join('staff_groups', 'staff_groups.id', 'staff_group_members.group_id')
        .where('staff_groups.code', f.group)
        .select('staff_id'),
    );
  return (await query) as StaffRecord[];
}

async function groupGrants(knex: Knex): Promise<GroupGrants> {
  const [perms, scopes] = await Promise.all([
    knex('staff_group_permissions')
      .join('staff_groups', 'staff_groups.id', 'staff_group_permissions.group_id')
      .select('code', 'permission') as Promise<{ code: string; permission: string }[]>,
    knex('staff_group_scopes')
      .join('staff_groups', 'staff_groups.id', 'staff_group_scopes.group_id')
      .select('code', 'entitlement_kind') as Promise<{ code: string; entitlement_kind: string }[]>,
  ]);
  return { permissions: perms, scopes };
}

async function groupWithGrants(knex: Knex, code: string) {
  const g = (await knex('staff_groups').where({ code }).first('id', 'name', 'description')) as
    { id: number; name: string; description: string | null } | undefined;
  if (!g) return null;
  const [perms, scopes] = await Promise.all([
    knex('staff_group_permissions').where({ group_id: g.id }).pluck('permission') as Promise<string[]>,
    knex('staff_group_scopes').where({ group_id: g.id }).pluck('entitlement_kind') as Promise<string[]>,
  ]);
  return { group: g, perms, scopes };
}

// ---- Input schemas ----

/** A fixed set of strings (the `enum` keyword, so a 400 lists the allowed values). */
const Choice = <V extends string>(values: readonly V[], options: SchemaOptions = {}) =>
  T.Unsafe<V>({ type: 'string', enum: [...values], ...options });
/** A date field of a form: `YYYY-MM-DD`, or blank (an empty date input is sent as ''). */
const DateOrBlank = (title: string) => T.Optional(T.String({ pattern: '^([0-9]{4}-[0-9]{2}-[0-9]{2})?$', title: `${title} (YYYY-MM-DD)` }));
/** A required text field: not blank. */
const Text = (title: string, maxLength: number) => T.String({ minLength: 1, maxLength, pattern: '\\S', title });
/** Checkboxes of one name: absent, one value or many (coerced to a list). */
const Checked = (title: string) => T.Optional(T.Array(T.String({ maxLength: 64 }), { title }));

const LOGIN_ID = '^[A-Za-z0-9._-]{1,64}$';
const GROUP_CODE = '^[A-Za-z][A-Za-z0-9_-]{0,63}$';
const GroupCode = (title: string) => T.String({ pattern: GROUP_CODE, title: `${title} (英字で始まる半角英数字 64 文字以内)` });

const StaffId = T.Object({ id: IdParam('職員番号') });
const staffFields = {
  _csrf: CsrfField,
  displayName: Text('氏名', 100),
  section: T.Optional(T.String({ maxLength: 100, title: '所属' })),
  validFrom: DateOrBlank('有効期間の開始'),
  validTo: DateOrBlank('有効期間の終了'),
  groups: Checked('グループ'),
};
const NewStaffForm = T.Object({
  ...staffFields,
  loginId: T.String({ pattern: LOGIN_ID, title: 'ログイン ID (半角英数字と . _ - で 64 文字以内)' }),
});
const StaffForm = T.Object({ ...staffFields, disabled: T.Optional(T.String({ maxLength: 8, title: '無効にする' })) });

const GroupForm = T.Object({
  _csrf: CsrfField,
  name: Text('グループの名称', 100),
  description: T.Optional(T.String({ maxLength: 400, title: '説明' })),
  permissions: Checked('操作の権限'),
  scopes: Checked('表示する資格'),
});

const BulletinForm = T.Object({
  _csrf: CsrfField,
  title: T.String({ minLength: 1, maxLength: BULLETIN_TITLE_MAX, title: '件名' }),
  body: T.String({ minLength: 1, maxLength: BULLETIN_BODY_MAX, title: '本文' }),
  showUntil: DateOrBlank('表示する最終日'),
});

const ImportProblemSchema = Obj({
  line: T.Integer({ description: 'ファイルの物理行 (見出し = 1)' }),
  column: Nullable(T.String({ description: '列の見出し' })),
  message: T.String(),
  text: T.String({ description: '「ファイル名:行 列「…」: 内容」の 1 行' }),
});
const StaffImportResultSchema = T.Union([
  Obj({ ok: T.Literal(false), errors: T.Array(ImportProblemSchema) }, { description: 'ファイルに誤り (400): 何も反映していません' }),
  Obj({ ok: T.Literal(true), applied: T.Literal(false), diff: T.String({ description: '変更内容 (ドライラン)' }) }),
  Obj({
    ok: T.Literal(true),
    applied: T.Literal(true),
    diff: T.String(),
    added: T.Array(Obj({ loginId: T.String(), password: T.String({ description: '初期パスワード (この応答でだけ返します)' }) })),
    updated: T.Integer({ minimum: 0 }),
    disabled: T.Integer({ minimum: 0 }),
  }),
]);

const blankToNull = (v: string | undefined): string | null => (v ? v : null);

/** Staff, groups (permissions and data scopes), machine clients, bulletins and the bulk import (admin.staff). */
export function registerAdminRoutes({ route, deps, render, session, actor }: RouteKit): void {
  const knex = deps.knex;
  const admin: RouteAccess = { permission: 'admin.staff' };
  const csrf = (ctx: Ctx) => session(ctx).csrfToken ?? '';
  const show = (ctx: Ctx, v: View) => render(ctx, v.title, v.body);
  const seeOther = (ctx: Ctx, to: string) => {
    ctx.status = 303;
    ctx.redirect(to);
  };

  route(
    {
      method: 'GET',
      path: '/admin/staff',
      access: admin,
      summary: '職員の一覧 (ID・氏名・グループ・状態で絞り込み)',
      query: T.Object({
        q: T.Optional(T.String({ maxLength: 100, title: 'ID・氏名' })),
        group: T.Optional(T.String({ maxLength: 64, title: 'グループ' })),
        state: T.Optional(Choice(['', 'active', 'locked', 'disabled'] as const, { title: '状態' })),
      }),
      response: htmlPage,
    },
    async (ctx) => {
      const q = ctx.input.query;
      const f: StaffFilter = { q: (q.q ?? '').trim(), group: (q.group ?? '').trim(), state: q.state ?? '' };
      const [staff, memberships, groups] = await Promise.all([findStaff(knex, f), groupsByStaff(knex), allGroups(knex)]);
      show(ctx, staffListView(f, staff, memberships, groups));
    },
  );

  route({ method: 'GET', path: '/admin/staff/new', access: admin, summary: '職員の追加 (入力画面)', response: htmlPage }, async (ctx) => {
    show(ctx, newStaffView(csrf(ctx), await allGroups(knex)));
  });

  route(
    {
      method: 'POST',
      path: '/admin/staff/new',
      access: admin,
      summary: '職員を追加し、初期パスワードを一度だけ表示する',
      body: NewStaffForm,
      response: htmlPage,
      errors: ['staff.loginIdTaken'],
    },
    async (ctx) => {
      const b = ctx.input.body;
      if (await knex('staff').where({ login_id: b.loginId }).first('id'))
        throw new DomainError('staff.loginIdTaken', { loginId: b.loginId });
      const password = randomPassword(14);
      const displayName = b.displayName.trim();
      const id = await createStaff(
        knex,
        {
          loginId: b.loginId,
          displayName,
          section: (b.section ?? '').trim(),
          password,
          groups: b.groups ?? [],
          mustChangePassword: true,
          validFrom: blankToNull(b.validFrom),
          validTo: blankToNull(b.validTo),
        },
        actor(ctx),
      );
      show(ctx, staffCreatedView(id, b.loginId, displayName, password));
    },
  );

  // Declared before /admin/staff/:id, which would otherwise take 'import' for an id.
  route(
    { method: 'GET', path: '/admin/staff/import', access: admin, summary: '職員の一括更新 (CSV) の画面', response: htmlPage },
    async (ctx) => {
      show(ctx, staffImportView(csrf(ctx)));
    },
  );

  route(
    {
      method: 'GET',
      path: '/admin/staff/import/template.csv',
      access: admin,
      summary: '職員の一括更新 CSV のテンプレート',
      response: file('text/csv'),
    },
    async (ctx) => {
      ctx.type = 'text/csv; charset=utf-8';
      ctx.attachment('staff-import-template.csv');
      ctx.body = await readFile(path.join(deps.configDir, 'staff-import-template.csv'));
    },
  );

  route(
    {
      method: 'POST',
      path: '/admin/staff/import',
      access: admin,
      summary: '職員の一括更新: CSV を確認 (ドライラン) または反映する',
      description:
        `本文は CSV ファイルそのもの (Content-Type: text/csv、UTF-8 または Shift_JIS、${MAX_STAFF_IMPORT_BYTES / 1024 / 1024} MB・${MAX_STAFF_ROWS.toLocaleString('ja-JP')} 人まで。超えると 413)。` +
        'ファイルに誤りがあれば 400 で行と列を示し (最初の 100 件と残りの件数)、何も反映しません。',
      query: T.Object({
        mode: T.Optional(Choice(['dryRun', 'apply'] as const, { title: '処理 (mode)' })),
        name: T.Optional(T.String({ maxLength: 255, title: 'ファイル名 (name)' })),
      }),
      response: json(StaffImportResultSchema),
      errors: ['staff.importEmpty', 'staff.importRefused', 'staff.importTooManyRows', 'input.tooLarge', 'input.badEncoding'],
    },
    async (ctx) => {
      const mode = ctx.input.query.mode ?? 'dryRun';
      const fileName = (ctx.input.query.name ?? '').trim() || 'upload.csv';
      // Streamed with the byte limit; the parse stops at the row limit (staffImport.ts).
      const bytes = await readRawBody(ctx.req, MAX_STAFF_IMPORT_BYTES);
      if (!bytes.length) throw new DomainError('staff.importEmpty');
      const plan = await planStaffImport(knex, parseStaffCsv(bytes, fileName), { fileName, passwordPolicy: deps.config.auth.password });
      if (plan.errors.length) {
        await knex.transaction((trx) =>
          appendAudit(trx, {
            ...actor(ctx),
            action: 'staff.import',
            targetKind: 'staff',
            targetIds: [],
            result: 'failure',
            detail: { fileName, mode, errors: plan.errors.length + (plan.moreErrors ?? 0) - (plan.moreErrors ? 1 : 0) },
          }),
        );
        ctx.status = 400;
        return {
          ok: false as const,
          errors: plan.errors.map((e) => ({
            line: e.line,
            column: e.column,
            message: e.message,
            text: `${fileName}:${e.line} ${e.column ? `列「${e.column}」: ` : ''}${e.message}`,
          })),
        };
      }
      const diff = formatStaffDiff(plan);
      if (mode === 'dryRun') return { ok: true as const, applied: false as const, diff };
      try {
        const result = await applyStaffImport(knex, plan, actor(ctx));
        return { ok: true as const, applied: true as const, diff, ...result };
      } catch (e) {
        if (e instanceof StaffImportError) throw new DomainError('staff.importRefused', { detail: e.message });
        throw e;
      }
    },
  );

  route(
    { method: 'GET', path: '/admin/staff/:id', access: admin, summary: '職員 1 人の詳細と編集', params: StaffId, response: htmlPage },
    async (ctx) => {
      const id = ctx.input.params.id;
      const s = (await knex('staff').where({ id }).first()) as StaffRecord | undefined;
      if (!s) throw new DomainError('staff.notFound');
      const [memberships, groups] = await Promise.all([groupsByStaff(knex), allGroups(knex)]);
      show(ctx, staffDetailView(csrf(ctx), s, memberships.get(id) ?? [], groups));
    },
  );

  route(
    {
      method: 'POST',
      path: '/admin/staff/:id',
      access: admin,
      summary: '職員の氏名・所属・有効期間・グループ・無効を保存する',
      params: StaffId,
      body: StaffForm,
      response: redirect,
      errors: ['staff.cannotDisableSelf'],
    },
    async (ctx) => {
      const id = ctx.input.params.id;
      const b = ctx.input.body;
      if (id === session(ctx).staffId && b.disabled) throw new DomainError('staff.cannotDisableSelf');
      await updateStaff(
        knex,
        id,
        {
          displayName: b.displayName.trim(),
          section: (b.section ?? '').trim(),
          validFrom: blankToNull(b.validFrom),
          validTo: blankToNull(b.validTo),
          disabled: Boolean(b.disabled),
          groups: b.groups ?? [],
        },
        actor(ctx),
      );
      seeOther(ctx, `/admin/staff/${id}`);
    },
  );

  route(
    {
      method: 'POST',
      path: '/admin/staff/:id/unlock',
      access: admin,
      summary: '職員のロックを解除する',
      params: StaffId,
      body: T.Object({ _csrf: CsrfField }),
      response: redirect,
    },
    async (ctx) => {
      await unlockStaff(knex, ctx.input.params.id, actor(ctx));
      seeOther(ctx, `/admin/staff/${ctx.input.params.id}`);
    },
  );

  route(
    {
      method: 'POST',
      path: '/admin/staff/:id/reset-password',
      access: admin,
      summary: '職員のパスワードを初期化し、仮パスワードを一度だけ表示する',
      params: StaffId,
      body: T.Object({ _csrf: CsrfField }),
      response: htmlPage,
    },
    async (ctx) => {
      const temporary = await resetPassword(knex, ctx.input.params.id, actor(ctx));
      show(ctx, passwordResetView(ctx.input.params.id, temporary));
    },
  );

  route({ method: 'GET', path: '/admin/groups', access: admin, summary: 'グループと権限の一覧', response: htmlPage }, async (ctx) => {
    const [groups, grants] = await Promise.all([allGroups(knex), groupGrants(knex)]);
    show(ctx, groupListView(groups, grants));
  });

  // Declared before /admin/groups/:code: the list's form asks for /admin/groups/new?code=….
  route(
    {
      method: 'GET',
      path: '/admin/groups/new',
      access: admin,
      summary: 'グループの追加 (入力画面)',
      query: T.Object({ code: GroupCode('新しいグループのコード') }),
      response: htmlPage,
    },
    async (ctx) => {
      const code = ctx.input.query.code;
      const found = await groupWithGrants(knex, code);
      show(ctx, groupView(csrf(ctx), code, found?.group ?? null, found?.perms ?? [], found?.scopes ?? []));
    },
  );

  const GroupParams = T.Object({ code: GroupCode('グループのコード') });

  route(
    {
      method: 'GET',
      path: '/admin/groups/:code',
      access: admin,
      summary: 'グループの権限と表示する資格の編集',
      params: GroupParams,
      response: htmlPage,
    },
    async (ctx) => {
      const code = ctx.input.params.code;
      const found = await groupWithGrants(knex, code);
      if (!found) throw new DomainError('group.notFound');
      show(ctx, groupView(csrf(ctx), code, found.group, found.perms, found.scopes));
    },
  );

  route(
    {
      method: 'POST',
      path: '/admin/groups/:code',
      access: admin,
      summary: 'グループの名称・権限・表示する資格を保存する (なければ追加)',
      params: GroupParams,
      body: GroupForm,
      response: redirect,
      errors: ['group.unknownPermission', 'group.unknownScope'],
    },
    async (ctx) => {
      const b = ctx.input.body;
      const perms = b.permissions ?? [];
      const unknown = perms.find((p) => !(permissions as readonly string[]).includes(p));
      if (unknown) throw new DomainError('group.unknownPermission', { permission: unknown });
      const scopes = b.scopes ?? [];
      const unknownScope = scopes.find((k) => !(entitlementKinds as readonly string[]).includes(k));
      if (unknownScope) throw new DomainError('group.unknownScope', { kind: unknownScope });
      await saveGroup(
        knex,
        { code: ctx.input.params.code, name: b.name.trim(), description: (b.description ?? '').trim(), permissions: perms, scopes },
        actor(ctx),
      );
      seeOther(ctx, '/admin/groups');
    },
  );

  route({ method: 'GET', path: '/admin/bulletins', access: admin, summary: '伝達事項の掲示と一覧', response: htmlPage }, async (ctx) => {
    show(ctx, bulletinsView(csrf(ctx), await recentBulletins(knex)));
  });

  route(
    {
      method: 'POST',
      path: '/admin/bulletins',
      access: admin,
      summary: '伝達事項を掲示する',
      body: BulletinForm,
      response: redirect,
      errors: ['bulletin.empty', 'bulletin.staffOnly'],
    },
    async (ctx) => {
      const b = ctx.input.body;
      await knex.transaction((trx) =>
        createBulletin(trx, { title: b.title, body: b.body, showUntil: blankToNull(b.showUntil) }, actor(ctx)),
      );
      seeOther(ctx, '/admin/bulletins');
    },
  );

  route(
    {
      method: 'POST',
      path: '/admin/bulletins/:id/delete',
      access: admin,
      summary: '伝達事項を削除する',
      params: T.Object({ id: IdParam('伝達事項の番号') }),
      body: T.Object({ _csrf: CsrfField }),
      response: redirect,
      errors: ['bulletin.notFound'],
    },
    async (ctx) => {
      await knex.transaction((trx) => retireBulletin(trx, ctx.input.params.id, actor(ctx)));
      seeOther(ctx, '/admin/bulletins');
    },
  );

  route(
    { method: 'GET', path: '/admin/clients', access: admin, summary: '接続端末 (RPA 端末など) の一覧と登録', response: htmlPage },
    async (ctx) => {
      const [clients, groups] = await Promise.all([listApiClients(knex), allGroups(knex)]);
      show(ctx, clientsView(csrf(ctx), clients, groups));
    },
  );

  route(
    {
      method: 'POST',
      path: '/admin/clients',
      access: admin,
      summary: '接続端末を登録し、トークンを一度だけ表示する',
      body: T.Object({
        _csrf: CsrfField,
        name: T.String({ pattern: LOGIN_ID, title: '端末名 (半角英数字と . _ - で 64 文字以内)' }),
        groupCode: T.String({ minLength: 1, maxLength: 64, title: 'グループ' }),
      }),
      response: htmlPage,
    },
    async (ctx) => {
      const { name, groupCode } = ctx.input.body;
      const token = await registerApiClient(knex, name, groupCode.trim(), actor(ctx));
      show(ctx, clientRegisteredView(name, token));
    },
  );

  route(
    {
      method: 'POST',
      path: '/admin/clients/:name/revoke',
      access: admin,
      summary: '接続端末のトークンを失効させる',
      params: T.Object({ name: T.String({ maxLength: 64, title: '端末名' }) }),
      body: T.Object({ _csrf: CsrfField }),
      response: redirect,
      errors: ['apiClient.notFound'],
    },
    async (ctx) => {
      if (!(await revokeApiClient(knex, ctx.input.params.name, actor(ctx)))) throw new DomainError('apiClient.notFound');
      seeOther(ctx, '/admin/clients');
    },
  );
}
