/**
 * The languages of what residents read (issue 20): the procedure guide, the resident-facing
 * screen and the pre-entry page, as data under `config/languages/<code>.yaml` that a municipality
 * edits and adds to without code. `ja.yaml` holds every key; another language may leave keys out,
 * and they fall back to Japanese (`missing` lists them; `madoguchi languages check` prints them).
 *
 * File format (config/languages/README.md):
 *   code: en               # = the file name
 *   name: English          # the language's own name
 *   font: dejavu-sans      # the font family of the printed guide (i18n/guideFonts.ts)
 *   locale: en-US          # optional: how dates are written (BCP 47; default: code)
 *   calendar: gregorian    # optional: gregorian (default) | wareki (令和8年11月28日)
 *   order: 30              # optional: place in the language lists (default 1000; ja is first)
 *   strings:               # flat: key → text, with {param} placeholders
 *     guide.title: "Guide to your procedures — {town}"
 *     procedures.nhiEnrol.name: National Health Insurance enrolment
 *     procedures.nhiEnrol.bring: [Identity document]
 *
 * Key groups: `guide.*`, `resident.*`, `preEntry.*` (the texts of ja.yaml), and
 * `procedures.<procedureId>.name|guidance|bring` (translations of config/procedures; the Japanese
 * is config/procedures itself, so ja.yaml has none). Errors (file, line, reason) for: an unknown
 * key group, a value of the wrong shape, a placeholder the Japanese text does not have. Keys that
 * Japanese does not have, or procedures that no longer exist, are not errors but `unused`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadAppConfig } from '../config/appConfig.js';
import { ConfigError, loadYaml, type ConfigIssue, type YamlSource } from '../config/yamlFile.js';
import { formatWareki } from '../domain/wareki.js';
import { DomainError } from '../errors/domainError.js';
import { loadProcedures } from '../procedures/config.js';
import { guideFontFamilyNames, type GuideFontFamilyName } from './guideFonts.js';

export const LANGUAGES_DIR = 'languages';
/** The base language: every key is in its file, and every other language falls back to it. */
export const BASE_LANGUAGE = 'ja';
export const keyGroups = ['guide', 'resident', 'preEntry', 'procedures'] as const;
export const procedureFields = ['name', 'guidance', 'bring'] as const;
export type ProcedureField = (typeof procedureFields)[number];

/** The Japanese texts of a procedure (a ProcedureDefinition of config/procedures satisfies it). */
export interface ProcedureText {
  id: string;
  name: string;
  guidance: string;
  bring: readonly string[];
}

export interface LocalizedProcedure {
  name: string;
  guidance: string;
  bring: string[];
  /** The language each text is in: the code asked, or `ja` where it fell back to Japanese. */
  from: Record<ProcedureField, string>;
}

export interface LanguageInfo {
  code: string;
  /** The language's own name (English, 한국어, नेपाली). */
  name: string;
  font: GuideFontFamilyName;
  /** BCP 47 tag for dates (Intl). */
  locale: string;
  calendar: 'gregorian' | 'wareki';
  order: number;
  file: string;
}

export interface Lookup {
  text: string;
  /** The language the text is in (the code asked, or `ja` when it fell back). */
  from: string;
}

export interface Languages {
  /** The language codes, Japanese first, then by `order` and code. */
  readonly codes: readonly string[];
  has(code: string): boolean;
  /** The language's own name (`한국어`); throws for an unknown code. */
  name(code: string): string;
  info(code: string): LanguageInfo;
  /** The Japanese keys (of ja.yaml), sorted. */
  readonly keys: readonly string[];
  /** The procedures whose texts may be translated (config/procedures, or those given to loadLanguages). */
  readonly procedures: readonly ProcedureText[];
  /** The text of `key` in the language, or in Japanese when it has none, with its {params} filled in. */
  t(code: string, key: string, params?: Readonly<Record<string, string | number>>): string;
  /** The raw text (placeholders unfilled) and the language it is in. */
  lookup(code: string, key: string): Lookup;
  /** A procedure's name, guidance and things to bring in the language, each falling back to Japanese. */
  procedure(code: string, procedure: ProcedureText): LocalizedProcedure;
  /** A date (`YYYY-MM-DD`) as the language writes it: 和暦 for ja, the locale's long form otherwise. */
  formatDate(code: string, date: string): string;
  /** Keys the language lacks (they print in Japanese): ja.yaml's keys and the procedures' texts. */
  missing(code: string): string[];
  /** Keys of the language's file that nothing uses (not in ja.yaml, or a procedure that is gone). */
  unused(code: string): string[];
}

type Value = string | string[];

interface LanguageFile {
  code: string;
  name: string;
  font: GuideFontFamilyName;
  locale?: string;
  calendar?: 'gregorian' | 'wareki';
  order?: number;
  strings: Record<string, Value>;
}

const text = { type: 'string', minLength: 1 } as const;
const languageSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['code', 'name', 'font', 'strings'],
  properties: {
    code: { type: 'string', pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$' },
    name: text,
    font: { type: 'string', enum: guideFontFamilyNames },
    locale: text,
    calendar: { type: 'string', enum: ['gregorian', 'wareki'] },
    order: { type: 'integer', minimum: 0 },
    strings: {
      type: 'object',
      additionalProperties: { anyOf: [text, { type: 'array', minItems: 1, items: text }] },
    },
  },
} as const;

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9]*)\}/g;
const GROUP_KEY = /^(guide|resident|preEntry)(\.[A-Za-z][A-Za-z0-9]*)+$/;
const PROCEDURE_KEY = /^procedures\.([a-z][A-Za-z0-9]*)\.(name|guidance|bring)$/;

export function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!))];
}

/** The language files of a config directory (`<code>.yaml`), in name order. */
export function languageFiles(configDir: string): string[] {
  const dir = path.join(configDir, LANGUAGES_DIR);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.yaml') && !e.name.startsWith('.'))
    .map((e) => path.join(dir, e.name))
    .sort();
}

/** The message of a wrong `font:` or `calendar:`, with what is allowed. */
function explain(issue: ConfigIssue): ConfigIssue {
  if (issue.path === 'font' && issue.reason.startsWith('事前に定義された値'))
    return { ...issue, reason: `案内書のフォントの種類ではありません。使えるのは ${guideFontFamilyNames.join(', ')} です` };
  if (issue.path === 'calendar' && issue.reason.startsWith('事前に定義された値'))
    return { ...issue, reason: '使える値ではありません。使えるのは gregorian (西暦), wareki (和暦) です' };
  if (issue.path === 'code' && issue.reason.includes('パターン'))
    return { ...issue, reason: '言語コードは BCP 47 の形 (例: en, zh-CN, ja-easy) で書いてください' };
  if (issue.path.startsWith('strings.') && /anyOf|いずれか/.test(issue.reason))
    return { ...issue, reason: '文字列 (手続きの持ち物 bring は文字列のリスト) でなければいけません' };
  return issue;
}

interface Parsed {
  info: LanguageInfo;
  strings: Map<string, Value>;
}

/**
 * Reads and checks one language file. `base` is ja.yaml's strings (absent while reading ja.yaml
 * itself). Structural checks come from the schema; the key groups, the value shapes and the
 * placeholders from `semantic`.
 */
function readLanguage(file: string, base: Map<string, Value> | null, procedures: ReadonlyMap<string, ProcedureText>): Parsed {
  const expected = path.basename(file, '.yaml');
  const semantic = (v: LanguageFile, src: YamlSource): ConfigIssue[] => {
    const issues: ConfigIssue[] = [];
    if (v.code !== expected) issues.push(src.issue(['code'], `言語コード (${v.code}) がファイル名 (${expected}.yaml) と違います`));
    try {
      Intl.getCanonicalLocales(v.locale ?? v.code);
    } catch {
      issues.push(
        v.locale === undefined
          ? src.issue(['code'], `言語コード ${v.code} は日付の書き方の言語タグとして使えません。locale: (例: ja) を書いてください`)
          : src.issue(['locale'], `日付の書き方の言語タグ (BCP 47) として読めません (${v.locale})`),
      );
    }
    for (const [key, value] of Object.entries(v.strings)) {
      const at = ['strings', key];
      const proc = PROCEDURE_KEY.exec(key);
      if (!proc && !GROUP_KEY.test(key)) {
        const group = key.split('.')[0]!;
        issues.push(
          src.issue(
            at,
            (keyGroups as readonly string[]).includes(group)
              ? `キーの形が違います (${key})。${group === 'procedures' ? 'procedures.<手続きID>.name / guidance / bring' : `${group}.<名前>`} の形で書いてください`
              : `キーの種類がわかりません (${group})。使えるのは ${keyGroups.map((g) => `${g}.`).join(', ')} で始まるキーです`,
          ),
        );
        continue;
      }
      if (proc && !base) {
        issues.push(src.issue(at, '日本語の手続きの名前・案内・持ち物は config/procedures で編集します (ja.yaml には書きません)'));
        continue;
      }
      const isList = proc?.[2] === 'bring';
      if (isList !== Array.isArray(value)) {
        issues.push(
          src.issue(
            at,
            isList
              ? '持ち物は「- 」で始まる行のリスト ([a, b] でも可) で書いてください'
              : '文字列で書いてください (リストは持ち物 bring だけです)',
          ),
        );
        continue;
      }
      if (!base) continue;
      // A translation may leave a placeholder out, but may not use one the Japanese text does not fill.
      const japanese = proc ? procedures.get(proc[1]!)?.[proc[2] as ProcedureField] : base.get(key);
      if (japanese === undefined) continue; // unused (listed by the check), not an error
      const allowed = new Set(placeholders([japanese].flat().join('\n')));
      const texts = [value].flat();
      texts.forEach((t, i) => {
        for (const p of placeholders(t))
          if (!allowed.has(p))
            issues.push(
              src.issue(
                Array.isArray(value) ? [...at, i] : at,
                allowed.size
                  ? `日本語の文にない差し込み {${p}} があります。使えるのは ${[...allowed].map((a) => `{${a}}`).join(', ')} です`
                  : `日本語の文にない差し込み {${p}} があります (この項目に差し込みはありません)`,
              ),
            );
      });
    }
    return issues;
  };
  const v = loadYaml<LanguageFile>(file, languageSchema, semantic);
  return {
    info: {
      code: v.code,
      name: v.name,
      font: v.font,
      locale: v.locale ?? v.code,
      calendar: v.calendar ?? 'gregorian',
      order: v.code === BASE_LANGUAGE ? -1 : (v.order ?? 1000),
      file,
    },
    strings: new Map(Object.entries(v.strings)),
  };
}

/**
 * Reads `<configDir>/languages/*.yaml`. `procedures` are the procedures whose texts may be
 * translated (default: config/procedures, read and checked with municipality.yaml's counters).
 * Throws ConfigError with every issue of every file.
 */
export function loadLanguages(configDir: string, procedures?: readonly ProcedureText[]): Languages {
  const dir = path.join(configDir, LANGUAGES_DIR);
  let files: string[];
  try {
    files = languageFiles(configDir);
  } catch (e) {
    throw new ConfigError([
      { file: dir, path: '', line: 0, column: 0, reason: `言語の設定フォルダーを読めません (${(e as Error).message})` },
    ]);
  }
  const baseFile = path.join(dir, `${BASE_LANGUAGE}.yaml`);
  if (!files.includes(baseFile))
    throw new ConfigError([
      { file: baseFile, path: '', line: 0, column: 0, reason: '日本語の言語ファイル (ja.yaml) がありません。すべてのキーの元になります' },
    ]);
  const procs = procedures ?? loadProcedures(configDir, loadAppConfig(configDir).counters).all;
  const byId = new Map(procs.map((p) => [p.id, p]));

  const issues: ConfigIssue[] = [];
  const collect = <T>(f: () => T): T | null => {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      issues.push(...e.issues.map(explain));
      return null;
    }
  };
  const base = collect(() => readLanguage(baseFile, null, byId));
  // Without a good ja.yaml the others cannot be checked against it: report ja.yaml alone.
  if (!base) throw new ConfigError(issues);
  const parsed = new Map<string, Parsed>([[BASE_LANGUAGE, base]]);
  for (const file of files) {
    if (file === baseFile) continue;
    const p = collect(() => readLanguage(file, base.strings, byId));
    if (p) parsed.set(p.info.code, p);
  }
  if (issues.length) throw new ConfigError(issues);
  return new LanguageSet(parsed, byId);
}

class LanguageSet implements Languages {
  readonly codes: readonly string[];
  readonly keys: readonly string[];
  readonly procedures: readonly ProcedureText[];
  private readonly dates = new Map<string, Intl.DateTimeFormat>();

  constructor(
    private readonly parsed: ReadonlyMap<string, Parsed>,
    private readonly procedureById: ReadonlyMap<string, ProcedureText>,
  ) {
    this.codes = [...parsed.values()]
      .map((p) => p.info)
      .sort((a, b) => a.order - b.order || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0))
      .map((i) => i.code);
    this.keys = [...this.base.strings.keys()].sort();
    this.procedures = [...procedureById.values()];
  }

  private get base(): Parsed {
    return this.parsed.get(BASE_LANGUAGE)!;
  }

  private of(code: string): Parsed {
    const p = this.parsed.get(code);
    if (!p) throw new Error(`言語 ${code} はありません (あるもの: ${this.codes.join(', ')})`);
    return p;
  }

  has(code: string): boolean {
    return this.parsed.has(code);
  }

  info(code: string): LanguageInfo {
    return this.of(code).info;
  }

  name(code: string): string {
    return this.of(code).info.name;
  }

  lookup(code: string, key: string): Lookup {
    const own = this.of(code).strings.get(key);
    if (typeof own === 'string') return { text: own, from: code };
    const ja = this.base.strings.get(key);
    if (typeof ja !== 'string') throw new Error(`言語ファイル ${BASE_LANGUAGE}.yaml にキー ${key} がありません`);
    return { text: ja, from: BASE_LANGUAGE };
  }

  t(code: string, key: string, params: Readonly<Record<string, string | number>> = {}): string {
    return this.lookup(code, key).text.replace(PLACEHOLDER, (whole, name: string) => {
      const v = params[name];
      if (v === undefined) throw new Error(`${key}: 差し込み {${name}} の値が渡されていません`);
      return String(v);
    });
  }

  procedure(code: string, procedure: ProcedureText): LocalizedProcedure {
    const strings = this.of(code).strings;
    const field = <F extends ProcedureField>(f: F): { value: Value | undefined; from: string } => {
      const own = strings.get(`procedures.${procedure.id}.${f}`);
      return own !== undefined ? { value: own, from: code } : { value: undefined, from: BASE_LANGUAGE };
    };
    const name = field('name');
    const guidance = field('guidance');
    const bring = field('bring');
    return {
      name: (name.value as string | undefined) ?? procedure.name,
      guidance: (guidance.value as string | undefined) ?? procedure.guidance,
      bring: (bring.value as string[] | undefined) ?? [...procedure.bring],
      from: { name: name.from, guidance: guidance.from, bring: bring.from },
    };
  }

  formatDate(code: string, date: string): string {
    const info = this.of(code).info;
    if (info.calendar === 'wareki') return formatWareki(date);
    let f = this.dates.get(code);
    if (!f) {
      f = new Intl.DateTimeFormat(info.locale, { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });
      this.dates.set(code, f);
    }
    const [y, m, d] = date.split('-').map(Number);
    return f.format(new Date(Date.UTC(y!, m! - 1, d!)));
  }

  missing(code: string): string[] {
    const strings = this.of(code).strings;
    if (code === BASE_LANGUAGE) return [];
    const out = this.keys.filter((k) => !strings.has(k));
    for (const p of this.procedures) {
      const wanted: [ProcedureField, boolean][] = [
        ['name', true],
        ['guidance', p.guidance.trim() !== ''],
        ['bring', p.bring.length > 0],
      ];
      for (const [f, needed] of wanted) if (needed && !strings.has(`procedures.${p.id}.${f}`)) out.push(`procedures.${p.id}.${f}`);
    }
    return out;
  }

  unused(code: string): string[] {
    if (code === BASE_LANGUAGE) return [];
    return [...this.of(code).strings.keys()].filter((k) => {
      const proc = PROCEDURE_KEY.exec(k);
      return proc ? !this.procedureById.has(proc[1]!) : !this.base.strings.has(k);
    });
  }
}

/**
 * The languages a municipality offers, for a page's language choice: each file's `code` and `name`
 * read from its first lines (no validation: a broken file is reported when it is used or checked,
 * and its line simply does not appear here). Ordered like the loader: Japanese first.
 */
export function languageChoices(configDir: string): { code: string; name: string }[] {
  let files: string[];
  try {
    files = languageFiles(configDir);
  } catch {
    return [{ code: BASE_LANGUAGE, name: '日本語' }];
  }
  const out: { code: string; name: string; order: number }[] = [];
  for (const file of files) {
    const head = readFileSync(file, 'utf8').slice(0, 2000);
    const code = /^code:\s*["']?([A-Za-z-]+)["']?\s*$/m.exec(head)?.[1];
    const name = /^name:\s*["']?([^"'\n#]+?)["']?\s*(#.*)?$/m.exec(head)?.[1];
    const order = Number(/^order:\s*(\d+)/m.exec(head)?.[1] ?? 999);
    if (code && name) out.push({ code, name, order: code === BASE_LANGUAGE ? -1 : order });
  }
  return out.sort((a, b) => a.order - b.order || a.code.localeCompare(b.code)).map(({ code, name }) => ({ code, name }));
}

/**
 * The languages for a request (a print, the resident screen, the pre-entry page's strings.js),
 * read on each call so an edit applies at once. A damaged file refuses the request with the file,
 * line and reason (503), instead of an anonymous 500; the Japanese guide does not need the files.
 */
export function languagesForRequest(configDir: string): Languages {
  try {
    return loadLanguages(configDir);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    throw new DomainError('server.unavailable', {
      detail: `住民向けの文言の設定 (config/languages) に誤りがあるため表示・印刷できません。システム管理者に連絡してください。\n${e.message}`,
    });
  }
}
