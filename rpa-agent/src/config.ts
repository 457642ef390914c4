import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadYaml } from '@madoguchi/server/config/yamlFile';

/** `agent.yaml` on the RPA PC (docs/manual/rpa.md). Relative paths are relative to the file. */
export interface AgentConfig {
  server: string;
  token: string;
  ca?: string;
  coreSystem?: string;
  core: { url: string; user: string; password: string };
  browser: { channel?: string; executablePath?: string; headless: boolean; args: string[] };
  workDir: string;
  /** A local scenario folder instead of the server's (to try a repair before putting it on the server). */
  scenarioDir?: string;
  /** The scenarios this PC serves (an agent pool: one PC for certificates, one for move entries); absent = all. */
  serves?: string[];
  pollSeconds: number;
  stepTimeoutSeconds: number;
  screenshots: 'onFailure' | 'everyStep';
  /** onFailure: actions, network and console of a failed job; detailed: also DOM snapshots and screenshots (slower, for investigations). */
  trace: 'onFailure' | 'detailed' | 'off';
}

/** What the file holds: secrets by reference (a file or an environment variable), read at load. */
type AgentConfigSource = Omit<AgentConfig, 'token' | 'ca' | 'core'> & {
  token?: string;
  tokenFile?: string;
  /** A path to the CA's PEM (the loaded config holds its text). */
  ca?: string;
  core: { url: string; user: string; password?: string; passwordFile?: string; passwordEnv?: string };
};

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['server', 'core'],
  properties: {
    server: { type: 'string', pattern: '^https?://' },
    token: { type: 'string', minLength: 8 },
    tokenFile: { type: 'string', minLength: 1 },
    ca: { type: 'string', minLength: 1 },
    coreSystem: { type: 'string', pattern: '^[A-Za-z0-9_-]+$' },
    serves: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]*$' } },
    core: {
      type: 'object',
      additionalProperties: false,
      required: ['url', 'user'],
      properties: {
        url: { type: 'string', pattern: '^https?://' },
        user: { type: 'string', minLength: 1 },
        password: { type: 'string' },
        passwordFile: { type: 'string' },
        passwordEnv: { type: 'string' },
      },
    },
    browser: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        channel: { type: 'string', enum: ['msedge', 'chrome', 'chromium'] },
        executablePath: { type: 'string' },
        headless: { type: 'boolean', default: true },
        args: { type: 'array', items: { type: 'string' }, default: [] },
      },
    },
    workDir: { type: 'string', default: 'agent-work' },
    scenarioDir: { type: 'string' },
    pollSeconds: { type: 'number', minimum: 0.05, maximum: 600, default: 5 },
    stepTimeoutSeconds: { type: 'number', minimum: 0.5, maximum: 600, default: 10 },
    screenshots: { type: 'string', enum: ['onFailure', 'everyStep'], default: 'onFailure' },
    trace: { type: 'string', enum: ['onFailure', 'detailed', 'off'], default: 'onFailure' },
  },
} as const;

export function loadAgentConfig(file: string, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const v = loadYaml<AgentConfigSource>(file, schema);
  const dir = path.dirname(path.resolve(file));
  const at = (p: string) => path.resolve(dir, p);
  const problem = (where: string, reason: string) => new ConfigError([{ file, path: where, line: 0, column: 0, reason }]);
  const readSecret = (p: string, where: string) => {
    try {
      return readFileSync(at(p), 'utf8').trim();
    } catch (e) {
      throw problem(where, `読めません: ${at(p)} (${(e as Error).message})`);
    }
  };
  const token = env.MADOGUCHI_AGENT_TOKEN ?? v.token ?? (v.tokenFile ? readSecret(v.tokenFile, 'tokenFile') : '');
  if (!token) throw problem('tokenFile', 'サーバーの認証トークンがありません (tokenFile か環境変数 MADOGUCHI_AGENT_TOKEN)');
  const password = v.core.passwordEnv
    ? env[v.core.passwordEnv]
    : v.core.passwordFile
      ? readSecret(v.core.passwordFile, 'core.passwordFile')
      : v.core.password;
  if (password === undefined || password === '')
    throw problem('core', '基幹系のパスワードがありません (core.passwordFile か core.passwordEnv)');
  return {
    server: v.server,
    token,
    ...(v.ca ? { ca: readSecret(v.ca, 'ca') } : {}),
    ...(v.coreSystem ? { coreSystem: v.coreSystem } : {}),
    core: { url: v.core.url, user: v.core.user, password },
    browser: { ...v.browser, ...(v.browser.executablePath ? { executablePath: at(v.browser.executablePath) } : {}) },
    workDir: at(v.workDir),
    ...(v.scenarioDir ? { scenarioDir: at(v.scenarioDir) } : {}),
    ...(v.serves ? { serves: v.serves } : {}),
    pollSeconds: v.pollSeconds,
    stepTimeoutSeconds: v.stepTimeoutSeconds,
    screenshots: v.screenshots,
    trace: v.trace,
  };
}
