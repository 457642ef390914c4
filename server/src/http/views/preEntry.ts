import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { NoticeType } from '../../domain/procedureTypes.js';
import { html, type SafeHtml } from '../html.js';
import { CERTIFICATE_FORM_LINES } from '../schemas/certificates.js';

/**
 * 事前入力の QR コード at the counter (issue 20): the field a USB 2D scanner in keyboard mode types
 * the resident's codes into, the progress, the list the clerk checks, and then the open form
 * filled in the browser (`static/pre-entry-counter.js` with the same `static/pre-entry/codec.js`
 * the resident's page used). Nothing is posted by the panel itself: the clerk saves the form as
 * usual, so the notice's and the request's own checks and audit apply unchanged.
 */
export type PreEntryTarget = 'notice' | 'certificates' | 'visit';

/** Which notices a pre-entry of each type may fill (a 転入 also fills a 特例転入, a 転出 a 特例転出). */
export const PRE_ENTRY_NOTICE_TYPES: Readonly<Record<'moveIn' | 'relocation' | 'moveOut', readonly NoticeType[]>> = {
  moveIn: ['moveIn', 'specialMoveIn'],
  relocation: ['relocation'],
  moveOut: ['moveOut', 'specialMoveOut'],
};

const fillable = (t: NoticeType): boolean => Object.values(PRE_ENTRY_NOTICE_TYPES).some((types) => types.includes(t));

/**
 * The panel. `target`: the notice page (give the notice's type: other types get no panel), the
 * certificate request page, or the visit page before a notice exists (it creates the notice of
 * the decoded type, or opens the certificate page, and carries the data there).
 */
export function preEntryPanel(visitId: number, csrf: string, target: PreEntryTarget, noticeType?: NoticeType): SafeHtml {
  if (target === 'notice' && !(noticeType && fillable(noticeType))) return html``;
  return html`<section class="card pre-entry" id="pre-entry" data-visit="${visitId}" data-csrf="${csrf}" data-target="${target}" data-notice-type="${noticeType ?? ''}" data-certificate-lines="${CERTIFICATE_FORM_LINES}" aria-label="事前入力の QR コード">
<p><label for="pre-entry-scan"><strong>事前入力の QR コード</strong> <span class="muted">(Alt+Q・スキャナで読み取ると入ります)</span></label><br>
<input id="pre-entry-scan" size="44" autocomplete="off" autocapitalize="off" spellcheck="false" aria-describedby="pre-entry-status pre-entry-error"> <button type="button" id="pre-entry-reset">やり直す</button>
<span id="pre-entry-status" aria-live="polite"></span> <span class="field-error" id="pre-entry-error" role="alert"></span></p>
<div id="pre-entry-review" hidden></div>
</section>
<script src="/static/pre-entry/codec.js" defer></script>
<script src="/static/pre-entry-counter.js" defer></script>`;
}

const require = createRequire(import.meta.url);
const js = 'text/javascript; charset=utf-8';

/**
 * The files of the pre-entry page and of the counter script, for app.ts's static list. The page
 * is served under one folder (`/static/pre-entry/`, relative links only) so that it works the
 * same copied to the municipality's website; its QR encoder is qrcode-generator's browser build,
 * read from node_modules where npm put it.
 */
export const PRE_ENTRY_STATIC_FILES: Readonly<Record<string, { file: URL; type: string }>> = {
  '/static/pre-entry/index.html': {
    file: new URL('../../../static/pre-entry/index.html', import.meta.url),
    type: 'text/html; charset=utf-8',
  },
  '/static/pre-entry/pre-entry.js': { file: new URL('../../../static/pre-entry/pre-entry.js', import.meta.url), type: js },
  '/static/pre-entry/pre-entry.css': {
    file: new URL('../../../static/pre-entry/pre-entry.css', import.meta.url),
    type: 'text/css; charset=utf-8',
  },
  '/static/pre-entry/codec.js': { file: new URL('../../../static/pre-entry/codec.js', import.meta.url), type: js },
  '/static/pre-entry/qrcode.js': { file: pathToFileURL(require.resolve('qrcode-generator')), type: js },
  '/static/pre-entry-counter.js': { file: new URL('../../../static/pre-entry-counter.js', import.meta.url), type: js },
};
