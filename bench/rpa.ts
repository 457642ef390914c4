/**
 * `npm run bench -- rpa [--jobs 100]`: moveIn entries on the core-system simulator (no injected
 * latency), by the agent (a separate process, claiming from a real server, probe, heartbeat,
 * trace chunk, report) and by a bare hand-written Playwright script typing the same fields.
 * Last line: {"bench":"rpa","jobs":…,"jobsPerHour":…,"bareScriptJobsPerHour":…,"overheadPct":…}
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { toWarekiParts } from '../server/src/domain/wareki.js';
import { registerApiClient } from '../server/src/auth/apiClients.js';
import { startServer } from '../server/src/main.js';
import { coreSimAccounts, startCoreSim } from '../test/fixtures/core-sim/server.js';
import { repoRoot, tempDir } from '../test/helpers/paths.js';
import { agentBin, soakConfig, soakPayload, writeAgentConfig } from '../test/helpers/rpaSoak.js';

interface Payload {
  reference: string;
  effectiveDate: string;
  headName: string;
  data: { newAddress: string; previousAddress: string };
  subject: { name: string; nameKana: string; birthDate: string; sex: string };
}

function payloads(n: number): Payload[] {
  let a = 11;
  const rand = () => ((a = (a * 1103515245 + 12345) % 2147483648), a / 2147483648);
  return Array.from({ length: n }, (_, i) => soakPayload(i, rand, false) as unknown as Payload);
}

const letter = (iso: string) => ({ 令和: 'R', 平成: 'H', 昭和: 'S', 大正: 'T', 明治: 'M' })[toWarekiParts(iso)!.era as '令和']!;
const fullKana = (s: string) =>
  s
    .normalize('NFKC')
    .replace(/[\u3041-\u3096]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60))
    .replace(/ /g, '\u3000');

/** What a developer would write by hand for the same steps: fixed selectors, no server, no evidence. */
async function bareScript(jobs: Payload[], coreUrl: string): Promise<number> {
  const started = Date.now();
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const page = await (await browser.newContext({ locale: 'ja-JP' })).newPage();
  await page.goto(new URL('login', coreUrl).toString());
  await page.fill('#user_id', 'rpa01');
  await page.fill('#password', coreSimAccounts.rpa01!.password);
  await page.click('#btn_login');
  await page.waitForSelector('#btn_logout');
  for (const j of jobs) {
    const d = toWarekiParts(j.effectiveDate)!;
    const b = toWarekiParts(j.subject.birthDate)!;
    // The same search the scenario's probe does (is the entry already there?).
    await page.goto(new URL('search', coreUrl).toString());
    await page.fill('#uketsuke_no', j.reference);
    await page.click('#btn_search');
    await page.waitForSelector('#results, #no_results');
    if ((await page.locator('#results .result_row').count()) > 0) continue;
    await page.goto(new URL('proc/tennyu', coreUrl).toString());
    await page.fill('#ido_ymd', `${letter(j.effectiveDate)}${d.year}.${d.month}.${d.day}`);
    await page.fill('#shimei', j.subject.name);
    await page.fill('#kana', fullKana(j.subject.nameKana));
    await page.selectOption('#seinen_gengo', letter(j.subject.birthDate));
    await page.fill('#seinen_y', String(b.year));
    await page.fill('#seinen_m', String(b.month));
    await page.fill('#seinen_d', String(b.day));
    await page.selectOption('#seibetsu', j.subject.sex);
    await page.fill('#jusho', j.data.newAddress);
    await page.fill('#zen_jusho', j.data.previousAddress);
    await page.fill('#setainushi', j.headName);
    await page.selectOption('#zokugara', '01');
    await page.fill('#uketsuke_no', j.reference);
    await page.click('#btn_confirm');
    await page.click('#btn_register');
    const no = await page.textContent('#record_no');
    if (!no) throw new Error('no record number');
  }
  await browser.close();
  return (Date.now() - started) / 1000;
}

export async function benchRpa(args: string[]): Promise<Record<string, unknown>> {
  const i = args.indexOf('--jobs');
  const n = i >= 0 ? Number(args[i + 1]) : 100;
  const jobs = payloads(n);
  const t = tempDir('madoguchi-bench-rpa-');
  const bareSim = await startCoreSim({ sessionTimeoutMs: 3_600_000 });
  const agentSim = await startCoreSim({ sessionTimeoutMs: 3_600_000 });
  const server = await startServer({
    configDir: soakConfig(t.dir, 120),
    dataDir: path.join(t.dir, 'data'),
    port: 0,
    host: '127.0.0.1',
    watch: false,
  });
  try {
    const bareSeconds = await bareScript(jobs, bareSim.url);
    process.stderr.write(`bare script: ${n} entries in ${bareSeconds.toFixed(1)} s\n`);
    const now = new Date(Date.now() - 1000);
    await server.knex('rpa_jobs').insert(
      jobs.map((p, k) => ({
        idempotency_key: `bench:${k}`,
        reference: p.reference,
        scenario: 'moveIn',
        payload: JSON.stringify(p),
        status: 'queued',
        awaiting_review: false,
        attempts: 0,
        max_attempts: 3,
        available_at: now,
        created_at: now,
        updated_at: now,
      })),
    );
    const token = await registerApiClient(server.knex, 'bench-agent', 'rpaAgent', { staffLogin: 'bench' });
    const trace = args.includes('--no-trace') ? 'off' : 'onFailure';
    const cfg = writeAgentConfig(t.dir, 'bench-agent', server.url, token, agentSim.url, 'rpa01', { trace });
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [agentBin, 'run', '--until-empty', '--config', cfg], {
        cwd: repoRoot,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`agent exited ${code}`))));
    });
    const agentSeconds = (Date.now() - started) / 1000;
    const done = Number(((await server.knex('rpa_jobs').where({ status: 'succeeded' }).count({ n: '*' }).first()) as { n: number }).n);
    if (done !== n || agentSim.entries().length !== n || bareSim.entries().length !== n)
      throw new Error(`entries: agent ${agentSim.entries().length}, bare ${bareSim.entries().length}, succeeded ${done} of ${n}`);
    process.stderr.write(`agent: ${n} entries in ${agentSeconds.toFixed(1)} s\n`);
    const jobsPerHour = Math.round((n / agentSeconds) * 3600);
    const bareScriptJobsPerHour = Math.round((n / bareSeconds) * 3600);
    return {
      bench: 'rpa',
      jobs: n,
      jobsPerHour,
      bareScriptJobsPerHour,
      overheadPct: Math.round((agentSeconds / bareSeconds - 1) * 1000) / 10,
      agentSeconds: Math.round(agentSeconds * 10) / 10,
      bareSeconds: Math.round(bareSeconds * 10) / 10,
    };
  } finally {
    await server.close();
    await bareSim.close();
    await agentSim.close();
    t.remove();
  }
}
