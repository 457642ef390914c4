import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadYaml } from '@madoguchi/server/config/yamlFile';

/** `card-reader.yaml` on the counter PC (docs/manual/card-reader.md). Relative paths are relative to the file. */
export interface CardHelperConfig {
  server: string;
  token: string;
  ca?: string;
  /** The reader to use when the PC has several (its PC/SC name, or the start of it); absent = the first. */
  reader?: string;
}

type Source = Omit<CardHelperConfig, 'token'> & { token?: string; tokenFile?: string };

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['server'],
  properties: {
    server: { type: 'string', pattern: '^https?://' },
    token: { type: 'string', minLength: 8 },
    tokenFile: { type: 'string', minLength: 1 },
    ca: { type: 'string', minLength: 1 },
    reader: { type: 'string', minLength: 1, maxLength: 200 },
  },
} as const;

export function loadCardHelperConfig(file: string, env: NodeJS.ProcessEnv = process.env): CardHelperConfig {
  const v = loadYaml<Source>(file, schema);
  const at = (p: string) => path.resolve(path.dirname(path.resolve(file)), p);
  const problem = (where: string, reason: string) => new ConfigError([{ file, path: where, line: 0, column: 0, reason }]);
  const read = (p: string, where: string) => {
    try {
      return readFileSync(at(p), 'utf8').trim();
    } catch (e) {
      throw problem(where, `読めません: ${at(p)} (${(e as Error).message})`);
    }
  };
  const token = env.MADOGUCHI_CARD_TOKEN ?? v.token ?? (v.tokenFile ? read(v.tokenFile, 'tokenFile') : '');
  if (!token) throw problem('tokenFile', 'サーバーの認証トークンがありません (tokenFile か環境変数 MADOGUCHI_CARD_TOKEN)');
  return {
    server: v.server,
    token,
    ...(v.ca ? { ca: read(v.ca, 'ca') } : {}),
    ...(v.reader ? { reader: v.reader } : {}),
  };
}
