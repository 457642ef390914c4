import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import type { Knex } from 'knex';
import { migrateLatest, migrateRollbackAll } from '../../server/src/db/connect.js';
import { dialectOf } from '../../server/src/db/dialects/index.js';
import { migrations } from '../../server/src/db/migrations/index.js';
import { databaseTargets, openTarget } from '../helpers/db.js';
import { tempDir } from '../helpers/paths.js';

const TABLES = [
  'residents',
  'households',
  'resident_history',
  'support_measures',
  'entitlements',
  'non_residents',
  'corporations',
  'issuance_bans',
  'arrears',
  'address_master',
  'linkage_runs',
  'staff',
  'staff_groups',
  'staff_group_permissions',
  'staff_group_members',
];

for (const target of databaseTargets) {
  describe(`database migrations on ${target.name}`, function () {
    let knex: Knex;
    const t = tempDir();

    before(async function () {
      knex = await openTarget(this, target, t.dir);
    });
    after(async () => {
      await knex?.destroy();
      t.remove();
    });

    it('migrates up, down and up again, leaving every table in place', async () => {
      const first = await migrateLatest(knex);
      expect(first).to.deep.equal(migrations.map((m) => m.name));
      for (const table of TABLES) expect(await knex.schema.hasTable(table), table).to.equal(true);
      const rolled = await migrateRollbackAll(knex);
      expect(rolled).to.deep.equal([...migrations].reverse().map((m) => m.name));
      for (const table of TABLES) expect(await knex.schema.hasTable(table), table).to.equal(false);
      expect(await migrateLatest(knex)).to.have.length(migrations.length);
      expect(await migrateLatest(knex)).to.have.length(0);
    });

    it('stores registered names exactly and allows non-calendar and 不詳 dates', async () => {
      const names = ['髙橋　一郎', '山﨑　花子', '𠮷田　太郎', '渡邉\u{E0101}　浩二', '\u{10DE92}野　葵', '葛\u{E0100}西　凛'];
      const rows = names.map((name, i) => ({
        addressee_no: `10000000${i}`,
        household_no: '500000001',
        resident_kind: '1',
        resident_status: '1',
        name,
        sex: '1',
        relationship_code1: '02',
        change_reason_code: '01',
        birth_date: i === 0 ? '1999-02-29' : null,
        birth_date_unknown: i === 1,
        birth_date_unknown_text: i === 1 ? '昭和20年頃' : null,
      }));
      const columns = Object.keys(rows[0]!);
      await knex.transaction((trx) =>
        dialectOf(knex).bulkInsert(
          trx,
          'residents',
          columns,
          rows.map((r) => columns.map((c) => (r as Record<string, unknown>)[c])),
        ),
      );
      const back = (await knex('residents')
        .orderBy('addressee_no')
        .select('name', 'birth_date', 'birth_date_unknown', 'birth_date_unknown_text')) as {
        name: string;
        birth_date: string | null;
        birth_date_unknown: unknown;
        birth_date_unknown_text: string | null;
      }[];
      expect(back.map((r) => r.name)).to.deep.equal(names);
      expect(back[0]!.birth_date).to.equal('1999-02-29');
      expect(Boolean(back[1]!.birth_date_unknown)).to.equal(true);
      expect(back[1]!.birth_date_unknown_text).to.equal('昭和20年頃');
      await knex('residents').del();
    });

    it('upserts and claims through the dialect helpers', async () => {
      const d = dialectOf(knex);
      const row = { code: 'counter', name: '窓口担当', description: 'a' };
      await d.upsertQuery(knex, 'staff_groups', row, ['code']);
      await d.upsertQuery(knex, 'staff_groups', { ...row, description: 'b' }, ['code']);
      const groups = (await knex('staff_groups').where({ code: 'counter' })) as { description: string }[];
      expect(groups).to.have.length(1);
      expect(groups[0]!.description).to.equal('b');
      await knex('staff_groups').insert({ code: 'other', name: 'x', description: 'queued' });
      const claimed = await d.claimQuery(knex, 'staff_groups', { description: 'queued' }, ['id'], { description: 'taken' });
      const rows = Array.isArray(claimed) ? claimed : [];
      expect(rows).to.have.length(1);
      expect((rows[0] as { code: string }).code).to.equal('other');
      const again = await d.claimQuery(knex, 'staff_groups', { description: 'queued' }, ['id'], { description: 'taken' });
      expect(Array.isArray(again) ? again : []).to.have.length(0);
    });

    if (target.name === 'sqlite') {
      it('runs SQLite in WAL mode with foreign keys on, in one data file', async () => {
        const mode = (await knex.raw('PRAGMA journal_mode')) as { journal_mode: string }[];
        expect(mode[0]!.journal_mode).to.equal('wal');
        const fk = (await knex.raw('PRAGMA foreign_keys')) as { foreign_keys: number }[];
        expect(fk[0]!.foreign_keys).to.equal(1);
        const files = readdirSync(t.dir).filter((f) => !f.endsWith('-wal') && !f.endsWith('-shm'));
        expect(files).to.deep.equal(['madoguchi.sqlite']);
        let fkError: unknown;
        try {
          await knex('staff_group_members').insert({ staff_id: 999, group_id: 999 });
        } catch (e) {
          fkError = e;
        }
        expect(String(fkError)).to.contain('FOREIGN KEY');
      });
    }
  });
}
