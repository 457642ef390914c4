import type { Locator, Page } from 'playwright-core';
import { expandSteps, LoopError, type CoreSystem, type Scenario, type ScenarioSet, type Step, type Target } from './scenario.js';
import { renderTemplate, truthy, type Maps } from './template.js';

/** The core system refused the data (a validation message): retrying will not help, staff must look. */
export class BusinessError extends Error {
  readonly kind = 'business';
}
/** Something technical (slow screen, system error page, lost click, session ended): retried with backoff. */
export class ApplicationError extends Error {
  readonly kind = 'application';
}
/** The core system said it failed (its error sign, an HTTP 5xx): an ApplicationError that is not a changed screen. */
export class SystemError extends ApplicationError {}
/** The agent was asked to stop before the saving step: the lease goes back unused. */
export class StopRequested extends Error {}
/** The server no longer holds the lease for this agent: stop before saving anything. */
export class LeaseLost extends Error {}

export interface RunHooks {
  /** Right before the saving step: confirms the lease is still ours (throws LeaseLost). */
  beforeCommit?(): Promise<void>;
  /** Asked between steps before the saving step. */
  stopRequested?(): boolean;
  /** After each step (every-step screenshots). */
  afterStep?(step: Step): Promise<void>;
}

export interface RunResult {
  coreRef: string;
  /** The probe found the entry already in the core system: nothing was typed. */
  alreadyEntered: boolean;
  steps: number;
  committed: boolean;
}

export interface DryRunResult {
  scenario: string;
  ok: boolean;
  checked: number;
  problem?: string;
  /**
   * What kind of problem: `screen` (an item or screen is not where the scenario says: the screen
   * changed), `value` (a control kept another value than the one typed), `option` (a select lacks
   * the option), `system` (the core system's own error, still there after the retries), `data`
   * (the sample or a business message).
   */
  kind?: 'screen' | 'value' | 'option' | 'system' | 'data';
  /** Runs made: a transient system error is retried before the scenario is called wrong. */
  attempts: number;
}

/** A select that lacks the option to choose: the code table (`maps`) or the screen's list is wrong. */
export class OptionMissing extends BusinessError {}
/** What a control shows after the dry run typed into it is not what was typed. */
export class ValueMismatch extends BusinessError {}

/** Runs of a dry run before a system error is reported as such (the core system's errors are often transient). */
const DRY_RUN_ATTEMPTS = 3;

export interface RunnerOptions {
  baseUrl: string;
  credentials: { user: string; password: string };
  stepTimeoutMs: number;
}

const isTimeout = (e: unknown) => e instanceof Error && e.name === 'TimeoutError';

/** Runs scenarios on one browser page (kept between jobs, so the core system's session is reused). */
export class ScenarioRunner {
  private readonly system: CoreSystem;

  constructor(
    readonly page: Page,
    readonly set: ScenarioSet,
    private readonly opts: RunnerOptions,
  ) {
    this.system = set.system;
  }

  scenario(name: string): Scenario {
    const s = this.set.scenarios.get(name);
    if (!s) throw new BusinessError(`シナリオ ${name}.yaml がありません (config/scenarios/ を確認してください)`);
    return s;
  }

  /** Enters one job: probe first (skip when already there), then the steps. */
  async run(scenario: Scenario, payload: Record<string, unknown>, hooks: RunHooks = {}): Promise<RunResult> {
    const data = { ...payload, credentials: this.opts.credentials };
    // A job cut per person run by a per-notice scenario would enter the household once per person; the
    // reverse would leave all but one mover out. The job says how it was cut (payload.per; none = person).
    if (scenario.kind === 'notice') {
      const cut = payload.per === 'notice' ? 'notice' : 'person';
      if (cut !== scenario.per)
        throw new BusinessError(
          `このジョブは per: ${cut} で作られましたが、シナリオ ${scenario.name}.yaml は per: ${scenario.per} です。入力すると世帯の二重入力か入力漏れになるため、入力しませんでした。届出を取り消して受け付け直すか、基幹系に手で入力して「手入力済みにする」にしてください`,
        );
    }
    // The household's rows first: people that do not fit the screen stop the job before anything is typed.
    const steps = this.expand(scenario, data);
    const found = await this.probe(scenario, data);
    if (found !== null)
      return { coreRef: guardRef(found, payload), alreadyEntered: true, steps: scenario.probe.steps.length, committed: false };
    const vars: Record<string, string> = {};
    let committed = false;
    let saving = false;
    try {
      for (const step of steps) {
        if (!committed && hooks.stopRequested?.()) throw new StopRequested('停止の指示を受けたため、登録の前で中断しました');
        if (step.commit) await hooks.beforeCommit?.();
        saving ||= step.commit;
        await this.step(step, data, scenario.maps, vars);
        if (step.commit) committed = true;
        await hooks.afterStep?.(step);
      }
    } catch (e) {
      // Without a probe, a failure from the saving step on cannot be told from a save: never retry it.
      if (saving && scenario.idempotency === 'none' && !(e instanceof BusinessError))
        throw new BusinessError(
          `登録できたか分かりません (このシナリオには確認の手段がありません: idempotency: none)。基幹系で登録されたか確かめ、登録済みなら「手入力済み」にしてください (${(e as Error).message})`,
        );
      throw e;
    }
    const coreRef = vars.coreRef ?? '';
    if (!coreRef) throw new ApplicationError('基幹系の処理番号を取り出せませんでした');
    return {
      coreRef: guardRef(coreRef, payload),
      alreadyEntered: false,
      steps: scenario.probe.steps.length + steps.length,
      committed,
    };
  }

  private expand(scenario: Scenario, data: Record<string, unknown>): Step[] {
    try {
      return expandSteps(scenario.steps, data, scenario.maps);
    } catch (e) {
      if (e instanceof LoopError) throw new BusinessError(e.message);
      throw e;
    }
  }

  /**
   * Looks in the core system for an entry this job already made; its record number when there.
   * `reference`: found by madoguchi's reference. `search`: every result row is compared with the
   * job's values (`match`); exactly one matching row is the entry, several stop the job for staff.
   */
  async probe(scenario: Scenario, data: Record<string, unknown>): Promise<string | null> {
    if (scenario.idempotency === 'none') return null;
    for (const step of scenario.probe.steps) await this.step(step, data, scenario.maps, {});
    const rows = this.page.locator(scenario.probe.found.selector);
    const count = await rows.count();
    if (count === 0) return null;
    let row: Locator = rows.first();
    if (scenario.probe.match.length) {
      const wanted = scenario.probe.match.map((m) => comparable(renderTemplate(m.value, data, scenario.maps)));
      const hits: Locator[] = [];
      for (let i = 0; i < count; i++) {
        const r = rows.nth(i);
        let all = true;
        for (const [k, m] of scenario.probe.match.entries()) {
          const cell = (await r.locator(m.cell.selector).first().textContent({ timeout: this.opts.stepTimeoutMs })) ?? '';
          if (comparable(cell) !== wanted[k]) {
            all = false;
            break;
          }
        }
        if (all) hits.push(r);
      }
      if (hits.length === 0) return null;
      if (hits.length > 1)
        throw new BusinessError(
          `確認 (probe) で、このジョブと同じ内容の記録が ${hits.length} 件見つかりました。どれがこのジョブのものか職員が確かめてください`,
        );
      row = hits[0]!;
    }
    // With `match` the number is read inside the matching row; without, where the scenario points.
    const at = scenario.probe.match.length
      ? row.locator(scenario.probe.extract.selector)
      : this.page.locator(scenario.probe.extract.selector);
    const text = (await at.first().textContent({ timeout: this.opts.stepTimeoutMs }))?.trim() ?? '';
    if (!text) throw new ApplicationError(`確認 (probe) で見つかりましたが、${scenario.probe.extract.ref} から処理番号を読めません`);
    return text;
  }

  /**
   * The smoke run after a core-system upgrade: logs in, runs the probe and every step up to the
   * saving one with the sample data, and saves nothing. Every filled control is read back (right
   * after it is filled, and again just before the saving step while it is still on the screen) and
   * compared with what was typed; a select without the option says so; a system error is retried
   * (DRY_RUN_ATTEMPTS runs in all) before it is reported, and reported as the system's error, not
   * as a changed screen.
   */
  async dryRun(scenario: Scenario): Promise<DryRunResult> {
    let last: DryRunResult = { scenario: scenario.name, ok: false, checked: 0, attempts: 0 };
    for (let attempt = 1; attempt <= DRY_RUN_ATTEMPTS; attempt++) {
      last = { ...(await this.dryRunOnce(scenario)), attempts: attempt };
      if (last.ok || last.kind !== 'system') return last;
    }
    return { ...last, problem: `基幹系のエラーが ${DRY_RUN_ATTEMPTS} 回続きました (画面の変更ではありません): ${last.problem ?? ''}` };
  }

  private async dryRunOnce(scenario: Scenario): Promise<Omit<DryRunResult, 'attempts'>> {
    const sample = { ...this.system.samples[scenario.kind], reference: `CHECK-${Date.now()}`, credentials: this.opts.credentials };
    let checked = 0;
    // The controls filled, with what was typed and on which page (read back before the saving step if still there).
    const filled: { step: Step; want: string; url: string }[] = [];
    try {
      for (const step of scenario.probe.steps) {
        await this.step(step, sample, scenario.maps, {});
        checked++;
      }
      // Before the screen is left (and before the saving step): the focus taken away, so that a script
      // converting on change has run, then every control filled on this screen read back again.
      const recheck = async (): Promise<void> => {
        await this.page.evaluate(() =>
          (globalThis as unknown as { document: { activeElement: { blur?: () => void } | null } }).document.activeElement?.blur?.(),
        );
        const here = this.page.url();
        for (const f of filled)
          if (f.url === here && (await this.locate(f.step.targets[0]!).count()) === 1) await this.readBack(f.step, f.want);
      };
      for (const step of this.expand(scenario, sample)) {
        if (step.commit) {
          await this.locate(step.targets[0]!).waitFor({ state: 'visible', timeout: step.timeoutMs ?? this.opts.stepTimeoutMs });
          await recheck();
          checked++;
          break;
        }
        if (step.action === 'goto' || step.action === 'click' || step.action === 'press') await recheck();
        await this.step(step, sample, scenario.maps, {});
        if ((step.action === 'fill' || step.action === 'select' || step.action === 'check') && !this.skipped(step, sample, scenario)) {
          const want = renderTemplate(step.value ?? [], sample, scenario.maps);
          await this.readBack(step, want);
          filled.push({ step, want, url: this.page.url() });
        }
        checked++;
      }
      return { scenario: scenario.name, ok: true, checked };
    } catch (e) {
      const problem = e instanceof Error ? e.message : String(e);
      const kind =
        e instanceof ValueMismatch
          ? 'value'
          : e instanceof OptionMissing
            ? 'option'
            : e instanceof SystemError
              ? 'system'
              : e instanceof BusinessError
                ? 'data'
                : 'screen';
      return { scenario: scenario.name, ok: false, checked, problem, kind };
    }
  }

  private skipped(step: Step, data: unknown, scenario: Scenario): boolean {
    return step.when !== undefined && !truthy(renderTemplate(step.when, data, scenario.maps));
  }

  /** The control's value now, compared with what the step typed (a maxlength, a script or a converting IME may change it). */
  private async readBack(step: Step, want: string): Promise<void> {
    const el = this.locate(step.targets[0]!).first();
    const ref = step.targets[0]!.ref;
    if (step.action === 'check') {
      const got = await el.isChecked();
      if (got !== truthy(want))
        throw new ValueMismatch(
          `${step.label}: ${ref} は ${truthy(want) ? '印を付けた' : '印を外した'}のに、画面では${got ? '付いています' : '付いていません'}`,
        );
      return;
    }
    if (step.action === 'select') {
      const chosen = await el.evaluate((e) => {
        const sel = e as unknown as { selectedIndex: number; options: ArrayLike<{ value: string; label: string }> };
        const o = sel.options[sel.selectedIndex];
        return o ? { value: o.value, label: o.label } : null;
      });
      if (!chosen || (chosen.value !== want && chosen.label.trim() !== want))
        throw new ValueMismatch(
          `${step.label}: ${ref} で「${want}」を選んだのに、画面では「${chosen?.label ?? ''}」(${chosen?.value ?? '未選択'}) です`,
        );
      return;
    }
    const got = await el.inputValue();
    if (got !== want)
      throw new ValueMismatch(`${step.label}: ${ref} に「${want}」を入れたのに、画面の値は「${got}」です (文字数の上限・自動変換)`);
  }

  private locate(t: Target): Locator {
    return this.page.locator(t.selector);
  }

  private async loginIfAsked(): Promise<boolean> {
    if ((await this.page.locator(this.system.login.when.selector).count()) === 0) return false;
    const data = { credentials: this.opts.credentials };
    for (const step of this.system.login.steps) await this.step(step, data, this.system.maps, {}, false);
    if (this.system.login.error && (await this.page.locator(this.system.login.error.selector).count()) > 0) {
      const msg = (await this.page.locator(this.system.login.error.selector).first().textContent())?.trim() ?? '';
      throw new BusinessError(`基幹系にログインできません: ${msg} (エージェント設定の利用者 ID とパスワードを確認してください)`);
    }
    return true;
  }

  /** The text of the first error sign on the page, classified; null when there is none. */
  private async errorOnPage(): Promise<BusinessError | ApplicationError | null> {
    for (const [list, make] of [
      [this.system.errors.application, (m: string) => new SystemError(m)],
      [this.system.errors.business, (m: string) => new BusinessError(m)],
    ] as const) {
      // Every sign of the kind on the page (the summary and each field's message), for staff to read.
      const texts: string[] = [];
      for (const t of list) {
        for (const el of (await this.page.locator(t.selector).all()).slice(0, 8))
          texts.push(((await el.innerText().catch(() => '')) || t.ref).replace(/\s+/g, ' ').trim());
      }
      if (texts.length) return make(texts.join(' / '));
    }
    return null;
  }

  private async explain(e: unknown, step: Step): Promise<Error> {
    if (e instanceof BusinessError || e instanceof ApplicationError || e instanceof StopRequested || e instanceof LeaseLost) return e;
    const onPage = await this.errorOnPage().catch(() => null);
    if (onPage) return onPage;
    if (
      (await this.page
        .locator(this.system.login.when.selector)
        .count()
        .catch(() => 0)) > 0
    )
      return new SystemError(`${step.label}: 基幹系のセッションが切れてログイン画面に戻りました`);
    const what = step.targets.map((t) => `${t.ref} (${t.selector})`).join(' または ');
    if (isTimeout(e))
      return new ApplicationError(
        `${step.label} (${step.action}${what ? ` ${what}` : ''}): 画面に現れませんでした (${step.timeoutMs ?? this.opts.stepTimeoutMs} ms) [${step.where}]`,
      );
    return new ApplicationError(
      `${step.label} (${step.action}): ${e instanceof Error ? e.message.split('\n')[0] : String(e)} [${step.where}]`,
    );
  }

  private async step(step: Step, data: unknown, maps: Maps, vars: Record<string, string>, allowLogin = true): Promise<void> {
    if (step.when && !truthy(renderTemplate(step.when, data, maps))) return;
    const timeout = step.timeoutMs ?? this.opts.stepTimeoutMs;
    const value = () => renderTemplate(step.value ?? [], data, maps);
    try {
      switch (step.action) {
        case 'goto': {
          const url = new URL(renderTemplate(step.arg ?? [], data, maps), this.opts.baseUrl).toString();
          const res = await this.page.goto(url, { waitUntil: 'domcontentloaded', timeout });
          if (allowLogin && (await this.loginIfAsked())) await this.page.goto(url, { waitUntil: 'domcontentloaded', timeout });
          else if (res && res.status() >= 500)
            throw (await this.errorOnPage()) ?? new SystemError(`${url} が HTTP ${res.status()} を返しました`);
          break;
        }
        case 'fill':
          await this.locate(step.targets[0]!).fill(value(), { timeout });
          break;
        case 'select': {
          const v = value();
          const el = this.locate(step.targets[0]!);
          try {
            await el.selectOption(v, { timeout });
          } catch (e) {
            // Playwright waits for the option as for anything else: say that the list lacks it, not that the screen changed.
            const options = isTimeout(e) ? await optionsOf(el) : null;
            if (options && !options.some((o) => o.value === v || o.label.trim() === v))
              throw new OptionMissing(
                `${step.label}: ${step.targets[0]!.ref} の選択肢に「${v}」がありません (選択肢: ${options
                  .slice(0, 12)
                  .map((o) => `${o.value}=${o.label.trim()}`)
                  .join(', ')}${options.length > 12 ? ' …' : ''})。シナリオの maps か基幹系の選択肢を確かめてください`,
              );
            throw e;
          }
          break;
        }
        case 'check':
          await this.locate(step.targets[0]!).setChecked(truthy(value()), { timeout });
          break;
        case 'click':
          await this.locate(step.targets[0]!).click({ timeout });
          break;
        case 'press':
          await this.page.keyboard.press(String(step.arg?.[0] ?? ''));
          break;
        case 'waitFor': {
          // Waits for any of the targets or an error sign, whichever comes first.
          const signs = [...this.system.errors.application, ...this.system.errors.business].map((t) => t.selector);
          await this.page
            .locator([...step.targets.map((t) => t.selector), ...signs].join(', '))
            .first()
            .waitFor({ state: 'attached', timeout });
          const anyTarget = await Promise.all(step.targets.map((t) => this.page.locator(t.selector).count()));
          if (!anyTarget.some((n) => n > 0))
            throw (await this.errorOnPage()) ?? new ApplicationError(`${step.label}: 想定した画面になりません`);
          break;
        }
        case 'expectText': {
          const want = renderTemplate(step.text ?? [], data, maps);
          const got = (await this.locate(step.targets[0]!).first().innerText({ timeout })).trim();
          if (!got.includes(want))
            throw new ApplicationError(`${step.label}: ${step.targets[0]!.ref} に「${want}」がありません (表示: 「${got.slice(0, 80)}」)`);
          break;
        }
        case 'forEach':
          // expandSteps replaces every loop before a step runs.
          throw new Error(`${step.label}: 展開されていない繰り返しです`);
        case 'extract': {
          const got = (await this.locate(step.targets[0]!).first().innerText({ timeout })).trim();
          if (!got) throw new ApplicationError(`${step.label}: ${step.targets[0]!.ref} が空です`);
          vars[step.as!] = got;
          break;
        }
      }
    } catch (e) {
      throw await this.explain(e, step);
    }
  }
}

/** The options of a select, or null when the element is missing or not a select. */
async function optionsOf(el: Locator): Promise<{ value: string; label: string }[] | null> {
  if ((await el.count()) !== 1) return null;
  return el.evaluate((e) => {
    const options = (e as unknown as { options?: ArrayLike<{ value: string; label: string }> }).options;
    return options ? Array.from(options, (o) => ({ value: o.value, label: o.label })) : null;
  });
}

/** Text as compared in a probe: NFKC, without spaces (a screen pads and widens as it likes). */
function comparable(s: string): string {
  return s.normalize('NFKC').replace(/[\s\u3000]/g, '');
}

/** A 宛名番号 of the job read as the record number is a scenario mistake: never reported as the number. */
export function guardRef(ref: string, payload: Record<string, unknown>): string {
  const nos = new Set<string>();
  const add = (p: unknown) => {
    const no = (p as { addresseeNo?: unknown } | null | undefined)?.addresseeNo;
    if (typeof no === 'string' && no) nos.add(no);
  };
  add(payload.subject);
  add(payload.head);
  for (const m of (payload.members as unknown[] | undefined) ?? []) add(m);
  if (nos.has(ref.trim()))
    throw new BusinessError(
      `基幹系の処理番号として宛名番号 (${ref.trim()}) を読み取りました。シナリオの extract (処理番号の項目) を確かめてください`,
    );
  return ref;
}
