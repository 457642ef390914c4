import { html, page, type PageChrome } from '../html.js';

/** Where a person can go from an error: the way back depends on why they got here. */
function waysOut(status: number, referer: string | undefined, loggedIn: boolean) {
  const ways: { href: string; label: string }[] = [];
  if (status === 401 || !loggedIn) ways.push({ href: '/login', label: 'ログイン画面へ' });
  // Only a page of this server is offered as "back" (never an outside address).
  if (referer && referer.startsWith('/') && !referer.startsWith('//')) ways.push({ href: referer, label: '前の画面に戻る' });
  if (loggedIn) ways.push({ href: '/', label: 'ホームへ' });
  if (status === 403 && loggedIn) ways.push({ href: '/role', label: '役割を切り替える' });
  return ways;
}

const HEADINGS: Record<number, string> = {
  400: '入力を確認してください',
  401: 'ログインが必要です',
  403: 'この操作はできません',
  404: 'ページが見つかりません',
  409: '今の状態ではこの操作はできません',
  413: 'データが大きすぎます',
  415: 'この形式は受け付けません',
  429: 'しばらく待ってからやり直してください',
};

/** The styled error page: the reason in Japanese, what to do, and the way back, inside the staff chrome. */
export function errorPage(
  status: number,
  message: string,
  opts: { chrome: PageChrome; referer?: string; fields?: readonly { field: string; message: string }[] },
): string {
  const heading = HEADINGS[status] ?? 'エラーが発生しました';
  const ways = waysOut(status, opts.referer, Boolean(opts.chrome.staff));
  return page(
    heading,
    html`<section class="card alert error-page" role="alert" id="error">
<h1>${heading} <span class="muted">(${status})</span></h1>
<p class="error-reason">${message}</p>
${opts.fields?.length ? html`<ul class="error-fields">${opts.fields.map((f) => html`<li>${f.message}</li>`)}</ul>` : ''}
<p class="error-ways">${ways.map((w, i) => html`${i ? ' ・ ' : ''}<a href="${w.href}"${i === 0 ? html` autofocus` : ''}>${w.label}</a>`)}</p>
</section>`,
    opts.chrome,
  );
}
