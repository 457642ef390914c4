/**
 * `npm run soak -- NAME [options]`: long fault runs. Ends with one JSON line {"soak":"NAME",…}.
 *   rpa    --profile default|selfNumbering --jobs 200 --agents 2 --seed 7
 *   leaks  --people 3000 --seed leaks --concurrency 8   (bench/leaks.ts)
 *   fuzz   --requests 10000 --concurrency 50 --seed 1  (bench/fuzz.ts)
 *   standby --rounds 5 --seed 1 --clients 4  (bench/standbySoak.ts: kill -9 of the primary, promote, rejoin)
 */
import { runRpaSoak } from '../test/helpers/rpaSoak.js';
import { runSelfNumberingSoak } from '../test/helpers/rpaSoakSelf.js';
import { fuzzLine, runFuzz } from './fuzz.js';
import { leakSoak } from './leaks.js';
import { runStandbySoak, standbyGoalsMet, standbyLine } from './standbySoak.js';

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

const [name, ...args] = process.argv.slice(2);
if (name !== 'rpa' && name !== 'leaks' && name !== 'fuzz' && name !== 'standby') {
  console.error('usage: npm run soak -- rpa [--profile default|selfNumbering] [--jobs 200] [--agents 2] [--seed 7]');
  console.error('       npm run soak -- leaks [--people 3000] [--seed leaks] [--concurrency 8]');
  console.error('       npm run soak -- fuzz [--requests 10000] [--concurrency 50] [--seed 1]');
  console.error('       npm run soak -- standby [--rounds 5] [--seed 1] [--clients 4]');
  process.exit(2);
}
const verbose = args.includes('--verbose');
if (name === 'standby') {
  const rounds = Number(option(args, 'rounds', '5'));
  const clients = Number(option(args, 'clients', '4'));
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(clients) || clients < 1 || clients > 32) {
    console.error('--rounds は 1 以上、--clients は 1〜32 の整数です');
    process.exit(2);
  }
  process.stderr.write(
    'promoteSeconds: SIGKILL of the primary → the promoted standby answers /healthz ok as primary AND accepts a 転入 (max over rounds)\n',
  );
  const r = await runStandbySoak({
    rounds,
    clients,
    seed: Number(option(args, 'seed', '1')),
    log: (l) => {
      if (verbose || /^(round|lost|promote|status|load|\{"round")/.test(l)) process.stderr.write(`${l}\n`);
    },
  });
  process.stderr.write(`${JSON.stringify({ ...r, seconds: r.seconds })}\n`);
  if (r.error) process.stderr.write(`standby soak stopped: ${r.error}\n`);
  console.log(standbyLine(r));
  process.exit(standbyGoalsMet(r, rounds) ? 0 : 1);
}
if (name === 'fuzz') {
  const r = await runFuzz({
    requests: Number(option(args, 'requests', '10000')),
    concurrency: Math.min(50, Number(option(args, 'concurrency', '50'))),
    seed: Number(option(args, 'seed', '1')),
    log: (l) => {
      if (verbose || /^(5xx|CRASH|slow|fuzz error|audit)/.test(l)) process.stderr.write(`${l}\n`);
    },
  });
  process.stderr.write(`${JSON.stringify({ kinds: r.kinds, statuses: r.statuses, routes: r.routes, seconds: r.seconds })}\n`);
  console.log(fuzzLine(r));
  process.exit(r.status5xx === 0 && r.crashes === 0 && r.slowOver5s === 0 && r.auditVerify === 'ok' ? 0 : 1);
}
if (name === 'leaks') {
  const { ok } = await leakSoak({
    people: Number(option(args, 'people', '3000')),
    seed: option(args, 'seed', 'leaks'),
    concurrency: Math.min(50, Number(option(args, 'concurrency', '8'))),
    verbose,
  });
  process.exit(ok ? 0 : 1);
}
const profile = option(args, 'profile', 'default');
if (profile !== 'default' && profile !== 'selfNumbering') {
  console.error('--profile は default か selfNumbering です');
  process.exit(2);
}
const seed = Number(option(args, 'seed', '7'));
const common = {
  jobs: Number(option(args, 'jobs', '200')),
  agents: Number(option(args, 'agents', '2')),
  seed,
  killAfterSave: 0.04,
  killEveryMs: 8000,
  timeoutMs: 30 * 60_000,
  log: (l: string) => {
    if (verbose || /^(kill|timeout|lost|duplicate|wrongRef|field|open)/.test(l)) process.stderr.write(`${l}\n`);
  },
};
if (profile === 'selfNumbering') {
  // The second vendor: its own numbers, no reference field, households in one entry.
  const r = await runSelfNumberingSoak({
    ...common,
    faults: {
      seed,
      hangMs: 6000,
      rules: [
        { kind: 'http500', probability: 0.02 },
        { kind: 'lostClick', probability: 0.03 },
        { kind: 'errorAfterSave', probability: 0.04 },
        { kind: 'sessionExpiry', probability: 0.005 },
      ],
    },
  });
  process.stderr.write(`${JSON.stringify(r)}\n`);
  console.log(JSON.stringify({ soak: 'rpa', profile, ...r }));
  const ok =
    r.lost === 0 && r.duplicates === 0 && r.wrongRef === 0 && r.fieldErrors === 0 && r.householdsSplit === 0 && r.enteredAnyway === 0;
  process.exit(ok ? 0 : 1);
}
const r = await runRpaSoak({
  ...common,
  businessErrorShare: 0.04,
  faults: {
    seed,
    hangMs: 6000,
    rules: [
      { kind: 'http500', probability: 0.02 },
      { kind: 'lostClick', probability: 0.03 },
      { kind: 'errorAfterSave', probability: 0.03 },
      { kind: 'timeoutAfterSave', probability: 0.02 },
      { kind: 'sessionExpiry', probability: 0.005 },
    ],
  },
});
process.stderr.write(`${JSON.stringify(r)}\n`);
console.log(
  JSON.stringify({
    soak: 'rpa',
    profile,
    jobs: r.jobs,
    succeeded: r.succeeded,
    needsAttention: r.needsAttention,
    lost: r.lost,
    duplicates: r.duplicates,
    wrongRef: r.wrongRef,
    fieldErrors: r.fieldErrors,
    householdsSplit: r.householdsSplit,
    agentKills: r.agentKills,
    killsAfterSave: r.killsAfterSave,
    faultsFired: r.faultsFired,
    enteredAnyway: r.enteredAnyway,
    seconds: r.seconds,
  }),
);
process.exit(r.lost === 0 && r.duplicates === 0 && r.wrongRef === 0 && r.fieldErrors === 0 && r.enteredAnyway === 0 ? 0 : 1);
