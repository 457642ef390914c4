import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { appendAudit, type AuditEntry } from '../audit/trail.js';
import { insertReturningId } from '../db/values.js';
import { isCalendarDate } from '../domain/dates.js';
import { japanStamp, todayInJapan } from '../domain/japanTime.js';
import { codePointLength } from '../domain/text.js';
import { DomainError } from '../errors/domainError.js';
import { csvRecordsOf, CsvSyntaxError, csvText, decodeText, TextEncodingError } from '../text/index.js';
import { hashPassword, randomPassword } from './passwords.js';
import { defaultPasswordPolicy, passwordProblems, type PasswordPolicy } from './passwordPolicy.js';
import { defaultGroups } from './permissions.js';
import { ensureDefaultGroups } from './staffRepo.js';

/**
 * Bulk personnel update from a CSV (年度替わりの人事異動): parse the file an administrator
 * edited in Excel, compare it with the staff tables, show the difference, then apply all of it
 * in one transaction or nothing. Staff not mentioned in the file are left untouched: the file
 * lists the people to add or change, it is not the whole roster (disable with 状態=無効).
 */

/** One problem in the file, for the administrator: physical line (header = 1) and column. */
export interface ImportError {
  line: number;
  column: string | null;
  message: string;
}

/**
 * One data row. An absent column or a blank cell is `undefined`: kept as it is for existing
 * staff. `null` (written `-` in the file) clears 所属 or a validity date.
 */
export interface StaffCsvRow {
  line: number;
  loginId: string;
  displayName?: string;
  section?: string | null;
  groups?: string[];
  validFrom?: string | null;
  validTo?: string | null;
  disabled?: boolean;
  initialPassword?: string;
}

export interface ParsedStaffCsv {
  fileName: string;
  encoding: 'utf8' | 'cp932';
  rows: StaffCsvRow[];
  /** At most MAX_LISTED_ERRORS, then one line saying how many more there are. */
  errors: ImportError[];
  /** Errors found beyond those listed. */
  moreErrors?: number;
}

/** The header names, in the order of the template. */
export const STAFF_CSV_COLUMNS = {
  loginId: 'ログインID',
  displayName: '氏名',
  section: '所属',
  groups: 'グループ',
  validFrom: '有効期間開始',
  validTo: '有効期間終了',
  status: '状態',
  initialPassword: '初期パスワード',
} as const;
type ColumnKey = keyof typeof STAFF_CSV_COLUMNS;

/** The state of one account as far as the import is concerned. */
export interface StaffFields {
  displayName: string;
  section: string | null;
  /** Group codes, sorted. */
  groups: string[];
  validFrom: string | null;
  validTo: string | null;
  disabled: boolean;
}
export type StaffField = keyof StaffFields;

export const STAFF_FIELD_LABELS: Readonly<Record<StaffField, string>> = {
  displayName: '氏名',
  section: '所属',
  groups: 'グループ',
  validFrom: '有効期間開始',
  validTo: '有効期間終了',
  disabled: '状態',
};

export type StaffChange =
  | { kind: 'add'; line: number; loginId: string; after: StaffFields; password: string; passwordFrom: 'file' | 'generated' }
  | {
      kind: 'update' | 'disable';
      line: number;
      loginId: string;
      staffId: number;
      before: StaffFields;
      after: StaffFields;
      fields: StaffField[];
    }
  | { kind: 'unchanged'; line: number; loginId: string; staffId: number };

export interface StaffImportPlan {
  /** The file the rows came from (for the `staff.import` audit record), when known. */
  fileName: string | null;
  changes: StaffChange[];
  /** Any error refuses the whole import. At most MAX_LISTED_ERRORS, then one line with the count of the others. */
  errors: ImportError[];
  /** Errors found beyond those listed. */
  moreErrors?: number;
  /** Things applied differently from what the file may suggest (never block). */
  warnings: ImportError[];
  /** Staff in the database that the file does not mention (left as they are). */
  notInFile: number;
}

export interface PlanOptions {
  /** Used when planning from bare rows. */
  fileName?: string;
  /** Rules an initial password from the file must meet (default: the shipped policy). */
  passwordPolicy?: PasswordPolicy;
}

/** Refusal to apply: errors in the plan, or the database changed after planning. */
export class StaffImportError extends Error {
  constructor(
    message: string,
    readonly errors: ImportError[] = [],
  ) {
    super(message);
    this.name = 'StaffImportError';
  }
}

const LOGIN_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
const DATE_RE = /^([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})$/;
const GROUP_SEPARATORS = /[;；、,，\s]+/u;
const CLEAR_TOKENS = new Set(['-', '－', 'ー', '―']);
const MAX_TEXT = 100;

/**
 * Data rows one file may hold: a large city's whole staff (about 10,000 with the schools and the
 * hospital) fits; more is refused (413) before anything is compared. With 2 MB of bytes
 * (`MAX_STAFF_IMPORT_BYTES`) this bounds the memory of a dry run.
 */
export const MAX_STAFF_ROWS = 10_000;
/** Bytes of one staff CSV: 10,000 rows of about 100 bytes, twice over. */
export const MAX_STAFF_IMPORT_BYTES = 2 * 1024 * 1024;
/** Errors listed for the administrator; the others are counted in one line. */
export const MAX_LISTED_ERRORS = 100;
const MAX_GROUPS_PER_ROW = 20;
/** Longest file value quoted back in a message. */
const MAX_ECHO = 40;
const clip = (s: string): string => {
  const head = [...s.slice(0, MAX_ECHO * 2 + 2)];
  return head.length > MAX_ECHO ? head.slice(0, MAX_ECHO).join('') + '…' : s;
};

/** Errors, listing the first MAX_LISTED_ERRORS and counting the rest. */
class ErrorList {
  private readonly items: ImportError[] = [];
  private firstUnlisted: number | null = null;
  count = 0;
  constructor(already: readonly ImportError[] = [], more = 0) {
    for (const e of already) this.push(e);
    this.count += more;
  }
  get listed(): number {
    return this.items.length;
  }
  push(e: ImportError): void {
    this.count++;
    if (this.items.length < MAX_LISTED_ERRORS) this.items.push(e);
    else this.firstUnlisted ??= e.line;
  }
  /** The listed errors in line order, with one more line for those not listed. */
  list(): ImportError[] {
    const out = [...this.items].sort((a, b) => a.line - b.line);
    const more = this.count - this.items.length;
    if (more > 0)
      out.push({
        line: this.firstUnlisted ?? out[out.length - 1]?.line ?? 1,
        column: null,
        message: `ほかにも ${more.toLocaleString('ja-JP')} 件の誤りがあります (最初の ${MAX_LISTED_ERRORS} 件だけを示しています)`,
      });
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing

const EXCEL_HINT = ' (Excel では「CSV UTF-8 (コンマ区切り)」か「CSV (コンマ区切り)」で保存します)';

/** UTF-8 by BOM or by strict validity, else CP932 (Excel's "CSV (コンマ区切り)"); see text/. */
function decode(bytes: Buffer): { text: string; encoding: 'utf8' | 'cp932'; error?: string; line?: number } {
  try {
    const { text, encoding } = decodeText(bytes);
    return { text, encoding: encoding.encoding };
  } catch (e) {
    if (!(e instanceof TextEncodingError)) throw e;
    return {
      text: '',
      encoding: e.kind === 'undecodable' ? 'cp932' : 'utf8',
      ...(e.line !== undefined ? { line: e.line } : {}),
      error: e.reason + EXCEL_HINT,
    };
  }
}

/** Header names compare without spaces and width differences (「ログイン ID」「ログインＩＤ」). */
const headerKey = (s: string): string => s.normalize('NFKC').replace(/\s+/g, '');
const HEADER_LOOKUP = new Map<string, ColumnKey>(
  (Object.entries(STAFF_CSV_COLUMNS) as [ColumnKey, string][]).map(([k, v]) => [headerKey(v), k]),
);

function parseDate(raw: string): string | undefined {
  const m = DATE_RE.exec(raw.normalize('NFKC'));
  if (!m) return undefined;
  const value = `${m[1]}-${m[2]!.padStart(2, '0')}-${m[3]!.padStart(2, '0')}`;
  return isCalendarDate(value) ? value : undefined;
}

/**
 * Reads the file: encoding, CSV syntax, header and the format of each cell. Rows with an error
 * are left out of `rows`; every error names its physical line (header = 1) and column.
 *
 * Bounded in memory whatever the file holds: records are read one at a time (no per-row parser
 * objects), at most `MAX_STAFF_ROWS` data rows (more is refused with `staff.importTooManyRows`,
 * 413), at most `MAX_LISTED_ERRORS` errors listed (then one line with the count of the others),
 * one error per row for cells without a header, and values echoed in messages are shortened.
 */
export function parseStaffCsv(bytes: Buffer, fileName: string): ParsedStaffCsv {
  const decoded = decode(bytes);
  const result: ParsedStaffCsv = { fileName, encoding: decoded.encoding, rows: [], errors: [] };
  if (decoded.error) {
    result.errors.push({ line: decoded.line ?? 1, column: null, message: decoded.error });
    return result;
  }
  const errors = new ErrorList();
  // One line-end convention (a lone CR is a line end too), so that lines are physical lines.
  const records = csvRecordsOf(decoded.text.replace(/\r\n?/g, '\n'));
  let header: { cells: string[]; line: number } | undefined;
  let columns: (ColumnKey | null)[] = [];
  let dataRows = 0;
  const firstLine = new Map<string, number>();
  try {
    for (const record of records) {
      const cells = record.fields;
      const line = record.line;
      if (!cells.some((c) => c.trim() !== '')) continue;
      if (!header) {
        header = { cells, line };
        columns = headerColumns(header, errors);
        if (errors.count) break;
        continue;
      }
      if (++dataRows > MAX_STAFF_ROWS)
        throw new DomainError('staff.importTooManyRows', { limit: MAX_STAFF_ROWS.toLocaleString('ja-JP'), line });
      const row = parseRow(cells, line, columns, firstLine, errors);
      if (row) result.rows.push(row);
    }
  } catch (e) {
    if (!(e instanceof CsvSyntaxError)) throw e;
    errors.push({ line: e.line, column: null, message: `CSV の形式が不正です: ${e.message}` });
  }
  if (!header && !errors.count) errors.push({ line: 1, column: null, message: '見出し行がありません (空のファイルです)' });
  result.errors = errors.list();
  if (errors.count > errors.listed) result.moreErrors = errors.count - errors.listed;
  return result;
}

/** Header: known names in any order, each once; ログインID required. */
function headerColumns(header: { cells: string[]; line: number }, errors: ErrorList): (ColumnKey | null)[] {
  const columns: (ColumnKey | null)[] = [];
  const seen = new Set<ColumnKey>();
  for (const [i, rawName] of header.cells.entries()) {
    const name = rawName.trim();
    if (name === '') {
      columns.push(null);
      continue;
    }
    const key = HEADER_LOOKUP.get(headerKey(name));
    if (!key) {
      const hint = name.includes('\t')
        ? ' (タブ区切りのようです。コンマ区切りの CSV で保存してください)'
        : ` (使える列: ${Object.values(STAFF_CSV_COLUMNS).join('、')})`;
      errors.push({ line: header.line, column: clip(name), message: `列「${clip(name)}」は知らない列です${hint}` });
    } else if (seen.has(key)) {
      errors.push({ line: header.line, column: name, message: `列「${STAFF_CSV_COLUMNS[key]}」が 2 回あります (${i + 1} 列目)` });
    } else seen.add(key);
    columns.push(key ?? null);
  }
  if (!seen.has('loginId') && !errors.count) {
    errors.push({
      line: header.line,
      column: STAFF_CSV_COLUMNS.loginId,
      message: `見出し行に「${STAFF_CSV_COLUMNS.loginId}」の列がありません`,
    });
  }
  return columns;
}

/** One data row, or undefined when it has errors (added to `list`). */
function parseRow(
  cells: readonly string[],
  line: number,
  columns: readonly (ColumnKey | null)[],
  firstLine: Map<string, number>,
  list: ErrorList,
): StaffCsvRow | undefined {
  let failed = false;
  const err = (key: ColumnKey | null, message: string) => {
    failed = true;
    list.push({ line, column: key ? STAFF_CSV_COLUMNS[key] : null, message });
  };
  const cell: Partial<Record<ColumnKey, string>> = {};
  let stray = -1;
  for (const [i, value] of cells.entries()) {
    const key = columns[i];
    if (key) cell[key] = value.trim();
    else if (stray < 0 && value.trim() !== '') stray = i;
  }
  // One error for the row, however many cells lie outside the header.
  if (stray >= 0) err(null, `見出しのない ${stray + 1} 列目に値があります (コンマの入った値は "" で囲んでください)`);
  const row: StaffCsvRow = { line, loginId: (cell.loginId ?? '').normalize('NFKC') };
  if (!row.loginId) err('loginId', 'ログインIDがありません');
  else if (!LOGIN_ID_RE.test(row.loginId))
    err('loginId', `ログインID「${clip(row.loginId)}」は使えません (半角英数字と . _ - で 64 文字以内)`);
  else {
    const key = row.loginId.toLowerCase();
    const first = firstLine.get(key);
    if (first !== undefined) err('loginId', `ログインID「${row.loginId}」は ${first} 行目と重複しています`);
    else firstLine.set(key, line);
  }
  for (const key of ['displayName', 'section'] as const) {
    const v = cell[key];
    if (v === undefined || v === '') continue;
    if (/[\n\t]/.test(v)) err(key, `${STAFF_CSV_COLUMNS[key]}に改行やタブは使えません`);
    else if (codePointLength(v) > MAX_TEXT) err(key, `${STAFF_CSV_COLUMNS[key]}は ${MAX_TEXT} 文字以内にしてください`);
    else if (key === 'section' && CLEAR_TOKENS.has(v)) row.section = null;
    else if (key === 'displayName' && CLEAR_TOKENS.has(v)) err(key, '氏名は消せません');
    else row[key] = v;
  }
  if (cell.groups) {
    const codes = [...new Set(cell.groups.normalize('NFKC').split(GROUP_SEPARATORS).filter(Boolean))];
    if (codes.length > MAX_GROUPS_PER_ROW)
      err('groups', `グループは 1 人 ${MAX_GROUPS_PER_ROW} 個までにしてください (${codes.length} 個あります)`);
    else if (codes.length) row.groups = codes.sort();
  }
  for (const key of ['validFrom', 'validTo'] as const) {
    const v = cell[key];
    if (v === undefined || v === '') continue;
    if (CLEAR_TOKENS.has(v)) row[key] = null;
    else {
      const date = parseDate(v);
      if (date) row[key] = date;
      else err(key, `${STAFF_CSV_COLUMNS[key]}「${clip(v)}」は日付として読めません (YYYY-MM-DD または YYYY/MM/DD)`);
    }
  }
  if (row.validFrom && row.validTo && row.validFrom > row.validTo)
    err('validFrom', `有効期間開始 (${row.validFrom}) が有効期間終了 (${row.validTo}) より後です`);
  if (cell.status) {
    if (cell.status === '有効') row.disabled = false;
    else if (cell.status === '無効') row.disabled = true;
    else err('status', `状態「${clip(cell.status)}」は使えません (「有効」か「無効」、空欄)`);
  }
  if (cell.initialPassword) row.initialPassword = cell.initialPassword;
  return failed ? undefined : row;
}

// ---------------------------------------------------------------------------------------------
// Planning

interface DbStaff {
  id: number;
  loginId: string;
  fields: StaffFields;
}

async function loadStaff(db: Knex | Knex.Transaction): Promise<Map<string, DbStaff>> {
  const rows = (await db('staff').select('id', 'login_id', 'display_name', 'section', 'valid_from', 'valid_to', 'disabled')) as Record<
    string,
    unknown
  >[];
  const members = (await db('staff_group_members')
    .join('staff_groups', 'staff_groups.id', 'staff_group_members.group_id')
    .select('staff_group_members.staff_id', 'staff_groups.code')) as { staff_id: number; code: string }[];
  const groupsOf = new Map<number, string[]>();
  for (const m of members) {
    const id = Number(m.staff_id);
    groupsOf.set(id, [...(groupsOf.get(id) ?? []), m.code]);
  }
  const out = new Map<string, DbStaff>();
  for (const r of rows) {
    const id = Number(r.id);
    out.set(String(r.login_id), {
      id,
      loginId: String(r.login_id),
      fields: {
        displayName: String(r.display_name),
        section: (r.section as string | null) ?? null,
        groups: (groupsOf.get(id) ?? []).sort(),
        validFrom: (r.valid_from as string | null) ?? null,
        validTo: (r.valid_to as string | null) ?? null,
        disabled: Boolean(r.disabled),
      },
    });
  }
  return out;
}

const sameFieldValue = (a: StaffFields, b: StaffFields, f: StaffField): boolean =>
  f === 'groups' ? a.groups.join('\n') === b.groups.join('\n') : a[f] === b[f];
const FIELD_ORDER: readonly StaffField[] = ['displayName', 'section', 'groups', 'validFrom', 'validTo', 'disabled'];

function generatedPassword(loginId: string, policy: PasswordPolicy): string {
  let p = randomPassword(14);
  for (let i = 0; i < 20 && passwordProblems(p, policy, loginId).length; i++) p = randomPassword(14);
  return p;
}

/**
 * Compares the rows with the database, without changing it. Takes either a parse result (its
 * errors and file name are carried into the plan) or bare rows.
 */
export async function planStaffImport(
  knex: Knex,
  input: StaffCsvRow[] | ParsedStaffCsv,
  options: PlanOptions = {},
): Promise<StaffImportPlan> {
  const parsed = Array.isArray(input) ? undefined : input;
  const rows = Array.isArray(input) ? input : input.rows;
  const policy = options.passwordPolicy ?? defaultPasswordPolicy;
  const plan: StaffImportPlan = {
    fileName: parsed?.fileName ?? options.fileName ?? null,
    changes: [],
    errors: [],
    warnings: [],
    notInFile: 0,
  };
  const existing = await loadStaff(knex);
  const byLower = new Map([...existing.values()].map((s) => [s.loginId.toLowerCase(), s]));
  // The default groups count as known: they are created on first use, as createStaff does.
  const groupCodes = new Set([...((await knex('staff_groups').pluck('code')) as string[]), ...defaultGroups.map((g) => g.code)]);
  const known = [...groupCodes].sort().join(', ');
  const errorList = new ErrorList(parsed?.moreErrors ? parsed.errors.slice(0, -1) : (parsed?.errors ?? []), parsed?.moreErrors ?? 0);
  const mentioned = new Set<number>();
  const seenInRows = new Set<string>();

  for (const row of rows) {
    const errors: ImportError[] = [];
    const err = (key: ColumnKey | null, message: string) =>
      errors.push({ line: row.line, column: key ? STAFF_CSV_COLUMNS[key] : null, message });
    if (seenInRows.has(row.loginId.toLowerCase())) err('loginId', `ログインID「${row.loginId}」がファイル内で重複しています`);
    seenInRows.add(row.loginId.toLowerCase());
    const unknown = (row.groups ?? []).filter((code) => !groupCodes.has(code));
    if (unknown.length) err('groups', `${unknown.map((code) => `グループ「${clip(code)}」`).join('、')}はありません (登録済み: ${known})`);
    const current = existing.get(row.loginId);
    const caseOnly = current ? undefined : byLower.get(row.loginId.toLowerCase());
    if (caseOnly)
      err(
        'loginId',
        `ログインID「${row.loginId}」は既存の「${caseOnly.loginId}」と大文字・小文字だけが違います (同じ ID として扱えないため、既存の表記に合わせてください)`,
      );

    if (!current) {
      if (!row.displayName) err('displayName', '新しい職員には氏名が必要です');
      if (!row.groups?.length) err('groups', '新しい職員にはグループを 1 つ以上指定してください');
      if (row.initialPassword !== undefined) {
        const problems = passwordProblems(row.initialPassword, policy, row.loginId);
        if (problems.length) err('initialPassword', `初期パスワードが規則を満たしていません: ${problems.join('。')}`);
      }
      if (errors.length) {
        for (const e of errors) errorList.push(e);
        continue;
      }
      plan.changes.push({
        kind: 'add',
        line: row.line,
        loginId: row.loginId,
        after: {
          displayName: row.displayName!,
          section: row.section ?? null,
          groups: [...row.groups!],
          validFrom: row.validFrom ?? null,
          validTo: row.validTo ?? null,
          disabled: row.disabled ?? false,
        },
        password: row.initialPassword ?? generatedPassword(row.loginId, policy),
        passwordFrom: row.initialPassword !== undefined ? 'file' : 'generated',
      });
      continue;
    }

    mentioned.add(current.id);
    const before = current.fields;
    const after: StaffFields = {
      displayName: row.displayName ?? before.displayName,
      section: row.section !== undefined ? row.section : before.section,
      groups: row.groups ? [...row.groups] : [...before.groups],
      validFrom: row.validFrom !== undefined ? row.validFrom : before.validFrom,
      validTo: row.validTo !== undefined ? row.validTo : before.validTo,
      disabled: row.disabled ?? before.disabled,
    };
    if (after.validFrom && after.validTo && after.validFrom > after.validTo) {
      err(
        row.validFrom !== undefined ? 'validFrom' : 'validTo',
        `有効期間開始 (${after.validFrom}) が有効期間終了 (${after.validTo}) より後になります`,
      );
    }
    if (errors.length) {
      for (const e of errors) errorList.push(e);
      continue;
    }
    if (row.initialPassword !== undefined) {
      plan.warnings.push({
        line: row.line,
        column: STAFF_CSV_COLUMNS.initialPassword,
        message: `${row.loginId} は登録済みのため初期パスワードは使いません (パスワードのリセットは職員管理画面で)`,
      });
    }
    const fields = FIELD_ORDER.filter((f) => !sameFieldValue(before, after, f));
    if (!fields.length) plan.changes.push({ kind: 'unchanged', line: row.line, loginId: row.loginId, staffId: current.id });
    else
      plan.changes.push({
        kind: !before.disabled && after.disabled ? 'disable' : 'update',
        line: row.line,
        loginId: row.loginId,
        staffId: current.id,
        before,
        after,
        fields,
      });
  }
  plan.notInFile = [...existing.values()].filter((s) => !mentioned.has(s.id)).length;
  plan.errors = errorList.list();
  if (errorList.count > errorList.listed) plan.moreErrors = errorList.count - errorList.listed;
  return plan;
}

// ---------------------------------------------------------------------------------------------
// The difference, for a person

const show = (f: StaffField, v: StaffFields): string => {
  if (f === 'groups') return v.groups.length ? v.groups.join(', ') : '(なし)';
  if (f === 'disabled') return v.disabled ? '無効' : '有効';
  const x = v[f];
  return x === null || x === '' ? '(なし)' : String(x);
};

/** Counts of the plan's changes by kind. */
export function countChanges(plan: Pick<StaffImportPlan, 'changes'>): { add: number; update: number; disable: number; unchanged: number } {
  const n = { add: 0, update: 0, disable: 0, unchanged: 0 };
  for (const c of plan.changes) n[c.kind]++;
  return n;
}

/**
 * One line per change (`+ 追加`, `~ 変更`, `- 無効化`), warnings (`! 注意`), then the counts.
 * Never shows a password.
 */
export function formatStaffDiff(plan: StaffImportPlan): string {
  const lines: string[] = [];
  for (const c of plan.changes) {
    if (c.kind === 'add') {
      const a = c.after;
      let s = `+ 追加 ${c.loginId} ${a.displayName}${a.section ? ` (${a.section})` : ''} グループ: ${show('groups', a)}`;
      if (a.validFrom || a.validTo) s += `; 有効期間: ${a.validFrom ?? ''}〜${a.validTo ?? ''}`;
      if (a.disabled) s += '; 状態: 無効';
      lines.push(s);
    } else if (c.kind === 'update' || c.kind === 'disable') {
      const parts = c.fields
        .filter((f) => c.kind === 'update' || f !== 'disabled')
        .map((f) => `${STAFF_FIELD_LABELS[f]}: ${show(f, c.before)} → ${show(f, c.after)}`);
      lines.push(
        c.kind === 'disable'
          ? `- 無効化 ${c.loginId} ${c.before.displayName}${parts.length ? `; ${parts.join('; ')}` : ''}`
          : `~ 変更 ${c.loginId} ${parts.join('; ')}`,
      );
    }
  }
  for (const w of plan.warnings) lines.push(`! 注意 ${w.line} 行目${w.column ? ` 列「${w.column}」` : ''}: ${w.message}`);
  const n = countChanges(plan);
  lines.push(`追加 ${n.add} 件、変更 ${n.update} 件、無効化 ${n.disable} 件、変更なし ${n.unchanged} 件`);
  if (plan.notInFile) lines.push(`ファイルにない職員 ${plan.notInFile} 人は変更しません`);
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Applying

/** Runs `fn` over the items, at most `limit` at a time, keeping the order of the results. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const canLogIn = (f: StaffFields, today: string): boolean =>
  !f.disabled && !(f.validFrom && today < f.validFrom) && !(f.validTo && today > f.validTo);

const STALE = (loginId: string) => `職員「${loginId}」の登録内容がドライランの後で変わりました。もう一度ドライランからやり直してください`;

/**
 * Applies the plan in one transaction: every added, changed and disabled account with its group
 * memberships and audit records, or nothing. Passwords are hashed before the transaction opens.
 * Sessions of accounts that can no longer log in (disabled, or outside the new validity period)
 * end. Refuses a plan with errors, and a plan that the database no longer matches.
 */
export async function applyStaffImport(
  knex: Knex,
  plan: StaffImportPlan,
  by: Omit<AuditEntry, 'action' | 'result'>,
): Promise<{ added: { loginId: string; password: string }[]; updated: number; disabled: number }> {
  if (plan.errors.length)
    throw new StaffImportError(
      `ファイルにエラーが ${(plan.errors.length + (plan.moreErrors ?? 0) - (plan.moreErrors ? 1 : 0)).toLocaleString('ja-JP')} 件あるため反映しません`,
      plan.errors,
    );
  const adds = plan.changes.filter((c): c is Extract<StaffChange, { kind: 'add' }> => c.kind === 'add');
  const edits = plan.changes.filter(
    (c): c is Extract<StaffChange, { kind: 'update' | 'disable' }> => c.kind === 'update' || c.kind === 'disable',
  );
  // scrypt is slow and memory-hard: two at a time, and never while holding the write lock.
  const hashes = await mapLimit(adds, 2, (c) => hashPassword(c.password));
  const needed = new Set(
    plan.changes.flatMap((c) => (c.kind === 'add' || c.kind === 'update' || c.kind === 'disable' ? c.after.groups : [])),
  );
  const present = new Set((await knex('staff_groups').pluck('code')) as string[]);
  if (defaultGroups.some((g) => needed.has(g.code) && !present.has(g.code))) await ensureDefaultGroups(knex);
  const now = new Date();
  const today = todayInJapan(now);
  const touched: string[] = [];

  await knex.transaction(async (trx) => {
    const groupRows = (await trx('staff_groups').select('id', 'code')) as { id: number; code: string }[];
    const groupId = new Map(groupRows.map((g) => [g.code, Number(g.id)]));
    const idOf = (code: string): number => {
      const id = groupId.get(code);
      if (id === undefined)
        throw new StaffImportError(`グループ「${code}」がドライランの後で削除されました。もう一度ドライランからやり直してください`);
      return id;
    };

    for (const [i, c] of adds.entries()) {
      const clash = (await trx('staff').whereRaw('lower(login_id) = ?', [c.loginId.toLowerCase()]).first('id')) as unknown;
      if (clash)
        throw new StaffImportError(`ログインID「${c.loginId}」はドライランの後で登録されました。もう一度ドライランからやり直してください`);
      const a = c.after;
      const id = await insertReturningId(trx, 'staff', {
        login_id: c.loginId,
        display_name: a.displayName,
        section: a.section,
        password_hash: hashes[i],
        password_changed_at: now,
        must_change_password: true,
        valid_from: a.validFrom,
        valid_to: a.validTo,
        disabled: a.disabled,
        created_at: now,
      });
      for (const code of a.groups) await trx('staff_group_members').insert({ staff_id: id, group_id: idOf(code) });
      await trx('staff_password_history').insert({ staff_id: id, password_hash: hashes[i], changed_at: now });
      await appendAudit(
        trx,
        {
          ...by,
          action: 'staff.create',
          targetKind: 'staff',
          targetIds: [String(id)],
          result: 'success',
          detail: { loginId: c.loginId, groups: a.groups, ...(a.disabled ? { disabled: true } : {}), source: 'import' },
        },
        now,
      );
      touched.push(String(id));
    }

    const current = await loadStaff(trx);
    for (const c of edits) {
      const db = current.get(c.loginId);
      if (!db || db.id !== c.staffId || FIELD_ORDER.some((f) => !sameFieldValue(db.fields, c.before, f)))
        throw new StaffImportError(STALE(c.loginId));
      const a = c.after;
      const columns: Record<string, unknown> = {};
      if (c.fields.includes('displayName')) columns.display_name = a.displayName;
      if (c.fields.includes('section')) columns.section = a.section;
      if (c.fields.includes('validFrom')) columns.valid_from = a.validFrom;
      if (c.fields.includes('validTo')) columns.valid_to = a.validTo;
      if (c.fields.includes('disabled')) columns.disabled = a.disabled;
      if (Object.keys(columns).length) await trx('staff').where({ id: c.staffId }).update(columns);
      if (c.fields.includes('groups')) {
        await trx('staff_group_members').where({ staff_id: c.staffId }).del();
        for (const code of a.groups) await trx('staff_group_members').insert({ staff_id: c.staffId, group_id: idOf(code) });
      }
      const endSessions = !canLogIn(a, today);
      if (endSessions) await trx('staff_sessions').where({ staff_id: c.staffId }).del();
      const detail: Record<string, unknown> = { loginId: c.loginId, fields: c.fields, source: 'import' };
      if (c.fields.includes('groups')) {
        detail.groups = a.groups;
        detail.groupsAdded = a.groups.filter((g) => !c.before.groups.includes(g));
        detail.groupsRemoved = c.before.groups.filter((g) => !a.groups.includes(g));
      }
      if (endSessions) detail.sessionsEnded = true;
      await appendAudit(
        trx,
        {
          ...by,
          action: c.kind === 'disable' ? 'staff.disable' : 'staff.update',
          targetKind: 'staff',
          targetIds: [String(c.staffId)],
          result: 'success',
          detail,
        },
        now,
      );
      touched.push(String(c.staffId));
    }

    const n = countChanges(plan);
    await appendAudit(
      trx,
      {
        ...by,
        action: 'staff.import',
        targetKind: 'staff',
        targetIds: touched,
        result: 'success',
        detail: {
          file: plan.fileName ? path.basename(plan.fileName).slice(0, 200) : null,
          added: n.add,
          updated: n.update,
          disabled: n.disable,
          unchanged: n.unchanged,
          notInFile: plan.notInFile,
        },
      },
      now,
    );
  });

  return {
    added: adds.map((c) => ({ loginId: c.loginId, password: c.password })),
    updated: edits.filter((c) => c.kind === 'update').length,
    disabled: edits.filter((c) => c.kind === 'disable').length,
  };
}

/**
 * Writes the initial passwords of added staff to a new file that only its owner can read (CSV,
 * UTF-8 with BOM for Excel). Never overwrites: an existing file is an error.
 */
export function writeInitialPasswords(file: string, entries: readonly { loginId: string; displayName: string; password: string }[]): void {
  mkdirSync(path.dirname(file), { recursive: true });
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new StaffImportError(`初期パスワードのファイル ${file} は既にあります (上書きしません)`);
    throw e;
  }
  try {
    fchmodSync(fd, 0o600);
    writeSync(
      fd,
      csvText(
        ['ログインID', '氏名', '初期パスワード'],
        entries.map((e) => [e.loginId, e.displayName, e.password]),
        { bom: true },
      ),
    );
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `YYYYMMDDHHmmss` in Japan time, for the default passwords file name. */
export function japanTimestamp(now: Date = new Date()): string {
  return japanStamp(now).replace('-', '');
}
