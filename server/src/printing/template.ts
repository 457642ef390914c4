import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadYaml, type ConfigIssue, type YamlSource } from '../config/yamlFile.js';

/**
 * Form templates as data (`config/forms/*.yaml`). Every position and size on the page is in
 * millimetres from the top-left corner of the sheet; font sizes are in points.
 */
export type PageSize = 'A4' | 'A3' | 'B5';
export type Orientation = 'portrait' | 'landscape';
export type WarekiPart = 'era' | 'year' | 'month' | 'day' | 'full';
export type Align = 'left' | 'center' | 'right';

/** Sheet sizes in mm, portrait. B5 is JIS B5 (182 × 257), the size of Japanese office paper. */
export const pageSizesMm: Record<PageSize, [number, number]> = { A4: [210, 297], A3: [297, 420], B5: [182, 257] };

export interface FieldBoxes {
  /** How many boxes; one character per box. */
  count: number;
  /** Distance from one box's left edge to the next, mm. */
  pitch: number;
  /** Draw the boxes' outlines (when the background image does not have them). */
  outline: boolean;
}

export interface FormField {
  id: string;
  x: number;
  y: number;
  w: number;
  h: number;
  font: 'mincho' | 'gothic';
  size: number;
  /** Smallest size shrink-to-fit may go to, pt. */
  minSize: number;
  align: Align;
  shrinkToFit: boolean;
  boxes?: FieldBoxes;
  vertical?: boolean;
  /** Draws a mark when the value is truthy (or equals `when`). */
  checkmark?: boolean;
  mark?: 'check' | 'circle';
  when?: string;
  wareki?: WarekiPart;
  /** `number`: digits grouped by thousands (1,200). */
  format?: 'number';
  /** The caller may pass a mask text for this binding (支援措置); it is printed as is. */
  masked?: boolean;
  /** The value is a PNG drawn to fit the box (the resident's signature); anything else prints nothing. */
  image?: boolean;
  bind: string;
}

export interface FormLabel {
  x: number;
  y: number;
  text: string;
  size: number;
  w?: number;
  align: Align;
  vertical?: boolean;
}

export interface FormLine {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  width: number;
}

export interface FormRect {
  x: number;
  y: number;
  w: number;
  h: number;
  width: number;
}

/** Rows repeated down the page, one per item of `source` (household members, certificate lines). */
export interface FormTable {
  id: string;
  source: 'household.members' | 'certificate.lines';
  rows: number;
  /** Distance from one row to the next, mm; fields' y are those of the first row. */
  rowPitch: number;
  fields: FormField[];
}

export interface FormPage {
  background?: string;
  labels: FormLabel[];
  lines: FormLine[];
  rects: FormRect[];
  fields: FormField[];
  tables: FormTable[];
}

export interface FormTemplate {
  id: string;
  title: string;
  page: { size: PageSize; orientation: Orientation };
  /** Image of the official form, relative to the YAML file; drawn under page 1 unless a page has its own. */
  background?: string;
  /**
   * Who the form's `subject` is: `notifier` (default) the 届出人 of the identity check; `head` the
   * 世帯主 (a claim the household's head makes, e.g. 児童手当's 請求者), with the visitor's phone.
   */
  subject?: 'notifier' | 'head';
  pages: FormPage[];
  /** The YAML file it came from (set by the loader). */
  file: string;
}

const mm = { type: 'number', minimum: 0, maximum: 1000 } as const;
const positiveMm = { type: 'number', exclusiveMinimum: 0, maximum: 1000 } as const;
const align = { type: 'string', enum: ['left', 'center', 'right'], default: 'left' } as const;
const idPattern = '^[A-Za-z][A-Za-z0-9_-]*$';

const fieldSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'x', 'y', 'w', 'h', 'bind'],
  properties: {
    id: { type: 'string', pattern: idPattern },
    x: mm,
    y: mm,
    w: positiveMm,
    h: positiveMm,
    font: { type: 'string', enum: ['mincho', 'gothic'], default: 'mincho' },
    size: { type: 'number', exclusiveMinimum: 0, maximum: 200, default: 10.5 },
    minSize: { type: 'number', exclusiveMinimum: 0, maximum: 200, default: 5 },
    align,
    shrinkToFit: { type: 'boolean', default: true },
    boxes: {
      type: 'object',
      additionalProperties: false,
      required: ['count', 'pitch'],
      properties: {
        count: { type: 'integer', minimum: 1, maximum: 200 },
        pitch: positiveMm,
        outline: { type: 'boolean', default: false },
      },
    },
    vertical: { type: 'boolean' },
    checkmark: { type: 'boolean' },
    mark: { type: 'string', enum: ['check', 'circle'] },
    when: { type: 'string' },
    wareki: { type: 'string', enum: ['era', 'year', 'month', 'day', 'full'] },
    format: { type: 'string', enum: ['number'] },
    masked: { type: 'boolean' },
    image: { type: 'boolean' },
    bind: { type: 'string', minLength: 1 },
  },
} as const;

const pageSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    background: { type: 'string', minLength: 1 },
    labels: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['x', 'y', 'text'],
        properties: {
          x: mm,
          y: mm,
          text: { type: 'string', minLength: 1 },
          size: { type: 'number', exclusiveMinimum: 0, maximum: 200, default: 9 },
          w: positiveMm,
          align,
          vertical: { type: 'boolean' },
        },
      },
    },
    lines: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['x1', 'y1', 'x2', 'y2'],
        properties: { x1: mm, y1: mm, x2: mm, y2: mm, width: { type: 'number', exclusiveMinimum: 0, maximum: 10, default: 0.5 } },
      },
    },
    rects: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['x', 'y', 'w', 'h'],
        properties: {
          x: mm,
          y: mm,
          w: positiveMm,
          h: positiveMm,
          width: { type: 'number', exclusiveMinimum: 0, maximum: 10, default: 0.5 },
        },
      },
    },
    fields: { type: 'array', default: [], items: fieldSchema },
    tables: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'source', 'rows', 'rowPitch', 'fields'],
        properties: {
          id: { type: 'string', pattern: idPattern },
          source: { type: 'string', enum: ['household.members', 'certificate.lines'] },
          rows: { type: 'integer', minimum: 1, maximum: 100 },
          rowPitch: positiveMm,
          fields: { type: 'array', items: fieldSchema },
        },
      },
    },
  },
} as const;

export const formTemplateSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'title', 'page', 'pages'],
  properties: {
    id: { type: 'string', pattern: idPattern },
    title: { type: 'string', minLength: 1 },
    page: {
      type: 'object',
      additionalProperties: false,
      required: ['size'],
      properties: {
        size: { type: 'string', enum: ['A4', 'A3', 'B5'] },
        orientation: { type: 'string', enum: ['portrait', 'landscape'], default: 'portrait' },
      },
    },
    background: { type: 'string', minLength: 1 },
    subject: { type: 'string', enum: ['notifier', 'head'] },
    pages: { type: 'array', minItems: 1, maxItems: 20, items: pageSchema },
  },
} as const;

/** Fields a row of each table source has. */
export const rowFields: Record<FormTable['source'], readonly string[]> = {
  'household.members': ['name', 'kana', 'birthDate', 'sex', 'relationship', 'address'],
  'certificate.lines': ['label', 'options', 'count', 'fee', 'amount', 'note'],
};

const bindPatterns: RegExp[] = [
  /^static:/s,
  /^subject\.(name|kana|birthDate|address|sex|phone)$/,
  /^visit\.(visitNo|date)$/,
  /^household\.head\.(name|kana)$/,
  /^household\.address$/,
  /^answers\.[A-Za-z0-9_-]+$/,
  /^notice\.[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/,
  /^certificate\.(total|purpose|count|requester\.(name|kana|address|phone|relationship))$/,
];

/** Why a binding is not valid, or null. `rowSource` is set for fields inside a table. */
export function bindProblem(bind: string, rowSource?: FormTable['source']): string | null {
  if (bind.startsWith('row.')) {
    if (!rowSource) return `row.* は表 (tables) の中の項目でだけ使えます (${bind})`;
    const f = bind.slice(4);
    return rowFields[rowSource].includes(f)
      ? null
      : `表 ${rowSource} の行に ${f} という項目はありません (使えるもの: ${rowFields[rowSource].join(', ')})`;
  }
  if (bindPatterns.some((p) => p.test(bind))) return null;
  return (
    `不明な bind です (${bind})。使えるもの: static:文字, subject.name|kana|birthDate|address|sex|phone, visit.visitNo|date, ` +
    'household.head.name|kana, household.address, answers.<id>, notice.<項目>, certificate.total|purpose|count|requester.*, 表の中では row.<項目>'
  );
}

function pageMm(t: FormTemplate): [number, number] {
  const [w, h] = pageSizesMm[t.page.size];
  return t.page.orientation === 'landscape' ? [h, w] : [w, h];
}

function checkField(
  f: FormField,
  at: (string | number)[],
  src: YamlSource,
  t: FormTemplate,
  rowSource: FormTable['source'] | undefined,
  rowsBelow: number,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const problem = bindProblem(f.bind, rowSource);
  if (problem) issues.push(src.issue([...at, 'bind'], problem));
  const [pw, ph] = pageMm(t);
  if (f.x + f.w > pw + 1e-6) issues.push(src.issue([...at, 'w'], `項目が用紙の右端 (${pw} mm) をはみ出します (x + w = ${f.x + f.w} mm)`));
  if (f.y + f.h + rowsBelow > ph + 1e-6)
    issues.push(
      src.issue(
        [...at, 'h'],
        `項目が用紙の下端 (${ph} mm) をはみ出します (y + h${rowsBelow ? ' + 表の残りの行' : ''} = ${f.y + f.h + rowsBelow} mm)`,
      ),
    );
  if (f.minSize > f.size) issues.push(src.issue([...at, 'minSize'], `minSize (${f.minSize}) が size (${f.size}) より大きくなっています`));
  if (f.boxes) {
    if (f.vertical) issues.push(src.issue([...at, 'vertical'], 'boxes と vertical は同時に使えません'));
    if (f.checkmark) issues.push(src.issue([...at, 'checkmark'], 'boxes と checkmark は同時に使えません'));
    const span = f.boxes.pitch * f.boxes.count;
    if (span > f.w + 1e-6)
      issues.push(
        src.issue(
          [...at, 'boxes', 'pitch'],
          `枠の合計幅 (${f.boxes.count} × ${f.boxes.pitch} = ${span} mm) が項目の幅 w (${f.w} mm) を超えます`,
        ),
      );
  }
  if (f.vertical && f.checkmark) issues.push(src.issue([...at, 'vertical'], 'vertical と checkmark は同時に使えません'));
  if ((f.mark !== undefined || f.when !== undefined) && !f.checkmark)
    issues.push(src.issue([...at, f.mark !== undefined ? 'mark' : 'when'], 'mark と when は checkmark: true の項目でだけ使えます'));
  if (f.wareki && f.checkmark) issues.push(src.issue([...at, 'wareki'], 'wareki と checkmark は同時に使えません'));
  if (f.bind.startsWith('static:') && f.masked) issues.push(src.issue([...at, 'masked'], '固定の文字 (static:) は伏せられません'));
  if (f.image && (f.checkmark || f.boxes || f.vertical || f.wareki || f.masked || !f.bind.startsWith('notice.')))
    issues.push(
      src.issue(
        [...at, 'image'],
        'image: true は notice.* の画像 (署名) だけに使え、checkmark・boxes・vertical・wareki・masked とは同時に使えません',
      ),
    );
  return issues;
}

function semantic(t: FormTemplate, src: YamlSource): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const dir = path.dirname(src.file);
  const bg = (p: string | undefined, at: (string | number)[]) => {
    if (p !== undefined && !existsSync(path.resolve(dir, p)))
      issues.push(src.issue(at, `背景画像が見つかりません (${path.resolve(dir, p)})`));
  };
  bg(t.background, ['background']);
  const ids = new Map<string, string>();
  const unique = (id: string, at: (string | number)[]) => {
    const before = ids.get(id);
    if (before) issues.push(src.issue(at, `id ${id} が重複しています (${before} と同じ)`));
    else ids.set(id, at.join('.'));
  };
  const [pw, ph] = pageMm(t);
  t.pages.forEach((p, pi) => {
    bg(p.background, ['pages', pi, 'background']);
    p.fields.forEach((f, fi) => {
      unique(f.id, ['pages', pi, 'fields', fi, 'id']);
      issues.push(...checkField(f, ['pages', pi, 'fields', fi], src, t, undefined, 0));
    });
    p.tables.forEach((tb, ti) => {
      unique(tb.id, ['pages', pi, 'tables', ti, 'id']);
      tb.fields.forEach((f, fi) => {
        unique(`${tb.id}.${f.id}`, ['pages', pi, 'tables', ti, 'fields', fi, 'id']);
        issues.push(...checkField(f, ['pages', pi, 'tables', ti, 'fields', fi], src, t, tb.source, (tb.rows - 1) * tb.rowPitch));
      });
    });
    p.labels.forEach((l, li) => {
      if (l.x > pw || l.y > ph) issues.push(src.issue(['pages', pi, 'labels', li], `見出しが用紙 (${pw} × ${ph} mm) の外にあります`));
    });
    p.rects.forEach((r, ri) => {
      if (r.x + r.w > pw + 1e-6 || r.y + r.h > ph + 1e-6)
        issues.push(src.issue(['pages', pi, 'rects', ri], `枠が用紙 (${pw} × ${ph} mm) をはみ出します`));
    });
    p.lines.forEach((l, li) => {
      if (Math.max(l.x1, l.x2) > pw + 1e-6 || Math.max(l.y1, l.y2) > ph + 1e-6)
        issues.push(src.issue(['pages', pi, 'lines', li], `線が用紙 (${pw} × ${ph} mm) をはみ出します`));
    });
  });
  return issues;
}

/** Reads and checks one template file. Throws ConfigError naming file:line:col and the reason. */
export function loadFormTemplate(file: string): FormTemplate {
  const t = loadYaml<FormTemplate>(file, formTemplateSchema, semantic);
  const dir = path.dirname(file);
  t.file = file;
  if (t.background) t.background = path.resolve(dir, t.background);
  for (const p of t.pages) if (p.background) p.background = path.resolve(dir, p.background);
  return t;
}

/**
 * Every `<configDir>/forms/*.yaml`, by template id. All files are checked and all problems
 * reported together; two files with the same id are an error.
 */
/**
 * The templates as last read, by folder, with the files' names, sizes and times: a print reads
 * the folder's listing and stats (a few µs a file) instead of parsing and checking every YAML file
 * again (7 files: the visit bundle of a 4-person 転入 went from 149 to 81 ms, `npm run bench -- print`).
 * An edited file is read on the next print, as before.
 */
const loaded = new Map<string, { signature: string; templates: Map<string, FormTemplate> }>();

export function loadFormTemplates(configDir: string): Map<string, FormTemplate> {
  const dir = path.join(configDir, 'forms');
  if (!existsSync(dir)) return new Map();
  const signature = readdirSync(dir)
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()
    .map((n) => {
      const st = statSync(path.join(dir, n));
      return `${n}:${st.size}:${st.mtimeMs}`;
    })
    .join('|');
  const hit = loaded.get(dir);
  if (hit && hit.signature === signature) return hit.templates;
  const templates = readFormTemplates(dir);
  if (loaded.size >= 8) loaded.clear();
  loaded.set(dir, { signature, templates });
  return templates;
}

function readFormTemplates(dir: string): Map<string, FormTemplate> {
  const out = new Map<string, FormTemplate>();
  if (!existsSync(dir)) return out;
  const issues: ConfigIssue[] = [];
  for (const name of readdirSync(dir)
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()) {
    const file = path.join(dir, name);
    try {
      const t = loadFormTemplate(file);
      const other = out.get(t.id);
      if (other) issues.push({ file, path: 'id', line: 1, column: 1, reason: `様式 id ${t.id} が ${other.file} と重複しています` });
      else out.set(t.id, t);
    } catch (e) {
      if (e instanceof ConfigError) issues.push(...e.issues);
      else throw e;
    }
  }
  if (issues.length) throw new ConfigError(issues);
  return out;
}
