import { readdirSync } from 'node:fs';
import path from 'node:path';
import { codeTables, entitlementKinds } from '../../domain/codes.js';
import { ConfigError, loadYaml, type ConfigIssue } from '../../config/yamlFile.js';

export type ColumnType = 'string' | 'digits' | 'date' | 'month' | 'flag' | 'code' | 'integer';

export interface LayoutColumn {
  /** Header name in the file (Japanese item name); columns are matched by it, not by position. */
  header: string;
  /** Target column in the cache table; omitted for an item that is read and checked but not stored. */
  column?: string;
  type: ColumnType;
  /** Maximum length in code points. */
  length?: number;
  /** The standard fixes the length (個人番号 12 digits, 宛名番号 15, 郵便番号 7): a shorter value is a cut value, not a short one. */
  exactLength?: boolean | 'addresseeNo';
  required?: boolean;
  /** Code table name (domain/codes.ts) for type `code`. */
  code?: string;
  /** Personal data: masked in reports. */
  personal?: boolean;
}

export interface Layout {
  specId: string;
  edition: string;
  title: string;
  /** True where the official sheet was not available and the item set is our proposal. */
  provisional: boolean;
  source: string;
  table: string;
  /** Constant columns: written on every row and scoping a full replace (entitlements by kind). */
  fixed: Record<string, string>;
  /** Headers that identify a row (for duplicates and differential apply). */
  keys: string[];
  /** Header of the 処理区分 column that marks a differential file. */
  processingKindHeader: string;
  columns: LayoutColumn[];
  /**
   * Safety-critical feed (支援措置, 発行禁止): all or nothing — any bad row quarantines the file,
   * because a rejected row would silently end a protection or a ban.
   */
  critical: boolean;
  /** The last record must end with a line end: a file without one was cut short (default true). */
  requireFinalLineEnd: boolean;
  /** A control file the core system always sends with this spec; a data file without it is quarantined. */
  control: ControlKind;
  /** Where the layout came from, for error messages. */
  file: string;
}

/** Control files beside a data file `X.csv`: `X.csv.count` (row count), `X.csv.md5`, `X.csv.done`. */
export type ControlKind = 'none' | 'count' | 'md5' | 'done';

const layoutSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['specId', 'edition', 'title', 'provisional', 'source', 'table', 'keys', 'columns'],
  properties: {
    specId: { type: 'string', pattern: '^([0-9]{3}o[0-9]{3}|ext-[a-z0-9-]+)$' },
    edition: { type: 'string', minLength: 1 },
    title: { type: 'string', minLength: 1 },
    provisional: { type: 'boolean' },
    source: { type: 'string' },
    table: { type: 'string', pattern: '^[a-z_]+$' },
    fixed: { type: 'object', default: {}, additionalProperties: { type: 'string' } },
    keys: { type: 'array', minItems: 1, items: { type: 'string' } },
    processingKindHeader: { type: 'string', default: '処理区分' },
    critical: { type: 'boolean', default: false },
    requireFinalLineEnd: { type: 'boolean', default: true },
    control: { type: 'string', enum: ['none', 'count', 'md5', 'done'], default: 'none' },
    columns: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['header', 'type'],
        properties: {
          header: { type: 'string', minLength: 1 },
          column: { type: 'string', pattern: '^[a-z0-9_]+$' },
          type: { type: 'string', enum: ['string', 'digits', 'date', 'month', 'flag', 'code', 'integer'] },
          length: { type: 'integer', minimum: 1 },
          exactLength: { anyOf: [{ type: 'boolean' }, { const: 'addresseeNo' }] },
          required: { type: 'boolean' },
          code: { type: 'string' },
          personal: { type: 'boolean' },
        },
      },
    },
  },
} as const;

const LAYOUT_FILE_RE = /^(.+)@(.+)\.ya?ml$/;

export function loadLayoutFile(file: string): Layout {
  const layout = loadYaml<Omit<Layout, 'file'>>(file, layoutSchema, (l, src) => {
    const issues: ConfigIssue[] = [];
    const m = LAYOUT_FILE_RE.exec(path.basename(file));
    if (!m || m[1] !== l.specId || m[2] !== l.edition) {
      issues.push(
        src.issue([], `ファイル名は <specId>@<edition>.yaml で、中の specId/edition と一致させてください (${l.specId}@${l.edition})`),
      );
    }
    const headers = new Set<string>();
    l.columns.forEach((c, i) => {
      if (headers.has(c.header)) issues.push(src.issue(['columns', i, 'header'], `項目名が重複しています (${c.header})`));
      headers.add(c.header);
      if (c.exactLength && c.length === undefined)
        issues.push(src.issue(['columns', i, 'exactLength'], `exactLength には length (桁数) が必要です (${c.header})`));
      if (c.type === 'code' && (!c.code || !codeTables[c.code])) {
        issues.push(
          src.issue(
            ['columns', i, 'code'],
            `コード表 ${c.code ?? '(未指定)'} がありません。使えるもの: ${Object.keys(codeTables).join(', ')}`,
          ),
        );
      }
    });
    if (l.table === 'entitlements' && !(entitlementKinds as readonly string[]).includes(l.fixed?.kind ?? '')) {
      issues.push(
        src.issue(['fixed', 'kind'], `資格の種類は ${entitlementKinds.join(', ')} のいずれかです (${l.fixed?.kind ?? '未指定'})`),
      );
    }
    l.keys.forEach((k, i) => {
      if (!headers.has(k)) issues.push(src.issue(['keys', i], `キー項目 ${k} が columns にありません`));
    });
    return issues;
  });
  return { ...layout, file };
}

/** Every layout under config/layouts, by spec id; a new edition is a new file. */
export class LayoutRegistry {
  private readonly bySpec = new Map<string, Layout[]>();

  constructor(layouts: Layout[]) {
    for (const l of layouts) {
      const list = this.bySpec.get(l.specId) ?? [];
      list.push(l);
      this.bySpec.set(l.specId, list);
    }
    // Editions in natural order: 1.9 before 1.10.
    for (const list of this.bySpec.values()) list.sort((a, b) => a.edition.localeCompare(b.edition, 'en', { numeric: true }));
  }

  static load(configDir: string): LayoutRegistry {
    const dir = path.join(configDir, 'layouts');
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((n) => /\.ya?ml$/.test(n))
        .sort();
    } catch (e) {
      throw new ConfigError([
        { file: dir, path: '', line: 0, column: 0, reason: `レイアウトのフォルダを読めません (${(e as Error).message})` },
      ]);
    }
    const layouts: Layout[] = [];
    const issues: ConfigIssue[] = [];
    for (const n of names) {
      try {
        layouts.push(loadLayoutFile(path.join(dir, n)));
      } catch (e) {
        if (e instanceof ConfigError) issues.push(...e.issues);
        else throw e;
      }
    }
    if (issues.length) throw new ConfigError(issues);
    return new LayoutRegistry(layouts);
  }

  specIds(): string[] {
    return [...this.bySpec.keys()].sort();
  }

  editions(specId: string): Layout[] {
    return this.bySpec.get(specId) ?? [];
  }

  /** The newest edition of a spec (for writing files). */
  latest(specId: string): Layout {
    const list = this.editions(specId);
    const l = list[list.length - 1];
    if (!l) throw new Error(`no layout for ${specId}`);
    return l;
  }

  /**
   * The edition whose items match the file's header: every header known to the edition and
   * every required item present. The 処理区分 column of a differential file is allowed on top.
   */
  detect(specId: string, headers: readonly string[]): Layout | { error: string } {
    const candidates = this.editions(specId);
    if (!candidates.length) return { error: `連携仕様 ${specId} のレイアウトが config/layouts にありません` };
    // An edition whose items are exactly the file's wins; otherwise the newest that accepts it.
    const fileHeaders = new Set(headers.filter((h) => !candidates.some((l) => l.processingKindHeader === h)));
    const exact = candidates.find((l) => l.columns.length === fileHeaders.size && l.columns.every((c) => fileHeaders.has(c.header)));
    if (exact) return exact;
    const reasons: string[] = [];
    for (const l of [...candidates].reverse()) {
      const known = new Set(l.columns.map((c) => c.header));
      const unknown = headers.filter((h) => !known.has(h) && h !== l.processingKindHeader);
      const missing = l.columns.filter((c) => c.required && !headers.includes(c.header)).map((c) => c.header);
      if (!unknown.length && !missing.length) return l;
      reasons.push(
        `${l.edition}: ${[unknown.length ? `未知の項目 ${unknown.join('、')}` : '', missing.length ? `必須項目なし ${missing.join('、')}` : ''].filter(Boolean).join(' / ')}`,
      );
    }
    return { error: `ヘッダーがどの版のレイアウトにも一致しません (${reasons.join('; ')})` };
  }
}
