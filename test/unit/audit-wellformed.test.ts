import { expect } from 'chai';
import { appendAudit, verifyAudit } from '../../server/src/audit/trail.js';
import { migrateLatest } from '../../server/src/db/connect.js';
import { databaseTargets } from '../helpers/db.js';
import { tempDir } from '../helpers/paths.js';

/**
 * A lone surrogate typed by anyone (a login id, a path the fuzzer mutated) is stored by SQLite as
 * U+FFFD. The record is hashed over what the database gives back, so the chain still verifies.
 */
describe('audit trail: texts that are not well-formed UTF-16', () => {
  it('keeps the chain verifiable whatever a login id, counter, address or target id holds', async () => {
    const t = tempDir();
    const knex = databaseTargets[0]!.open(t.dir);
    try {
      await migrateLatest(knex);
      await knex.transaction((trx) =>
        appendAudit(trx, {
          staffLogin: 'a\uD800b',
          counterId: 'c\uDC00',
          clientAddress: 'x\uD800',
          action: 'auth.loginFailure',
          targetKind: 'staff',
          targetIds: ['t\uDC00'],
          result: 'failure',
          detail: { typed: '\uD800' },
        }),
      );
      const result = await verifyAudit(knex);
      expect(result.ok, JSON.stringify(result)).to.equal(true);
      const row = (await knex('audit_trail').orderBy('seq', 'desc').first('staff_login')) as { staff_login: string };
      expect(row.staff_login).to.equal('a\uFFFDb');
    } finally {
      await knex.destroy();
      t.remove();
    }
  });
});
