import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { generateRowTypes, GENERATED_FILE, readSchema, rowTypeName } from '../../server/src/db/generateRowTypes.js';
import { tableColumns, type ResidentRow, type TableName } from '../../server/src/db/tables.generated.js';
import { countOf, dbJson, insertReturningId } from '../../server/src/db/values.js';
import { dropAll, migratedSqlite, type TempDatabase } from '../helpers/db.js';

describe('row types generated from the migrated schema', function () {
  this.timeout(60_000);
  let db: TempDatabase;

  before(async () => {
    db = await migratedSqlite();
  });
  after(async () => {
    await db.close();
  });

  it('server/src/db/tables.generated.ts is what `npm run db:types` writes (run it after a migration)', async () => {
    const expected = await generateRowTypes(db.knex);
    const actual = readFileSync(GENERATED_FILE, 'utf8');
    expect(actual === expected, 'tables.generated.ts is out of date: run `npm run db:types`').to.equal(true);
  });

  it('tableColumns lists every table and column of the real schema, and nothing else', async () => {
    const schema = await readSchema(db.knex);
    const real = Object.fromEntries(schema.map((t) => [t.name, t.columns.map((c) => c.name)]));
    const listed = Object.fromEntries(Object.entries(tableColumns).map(([t, cols]) => [t, [...cols]]));
    expect(Object.keys(listed).sort()).to.deep.equal(Object.keys(real).sort());
    for (const [t, cols] of Object.entries(real)) expect([...listed[t]!].sort(), t).to.deep.equal([...cols].sort());
    // The table list also counts what SQLite itself says (not only what the generator read).
    const names = (await db.knex.raw(`SELECT name FROM sqlite_master WHERE type = 'table'`)) as { name: string }[];
    const appTables = names.map((n) => n.name).filter((n) => !n.startsWith('sqlite_') && !n.startsWith('knex_'));
    expect(appTables.sort()).to.deep.equal(Object.keys(tableColumns).sort());
    expect(Object.keys(tableColumns).length).to.be.greaterThanOrEqual(36);
  });

  it('names one row type per table', () => {
    expect(rowTypeName('notices')).to.equal('NoticeRow');
    expect(rowTypeName('visit_procedures')).to.equal('VisitProcedureRow');
    expect(rowTypeName('arrears')).to.equal('ArrearsRow');
    expect(rowTypeName('staff')).to.equal('StaffRow');
    expect(new Set(Object.keys(tableColumns).map(rowTypeName)).size).to.equal(Object.keys(tableColumns).length);
  });

  it('types knex reads and checks insert columns', async () => {
    const id = await insertReturningId(db.knex, 'staff_groups', { code: 'g1', name: 'グループ' });
    expect(id).to.be.a('number');
    // @ts-expect-error a misspelt column does not compile
    const typo = () => insertReturningId(db.knex, 'staff_groups', { cod: 'g2', name: 'x' });
    expect(typo).to.be.a('function');
    const g = await db.knex('staff_groups').where({ id }).first('code', 'name');
    const code: string | undefined = g?.code;
    expect(code).to.equal('g1');
    const r: ResidentRow | undefined = await db.knex('residents').first();
    expect(r).to.equal(undefined);
    expect(countOf(await db.knex('staff_groups').count({ n: '*' }).first())).to.equal(1);
    expect(countOf(undefined)).to.equal(0);
    expect(countOf({ n: '12' })).to.equal(12);
    expect(dbJson<string[]>('["a"]')).to.deep.equal(['a']);
    expect(dbJson<string[]>(null)).to.equal(null);
  });

  it('dropAll drops every table the migrations created', async () => {
    const scratch = await migratedSqlite();
    try {
      await scratch.knex('staff_groups').insert({ code: 'g', name: 'g' });
      await dropAll(scratch.knex);
      const left = (await scratch.knex.raw(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)) as {
        name: TableName;
      }[];
      expect(left.map((t) => t.name)).to.deep.equal([]);
    } finally {
      await scratch.close();
    }
  });
});
