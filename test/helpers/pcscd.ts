import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tempDir } from './paths.js';
import { waitExit } from './processes.js';

/**
 * A real pcscd (Debian pcscd 1.9.9) with one vsmartcard vpcd reader, isolated from the host, as
 * a child of the test process. Needs root and the packages pcscd, vsmartcard-vpcd, util-linux and
 * iproute2 (`bash scripts/ensure-system-deps.sh test`).
 *
 *   unshare -m -n sh -c 'ip link set lo up; tmpfs on /run; bind <run dir> on /run/pcscd;
 *                        exec pcscd --foreground --config <dir>/reader.conf.d'
 *   nsenter --net=/proc/<pcscd>/ns/net node -e <relay> <port> <dir>/card.sock
 *
 * - Configuration: its own reader.conf.d (DEVICENAME /dev/null:<port>); /etc/reader.conf.d is
 *   not read.
 * - Socket: pcscd 1.9.9 ignores PCSCLITE_CSOCK_NAME and always listens on
 *   /run/pcscd/pcscd.comm. In its private mount namespace that directory is a bind mount of a
 *   directory under /tmp, so the socket appears there and the client is pointed at it with
 *   PCSCLITE_CSOCK_NAME (libpcsclite honours it). The host's /run/pcscd is never touched, and a
 *   host pcscd, if any, keeps running. libpcsclite reads the variable once per process, so the
 *   run directory is fixed per test process.
 * - Network: vpcd listens on all interfaces, but inside pcscd's own network namespace, which
 *   has only lo. A small relay started in that namespace links vpcd's port to a Unix socket in the
 *   temporary directory; the fake card (test/helpers/virtualCard.ts) connects there. Nothing
 *   listens on the host's network.
 * - USB: the tmpfs on /run hides /run/udev, so pcscd does not pick up real readers of the host.
 */

const PCSCD = '/usr/sbin/pcscd';
const VPCD = '/usr/lib/pcsc/drivers/serial/libifdvpcd.so';
const UNSHARE = '/usr/bin/unshare';
const NSENTER = '/usr/bin/nsenter';
const IP = '/usr/sbin/ip';

/** Why pcscd cannot run here (the test then skips), or null. */
export function pcscdAvailable(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'needs root (pcscd runs in its own mount and network namespace)';
  const needs: [string, string][] = [
    [PCSCD, 'pcscd'],
    [VPCD, 'vsmartcard-vpcd'],
    [UNSHARE, 'util-linux'],
    [NSENTER, 'util-linux'],
    [IP, 'iproute2'],
  ];
  for (const [file, pkg] of needs) {
    if (!existsSync(file)) return `${file} is missing (Debian package ${pkg}; run \`bash scripts/ensure-system-deps.sh test\`)`;
  }
  const probe = spawnSync(UNSHARE, ['-m', '-n', 'true'], { encoding: 'utf8', timeout: 5000 });
  if (probe.status !== 0) return `unshare -m -n is not permitted here: ${(probe.stderr || String(probe.error)).trim()}`;
  return null;
}

export interface Pcscd {
  /** For the client: PCSCLITE_CSOCK_NAME, the same for every pcscd this process starts. */
  env: { PCSCLITE_CSOCK_NAME: string };
  /** vpcd's port, inside pcscd's network namespace. */
  port: number;
  /** The Unix socket a VirtualCard connects to (relayed to vpcd). */
  cardSocket: string;
  /** Recent pcscd and relay output (error level only: APDUs are never logged). */
  logs(): string;
  /** Stops relay and pcscd and removes their directories; safe to call twice. */
  stop(): Promise<void>;
}

/** Relay in pcscd's namespace: each connection to the Unix socket becomes one to vpcd. */
const RELAY = `
const net = require('net');
const [port, sock] = process.argv.slice(1);
net.createServer((u) => {
  const t = net.connect(Number(port), '127.0.0.1');
  const end = () => { u.destroy(); t.destroy(); };
  u.pipe(t); t.pipe(u);
  for (const s of [u, t]) { s.on('close', end); s.on('error', end); }
}).listen(sock, () => console.log('ready'));
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startPcscd(): Promise<Pcscd> {
  const reason = pcscdAvailable();
  if (reason) throw new Error(`pcscd cannot run: ${reason}`);
  const tmp = tempDir('madoguchi-pcscd-');
  const runDir = path.join(os.tmpdir(), `madoguchi-pcscd-run-${process.pid}`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { mode: 0o755 });
  const confDir = path.join(tmp.dir, 'reader.conf.d');
  mkdirSync(confDir);
  // In a fresh network namespace every port is free; a random one still shows it is not 35963.
  const port = 20000 + Math.floor(Math.random() * 40000);
  writeFileSync(
    path.join(confDir, 'vpcd'),
    `FRIENDLYNAME "Virtual PCD"\nDEVICENAME   /dev/null:${port}\nLIBPATH      ${VPCD}\nCHANNELID    ${port}\n`,
  );
  const cardSocket = path.join(tmp.dir, 'card.sock');

  const logs: string[] = [];
  const keep = (name: string) => (d: Buffer) => {
    logs.push(`${name}: ${d.toString()}`);
    if (logs.length > 100) logs.shift();
  };
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const children: ChildProcess[] = [];
  const killAll = (): void => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.once('exit', killAll); // never leave a pcscd behind if mocha dies

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const c of [...children].reverse()) {
      c.kill('SIGTERM');
      await waitExit(c, 3000);
    }
    process.removeListener('exit', killAll);
    rmSync(runDir, { recursive: true, force: true });
    tmp.remove();
  };

  try {
    const script = [
      'ip link set lo up',
      // vpcd sends a frame's length and body in two writes; without quick ACKs Nagle holds the body
      // back for the receiver's delayed ACK (about 40 ms per APDU).
      'ip route replace table local local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 quickack 1',
      'mount -t tmpfs -o mode=0755 tmpfs /run',
      'mkdir /run/pcscd',
      'mount --bind "$1" /run/pcscd',
      'exec "$2" --foreground --config "$3"',
    ].join(' && ');
    const daemon = spawn(UNSHARE, ['-m', '-n', '--', 'sh', '-c', script, 'sh', runDir, PCSCD, confDir], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(daemon);
    daemon.stdout?.on('data', keep('pcscd'));
    daemon.stderr?.on('data', keep('pcscd'));
    const sock = path.join(runDir, 'pcscd.comm');
    for (let i = 0; !existsSync(sock); i++) {
      if (daemon.exitCode !== null || i > 250) throw new Error(`pcscd did not start\n${logs.join('')}`);
      await sleep(20);
    }

    const relay = spawn(NSENTER, [`--net=/proc/${daemon.pid}/ns/net`, '--', process.execPath, '-e', RELAY, String(port), cardSocket], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(relay);
    relay.stderr?.on('data', keep('relay'));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`relay did not start\n${logs.join('')}`)), 5000);
      relay.stdout?.once('data', () => {
        clearTimeout(t);
        resolve();
      });
      relay.once('exit', () => {
        clearTimeout(t);
        reject(new Error(`relay exited\n${logs.join('')}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }

  return { env: { PCSCLITE_CSOCK_NAME: path.join(runDir, 'pcscd.comm') }, port, cardSocket, logs: () => logs.join(''), stop };
}
