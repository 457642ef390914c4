// The card reader panel (views/cardReader.ts): shows the counter's reader, takes the resident's PIN
// or the residence card's number, asks the server to have the counter PC's helper read the card,
// and fills the identity form (or the 転入 notice's members) from the reading. The page talks only
// to the madoguchi server, never to the reader, so it works where the browser runs on a terminal
// server (Citrix) and the reader is plugged into the counter PC. Plain ES5, like counter.js.
(function () {
  'use strict';
  var panel = document.getElementById('card-reader');
  if (!panel || !window.fetch) return;
  var visit = panel.getAttribute('data-visit');
  var csrf = panel.getAttribute('data-csrf');
  var target = panel.getAttribute('data-target');
  var POLL_MS = 1500;
  var request = null; // the id of the read in progress
  var card = 'none';
  var previousCard = 'none';
  var lastTyped = 0;
  var TYPING_MS = 5000;
  document.addEventListener('input', function (e) {
    var id = e.target && e.target.id;
    if (id !== 'card-pin' && id !== 'card-number') lastTyped = Date.now();
  });
  var timer = null;

  function $(id) {
    return document.getElementById(id);
  }
  // The panel is polled: the DOM is touched only when something changed (no work for a thin
  // client's browser, and the live region is not announced again every poll).
  function text(el, s) {
    if (el && el.textContent !== (s || '')) el.textContent = s || '';
  }
  function show(id, on) {
    var el = $(id);
    if (el && el.hidden !== !on) el.hidden = !on;
  }
  function getJson(url) {
    return fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } }).then(function (r) {
      return r.json().then(function (body) {
        return { ok: r.ok, body: body };
      });
    });
  }

  function schedule() {
    clearTimeout(timer);
    if (document.visibilityState === 'hidden') return;
    timer = setTimeout(poll, POLL_MS);
  }
  document.addEventListener('visibilitychange', function () {
    if (document.visibilityState === 'visible') poll();
  });

  function errorField() {
    return card === 'residenceCard' ? $('card-number-error') : $('card-pin-error');
  }

  function render(s) {
    var state = $('card-reader-state');
    if (!s.counter) {
      text(state, 'この画面には窓口が選ばれていません (ログイン時に窓口を選びます)。');
      card = 'none';
    } else if (!s.reader) {
      text(state, s.counter.name + ' にはカード読取装置が登録されていないか、ヘルパーが動いていません。');
      card = 'none';
    } else {
      var tries = s.reader.triesLeft !== undefined ? ' (暗証番号の残り ' + s.reader.triesLeft + ' 回)' : '';
      text(state, (s.reader.name ? s.reader.name + ': ' : '') + s.reader.cardLabel + tries);
      card = s.reader.card;
    }
    var pinPad = s.reader && s.reader.pinPad;
    var reading = request !== null;
    show('card-pin-row', card === 'myNumberCard' && !pinPad);
    show('card-pinpad-row', card === 'myNumberCard' && pinPad);
    show('card-number-row', card === 'residenceCard');
    // A card has just been placed and nobody has typed in a field for a few seconds: the resident's
    // field takes the focus. Never while the clerk types, or their keys would land in the PIN.
    var field = card === 'myNumberCard' && !pinPad ? $('card-pin') : card === 'residenceCard' ? $('card-number') : null;
    var typing = Date.now() - lastTyped < TYPING_MS;
    if (field && card !== previousCard && !reading && !typing) field.focus();
    previousCard = card;
    var r = s.request;
    if (r && reading) settle(r, state);
    ['card-read-pin', 'card-read-pinpad', 'card-read-number'].forEach(function (id) {
      if ($(id) && $(id).disabled !== (request !== null)) $(id).disabled = request !== null;
    });
  }

  /** Where the read in progress stands: still going, failed (beside the field), or done (collected). */
  function settle(r, state) {
    if (r.phase === 'waiting' || r.phase === 'reading') {
      text(state, r.phase === 'waiting' ? '読取装置に依頼しました…' : 'カードを読み取っています。カードを動かさないでください…');
    } else if (r.phase === 'failed') {
      request = null;
      text(errorField(), r.error ? r.error.message : '読み取れませんでした');
    } else if (r.phase === 'expired') {
      request = null;
      text(errorField(), '読み取りの期限が切れました。もう一度読み取ってください。');
    } else if (r.phase === 'done') {
      var id = request;
      request = null;
      collect(id);
    }
  }

  function poll() {
    var url = '/card-reader/status?visit=' + encodeURIComponent(visit) + (request ? '&request=' + encodeURIComponent(request) : '');
    getJson(url)
      .then(function (res) {
        if (res.ok) render(res.body);
      })
      .catch(function () {
        text($('card-reader-state'), 'サーバーと通信できません。');
      })
      .then(schedule);
  }

  function ask(body, errorEl) {
    text(errorEl, '');
    body._csrf = csrf;
    return fetch('/visits/' + visit + '/card-reading', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    })
      .then(function (r) {
        return r.json().then(function (b) {
          if (!r.ok) {
            text(errorEl, b && b.error ? b.error.message : '読み取りを依頼できませんでした');
            return;
          }
          request = b.requestId;
          poll();
        });
      })
      .catch(function () {
        text(errorEl, 'サーバーと通信できません。');
      });
  }

  function readPin() {
    var pin = $('card-pin');
    var value = pin.value;
    // The PIN leaves the page once, in this request; the field is emptied at once.
    pin.value = '';
    if (!/^[0-9]{4}$/.test(value)) {
      text($('card-pin-error'), '暗証番号は数字 4 桁です');
      pin.focus();
      return;
    }
    ask({ cardType: 'myNumberCard', pin: value }, $('card-pin-error'));
  }
  function readNumber() {
    ask({ cardType: 'residenceCard', cardNumber: $('card-number').value }, $('card-number-error'));
  }
  $('card-read-pin').addEventListener('click', readPin);
  $('card-read-pinpad').addEventListener('click', function () {
    ask({ cardType: 'myNumberCard' }, $('card-pinpad-error'));
  });
  $('card-read-number').addEventListener('click', readNumber);
  $('card-pin').addEventListener('keydown', function (e) {
    if (e.key === 'Enter') {
      e.preventDefault();
      readPin();
    }
  });
  $('card-number').addEventListener('keydown', function (e) {
    if (e.key === 'Enter') {
      e.preventDefault();
      readNumber();
    }
  });

  function collect(id) {
    getJson('/visits/' + visit + '/card-reading/' + encodeURIComponent(id))
      .then(function (res) {
        if (!res.ok) {
          text(errorField(), res.body && res.body.error ? res.body.error.message : '読み取り結果を受け取れませんでした');
          return;
        }
        if (target === 'notice') fillNotice(res.body);
        else fillIdentity(res.body);
      })
      .catch(function () {
        text(errorField(), 'サーバーと通信できません。');
      });
  }

  function setField(name, value) {
    var el = document.querySelector('[name="' + name + '"]');
    if (el && value !== null && value !== undefined) el.value = value;
    return el;
  }

  function resultBox(r, lines) {
    var box = $('card-result');
    box.innerHTML = '';
    var p = document.createElement('p');
    p.className = 'state-ok';
    p.id = 'card-result-kind';
    p.textContent = 'ICカード読取: ' + r.cardLabel;
    box.appendChild(p);
    lines.forEach(function (line) {
      var q = document.createElement('p');
      q.textContent = line;
      box.appendChild(q);
    });
    if (r.fill.addressMasked) {
      var m = document.createElement('p');
      m.className = 'protected';
      m.textContent = '支援措置に関わるため、カードの住所は表示・入力しません。';
      box.appendChild(m);
    }
    if (r.myNumber) {
      var n = document.createElement('p');
      n.id = 'card-my-number';
      n.textContent = '個人番号: ' + r.myNumber;
      box.appendChild(n);
    }
    if (r.register.differences.length) {
      var t = document.createElement('table');
      t.id = 'card-differences';
      t.className = 'differences';
      var head = t.insertRow();
      ['住民記録と違う項目', 'カード', '住民記録'].forEach(function (h) {
        var th = document.createElement('th');
        th.textContent = h;
        head.appendChild(th);
      });
      r.register.differences.forEach(function (d) {
        var row = t.insertRow();
        row.className = 'difference difference-' + d.field;
        [d.label, d.card, d.register].forEach(function (v) {
          row.insertCell().textContent = v;
        });
      });
      box.appendChild(t);
    }
    return box;
  }

  function fillIdentity(r) {
    var f = r.fill;
    if (window.madoguchi && window.madoguchi.fillIdentity)
      window.madoguchi.fillIdentity({ documentType: f.documentType, name: f.name, birthDate: f.birthDate, sex: f.sex, address: f.address });
    if (f.documentNote) setField('identityDocumentNote', f.documentNote);
    setField('cardReading', r.requestId);
    r.register.differences.forEach(function (d) {
      var el = document.querySelector('[data-identity="' + (d.field === 'name' ? 'name' : d.field === 'sex' ? 'sex' : 'address') + '"]');
      if (el) {
        el.classList.add('card-difference');
        el.title = '住民記録: ' + d.register;
      }
    });
    var lines = [r.register.note];
    if (r.register.matches.length === 1) lines.push('宛名番号 ' + r.register.matches[0].addresseeNo + ' ' + r.register.matches[0].name);
    resultBox(r, lines.concat(['カナは券面にないため入力してください。内容を確かめて「保存」を押してください。']));
    var kana = document.querySelector('[data-identity="kana"]');
    if (kana && !kana.value) kana.focus();
    else if ($('save-identity')) $('save-identity').focus();
  }

  function fillNotice(r) {
    var f = r.fill;
    if (r.cardType !== 'myNumberCard') {
      resultBox(r, ['在留カードの IC には氏名が文字としてないため、対象者の欄には入れません。']);
      return;
    }
    var i = 0;
    var name;
    while ((name = document.querySelector('[name="m' + i + '_name"]'))) {
      if (!name.value && !name.readOnly) break;
      i++;
    }
    if (!name) {
      resultBox(r, ['対象者の空いた行がありません。一時保存すると行が増えます。']);
      return;
    }
    name.value = f.name || '';
    setField('m' + i + '_birthDate', f.birthDate);
    setField('m' + i + '_sex', f.sex || '');
    var moving = document.querySelector('input[name="moving"][value="' + i + '"]');
    if (moving) moving.checked = true;
    // The card still carries the previous town's address: it is the 転入's 従前の住所.
    var prev = document.querySelector('[name="previousAddress"]');
    var filledPrev = false;
    if (prev && !prev.value && f.address && !f.addressMasked) {
      prev.value = f.address;
      filledPrev = true;
    }
    resultBox(r, [
      i + 1 + ' 人目に氏名・生年月日・性別を入れました' + (filledPrev ? '。従前の住所をカードの住所にしました' : '') + '。',
      'カナと続柄は券面にないため入力してください。次の人のカードを置けば続けて読み取れます。',
    ]);
    var kana = document.querySelector('[name="m' + i + '_kana"]');
    if (kana) kana.focus();
  }

  poll();
})();
