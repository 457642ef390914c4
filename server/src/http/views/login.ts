import type { AppConfig } from '../../config/appConfig.js';
import type { StaffSession } from '../../auth/sessions.js';
import type { AppConfig as Config } from '../../config/appConfig.js';
import { html, page, type SafeHtml } from '../html.js';

type PasswordPolicy = Config['auth']['password'];

/**
 * The login form: login id, password and the counter the member of staff works at today, with the
 * pre-session CSRF token (its twin is the `madoguchi_login_csrf` cookie).
 */
export function loginPage(config: AppConfig, state: { error?: string; loginId?: string; csrf: string }): string {
  return page(
    'ログイン',
    html`<h1>ログイン</h1>
${state.error ? html`<p class="card alert" role="alert">${state.error}</p>` : ''}
<form method="post" action="/login" class="card login">
  <input type="hidden" name="_csrf" value="${state.csrf}">
  <p><label>ログイン ID<br><input name="loginId" autocomplete="username" required autofocus value="${state.loginId ?? ''}"></label></p>
  <p><label>パスワード<br><input name="password" type="password" autocomplete="current-password" required></label></p>
  <p><label>窓口<br><select name="counterId">${config.counters.map((c) => html`<option value="${c.id}">${c.name} (${c.section})</option>`)}</select></label></p>
  <p><button type="submit">ログイン (Enter)</button></p>
</form>`,
    {},
  );
}

/** The password change form (forced at first login, after a reset or when expired). */
export const passwordForm = (
  policy: PasswordPolicy,
  csrf: string,
  forced: boolean,
  problems: readonly string[] = [],
): SafeHtml => html`<h1>パスワードの変更</h1>
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

/** Choosing the active role (group) and today's counter. */
export function rolePage(config: AppConfig, s: StaffSession): SafeHtml {
  return html`<h1>役割と窓口の選択</h1>
<p class="muted">選んだ役割の権限と表示範囲で操作します。あとから画面上部の「切替」で変えられます。</p>
<form method="post" action="/role" class="card">
  <input type="hidden" name="_csrf" value="${s.csrfToken ?? ''}">
  <fieldset><legend>役割 (↑↓ または Alt+数字で選択)</legend>
  ${s.groups.map((g, i) => html`<p><label class="check"><input type="radio" name="groupCode" value="${g.code}" accesskey="${i + 1}" ${g.code === s.groupCode || (!s.groupCode && i === 0) ? html`checked autofocus` : ''}> ${i + 1}. ${g.name}</label></p>`)}
  ${s.groups.length === 0 ? html`<p class="alert">所属するグループがありません。管理者に連絡してください。</p>` : ''}
  </fieldset>
  <p><label>窓口<br><select name="counterId">${config.counters.map((c) => html`<option value="${c.id}" ${c.id === s.counterId ? html`selected` : ''}>${c.name} (${c.section})</option>`)}</select></label></p>
  <p><button type="submit">この役割で始める (Enter)</button></p>
</form>`;
}
