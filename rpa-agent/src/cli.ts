import { Command } from 'commander';
import { ConfigError } from '@madoguchi/server/config/yamlFile';
import { Agent, jsonLog } from './agent.js';
import { loadAgentConfig } from './config.js';
import { ScenarioRunner } from './runner.js';
import { loadScenarioSet } from './scenario.js';
import { agentVersion } from './version.js';

export function buildCli(): Command {
  const program = new Command('madoguchi-agent')
    .description('madoguchi RPA agent: enters accepted notices into the core system')
    .version(agentVersion)
    .showHelpAfterError();

  program
    .command('run')
    .description('claim → run → report, one job at a time, until stopped (SIGTERM / service stop)')
    .requiredOption('--config <file>', 'agent.yaml')
    .option('--until-empty', 'exit when the queue has nothing (benchmarks, one-off runs)')
    .action(async (o: { config: string; untilEmpty?: boolean }) => {
      const agent = new Agent(loadAgentConfig(o.config));
      for (const signal of ['SIGTERM', 'SIGINT', 'SIGBREAK'] as const) process.on(signal, () => agent.stop());
      jsonLog('info', 'madoguchi-agent を起動しました', { version: agentVersion, pid: process.pid });
      await agent.run({ untilEmpty: o.untilEmpty === true });
      jsonLog('info', 'madoguchi-agent を停止しました', { jobs: agent.jobsDone });
    });

  program
    .command('check-scenarios')
    .description('dry run after a core-system upgrade: log in, run each scenario up to the saving button with sample data, save nothing')
    .requiredOption('--config <file>', 'agent.yaml')
    .option('--dir <dir>', "a local scenario folder instead of the server's")
    .option('--scenario <name...>', 'only these scenarios')
    .action(async (o: { config: string; dir?: string; scenario?: string[] }) => {
      const cfg = loadAgentConfig(o.config);
      if (o.dir) cfg.scenarioDir = o.dir;
      const agent = new Agent({ ...cfg, trace: 'off' }, () => undefined);
      try {
        const set = await agent.refreshScenarios();
        const session = await agent.browserSession();
        const runner = new ScenarioRunner(session.page, set, {
          baseUrl: cfg.core.url,
          credentials: { user: cfg.core.user, password: cfg.core.password },
          stepTimeoutMs: Math.min(cfg.stepTimeoutSeconds * 1000, 5000),
        });
        const names = o.scenario ?? [...set.scenarios.keys()];
        let failed = 0;
        for (const name of names) {
          const r = await runner.dryRun(runner.scenario(name));
          if (!r.ok) failed++;
          const label = { screen: '画面が違う', value: '値が変わる', option: '選択肢がない', system: '基幹系のエラー', data: '入力エラー' };
          console.log(
            `${r.ok ? 'OK' : 'NG'}  ${name.padEnd(22)} ${String(r.checked).padStart(3)} 手順${r.attempts > 1 ? ` (${r.attempts} 回目)` : ''}${
              r.ok ? '' : `  [${label[r.kind ?? 'screen']}] ${r.problem ?? ''}`
            }`,
          );
        }
        console.log(
          failed
            ? `\n${failed} 件のシナリオに問題があります。[画面が違う] [値が変わる] [選択肢がない] は docs/manual/rpa.md の「画面が変わったとき」を見てシナリオを、[基幹系のエラー] は基幹系の状態を確かめてください。`
            : `\nすべてのシナリオ (${names.length} 件) が画面と合っています (登録はしていません)。`,
        );
        process.exitCode = failed ? 1 : 0;
      } finally {
        await agent.close();
      }
    });

  program
    .command('validate')
    .description('check the scenario files of a folder (no browser): every problem with file, line, step and reason')
    .argument('<dir>', 'e.g. config/scenarios/sim')
    .action((dir: string) => {
      const set = loadScenarioSet(dir);
      console.log(`シナリオに誤りはありません: ${[...set.scenarios.keys()].join(', ')}`);
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (e) {
    if (e instanceof ConfigError) console.error(`設定・シナリオのエラー:\n${e.message}`);
    else console.error(e instanceof Error ? `エラー: ${e.message}` : e);
    process.exitCode = 1;
  }
}
