/* global qrcode, MadoguchiPreEntry */
// 事前入力ページ: a resident prepares a 転入・転居・転出 or a certificate request on a phone, and the
// page shows it as QR codes to be read at the counter. Nothing is sent anywhere: the page needs
// no server (it works opened from a file), and what is typed stays in this phone — in
// localStorage only when the resident ticks 「この端末に保存する」. Plain ES5 for old phones.
// Needs qrcode.js (qrcode-generator) and codec.js (the payload format) loaded before it, and
// strings.js (the texts of config/languages) if it is there.
(function () {
  'use strict';

  // ---------------------------------------------------------------- texts
  // The texts come from strings.js (loaded before this file): `window.MadoguchiPreEntryStrings`,
  // `{ <code>: { name, lang, strings: { 'preEntry.…': text } } }`, made by madoguchi from
  // config/languages (`madoguchi pre-entry publish`, or /static/pre-entry/strings.js on the
  // appliance), Japanese first. A key a language lacks is shown in Japanese. Without strings.js
  // (the file missing or broken) the page still works, in Japanese, with the texts below: the
  // same as config/languages/ja.yaml as shipped (test/unit/pre-entry-strings.test.ts keeps them so).
  // `{n}`-style parts are filled in by the page.
  var BUILT_IN_JA = {
    'preEntry.title': '窓口の手続きの事前入力',
    'preEntry.intro':
      '窓口に来る前に、届出や証明書の請求の内容をスマートフォンで入力しておけます。窓口で QR コードを見せると、職員が読み取って、一緒に確かめます。',
    'preEntry.privacy': '入力した内容は、この端末の外へは送信されません。窓口で QR コードを見せたときに、職員がその場で読み取ります。',
    'preEntry.chooseType': '手続きを選んでください',
    'preEntry.type.moveIn': '転入届',
    'preEntry.type.moveIn.help': 'ほかの市区町村から引っ越してきた',
    'preEntry.type.relocation': '転居届',
    'preEntry.type.relocation.help': '同じ市区町村の中で引っ越した',
    'preEntry.type.moveOut': '転出届',
    'preEntry.type.moveOut.help': 'ほかの市区町村へ引っ越す',
    'preEntry.type.certificateRequest': '証明書の請求',
    'preEntry.type.certificateRequest.help': '住民票の写し、印鑑登録証明書、税の証明など',
    'preEntry.field.effectiveDate.moveIn': '住み始めた日',
    'preEntry.field.effectiveDate.relocation': '引っ越した日',
    'preEntry.field.effectiveDate.moveOut': '引っ越す日 (予定)',
    'preEntry.field.previousAddress.moveIn': '前の住所 (転出証明書のとおり)',
    'preEntry.field.previousAddress.relocation': '今までの住所',
    'preEntry.field.newAddress': '新しい住所 (建物の名前・部屋番号まで)',
    'preEntry.field.nextAddress': '引っ越し先の住所',
    'preEntry.honsekiSection': '本籍・筆頭者 (日本国籍の方。わかれば)',
    'preEntry.field.honseki': '本籍',
    'preEntry.field.hittousha': '筆頭者',
    'preEntry.persons.moveIn': '引っ越してきた人',
    'preEntry.persons.relocation': '引っ越した人',
    'preEntry.persons.moveOut': '引っ越す人',
    'preEntry.person': '{n} 人目',
    'preEntry.field.name': '氏名',
    'preEntry.field.name.help': '住民票や転出証明書と同じ字で (旧字体もそのまま)',
    'preEntry.field.nameKana': 'フリガナ',
    'preEntry.field.birthDate': '生年月日',
    'preEntry.field.sex': '性別',
    'preEntry.sex.male': '男',
    'preEntry.sex.female': '女',
    'preEntry.field.relationship': '続柄 (世帯主から見て)',
    'preEntry.relationship.other': 'その他・わからない (窓口で)',
    'preEntry.relationship.head': '世帯主',
    'preEntry.relationship.wife': '妻',
    'preEntry.relationship.husband': '夫',
    'preEntry.relationship.child': '子',
    'preEntry.relationship.father': '父',
    'preEntry.relationship.mother': '母',
    'preEntry.relationship.grandchild': '孫',
    'preEntry.relationship.sibling': '兄弟姉妹',
    'preEntry.relationship.cohabitant': '同居人',
    'preEntry.isHead': 'この人が世帯主',
    'preEntry.headNone': '世帯主はこの中にいない (すでにある世帯に入る)',
    'preEntry.addPerson': '人を追加',
    'preEntry.removePerson': 'この人を削除',
    'preEntry.field.relation': 'どなたの証明書ですか',
    'preEntry.relation.self': '自分の証明書',
    'preEntry.relation.household': '同じ世帯の家族の証明書',
    'preEntry.relation.proxy': '頼まれて取りに来た (委任状が必要です)',
    'preEntry.requester': '証明書に載る人',
    'preEntry.certificates': '請求する証明書',
    'preEntry.line': '{n} 件目',
    'preEntry.field.certificateType': '種類',
    'preEntry.field.copies': '通数',
    'preEntry.field.purpose': '使いみち',
    'preEntry.field.year': '年度 (西暦)',
    'preEntry.addLine': '証明書を追加',
    'preEntry.removeLine': 'この証明書を削除',
    'preEntry.choose': '選んでください',
    'preEntry.certificate.residentCopy': '住民票の写し',
    'preEntry.certificate.residentEntry': '住民票記載事項証明',
    'preEntry.certificate.sealCertificate': '印鑑登録証明書',
    'preEntry.certificate.kosekiFull': '戸籍全部事項証明 (謄本)',
    'preEntry.certificate.kosekiIndividual': '戸籍個人事項証明 (抄本)',
    'preEntry.certificate.kosekiRemoved': '除籍・改製原戸籍',
    'preEntry.certificate.kosekiAttachment': '戸籍の附票の写し',
    'preEntry.certificate.incomeTax': '所得・課税証明',
    'preEntry.certificate.taxPayment': '納税証明',
    'preEntry.certificate.lightVehicleTax': '軽自動車税納税証明 (継続検査用)',
    'preEntry.certificate.propertyTax': '資産税証明 (評価・公課)',
    'preEntry.purpose.self': '本人の手続き',
    'preEntry.purpose.pension': '年金の請求',
    'preEntry.purpose.childSupport': '児童扶養手当の申請',
    'preEntry.purpose.employment': '就職',
    'preEntry.purpose.bank': '金融機関',
    'preEntry.purpose.inheritance': '相続',
    'preEntry.purpose.other': 'その他',
    'preEntry.remember': 'この端末に入力内容を保存する (次に開いたとき続きから入力できます)',
    'preEntry.noStorage': 'この端末 (ブラウザ) では保存できません。',
    'preEntry.clear': '消去',
    'preEntry.clearConfirm': '入力した内容をすべて消去しますか？',
    'preEntry.show': 'QR コードを表示',
    'preEntry.errorsSummary': '入力を確かめてください ({n} 件)',
    'preEntry.error.required': '入力してください',
    'preEntry.error.choose': '選んでください',
    'preEntry.error.date': '日付を正しく入力してください',
    'preEntry.error.sex': '性別を選んでください',
    'preEntry.error.text': '使えない文字 (改行など) があります',
    'preEntry.error.tooLong': '長すぎます',
    'preEntry.error.tooMany': '多すぎます',
    'preEntry.error.head': '世帯主は 1 人だけ選べます',
    'preEntry.error.copies': '1 から 20 までの数を入力してください',
    'preEntry.error.year': '西暦 4 桁で入力してください',
    'preEntry.error.invalid': '入力を確かめてください',
    'preEntry.error.tooLarge': '入力が多すぎて QR コードにできません。人数を分けて作ってください。',
    'preEntry.codesTitle': '窓口でこの QR コードを見せてください',
    'preEntry.codesHelp': 'QR コードは {total} 個あります。どの順番でもかまいません。読み取りやすいように画面を明るくしてください。',
    'preEntry.codeCaption': '{n}/{total}',
    'preEntry.codeAlt': 'QR コード {n}/{total}',
    'preEntry.back': '入力に戻る',
  };

  function hasOwn(o, k) {
    return Object.prototype.hasOwnProperty.call(o, k);
  }

  /** The languages of strings.js that have texts, Japanese first (the built-in texts when it has none). */
  function readLanguages(given) {
    var codes = [];
    var byCode = {};
    if (given && typeof given === 'object')
      for (var code in given)
        if (
          hasOwn(given, code) &&
          given[code] &&
          typeof given[code] === 'object' &&
          given[code].strings &&
          typeof given[code].strings === 'object'
        ) {
          byCode[code] = given[code];
          if (code === 'ja') codes.unshift(code);
          else codes.push(code);
        }
    if (!byCode.ja) {
      byCode.ja = { name: '日本語', lang: 'ja', strings: BUILT_IN_JA };
      codes.unshift('ja');
    }
    return { codes: codes, byCode: byCode };
  }
  var LANGUAGES = readLanguages(window.MadoguchiPreEntryStrings);
  // Every text of the page, by language (each language's own texts only).
  var STRINGS = {};
  LANGUAGES.codes.forEach(function (code) {
    STRINGS[code] = LANGUAGES.byCode[code].strings;
  });

  // ---------------------------------------------------------------- choices
  // Certificate and purpose ids are those of the server's config/fees.yaml: a municipality that
  // changes its list there changes it here too (the counter refuses an id it does not know).
  var CERTIFICATE_TYPES = [
    { id: 'residentCopy' },
    { id: 'residentEntry' },
    { id: 'sealCertificate' },
    { id: 'kosekiFull' },
    { id: 'kosekiIndividual' },
    { id: 'kosekiRemoved' },
    { id: 'kosekiAttachment' },
    { id: 'incomeTax', year: true },
    { id: 'taxPayment', year: true },
    { id: 'lightVehicleTax' },
    { id: 'propertyTax', year: true },
  ];
  var PURPOSES = ['self', 'pension', 'childSupport', 'employment', 'bank', 'inheritance', 'other'];
  // 続柄 as the register writes them (the value) and the key of their label.
  var RELATIONSHIPS = [
    ['世帯主', 'head'],
    ['妻', 'wife'],
    ['夫', 'husband'],
    ['子', 'child'],
    ['父', 'father'],
    ['母', 'mother'],
    ['孫', 'grandchild'],
    ['兄弟姉妹', 'sibling'],
    ['同居人', 'cohabitant'],
  ];
  var NOTICE_TYPES = ['moveIn', 'relocation', 'moveOut'];
  var STORAGE_KEY = 'madoguchi.preEntry.v1';

  var codec = MadoguchiPreEntry;

  // ---------------------------------------------------------------- language

  /** Android may name Filipino by its older code. */
  var ALIASES = { tl: 'fil' };

  /**
   * The language: `?lang=` if the page has it, else the phone's languages in its order of
   * preference; a code matches whole (zh-CN), or by its first part (pt-BR → pt, ja-JP → ja).
   */
  function pickLanguage() {
    var m = /[?&]lang=([A-Za-z-]+)/.exec(window.location.search);
    var wanted = [];
    if (m) wanted.push(m[1]);
    var nav = window.navigator || {};
    if (nav.languages) for (var i = 0; i < nav.languages.length; i++) wanted.push(nav.languages[i]);
    if (nav.language) wanted.push(nav.language);
    var lower = {};
    var base = {};
    LANGUAGES.codes.forEach(function (code) {
      lower[code.toLowerCase()] = code;
      var b = code.toLowerCase().split('-')[0];
      if (!hasOwn(base, b)) base[b] = code;
    });
    for (var j = 0; j < wanted.length; j++) {
      var w = String(wanted[j]).toLowerCase();
      var first = w.split('-')[0];
      if (hasOwn(ALIASES, first)) first = ALIASES[first];
      if (hasOwn(lower, w)) return lower[w];
      if (hasOwn(lower, first)) return lower[first];
      if (hasOwn(base, first)) return base[first];
    }
    return 'ja';
  }
  var lang = pickLanguage();

  /** The text of `key` in the page's language, else in Japanese (strings.js, then built in); undefined if none. */
  function find(key) {
    var tables = [STRINGS[lang], STRINGS.ja, BUILT_IN_JA];
    for (var i = 0; i < tables.length; i++) if (hasOwn(tables[i], key) && typeof tables[i][key] === 'string') return tables[i][key];
    return undefined;
  }

  function t(key, params) {
    var s = find(key);
    if (s === undefined) s = key;
    if (params)
      s = s.replace(/\{(\w+)\}/g, function (all, name) {
        return params[name] !== undefined ? String(params[name]) : all;
      });
    return s;
  }

  // ---------------------------------------------------------------- state

  function blankPerson() {
    return { name: '', nameKana: '', birthDate: '', sex: '', relationship: '' };
  }
  function blankLine() {
    return { type: '', copies: '1', purpose: '', year: '' };
  }
  function blankState() {
    return {
      type: '',
      effectiveDate: '',
      previousAddress: '',
      newAddress: '',
      nextAddress: '',
      honseki: '',
      hittousha: '',
      members: [blankPerson()],
      head: 0,
      relation: 'self',
      requester: { name: '', nameKana: '', birthDate: '' },
      certificates: [blankLine()],
    };
  }

  /** fn(), or `fallback` when it throws (ES5: a catch clause must name what it catches). */
  function attempt(fn, fallback) {
    try {
      return fn();
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
    } catch (e) {
      return fallback;
    }
  }

  // localStorage may be missing or refused (private browsing, a file opened on some phones).
  var storage = attempt(function () {
    window.localStorage.getItem(STORAGE_KEY);
    return window.localStorage;
  }, null);

  var state = blankState();
  var remember = false;
  if (storage) {
    var saved = attempt(function () {
      return JSON.parse(storage.getItem(STORAGE_KEY) || 'null');
    }, undefined);
    if (saved === undefined) storage.removeItem(STORAGE_KEY);
    else if (saved && typeof saved === 'object') {
      var base = blankState();
      for (var k in base) if (Object.prototype.hasOwnProperty.call(saved, k)) base[k] = saved[k];
      if (!(base.members instanceof Array) || !base.members.length) base.members = [blankPerson()];
      if (!(base.certificates instanceof Array) || !base.certificates.length) base.certificates = [blankLine()];
      state = base;
      remember = true;
    }
  }

  /** Keeps the entry in this phone when the resident asked for it; a full or refused storage is ignored. */
  function save() {
    if (!storage) return;
    attempt(function () {
      if (remember) storage.setItem(STORAGE_KEY, JSON.stringify(state));
      else storage.removeItem(STORAGE_KEY);
    }, null);
  }

  // ---------------------------------------------------------------- DOM helpers

  var app = document.getElementById('app');

  /** el('p', {class: 'x', text: '…'}, [children]) */
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs)
      for (var a in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, a) || attrs[a] === undefined || attrs[a] === null || attrs[a] === false) continue;
        if (a === 'text') e.textContent = attrs[a];
        else if (a === 'className') e.className = attrs[a];
        else if (a === 'value') e.value = attrs[a];
        else if (a === 'checked' || a === 'selected' || a === 'hidden') e[a] = true;
        else e.setAttribute(a, attrs[a] === true ? '' : attrs[a]);
      }
    if (children) for (var i = 0; i < children.length; i++) if (children[i]) e.appendChild(children[i]);
    return e;
  }

  var uid = 0;
  function nextId() {
    uid += 1;
    return 'f' + uid;
  }

  function errorSlot(path) {
    return el('span', { className: 'error', 'data-error-for': path, role: 'alert' });
  }

  /** A labelled text or date input bound to a state path. */
  function textField(label, path, opts) {
    opts = opts || {};
    var id = nextId();
    var input = el('input', {
      id: id,
      type: opts.type || 'text',
      'data-path': path,
      value: get(path) || '',
      autocomplete: opts.autocomplete || 'off',
      inputmode: opts.inputmode,
      maxlength: opts.maxlength,
      placeholder: opts.placeholder,
      'aria-describedby': opts.help ? id + '-help' : undefined,
    });
    var parts = [el('label', { for: id, text: label })];
    if (opts.help) parts.push(el('span', { className: 'help', id: id + '-help', text: opts.help }));
    parts.push(input);
    if (opts.type === 'date') parts.push(el('span', { className: 'wareki', 'data-wareki-for': path }));
    parts.push(errorSlot(path));
    return el('div', { className: 'field', 'data-field': path }, parts);
  }

  function selectField(label, path, options) {
    var id = nextId();
    var select = el(
      'select',
      { id: id, 'data-path': path },
      options.map(function (o) {
        return el('option', { value: o[0], text: o[1], selected: String(get(path)) === o[0] });
      })
    );
    return el('div', { className: 'field', 'data-field': path }, [el('label', { for: id, text: label }), select, errorSlot(path)]);
  }

  function radioGroup(legend, path, options) {
    var name = nextId();
    return el(
      'fieldset',
      { className: 'field radios', 'data-field': path },
      [el('legend', { text: legend })]
        .concat(
          options.map(function (o) {
            var id = nextId();
            return el('label', { for: id, className: 'radio' }, [
              el('input', { type: 'radio', id: id, name: name, value: o[0], 'data-path': path, checked: String(get(path)) === o[0] }),
              el('span', { text: o[1] }),
            ]);
          })
        )
        .concat([errorSlot(path)])
    );
  }

  function button(text, action, opts) {
    opts = opts || {};
    return el('button', {
      type: 'button',
      className: opts.className || 'secondary',
      'data-action': action,
      'data-index': opts.index,
      text: text,
    });
  }

  function get(path) {
    var p = path.split('.');
    var v = state;
    for (var i = 0; i < p.length && v !== undefined && v !== null; i++) v = v[p[i]];
    return v;
  }
  function set(path, value) {
    var p = path.split('.');
    var v = state;
    for (var i = 0; i < p.length - 1; i++) v = v[p[i]];
    v[p[p.length - 1]] = value;
  }

  // ---------------------------------------------------------------- the form

  function typeChooser() {
    return el(
      'fieldset',
      { className: 'types', 'data-field': 'type' },
      [el('legend', { text: t('preEntry.chooseType') })]
        .concat(
          codec.TYPES.map(function (type) {
            var id = 'type-' + type;
            return el('label', { for: id, className: 'type-choice' }, [
              el('input', { type: 'radio', name: 'type', id: id, value: type, 'data-path': 'type', checked: state.type === type }),
              el('span', { className: 'type-name', text: t('preEntry.type.' + type) }),
              el('span', { className: 'type-help', text: t('preEntry.type.' + type + '.help') }),
            ]);
          })
        )
        .concat([errorSlot('type')])
    );
  }

  function personCard(i) {
    var p = 'members.' + i + '.';
    var nodes = [
      el('h3', { text: t('preEntry.person', { n: i + 1 }) }),
      textField(t('preEntry.field.name'), p + 'name', { help: t('preEntry.field.name.help'), autocomplete: i === 0 ? 'name' : 'off' }),
      textField(t('preEntry.field.nameKana'), p + 'nameKana'),
      textField(t('preEntry.field.birthDate'), p + 'birthDate', { type: 'date', placeholder: '1985-01-31' }),
      radioGroup(t('preEntry.field.sex'), p + 'sex', [
        ['1', t('preEntry.sex.male')],
        ['2', t('preEntry.sex.female')],
      ]),
      selectField(
        t('preEntry.field.relationship'),
        p + 'relationship',
        [['', t('preEntry.relationship.other')]].concat(
          RELATIONSHIPS.map(function (r) {
            return [r[0], t('preEntry.relationship.' + r[1])];
          })
        )
      ),
    ];
    if (state.type === 'moveIn') {
      var id = nextId();
      nodes.push(
        el('label', { for: id, className: 'radio head' }, [
          el('input', { type: 'radio', id: id, name: 'head', value: String(i), 'data-path': 'head', checked: state.head === i }),
          el('span', { text: t('preEntry.isHead') }),
        ])
      );
    }
    if (state.members.length > 1) nodes.push(button(t('preEntry.removePerson'), 'removePerson', { index: i }));
    return el('section', { className: 'person', 'data-field': 'members.' + i }, nodes);
  }

  function certificateLine(i) {
    var p = 'certificates.' + i + '.';
    var chosen = null;
    CERTIFICATE_TYPES.forEach(function (c) {
      if (c.id === state.certificates[i].type) chosen = c;
    });
    var nodes = [
      el('h3', { text: t('preEntry.line', { n: i + 1 }) }),
      selectField(
        t('preEntry.field.certificateType'),
        p + 'type',
        [['', t('preEntry.choose')]].concat(
          CERTIFICATE_TYPES.map(function (c) {
            return [c.id, t('preEntry.certificate.' + c.id)];
          })
        )
      ),
      textField(t('preEntry.field.copies'), p + 'copies', { type: 'number', inputmode: 'numeric' }),
      selectField(
        t('preEntry.field.purpose'),
        p + 'purpose',
        [['', t('preEntry.choose')]].concat(
          PURPOSES.map(function (id) {
            return [id, t('preEntry.purpose.' + id)];
          })
        )
      ),
    ];
    if (chosen && chosen.year) nodes.push(textField(t('preEntry.field.year'), p + 'year', { type: 'number', inputmode: 'numeric' }));
    if (state.certificates.length > 1) nodes.push(button(t('preEntry.removeLine'), 'removeLine', { index: i }));
    return el('section', { className: 'line', 'data-field': 'certificates.' + i }, nodes);
  }

  function noticeFields(type) {
    var nodes = [textField(t('preEntry.field.effectiveDate.' + type), 'effectiveDate', { type: 'date', placeholder: '2026-04-01' })];
    if (type === 'moveIn' || type === 'relocation')
      nodes.push(textField(t('preEntry.field.previousAddress.' + type), 'previousAddress', { autocomplete: 'off' }));
    if (type === 'moveIn' || type === 'relocation') nodes.push(textField(t('preEntry.field.newAddress'), 'newAddress'));
    if (type === 'moveOut') nodes.push(textField(t('preEntry.field.nextAddress'), 'nextAddress'));
    if (type === 'moveIn')
      nodes.push(
        el('details', { className: 'honseki', open: state.honseki || state.hittousha ? true : undefined }, [
          el('summary', { text: t('preEntry.honsekiSection') }),
          textField(t('preEntry.field.honseki'), 'honseki'),
          textField(t('preEntry.field.hittousha'), 'hittousha'),
        ])
      );
    nodes.push(el('h2', { text: t('preEntry.persons.' + type) }));
    for (var i = 0; i < state.members.length; i++) nodes.push(personCard(i));
    if (type === 'moveIn') {
      var id = nextId();
      nodes.push(
        el('label', { for: id, className: 'radio head head-none' }, [
          el('input', { type: 'radio', id: id, name: 'head', value: '-1', 'data-path': 'head', checked: state.head === -1 }),
          el('span', { text: t('preEntry.headNone') }),
        ])
      );
    }
    nodes.push(el('span', { className: 'error', 'data-error-for': 'members', role: 'alert' }));
    if (state.members.length < codec.MAX_MEMBERS) nodes.push(button(t('preEntry.addPerson'), 'addPerson'));
    return nodes;
  }

  function certificateFields() {
    var nodes = [
      radioGroup(t('preEntry.field.relation'), 'relation', [
        ['self', t('preEntry.relation.self')],
        ['household', t('preEntry.relation.household')],
        ['proxy', t('preEntry.relation.proxy')],
      ]),
      el('h2', { text: t('preEntry.requester') }),
      textField(t('preEntry.field.name'), 'requester.name', { help: t('preEntry.field.name.help') }),
      textField(t('preEntry.field.nameKana'), 'requester.nameKana'),
      textField(t('preEntry.field.birthDate'), 'requester.birthDate', { type: 'date', placeholder: '1985-01-31' }),
      el('h2', { text: t('preEntry.certificates') }),
    ];
    for (var i = 0; i < state.certificates.length; i++) nodes.push(certificateLine(i));
    nodes.push(el('span', { className: 'error', 'data-error-for': 'certificates', role: 'alert' }));
    if (state.certificates.length < codec.MAX_CERTIFICATE_LINES) nodes.push(button(t('preEntry.addLine'), 'addLine'));
    return nodes;
  }

  function render(focusPath) {
    uid = 0;
    app.innerHTML = '';
    var rememberId = 'remember';
    var form = el('form', { id: 'pre-entry-form', novalidate: true }, [
      el('p', { className: 'intro', text: t('preEntry.intro') }),
      el('p', { className: 'privacy', id: 'privacy', text: t('preEntry.privacy') }),
      el('div', { className: 'summary', id: 'error-summary', role: 'alert', tabindex: '-1', hidden: true }),
      typeChooser(),
    ]);
    if (state.type) {
      var section = el(
        'div',
        { className: 'details' },
        state.type === 'certificateRequest' ? certificateFields() : noticeFields(state.type)
      );
      form.appendChild(section);
      form.appendChild(
        el('div', { className: 'keep' }, [
          el('label', { for: rememberId, className: 'check' }, [
            el('input', { type: 'checkbox', id: rememberId, checked: remember, disabled: storage ? undefined : true }),
            el('span', { text: t('preEntry.remember') + (storage ? '' : ' ' + t('preEntry.noStorage')) }),
          ]),
          button(t('preEntry.clear'), 'clear', { className: 'danger' }),
        ])
      );
      form.appendChild(el('p', {}, [el('button', { type: 'submit', className: 'primary', id: 'show-codes', text: t('preEntry.show') })]));
    }
    app.appendChild(form);
    app.appendChild(el('section', { id: 'codes', className: 'codes', hidden: true, 'aria-live': 'polite' }));
    updateWareki();
    if (focusPath) {
      var target = app.querySelector('[data-path="' + focusPath + '"]');
      if (target) target.focus();
    }
  }

  function updateWareki() {
    var spans = app.querySelectorAll('[data-wareki-for]');
    for (var i = 0; i < spans.length; i++) {
      var v = get(spans[i].getAttribute('data-wareki-for'));
      spans[i].textContent = lang === 'ja' && v && codec.isCalendarDate(v) ? codec.formatWareki(v) : '';
    }
  }

  // ---------------------------------------------------------------- events

  app.addEventListener('input', onChange);
  app.addEventListener('change', onChange);
  function onChange(e) {
    var target = e.target;
    if (target.id === 'remember') {
      remember = target.checked;
      save();
      return;
    }
    var path = target.getAttribute('data-path');
    if (!path) return;
    if (target.type === 'radio' && !target.checked) return;
    var value = target.value;
    if (path === 'head') value = Number(value);
    if (get(path) === value) return;
    set(path, value);
    save();
    clearError(path);
    if (path === 'type' || /^certificates\.\d+\.type$/.test(path)) render(path === 'type' ? null : path);
    else updateWareki();
  }

  app.addEventListener('click', function (e) {
    var b = e.target;
    while (b && b !== app && !b.getAttribute('data-action')) b = b.parentNode;
    if (!b || b === app) return;
    var action = b.getAttribute('data-action');
    var i = Number(b.getAttribute('data-index'));
    if (action === 'addPerson') {
      state.members.push(blankPerson());
      save();
      render('members.' + (state.members.length - 1) + '.name');
    } else if (action === 'removePerson') {
      state.members.splice(i, 1);
      if (state.head === i) state.head = 0;
      else if (state.head > i) state.head -= 1;
      save();
      render();
    } else if (action === 'addLine') {
      state.certificates.push(blankLine());
      save();
      render('certificates.' + (state.certificates.length - 1) + '.type');
    } else if (action === 'removeLine') {
      state.certificates.splice(i, 1);
      save();
      render();
    } else if (action === 'clear') {
      if (!window.confirm(t('preEntry.clearConfirm'))) return;
      state = blankState();
      remember = false;
      save();
      render();
    } else if (action === 'back') {
      document.getElementById('codes').hidden = true;
      document.getElementById('pre-entry-form').hidden = false;
      var show = document.getElementById('show-codes');
      if (show) show.focus();
    }
  });

  app.addEventListener('submit', function (e) {
    e.preventDefault();
    showCodes();
  });

  // ---------------------------------------------------------------- data, checks and codes

  function trimmed(s) {
    return typeof s === 'string' ? s.replace(/^[\s\u3000]+|[\s\u3000]+$/g, '') : '';
  }

  /** The state as the payload: empty fields left out, texts trimmed (never otherwise changed). */
  function payload() {
    var d = { type: state.type };
    function put(obj, key, value) {
      if (value !== '' && value !== undefined) obj[key] = value;
    }
    if (state.type === 'certificateRequest') {
      put(d, 'relation', state.relation);
      var r = {};
      put(r, 'name', trimmed(state.requester.name));
      put(r, 'nameKana', trimmed(state.requester.nameKana));
      put(r, 'birthDate', trimmed(state.requester.birthDate));
      d.requester = r;
      d.certificates = state.certificates.map(function (l) {
        var line = { type: l.type, copies: Number(l.copies) };
        put(line, 'purpose', l.purpose);
        var c = null;
        CERTIFICATE_TYPES.forEach(function (x) {
          if (x.id === l.type) c = x;
        });
        if (c && c.year && trimmed(String(l.year))) line.year = Number(l.year);
        return line;
      });
      return d;
    }
    put(d, 'effectiveDate', trimmed(state.effectiveDate));
    var fields = state.type === 'moveOut' ? ['nextAddress'] : ['previousAddress', 'newAddress'];
    if (state.type === 'moveIn') fields = fields.concat(['honseki', 'hittousha']);
    fields.forEach(function (f) {
      put(d, f, trimmed(state[f]));
    });
    d.members = state.members.map(function (m, i) {
      var out = {};
      put(out, 'name', trimmed(m.name));
      put(out, 'nameKana', trimmed(m.nameKana));
      put(out, 'birthDate', trimmed(m.birthDate));
      put(out, 'sex', m.sex);
      put(out, 'relationship', m.relationship);
      if (state.type === 'moveIn' && state.head === i) out.head = true;
      return out;
    });
    return d;
  }

  /** What the page asks for besides the codec's checks: the dates and sexes the counter needs. */
  function pageChecks(d) {
    var errors = [];
    if (d.type === 'certificateRequest') {
      d.certificates.forEach(function (l, i) {
        if (l.type && !l.purpose) errors.push({ field: 'certificates.' + i + '.purpose', code: 'choose' });
        var c = null;
        CERTIFICATE_TYPES.forEach(function (x) {
          if (x.id === l.type) c = x;
        });
        if (c && c.year && l.year === undefined) errors.push({ field: 'certificates.' + i + '.year', code: 'year' });
      });
      return errors;
    }
    if (!d.effectiveDate) errors.push({ field: 'effectiveDate', code: 'required' });
    if (d.type === 'relocation' && !d.previousAddress) errors.push({ field: 'previousAddress', code: 'required' });
    d.members.forEach(function (m, i) {
      if (!m.birthDate) errors.push({ field: 'members.' + i + '.birthDate', code: 'required' });
      if (!m.sex) errors.push({ field: 'members.' + i + '.sex', code: 'sex' });
    });
    return errors;
  }

  /** A field changed: its message goes, and the summary counts what is left (or goes too). */
  function clearError(path) {
    var slot = app.querySelector('[data-error-for="' + path + '"]');
    if (slot) slot.textContent = '';
    var summary = document.getElementById('error-summary');
    if (!summary || summary.hidden) return;
    var left = 0;
    var slots = app.querySelectorAll('[data-error-for]');
    for (var i = 0; i < slots.length; i++) if (slots[i].textContent) left++;
    if (left) summary.textContent = t('preEntry.errorsSummary', { n: left });
    else summary.hidden = true;
  }

  function showErrors(errors) {
    var slots = app.querySelectorAll('[data-error-for]');
    for (var i = 0; i < slots.length; i++) slots[i].textContent = '';
    var seen = {};
    var first = null;
    errors.forEach(function (e) {
      if (seen[e.field]) return;
      seen[e.field] = true;
      var field = e.field;
      var slot = app.querySelector('[data-error-for="' + field + '"]');
      // A problem of a whole person or line goes beside its first field.
      while (!slot && field.indexOf('.') > 0) {
        field = field.slice(0, field.lastIndexOf('.'));
        slot = app.querySelector('[data-error-for="' + field + '"]');
      }
      if (slot) slot.textContent = find('preEntry.error.' + e.code) || t('preEntry.error.invalid');
      if (!first) first = app.querySelector('[data-path="' + e.field + '"]');
    });
    var summary = document.getElementById('error-summary');
    summary.textContent = t('preEntry.errorsSummary', { n: errors.length });
    summary.hidden = false;
    (first || summary).focus();
  }

  function showCodes() {
    var summary = document.getElementById('error-summary');
    if (!state.type) {
      showErrors([{ field: 'type', code: 'choose' }]);
      return;
    }
    var d = payload();
    var errors = codec.validate(d).concat(pageChecks(d));
    if (errors.length) {
      showErrors(errors);
      return;
    }
    var parts;
    try {
      parts = codec.encode(d);
    } catch (e) {
      showErrors([{ field: 'type', code: e && e.code === 'tooLarge' ? 'tooLarge' : 'invalid' }]);
      return;
    }
    summary.hidden = true;
    var codes = document.getElementById('codes');
    codes.innerHTML = '';
    codes.appendChild(el('h2', { text: t('preEntry.codesTitle'), tabindex: '-1', id: 'codes-title' }));
    codes.appendChild(el('p', { text: t('preEntry.codesHelp', { total: parts.length }) }));
    var width = Math.min((document.documentElement.clientWidth || 360) - 24, 520);
    var ratio = window.devicePixelRatio || 1;
    parts.forEach(function (text, i) {
      var qr = qrcode(0, 'M');
      qr.addData(text, 'Alphanumeric');
      qr.make();
      var modules = qr.getModuleCount() + 8; // 4 modules of quiet zone on each side
      var cell = Math.max(2, Math.floor((width * ratio) / modules));
      var img = el('img', {
        src: qr.createDataURL(cell, cell * 4),
        alt: t('preEntry.codeAlt', { n: i + 1, total: parts.length }),
        className: 'qr',
        'data-part': String(i + 1),
      });
      img.width = Math.round((cell * modules) / ratio);
      img.height = img.width;
      codes.appendChild(
        el('figure', { className: 'code' }, [img, el('figcaption', { text: t('preEntry.codeCaption', { n: i + 1, total: parts.length }) })])
      );
    });
    codes.appendChild(el('p', { className: 'privacy', text: t('preEntry.privacy') }));
    codes.appendChild(el('p', {}, [button(t('preEntry.back'), 'back')]));
    document.getElementById('pre-entry-form').hidden = true;
    codes.hidden = false;
    document.getElementById('codes-title').focus();
    window.scrollTo(0, 0);
  }

  // ---------------------------------------------------------------- start

  document.documentElement.lang = LANGUAGES.byCode[lang].lang || lang;
  document.title = t('preEntry.title');
  document.getElementById('title').textContent = t('preEntry.title');
  // The municipality's name, when ja.yaml has one (preEntry.municipality; it is optional).
  var municipality = document.getElementById('municipality');
  if (municipality && find('preEntry.municipality')) {
    municipality.textContent = find('preEntry.municipality');
    municipality.hidden = false;
  }
  var languages = document.getElementById('languages');
  if (languages && LANGUAGES.codes.length > 1)
    LANGUAGES.codes.forEach(function (code) {
      var l = LANGUAGES.byCode[code];
      var name = String(l.name || code);
      var tag = l.lang || code;
      if (code === lang) languages.appendChild(el('span', { className: 'current', lang: tag, text: name }));
      else languages.appendChild(el('a', { href: '?lang=' + code, lang: tag, hreflang: tag, text: name }));
    });
  render();
  // For the tests and for anyone translating: the texts the page uses.
  window.MadoguchiPreEntryPage = { STRINGS: STRINGS, languages: LANGUAGES.codes, language: lang, NOTICE_TYPES: NOTICE_TYPES };
})();
