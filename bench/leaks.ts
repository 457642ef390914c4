/**
 * `npm run soak -- leaks [--people 3000] [--seed leaks] [--concurrency 8]`: the leak crawler
 * (issue 15 item 7, test/helpers/leakCrawler.ts). A generated town with protected persons and
 * typed protected addresses; every declared GET route with real ids as every shipped group and
 * the RPA agent token; every body and the log files scanned for every form of every protected
 * address. Prints the leaks on stderr and one JSON line {"soak":"leaks",…} on stdout; exits 1 on
 * a leak, when the positive control is 0 (the scanner saw nothing even for 支援措置担当), or when a
 * page could not be scanned (timeout, 5xx, a route whose parameters the crawler cannot fill).
 */
import { describeLeaks, runLeakCrawler, type LeakReport } from '../test/helpers/leakCrawler.js';

export interface LeakSoakOptions {
  people: number;
  seed: string;
  concurrency: number;
  verbose: boolean;
}

export async function leakSoak(o: LeakSoakOptions): Promise<{ report: LeakReport; ok: boolean }> {
  const report = await runLeakCrawler({
    people: o.people,
    seed: o.seed,
    concurrency: o.concurrency,
    log: (l) => {
      if (o.verbose || !l.startsWith('pdftotext')) process.stderr.write(`${l}\n`);
    },
  });
  const text = describeLeaks(report);
  if (text) process.stderr.write(`${text}\n`);
  if (o.verbose) process.stderr.write(`positive control on: ${report.positiveControlRoutes.join(', ')}\n`);
  if (o.verbose) for (const [route, st] of Object.entries(report.routeStatus)) process.stderr.write(`${route} ${JSON.stringify(st)}\n`);
  const { findings: _f, oracleFindings: _o, setupErrorList: _e, routeStatus: _r, positiveControlRoutes: _p, ...summary } = report;
  console.log(JSON.stringify(summary));
  // A page that timed out, failed or could not be addressed was not scanned: not a clean run either.
  const ok =
    report.leaks === 0 &&
    report.positiveControl > 0 &&
    report.setupErrors === 0 &&
    report.timeouts === 0 &&
    report.status5xx === 0 &&
    report.unfilledRoutes.length === 0;
  return { report, ok };
}
