import path from 'node:path';
import type { Knex } from 'knex';
import { createDemoAccounts, type DemoAccount, type DemoLogin } from '../../server/src/demo/demoStaff.js';
import { startServer, type RunningServer } from '../../server/src/main.js';
import { loginAs, loginWith, type LoggedIn } from './login.js';
import { configDir as shippedConfig, tempDir } from './paths.js';

export interface TestServerOptions {
  /** Default: the shipped `config/`. */
  configDir?: string;
  /** Watch the drop folders and run the watchdog (default false: most tests feed data directly). */
  watch?: boolean;
  /** The data folder inside the temporary folder (default: the temporary folder itself). */
  dataSubdir?: string;
}

export interface TestServer {
  /** Base URL with its trailing slash: `${s.url}api/v1/visits`. */
  url: string;
  knex: Knex;
  /** The temporary folder (removed by close). */
  dir: string;
  dataDir: string;
  running: RunningServer;
  config: RunningServer['config'];
  /** A new member of staff in these groups, logged in through POST /login. */
  login(groups: string[]): Promise<LoggedIn>;
  /** One of the demo accounts (`madoka`, `hoken`, `shomei`, `shien`, `kanri`), created on first use. */
  loginDemo(loginId: DemoLogin, counterId?: string): Promise<LoggedIn>;
  close(): Promise<void>;
}

/**
 * The real app on an ephemeral port of 127.0.0.1, with a migrated SQLite database in a fresh
 * temporary folder and the shipped configuration. For a `before` hook; `close()` in `after`.
 */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const t = tempDir();
  const dataDir = opts.dataSubdir ? path.join(t.dir, opts.dataSubdir) : t.dir;
  let running: RunningServer;
  try {
    running = await startServer({
      configDir: opts.configDir ?? shippedConfig,
      dataDir,
      port: 0,
      host: '127.0.0.1',
      watch: opts.watch ?? false,
    });
  } catch (e) {
    t.remove();
    throw e;
  }
  let demo: Promise<DemoAccount[]> | undefined;
  return {
    url: running.url,
    knex: running.knex,
    dir: t.dir,
    dataDir,
    running,
    config: running.config,
    login: (groups) => loginAs(running.url, running.knex, groups),
    async loginDemo(loginId, counterId) {
      demo ??= createDemoAccounts(running.knex);
      const account = (await demo).find((a) => a.loginId === loginId)!;
      return loginWith(running.url, running.knex, account.loginId, account.password, counterId);
    },
    async close() {
      try {
        await running.close();
      } finally {
        t.remove();
      }
    },
  };
}
