/**
 * Fee calculation for a certificate request (issue 7 item 1, J-36). Pure: the catalog comes from
 * catalog.ts (`config/fees.yaml`), the request from the counter screen.
 *
 * A request holds lines; each line is one certificate type for one subject (person or, for a
 * household certificate, the household), so several persons and several types go in one request.
 * The amount of a line is fee × copies (× items for unit 件 / 筆), or 0 when the line's purpose is
 * one of the type's exempt purposes.
 */
import { chargedPerItem, type CertificateCatalog, type CertificateOption, type CertificateType } from './catalog.js';

/** Who the certificate is about: the resident's addressee number, and/or a label (name). */
export interface CertificateSubject {
  addresseeNo?: string;
  label?: string;
}

export type OptionValue = boolean | string | number;

export interface CertificateRequestLine {
  typeId: string;
  subject: CertificateSubject;
  copies: number;
  /** Number of items (土地の筆・家屋の棟) for types with unit 件 / 筆. */
  items?: number;
  purposeId: string;
  options?: Record<string, OptionValue>;
}

export interface CertificateRequest {
  lines: CertificateRequestLine[];
}

export interface PricedLine {
  typeId: string;
  name: string;
  subject: CertificateSubject;
  copies: number;
  /** Only for types charged per item. */
  items?: number;
  unit: string;
  purposeId: string;
  /** Yen per copy (per item and copy for 件 / 筆). */
  unitFee: number;
  exempt: boolean;
  /** Why the fee is exempted (set when exempt). */
  exemptReason?: string;
  amount: number;
  /** Every option of the type, with defaults filled in (a year not given stays absent). */
  options: Record<string, OptionValue>;
}

export interface PricedRequest {
  lines: PricedLine[];
  total: number;
}

export interface RequestProblem {
  /** Index of the line in the request; -1 for the request as a whole. */
  line: number;
  /** The field the problem is about, e.g. `copies`, `options.year`. */
  field: string;
  message: string;
}

/** The request cannot be priced: every problem, in Japanese, with the line it is on. */
export class CertificateRequestError extends Error {
  constructor(readonly problems: RequestProblem[]) {
    super(problems.map((p) => (p.line >= 0 ? `${p.line + 1} 行目: ${p.message}` : p.message)).join('\n'));
    this.name = 'CertificateRequestError';
  }
}

/** Years accepted for a 年度 option (西暦). */
export const MIN_YEAR = 1989;
export const MAX_YEAR = 2200;
/** Most items (筆・棟) one line may carry. */
export const MAX_ITEMS = 9999;

function subjectText(s: CertificateSubject): string {
  return s.label || (s.addresseeNo ? `宛名番号 ${s.addresseeNo}` : '対象者不明');
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n);
}

function checkOption(o: CertificateOption, v: OptionValue, type: CertificateType, problem: (field: string, message: string) => void): void {
  const field = `options.${o.id}`;
  if (o.type === 'boolean') {
    if (typeof v !== 'boolean') problem(field, `「${type.name}」の「${o.label}」は する (true)・しない (false) で指定してください`);
  } else if (o.type === 'choice') {
    const choices = o.choices ?? [];
    if (typeof v !== 'string' || !choices.some((c) => c.value === v))
      problem(
        field,
        `「${type.name}」の「${o.label}」に「${String(v)}」は選べません。選べるのは ${choices.map((c) => `${c.value} (${c.label})`).join(', ')} です`,
      );
  } else if (!isCount(v) || v < MIN_YEAR || v > MAX_YEAR) {
    problem(field, `「${type.name}」の「${o.label}」は西暦の年度 (例: 2025) で指定してください (${String(v)} は使えません)`);
  }
}

/**
 * Prices a request. Throws CertificateRequestError listing every problem: unknown type or
 * purpose, copies outside 1..maxCopies, items missing or not allowed, a required option (年度)
 * missing, an option the type does not have (e.g. showMyNumber on a type that cannot show it),
 * an option value of the wrong kind.
 */
export function priceRequest(catalog: CertificateCatalog, request: CertificateRequest): PricedRequest {
  const problems: RequestProblem[] = [];
  if (request.lines.length === 0) problems.push({ line: -1, field: 'lines', message: '請求する証明書がありません' });
  const lines: PricedLine[] = [];

  request.lines.forEach((req, index) => {
    const before = problems.length;
    const problem = (field: string, message: string) => problems.push({ line: index, field, message });

    if (!req.subject || (!req.subject.addresseeNo && !req.subject.label))
      problem('subject', '対象者 (宛名番号または氏名) を指定してください');
    const type = catalog.typeById.get(req.typeId);
    if (!type) {
      problem(
        'typeId',
        `証明書の種類「${req.typeId}」はありません。使えるのは ${catalog.certificates.map((c) => `${c.id} (${c.name})`).join(', ')} です`,
      );
      return;
    }
    const who = req.subject ? subjectText(req.subject) : '対象者不明';

    if (!isCount(req.copies) || req.copies < 1 || req.copies > catalog.maxCopies)
      problem(
        'copies',
        `「${type.name}」(${who}) の通数は 1 から ${catalog.maxCopies} までの整数で指定してください (${String(req.copies)} は使えません)`,
      );

    const perItem = chargedPerItem(type);
    if (perItem) {
      if (req.items === undefined)
        problem('items', `「${type.name}」(${who}) は ${type.unit}数 (items) を指定してください (1 ${type.unit}ごとに ${type.fee} 円)`);
      else if (!isCount(req.items) || req.items < 1 || req.items > MAX_ITEMS)
        problem(
          'items',
          `「${type.name}」(${who}) の${type.unit}数は 1 から ${MAX_ITEMS} までの整数で指定してください (${String(req.items)} は使えません)`,
        );
    } else if (req.items !== undefined) {
      problem('items', `「${type.name}」は通数で数える証明書なので、件数 (items) は指定できません`);
    }

    const purpose = catalog.purposeById.get(req.purposeId);
    if (!purpose)
      problem(
        'purposeId',
        `請求の目的「${req.purposeId}」はありません。使えるのは ${catalog.purposes.map((p) => `${p.id} (${p.label})`).join(', ')} です`,
      );

    const given = req.options ?? {};
    const options: Record<string, OptionValue> = {};
    for (const [key, v] of Object.entries(given)) {
      const o = type.options.find((x) => x.id === key);
      if (!o) {
        if (key === 'showMyNumber') problem('options.showMyNumber', `「${type.name}」には個人番号 (マイナンバー) を記載できません`);
        else {
          const allowed = type.options.map((x) => `${x.id} (${x.label})`);
          problem(
            `options.${key}`,
            `「${type.name}」に項目「${key}」はありません。${allowed.length ? `指定できるのは ${allowed.join(', ')} です` : 'この証明書に選べる項目はありません'}`,
          );
        }
        continue;
      }
      checkOption(o, v, type, problem);
      options[key] = v;
    }
    for (const o of type.options) {
      if (given[o.id] !== undefined) continue;
      // A required option is never filled in from its default: the default is what the screen
      // preselects for staff to see; a request that names no value (the API) is refused, not guessed.
      if (o.required)
        problem(
          `options.${o.id}`,
          o.type === 'year'
            ? `「${type.name}」(${who}) は${o.label}を指定してください`
            : `「${type.name}」(${who}) の「${o.label}」を選んでください`,
        );
      else if (o.default !== undefined) options[o.id] = o.default;
      else if (o.type === 'boolean') options[o.id] = false;
    }

    if (problems.length > before || !purpose) return;
    const exempt = type.fee > 0 && type.exemptPurposes.includes(purpose.id);
    const amount = exempt ? 0 : type.fee * req.copies * (perItem ? req.items! : 1);
    const line: PricedLine = {
      typeId: type.id,
      name: type.name,
      subject: req.subject,
      copies: req.copies,
      unit: type.unit,
      purposeId: purpose.id,
      unitFee: type.fee,
      exempt,
      amount,
      options,
    };
    if (perItem) line.items = req.items!;
    if (exempt) line.exemptReason = purpose.exemptReason ?? `${purpose.label}のため手数料免除`;
    lines.push(line);
  });

  if (problems.length) throw new CertificateRequestError(problems);
  return { lines, total: lines.reduce((sum, l) => sum + l.amount, 0) };
}
