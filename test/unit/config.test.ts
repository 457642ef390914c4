import { expect } from 'chai';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadAppConfig, resolveMssqlPassword } from '../../server/src/config/appConfig.js';
import { ConfigError } from '../../server/src/config/yamlFile.js';
import { configDir, tempDir } from '../helpers/paths.js';

const shipped = readFileSync(path.join(configDir, 'municipality.yaml'), 'utf8');

function loadVariant(text: string): ConfigError {
  const t = tempDir();
  try {
    mkdirSync(t.dir, { recursive: true });
    writeFileSync(path.join(t.dir, 'municipality.yaml'), text);
    loadAppConfig(t.dir);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  } finally {
    t.remove();
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('loads the shipped municipality.yaml with defaults filled in', () => {
    const c = loadAppConfig(configDir);
    expect(c.municipality.code).to.equal('439991');
    expect(c.database.client).to.equal('sqlite');
    expect(c.database.sqlite.file).to.equal('madoguchi.sqlite');
    expect(c.counters.length).to.be.greaterThan(3);
    expect(c.logging.retainDays).to.equal(400);
    expect(c.addresseeNo.checkDigitRemainderOne).to.equal(0);
  });

  it('names file, line, path and reason for a wrong check digit', () => {
    const e = loadVariant(shipped.replace('code: "439991"', 'code: "439992"'));
    expect(e.issues).to.have.length(1);
    const i = e.issues[0]!;
    expect(i.file).to.match(/municipality\.yaml$/);
    expect(i.path).to.equal('municipality.code');
    expect(i.line).to.equal(shipped.split('\n').findIndex((l) => l.includes('code: "439991"')) + 1);
    expect(i.reason).to.contain('検査数字');
    expect(e.message).to.match(/municipality\.yaml:\d+:\d+: municipality\.code: /);
  });

  it('reports every schema problem with its path in Japanese', () => {
    const text = shipped
      .replace('open: "08:30", close: "19:00"', 'open: "8時", close: "19:00"')
      .replace('client: sqlite', 'client: oracle');
    const e = loadVariant(text);
    const paths = e.issues.map((i) => i.path);
    expect(paths).to.include('openingHours.regular[1].open');
    expect(paths).to.include('database.client');
    const client = e.issues.find((i) => i.path === 'database.client')!;
    expect(client.reason).to.match(/[ぁ-んァ-ン一-龥]/);
  });

  it('points a missing required key at its parent', () => {
    const e = loadVariant(shipped.replace(/\n {2}nameKana: マドグチマチ/, ''));
    expect(e.issues[0]!.path).to.equal('municipality.nameKana');
    expect(e.issues[0]!.reason).to.equal('必須の項目がありません');
    expect(e.issues[0]!.line).to.equal(shipped.split('\n').indexOf('municipality:') + 1);
  });

  it('refuses a password written into the config and an unknown key', () => {
    const text = shipped
      .replace('client: sqlite ', 'client: mssql ')
      .replace('  # mssql:\n', '  mssql:\n    server: db01\n    database: madoguchi\n    user: app\n    password: hunter2hunter2\n');
    const e = loadVariant(text);
    const pw = e.issues.find((i) => i.path === 'database.mssql.password');
    expect(pw, e.message).to.not.equal(undefined);
    expect(pw!.reason).to.contain('password');
  });

  it('requires a password source for SQL Server and reads it from the environment', () => {
    const text = shipped
      .replace('client: sqlite ', 'client: mssql ')
      .replace('  # mssql:\n', '  mssql:\n    server: db01\n    database: madoguchi\n    user: app\n');
    const e = loadVariant(text);
    expect(e.issues.map((i) => i.path)).to.include('database.mssql');
    const m = {
      server: 's',
      port: 1433,
      database: 'd',
      user: 'u',
      passwordEnv: 'MADOGUCHI_TEST_PW',
      encrypt: true,
      trustServerCertificate: false,
    };
    expect(resolveMssqlPassword(m, { MADOGUCHI_TEST_PW: 'from-env' })).to.equal('from-env');
    expect(() => resolveMssqlPassword(m, {})).to.throw(ConfigError, 'MADOGUCHI_TEST_PW');
  });

  it('reports YAML syntax errors with their line', () => {
    const e = loadVariant('municipality:\n  name: [unclosed\ncounters: []\n');
    expect(e.issues[0]!.reason).to.contain('YAML');
    expect(e.issues[0]!.line).to.be.greaterThan(0);
  });

  it('reports duplicate counter ids and closing before opening', () => {
    const text = shipped.replace('id: shimin-2', 'id: shimin-1').replace('open: "08:30", close: "19:00"', 'open: "19:30", close: "19:00"');
    const e = loadVariant(text);
    expect(e.issues.map((i) => i.path)).to.deep.include.members(['counters[1].id', 'openingHours.regular[1].close']);
  });
});
