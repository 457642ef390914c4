// Counter screens: keyboard moves (Esc, ↑↓ in results, Alt+N / Alt+H), address type-ahead from
// the address master, offline postal-code lookup, and the hook a card reader fills the identity
// form through. Plain ES5: Edge on a thin client, nothing to install, nothing loaded from outside.
(function () {
  'use strict';
  function $(sel, root) {
    return (root || document).querySelector(sel);
  }
  function $all(sel, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(sel));
  }
  function getJson(url) {
    return fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } }).then(function (r) {
      return r.ok ? r.json() : null;
    });
  }

  var links = function () {
    return $all('a.result-link');
  };
  document.addEventListener('keydown', function (e) {
    var active = document.activeElement;
    if (e.key === 'Escape') {
      var first = $('#q-kana');
      if (first) {
        first.focus();
        first.select();
        e.preventDefault();
      }
      return;
    }
    if (e.altKey && (e.key === 'n' || e.key === 'N')) {
      // Opens a new visit from any screen: the same POST as the home page's button, with the CSRF token of the header's logout form.
      var token = $('form[action="/logout"] input[name="_csrf"]');
      if (!token) return;
      var f = document.createElement('form');
      f.method = 'post';
      f.action = '/visits';
      f.innerHTML = '<input type="hidden" name="_csrf">';
      f.firstChild.value = token.value;
      document.body.appendChild(f);
      f.submit();
      e.preventDefault();
      return;
    }
    if (e.altKey && (e.key === 's' || e.key === 'S') && !$('[accesskey="s"]')) {
      window.location.href = '/search';
      e.preventDefault();
      return;
    }
    if (e.altKey && (e.key === 'p' || e.key === 'P')) {
      // The previous page of search results (the link also has accesskey p).
      var prev = $('#page-prev');
      if (prev) {
        window.location.href = prev.href;
        e.preventDefault();
      }
      return;
    }
    if (e.altKey && (e.key === 'h' || e.key === 'H')) {
      window.location.href = '/';
      e.preventDefault();
      return;
    }
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    var list = links();
    if (!list.length) return;
    var i = list.indexOf(active);
    var inForm = active && active.form && active.form.id === 'search-form' && active.tagName !== 'SELECT';
    if (i < 0 && !(inForm && e.key === 'ArrowDown')) return;
    var next = i < 0 ? 0 : e.key === 'ArrowDown' ? Math.min(i + 1, list.length - 1) : i - 1;
    if (next < 0) {
      $('#q-kana').focus();
    } else {
      list[next].focus();
    }
    e.preventDefault();
  });
  // Forms marked data-enter-moves (the certificate request, the notice): Enter in a field moves
  // to the next field like Tab (テンキー entry) instead of submitting; only the buttons submit.
  $all('form[data-enter-moves]').forEach(function (form) {
    form.addEventListener('keydown', function (e) {
      var t = e.target;
      if (e.key !== 'Enter' || e.isComposing || e.keyCode === 229) return;
      if (!t || (t.tagName !== 'INPUT' && t.tagName !== 'SELECT') || t.type === 'submit' || t.type === 'button') return;
      e.preventDefault();
      var fields = $all('input:not([type=hidden]):not([disabled]), select:not([disabled]), button, summary', form).filter(function (x) {
        return x.offsetParent !== null;
      });
      var next = fields[fields.indexOf(t) + 1];
      if (next) next.focus();
    });
  });
  // One-click procedure statuses of the counter panel: sent in the background, the row updated in
  // place (no reload). The form itself works without script (it posts and comes back).
  $all('form[data-quick-status]').forEach(function (form) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var row = form.closest('tr');
      var cell = row && $('.proc-status', row);
      var button = $('button', form);
      var label = button ? button.textContent : '';
      var status = $('input[name="status"]', form).value;
      $all('button', row).forEach(function (b) {
        b.disabled = true;
      });
      fetch(form.action, {
        method: 'POST',
        credentials: 'same-origin',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(new FormData(form)).toString(),
      })
        .then(function (r) {
          // The route answers 303 (a redirect the script does not follow): the change is saved.
          if (r.type !== 'opaqueredirect' && !(r.status >= 200 && r.status < 400)) throw new Error(String(r.status));
          if (cell) cell.textContent = label;
          $all('form[data-quick-status]', row).forEach(function (f) {
            $('button', f).disabled = $('input[name="status"]', f).value === status;
          });
          $all('#procedure-list form[action="' + form.getAttribute('action') + '"] select[name="status"]').forEach(function (sel) {
            sel.value = status;
          });
        })
        .catch(function () {
          if (cell) cell.textContent = '保存できませんでした (画面を読み直してください)';
          $all('button', row).forEach(function (b) {
            b.disabled = false;
          });
        });
    });
  });
  // Certificate lines: only the options of the chosen type are shown.
  $all('fieldset.cert-line').forEach(function (line) {
    var type = $('select.cert-type', line);
    if (!type) return;
    var sync = function () {
      $all('.cert-option', line).forEach(function (el) {
        var types = (el.getAttribute('data-types') || '').split(' ');
        el.hidden = types.indexOf(type.value) < 0;
      });
    };
    type.addEventListener('change', sync);
    sync();
  });
  // Every page starts on its first useful control: the page's own autofocus, else the first link or
  // button of its main table (a list: open the first row), else its first field, else its first link.
  if (document.activeElement === document.body && !$('[autofocus]')) {
    // Never a status button of the counter panel: a stray Enter must not change a procedure.
    var first =
      $all('main table a[href], main table button:not([disabled])').filter(function (x) {
        return !x.closest('form[data-quick-status]');
      })[0] ||
      $('main input:not([type=hidden]):not([disabled]), main select:not([disabled]), main textarea, main button:not([disabled])') ||
      $('main a[href]');
    if (first) first.focus();
  }
  // After a search, the first result has the focus: ↓ and Enter pick a person without the mouse.
  // (The server leaves out autofocus on the search form when there are results.)
  if (links().length && $('#search-form')) links()[0].focus();

  // 町字 type-ahead: the datalist offers towns while typing, then 番地 of the chosen town.
  $all('input.address-input').forEach(function (input) {
    var list = input.getAttribute('list') ? document.getElementById(input.getAttribute('list')) : null;
    var note = input.parentNode.parentNode.querySelector('.address-match');
    var timer = null;
    var towns = [];
    input.addEventListener('input', function () {
      clearTimeout(timer);
      var text = input.value.trim();
      if (!list || !text) return;
      timer = setTimeout(function () {
        var town = null;
        towns.forEach(function (t) {
          if (text.indexOf(t.townName) === 0 && (!town || t.townName.length > town.townName.length)) town = t;
        });
        var url = town
          ? '/api/v1/addresses/blocks?town=' + town.townCode + '&q=' + encodeURIComponent(text.slice(town.townName.length))
          : '/api/v1/addresses/towns?q=' + encodeURIComponent(text);
        getJson(url).then(function (res) {
          if (!res) return;
          list.innerHTML = '';
          if (res.towns) towns = res.towns;
          (res.towns || res.blocks || []).forEach(function (c) {
            var o = document.createElement('option');
            o.value = c.blockNumber ? c.townName + c.blockNumber + (c.addressSuffix ? ' ' + c.addressSuffix : '') : c.townName;
            list.appendChild(o);
          });
        });
      }, 150);
    });
    // Enter in the type-ahead takes the first offered 町字 or 番地 that starts with what was typed
    // (then the 番地 of that 町字 are offered); it never submits the form.
    input.addEventListener('keydown', function (e) {
      if (e.key !== 'Enter' || e.isComposing || e.keyCode === 229) return;
      e.preventDefault();
      var text = input.value.trim();
      var options = list ? Array.prototype.slice.call(list.options) : [];
      // Only an unambiguous completion: never replace what was typed when it is itself a candidate
      // (「3-1」 is not 「3-10」), and never choose among several.
      var exact = options.some(function (o) {
        return o.value === text;
      });
      var starting = options.filter(function (o) {
        return o.value.indexOf(text) === 0;
      });
      var pick = !exact && text && starting.length === 1 ? starting[0].value : null;
      if (pick) {
        input.value = pick;
        input.dispatchEvent(new Event('input', { bubbles: true }));
      }
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    input.addEventListener('change', function () {
      if (!note || !input.value.trim()) return;
      getJson('/api/v1/addresses/match?text=' + encodeURIComponent(input.value)).then(function (res) {
        if (!res) return;
        note.textContent = res.matches.length
          ? '住所マスタと一致: ' +
            res.matches[0].townName +
            res.matches[0].blockNumber +
            (res.matches[0].postalCode ? ' (〒' + res.matches[0].postalCode + ')' : '')
          : '住所マスタに一致する住所はありません (町外の住所は郵便番号から入力できます)';
      });
    });
  });

  // Postal code → prefecture, city and town, from data bundled with the server (no internet).
  $all('input.postal-input').forEach(function (input) {
    input.addEventListener('change', function () {
      var form = input.form;
      var address = form && form.querySelector('input.address-input');
      getJson('/api/v1/postal-codes/' + encodeURIComponent(input.value)).then(function (res) {
        if (!res || !res.areas.length || !address) return;
        if (!address.value) {
          address.value = res.areas[0].prefecture + res.areas[0].city + res.areas[0].town;
          address.focus();
        }
      });
    });
  });

  // File inputs that send their file as-is (CSV of 転出証明書情報) and reload the page with the result.
  $all('input[data-upload-url]').forEach(function (input) {
    input.addEventListener('change', function () {
      var file = input.files && input.files[0];
      var note = input.parentNode.parentNode.querySelector('.upload-result');
      if (!file) return;
      fetch(input.getAttribute('data-upload-url'), {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'text/csv', 'x-csrf-token': input.getAttribute('data-csrf'), accept: 'application/json' },
        body: file,
      })
        .then(function (r) {
          return r.json();
        })
        .then(function (res) {
          if (res.error) {
            if (note) note.textContent = res.error.message;
            return;
          }
          window.location.reload();
        });
    });
  });

  // Extension point for card readers: window.madoguchi.fillIdentity({documentType, name, kana,
  // birthDate, sex, address}) fills the identity form; staff check and save as usual.
  window.madoguchi = window.madoguchi || {};
  window.madoguchi.fillIdentity = function (data) {
    Object.keys(data || {}).forEach(function (k) {
      var field = $('[data-identity="' + k + '"]');
      if (field && data[k] != null) field.value = data[k];
    });
  };
})();
