import { html, type SafeHtml } from '../html.js';

/**
 * The clerk's panel of a notice for the counter's resident screen: send the notice for the
 * resident to confirm and sign, close it, pair a screen, or record that the resident signed on
 * paper. `static/resident-panel.js` polls the screen's state. Without a counter there is no panel.
 */
export function residentPanel(
  visitId: number,
  noticeId: number,
  csrf: string,
  counterId: string | null,
  /** The languages of config/languages (Japanese first): the resident chooses theirs. */
  languages: readonly { code: string; name: string }[] = [{ code: 'ja', name: '日本語' }],
): SafeHtml {
  if (!counterId) return html``;
  return html`<section class="card resident-panel" id="resident-panel" data-visit="${visitId}" data-notice="${noticeId}" data-csrf="${csrf}" aria-label="住民用画面">
<p><strong>住民用画面</strong> <span id="resident-state" aria-live="polite">確かめています…</span></p>
<p><label>住民の言語 <select id="resident-lang">${languages.map((l) => html`<option value="${l.code}">${l.name}</option>`)}</select></label> <button type="button" id="resident-send">住民用画面に表示 (確認と署名)</button> <button type="button" id="resident-close">表示を閉じる</button> <button type="button" id="resident-paper">紙で署名をもらった</button> <button type="button" id="resident-pair">住民用画面をつなぐ</button> <button type="button" id="resident-unpair">この窓口の住民用画面の接続を解除</button></p>
<p id="resident-code" class="pairing-code" hidden></p>
<p id="resident-signature-state"></p>
<p class="field-error" id="resident-error" role="alert"></p>
</section>
<script src="/static/resident-panel.js" defer></script>`;
}
