import type { AppConfig } from '../../config/appConfig.js';
import { html, page } from '../html.js';

/** The login form: login id, password and the counter the member of staff works at today. */
export function loginPage(config: AppConfig, state: { error?: string; loginId?: string }): string {
  return page(
    'ログイン',
    html`<h1>ログイン</h1>
${state.error ? html`<p class="card alert" role="alert">${state.error}</p>` : ''}
<form method="post" action="/login" class="card login">
  <p><label>ログイン ID<br><input name="loginId" autocomplete="username" required autofocus value="${state.loginId ?? ''}"></label></p>
  <p><label>パスワード<br><input name="password" type="password" autocomplete="current-password" required></label></p>
  <p><label>窓口<br><select name="counterId">${config.counters.map((c) => html`<option value="${c.id}">${c.name} (${c.section})</option>`)}</select></label></p>
  <p><button type="submit">ログイン (Enter)</button></p>
</form>`,
    {},
  );
}
