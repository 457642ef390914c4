import { html, type SafeHtml } from '../html.js';

/**
 * The card reader panel of a visit (identity check) or of a 転入 notice (members): the state of
 * the counter's reader, the resident's PIN (masked) or the residence card's number, and the result.
 * `static/card.js` polls the relay and fills the form; without a counter there is no panel.
 * The PIN field is a text field drawn as dots (CSS), not a password field: a password field makes
 * Edge and Chrome offer to save the PIN in the (shared) browser profile.
 */
export function cardReaderPanel(visitId: number, csrf: string, target: 'identity' | 'notice', counterId: string | null): SafeHtml {
  if (!counterId) return html``;
  return html`<section class="card card-reader" id="card-reader" data-visit="${visitId}" data-csrf="${csrf}" data-target="${target}" aria-label="カード読取">
<p><strong>カード読取</strong> <span id="card-reader-state" aria-live="polite">読取装置を確かめています…</span></p>
<p id="card-pin-row" hidden><label>暗証番号 (券面事項入力補助用・数字 4 桁。住民が入力)<br><input type="text" id="card-pin" class="pin" inputmode="numeric" maxlength="4" size="6" autocomplete="off" spellcheck="false"></label> <button type="button" id="card-read-pin">読み取る (Enter)</button> <span class="field-error" id="card-pin-error" role="alert"></span></p>
<p id="card-pinpad-row" hidden><span>読取装置の PIN パッドで暗証番号を入力してもらってください。</span> <button type="button" id="card-read-pinpad">読み取る</button> <span class="field-error" id="card-pinpad-error" role="alert"></span></p>
<p id="card-number-row" hidden><label>在留カード等番号 (券面の右上、12 文字)<br><input id="card-number" maxlength="14" size="16" autocomplete="off" placeholder="AB12345678CD"></label> <button type="button" id="card-read-number">読み取る (Enter)</button> <span class="field-error" id="card-number-error" role="alert"></span></p>
<div id="card-result" aria-live="polite"></div>
</section>
<script src="/static/card.js" defer></script>`;
}
