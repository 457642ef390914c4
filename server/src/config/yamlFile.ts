import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type JSONSchemaType, type ValidateFunction } from 'ajv';
import localizeModule from 'ajv-i18n/localize/ja/index.js';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

const localizeJa = localizeModule as unknown as (errors: ErrorObject[] | null | undefined) => void;

export interface ConfigIssue {
  file: string;
  /** Path inside the file, e.g. `counters[1].id`; empty for the whole document. */
  path: string;
  line: number;
  column: number;
  reason: string;
}

/** A configuration file is wrong: names the file, the path inside it, the line and the reason. */
export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatIssue(i: ConfigIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
  return `${where}: ${i.path || '(文書全体)'}: ${i.reason}`;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true });

/** JSON pointer segments → `a.b[0].c`. */
export function displayPath(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number' || /^[0-9]+$/.test(String(s))) out += `[${s}]`;
    else out += out ? `.${s}` : String(s);
  }
  return out;
}

function pointerSegments(pointer: string): string[] {
  if (!pointer) return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** A parsed YAML file that can tell where a path sits in the text. */
export class YamlSource {
  private readonly lines = new LineCounter();
  readonly doc: Document;
  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
  }

  static read(file: string): YamlSource {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError([{ file, path: '', line: 0, column: 0, reason: `読み込めません (${(e as Error).message})` }]);
    }
    return new YamlSource(file, text);
  }

  syntaxIssues(): ConfigIssue[] {
    return this.doc.errors.map((e) => {
      const pos = this.lines.linePos(e.pos[0]);
      return { file: this.file, path: '', line: pos.line, column: pos.col, reason: `YAML の構文エラー: ${e.message.split('\n')[0]}` };
    });
  }

  /** The deepest node on the path that exists, so a missing key points at its parent. */
  locate(segments: readonly (string | number)[]): { line: number; column: number } {
    let node: unknown = this.doc.contents;
    let found: Node | null = (node as Node) ?? null;
    for (const seg of segments) {
      if (isMap(node)) {
        const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
        if (!pair) break;
        node = pair.value;
        // A scalar is reported where its value is; a map or list where its key is.
        found = (isScalar(pair.value) ? pair.value : isScalar(pair.key) ? pair.key : found) as Node;
      } else if (isSeq(node)) {
        const item = node.items[Number(seg)];
        if (!item) break;
        node = item;
        found = item as Node;
      } else break;
    }
    const offset = found?.range?.[0];
    if (offset === undefined) return { line: 1, column: 1 };
    const pos = this.lines.linePos(offset);
    return { line: pos.line, column: pos.col };
  }

  issue(segments: readonly (string | number)[], reason: string): ConfigIssue {
    const { line, column } = this.locate(segments);
    return { file: this.file, path: displayPath(segments), line, column, reason };
  }
}

const compiled = new WeakMap<object, ValidateFunction>();

/**
 * Reads a YAML file and validates it against a JSON Schema (defaults filled in). `semantic`
 * adds the checks a schema cannot express. Throws ConfigError with every problem found.
 */
export function loadYaml<T>(
  file: string,
  schema: JSONSchemaType<T> | object,
  semantic?: (value: T, src: YamlSource) => ConfigIssue[],
): T {
  const src = YamlSource.read(file);
  const syntax = src.syntaxIssues();
  if (syntax.length) throw new ConfigError(syntax);
  const value = src.doc.toJS() as unknown;
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (!validate(value)) {
    const errors = validate.errors ?? [];
    const english = errors.map((e) => ({ ...e }));
    localizeJa(errors);
    const issues = errors.map((e, i) => {
      const segs = pointerSegments(e.instancePath);
      if (e.keyword === 'required') segs.push(String((english[i]!.params as { missingProperty: string }).missingProperty));
      if (e.keyword === 'additionalProperties') {
        const extra = String((english[i]!.params as { additionalProperty: string }).additionalProperty);
        return src.issue([...segs, extra], `このキーは使えません (${extra})`);
      }
      if (e.keyword === 'required') return src.issue(segs, '必須の項目がありません');
      return src.issue(segs, e.message ?? e.keyword);
    });
    throw new ConfigError(issues);
  }
  const issues = semantic ? semantic(value as T, src) : [];
  if (issues.length) throw new ConfigError(issues);
  return value as T;
}
