// 事前入力の QR コード: the payload codec shared by the resident's page (pre-entry.js, on a phone)
// and the counter (pre-entry-counter.js, and the tests in Node). Plain ES5, no dependencies: in a
// browser it is `window.MadoguchiPreEntry`; in Node `require`/`import` it (the package.json beside
// this file makes it CommonJS).
//
// One code's text (all ASCII, upper case, digits and '-': what a USB 2D scanner in keyboard mode
// types the same on a JIS and a US layout, with Caps Lock on or off, and QR alphanumeric mode):
//
//   MDG1-K7QX2P-2-3-9F3A2B1C-GEZDGNBVGY3TQOJQ…-04C11DB7
//   │   │      │ │ │        │                 └ CRC-32 of everything before it (this code alone)
//   │   │      │ │ │        └ this code's share of the data (base32, RFC 4648, no padding)
//   │   │      │ │ └ CRC-32 of the whole data (UTF-8 JSON): the same in every code of the set
//   │   │      │ └ how many codes the set has
//   │   │      └ which code this is (from 1)
//   │   └ message id: 6 random base32 characters, the same in every code of the set
//   └ prefix and payload version
//
// The data: JSON in UTF-8, never normalised (髙, 𠮷 and IVS sequences come back exactly).
(function (root, factory) {
  var api = factory();
  if (typeof module === 'object' && module && module.exports) module.exports = api;
  else root.MadoguchiPreEntry = api;
})(this, function () {
  'use strict';

  var VERSION = 1;
  var PREFIX = 'MDG';
  /** Characters of one code at most, header and checks included: a version 13 QR code (69 modules) at level M. */
  var MAX_PART_CHARS = 460;
  /** Codes of one set at most: a household of 20 with long addresses fits in far fewer. */
  var MAX_PARTS = 16;
  /** Longest scanned text looked at (a part is at most MAX_PART_CHARS; anything longer is not ours). */
  var MAX_SCAN_CHARS = 4000;
  var ID_CHARS = 6;
  var MAX_MEMBERS = 20;
  var MAX_CERTIFICATE_LINES = 5;
  var MAX_COPIES = 20;

  var TYPES = ['moveIn', 'relocation', 'moveOut', 'certificateRequest'];
  var TYPE_LABELS = { moveIn: '転入届', relocation: '転居届', moveOut: '転出届', certificateRequest: '証明書の請求' };
  var RELATIONS = ['self', 'household', 'proxy'];
  /** Fields each type may carry besides `type`, and the longest text of each (in characters). */
  var TEXT_LIMITS = {
    previousAddress: 200,
    newAddress: 200,
    nextAddress: 200,
    honseki: 200,
    hittousha: 100,
    name: 100,
    nameKana: 100,
    relationship: 20,
  };
  var FIELDS = {
    moveIn: ['effectiveDate', 'previousAddress', 'newAddress', 'honseki', 'hittousha', 'members'],
    relocation: ['effectiveDate', 'previousAddress', 'newAddress', 'members'],
    moveOut: ['effectiveDate', 'nextAddress', 'members'],
    certificateRequest: ['relation', 'requester', 'certificates'],
  };
  var REQUIRED = {
    moveIn: ['previousAddress', 'newAddress', 'members'],
    relocation: ['newAddress', 'members'],
    moveOut: ['nextAddress', 'members'],
    certificateRequest: ['requester', 'certificates'],
  };
  var MEMBER_FIELDS = ['name', 'nameKana', 'birthDate', 'sex', 'relationship', 'head'];
  var REQUESTER_FIELDS = ['name', 'nameKana', 'birthDate'];
  var LINE_FIELDS = ['type', 'copies', 'purpose', 'year'];
  /** Japanese names of the fields, for the messages at the counter. */
  var LABELS = {
    type: '手続き',
    effectiveDate: '異動日',
    previousAddress: '従前の住所',
    newAddress: '新しい住所',
    nextAddress: '転出先の住所',
    honseki: '本籍',
    hittousha: '筆頭者',
    members: '対象者',
    name: '氏名',
    nameKana: 'フリガナ',
    birthDate: '生年月日',
    sex: '性別',
    relationship: '続柄',
    head: '世帯主',
    relation: '請求する人',
    requester: '証明書が必要な人',
    certificates: '請求する証明書',
    copies: '通数',
    purpose: '使いみち',
    year: '年度',
  };

  // ---------------------------------------------------------------- UTF-8 (strict both ways)

  /** UTF-16 text → UTF-8 bytes. A lone surrogate becomes U+FFFD, as TextEncoder does. */
  function utf8Encode(s) {
    var out = [];
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
        var d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    }
    return out;
  }

  /** UTF-8 bytes → text; null for anything that is not well-formed UTF-8 (no replacement). */
  function utf8Decode(bytes) {
    var out = '';
    var i = 0;
    while (i < bytes.length) {
      var b = bytes[i];
      var need;
      var c;
      var min;
      if (b < 0x80) {
        out += String.fromCharCode(b);
        i++;
        continue;
      } else if (b >= 0xc2 && b <= 0xdf) {
        need = 1;
        c = b & 0x1f;
        min = 0x80;
      } else if (b >= 0xe0 && b <= 0xef) {
        need = 2;
        c = b & 0x0f;
        min = 0x800;
      } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3;
        c = b & 0x07;
        min = 0x10000;
      } else return null;
      for (var k = 1; k <= need; k++) {
        var x = bytes[i + k];
        if (x === undefined || (x & 0xc0) !== 0x80) return null;
        c = (c << 6) | (x & 0x3f);
      }
      if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return null;
      if (c >= 0x10000) {
        c -= 0x10000;
        out += String.fromCharCode(0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
      } else out += String.fromCharCode(c);
      i += need + 1;
    }
    return out;
  }

  // ---------------------------------------------------------------- base32 (RFC 4648, no padding)

  var B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

  function base32Encode(bytes) {
    var out = '';
    var buffer = 0;
    var bits = 0;
    for (var i = 0; i < bytes.length; i++) {
      buffer = ((buffer << 8) | bytes[i]) & 0xffff;
      bits += 8;
      while (bits >= 5) {
        out += B32.charAt((buffer >> (bits - 5)) & 31);
        bits -= 5;
      }
    }
    if (bits > 0) out += B32.charAt((buffer << (5 - bits)) & 31);
    return out;
  }

  /** null when the text is not base32 or its last bits are not zero (a changed character). */
  function base32Decode(text) {
    var out = [];
    var buffer = 0;
    var bits = 0;
    for (var i = 0; i < text.length; i++) {
      var v = B32.indexOf(text.charAt(i));
      if (v < 0) return null;
      buffer = ((buffer << 5) | v) & 0xffff;
      bits += 5;
      if (bits >= 8) {
        out.push((buffer >> (bits - 8)) & 0xff);
        bits -= 8;
      }
    }
    if (bits >= 5 || (buffer & ((1 << bits) - 1)) !== 0) return null;
    return out;
  }

  // ---------------------------------------------------------------- CRC-32 (IEEE 802.3, as zlib)

  var CRC_TABLE = (function () {
    var t = [];
    for (var n = 0; n < 256; n++) {
      var c = n;
      for (var k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t.push(c >>> 0);
    }
    return t;
  })();

  /** CRC-32 of bytes (an array of 0–255) or of an ASCII string; 8 upper-case hex digits. */
  function crc32(input) {
    var crc = 0xffffffff;
    var isText = typeof input === 'string';
    for (var i = 0; i < input.length; i++) {
      var b = isText ? input.charCodeAt(i) & 0xff : input[i];
      crc = CRC_TABLE[(crc ^ b) & 0xff] ^ (crc >>> 8);
    }
    var hex = ((crc ^ 0xffffffff) >>> 0).toString(16).toUpperCase();
    while (hex.length < 8) hex = '0' + hex;
    return hex;
  }

  // ---------------------------------------------------------------- validation

  function isCalendarDate(s) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    if (!m) return false;
    var y = Number(m[1]);
    var mo = Number(m[2]);
    var d = Number(m[3]);
    if (y < 1868 || y > 2200 || mo < 1 || mo > 12 || d < 1) return false;
    var days = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    return d <= days[mo - 1];
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

  /** True when the text holds a control character (line ends, tabs, NUL …). */
  function hasControl(s) {
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c < 0x20 || c === 0x7f) return true;
    }
    return false;
  }

  function codePointLength(s) {
    return s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '_').length;
  }

  function isPlainObject(x) {
    return x !== null && typeof x === 'object' && Object.prototype.toString.call(x) === '[object Object]';
  }

  /** `members.1.birthDate` → 「2 人目の生年月日」 */
  function fieldLabel(path) {
    var p = path.split('.');
    if (p[0] === 'members' && p.length === 3) return Number(p[1]) + 1 + ' 人目の' + (LABELS[p[2]] || p[2]);
    if (p[0] === 'certificates' && p.length === 3) return '証明書の ' + (Number(p[1]) + 1) + ' 行目の' + (LABELS[p[2]] || p[2]);
    if (p[0] === 'requester' && p.length === 2) return LABELS.requester + 'の' + (LABELS[p[1]] || p[1]);
    if (p[0] === 'members' && p.length === 2) return Number(p[1]) + 1 + ' 人目';
    if (p[0] === 'certificates' && p.length === 2) return '証明書の ' + (Number(p[1]) + 1) + ' 行目';
    return LABELS[p[0]] || p[0];
  }

  var MESSAGES = {
    required: function (l) {
      return l + 'がありません';
    },
    date: function (l) {
      return l + 'が正しい日付ではありません';
    },
    sex: function (l) {
      return l + 'は 1 (男) か 2 (女) です';
    },
    text: function (l) {
      return l + 'が文字列ではないか、使えない文字 (改行など) を含んでいます';
    },
    tooLong: function (l) {
      return l + 'が長すぎます';
    },
    unknownField: function (l) {
      return '知らない項目「' + l + '」があります';
    },
    unknownType: function () {
      return 'この窓口で扱えない手続きです';
    },
    tooMany: function (l) {
      return l + 'が多すぎます';
    },
    head: function () {
      return '世帯主は 1 人だけ選べます';
    },
    copies: function (l) {
      return l + 'は 1 から ' + MAX_COPIES + ' までの数です';
    },
    year: function (l) {
      return l + 'は西暦 4 桁の年です';
    },
    id: function (l) {
      return l + 'の値が正しくありません';
    },
    invalid: function () {
      return '事前入力の内容として読めません';
    },
  };

  /**
   * Checks the data of one pre-entry; returns [] or the problems, each with `field` (a path such
   * as `members.1.birthDate`), `code` (the page translates it) and a Japanese `message`.
   */
  function validate(data) {
    var errors = [];
    function add(field, code) {
      errors.push({ field: field, code: code, message: MESSAGES[code](fieldLabel(field)) });
    }
    function text(obj, key, path) {
      var v = obj[key];
      if (v === undefined) return;
      if (typeof v !== 'string' || hasControl(v)) add(path, 'text');
      else if (codePointLength(v) > TEXT_LIMITS[key]) add(path, 'tooLong');
    }
    function date(obj, key, path) {
      var v = obj[key];
      if (v !== undefined && (typeof v !== 'string' || !isCalendarDate(v))) add(path, 'date');
    }
    function known(obj, keys, path) {
      for (var k in obj)
        if (Object.prototype.hasOwnProperty.call(obj, k) && keys.indexOf(k) < 0) add(path ? path + '.' + k : k, 'unknownField');
    }
    function filled(v) {
      return v !== undefined && v !== null && v !== '' && !(v instanceof Array && v.length === 0);
    }
    if (!isPlainObject(data)) {
      add('type', 'invalid');
      return errors;
    }
    var type = data.type;
    if (typeof type !== 'string' || TYPES.indexOf(type) < 0) {
      add('type', 'unknownType');
      return errors;
    }
    known(data, ['type'].concat(FIELDS[type]), '');
    REQUIRED[type].forEach(function (f) {
      if (!filled(data[f])) add(f, 'required');
    });
    ['previousAddress', 'newAddress', 'nextAddress', 'honseki', 'hittousha'].forEach(function (f) {
      if (FIELDS[type].indexOf(f) >= 0) text(data, f, f);
    });
    date(data, 'effectiveDate', 'effectiveDate');
    if (type === 'certificateRequest') {
      if (data.relation !== undefined && RELATIONS.indexOf(data.relation) < 0) add('relation', 'id');
      if (data.requester !== undefined) {
        if (!isPlainObject(data.requester)) add('requester', 'invalid');
        else {
          known(data.requester, REQUESTER_FIELDS, 'requester');
          if (!filled(data.requester.name)) add('requester.name', 'required');
          text(data.requester, 'name', 'requester.name');
          text(data.requester, 'nameKana', 'requester.nameKana');
          date(data.requester, 'birthDate', 'requester.birthDate');
        }
      }
      if (data.certificates !== undefined) {
        if (!(data.certificates instanceof Array)) add('certificates', 'invalid');
        else if (data.certificates.length > MAX_CERTIFICATE_LINES) add('certificates', 'tooMany');
        else
          data.certificates.forEach(function (l, i) {
            var p = 'certificates.' + i + '.';
            if (!isPlainObject(l)) return add('certificates.' + i, 'invalid');
            known(l, LINE_FIELDS, 'certificates.' + i);
            if (!filled(l.type)) add(p + 'type', 'required');
            else if (typeof l.type !== 'string' || !/^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(l.type)) add(p + 'type', 'id');
            if (typeof l.copies !== 'number' || l.copies % 1 !== 0 || l.copies < 1 || l.copies > MAX_COPIES) add(p + 'copies', 'copies');
            if (l.purpose !== undefined && (typeof l.purpose !== 'string' || !/^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(l.purpose)))
              add(p + 'purpose', 'id');
            if (l.year !== undefined && (typeof l.year !== 'number' || l.year % 1 !== 0 || l.year < 1900 || l.year > 2200))
              add(p + 'year', 'year');
          });
      }
    } else if (data.members !== undefined) {
      if (!(data.members instanceof Array)) add('members', 'invalid');
      else if (data.members.length > MAX_MEMBERS) add('members', 'tooMany');
      else {
        var heads = 0;
        data.members.forEach(function (m, i) {
          var p = 'members.' + i + '.';
          if (!isPlainObject(m)) return add('members.' + i, 'invalid');
          known(m, MEMBER_FIELDS, 'members.' + i);
          if (!filled(m.name)) add(p + 'name', 'required');
          text(m, 'name', p + 'name');
          text(m, 'nameKana', p + 'nameKana');
          text(m, 'relationship', p + 'relationship');
          date(m, 'birthDate', p + 'birthDate');
          if (m.sex !== undefined && m.sex !== '1' && m.sex !== '2') add(p + 'sex', 'sex');
          if (m.head !== undefined && typeof m.head !== 'boolean') add(p + 'head', 'invalid');
          if (m.head === true) heads++;
        });
        if (heads > 1 || (heads && type !== 'moveIn')) add('members', 'head');
      }
    }
    return errors;
  }

  // ---------------------------------------------------------------- encode

  function randomId() {
    var out = '';
    var c = typeof crypto !== 'undefined' && crypto.getRandomValues ? crypto : null;
    var bytes = c ? c.getRandomValues(new Uint8Array(ID_CHARS)) : null;
    for (var i = 0; i < ID_CHARS; i++) out += B32.charAt((bytes ? bytes[i] : Math.floor(Math.random() * 256)) & 31);
    return out;
  }

  function EncodeError(code, message, errors) {
    this.name = 'EncodeError';
    this.code = code;
    this.message = message;
    this.errors = errors || [];
  }
  EncodeError.prototype = Object.create(Error.prototype);
  EncodeError.prototype.constructor = EncodeError;

  /** Header characters of a part when the set has `total` codes (checks included). */
  function overhead(total) {
    var digits = String(total).length;
    // MDG1 - ID - n - t - CRC - … - CRC
    return (PREFIX + VERSION).length + 1 + ID_CHARS + 1 + digits + 1 + digits + 1 + 8 + 1 + 1 + 8;
  }

  /**
   * The data → the texts of its QR codes (1 or more). Throws an EncodeError (`code` 'invalid'
   * with `errors` as validate() gives them, or 'tooLarge') — nothing is made of data in error.
   * `options.id` fixes the message id (tests); `options.maxPartChars` makes the codes smaller.
   */
  function encode(data, options) {
    options = options || {};
    var errors = validate(data);
    if (errors.length) throw new EncodeError('invalid', errors[0].message, errors);
    var bytes = utf8Encode(JSON.stringify(data));
    var body = base32Encode(bytes);
    var maxChars = Math.min(options.maxPartChars || MAX_PART_CHARS, MAX_PART_CHARS);
    var chunk = maxChars - overhead(MAX_PARTS);
    var total = Math.max(1, Math.ceil(body.length / chunk));
    if (total > MAX_PARTS)
      throw new EncodeError('tooLarge', '入力が多すぎて QR コードにできません (' + MAX_PARTS + ' 個まで)。人数や文字を減らしてください');
    var id = options.id || randomId();
    if (!/^[A-Z2-7]{6}$/.test(id)) throw new EncodeError('invalid', 'message id: 6 characters of A–Z, 2–7');
    var sum = crc32(bytes);
    var parts = [];
    for (var n = 1; n <= total; n++) {
      var head = PREFIX + VERSION + '-' + id + '-' + n + '-' + total + '-' + sum + '-' + body.slice((n - 1) * chunk, n * chunk);
      parts.push(head + '-' + crc32(head));
    }
    return parts;
  }

  // ---------------------------------------------------------------- decode

  var DECODE_MESSAGES = {
    notOurs: 'まどぐちの事前入力の QR コードではありません。',
    ime: '日本語入力 (IME) がオンのまま読み取られました。半角英数に切り替えてから、もう一度読み取ってください。',
    newerVersion:
      'この QR コードは新しい版の事前入力ページで作られています。この窓口の仕組みが更新されるまで読み取れません。内容は画面を見ながら入力してください。',
    olderVersion:
      'この QR コードは古い版の事前入力ページで作られています。事前入力ページを開き直して、QR コードを作り直してもらってください。',
    truncated: 'QR コードの読み取りが途中で切れています。もう一度読み取ってください。',
    tooLarge: 'QR コードの数が多すぎます (' + MAX_PARTS + ' 個まで)。',
    checksum:
      'QR コードの内容が壊れています (チェックサムが合いません)。「やり直す」を押して、最初から読み取ってください。何も入れていません。',
    unknownType: 'この QR コードの手続きは、この窓口では扱えません。',
    invalid: '事前入力の内容に誤りがあるため、入れられません。',
  };

  function fail(code, message, extra) {
    var r = { status: 'error', error: { code: code, message: message || DECODE_MESSAGES[code] } };
    if (extra) for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) r.error[k] = extra[k];
    return r;
  }

  /**
   * The text as a keyboard-mode scanner may deliver it, made plain: surrounding white space and
   * line ends dropped; full-width characters (IME in 全角英数) to ASCII; lower case (Caps Lock)
   * to upper case. null when it still holds other than ASCII (the IME turned it into kana).
   */
  function plainScan(text) {
    var s = String(text).replace(/^\s+|\s+$/g, '');
    if (s.normalize) s = s.normalize('NFKC');
    s = s.replace(/[\u2010-\u2015\u2212\u30fc\uff70]/g, '-').toUpperCase();
    return /^[\x21-\x7e]*$/.test(s) ? s : null;
  }

  /**
   * A decoder for one set of codes at a time: `push(text)` takes what the scanner typed (the
   * codes in any order) and answers one of
   *   { status: 'progress', part, total, received, missing }   – keep scanning
   *   { status: 'duplicate', part, total, received, missing }  – this code was already read
   *   { status: 'complete', data, total, received }   – every code read, checked and valid
   *   { status: 'error', error: { code, message, errors? } }
   * After a wrong checksum or invalid data, the set is forgotten (nothing partial is ever
   * returned); a code of another set, or a damaged code, is refused and the set kept.
   */
  function decoder() {
    var set = null;
    function missing() {
      var out = [];
      for (var i = 0; i < set.total; i++) if (set.parts[i] === undefined) out.push(i + 1);
      return out;
    }
    function progress(status, n) {
      return { status: status, part: n, total: set.total, received: set.count, missing: missing(), id: set.id };
    }
    function push(text) {
      if (typeof text !== 'string' || text.length > MAX_SCAN_CHARS)
        return fail('notOurs', 'QR コードの内容が長すぎます。まどぐちの事前入力の QR コードではありません。');
      var s = plainScan(text);
      if (s === null) return fail('ime');
      if (s === '') return fail('truncated');
      var v = /^MDG(\d+)/.exec(s);
      if (!v) return fail('notOurs');
      var version = Number(v[1]);
      if (version > VERSION) return fail('newerVersion');
      if (version < VERSION) return fail('olderVersion');
      var m = /^MDG\d+-([A-Z2-7]{6})-(\d{1,2})-(\d{1,2})-([0-9A-F]{8})-([A-Z2-7]+)-([0-9A-F]{8})$/.exec(s);
      if (!m) return fail('truncated');
      var n = Number(m[2]);
      var total = Number(m[3]);
      if (total > MAX_PARTS) return fail('tooLarge');
      if (n < 1 || total < 1 || n > total) return fail('truncated');
      if (crc32(s.slice(0, s.length - 9)) !== m[6])
        return fail('truncated', n + '/' + total + ' の QR コードの読み取りに誤りがあります。もう一度読み取ってください。', { part: n });
      var id = m[1];
      if (set && (set.id !== id || set.total !== total || set.sum !== m[4]))
        return fail(
          'mixed',
          '別の組の QR コードが混ざっています (' +
            n +
            '/' +
            total +
            ')。読み取り中の組 (' +
            set.count +
            '/' +
            set.total +
            ' 読み取り済み) を最後まで読み取るか、「やり直す」を押してください。',
          { part: n }
        );
      if (!set) set = { id: id, total: total, sum: m[4], parts: [], count: 0 };
      if (set.parts[n - 1] !== undefined) return progress('duplicate', n);
      set.parts[n - 1] = m[5];
      set.count++;
      if (set.count < set.total) return progress('progress', n);
      var done = set;
      set = null;
      var bytes = base32Decode(done.parts.join(''));
      if (!bytes || crc32(bytes) !== done.sum) return fail('checksum');
      var json = utf8Decode(bytes);
      var data = attempt(function () {
        return json === null ? undefined : JSON.parse(json);
      }, undefined);
      if (data === undefined) return fail('checksum');
      var errors = validate(data);
      if (errors.length) {
        var unknown = errors[0].code === 'unknownType';
        return fail(
          unknown ? 'unknownType' : 'invalid',
          (unknown ? DECODE_MESSAGES.unknownType : DECODE_MESSAGES.invalid) +
            ' ' +
            errors
              .map(function (e) {
                return e.message;
              })
              .join('。') +
            '。',
          { errors: errors }
        );
      }
      return { status: 'complete', data: data, total: done.total, received: done.count, id: done.id };
    }
    return {
      push: push,
      /** Forgets the set being read. */
      reset: function () {
        set = null;
      },
      /** null, or { id, total, received, missing } of the set being read. */
      pending: function () {
        return set ? { id: set.id, total: set.total, received: set.count, missing: missing() } : null;
      },
    };
  }

  // ---------------------------------------------------------------- 和暦 (as the server's domain/wareki.ts)

  var ERAS = [
    ['令和', '2019-05-01'],
    ['平成', '1989-01-08'],
    ['昭和', '1926-12-25'],
    ['大正', '1912-07-30'],
    ['明治', '1868-01-25'],
  ];

  /** `1975-04-01` → `昭和50年4月1日` (year 1 is 元年); anything else is returned as it is. */
  function formatWareki(date) {
    if (!date) return '';
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
    if (!m) return date;
    for (var i = 0; i < ERAS.length; i++)
      if (date >= ERAS[i][1]) {
        var y = Number(m[1]) - Number(ERAS[i][1].slice(0, 4)) + 1;
        return ERAS[i][0] + (y === 1 ? '元' : y) + '年' + Number(m[2]) + '月' + Number(m[3]) + '日';
      }
    return date;
  }

  return {
    VERSION: VERSION,
    MAX_PART_CHARS: MAX_PART_CHARS,
    MAX_PARTS: MAX_PARTS,
    MAX_MEMBERS: MAX_MEMBERS,
    MAX_CERTIFICATE_LINES: MAX_CERTIFICATE_LINES,
    MAX_COPIES: MAX_COPIES,
    TYPES: TYPES,
    TYPE_LABELS: TYPE_LABELS,
    LABELS: LABELS,
    TEXT_LIMITS: TEXT_LIMITS,
    encode: encode,
    decoder: decoder,
    validate: validate,
    fieldLabel: fieldLabel,
    formatWareki: formatWareki,
    isCalendarDate: isCalendarDate,
    crc32: crc32,
    utf8Encode: utf8Encode,
    utf8Decode: utf8Decode,
    base32Encode: base32Encode,
    base32Decode: base32Decode,
    EncodeError: EncodeError,
  };
});
