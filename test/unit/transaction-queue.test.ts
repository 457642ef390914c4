import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { sqliteKnex } from '../../server/src/db/connect.js';

/**
 * Two write transactions of one process at once: with better-sqlite3 the second used to sleep in
 * SQLite's busy handler on the event loop while the first could not finish, and failed with
 * "database is locked". They now run one after the other.
 */
describe('SQLite transactions of one process', () => {
  it('run one after another instead of failing with "database is locked"', async function () {
    this.timeout(30_000);
    const dir = mkdtempSync(path.join(tmpdir(), 'madoguchi-trx-'));
    const knex = sqliteKnex(path.join(dir, 'x.sqlite'));
    try {
      await knex.schema.createTable('t', (t) => {
        t.integer('n');
      });
      const order: string[] = [];
      const slow = knex.transaction(async (trx) => {
        await trx('t').insert({ n: 1 });
        order.push('first wrote');
        await new Promise((r) => setTimeout(r, 300));
        order.push('first done');
      });
      const second = knex.transaction(async (trx) => {
        order.push('second started');
        await trx('t').insert({ n: 2 });
      });
      await Promise.all([slow, second]);
      expect(order).to.deep.equal(['first wrote', 'first done', 'second started']);
      // A transaction opened inside another is not queued behind itself.
      await knex.transaction(async () => {
        await knex.transaction(async (inner) => inner('t').insert({ n: 3 }));
      });
      expect((await knex('t').count({ c: '*' }).first())?.c).to.equal(3);
    } finally {
      await knex.destroy();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
