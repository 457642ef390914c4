// 事前入力の QR コード at the counter: a USB 2D scanner in keyboard mode types each code into the
// panel's field and ends it with Enter (views/preEntry.ts). The codes are put together with the
// same codec the resident's page used (static/pre-entry/codec.js); the clerk checks the list and
// presses Enter (or 「この内容で入れる」), and the open form is filled in the browser: the notice
// form's fields and persons, or the certificate lines. Nothing is sent: the clerk saves the form
// as usual. On the visit page the data is carried to the new notice (or the certificate page)
// in sessionStorage, read once and removed. Plain ES5, like counter.js.
(function () {
  'use strict';
  var panel = document.getElementById('pre-entry');
  var codec = window.MadoguchiPreEntry;
  if (!panel || !codec) return;

  function $(sel, root) {
    return (root || document).querySelector(sel);
  }
  function $all(sel, root) {
    return Array.prototype.slice.call((root || document).querySelectorAll(sel));
  }
  function el(tag, text, className) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (className) e.className = className;
    return e;
  }

  var visitId = panel.getAttribute('data-visit');
  var target = panel.getAttribute('data-target');
  var noticeType = panel.getAttribute('data-notice-type');
  var maxLines = Number(panel.getAttribute('data-certificate-lines')) || codec.MAX_CERTIFICATE_LINES;
  var scan = $('#pre-entry-scan');
  var statusEl = $('#pre-entry-status');
  var errorEl = $('#pre-entry-error');
  var review = $('#pre-entry-review');
  var decoder = codec.decoder();
  var PENDING_KEY = 'madoguchi.preEntry.pending';
  /** Data carried from the visit page is used only this soon after. */
  var PENDING_MS = 10 * 60 * 1000;
  /** An Enter this soon after the last code is the scanner's, never the clerk's confirmation. */
  var SCANNER_ENTER_MS = 700;
  var NOTICE_TYPES = { moveIn: ['moveIn', 'specialMoveIn'], relocation: ['relocation'], moveOut: ['moveOut', 'specialMoveOut'] };
  var RELATIONS = { self: '本人', household: '同一世帯の者', proxy: '代理人 (委任状あり)' };
  var SEX = { 1: '男', 2: '女' };
  var DATE_LABELS = { moveIn: '異動日', relocation: '異動日', moveOut: '転出 (予定) 日' };

  var pending = null; // { data, plan } waiting for the clerk's confirmation
  var lastScanAt = 0;
  // The certificate form's empty line as the server drew it (every option present), for lines added here.
  var certificateForm = document.getElementById('certificate-form');
  var lineTemplate = null;
  if (certificateForm)
    $all('fieldset.cert-line', certificateForm).forEach(function (f) {
      var type = $('select.cert-type', f);
      if (!lineTemplate && type && !type.value) lineTemplate = f.cloneNode(true);
    });

  /** fn(), or `fallback` when it throws (ES5: a catch clause must name what it catches). */
  function attempt(fn, fallback) {
    try {
      return fn();
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
    } catch (e) {
      return fallback;
    }
  }

  function setStatus(text) {
    statusEl.textContent = text || '';
  }
  function setError(text) {
    errorEl.textContent = text || '';
  }
  function resetAll(message) {
    decoder.reset();
    pending = null;
    review.hidden = true;
    review.textContent = '';
    setStatus(message || '');
    setError('');
  }
  function progressText(r) {
    return r.received + '/' + r.total + ' 読み取りました' + (r.missing && r.missing.length ? ' (残り: ' + r.missing.join('・') + ')' : '');
  }
  function normName(s) {
    return String(s || '').replace(/[\s\u3000]+/g, '');
  }

  // ---------------------------------------------------------------- what the data says

  function fieldRows(d) {
    var rows = [['手続き', codec.TYPE_LABELS[d.type]]];
    if (d.type === 'certificateRequest') {
      if (d.relation) rows.push(['請求する人', RELATIONS[d.relation]]);
      var r = d.requester || {};
      rows.push([
        '証明書に載る人',
        [r.name, r.nameKana ? '(' + r.nameKana + ')' : '', r.birthDate ? codec.formatWareki(r.birthDate) + '生' : ''].join(' '),
      ]);
      return rows;
    }
    if (d.effectiveDate) rows.push([DATE_LABELS[d.type], codec.formatWareki(d.effectiveDate)]);
    ['previousAddress', 'newAddress', 'nextAddress', 'honseki', 'hittousha'].forEach(function (f) {
      if (d[f]) rows.push([codec.LABELS[f], d[f]]);
    });
    return rows;
  }

  function table(head, rows, className) {
    var t = el('table', null, className);
    if (head) {
      var tr = el('tr');
      head.forEach(function (h) {
        tr.appendChild(el('th', h));
      });
      t.appendChild(el('thead')).appendChild(tr);
    }
    var body = t.appendChild(el('tbody'));
    rows.forEach(function (r) {
      var row = body.appendChild(el('tr'));
      r.forEach(function (c, i) {
        row.appendChild(el(i === 0 && !head ? 'th' : 'td', c));
      });
    });
    return t;
  }

  /** The list the clerk checks: the fields, the persons or the lines, and what filling will do. */
  function showReview(d, plan, applied) {
    review.textContent = '';
    review.appendChild(el('h3', (applied ? '入れた事前入力の内容' : '事前入力の内容') + ' — ' + codec.TYPE_LABELS[d.type]));
    review.appendChild(table(null, fieldRows(d), 'pre-entry-fields'));
    var memberRows = (d.members || []).map(function (m, i) {
      var row = [i + 1 + ' 人目', m.name, m.nameKana || '', codec.formatWareki(m.birthDate) || '', SEX[m.sex] || '', m.relationship || ''];
      return row.concat([m.head ? '世帯主' : '']);
    });
    var lineRows = (d.certificates || []).map(function (l, i) {
      var type = plan && plan.typeNames[i] ? plan.typeNames[i] : l.type;
      var purpose = plan && plan.purposeNames[i] ? plan.purposeNames[i] : l.purpose || '';
      return [i + 1 + ' 行目', type, String(l.copies), purpose, l.year ? String(l.year) : ''];
    });
    var memberHead = ['', '氏名', 'フリガナ', '生年月日', '性別', '続柄', d.type === 'moveIn' ? '世帯主' : ''];
    if (d.members) review.appendChild(table(memberHead, memberRows, 'pre-entry-members'));
    if (d.certificates) review.appendChild(table(['', '種類', '通数', '使いみち', '年度'], lineRows, 'pre-entry-lines'));
    var notes = plan ? plan.notes : [];
    var problems = plan ? plan.problems : [];
    if (notes.length || problems.length) {
      var ul = review.appendChild(el('ul', null, 'pre-entry-notes'));
      problems.forEach(function (p) {
        ul.appendChild(el('li', '入れられません: ' + p, 'field-error'));
      });
      notes.forEach(function (n) {
        ul.appendChild(el('li', n));
      });
    }
    if (!applied && !problems.length) {
      var p = review.appendChild(el('p'));
      var label =
        target === 'visit'
          ? d.type === 'certificateRequest'
            ? '証明書の請求に入れる (Enter)'
            : codec.TYPE_LABELS[d.type] + 'を作成して入れる (Enter)'
          : 'この内容で入れる (Enter)';
      var go = p.appendChild(el('button', label));
      go.type = 'button';
      go.id = 'pre-entry-apply';
      go.addEventListener('click', confirmPending);
      p.appendChild(document.createTextNode(' '));
      var cancel = p.appendChild(el('button', 'やり直す (Esc)'));
      cancel.type = 'button';
      cancel.addEventListener('click', function () {
        resetAll('読み取りをやり直します。');
        scan.focus();
      });
    }
    review.hidden = false;
  }

  // ---------------------------------------------------------------- filling the notice form

  function setValue(input, value) {
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
    input.style.backgroundColor = '#fff7cc';
  }
  function setChecked(input, on) {
    if (input.checked === on) return;
    input.checked = on;
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }
  function hasOption(select, value) {
    return Array.prototype.some.call(select.options, function (o) {
      return o.value === value;
    });
  }
  function optionText(select, value) {
    var found = '';
    Array.prototype.forEach.call(select.options, function (o) {
      if (o.value === value) found = o.textContent;
    });
    return found;
  }

  /** The rows of the notice's persons table, each with its form index. */
  function memberRows(form) {
    return $all('#notice-members tbody tr', form)
      .map(function (tr) {
        var name = $('input[name$="_name"]', tr);
        var m = name && /^m(\d+)_name$/.exec(name.name);
        if (!m) return null;
        var i = m[1];
        var no = $('input[name="m' + i + '_addresseeNo"]', tr);
        return {
          tr: tr,
          index: Number(i),
          name: name,
          register: !!(no && no.value),
          empty: !(no && no.value) && !name.value && !name.readOnly,
        };
      })
      .filter(function (r) {
        return r;
      });
  }

  /** A new persons row from an editable one, renumbered `index` (the form reads m0 … m19). */
  function cloneMemberRow(template, index) {
    var tr = template.cloneNode(true);
    $all('input, select', tr).forEach(function (x) {
      if (/^m\d+_/.test(x.name)) x.name = x.name.replace(/^m\d+_/, 'm' + index + '_');
      else if (x.name === 'moving' || x.name === 'head' || x.name === 'event') x.value = String(index);
      var label = x.getAttribute('aria-label');
      if (label) x.setAttribute('aria-label', label.replace(/^\d+ 人目/, index + 1 + ' 人目'));
      x.removeAttribute('id');
      x.style.backgroundColor = '';
      if (x.type === 'checkbox' || x.type === 'radio') x.checked = false;
      else if (x.tagName === 'SELECT') x.selectedIndex = 0;
      else x.value = '';
    });
    $all('.field-error', tr).forEach(function (e) {
      e.parentNode.removeChild(e);
    });
    return tr;
  }

  /**
   * What filling the notice form would do: checked in full first (nothing is written when
   * something cannot be filled), then `apply` writes everything at once.
   */
  function planNotice(d) {
    var form = document.getElementById('notice-form');
    var plan = { problems: [], notes: [], steps: [], first: null, typeNames: [], purposeNames: [] };
    if (!form) {
      plan.problems.push('届出の入力欄が見つかりません (受け付けた届出には入れられません)');
      return plan;
    }
    function field(name, label, value) {
      var input = form.querySelector('[name="' + name + '"]');
      if (!input) return plan.problems.push('この届出には「' + label + '」の欄がありません');
      if (input.readOnly || input.disabled) return plan.notes.push('「' + label + '」は変えられない欄のため入れません (今の値のまま)');
      if (input.value && input.value !== value) plan.notes.push('「' + label + '」を書き換えます (今: ' + input.value + ')');
      if (!plan.first) plan.first = input;
      plan.steps.push(function () {
        setValue(input, value);
      });
    }
    if (d.effectiveDate) field('effectiveDate', DATE_LABELS[d.type], codec.formatWareki(d.effectiveDate));
    ['previousAddress', 'newAddress', 'nextAddress', 'honseki', 'hittousha'].forEach(function (f) {
      if (d[f]) field(f, codec.LABELS[f], d[f]);
    });

    var rows = memberRows(form);
    var template = null;
    rows.forEach(function (r) {
      if (!r.register && !r.name.readOnly) template = r.tr;
    });
    var free = rows.filter(function (r) {
      return r.empty;
    });
    var used = {};
    var next = rows.reduce(function (n, r) {
      return Math.max(n, r.index + 1);
    }, 0);
    var targets = [];
    var matched = 0;
    (d.members || []).forEach(function (m, j) {
      var match = null;
      rows.forEach(function (r) {
        // A person already in the form (from the register, or filled before) keeps their row.
        if (match || used[r.index] || !r.name.value || normName(r.name.value) !== normName(m.name)) return;
        var birth = $('input[name="m' + r.index + '_birthDate"]', r.tr);
        if (m.birthDate && birth && birth.value && birth.value !== codec.formatWareki(m.birthDate)) return;
        match = r;
      });
      if (match) {
        used[match.index] = true;
        if (match.register) matched++;
        targets.push({ member: m, index: match.index, register: match.register });
        return;
      }
      var row = free.shift();
      if (row) targets.push({ member: m, index: row.index });
      else targets.push({ member: m, index: next++, clone: true });
      if (targets[targets.length - 1].index >= 20) plan.problems.push(j + 1 + ' 人目: 届出に入る人数を超えます (20 人まで)');
    });
    if (
      targets.some(function (x) {
        return x.clone;
      }) &&
      !template
    )
      plan.problems.push('人を入れる空いた行がありません');
    if (matched) plan.notes.push('住民記録の ' + matched + ' 人と氏名・生年月日が一致しました (その行に印を付けます)');
    var headRadios = $all('input[name="head"]', form);
    var wantsHead = d.type === 'moveIn';
    plan.steps.push(function () {
      targets.forEach(function (x) {
        if (x.clone) $('#notice-members tbody', form).appendChild(cloneMemberRow(template, x.index));
      });
      targets.forEach(function (x) {
        var at = function (suffix) {
          return form.querySelector('[name="m' + x.index + '_' + suffix + '"]');
        };
        var moving = form.querySelector('input[name="moving"][value="' + x.index + '"]');
        if (moving) setChecked(moving, true);
        if (x.register) return;
        setValue(at('name'), x.member.name);
        setValue(at('kana'), x.member.nameKana || '');
        setValue(at('birthDate'), codec.formatWareki(x.member.birthDate) || '');
        var sex = at('sex');
        if (sex) setValue(sex, x.member.sex || '');
        setValue(at('relationship'), x.member.relationship || '');
      });
      if (wantsHead) {
        var head = null;
        targets.forEach(function (x) {
          if (x.member.head) head = x.index;
        });
        $all('input[name="head"]', form).forEach(function (r) {
          setChecked(r, head !== null && r.value === String(head));
        });
      }
    });
    if (wantsHead && !headRadios.length) plan.problems.push('世帯主の欄がありません');
    if (
      wantsHead &&
      !(d.members || []).some(function (m) {
        return m.head;
      })
    )
      plan.notes.push('世帯主が選ばれていません (既存の世帯に入る届出として、世帯番号を確かめてください)');
    return plan;
  }

  // ---------------------------------------------------------------- filling the certificate lines

  function lineIndex(fieldset) {
    var type = $('select.cert-type', fieldset);
    var m = type && /^l(\d+)_type$/.exec(type.name);
    return m ? Number(m[1]) : -1;
  }

  function cloneLine(index) {
    var f = lineTemplate.cloneNode(true);
    $all('[name]', f).forEach(function (x) {
      x.name = x.name.replace(/^l\d+_/, 'l' + index + '_');
      x.removeAttribute('autofocus');
      x.removeAttribute('id');
    });
    $all('[id]', f).forEach(function (x) {
      x.removeAttribute('id');
    });
    $all('.alert', f).forEach(function (x) {
      x.parentNode.removeChild(x);
    });
    var legend = $('legend', f);
    if (legend) legend.textContent = index + 1 + ' 行目';
    // The line's options follow its type, as counter.js does for the lines drawn by the server.
    var type = $('select.cert-type', f);
    var sync = function () {
      $all('.cert-option', f).forEach(function (o) {
        o.hidden = (o.getAttribute('data-types') || '').split(' ').indexOf(type.value) < 0;
      });
    };
    type.addEventListener('change', sync);
    sync();
    return f;
  }

  function planCertificates(d) {
    var plan = { problems: [], notes: [], steps: [], first: null, typeNames: [], purposeNames: [] };
    var form = certificateForm;
    if (!form) {
      plan.problems.push('証明書の請求の入力欄が見つかりません');
      return plan;
    }
    var relation = form.querySelector('select[name="relation"]');
    if (d.relation && relation) {
      if (hasOption(relation, d.relation))
        plan.steps.push(function () {
          setValue(relation, d.relation);
        });
      else plan.notes.push('「請求する人」は窓口で選んでください');
    }
    var lines = $all('fieldset.cert-line', form);
    var free = lines.filter(function (f) {
      var type = $('select.cert-type', f);
      return type && !type.value;
    });
    var sample = $('select.cert-type', form) || (lineTemplate && $('select.cert-type', lineTemplate));
    var purposeSample = form.querySelector('select[name$="_purpose"]');
    var next = lines.reduce(function (n, f) {
      return Math.max(n, lineIndex(f) + 1);
    }, 0);
    var targets = [];
    var name = d.requester && d.requester.name ? normName(d.requester.name) : '';
    d.certificates.forEach(function (l, j) {
      var n = j + 1 + ' 行目';
      if (!sample || !hasOption(sample, l.type)) plan.problems.push(n + ': 証明書の種類「' + l.type + '」はこの窓口の一覧にありません');
      else plan.typeNames[j] = optionText(sample, l.type);
      if (l.purpose && !(purposeSample && hasOption(purposeSample, l.purpose)))
        plan.problems.push(n + ': 使いみち「' + l.purpose + '」はこの窓口の一覧にありません');
      else if (l.purpose) plan.purposeNames[j] = optionText(purposeSample, l.purpose);
      var f = free.shift();
      if (f) targets.push({ line: l, fieldset: f, index: lineIndex(f) });
      else targets.push({ line: l, index: next++, clone: true });
      var host = f || lineTemplate;
      if (l.year !== undefined && !(host && host.querySelector('[name$="_year"]')))
        plan.notes.push(n + ': 年度の欄がないため、年度は入れません');
    });
    if (next > maxLines) plan.problems.push('証明書の行が足りません (1 回の請求は ' + maxLines + ' 行まで)');
    if (
      targets.some(function (x) {
        return x.clone;
      }) &&
      !lineTemplate
    )
      plan.problems.push('空いた行がありません。「行を追加」を押してから、もう一度読み取ってください');
    plan.steps.push(function () {
      var last = lines[lines.length - 1];
      targets.forEach(function (x) {
        if (!x.clone) return;
        x.fieldset = cloneLine(x.index);
        last.parentNode.insertBefore(x.fieldset, last.nextSibling);
        last = x.fieldset;
      });
      var subjectNotes = 0;
      targets.forEach(function (x) {
        var f = x.fieldset;
        var at = function (suffix) {
          return f.querySelector('[name="l' + x.index + '_' + suffix + '"]');
        };
        setValue(at('type'), x.line.type);
        setValue(at('copies'), String(x.line.copies));
        if (x.line.purpose) setValue(at('purpose'), x.line.purpose);
        if (x.line.year !== undefined && at('year')) setValue(at('year'), String(x.line.year));
        var subject = at('subject');
        var chosen = false;
        if (subject && name)
          Array.prototype.forEach.call(subject.options, function (o) {
            if (!chosen && normName(o.textContent).indexOf(name) >= 0) {
              setValue(subject, o.value);
              chosen = true;
            }
          });
        if (!chosen && name) subjectNotes++;
      });
      if (!plan.first && targets.length) plan.first = targets[0].fieldset.querySelector('select.cert-type');
      if (subjectNotes)
        plan.notes.push('対象者は来庁記録の対象者から選んでください (「' + d.requester.name + '」と同じ名前の対象者がいません)');
    });
    return plan;
  }

  // ---------------------------------------------------------------- reading and confirming

  /** The plan for this page, or an error message when the data is for another screen. */
  function planFor(d) {
    if (target === 'visit') return { problems: [], notes: [], steps: [], typeNames: [], purposeNames: [] };
    if (target === 'certificates') {
      if (d.type !== 'certificateRequest')
        return { error: 'この QR コードは' + codec.TYPE_LABELS[d.type] + 'の事前入力です。来庁記録の画面で読み取ってください。' };
      return planCertificates(d);
    }
    var types = NOTICE_TYPES[d.type];
    if (!types || types.indexOf(noticeType) < 0)
      return {
        error:
          'この QR コードは' +
          codec.TYPE_LABELS[d.type] +
          'の事前入力です。開いている届出には入れられません。' +
          (d.type === 'certificateRequest' ? '証明書の請求の画面' : '来庁記録の画面') +
          'で読み取ってください。',
      };
    return planNotice(d);
  }

  function received(d, message) {
    var plan = planFor(d);
    if (plan.error) {
      resetAll();
      setError(plan.error);
      return;
    }
    pending = { data: d, plan: plan };
    showReview(d, plan, false);
    setStatus(message);
    if (plan.problems.length) setError('この画面には入れられません (下の「入れられません」を見てください)。何も入れていません。');
  }

  function feed(text) {
    var r = decoder.push(text);
    lastScanAt = Date.now();
    if (r.status === 'error') {
      setError(r.error.message);
      var still = decoder.pending();
      setStatus(still ? progressText(still) : '');
      return;
    }
    setError('');
    if (r.status === 'progress' || r.status === 'duplicate') {
      if (pending) {
        pending = null;
        review.hidden = true;
      }
      setStatus(r.status === 'duplicate' ? r.part + '/' + r.total + ' は読み取り済みです。' + progressText(r) : progressText(r));
      return;
    }
    received(r.data, r.total + '/' + r.total + ' 読み取りました。内容を確かめて Enter を押してください。');
  }

  function confirmPending() {
    if (!pending || pending.plan.problems.length) return;
    var d = pending.data;
    if (target === 'visit') {
      var kept = attempt(function () {
        window.sessionStorage.setItem(PENDING_KEY, JSON.stringify({ visit: visitId, data: d, at: Date.now() }));
        return true;
      }, false);
      if (!kept) {
        setError('この画面から引き継げません (ブラウザの設定)。届出を作成してから、その画面で読み取ってください。');
        return;
      }
      if (d.type === 'certificateRequest') {
        window.location.href = '/visits/' + visitId + '/certificates';
        return;
      }
      var f = document.createElement('form');
      f.method = 'post';
      f.action = '/visits/' + visitId + '/notices';
      [
        ['_csrf', panel.getAttribute('data-csrf')],
        ['type', d.type],
      ].forEach(function (kv) {
        var input = document.createElement('input');
        input.type = 'hidden';
        input.name = kv[0];
        input.value = kv[1];
        f.appendChild(input);
      });
      document.body.appendChild(f);
      f.submit();
      return;
    }
    var plan = pending.plan;
    plan.steps.forEach(function (step) {
      step();
    });
    pending = null;
    showReview(d, plan, true);
    setStatus('事前入力の内容を入れました。各欄を確かめてから保存・受付してください。');
    if (plan.first) plan.first.focus();
  }

  scan.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') {
      e.preventDefault();
      resetAll('読み取りをやり直します。');
      return;
    }
    if ((e.key !== 'Enter' && e.key !== 'Tab') || e.isComposing || e.keyCode === 229) return;
    var text = scan.value;
    if (!text.replace(/\s+/g, '')) {
      if (e.key === 'Tab') return;
      e.preventDefault();
      // Enter in the empty field confirms, unless it comes with the scanner's own end of code.
      if (pending && Date.now() - lastScanAt > SCANNER_ENTER_MS) confirmPending();
      return;
    }
    e.preventDefault();
    scan.value = '';
    // Several codes typed without an end key between them are read one by one.
    text
      .split(/(?=MDG\d)/i)
      .filter(function (s) {
        return s.replace(/\s+/g, '');
      })
      .forEach(feed);
  });

  $('#pre-entry-reset').addEventListener('click', function () {
    resetAll('読み取りをやり直します。');
    scan.focus();
  });

  // Alt+Q: to the scanner field from anywhere on the page.
  document.addEventListener('keydown', function (e) {
    if (e.altKey && (e.key === 'q' || e.key === 'Q')) {
      e.preventDefault();
      scan.focus();
    }
  });

  // A code read while another field had the focus: taken out of that field (Enter would have
  // submitted its form) and read as a code.
  function rescueStrayCode(e) {
    var t = e.target;
    if (e.key !== 'Enter' || e.isComposing || !t || t === scan || t.tagName !== 'INPUT') return;
    var m = /MDG\d+-[A-Z2-7]{6}-\S*$/i.exec(t.value);
    if (!m) return;
    e.preventDefault();
    e.stopPropagation();
    t.value = t.value.slice(0, m.index);
    t.dispatchEvent(new Event('input', { bubbles: true }));
    scan.focus();
    feed(m[0]);
  }
  document.addEventListener('keydown', rescueStrayCode, true);

  // Data read on the visit page, carried to this notice or certificate page: filled at once.
  if (target !== 'visit') {
    var carried = attempt(function () {
      var c = JSON.parse(window.sessionStorage.getItem(PENDING_KEY) || 'null');
      window.sessionStorage.removeItem(PENDING_KEY);
      return c;
    }, null);
    if (carried && String(carried.visit) === String(visitId) && Date.now() - carried.at < PENDING_MS) {
      var problems = codec.validate(carried.data);
      if (problems.length) setError('引き継いだ事前入力の内容に誤りがあるため入れません。もう一度読み取ってください。');
      else {
        received(carried.data, '来庁記録の画面で読み取った事前入力です。');
        if (pending && !pending.plan.problems.length) {
          confirmPending();
          setStatus('来庁記録の画面で読み取った事前入力の内容を入れました。各欄を確かめてから保存・受付してください。');
        }
      }
    }
  }
})();
