/**
 * `npm run soak -- NAME [options]`: long fault runs. Ends with one JSON line {"soak":"NAME",…}.
 *   rpa  --jobs 200 --agents 2 --seed 7
 */
import { runRpaSoak } from '../test/helpers/rpaSoak.js';

function option(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
}

const [name, ...args] = process.argv.slice(2);
if (name !== 'rpa') {
  console.error('usage: npm run soak -- rpa [--jobs 200] [--agents 2] [--seed 7]');
  process.exit(2);
}
const verbose = args.includes('--verbose');
const r = await runRpaSoak({
  jobs: Number(option(args, 'jobs', '200')),
  agents: Number(option(args, 'agents', '2')),
  seed: Number(option(args, 'seed', '7')),
  killAfterSave: 0.04,
  killEveryMs: 8000,
  businessErrorShare: 0.04,
  faults: {
    seed: Number(option(args, 'seed', '7')),
    hangMs: 6000,
    rules: [
      { kind: 'http500', probability: 0.02 },
      { kind: 'lostClick', probability: 0.03 },
      { kind: 'errorAfterSave', probability: 0.03 },
      { kind: 'timeoutAfterSave', probability: 0.02 },
      { kind: 'sessionExpiry', probability: 0.005 },
    ],
  },
  timeoutMs: 30 * 60_000,
  log: (l) => {
    if (verbose || l.startsWith('kill') || l.startsWith('timeout')) process.stderr.write(`${l}\n`);
  },
});
process.stderr.write(`${JSON.stringify(r)}\n`);
console.log(
  JSON.stringify({
    soak: 'rpa',
    jobs: r.jobs,
    succeeded: r.succeeded,
    needsAttention: r.needsAttention,
    lost: r.lost,
    duplicates: r.duplicates,
    agentKills: r.agentKills,
    killsAfterSave: r.killsAfterSave,
    faultsFired: r.faultsFired,
    wrongRef: r.wrongRef,
    enteredAnyway: r.enteredAnyway,
    seconds: r.seconds,
  }),
);
process.exit(r.lost === 0 && r.duplicates === 0 && r.wrongRef === 0 && r.enteredAnyway === 0 ? 0 : 1);
