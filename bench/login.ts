import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { createStaff } from '../server/src/auth/staffRepo.js';
import { startServer } from '../server/src/main.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Answer {
  status: number;
  cookies: string[];
  body: string;
}

/** One request from a chosen loopback address (each attempt its own, so the throttle stays out of it). */
function request(
  url: string,
  from: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers, localAddress: from, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cookies: res.headers['set-cookie'] ?? [], body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Login timing: failed logins for known ids (wrong password) against unknown ids, over HTTP
 * through the real login form (GET for the CSRF token, then the timed POST). Both run one
 * scrypt, so the ratio should be close to 1 (before issue 15 it was about 25: 304 ms vs 12 ms).
 * Each attempt comes from its own 127.x address and no known id fails often enough to lock.
 *
 *   npm run bench -- login [--runs 40]
 */
export async function benchLogin(args: string[]): Promise<Record<string, unknown>> {
  const i = args.indexOf('--runs');
  const runs = i >= 0 ? Number(args[i + 1]) || 40 : 40;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'madoguchi-bench-login-'));
  const server = await startServer({ configDir: path.join(root, 'config'), dataDir, port: 0, host: '127.0.0.1', watch: false });
  try {
    const perAccount = Math.max(1, server.config.auth.lockout.account.maxFailures - 1);
    const known = Array.from({ length: Math.ceil(runs / perAccount) }, (_, n) => `bench${n}`);
    for (const loginId of [...known, 'benchwarm'])
      await createStaff(server.knex, {
        loginId,
        displayName: '計測 職員',
        section: '住民課',
        password: 'Bench-password-1',
        groups: ['counter'],
        mustChangePassword: false,
      });
    let address = 0;
    const nextAddress = () => {
      address++;
      return `127.1.${address >> 8}.${(address & 255) + 1}`;
    };
    const attempt = async (loginId: string): Promise<number> => {
      const from = nextAddress();
      const form = await request(`${server.url}login`, from);
      const token = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1];
      if (!token) throw new Error(`login form: ${form.status}`);
      const body = new URLSearchParams({ _csrf: token, loginId, password: 'Wrong-password-9', counterId: 'shimin-1' }).toString();
      const t0 = performance.now();
      const r = await request(`${server.url}login`, from, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: form.cookies.map((c) => c.split(';')[0]).join('; ') },
        body,
      });
      const ms = performance.now() - t0;
      if (r.status !== 401) throw new Error(`expected 401 for ${loginId}, got ${r.status}`);
      return ms;
    };
    // Warm-up: the dummy hash, the statements, the JIT.
    for (let n = 0; n < 3; n++) {
      await attempt(`nobody-warm${n}`);
      await attempt('benchwarm');
    }
    const knownMs: number[] = [];
    const unknownMs: number[] = [];
    for (let n = 0; n < runs; n++) {
      // Alternated, so that drift in the machine's load falls on both alike.
      const [first, second] = n % 2 ? (['unknown', 'known'] as const) : (['known', 'unknown'] as const);
      for (const kind of [first, second]) {
        if (kind === 'known') knownMs.push(await attempt(known[Math.floor(n / perAccount)]!));
        else unknownMs.push(await attempt(`nobody${n}`));
      }
      if (n % 10 === 9) process.stderr.write(`login: ${n + 1}/${runs}\n`);
    }
    const knownMedianMs = median(knownMs);
    const unknownMedianMs = median(unknownMs);
    return {
      bench: 'login',
      knownMedianMs: Number(knownMedianMs.toFixed(1)),
      unknownMedianMs: Number(unknownMedianMs.toFixed(1)),
      ratio: Number((knownMedianMs / unknownMedianMs).toFixed(3)),
    };
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
