/**
 * The certificate catalog: `config/fees.yaml`, edited by the municipality (issue 7 item 1,
 * I-31..35 / J-36). Certificate types with their fee, unit and options, the purposes of a
 * request, and which purposes make a type free (手数料免除).
 *
 * Pricing a request from the catalog is in fees.ts (pure).
 */
import path from 'node:path';
import { loadYaml, ConfigError, type ConfigIssue, type YamlSource } from '../config/yamlFile.js';

/** The file under the config directory. */
export const FEES_FILE = 'fees.yaml';

export const certificateUnits = ['通', '件', '筆'] as const;
export type CertificateUnit = (typeof certificateUnits)[number];

export const optionTypes = ['boolean', 'choice', 'year'] as const;
export type CertificateOptionType = (typeof optionTypes)[number];

export interface CertificateOptionChoice {
  value: string;
  label: string;
}

export interface CertificateOption {
  id: string;
  label: string;
  type: CertificateOptionType;
  /** For `choice`. */
  choices?: CertificateOptionChoice[];
  /** boolean for `boolean`, a choice value for `choice`; `year` has none (the loader refuses one). */
  default?: boolean | string | number;
  /** `choice` and `year` only: the request must give a value. */
  required: boolean;
}

export interface CertificateType {
  id: string;
  name: string;
  section: string;
  /** Yen per copy (unit 通) or per item and copy (unit 件 / 筆). */
  fee: number;
  unit: CertificateUnit;
  /** Purpose ids for which this type is free. */
  exemptPurposes: string[];
  options: CertificateOption[];
}

export interface CertificatePurpose {
  id: string;
  label: string;
  /** Shown on the request and the screen when the purpose exempts the fee. */
  exemptReason?: string;
}

export interface CertificateCatalog {
  file: string;
  maxCopies: number;
  purposes: CertificatePurpose[];
  certificates: CertificateType[];
  purposeById: ReadonlyMap<string, CertificatePurpose>;
  typeById: ReadonlyMap<string, CertificateType>;
}

interface FeesFile {
  maxCopies: number;
  purposes: CertificatePurpose[];
  certificates: CertificateType[];
}

/** True when the fee is charged per item (件 / 筆: 資産税証明 per 筆・棟) as well as per copy. */
export function chargedPerItem(type: CertificateType): boolean {
  return type.unit !== '通';
}

const ID_PATTERN = '^[a-z][A-Za-z0-9]*$';
const idSchema = { type: 'string', pattern: ID_PATTERN, maxLength: 64 } as const;
const text = { type: 'string', minLength: 1, maxLength: 200 } as const;

export const feesFileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['purposes', 'certificates'],
  properties: {
    maxCopies: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
    purposes: { type: 'array', minItems: 1, items: { $ref: '#/definitions/purpose' } },
    certificates: { type: 'array', minItems: 1, items: { $ref: '#/definitions/certificate' } },
  },
  definitions: {
    purpose: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'label'],
      properties: { id: idSchema, label: text, exemptReason: text },
    },
    certificate: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'name', 'section', 'fee', 'unit'],
      properties: {
        id: idSchema,
        name: { type: 'string', minLength: 1, maxLength: 100 },
        section: text,
        fee: { type: 'integer', minimum: 0, maximum: 100000 },
        unit: { type: 'string', enum: [...certificateUnits] },
        exemptPurposes: { type: 'array', default: [], items: idSchema },
        options: { type: 'array', default: [], items: { $ref: '#/definitions/option' } },
      },
    },
    option: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'label', 'type'],
      properties: {
        id: idSchema,
        label: text,
        type: { type: 'string', enum: [...optionTypes] },
        choices: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['value', 'label'],
            properties: { value: idSchema, label: text },
          },
        },
        default: { type: ['boolean', 'string', 'integer'] },
        required: { type: 'boolean', default: false },
      },
    },
  },
} as const;

type Segments = (string | number)[];

const enumHints: Record<string, readonly string[]> = { unit: certificateUnits, type: optionTypes };

/** Plainer Japanese than ajv-i18n's generic wording, by the key the issue is about. */
function explain(issue: ConfigIssue): ConfigIssue {
  const last =
    issue.path
      .replace(/\[[0-9]+\]$/, '')
      .split('.')
      .pop() ?? '';
  let reason = issue.reason;
  if (last === 'fee' && reason === '必須の項目がありません') {
    reason = '手数料 (fee) がありません。1 通あたりの円を書いてください (無料は 0)';
  } else if (last === 'fee') {
    reason = `手数料 (fee) は 0 以上の整数 (円) で書いてください (例: 300。無料は 0)`;
  } else if (last === 'maxCopies') {
    reason = '通数の上限 (maxCopies) は 1 から 100 までの整数で書いてください';
  } else if (reason.includes('のパターンと一致しなければいけない')) {
    reason = 'ID は英小文字で始まる英数字 (例: residentCopy) で書いてください';
  } else if (reason.startsWith('事前に定義された値') && enumHints[last]) {
    reason = `使える値ではありません。使えるのは ${enumHints[last]!.join(', ')} です`;
  } else if (reason === 'arrayでなければいけない') {
    reason = 'リスト ([a, b] または「- 」の並び) でなければいけません';
  } else if (reason === 'objectでなければいけない') {
    reason = '「キー: 値」の組でなければいけません';
  } else if (reason === 'booleanでなければいけない') {
    reason = 'true か false でなければいけません';
  } else if (reason === 'stringでなければいけない') {
    reason = '文字列でなければいけません (文字列の中に「: 」があると項目とみなされます。その場合は "…" で囲んでください)';
  }
  return reason === issue.reason ? issue : { ...issue, reason };
}

function checkFees(value: FeesFile, src: YamlSource): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const at = (segs: Segments, reason: string) => issues.push(src.issue(segs, reason));
  const line = (segs: Segments) => src.locate(segs).line;

  const purposeLine = new Map<string, number>();
  value.purposes.forEach((p, i) => {
    const first = purposeLine.get(p.id);
    if (first !== undefined) at(['purposes', i, 'id'], `目的の ID「${p.id}」が重複しています (${first} 行目でも使われています)`);
    else purposeLine.set(p.id, line(['purposes', i, 'id']));
  });
  const purposeIds = [...purposeLine.keys()];

  const typeLine = new Map<string, number>();
  value.certificates.forEach((c, i) => {
    const segs: Segments = ['certificates', i];
    const first = typeLine.get(c.id);
    if (first !== undefined) at([...segs, 'id'], `証明書の ID「${c.id}」が重複しています (${first} 行目でも使われています)`);
    else typeLine.set(c.id, line([...segs, 'id']));

    const seenExempt = new Set<string>();
    c.exemptPurposes.forEach((p, pi) => {
      if (!purposeLine.has(p))
        at([...segs, 'exemptPurposes', pi], `免除の目的「${p}」は purposes にありません。使えるのは ${purposeIds.join(', ')} です`);
      else if (seenExempt.has(p)) at([...segs, 'exemptPurposes', pi], `免除の目的「${p}」が 2 回書かれています`);
      seenExempt.add(p);
    });
    if (c.fee === 0 && c.exemptPurposes.length > 0)
      at([...segs, 'exemptPurposes'], `「${c.name}」は手数料が 0 円なので、免除の目的 (exemptPurposes) は書けません。[] にしてください`);

    const optionLine = new Map<string, number>();
    c.options.forEach((o, oi) => {
      const os: Segments = [...segs, 'options', oi];
      const firstOpt = optionLine.get(o.id);
      if (firstOpt !== undefined)
        at([...os, 'id'], `「${c.name}」の項目 ID「${o.id}」が重複しています (${firstOpt} 行目でも使われています)`);
      else optionLine.set(o.id, line([...os, 'id']));
      if (o.type === 'choice') {
        if (!o.choices || o.choices.length === 0)
          at([...os, 'type'], `項目「${o.label}」は選択式 (choice) ですが、choices (選択肢) がありません`);
        const values = (o.choices ?? []).map((ch) => ch.value);
        values.forEach((v, vi) => {
          if (values.indexOf(v) !== vi) at([...os, 'choices', vi, 'value'], `選択肢「${v}」が 2 回あります`);
        });
        if (o.default !== undefined && !values.includes(String(o.default)))
          at([...os, 'default'], `default「${String(o.default)}」は choices にありません。使えるのは ${values.join(', ')} です`);
      } else if (o.choices) {
        at([...os, 'choices'], `choices は選択式 (type: choice) の項目にだけ書けます (この項目は ${o.type})`);
      }
      if (o.type === 'boolean') {
        if (o.default !== undefined && typeof o.default !== 'boolean')
          at([...os, 'default'], `項目「${o.label}」の default は true か false で書いてください`);
        if (o.required)
          at([...os, 'required'], 'required は choice と year の項目にだけ書けます (する・しないの項目は default で決めます)');
      }
      if (o.type === 'year' && o.default !== undefined)
        at([...os, 'default'], `年度の項目「${o.label}」には default を書けません (請求ごとに年度を指定します)`);
      if (o.type !== 'year' && o.id === 'year') at([...os, 'type'], '項目 ID「year」は年度 (type: year) の項目にだけ使えます');
    });
  });
  return issues;
}

/**
 * Reads `config/fees.yaml` and checks it. Throws ConfigError with every issue (file, line,
 * column, path, Japanese reason).
 */
export function loadCertificateCatalog(configDir: string): CertificateCatalog {
  const file = path.join(configDir, FEES_FILE);
  let value: FeesFile;
  try {
    value = loadYaml<FeesFile>(file, feesFileSchema, checkFees);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(e.issues.map(explain));
    throw e;
  }
  return {
    file,
    maxCopies: value.maxCopies,
    purposes: value.purposes,
    certificates: value.certificates,
    purposeById: new Map(value.purposes.map((p) => [p.id, p])),
    typeById: new Map(value.certificates.map((c) => [c.id, c])),
  };
}
