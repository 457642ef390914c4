// The clerk's panel for the resident screen (views/residentPanel.ts): send the notice to the
// counter's resident screen, follow the resident's confirmation and signature, close the screen,
// pair a new screen, or record a paper signature. Plain ES5, like counter.js.
(function () {
  'use strict';
  var panel = document.getElementById('resident-panel');
  if (!panel || !window.fetch) return;
  var visit = panel.getAttribute('data-visit');
  var notice = panel.getAttribute('data-notice');
  var csrf = panel.getAttribute('data-csrf');
  function $(id) {
    return document.getElementById(id);
  }
  function post(url, extra) {
    $('resident-error').textContent = '';
    var body = extra || {};
    body._csrf = csrf;
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (b) {
        if (!r.ok) $('resident-error').textContent = b && b.error ? b.error.message : '送れませんでした';
        return r.ok ? b : null;
      });
    });
  }
  // Polled: the DOM changes only when the state does (no work for a thin client's browser, and
  // the live region is not announced again every poll).
  function setText(el, s) {
    if (el.textContent !== s) el.textContent = s;
  }
  function render(s) {
    var state = $('resident-state');
    if (!s.counter) {
      setText(state, 'この画面には窓口が選ばれていません。');
      return;
    }
    var p = s.presentation;
    var mine = p && String(p.noticeId) === notice;
    setText(
      state,
      (s.screens ? 'つながっています (' + s.screens + ' 台)' : 'つながっていません (「住民用画面をつなぐ」)') +
        (p
          ? mine
            ? ' ・ この届出を表示中: ' + (p.signed ? '署名済' : p.confirmed ? '確認済・署名待ち' : '確認待ち')
            : ' ・ 別の届出を表示中'
          : ''),
    );
    var signed = s.signature ? s.signature.method + ' ' + s.signature.signedAt : '';
    if (panel.getAttribute('data-signed') === signed) return;
    panel.setAttribute('data-signed', signed);
    $('resident-signature-state').innerHTML = '';
    if (s.signature) {
      var line = $('resident-signature-state');
      line.appendChild(
        document.createTextNode('署名: ' + s.signature.label + ' ' + new Date(s.signature.signedAt).toLocaleString('ja-JP') + ' '),
      );
      if (s.signature.method === 'touch') {
        var a = document.createElement('a');
        a.href = '/visits/' + visit + '/notices/' + notice + '/signature.png';
        a.target = '_blank';
        a.id = 'resident-signature-link';
        a.textContent = '署名を見る';
        line.appendChild(a);
      }
    }
  }
  function poll() {
    fetch('/resident-screen/status?notice=' + encodeURIComponent(notice), {
      credentials: 'same-origin',
      headers: { accept: 'application/json' },
    })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (s) {
        if (s) render(s);
      })
      .catch(function () {})
      .then(function () {
        if (document.visibilityState !== 'hidden') setTimeout(poll, 2000);
      });
  }
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') poll();
  });
  $('resident-send').addEventListener('click', function () {
    post('/visits/' + visit + '/notices/' + notice + '/resident-screen', { lang: $('resident-lang').value }).then(poll);
  });
  $('resident-close').addEventListener('click', function () {
    post('/resident-screen/close').then(poll);
  });
  $('resident-paper').addEventListener('click', function () {
    post('/visits/' + visit + '/notices/' + notice + '/signature/paper').then(poll);
  });
  $('resident-unpair').addEventListener('click', function () {
    // Unpairing every screen of the counter (a lost or replaced tablet) is asked once more.
    if (!window.confirm('この窓口の住民用画面の接続をすべて解除します。よろしいですか')) return;
    post('/resident-screen/unpair').then(poll);
  });
  $('resident-pair').addEventListener('click', function () {
    post('/resident-screen/pairing').then(function (b) {
      if (!b) return;
      var code = $('resident-code');
      code.hidden = false;
      code.textContent = '住民用画面で /resident を開き、この番号を入れてください: ' + b.code + ' (5 分間有効)';
    });
  });
  poll();
})();
