import { expect } from 'chai';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { loadAppConfig, type AppConfig } from '../../server/src/config/appConfig.js';
import { mssqlKnexConfig, parseMssqlUrl } from '../../server/src/db/connect.js';
import { restoreBackup, RestoreError, takeBackup, verifyBackup, type BackupManifest } from '../../server/src/ops/backup.js';
import { mssqlBackupStatement, mssqlDiskPath, mssqlRestoreStatement, mssqlVerifyStatement } from '../../server/src/ops/backup/mssql.js';
import { configDir, tempDir } from '../helpers/paths.js';

/** SQL Server's BACKUP DATABASE / RESTORE VERIFYONLY, compiled without a server; run for real with MSSQL_URL. */
describe('SQL Server backups: compiled statements', () => {
  const mssql = knexFactory({ client: 'mssql' });
  const disk = 'D:\\Backup\\madoguchi-20261202-221500.bak';

  it('compiles BACKUP DATABASE with the name as an identifier and the path as a parameter', () => {
    const b = mssqlBackupStatement(mssql, 'madoguchi', disk, { copyOnly: true }).toSQL().toNative();
    expect(b.sql).to.equal('BACKUP DATABASE [madoguchi] TO DISK = @p0 WITH CHECKSUM, COPY_ONLY, INIT');
    expect(b.bindings).to.deep.equal([disk]);
    expect(mssqlBackupStatement(mssql, 'madoguchi', disk, { copyOnly: false }).toSQL().sql).to.equal(
      'BACKUP DATABASE [madoguchi] TO DISK = ? WITH CHECKSUM, INIT',
    );
    const quoted = mssqlBackupStatement(mssql, 'madoguchi', "\\\\standby\\it's\\x.bak", { copyOnly: true }).toSQL();
    expect(quoted.sql).to.not.contain("it's");
    expect(quoted.bindings).to.deep.equal(["\\\\standby\\it's\\x.bak"]);
  });

  it('compiles RESTORE VERIFYONLY … WITH CHECKSUM and the restore statement for the operator', () => {
    const v = mssqlVerifyStatement(mssql, disk).toSQL().toNative();
    expect(v).to.deep.equal({ sql: 'RESTORE VERIFYONLY FROM DISK = @p0 WITH CHECKSUM', bindings: [disk] });
    expect(mssqlRestoreStatement(mssql, 'madoguchi', disk).toSQL().toNative().sql).to.equal(
      'RESTORE DATABASE [madoguchi] FROM DISK = @p0 WITH CHECKSUM, REPLACE',
    );
  });

  it('refuses database names that cannot be quoted as one identifier', () => {
    expect(() => mssqlBackupStatement(mssql, 'other.dbo', disk, { copyOnly: true })).to.throw('バックアップできないデータベース名です');
    expect(() => mssqlBackupStatement(mssql, 'a]b', disk, { copyOnly: true })).to.throw('バックアップできないデータベース名です');
  });

  it('joins the .bak path the way the SQL Server host spells it', () => {
    expect(mssqlDiskPath('D:\\Backup\\madoguchi', 'madoguchi-20261202-221500')).to.equal(
      'D:\\Backup\\madoguchi\\madoguchi-20261202-221500.bak',
    );
    expect(mssqlDiskPath('\\\\standby\\backup', 'x')).to.equal('\\\\standby\\backup\\x.bak');
    expect(mssqlDiskPath('/var/opt/mssql/backup', 'x')).to.equal('/var/opt/mssql/backup/x.bak');
  });

  it('restore with SQL Server prints the RESTORE statement instead of touching anything', async () => {
    const t = tempDir();
    try {
      const base = loadAppConfig(configDir);
      const config: AppConfig = {
        ...base,
        database: {
          client: 'mssql',
          sqlite: base.database.sqlite,
          mssql: {
            server: 'db01',
            port: 1433,
            database: 'madoguchi',
            user: 'app',
            passwordEnv: 'MADOGUCHI_TEST_PW',
            encrypt: true,
            trustServerCertificate: false,
          },
        },
      };
      const dir = path.join(t.dir, 'madoguchi-20261202-221500');
      mkdirSync(dir);
      const m: BackupManifest = {
        format: 1,
        app: 'madoguchi',
        version: '0.1.0',
        host: 'test',
        createdAt: new Date().toISOString(),
        finishedAt: null,
        database: { client: 'mssql', database: 'madoguchi', disk: "D:\\Backup\\o'k.bak", copyOnly: true },
        files: [],
        parts: [],
        verified: true,
        verifiedAt: null,
        problems: [],
      };
      writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
      let error: unknown;
      await restoreBackup(dir, { config, dataDir: path.join(t.dir, 'data') }).catch((e: unknown) => (error = e));
      expect(error).to.be.instanceOf(RestoreError);
      expect((error as Error).message).to.contain(
        "RESTORE DATABASE [madoguchi] FROM DISK = N'D:\\Backup\\o''k.bak' WITH CHECKSUM, REPLACE",
      );
    } finally {
      t.remove();
    }
  });
});

describe('SQL Server backups on a real server (MSSQL_URL)', function () {
  this.timeout(300_000);
  let knex: Knex;
  const t = tempDir();

  before(function () {
    if (!process.env.MSSQL_URL) {
      console.log(
        '      (skipped: MSSQL_URL が未設定のため SQL Server の実機テストは実行しません。MSSQL_BACKUP_DIR は SQL Server から見た書き込み先 (既定 /var/opt/mssql/data))',
      );
      this.skip();
    }
    knex = knexFactory(mssqlKnexConfig(parseMssqlUrl(process.env.MSSQL_URL)));
  });
  after(async () => {
    await knex?.destroy();
    t.remove();
  });

  it('takes BACKUP DATABASE … WITH CHECKSUM and verifies it with RESTORE VERIFYONLY', async () => {
    const url = parseMssqlUrl(process.env.MSSQL_URL!);
    const base = loadAppConfig(configDir);
    const config: AppConfig = {
      ...base,
      database: { client: 'mssql', sqlite: base.database.sqlite, mssql: { ...url, passwordEnv: 'MSSQL_TEST_UNUSED' } },
      backup: {
        ...base.backup,
        target: path.join(t.dir, 'backups'),
        mssql: { disk: process.env.MSSQL_BACKUP_DIR ?? '/var/opt/mssql/data', copyOnly: true },
      },
    };
    const r = await takeBackup({ config, configDir, dataDir: t.dir, knex });
    expect(r.manifest.verified, r.manifest.problems.join('\n')).to.equal(true);
    expect(r.manifest.database).to.include({ client: 'mssql', database: url.database, copyOnly: true });
    const bogus = path.join(t.dir, 'elsewhere');
    mkdirSync(bogus);
    const m = JSON.parse(JSON.stringify(r.manifest)) as BackupManifest;
    m.files = [];
    if (m.database?.client === 'mssql') m.database.disk = `${m.database.disk}.missing`;
    writeFileSync(path.join(bogus, 'manifest.json'), JSON.stringify(m));
    const v = await verifyBackup(bogus, { knex });
    expect(v.verified).to.equal(false);
    expect(v.problems[0]).to.contain('RESTORE VERIFYONLY で異常があります');
  });
});
