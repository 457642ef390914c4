import { expect } from 'chai';
import knexFactory from 'knex';
import { MSSQL_MAX_PARAMETERS } from '../../server/src/db/dialects/index.js';
import { mssqlDialect } from '../../server/src/db/dialects/mssql.js';
import { migrations } from '../../server/src/db/migrations/index.js';
import { LayoutRegistry } from '../../server/src/linkage/forward/layouts.js';
import { derivedKeyColumns } from '../../server/src/linkage/forward/keys.js';
import { leaseRowsQuery } from '../../server/src/ops/leases.js';
import {
  asTsql,
  fullBackupStatement,
  logBackupFileName,
  logBackupStatement,
  logShippingMonitorQuery,
  logShippingScript,
  MssqlNameError,
  mssqlJoin,
  promoteStatement,
  restoreFullStatement,
  restoreLagQuery,
  restoreLogStatement,
  setFullRecovery,
} from '../../server/src/standby/mssql.js';
import { configDir } from '../helpers/paths.js';

/** SQL Server code paths, compiled without a connection (no SQL Server here). */
const mssql = knexFactory({ client: 'mssql' });

function sqlOf(builder: { toSQL(): unknown }): string[] {
  const compiled = builder.toSQL() as { sql: string } | { sql: string }[];
  return (Array.isArray(compiled) ? compiled : [compiled]).map((c) => c.sql);
}

describe('SQL Server: compiled SQL', () => {
  const upSql = migrations.flatMap((m) => sqlOf(m.up(mssql)));
  const downSql = migrations.flatMap((m) => sqlOf(m.down(mssql)));

  it('compiles every migration up and down', () => {
    expect(upSql.filter((s) => s.startsWith('CREATE TABLE')).length).to.equal(47);
    expect(downSql.filter((s) => /^DROP TABLE/i.test(s)).length).to.equal(47);
    // The resident's signature image (m022) is a varbinary on SQL Server.
    expect(upSql.find((s) => s.startsWith('CREATE TABLE [notice_signatures]'))).to.match(/\[image\] varbinary\(max\)/);
    // Later migrations only add: new tables and nullable or defaulted columns.
    expect(upSql.filter((s) => /^ALTER TABLE/i.test(s)).every((s) => /^ALTER TABLE \[\w+\] ADD /i.test(s))).to.equal(true);
    expect(upSql).to.include(
      "ALTER TABLE [residents] ADD [unmapped_gaiji] int not null CONSTRAINT [residents_unmapped_gaiji_default] DEFAULT '0'",
    );
  });

  it('uses nvarchar for text and datetime2 for times, never SQLite-only syntax', () => {
    const all = upSql.join('\n');
    expect(all).to.match(/\[name\] nvarchar\(200\) not null/);
    expect(all).to.match(/\[started_at\] datetime2 not null/);
    expect(all).to.not.match(/(?<!n)varchar\(/);
    expect(all).to.not.match(/\bdatetime\b/);
    for (const sqliteOnly of [/autoincrement/i, /PRAGMA/i, /strftime/i, /`/, /\bcollate\b/i, /CURRENT_TIMESTAMP\(/i, /\bon conflict\b/i]) {
      expect(all, String(sqliteOnly)).to.not.match(sqliteOnly);
    }
    expect(all).to.match(/int identity\(1,1\) not null primary key/);
  });

  it('keeps every cache insert under 2,100 parameters and 1,000 rows', () => {
    const registry = LayoutRegistry.load(configDir);
    for (const id of registry.specIds()) {
      const l = registry.latest(id);
      const columns = [
        ...Object.keys(l.fixed),
        ...l.columns.filter((c) => c.column).map((c) => c.column!),
        ...derivedKeyColumns(l.table),
        'linkage_run_id',
      ];
      const rows = mssqlDialect.batchRows(columns.length);
      expect(rows, id).to.be.at.most(1000);
      const batch = Array.from({ length: rows }, () => Object.fromEntries(columns.map((c) => [c, 'x'])));
      const compiled = mssql(l.table).insert(batch).toSQL();
      expect(compiled.bindings.length, id).to.be.at.most(MSSQL_MAX_PARAMETERS);
      expect(compiled.bindings.length, id).to.be.greaterThan(MSSQL_MAX_PARAMETERS / 2);
    }
  });

  it('upserts with MERGE … HOLDLOCK and claims with UPDLOCK, READPAST', () => {
    const merge = mssqlDialect.upsertQuery(mssql, 'staff_groups', { code: 'c', name: 'n' }, ['code']).toSQL().sql;
    expect(merge).to.match(/^MERGE INTO \[staff_groups\] WITH \(HOLDLOCK\) AS t USING \(VALUES \(\?, \?\)\) AS s \(\[code\], \[name\]\)/);
    expect(merge).to.contain('WHEN MATCHED THEN UPDATE SET t.[name] = s.[name]');
    const claim = mssqlDialect.claimQuery(mssql, 'jobs', { status: 'queued' }, ['priority', 'id'], { status: 'leased' }).toSQL();
    expect(claim.sql).to.contain('WITH (UPDLOCK, READPAST, ROWLOCK)');
    expect(claim.sql).to.contain('ORDER BY [priority], [id]');
    expect(claim.sql).to.contain('OUTPUT inserted.*');
    expect(claim.bindings).to.deep.equal(['queued', 'leased']);
    expect(mssqlDialect.now(mssql).toSQL().sql).to.equal('SYSUTCDATETIME()');
  });

  it('takes, renews and releases a lease in one statement each, on the database clock', () => {
    expect(upSql.find((s) => s.startsWith('CREATE TABLE [leases]'))).to.match(/\[name\] nvarchar\(120\)/);
    const acquire = mssqlDialect.leaseQuery(mssql, { kind: 'acquire', name: 'linkage', holder: 'app1:8443', seconds: 30 }).toSQL();
    // HOLDLOCK: two nodes that find no row cannot both insert one; the token grows on every acquisition.
    expect(acquire.sql).to.match(/^MERGE INTO \[leases\] WITH \(HOLDLOCK\) AS t USING \(VALUES \(\?, \?\)\) AS s \(\[name\], \[holder\]\)/);
    expect(acquire.sql).to.contain('WHEN MATCHED AND (t.[holder] = s.[holder] OR t.[expires_at] <= SYSUTCDATETIME()) THEN UPDATE');
    expect(acquire.sql).to.contain('t.[token] = t.[token] + 1');
    expect(acquire.sql).to.contain('t.[expires_at] = DATEADD(millisecond, ?, SYSUTCDATETIME())');
    expect(acquire.sql).to.contain('WHEN NOT MATCHED THEN INSERT');
    expect(acquire.sql).to.match(/OUTPUT inserted\.\*;$/);
    expect(acquire.bindings).to.deep.equal(['linkage', 'app1:8443', 30000, 30000]);
    // Renewal is also the fencing check: an UPDATE that locks the row until the guarded commit.
    const renew = mssqlDialect.leaseQuery(mssql, { kind: 'renew', name: 'linkage', holder: 'app1:8443', token: 7, seconds: 3 }).toSQL();
    expect(renew.sql).to.equal(
      'UPDATE [leases] SET [renewed_at] = SYSUTCDATETIME(), [expires_at] = DATEADD(millisecond, ?, SYSUTCDATETIME()) OUTPUT inserted.* WHERE [name] = ? AND [holder] = ? AND [token] = ?;',
    );
    expect(renew.bindings).to.deep.equal([3000, 'linkage', 'app1:8443', 7]);
    const release = mssqlDialect.leaseQuery(mssql, { kind: 'release', name: 'linkage', holder: 'app1:8443', token: 7 }).toSQL();
    expect(release.sql).to.equal(
      'UPDATE [leases] SET [expires_at] = SYSUTCDATETIME() OUTPUT inserted.* WHERE [name] = ? AND [holder] = ? AND [token] = ?;',
    );
    expect(release.bindings).to.deep.equal(['linkage', 'app1:8443', 7]);
    // Read with the database's time beside each row, so that "expired" is the database's judgement.
    expect(leaseRowsQuery(mssql, 'linkage').toSQL().toNative().sql).to.equal(
      'select *, SYSUTCDATETIME() as [db_now] from [leases] where [name] = @p0 order by [name] asc',
    );
  });

  it('compiles the main read queries', () => {
    const count = mssql('residents').where({ resident_status: '1' }).count({ n: '*' }).first().toSQL().toNative();
    expect(count.sql).to.equal('select top (@p0) count(*) as [n] from [residents] where [resident_status] = @p1');
    const runs = mssql('linkage_runs').orderBy('id', 'desc').limit(20).toSQL().toNative();
    expect(runs.sql).to.equal('select top (@p0) * from [linkage_runs] order by [id] desc');
    const replace = mssql('entitlements').where({ kind: 'nationalHealthInsurance' }).del().toSQL().toNative();
    expect(replace.sql).to.equal('delete from [entitlements] where [kind] = @p0;select @@rowcount');
  });
});

describe('SQL Server standby: log shipping statements', () => {
  const db = 'madoguchi';
  const bak = 'D:\\LogShip\\madoguchi_full.bak';

  it('backs up the log chain with the name as an identifier and paths as parameters', () => {
    expect(setFullRecovery(mssql, db).toSQL().sql).to.equal('ALTER DATABASE [madoguchi] SET RECOVERY FULL');
    const full = fullBackupStatement(mssql, db, bak).toSQL().toNative();
    expect(full).to.deep.equal({ sql: 'BACKUP DATABASE [madoguchi] TO DISK = @p0 WITH CHECKSUM, INIT', bindings: [bak] });
    const trn = mssqlJoin('\\\\primary\\logship', logBackupFileName(db, new Date('2026-12-07T22:15:03.120Z')));
    expect(trn).to.equal('\\\\primary\\logship\\madoguchi_20261207221503.trn');
    expect(logBackupStatement(mssql, db, trn).toSQL().toNative()).to.deep.equal({
      sql: 'BACKUP LOG [madoguchi] TO DISK = @p0 WITH CHECKSUM, INIT',
      bindings: [trn],
    });
    expect(logBackupStatement(mssql, db, trn, { tail: true }).toSQL().sql).to.equal(
      'BACKUP LOG [madoguchi] TO DISK = ? WITH CHECKSUM, INIT, NORECOVERY',
    );
  });

  it('restores on the secondary WITH NORECOVERY or STANDBY, moving files, and promotes WITH RECOVERY', () => {
    const r = restoreFullStatement(mssql, db, bak, { kind: 'norecovery' }, [
      { logicalName: 'madoguchi', to: 'E:\\Data\\madoguchi.mdf' },
      { logicalName: 'madoguchi_log', to: 'E:\\Log\\madoguchi_log.ldf' },
    ]).toSQL();
    expect(r.toNative().sql).to.equal(
      'RESTORE DATABASE [madoguchi] FROM DISK = @p0 WITH CHECKSUM, MOVE @p1 TO @p2, MOVE @p3 TO @p4, NORECOVERY, REPLACE',
    );
    expect(r.bindings).to.deep.equal([bak, 'madoguchi', 'E:\\Data\\madoguchi.mdf', 'madoguchi_log', 'E:\\Log\\madoguchi_log.ldf']);
    const s = restoreLogStatement(mssql, db, 'E:\\LogShip\\x.trn', { kind: 'standby', undoFile: 'E:\\LogShip\\undo.tuf' }).toSQL();
    expect(s.toNative()).to.deep.equal({
      sql: 'RESTORE LOG [madoguchi] FROM DISK = @p0 WITH CHECKSUM, STANDBY = @p1',
      bindings: ['E:\\LogShip\\x.trn', 'E:\\LogShip\\undo.tuf'],
    });
    expect(restoreLogStatement(mssql, db, 'x.trn', { kind: 'norecovery' }).toSQL().sql).to.equal(
      'RESTORE LOG [madoguchi] FROM DISK = ? WITH CHECKSUM, NORECOVERY',
    );
    expect(promoteStatement(mssql, db).toSQL().sql).to.equal('RESTORE DATABASE [madoguchi] WITH RECOVERY');
  });

  it('reads the lag from the restore history and the log shipping monitor', () => {
    const lag = restoreLagQuery(mssql, db).toSQL().toNative();
    expect(lag.sql).to.match(/^SELECT TOP \(1\) .* FROM msdb\.dbo\.restorehistory AS rh JOIN msdb\.dbo\.backupset AS bs /);
    expect(lag.sql).to.contain("WHERE rh.[destination_database_name] = @p0 AND bs.[type] = 'L' ORDER BY rh.[restore_date] DESC");
    expect(lag.bindings).to.deep.equal([db]);
    const mon = logShippingMonitorQuery(mssql, db).toSQL().toNative();
    expect(mon.sql).to.contain('FROM msdb.dbo.log_shipping_monitor_secondary WHERE [secondary_database] = @p0');
  });

  it('quotes an odd but valid name once, keeps quotes inside parameters, and refuses names it cannot quote', () => {
    expect(fullBackupStatement(mssql, 'まどぐち 本番', bak).toSQL().sql).to.equal(
      'BACKUP DATABASE [まどぐち 本番] TO DISK = ? WITH CHECKSUM, INIT',
    );
    const odd = "\\\\standby\\it's'; DROP DATABASE x; --\\a.trn";
    const q = restoreLogStatement(mssql, db, odd, { kind: 'norecovery' }).toSQL();
    expect(q.sql).to.not.contain('DROP');
    expect(q.bindings).to.deep.equal([odd]);
    expect(asTsql(restoreLogStatement(mssql, db, odd, { kind: 'norecovery' }))).to.equal(
      "RESTORE LOG [madoguchi] FROM DISK = N'\\\\standby\\it''s''; DROP DATABASE x; --\\a.trn' WITH CHECKSUM, NORECOVERY",
    );
    for (const bad of ['', 'other.dbo', 'a]b', '[x]', 'a\nb', 'x'.repeat(129)])
      expect(() => promoteStatement(mssql, bad), JSON.stringify(bad)).to.throw(MssqlNameError, 'ログ配布に使えないデータベース名です');
    expect(() => restoreLogStatement(mssql, db, 'a\u0000b', { kind: 'norecovery' })).to.throw(MssqlNameError);
    expect(() => fullBackupStatement(mssql, db, '')).to.throw(MssqlNameError);
  });

  it('prints the whole procedure as a script an operator can run', () => {
    const script = logShippingScript(mssql, {
      database: db,
      primaryDir: '\\\\primary\\logship',
      secondaryDir: 'E:\\LogShip',
      readable: true,
      at: new Date('2026-12-07T22:15:00Z'),
    });
    expect(script).to.not.contain('?');
    expect(script).to.contain("BACKUP DATABASE [madoguchi] TO DISK = N'\\\\primary\\logship\\madoguchi_full.bak' WITH CHECKSUM, INIT;");
    expect(script).to.contain(
      "RESTORE LOG [madoguchi] FROM DISK = N'E:\\LogShip\\madoguchi_20261207221500.trn' WITH CHECKSUM, STANDBY = N'E:\\LogShip\\madoguchi_undo.tuf';",
    );
    expect(script).to.contain('RESTORE DATABASE [madoguchi] WITH RECOVERY;');
    expect(script.indexOf('NORECOVERY;')).to.be.lessThan(script.indexOf('WITH RECOVERY;'));
  });
});
