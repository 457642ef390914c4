/**
 * The texts of the resident's pre-entry page (server/static/pre-entry/) as the page reads them:
 * `strings.js`, a script that sets `window.MadoguchiPreEntryStrings` before pre-entry.js runs.
 * Made from config/languages (the `preEntry.*` keys) by the appliance's route
 * `/static/pre-entry/strings.js` on each request, and by `madoguchi pre-entry publish` into the
 * folder a municipality puts on its website.
 *
 * Each language carries only its own texts: a key it lacks is left out, and the page shows the
 * Japanese text instead (so what falls back is exactly what `madoguchi languages check` lists).
 */
import { BASE_LANGUAGE, type LanguageInfo, type Languages } from './languages.js';

/** The key group of the page's texts. */
export const PRE_ENTRY_PREFIX = 'preEntry.';

/** One language of strings.js. */
export interface PreEntryLanguage {
  /** The language's own name, for the page's language links (한국어, नेपाली). */
  name: string;
  /** The page's `lang` attribute: the code, or the file's `locale:` when the code is no BCP 47 tag as written (ja-easy → ja). */
  lang: string;
  /** key (`preEntry.…`) → text, with `{n}`-style placeholders left for the page. */
  strings: Record<string, string>;
}

/**
 * The language code as the page's `lang`, when it is a BCP 47 tag as written (en, zh-CN, fil);
 * otherwise the file's `locale:` — `ja-easy` reads as Japanese in a script named "Easy" (ja-Easy),
 * so やさしい日本語 is `ja`.
 */
function htmlLang(info: LanguageInfo): string {
  try {
    if (Intl.getCanonicalLocales(info.code)[0] === info.code) return info.code;
  } catch {
    // not a tag at all: the locale
  }
  return info.locale;
}

/** The languages of config/languages with their own pre-entry texts, Japanese first (the loader's order). */
export function preEntryStrings(languages: Languages): Record<string, PreEntryLanguage> {
  const keys = languages.keys.filter((k) => k.startsWith(PRE_ENTRY_PREFIX));
  const out: Record<string, PreEntryLanguage> = {};
  for (const code of languages.codes) {
    const strings: Record<string, string> = {};
    for (const key of keys) {
      const found = languages.lookup(code, key);
      if (found.from === code || code === BASE_LANGUAGE) strings[key] = found.text;
    }
    const info = languages.info(code);
    out[code] = { name: info.name, lang: htmlLang(info), strings };
  }
  return out;
}

/**
 * The text of strings.js. Plain ES5 (a JSON object literal), with U+2028 and U+2029 escaped: old
 * browsers do not allow them unescaped inside a string literal.
 */
export function preEntryStringsScript(languages: Languages): string {
  const json = JSON.stringify(preEntryStrings(languages), null, 2).replace(/[\u2028\u2029]/g, (c) =>
    c === '\u2028' ? '\\u2028' : '\\u2029',
  );
  return (
    '// 事前入力ページの文言。まどぐちが config/languages/<言語コード>.yaml の preEntry.* から作ったファイルです。\n' +
    '// 文言を直すときは config/languages を直して、`madoguchi pre-entry publish <フォルダー>` で作り直してください。\n' +
    '// ある言語にない文は、ページが日本語で表示します。\n' +
    `window.MadoguchiPreEntryStrings = ${json};\n`
  );
}
