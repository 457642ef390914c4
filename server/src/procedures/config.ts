/**
 * The procedure catalog: `config/procedures/*.yaml`, edited by the municipality (001 §5-② lists
 * the business areas; 001/004 §6 F-23–F-25: guidance, legal references, related procedures).
 *
 * File format: each file is a YAML **list** of procedure definitions (`- id: nhiEnrol …`), the
 * fields of `ProcedureDefinition` in domain/procedureTypes.ts. Files are read in name order
 * (`10-….yaml`, `20-….yaml`, …); dot files and other extensions are ignored. All files form one
 * catalog: procedure ids and question ids are unique across it, and `adds` / `answer` may refer
 * to definitions in any file.
 *
 * A broken edit never takes the counter down: `ProcedureStore` keeps the last good catalog and
 * exposes the error (every issue with file:line:column, path and a Japanese reason) for the
 * admin preview (`/admin/procedures`).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { permissions } from '../auth/permissions.js';
import { loadYaml, ConfigError, YamlSource, type ConfigIssue } from '../config/yamlFile.js';
import { entitlementKinds } from '../domain/codes.js';
import { isCalendarDate } from '../domain/dates.js';
import { noticeTypes, type Condition, type MemberCondition, type ProcedureDefinition, type Question } from '../domain/procedureTypes.js';

/** The folder under the config directory that holds the procedure files. */
export const PROCEDURES_DIR = 'procedures';

const ID_PATTERN = '^[a-z][A-Za-z0-9]*$';
const idSchema = { type: 'string', pattern: ID_PATTERN, maxLength: 64 } as const;
const dateSchema = { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' } as const;
const text = { type: 'string', minLength: 1 } as const;
const textList = { type: 'array', default: [], items: text } as const;
const schoolStages = ['preschool', 'elementary', 'juniorHigh', 'highSchoolAge', 'adult'] as const;
const questionTypes = ['yesNo', 'choice', 'date', 'text'] as const;
const ageBases = ['birthday', 'legal'] as const;

/**
 * JSON Schema of one procedure file: a list of procedures. The structure and the small enums
 * are checked here; names that refer to other settings (notice types, entitlement kinds,
 * counters, permissions, procedure and question ids) are checked afterwards, with messages
 * that list what is allowed.
 */
export const procedureFileSchema = {
  type: 'array',
  items: { $ref: '#/definitions/procedure' },
  definitions: {
    procedure: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'name', 'section', 'counter', 'guidance'],
      properties: {
        id: idSchema,
        name: { type: 'string', minLength: 1, maxLength: 100 },
        section: text,
        counter: text,
        permission: { type: 'string', minLength: 1, default: 'notice.accept' },
        guidance: text,
        legal: textList,
        bring: textList,
        forms: textList,
        pamphlets: textList,
        questions: { type: 'array', default: [], items: { $ref: '#/definitions/question' } },
        when: { $ref: '#/definitions/condition' },
        adds: { type: 'array', default: [], items: idSchema },
        deadlineDays: { type: 'integer', minimum: 1, maximum: 365 },
        validFrom: dateSchema,
        validTo: dateSchema,
        order: { type: 'integer', minimum: 0, maximum: 100000, default: 100 },
      },
    },
    question: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'text', 'type'],
      properties: {
        id: idSchema,
        text,
        type: { type: 'string', enum: [...questionTypes] },
        choices: { type: 'array', items: text },
        askWhen: { $ref: '#/definitions/condition' },
        help: { type: 'string' },
        detail: { type: 'boolean' },
      },
    },
    condition: {
      type: 'object',
      additionalProperties: false,
      properties: {
        all: { type: 'array', items: { $ref: '#/definitions/condition' } },
        any: { type: 'array', items: { $ref: '#/definitions/condition' } },
        not: { $ref: '#/definitions/condition' },
        notice: { type: 'array', items: text },
        member: { $ref: '#/definitions/member' },
        householdHolds: text,
        answer: {
          type: 'object',
          additionalProperties: {
            type: ['boolean', 'string', 'object'],
            additionalProperties: false,
            required: ['answered'],
            properties: { answered: { type: 'boolean' } },
          },
        },
      },
    },
    member: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ageFrom: { type: 'integer', minimum: 0, maximum: 150 },
        ageUnder: { type: 'integer', minimum: 1, maximum: 150 },
        ageBasis: { type: 'string', enum: [...ageBases] },
        untilEndOfSchoolYearOfAge: { type: 'integer', minimum: 1, maximum: 30 },
        schoolStage: { type: 'array', items: { type: 'string', enum: [...schoolStages] } },
        holds: text,
        notHolds: text,
        moving: { type: 'boolean' },
        head: { type: 'boolean' },
        event: { type: 'boolean' },
        hasMyNumberCard: { type: 'boolean' },
      },
    },
  },
} as const;

export interface ProcedureCatalog {
  /** Every definition, valid or not on a given day, by `order` (ties keep file order). */
  all: ProcedureDefinition[];
  /** Any definition by id, whatever its validity period. */
  byId(id: string): ProcedureDefinition | undefined;
  /** The definitions valid on a date (`YYYY-MM-DD`, validFrom/validTo inclusive). */
  validOn(date: string): ProcedureDefinition[];
  loadedAt: Date;
  /** The files read, in name order. */
  files: string[];
}

/** A catalog over definitions already checked (also handy for tests of the navigation engine). */
export function catalogOf(
  definitions: readonly ProcedureDefinition[],
  files: readonly string[] = [],
  loadedAt = new Date(),
): ProcedureCatalog {
  const all = definitions
    .map((d, i) => ({ d, i }))
    .sort((a, b) => a.d.order - b.d.order || a.i - b.i)
    .map((x) => x.d);
  const index = new Map(all.map((d) => [d.id, d]));
  return {
    all,
    byId: (id) => index.get(id),
    validOn(date) {
      if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(date)) throw new Error(`validOn needs YYYY-MM-DD: ${date}`);
      return all.filter((d) => (!d.validFrom || d.validFrom <= date) && (!d.validTo || date <= d.validTo));
    },
    loadedAt,
    files: [...files],
  };
}

export function emptyCatalog(): ProcedureCatalog {
  return catalogOf([]);
}

/** The procedure files of a config directory, in name order. */
export function procedureFiles(configDir: string): string[] {
  const dir = path.join(configDir, PROCEDURES_DIR);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.yaml') && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => path.join(dir, name));
}

type Segments = (string | number)[];

/** Allowed values for the enums the schema checks, to complete ajv-i18n's generic message. */
const enumHints: Record<string, readonly string[]> = { type: questionTypes, ageBasis: ageBases, schoolStage: schoolStages };

const typeNames: Record<string, string> = {
  integerでなければいけない: '整数 (例: 65) でなければいけません。"…" で囲まないでください',
  booleanでなければいけない: 'true か false でなければいけません',
  arrayでなければいけない: 'リスト ([a, b] または「- 」の並び) でなければいけません',
  objectでなければいけない: '「キー: 値」の組でなければいけません',
  'boolean,string,objectでなければいけない': 'true / false、答えの文字列、または {answered: true / false} でなければいけません',
};

/** Replaces the generic ajv-i18n wording where a plainer one helps the municipality's staff. */
function explain(issue: ConfigIssue): ConfigIssue {
  const last =
    issue.path
      .replace(/\[[0-9]+\]$/, '')
      .split('.')
      .pop() ?? '';
  let reason = issue.reason;
  if (issue.path === '' && /array/.test(reason)) reason = 'ファイルの中身は手続きのリスト (「- id: …」の並び) でなければいけません';
  else if (reason.includes('のパターンと一致しなければいけない')) {
    if (last === 'validFrom' || last === 'validTo') reason = `日付は YYYY-MM-DD (例: 2027-04-01) で書いてください`;
    else if (last === 'id' || last === 'adds') reason = 'ID は英小文字で始まる英数字 (例: nhiEnrol) で書いてください';
  } else if (reason === 'stringでなければいけない') {
    reason = '文字列でなければいけません (文字列の中に「: 」があると項目とみなされます。その場合は "…" で囲んでください)';
  } else if (typeNames[reason]) {
    reason = typeNames[reason]!;
  } else if (reason.startsWith('事前に定義された値') && enumHints[last]) {
    reason = `使える値ではありません。使えるのは ${enumHints[last]!.join(', ')} です`;
  }
  return reason === issue.reason ? issue : { ...issue, reason };
}

interface Loaded {
  file: string;
  src: YamlSource;
  procedures: ProcedureDefinition[];
}

interface AnswerRef {
  src: YamlSource;
  segs: Segments;
  question: string;
  value: boolean | string | { answered: boolean };
}

function list(values: readonly string[]): string {
  return values.join(', ');
}

/**
 * Reads every `config/procedures/*.yaml` and checks it. Throws ConfigError with every issue of
 * every file (file, line, column, path, Japanese reason).
 */
export function loadProcedures(configDir: string, counters: readonly { id: string }[]): ProcedureCatalog {
  const dir = path.join(configDir, PROCEDURES_DIR);
  let files: string[];
  try {
    files = procedureFiles(configDir);
  } catch (e) {
    throw new ConfigError([
      { file: dir, path: '', line: 0, column: 0, reason: `手続きの設定フォルダを読めません (${(e as Error).message})` },
    ]);
  }
  if (files.length === 0)
    throw new ConfigError([{ file: dir, path: '', line: 0, column: 0, reason: '手続きの設定ファイル (*.yaml) が 1 つもありません' }]);

  const issues: ConfigIssue[] = [];
  const loaded: Loaded[] = [];
  /** Ids found in files that failed to load: references to them are not reported as unknown. */
  const brokenProcedureIds = new Set<string>();
  const brokenQuestionIds = new Set<string>();
  for (const file of files) {
    const seen: { src?: YamlSource } = {};
    try {
      const procedures = loadYaml<ProcedureDefinition[]>(file, procedureFileSchema, (_value, src) => {
        seen.src = src;
        return [];
      });
      loaded.push({ file, src: seen.src!, procedures });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      issues.push(...e.issues.map(explain));
      harvestIds(file, brokenProcedureIds, brokenQuestionIds);
    }
  }

  const counterIds = new Set(counters.map((c) => c.id));
  const procedureAt = new Map<string, { file: string; line: number }>();
  const questionAt = new Map<string, { question: Question; file: string; line: number }>();
  const answerRefs: AnswerRef[] = [];
  const addsRefs: { src: YamlSource; segs: Segments; id: string; from: string }[] = [];

  for (const { file, src, procedures } of loaded) {
    const at = (segs: Segments, reason: string) => issues.push(src.issue(segs, reason));
    const checkEntitlement = (segs: Segments, kind: string) => {
      if (!(entitlementKinds as readonly string[]).includes(kind))
        at(segs, `資格の種類「${kind}」はありません。使えるのは ${list(entitlementKinds)} です`);
    };
    const checkMember = (m: MemberCondition, segs: Segments) => {
      if (Object.keys(m).length === 0) at(segs, 'member の条件が空です。条件を書くか、member を消してください');
      if ((m.ageFrom !== undefined || m.ageUnder !== undefined) && !m.ageBasis)
        at(segs, '年齢の条件には ageBasis (birthday: 誕生日に加齢 / legal: 誕生日の前日に加齢) が必要です');
      if (m.ageFrom !== undefined && m.ageUnder !== undefined && m.ageFrom >= m.ageUnder)
        at([...segs, 'ageUnder'], `ageUnder (${m.ageUnder}) が ageFrom (${m.ageFrom}) 以下なので、この条件に当てはまる人はいません`);
      if (m.ageBasis && m.ageFrom === undefined && m.ageUnder === undefined)
        at([...segs, 'ageBasis'], 'ageBasis は ageFrom か ageUnder と一緒に書いてください');
      if (m.holds !== undefined) checkEntitlement([...segs, 'holds'], m.holds);
      if (m.notHolds !== undefined) checkEntitlement([...segs, 'notHolds'], m.notHolds);
      if (m.schoolStage && m.schoolStage.length === 0) at([...segs, 'schoolStage'], 'schoolStage が空です');
    };
    const checkCondition = (c: Condition, segs: Segments) => {
      if (Object.keys(c).length === 0) at(segs, '条件が空です。条件を書くか、このキーを消してください');
      for (const key of ['all', 'any'] as const) {
        const parts = c[key];
        if (!parts) continue;
        if (parts.length === 0) at([...segs, key], `${key} の中に条件がありません`);
        parts.forEach((p, i) => checkCondition(p, [...segs, key, i]));
      }
      if (c.not) checkCondition(c.not, [...segs, 'not']);
      if (c.notice) {
        if (c.notice.length === 0) at([...segs, 'notice'], 'notice の中に届出の種類がありません');
        c.notice.forEach((n, i) => {
          if (!(noticeTypes as readonly string[]).includes(n))
            at([...segs, 'notice', i], `届出の種類「${n}」はありません。使えるのは ${list(noticeTypes)} です`);
        });
      }
      if (c.member) checkMember(c.member, [...segs, 'member']);
      if (c.householdHolds !== undefined) checkEntitlement([...segs, 'householdHolds'], c.householdHolds);
      if (c.answer) {
        const keys = Object.keys(c.answer);
        if (keys.length === 0) at([...segs, 'answer'], 'answer の中に質問がありません');
        for (const q of keys) answerRefs.push({ src, segs: [...segs, 'answer', q], question: q, value: c.answer[q]! });
      }
    };

    procedures.forEach((p, i) => {
      const first = procedureAt.get(p.id);
      if (first)
        at([i, 'id'], `手続き ID「${p.id}」が重複しています (${path.basename(first.file)} の ${first.line} 行目でも使われています)`);
      else procedureAt.set(p.id, { file, line: src.locate([i, 'id']).line });

      if (!counterIds.has(p.counter))
        at([i, 'counter'], `窓口「${p.counter}」は municipality.yaml の counters にありません。使えるのは ${list([...counterIds])} です`);
      if (!(permissions as readonly string[]).includes(p.permission))
        at([i, 'permission'], `権限「${p.permission}」はありません。使えるのは ${list(permissions)} です`);
      for (const key of ['validFrom', 'validTo'] as const) {
        const d = p[key];
        if (d !== undefined && !isCalendarDate(d)) at([i, key], `${d} は存在しない日付です`);
      }
      if (p.validFrom && p.validTo && p.validFrom > p.validTo)
        at([i, 'validTo'], `有効期間の終わり (validTo ${p.validTo}) が始まり (validFrom ${p.validFrom}) より前です`);

      p.questions.forEach((q, qi) => {
        const segs: Segments = [i, 'questions', qi];
        const seen = questionAt.get(q.id);
        if (seen)
          at(
            [...segs, 'id'],
            `質問 ID「${q.id}」が重複しています (${path.basename(seen.file)} の ${seen.line} 行目でも使われています)。ほかの手続きからは answer で参照できます`,
          );
        else questionAt.set(q.id, { question: q, file, line: src.locate([...segs, 'id']).line });
        if (q.type === 'choice' && (!q.choices || q.choices.length === 0))
          at([...segs, 'type'], `質問「${q.id}」は選択式 (choice) ですが、choices (選択肢) がありません`);
        if (q.type !== 'choice' && q.choices)
          at([...segs, 'choices'], `choices は選択式 (type: choice) の質問にだけ書けます (この質問は ${q.type})`);
        if (q.choices && new Set(q.choices).size !== q.choices.length) at([...segs, 'choices'], '同じ選択肢が 2 回あります');
        if (q.askWhen) checkCondition(q.askWhen, [...segs, 'askWhen']);
      });
      if (p.when) checkCondition(p.when, [i, 'when']);
      p.adds.forEach((a, ai) => {
        if (a === p.id) at([i, 'adds', ai], `手続き「${p.id}」が自分自身を adds に入れています`);
        else addsRefs.push({ src, segs: [i, 'adds', ai], id: a, from: p.id });
      });
    });
  }

  for (const r of addsRefs) {
    if (!procedureAt.has(r.id) && !brokenProcedureIds.has(r.id))
      issues.push(r.src.issue(r.segs, `adds の手続き ID「${r.id}」はどのファイルにもありません`));
  }
  for (const r of answerRefs) {
    const def = questionAt.get(r.question)?.question;
    if (!def) {
      if (!brokenQuestionIds.has(r.question))
        issues.push(r.src.issue(r.segs, `質問 ID「${r.question}」はどの手続きの questions にもありません`));
      continue;
    }
    if (def.type === 'choice' && !def.choices?.length) continue; // reported at the question
    const reason = answerMismatch(def, r.value);
    if (reason) issues.push(r.src.issue(r.segs, reason));
  }

  if (issues.length) {
    const rank = (i: ConfigIssue) => files.indexOf(i.file);
    throw new ConfigError(
      issues
        .map((i, n) => ({ i, n }))
        .sort((a, b) => rank(a.i) - rank(b.i) || a.i.line - b.i.line || a.i.column - b.i.column || a.n - b.n)
        .map((x) => x.i),
    );
  }
  return catalogOf(
    loaded.flatMap((l) => l.procedures),
    files,
  );
}

/** Why an answer in a condition cannot match the question, or null. */
function answerMismatch(q: Question, value: boolean | string | { answered: boolean }): string | null {
  if (typeof value === 'object') return null;
  if (q.type === 'yesNo')
    return typeof value === 'boolean' ? null : `質問「${q.id}」ははい・いいえ (yesNo) の質問です。true か false で書いてください`;
  if (typeof value === 'boolean') return `質問「${q.id}」は ${q.type} の質問です。true / false ではなく答えの文字列で書いてください`;
  if (q.type === 'choice' && !(q.choices ?? []).includes(value))
    return `「${value}」は質問「${q.id}」の選択肢にありません。選択肢: ${list(q.choices ?? [])}`;
  return null;
}

/** Procedure and question ids written in a file that failed to load (as far as it parses). */
function harvestIds(file: string, procedureIds: Set<string>, questionIds: Set<string>): void {
  try {
    const value = YamlSource.read(file).doc.toJS() as unknown;
    if (!Array.isArray(value)) return;
    for (const p of value as unknown[]) {
      if (!p || typeof p !== 'object') continue;
      const { id, questions } = p as { id?: unknown; questions?: unknown };
      if (typeof id === 'string') procedureIds.add(id);
      if (Array.isArray(questions))
        for (const q of questions as unknown[])
          if (q && typeof q === 'object' && typeof (q as { id?: unknown }).id === 'string') questionIds.add((q as { id: string }).id);
    }
  } catch {
    // Unreadable or unparsable: the file's own issues say so.
  }
}

export type ReloadResult = 'unchanged' | 'reloaded' | 'failed';

export interface ProcedureStoreOptions {
  /** Checks the files at most this often (ms); 0 (default) checks on every call. */
  minCheckIntervalMs?: number;
}

/**
 * Holds the current catalog and reloads it when the files change. A broken edit keeps the
 * previous good catalog and sets `lastError`, so a typo never stops the counter; the next good
 * edit clears it. If the very first load fails, the catalog is empty and `lastError` says why.
 */
export class ProcedureStore {
  private catalog: ProcedureCatalog = emptyCatalog();
  private signature: string | null = null;
  private checkedAt = 0;
  private error: ConfigError | null = null;
  private errorAt: Date | null = null;

  constructor(
    readonly configDir: string,
    private readonly counters: readonly { id: string }[],
    private readonly options: ProcedureStoreOptions = {},
  ) {
    this.reload();
  }

  current(): ProcedureCatalog {
    return this.catalog;
  }

  /** The problem with the files as they are now (null when the current catalog is from them). */
  get lastError(): ConfigError | null {
    return this.error;
  }

  get lastErrorAt(): Date | null {
    return this.errorAt;
  }

  /**
   * Cheap: lists the folder and compares names, sizes and modification times with the last
   * attempt; reloads only when they differ. Call it per request or on a timer.
   */
  reloadIfChanged(): ReloadResult {
    const now = Date.now();
    const interval = this.options.minCheckIntervalMs ?? 0;
    if (interval > 0 && now - this.checkedAt < interval) return 'unchanged';
    this.checkedAt = now;
    if (this.currentSignature() === this.signature) return 'unchanged';
    return this.reload();
  }

  /** Loads the files now, whatever their state. */
  reload(): ReloadResult {
    // The signature is taken before reading, so an edit made during the load is seen next time.
    this.signature = this.currentSignature();
    try {
      this.catalog = loadProcedures(this.configDir, this.counters);
      this.error = null;
      this.errorAt = null;
      return 'reloaded';
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      this.error = e;
      this.errorAt = new Date();
      return 'failed';
    }
  }

  private currentSignature(): string {
    let files: string[];
    try {
      files = procedureFiles(this.configDir);
    } catch {
      return 'no folder';
    }
    return files
      .map((f) => {
        try {
          const s = statSync(f);
          return `${path.basename(f)}\t${s.size}\t${s.mtimeMs}\t${s.ctimeMs}`;
        } catch {
          return `${path.basename(f)}\tgone`;
        }
      })
      .join('\n');
  }
}
