import { login, logout, switchRole } from '../../auth/sessions.js';
import { changePassword } from '../../auth/staffRepo.js';
import { html } from '../html.js';
import type { RouteKit } from '../kit.js';
import { SESSION_COOKIE } from '../sessionCookie.js';
import { loginPage } from './login.js';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Login, logout, the forced or voluntary password change, and switching role and counter. */
export function registerSessionRoutes(kit: RouteKit): void {
  const { legacyRoute: route, deps, render, session, actor, form } = kit;
  const config = deps.config;

  route('GET', '/login', 'public', async (ctx) => {
    ctx.type = 'html';
    ctx.body = loginPage(config, {});
  });

  route('POST', '/login', 'public', async (ctx) => {
    const body = form(ctx);
    const loginId = str(body.loginId).trim();
    const password = str(body.password);
    const counterId = config.counters.some((c) => c.id === body.counterId) ? str(body.counterId) : null;
    if (!loginId || !password) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = loginPage(config, { error: 'ログイン ID とパスワードを入力してください', loginId });
      return;
    }
    const r = await login(deps.knex, loginId, password, { clientAddress: ctx.ip, counterId }, config.auth);
    if (!r.ok) {
      ctx.status = 401;
      ctx.type = 'html';
      ctx.body = loginPage(config, { error: r.reason, loginId });
      return;
    }
    ctx.cookies.set(SESSION_COOKIE, r.token, { httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: '/', overwrite: true });
    ctx.status = 303;
    // First the forced password change, then the choice of role when there is one to make.
    ctx.redirect(r.session.mustChangePassword ? '/password' : r.session.groups.length > 1 ? '/role' : '/');
  });

  route(
    'POST',
    '/logout',
    'authenticated',
    async (ctx) => {
      await logout(deps.knex, session(ctx), ctx.ip);
      ctx.cookies.set(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', secure: ctx.secure, path: '/', expires: new Date(0) });
      ctx.status = 303;
      ctx.redirect('/login');
    },
    { whileMustChangePassword: true },
  );

  const policy = config.auth.password;
  const passwordForm = (csrf: string, forced: boolean, problems: string[] = []) => html`<h1>パスワードの変更</h1>
${forced ? html`<p class="card alert" role="alert">初回ログイン・パスワードの初期化・有効期限切れのため、パスワードを変更してください。変更するまで他の画面は使えません。</p>` : ''}
${problems.length ? html`<ul class="card alert" role="alert">${problems.map((p) => html`<li>${p}</li>`)}</ul>` : ''}
<form method="post" action="/password" class="card">
  <input type="hidden" name="_csrf" value="${csrf}">
  <p><label>現在のパスワード<br><input name="current" type="password" autocomplete="current-password" required autofocus></label></p>
  <p><label>新しいパスワード<br><input name="next" type="password" autocomplete="new-password" required minlength="${policy.minLength}"></label></p>
  <p><label>新しいパスワード (確認)<br><input name="confirm" type="password" autocomplete="new-password" required></label></p>
  <p class="muted">${policy.minLength} 文字以上、英大文字・英小文字・数字・記号のうち ${policy.minClasses} 種類以上。ログイン ID を含むものと、直近 ${policy.historyCount} 回に使ったものは使えません。</p>
  <p><button type="submit">変更する (Enter)</button></p>
</form>`;

  route(
    'GET',
    '/password',
    'authenticated',
    async (ctx) => {
      const s = session(ctx);
      if (s.kind !== 'staff') ctx.throw(403, '端末からは使えません');
      render(ctx, 'パスワードの変更', passwordForm(s.csrfToken ?? '', s.mustChangePassword));
    },
    { whileMustChangePassword: true },
  );

  route(
    'POST',
    '/password',
    'authenticated',
    async (ctx) => {
      const s = session(ctx);
      if (s.kind !== 'staff' || s.staffId === null) return ctx.throw(403, '端末からは使えません');
      const body = form(ctx);
      const next = str(body.next);
      const result =
        next !== str(body.confirm)
          ? { ok: false as const, problems: ['新しいパスワードと確認用の入力が一致しません'] }
          : await changePassword(deps.knex, s.staffId, str(body.current), next, policy, actor(ctx));
      if (!result.ok) {
        ctx.status = 400;
        render(ctx, 'パスワードの変更', passwordForm(s.csrfToken ?? '', s.mustChangePassword, result.problems));
        return;
      }
      ctx.status = 303;
      ctx.redirect(s.groups.length > 1 ? '/role' : '/');
    },
    { whileMustChangePassword: true },
  );

  route('GET', '/role', 'authenticated', async (ctx) => {
    const s = session(ctx);
    if (s.kind !== 'staff') ctx.throw(403, '端末からは使えません');
    render(
      ctx,
      '役割と窓口の選択',
      html`<h1>役割と窓口の選択</h1>
<p class="muted">選んだ役割の権限と表示範囲で操作します。あとから画面上部の「切替」で変えられます。</p>
<form method="post" action="/role" class="card">
  <input type="hidden" name="_csrf" value="${s.csrfToken ?? ''}">
  <fieldset><legend>役割 (↑↓ または Alt+数字で選択)</legend>
  ${s.groups.map((g, i) => html`<p><label class="check"><input type="radio" name="groupCode" value="${g.code}" accesskey="${i + 1}" ${g.code === s.groupCode || (!s.groupCode && i === 0) ? html`checked autofocus` : ''}> ${i + 1}. ${g.name}</label></p>`)}
  ${s.groups.length === 0 ? html`<p class="alert">所属するグループがありません。管理者に連絡してください。</p>` : ''}
  </fieldset>
  <p><label>窓口<br><select name="counterId">${config.counters.map((c) => html`<option value="${c.id}" ${c.id === s.counterId ? html`selected` : ''}>${c.name} (${c.section})</option>`)}</select></label></p>
  <p><button type="submit">この役割で始める (Enter)</button></p>
</form>`,
    );
  });

  route('POST', '/role', 'authenticated', async (ctx) => {
    const s = session(ctx);
    const body = form(ctx);
    const counterId = config.counters.some((c) => c.id === body.counterId) ? str(body.counterId) : s.counterId;
    if (!(await switchRole(deps.knex, s, str(body.groupCode), counterId, ctx.ip)))
      ctx.throw(400, '選んだ役割は使えません (所属していないグループです)');
    if (ctx.accepts('html', 'json') === 'json') {
      ctx.body = { groupCode: str(body.groupCode), counterId };
      return;
    }
    ctx.status = 303;
    ctx.redirect('/');
  });
}
