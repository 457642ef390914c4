import { randomBytes } from 'node:crypto';
/**
 * A real NUT `upsd` serving one simulated UPS (`dummy`, driver `dummy-ups`) from a temporary
 * directory: nothing under /etc/nut is read or written (NUT_CONFPATH / NUT_STATEPATH /
 * NUT_ALTPIDPATH point into the directory). Needs the Debian packages nut-server and nut-client
 * (`bash scripts/ensure-system-deps.sh test`).
 *
 * What runs (both in the foreground, as children of the test process):
 *   /lib/nut/dummy-ups -a dummy -u <user> -F     (reads <dir>/dummy.dev, socket <dir>/run/dummy-ups-dummy)
 *   /lib/nut/upsd -u <user> -F                   (LISTEN 127.0.0.1 <free port>)
 * `/sbin/upsd` is not used: on Debian it is a wrapper that reads /etc/nut/nut.conf.
 *
 * `startUpsmon` adds a real `upsmon` (primary) for the same UPS, see there.
 *
 * Status changes: the .dev file is replaced atomically with a strictly newer mtime (dummy-ups in
 * its default dummy-once mode re-reads the file only when its mtime changes, with 1 s resolution);
 * with `pollinterval = 1` upsd shows the change after up to about 1 s. `setStatus` waits until
 * `upsc` (the NUT command-line client, independent of our client) reports it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { tempDir } from './paths.js';
import { waitExit } from './processes.js';

const DRIVER = '/lib/nut/dummy-ups';
const UPSD = '/lib/nut/upsd';
const UPSC = '/bin/upsc';
const UPSMON = '/lib/nut/upsmon';
const UNSHARE = '/usr/bin/unshare';

export const ADMIN_USER = 'admin';
/** Space, quote and backslash: a wrongly quoted PASSWORD line gets ACCESS-DENIED on SET VAR. */
export const ADMIN_PASSWORD = `p w"d\\${randomBytes(6).toString('hex')}`;
export const UPS_DESCRIPTION = 'Rack "A" C:\\ups'; // exercises escaped quotes and backslashes
/** The account upsmon logs in with (`upsmon primary` in upsd.users). */
export const UPSMON_USER = 'monitor';
const UPSMON_PASSWORD = randomBytes(9).toString('hex');

export interface UpsmonOptions {
  /** Body of the NOTIFYCMD shell script (gets the message as $1, NOTIFYTYPE/UPSNAME in the environment). */
  notifyScript: string;
  /** Seconds between NOTIFY_SHUTDOWN and SHUTDOWNCMD. */
  finalDelay: number;
}

export interface Upsmon {
  /** Written by SHUTDOWNCMD (a stub: the test machine keeps running), holding the epoch ms it ran at. */
  shutdownMarker: string;
  /** When SHUTDOWNCMD ran (epoch ms), waiting up to `ms` for it; null if it did not. */
  waitForShutdown(ms: number): Promise<number | null>;
  logs(): string;
}

export interface Upsd {
  host: string;
  port: number;
  ups: string;
  dir: string;
  /** Rewrites ups.status in the .dev file and waits until upsd serves it; returns the delay in ms. */
  setStatus(status: string): Promise<number>;
  /** Rewrites variables in the .dev file and waits until upsd serves all of them; returns ms. */
  setVars(vars: Record<string, string>): Promise<number>;
  /** One variable as `upsc` sees it (null when upsc fails). */
  upsc(name: string): Promise<string | null>;
  /** SIGSTOP / SIGCONT upsd: it still accepts TCP connections (kernel backlog) but never answers. */
  suspend(): void;
  resume(): void;
  /**
   * Starts upsmon as a primary for this UPS with NOTIFYFLAG EXEC for ONBATT, ONLINE, LOWBATT and FSD.
   * upsmon keeps its pid file in the compiled-in /run/nut (NUT_ALTPIDPATH does not move it) and
   * refuses to start next to another upsmon: it runs in a private mount namespace (`unshare -m`,
   * needs root) with a fresh tmpfs on /run, so the host's /run is never written.
   */
  startUpsmon(opts: UpsmonOptions): Promise<Upsmon>;
  /** Stops the processes (upsmon first) and removes the directory; safe to call twice. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function devFile(vars: Record<string, string>): string {
  // The .dev format is upsc's output; dummy-ups does not understand escaped quotes in values.
  return Object.entries(vars)
    .map(([k, v]) => `${k}: ${/\s/.test(v) ? `"${v}"` : v}`)
    .join('\n')
    .concat('\n');
}

export async function startUpsd(): Promise<Upsd> {
  for (const bin of [DRIVER, UPSD, UPSC]) {
    if (!existsSync(bin)) {
      throw new Error(`${bin} is missing: run \`bash scripts/ensure-system-deps.sh test\` (nut-server, nut-client)`);
    }
  }
  const tmp = tempDir('madoguchi-upsd-');
  const dir = tmp.dir;
  const run = path.join(dir, 'run');
  mkdirSync(run);
  chmodSync(run, 0o770);
  const user = os.userInfo().username;
  const port = await freePort();
  const host = '127.0.0.1';
  const ups = 'dummy';
  const dev = path.join(dir, 'dummy.dev');
  const esc = (v: string): string => v.replace(/[\\"]/g, (c) => `\\${c}`);

  writeFileSync(
    path.join(dir, 'ups.conf'),
    `[${ups}]\n  driver = dummy-ups\n  port = ${dev}\n  pollinterval = 1\n  desc = "${esc(UPS_DESCRIPTION)}"\n`,
    { mode: 0o600 },
  );
  writeFileSync(path.join(dir, 'upsd.conf'), `LISTEN ${host} ${port}\n`, { mode: 0o600 });
  writeFileSync(
    path.join(dir, 'upsd.users'),
    `[${ADMIN_USER}]\n  password = "${esc(ADMIN_PASSWORD)}"\n  actions = SET FSD\n  instcmds = ALL\n[${UPSMON_USER}]\n  password = "${UPSMON_PASSWORD}"\n  upsmon primary\n`,
    { mode: 0o600 },
  );
  const vars: Record<string, string> = {
    'ups.serial': 'MDG-0001',
    'ups.status': 'OL',
    'battery.charge': '100',
    'battery.runtime': '1800',
  };
  let lastMtime = 0;
  const writeDev = (): void => {
    // Atomic replace, and an mtime at least 1 s after the previous one so dummy-ups notices.
    const tmpFile = `${dev}.tmp`;
    writeFileSync(tmpFile, devFile(vars));
    const t = Math.max(Math.floor(Date.now() / 1000), lastMtime + 1);
    lastMtime = t;
    utimesSync(tmpFile, t, t);
    renameSync(tmpFile, dev);
  };
  writeDev();

  const env = { ...process.env, NUT_CONFPATH: dir, NUT_STATEPATH: run, NUT_ALTPIDPATH: run };
  const logs: string[] = [];
  const children: ChildProcess[] = [];
  const launch = (cmd: string, args: string[], name = path.basename(cmd), detached = false): ChildProcess => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached });
    const keep = (d: Buffer): void => {
      logs.push(`${name}: ${d.toString()}`);
      if (logs.length > 200) logs.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (e) => logs.push(`${name}: ${e.message}`));
    children.push(child);
    return child;
  };
  // upsmon runs in its own process group (its worker and NOTIFYCMD children go with it).
  const groups = new Set<ChildProcess>();
  const signal = (c: ChildProcess, sig: NodeJS.Signals): void => {
    try {
      if (groups.has(c) && c.pid) process.kill(-c.pid, sig);
      else c.kill(sig);
    } catch {
      // already gone
    }
  };
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) signal(c, 'SIGKILL');
  };
  process.once('exit', killAll); // never leave a upsd behind if mocha dies

  const upsc = (name: string): Promise<string | null> =>
    new Promise((resolve) => {
      execFile(UPSC, [`${ups}@${host}:${port}`, name], { env, timeout: 3000 }, (err, stdout) => resolve(err ? null : stdout.trim()));
    });

  const waitFor = async (want: Record<string, string>, ms: number): Promise<number> => {
    const start = Date.now();
    for (;;) {
      let all = true;
      for (const [k, v] of Object.entries(want)) {
        const got = await upsc(k);
        // upsd adds FSD to ups.status as soon as a primary upsmon sets it: compare the flags as a set.
        const same = k === 'ups.status' && got !== null ? v.split(' ').every((flag) => got.split(' ').includes(flag)) : got === v;
        if (!same) {
          all = false;
          break;
        }
      }
      if (all) return Date.now() - start;
      if (Date.now() - start > ms) {
        throw new Error(`upsd did not report ${JSON.stringify(want)} within ${ms} ms\n${logs.join('')}`);
      }
      await sleep(50);
    }
  };

  let upsdChild: ChildProcess | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    upsdChild?.kill('SIGCONT');
    for (const c of [...children].reverse()) {
      if (c.exitCode === null && c.signalCode === null) signal(c, 'SIGTERM');
      await waitExit(c, 3000);
      if (groups.has(c) && c.pid) signal(c, 'SIGKILL'); // stragglers of the group (NOTIFYCMD)
    }
    process.removeListener('exit', killAll);
    tmp.remove();
  };

  try {
    const driver = launch(DRIVER, ['-a', ups, '-u', user, '-F']);
    const sock = path.join(run, `dummy-ups-${ups}`);
    for (let i = 0; !existsSync(sock); i++) {
      if (driver.exitCode !== null || i > 100) throw new Error(`dummy-ups did not start\n${logs.join('')}`);
      await sleep(50);
    }
    upsdChild = launch(UPSD, ['-u', user, '-F']);
    await waitFor({ ...vars }, 10_000);
  } catch (err) {
    await stop();
    throw err;
  }
  const child = upsdChild;

  return {
    host,
    port,
    ups,
    dir,
    upsc,
    async setStatus(status) {
      vars['ups.status'] = status;
      writeDev();
      return waitFor({ 'ups.status': status }, 5000);
    },
    async setVars(next) {
      Object.assign(vars, next);
      writeDev();
      return waitFor(next, 5000);
    },
    async startUpsmon(opts) {
      if (!existsSync(UPSMON)) throw new Error(`${UPSMON} is missing: run \`bash scripts/ensure-system-deps.sh test\` (nut-client)`);
      const notify = path.join(dir, 'notify.sh');
      const shutdownMarker = path.join(dir, 'shutdown-called');
      const shutdown = path.join(dir, 'shutdown.sh');
      writeFileSync(notify, `#!/bin/sh\n${opts.notifyScript}\n`, { mode: 0o700 });
      writeFileSync(shutdown, `#!/bin/sh\ndate +%s%3N > '${shutdownMarker}'\n`, { mode: 0o700 });
      const flags = ['ONBATT', 'ONLINE', 'LOWBATT', 'FSD'].map((e) => `NOTIFYFLAG ${e} EXEC\n`).join('');
      writeFileSync(
        path.join(dir, 'upsmon.conf'),
        `MONITOR ${ups}@${host}:${port} 1 ${UPSMON_USER} "${UPSMON_PASSWORD}" primary\nMINSUPPLIES 1\nSHUTDOWNCMD "${shutdown}"\nNOTIFYCMD "${notify}"\n` +
          `POLLFREQ 1\nPOLLFREQALERT 1\nDEADTIME 15\nHOSTSYNC 15\nFINALDELAY ${opts.finalDelay}\nPOWERDOWNFLAG "${path.join(dir, 'killpower')}"\nRUN_AS_USER ${user}\n${flags}`,
        { mode: 0o600 },
      );
      const start = logs.length;
      const mon = launch(
        UNSHARE,
        ['-m', 'sh', '-c', `mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/nut && exec ${UPSMON} -u ${user} -F`],
        'upsmon',
        true,
      );
      groups.add(mon);
      // Logged in once upsd counts it (`upsc -c` lists the clients of the UPS).
      for (let i = 0; ; i++) {
        const clients = await new Promise<string>((resolve) =>
          execFile(UPSC, ['-c', `${ups}@${host}:${port}`], { env, timeout: 3000 }, (_e, out) => resolve(out)),
        );
        if (clients.trim() !== '') break;
        if (mon.exitCode !== null || i > 100) throw new Error(`upsmon did not log in to upsd\n${logs.slice(start).join('')}`);
        await sleep(100);
      }
      return {
        shutdownMarker,
        async waitForShutdown(ms) {
          for (const until = Date.now() + ms; Date.now() < until; await sleep(50)) {
            if (existsSync(shutdownMarker)) {
              const t = Number(readFileSync(shutdownMarker, 'utf8').trim());
              if (t > 0) return t;
            }
          }
          return null;
        },
        logs: () => logs.join(''),
      };
    },
    suspend: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    stop,
  };
}
