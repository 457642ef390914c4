// The resident screen (views/residentScreen.ts): polls what the clerk of its counter sends, shows
// it in large type with ふりがな, takes 「内容を確認しました」 and the signature (signature_pad), and
// clears everything when the clerk closes the step. Plain ES5 for older tablets.
(function () {
  'use strict';
  var root = document.getElementById('resident-screen');
  if (!root || !window.fetch) return;
  var POLL_MS = 1500;
  var current = null; // the id of the presentation shown
  var pad = null;
  // The fixed texts as the page has them (Japanese with ふりがな), restored when a presentation ends.
  var TEXT_IDS = [
    'resident-waiting-text',
    'resident-lead',
    'resident-th-name',
    'resident-th-birth',
    'resident-th-sex',
    'resident-th-rel',
    'resident-confirm-button',
    'resident-sign-lead',
    'resident-sign-clear',
    'resident-sign-done',
    'resident-thanks-text',
  ];
  var original = {};
  TEXT_IDS.forEach(function (id) {
    if (document.getElementById(id)) original[id] = document.getElementById(id).innerHTML;
  });
  /** The texts in the resident's language; Japanese keeps the page's own (with ふりがな). */
  function language(p) {
    document.documentElement.lang = p ? p.lang : 'ja';
    var t = p && p.lang !== 'ja' ? p.texts : null;
    var map = t
      ? {
          'resident-waiting-text': t.waiting,
          'resident-lead': t.confirmQuestion,
          'resident-th-name': t.name,
          'resident-th-birth': t.birthDate,
          'resident-th-sex': t.sex,
          'resident-th-rel': t.relationship,
          'resident-confirm-button': t.confirmed,
          'resident-sign-lead': t.signPrompt,
          'resident-sign-clear': t.redo,
          'resident-sign-done': t.signDone,
          'resident-thanks-text': t.thanks,
        }
      : null;
    TEXT_IDS.forEach(function (id) {
      var el = document.getElementById(id);
      if (!el) return;
      if (map) el.textContent = map[id];
      else el.innerHTML = original[id];
    });
  }

  function $(id) {
    return document.getElementById(id);
  }
  function only(id) {
    ['resident-waiting', 'resident-confirm', 'resident-sign', 'resident-thanks'].forEach(function (s) {
      $(s).hidden = s !== id;
    });
  }
  function post(url, body) {
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (b) {
        return { ok: r.ok, body: b };
      });
    });
  }
  /** Everything shown is removed from the page, not only hidden. */
  function clear() {
    current = null;
    language(null);
    $('resident-title').textContent = '';
    $('resident-fields').innerHTML = '';
    $('resident-persons').tBodies[0].innerHTML = '';
    if (pad) pad.clear();
    $('resident-sign-error').textContent = '';
    only('resident-waiting');
  }
  function show(p) {
    current = p.id;
    language(p);
    $('resident-title').textContent = p.title;
    var dl = $('resident-fields');
    dl.innerHTML = '';
    p.fields.forEach(function (f) {
      var dt = document.createElement('dt');
      dt.textContent = f.label;
      var dd = document.createElement('dd');
      dd.textContent = f.value;
      if (f.masked) dd.className = 'masked';
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    var body = $('resident-persons').tBodies[0];
    body.innerHTML = '';
    p.persons.forEach(function (x) {
      var row = body.insertRow();
      var name = row.insertCell();
      if (x.kana) {
        var kana = document.createElement('span');
        kana.className = 'kana';
        kana.textContent = x.kana;
        name.appendChild(kana);
      }
      name.appendChild(document.createTextNode(x.name));
      [x.birthDate, x.sex, x.relationship].forEach(function (v) {
        row.insertCell().textContent = v;
      });
    });
    place(p);
  }
  function place(p) {
    if (p.signed) only('resident-thanks');
    else if (p.confirmed) {
      only('resident-sign');
      sizePad();
    } else only('resident-confirm');
  }
  function sizePad() {
    var canvas = $('resident-signature');
    if (!window.SignaturePad) return;
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio;
    canvas.height = canvas.offsetHeight * ratio;
    canvas.getContext('2d').scale(ratio, ratio);
    if (!pad) pad = new window.SignaturePad(canvas, { minWidth: 1, maxWidth: 3, penColor: '#000' });
    pad.clear();
  }

  function poll() {
    fetch('/resident/screen', { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) {
        if (r.status === 401) {
          window.location.reload();
          return null;
        }
        return r.ok ? r.json() : null;
      })
      .then(function (s) {
        if (!s) return;
        if (s.state !== 'confirm' || !s.presentation) clear();
        else if (s.presentation.id !== current) show(s.presentation);
        else if (s.presentation.signed && $('resident-thanks').hidden) only('resident-thanks');
      })
      .catch(function () {})
      .then(function () {
        setTimeout(poll, POLL_MS);
      });
  }

  $('resident-confirm-button').addEventListener('click', function () {
    if (!current) return;
    post('/resident/confirm', { id: current }).then(function (r) {
      if (r.ok) {
        only('resident-sign');
        sizePad();
      }
    });
  });
  $('resident-sign-clear').addEventListener('click', function () {
    if (pad) pad.clear();
  });
  $('resident-sign-done').addEventListener('click', function () {
    if (!current || !pad) return;
    if (pad.isEmpty()) {
      $('resident-sign-error').textContent = '署名を書いてから「署名する」を押してください。';
      return;
    }
    post('/resident/signature', { id: current, image: pad.toDataURL('image/png') }).then(function (r) {
      if (r.ok) only('resident-thanks');
      else $('resident-sign-error').textContent = r.body && r.body.error ? r.body.error.message : '送れませんでした';
    });
  });
  poll();
})();
