import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ConfigError, loadYaml, type ConfigIssue, type YamlSource } from '@madoguchi/server/config/yamlFile';
import { payloadPaths } from '@madoguchi/server/rpa/payload';
import { parseTemplate, renderTemplate, TemplateError, type Expression, type Maps, type TemplatePart } from './template.js';

// The payload's paths from its schema (server/src/rpa/payload.ts): a misspelled path in a scenario
// fails `validate` instead of typing an empty value into a core-system screen.
let known: Set<string> | undefined;
function knownPath(dotted: readonly string[]): boolean {
  // `credentials.*` come from the agent's own configuration (the login), not from the job.
  known ??= new Set([...payloadPaths(), 'credentials.*']);
  const p = dotted
    .map((k) => (/^[0-9]+$/.test(k) ? '[]' : k))
    .join('.')
    .replace(/\.\[\]/g, '[]');
  if (known.has(p)) return true;
  // Free-form parts (`data.*`, `options.*`) accept any key below them.
  return [...known].some((k) => k.endsWith('.*') && p.startsWith(k.slice(0, -1)));
}

/**
 * Playwright's own selector parser, so that `validate` refuses what the browser would refuse (an
 * unclosed bracket, `#a, text=登録`). It is internal to playwright-core (its `coreBundle` export):
 * when a future version moves it, the check is skipped rather than guessed.
 */
type SelectorParser = (selector: string) => { parts: { name: string }[] };
let selectorParser: SelectorParser | null | undefined;
function parseSelectorOrNull(): SelectorParser | null {
  if (selectorParser !== undefined) return selectorParser;
  try {
    const bundle = createRequire(import.meta.url)('playwright-core/lib/coreBundle') as { iso?: { parseSelector?: SelectorParser } };
    selectorParser = bundle.iso?.parseSelector ?? null;
  } catch {
    selectorParser = null;
  }
  return selectorParser;
}

/**
 * Scenarios are data: `config/scenarios/<coreSystem>/_system.yaml` (the core system's common
 * screens, login, error signs, sample data for the dry run) and one `<scenario>.yaml` per notice
 * or certificate type (its screens, the idempotency probe and the entry steps). Selectors live only
 * in the `screens:` maps, so a changed screen is one edit.
 */
export const actions = ['goto', 'fill', 'select', 'check', 'click', 'press', 'waitFor', 'expectText', 'extract'] as const;
export type Action = (typeof actions)[number];

export interface StepSource {
  name?: string;
  goto?: string;
  fill?: string;
  select?: string;
  check?: string;
  click?: string;
  press?: string;
  waitFor?: string | string[];
  expectText?: string;
  extract?: string;
  value?: string;
  key?: string;
  text?: string;
  as?: string;
  commit?: boolean;
  when?: string;
  timeout?: number;
  /** A loop over the job's people (`per: notice` scenarios): `forEach`, `max`, `addRow`, `steps`. */
  forEach?: LoopOver;
  max?: number;
  addRow?: StepSource[];
  steps?: StepSource[];
}

/** What a loop repeats over: the people the notice changes, or every member it names. */
export const loopOvers = ['movers', 'members'] as const;
export type LoopOver = (typeof loopOvers)[number];

type SelectorMap = Record<string, Record<string, string>>;

interface SystemSource {
  title: string;
  screens: SelectorMap;
  maps?: Record<string, Record<string, string>>;
  login: { when: string; steps: StepSource[]; error?: string };
  errors: { application: string[]; business: string[] };
  samples: { notice: Record<string, unknown>; certificate: Record<string, unknown> };
}

interface ScenarioSource {
  title: string;
  kind: 'notice' | 'certificate';
  screens?: SelectorMap;
  maps?: Record<string, Record<string, string>>;
  idempotency?: Idempotency;
  per?: JobGranularity;
  probe?: { steps: StepSource[]; found: string; extract: string; match?: { cell: string; value: string }[] };
  steps: StepSource[];
}

/**
 * How a scenario keeps an entry from being made twice when a run is cut short:
 * - `reference`: madoguchi's reference is typed into a field of the entry and the probe searches by it;
 * - `search`: the probe searches by the job's data and compares each result row with it (`match`),
 *   for core systems with no field for an outside reference;
 * - `none`: no way to tell; an uncertain save stops the job for staff instead of retrying (at most once
 *   unattended, never twice).
 */
export type Idempotency = 'reference' | 'search' | 'none';

/** One job per person the notice changes (`person`, the default) or one per notice (`notice`: the steps loop over `movers`). */
export type JobGranularity = 'person' | 'notice';

/** A selector reference resolved: `entry.kana` → `#kana`. */
export interface Target {
  ref: string;
  selector: string;
  /** A selector with `{{ row }}` or `{{ item.… }}` (inside a loop): made per row by `expandSteps`. */
  selectorParts?: TemplatePart[];
}

export interface Step {
  /** 1-based, as staff count them; `where` names file, line and list for messages. */
  no: number;
  where: string;
  label: string;
  /** `forEach`: a loop, replaced by its rows' steps (`expandSteps`) before anything runs. */
  action: Action | 'forEach';
  /** goto: the path template; press: the key; others: unused. */
  arg?: TemplatePart[];
  targets: Target[];
  value?: TemplatePart[];
  text?: TemplatePart[];
  as?: string;
  commit: boolean;
  when?: TemplatePart[];
  timeoutMs?: number;
  loop?: Loop;
}

export interface Loop {
  over: LoopOver;
  /** The most rows the screen takes; more people stop the job before anything is typed. */
  max: number;
  /** Steps before each row after the first (the screen's 「追加」 button). */
  addRow: Step[];
  steps: Step[];
}

export interface Scenario {
  name: string;
  file: string;
  title: string;
  kind: 'notice' | 'certificate';
  maps: Maps;
  idempotency: Idempotency;
  per: JobGranularity;
  /** `steps: []` when the scenario has no probe (idempotency `none`). */
  probe: { steps: Step[]; found: Target; extract: Target; match: { cell: Target; value: TemplatePart[] }[] };
  steps: Step[];
  /** Every selector of the screens the scenario uses (the dry run checks they exist where it can). */
  screens: SelectorMap;
}

export interface CoreSystem {
  title: string;
  file: string;
  screens: SelectorMap;
  maps: Maps;
  login: { when: Target; steps: Step[]; error?: Target };
  errors: { application: Target[]; business: Target[] };
  samples: { notice: Record<string, unknown>; certificate: Record<string, unknown> };
}

export interface ScenarioSet {
  dir: string;
  system: CoreSystem;
  scenarios: Map<string, Scenario>;
}

export const SYSTEM_FILE = '_system.yaml';

const template = { type: 'string', minLength: 1 } as const;
const selectorMap = {
  type: 'object',
  additionalProperties: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
} as const;
const maps = { type: 'object', additionalProperties: { type: 'object', additionalProperties: { type: 'string' } } } as const;
const stepProperties = {
  name: { type: 'string' },
  ...Object.fromEntries(
    actions.map((a) => [a, a === 'waitFor' ? { anyOf: [template, { type: 'array', minItems: 1, items: template }] } : template]),
  ),
  value: { type: ['string', 'number', 'boolean'] },
  key: template,
  text: template,
  as: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]*$' },
  commit: { type: 'boolean' },
  when: template,
  timeout: { type: 'integer', minimum: 100, maximum: 600000 },
} as const;
const stepSchema = { type: 'object', additionalProperties: false, properties: stepProperties } as const;
const steps = { type: 'array', items: stepSchema } as const;
// The entry steps may hold one level of loop (its own steps are plain steps).
const entrySteps = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ...stepProperties,
      forEach: { type: 'string', enum: loopOvers },
      max: { type: 'integer', minimum: 1, maximum: 99 },
      addRow: steps,
      steps: { ...steps, minItems: 1 },
    },
  },
} as const;

const systemSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'screens', 'login', 'errors', 'samples'],
  properties: {
    title: { type: 'string' },
    screens: selectorMap,
    maps,
    login: {
      type: 'object',
      additionalProperties: false,
      required: ['when', 'steps'],
      properties: { when: template, steps: { ...steps, minItems: 1 }, error: template },
    },
    errors: {
      type: 'object',
      additionalProperties: false,
      required: ['application', 'business'],
      properties: { application: { type: 'array', items: template }, business: { type: 'array', items: template } },
    },
    samples: {
      type: 'object',
      additionalProperties: false,
      required: ['notice', 'certificate'],
      properties: { notice: { type: 'object' }, certificate: { type: 'object' } },
    },
  },
} as const;

const scenarioSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['title', 'kind', 'steps'],
  properties: {
    title: { type: 'string' },
    kind: { type: 'string', enum: ['notice', 'certificate'] },
    idempotency: { type: 'string', enum: ['reference', 'search', 'none'] },
    per: { type: 'string', enum: ['person', 'notice'] },
    screens: selectorMap,
    maps,
    probe: {
      type: 'object',
      additionalProperties: false,
      required: ['steps', 'found', 'extract'],
      properties: {
        steps: { ...steps, minItems: 1 },
        found: template,
        extract: template,
        match: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['cell', 'value'],
            properties: { cell: template, value: template },
          },
        },
      },
    },
    steps: { ...entrySteps, minItems: 1 },
  },
} as const;

/** Inside a loop: what it repeats over (for checking `item.…` paths). */
interface LoopScope {
  over: LoopOver;
}

/** Compiles steps with every problem collected as an issue naming file, line, step and reason. */
class Compiler {
  readonly issues: ConfigIssue[] = [];
  constructor(
    private readonly src: YamlSource,
    private readonly screens: SelectorMap,
    private readonly maps: Maps,
  ) {}

  target(ref: string, at: (string | number)[], what: string, loop?: LoopScope, joinable = false): Target {
    const [screen, name, extra] = ref.split('.');
    const selector = screen && name && extra === undefined ? this.screens[screen]?.[name] : undefined;
    if (selector === undefined) {
      const known =
        screen && this.screens[screen]
          ? `画面「${screen}」にあるもの: ${Object.keys(this.screens[screen]).join(', ')}`
          : `画面: ${Object.keys(this.screens).join(', ')}`;
      this.issues.push(this.src.issue(at, `${what}「${ref}」が screens にありません (画面名.項目名 で書きます。${known})`));
      return { ref, selector: '' };
    }
    if (!selector.includes('{{')) {
      this.selectorSyntax(ref, selector, at, what, joinable);
      return { ref, selector };
    }
    // A row's selector (`#txtShimei{{ row }}`, `input[value="{{ item.addresseeNo }}"]`): only inside a loop,
    // only the row number and the row's own values, and no filters (the value goes in as it is).
    if (!loop) {
      this.issues.push(
        this.src.issue(
          at,
          `${what}「${ref}」のセレクター ${selector} に {{ }} があります: 行ごとのセレクターは forEach の中でだけ使えます`,
        ),
      );
      return { ref, selector };
    }
    const parts = this.template(selector, at, `${what}「${ref}」のセレクター`, loop);
    for (const p of parts)
      if (typeof p !== 'string' && ((p.path[0] !== 'row' && p.path[0] !== 'item') || p.filters.length))
        this.issues.push(
          this.src.issue(at, `${what}「${ref}」のセレクター: 使えるのは {{ row }} (行番号) と {{ item.項目 }} (その行の人) だけです`),
        );
    // The syntax with the row's values stood in by plain ones.
    this.selectorSyntax(ref, parts.map((p) => (typeof p === 'string' ? p : 'x1')).join(''), at, what, joinable);
    return { ref, selector, selectorParts: parts };
  }

  /** Refuses a selector Playwright cannot parse; `joinable` ones (waited for together, error signs) must be plain CSS. */
  selectorSyntax(ref: string, selector: string, at: (string | number)[], what: string, joinable = false): void {
    const parse = parseSelectorOrNull();
    if (!parse) return;
    let names: string[];
    try {
      names = parse(selector).parts.map((p) => p.name);
    } catch (e) {
      this.issues.push(
        this.src.issue(at, `${what}「${ref}」のセレクター ${selector} の書き方が正しくありません (${(e as Error).message.split('\n')[0]})`),
      );
      return;
    }
    if (joinable && names.some((n) => n !== 'css'))
      this.issues.push(
        this.src.issue(
          at,
          `${what}「${ref}」のセレクター ${selector}: waitFor で待つ項目とエラーの印は、ほかとまとめて待つため CSS の形 (:has-text()・:text-matches() は可) で書きます (text=・xpath=・>> は不可)`,
        ),
      );
  }

  template(text: string, at: (string | number)[], what: string, loop?: LoopScope): TemplatePart[] {
    try {
      const parts = parseTemplate(text);
      for (const p of parts) {
        if (typeof p === 'string') continue;
        const head = p.path[0];
        if (head === 'row' || head === 'item') {
          if (!loop) {
            this.issues.push(this.src.issue(at, `${what}: 「${p.path.join('.')}」は forEach の中でだけ使えます`));
            continue;
          }
          if (head === 'row') {
            if (p.path.length !== 1) this.issues.push(this.src.issue(at, `${what}: row は行番号 (1 から) で、項目はありません`));
            continue;
          }
          if (!knownPath([loop.over, '0', ...p.path.slice(1)]))
            this.issues.push(
              this.src.issue(
                at,
                `${what}: ${loop.over} の人に「${p.path.slice(1).join('.')}」という項目はありません (項目の一覧は docs/manual/rpa.md の「ペイロード」)`,
              ),
            );
          continue;
        }
        if (!knownPath(p.path))
          this.issues.push(
            this.src.issue(
              at,
              `${what}: ペイロードに「${p.path.join('.')}」という項目はありません (項目の一覧は docs/manual/rpa.md の「ペイロード」)`,
            ),
          );
        for (const f of p.filters)
          if (f.name === 'map' && !this.maps[f.arg ?? ''])
            this.issues.push(this.src.issue(at, `${what}: 変換表「${f.arg ?? ''}」が maps にありません`));
      }
      return parts;
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      this.issues.push(this.src.issue(at, `${what}: ${e.message}`));
      return [];
    }
  }

  steps(list: readonly StepSource[], at: (string | number)[], loop?: LoopScope): Step[] {
    return list.map((s, i) => {
      const here = [...at, i];
      const no = i + 1;
      const label = `手順 ${no}${s.name ? ` 「${s.name}」` : ''}`;
      const where = `${this.src.file}:${this.src.locate(here).line} ${at.join('.')} ${label}`;
      if (s.forEach !== undefined) return this.loopStep(s, here, no, label, where);
      for (const k of ['max', 'addRow', 'steps'] as const)
        if (s[k] !== undefined) this.issues.push(this.src.issue([...here, k], `${label}: ${k} は forEach の手順にだけ書けます`));
      const used = actions.filter((a) => s[a] !== undefined);
      if (used.length !== 1) {
        this.issues.push(
          this.src.issue(
            here,
            `${label}: 操作 (${actions.join('・')}) をちょうど 1 つ書いてください${used.length ? ` (書かれているもの: ${used.join(', ')})` : ''}`,
          ),
        );
        return { no, where, label, action: 'waitFor', targets: [], commit: false };
      }
      const action = used[0]!;
      const step: Step = { no, where, label, action, targets: [], commit: s.commit === true };
      const raw = s[action]!;
      const value = s.value === undefined ? undefined : String(s.value);
      if (action === 'goto') {
        if (!String(raw).startsWith('/'))
          this.issues.push(this.src.issue([...here, 'goto'], `${label}: goto には基幹系の中のパス (/ で始まる) を書きます`));
        step.arg = this.template(String(raw), [...here, 'goto'], label, loop);
      } else if (action === 'press') {
        step.arg = [String(raw)];
        if (s.key !== undefined)
          this.issues.push(
            this.src.issue(
              [...here, 'key'],
              `${label}: press にはキー名 (Enter, Tab, F3 など) を書き、対象の項目は on: ではなく直前の手順で選びます`,
            ),
          );
      } else {
        const refs = Array.isArray(raw) ? raw : [raw];
        // waitFor's targets are waited for together with the error signs, as one selector list.
        step.targets = refs.map((r, k) =>
          this.target(r, Array.isArray(raw) ? [...here, action, k] : [...here, action], label, loop, action === 'waitFor'),
        );
      }
      if (action === 'fill' || action === 'select') {
        if (value === undefined) this.issues.push(this.src.issue(here, `${label}: ${action} には value が必要です`));
        else step.value = this.template(value, [...here, 'value'], label, loop);
      } else if (action === 'check') step.value = this.template(value ?? 'true', [...here, 'value'], label, loop);
      else if (value !== undefined)
        this.issues.push(this.src.issue([...here, 'value'], `${label}: value は fill・select・check にだけ書けます`));
      if (action === 'expectText') {
        if (s.text === undefined) this.issues.push(this.src.issue(here, `${label}: expectText には text が必要です`));
        else step.text = this.template(s.text, [...here, 'text'], label, loop);
      } else if (s.text !== undefined) this.issues.push(this.src.issue([...here, 'text'], `${label}: text は expectText にだけ書けます`));
      if (action === 'extract') {
        if (!s.as) this.issues.push(this.src.issue(here, `${label}: extract には as (取り出した値の名前、例: coreRef) が必要です`));
        else step.as = s.as;
        if (loop) this.issues.push(this.src.issue(here, `${label}: forEach の中では値を取り出せません (extract は繰り返しの後に書きます)`));
      } else if (s.as !== undefined) this.issues.push(this.src.issue([...here, 'as'], `${label}: as は extract にだけ書けます`));
      if (step.commit && action !== 'click' && action !== 'press')
        this.issues.push(this.src.issue([...here, 'commit'], `${label}: commit は登録のクリック (click か press) にだけ付けます`));
      if (step.commit && loop)
        this.issues.push(
          this.src.issue([...here, 'commit'], `${label}: forEach の中に登録 (commit) は書けません: 世帯で 1 回だけ登録します`),
        );
      if (s.when !== undefined) step.when = this.template(s.when, [...here, 'when'], label, loop);
      if (s.timeout !== undefined) step.timeoutMs = s.timeout;
      return step;
    });
  }

  /** A `forEach` step: its own steps per person, `addRow` before every row after the first. */
  private loopStep(s: StepSource, here: (string | number)[], no: number, label: string, where: string): Step {
    const over = s.forEach!;
    const extra = [...actions, 'value', 'key', 'text', 'as', 'commit', 'timeout', 'when'].filter(
      (k) => s[k as keyof StepSource] !== undefined,
    );
    if (extra.length)
      this.issues.push(
        this.src.issue(
          here,
          `${label}: forEach の手順には forEach・max・addRow・steps・name だけを書きます (${extra.join(', ')})。繰り返しを when で飛ばすと人のいない登録になるため、when は書けません`,
        ),
      );
    if (s.max === undefined)
      this.issues.push(
        this.src.issue(
          here,
          `${label}: forEach には max (この画面に入る人数の上限) が必要です。超えたときは何も入力せずに職員の確認に回します`,
        ),
      );
    if (!s.steps?.length) this.issues.push(this.src.issue(here, `${label}: forEach には steps (1 人分の手順) が必要です`));
    const scope = { over };
    const step: Step = {
      no,
      where,
      label,
      action: 'forEach',
      targets: [],
      commit: false,
      loop: {
        over,
        max: s.max ?? 1,
        addRow: this.steps(s.addRow ?? [], [...here, 'addRow'], scope),
        steps: this.steps(s.steps ?? [], [...here, 'steps'], scope),
      },
    };
    return step;
  }
}

function loadSystem(file: string): CoreSystem {
  let comp: Compiler | undefined;
  let out: CoreSystem | undefined;
  loadYaml<SystemSource>(file, systemSchema, (v, src) => {
    comp = new Compiler(src, v.screens, v.maps ?? {});
    const loginSteps = comp.steps(v.login.steps, ['login', 'steps']);
    if (loginSteps.some((s) => s.commit)) comp.issues.push(src.issue(['login'], 'ログインの手順に commit は付けられません'));
    out = {
      title: v.title,
      file,
      screens: v.screens,
      maps: v.maps ?? {},
      login: {
        when: comp.target(v.login.when, ['login', 'when'], 'login.when'),
        steps: loginSteps,
        ...(v.login.error ? { error: comp.target(v.login.error, ['login', 'error'], 'login.error') } : {}),
      },
      errors: {
        application: v.errors.application.map((r, i) =>
          comp!.target(r, ['errors', 'application', i], 'errors.application', undefined, true),
        ),
        business: v.errors.business.map((r, i) => comp!.target(r, ['errors', 'business', i], 'errors.business', undefined, true)),
      },
      samples: v.samples,
    };
    return comp.issues;
  });
  return out!;
}

function loadScenario(file: string, system: CoreSystem): Scenario {
  let out: Scenario | undefined;
  loadYaml<ScenarioSource>(file, scenarioSchema, (v, src) => {
    // A scenario adds items to a common screen (or a screen of its own); one level deep.
    const screens: SelectorMap = { ...system.screens };
    for (const [name, items] of Object.entries(v.screens ?? {})) screens[name] = { ...(system.screens[name] ?? {}), ...items };
    const scenarioMaps: Maps = { ...system.maps, ...(v.maps ?? {}) };
    const comp = new Compiler(src, screens, scenarioMaps);
    const idempotency: Idempotency = v.idempotency ?? 'reference';
    if (idempotency !== 'none' && !v.probe)
      comp.issues.push(
        src.issue([], `確認 (probe) がありません (idempotency: ${idempotency})。確かめる手段がなければ idempotency: none と書きます`),
      );
    if (idempotency === 'none' && v.probe)
      comp.issues.push(src.issue(['probe'], 'idempotency: none のシナリオに確認 (probe) は書けません'));
    if (idempotency === 'search' && v.probe && !v.probe.match)
      comp.issues.push(src.issue(['probe'], 'idempotency: search には、結果の行とジョブの値を比べる match が必要です'));
    if (idempotency === 'reference' && v.probe && !JSON.stringify(v.probe.steps).includes('reference'))
      comp.issues.push(
        src.issue(
          ['probe', 'steps'],
          'idempotency: reference の確認は受付番号 ({{ reference }}) で検索します。参照欄がない基幹系は idempotency: search を使います',
        ),
      );
    const probeSteps = v.probe ? comp.steps(v.probe.steps, ['probe', 'steps']) : [];
    const stepList = comp.steps(v.steps, ['steps']);
    const per: JobGranularity = v.per ?? 'person';
    const loopsOverMovers = stepList.some((s) => s.loop?.over === 'movers');
    if (per === 'notice' && v.kind !== 'notice')
      comp.issues.push(src.issue(['per'], 'per: notice は届出 (kind: notice) のシナリオにだけ書けます'));
    // A notice job carries every mover: without a loop over them, all but the first would silently not be entered.
    if (per === 'notice' && !loopsOverMovers)
      comp.issues.push(src.issue(['steps'], 'per: notice のシナリオは、異動する人を繰り返す手順 (forEach: movers) が必要です'));
    // One job per person, each entering every mover (or member), would enter the household once per person.
    if (per === 'person' && stepList.some((s) => s.loop))
      comp.issues.push(
        src.issue(['per'], 'forEach (movers・members の繰り返し) は per: notice (届出 1 件で 1 ジョブ) のシナリオにだけ書けます'),
      );
    const commits = stepList.filter((s) => s.commit);
    if (commits.length !== 1)
      comp.issues.push(src.issue(['steps'], `登録する手順 (commit: true) はちょうど 1 つ必要です (いま ${commits.length} つ)`));
    if (probeSteps.some((s) => s.commit))
      comp.issues.push(src.issue(['probe'], '確認 (probe) の手順に commit は付けられません: 確認では何も登録しません'));
    const commitAt = stepList.findIndex((s) => s.commit);
    if (commitAt >= 0 && !stepList.slice(commitAt + 1).some((s) => s.action === 'extract' && s.as === 'coreRef')) {
      comp.issues.push(src.issue(['steps'], '登録の後に、基幹系の処理番号を取り出す手順 (extract … as: coreRef) が必要です'));
    }
    out = {
      name: path.basename(file, '.yaml'),
      file,
      title: v.title,
      kind: v.kind,
      maps: scenarioMaps,
      screens,
      idempotency,
      per,
      probe: v.probe
        ? {
            steps: probeSteps,
            found: comp.target(v.probe.found, ['probe', 'found'], 'probe.found'),
            extract: comp.target(v.probe.extract, ['probe', 'extract'], 'probe.extract'),
            match: (v.probe.match ?? []).map((m, i) => ({
              cell: comp.target(m.cell, ['probe', 'match', i, 'cell'], 'probe.match.cell'),
              value: comp.template(m.value, ['probe', 'match', i, 'value'], `確認の比較 ${i + 1}`),
            })),
          }
        : { steps: [], found: { ref: '', selector: '' }, extract: { ref: '', selector: '' }, match: [] },
      steps: stepList,
    };
    return comp.issues;
  });
  return out!;
}

/** A loop that cannot be run for this job (too many people, none, a value that cannot go into a selector). */
export class LoopError extends Error {}

/** A row's selector value: plain characters only, so no job value can change what the selector means. */
const SELECTOR_VALUE = /^[0-9A-Za-z_-]+$/;

/**
 * The steps of one job: each `forEach` replaced by its rows' steps (`item.…` read as `movers.N.…`,
 * `{{ row }}` as N + 1, row selectors made), `addRow` before every row after the first. Throws
 * LoopError before anything runs when the people do not fit the screen.
 */
export function expandSteps(steps: readonly Step[], data: Record<string, unknown>, maps: Maps): Step[] {
  const out: Step[] = [];
  for (const step of steps) {
    if (!step.loop) {
      out.push(step);
      continue;
    }
    const { over, max, addRow, steps: body } = step.loop;
    const people = data[over];
    if (!Array.isArray(people) || people.length === 0)
      throw new LoopError(`${step.label}: ジョブに ${over} の人がいません。入力せずに職員の確認に回します`);
    if (people.length > max)
      throw new LoopError(
        `${step.label}: ${people.length} 人ですが、この画面に入力できるのは ${max} 人までです。入力せずに職員の確認に回します (基幹系で分けて入力してください)`,
      );
    people.forEach((_, i) => {
      if (i > 0) out.push(...addRow.map((t) => rowStep(t, `${step.label} ${i + 1} 人目の addRow `, over, i, data, maps)));
      out.push(...body.map((t) => rowStep(t, `${step.label} ${i + 1} 人目の`, over, i, data, maps)));
    });
  }
  return out;
}

function rowStep(step: Step, rowLabel: string, over: LoopOver, i: number, data: Record<string, unknown>, maps: Maps): Step {
  const parts = (list: TemplatePart[] | undefined): TemplatePart[] | undefined =>
    list?.map((p): TemplatePart => {
      if (typeof p === 'string') return p;
      if (p.path[0] === 'row') return String(i + 1);
      if (p.path[0] === 'item') return { ...p, path: [over, String(i), ...p.path.slice(1)] } satisfies Expression;
      return p;
    });
  const targets = step.targets.map((t): Target => {
    if (!t.selectorParts) return t;
    const selector = parts(t.selectorParts)!
      .map((p) => {
        if (typeof p === 'string') return p;
        const v = renderTemplate([p], data, maps);
        if (!SELECTOR_VALUE.test(v))
          throw new LoopError(
            `${step.label}: ${i + 1} 人目の ${p.path.slice(2).join('.')} に、セレクター ${t.ref} に入れられない文字があるか空です (英数字と _ - だけ)`,
          );
        return v;
      })
      .join('');
    return { ref: t.ref, selector };
  });
  const out: Step = { ...step, label: `${rowLabel}${step.label}`, targets };
  for (const k of ['arg', 'value', 'text', 'when'] as const) if (step[k]) out[k] = parts(step[k]);
  return out;
}

/** Loads and checks a scenario folder; every problem in every file is reported at once. */
export function loadScenarioSet(dir: string): ScenarioSet {
  const issues: ConfigIssue[] = [];
  const collect = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch (e) {
      if (e instanceof ConfigError) issues.push(...e.issues);
      else throw e;
      return undefined;
    }
  };
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
  } catch (e) {
    throw new ConfigError([
      { file: dir, path: '', line: 0, column: 0, reason: `シナリオのフォルダーを読めません (${(e as Error).message})` },
    ]);
  }
  if (!names.includes(SYSTEM_FILE))
    throw new ConfigError([
      { file: path.join(dir, SYSTEM_FILE), path: '', line: 0, column: 0, reason: '基幹系の共通設定ファイルがありません' },
    ]);
  const system = collect(() => loadSystem(path.join(dir, SYSTEM_FILE)));
  const scenarios = new Map<string, Scenario>();
  for (const name of names.filter((n) => !n.startsWith('_'))) {
    if (!/^[A-Za-z][A-Za-z0-9]*\.yaml$/.test(name)) {
      issues.push({
        file: path.join(dir, name),
        path: '',
        line: 0,
        column: 0,
        reason: 'シナリオのファイル名は届出・証明の種類の英名 (例: moveIn.yaml) にします',
      });
      continue;
    }
    if (!system) continue;
    const s = collect(() => loadScenario(path.join(dir, name), system));
    if (s) scenarios.set(s.name, s);
  }
  if (issues.length) throw new ConfigError(issues);
  return { dir, system: system!, scenarios };
}
