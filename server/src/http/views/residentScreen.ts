import { html } from '../html.js';

/**
 * The resident screen's one page (a tablet or a second monitor facing the resident). Unpaired: the
 * 6-digit code form. Paired: a shell that `static/resident.js` fills with what the clerk sends.
 * Nothing personal is in this HTML: the content comes from /resident/screen, and only while shown.
 */
export function residentPage(paired: { counterName: string } | null, badCode: boolean): string {
  return html`<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, user-scalable=no">
<title>まどぐち — 住民用画面</title>
<link rel="stylesheet" href="/static/resident.css">
</head>
<body class="resident">
${
  paired
    ? html`<main id="resident-screen" data-counter="${paired.counterName}">
<p class="counter-name">${paired.counterName}</p>
<section id="resident-waiting"><p class="big" id="resident-waiting-text"><ruby>窓口<rt>まどぐち</rt></ruby>の<ruby>職員<rt>しょくいん</rt></ruby>が<ruby>画面<rt>がめん</rt></ruby>を<ruby>送<rt>おく</rt></ruby>るまでお<ruby>待<rt>ま</rt></ruby>ちください。</p></section>
<section id="resident-confirm" hidden>
  <h1 id="resident-title"></h1>
  <p class="lead" id="resident-lead"><ruby>内容<rt>ないよう</rt></ruby>を<ruby>確<rt>たし</rt></ruby>かめてください。<ruby>違<rt>ちが</rt></ruby>うところがあれば、<ruby>職員<rt>しょくいん</rt></ruby>にお<ruby>知<rt>し</rt></ruby>らせください。</p>
  <dl id="resident-fields"></dl>
  <table id="resident-persons"><thead><tr><th id="resident-th-name"><ruby>氏名<rt>しめい</rt></ruby></th><th id="resident-th-birth"><ruby>生年月日<rt>せいねんがっぴ</rt></ruby></th><th id="resident-th-sex"><ruby>性別<rt>せいべつ</rt></ruby></th><th id="resident-th-rel"><ruby>続柄<rt>つづきがら</rt></ruby></th></tr></thead><tbody></tbody></table>
  <p><button type="button" id="resident-confirm-button" class="primary"><ruby>内容<rt>ないよう</rt></ruby>を<ruby>確認<rt>かくにん</rt></ruby>しました</button></p>
</section>
<section id="resident-sign" hidden>
  <p class="lead" id="resident-sign-lead">この<ruby>枠<rt>わく</rt></ruby>の<ruby>中<rt>なか</rt></ruby>に、<ruby>指<rt>ゆび</rt></ruby>かペンで<ruby>署名<rt>しょめい</rt></ruby>してください。</p>
  <canvas id="resident-signature" aria-label="署名欄"></canvas>
  <p><button type="button" id="resident-sign-clear">やり<ruby>直<rt>なお</rt></ruby>す</button> <button type="button" id="resident-sign-done" class="primary"><ruby>署名<rt>しょめい</rt></ruby>する</button></p>
  <p class="error" id="resident-sign-error" role="alert"></p>
</section>
<section id="resident-thanks" hidden><p class="big" id="resident-thanks-text">ありがとうございました。<ruby>職員<rt>しょくいん</rt></ruby>にお<ruby>知<rt>し</rt></ruby>らせします。</p></section>
</main>
<script src="/static/signature_pad.js"></script>
<script src="/static/resident.js"></script>`
    : html`<main class="pairing">
<h1>住民用画面をつなぐ</h1>
<p>窓口の職員の画面に出た 6 桁の番号を入れてください。</p>
<form method="post" action="/resident/pair"><label>番号<br><input name="code" id="pairing-code" inputmode="numeric" autocomplete="off" maxlength="6" size="8" autofocus></label> <button type="submit">つなぐ</button>
${badCode ? html`<span class="error" role="alert">番号が違うか、期限が切れています。職員にもう一度表示してもらってください。</span>` : ''}</form>
</main>`
}
</body>
</html>`.toString();
}
