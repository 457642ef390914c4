import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import localizeModule from 'ajv-i18n/localize/ja/index.js';
import type { TSchema } from '@sinclair/typebox';
import { invalidInput, type FieldProblem } from '../errors/domainError.js';

const localizeJa = localizeModule as unknown as (errors: ErrorObject[] | null | undefined) => void;

/**
 * Input: path parameters, query strings and forms arrive as strings, so they are coerced to the
 * declared type (`"12"` → 12; a single value → a one-item list). JSON bodies are checked as sent.
 */
const lenient = new Ajv({ allErrors: true, coerceTypes: 'array', useDefaults: true, strict: false, verbose: true });
const exact = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });
/** Responses: exact types, closed objects (see schemas/common.ts). */
const responses = new Ajv({ allErrors: true, strict: false });
for (const a of [lenient, exact, responses]) {
  a.addFormat('date', /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/);
  a.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)) && /^[0-9]{4}-[0-9]{2}-[0-9]{2}T/.test(s));
  a.addKeyword({ keyword: 'x-component', schemaType: 'string' });
  a.addKeyword({ keyword: 'x-personal', schemaType: ['string', 'boolean'] });
}

export type Where = 'params' | 'query' | 'body';
const WHERE_LABEL: Record<Where, string> = { params: 'URL', query: '検索条件', body: '入力' };

/** The Japanese name of the field an error is about: the schema's `title`, or its path. */
function fieldOf(e: ErrorObject): string {
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  if (e.keyword === 'required') return [path, (e.params as { missingProperty: string }).missingProperty].filter(Boolean).join('.');
  if (e.keyword === 'additionalProperties')
    return [path, (e.params as { additionalProperty: string }).additionalProperty].filter(Boolean).join('.');
  return path;
}

function titleOf(e: ErrorObject): string | undefined {
  const s = e.parentSchema as { title?: unknown } | undefined;
  if (e.keyword === 'required') {
    const props = (e.parentSchema as { properties?: Record<string, { title?: string }> } | undefined)?.properties;
    return props?.[(e.params as { missingProperty: string }).missingProperty]?.title;
  }
  return typeof s?.title === 'string' ? s.title : undefined;
}

const TYPE_NAMES: Record<string, string> = {
  integer: '整数',
  number: '数値',
  string: '文字',
  boolean: 'true か false',
  array: '一覧',
  object: '項目の組',
  null: '空',
};

/**
 * A Japanese sentence for one problem, written for counter staff and integrators (ajv-i18n's
 * wording is a literal translation; it is only the fallback for rare keywords).
 */
function sentence(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type': {
      const t = String(p.type)
        .split(',')
        .map((x) => TYPE_NAMES[x] ?? x)
        .join('または');
      return `${t}で指定してください`;
    }
    case 'minimum':
      return `${String(p.limit)} 以上で指定してください`;
    case 'maximum':
      return `${String(p.limit)} 以下で指定してください`;
    case 'minLength':
      return Number(p.limit) <= 1 ? '入力してください' : `${String(p.limit)} 文字以上で入力してください`;
    case 'maxLength':
      return `${String(p.limit)} 文字以内で入力してください`;
    case 'minItems':
      return `${String(p.limit)} 件以上で指定してください`;
    case 'maxItems':
      return `${String(p.limit)} 件以内で指定してください`;
    case 'pattern':
      return '形式が正しくありません';
    case 'format':
      return p.format === 'date' ? '日付 (YYYY-MM-DD) で指定してください' : '形式が正しくありません';
    case 'enum':
      return `次のいずれかで指定してください: ${((p.allowedValues as unknown[]) ?? []).map(String).join('、')}`;
    case 'const':
      return `${String(p.allowedValue)} で指定してください`;
    case 'anyOf':
    case 'oneOf':
      return '値が正しくありません';
    case 'additionalProperties':
      return 'この項目は受け付けません';
    default:
      return e.message ?? '正しくありません';
  }
}

export interface InputCheck {
  (value: unknown): unknown;
}

/** Compiles a check that returns the (coerced) value or throws a 400 naming each field in Japanese. */
export function inputCheck(schema: TSchema, where: Where, json: boolean): InputCheck {
  const validate: ValidateFunction = (json && where === 'body' ? exact : lenient).compile(schema);
  return (value) => {
    if (validate(value)) return value;
    const errors = validate.errors ?? [];
    localizeJa(errors);
    // A union reports each branch's failure too: keep the union's own line, not its branches'.
    const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.instancePath);
    const shown = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf' || !unions.includes(e.instancePath));
    const fields: FieldProblem[] = [];
    for (const e of shown) {
      const field = fieldOf(e);
      if (fields.some((f) => f.field === field)) continue;
      const name = titleOf(e) ?? (field || WHERE_LABEL[where]);
      fields.push({ field, message: e.keyword === 'required' ? `${name}を入力してください` : `${name}: ${sentence(e)}` });
      if (fields.length === 10) break;
    }
    throw invalidInput(fields.map((f) => f.message).join('。'), fields);
  };
}

/** A response check for tests and development: the list of problems, empty when the body fits. */
export function responseCheck(schema: TSchema): (body: unknown) => string[] {
  const validate = responses.compile(schema);
  return (body) =>
    validate(JSON.parse(JSON.stringify(body ?? null)))
      ? []
      : (validate.errors ?? []).map((e) => `${e.instancePath || '(本文)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
