import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/paths.js';
import { migratedSqlite } from '../helpers/db.js';

/** Keeps docs/data-model.md true: every table and column of the schema is documented. */
describe('docs/data-model.md', () => {
  it('documents every table and column the migrations create', async () => {
    const db = await migratedSqlite();
    const { knex } = db;
    try {
      const doc = readFileSync(path.join(repoRoot, 'docs/data-model.md'), 'utf8');
      const sections = new Map(
        doc
          .split(/^### /m)
          .slice(1)
          .map((s) => [s.split('\n')[0]!.trim(), s]),
      );
      const tables = (
        (await knex.raw("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'knex_%'")) as {
          name: string;
        }[]
      ).map((r) => r.name);
      expect(tables.length).to.be.greaterThan(10);
      const missing: string[] = [];
      for (const table of tables) {
        const section = sections.get(table);
        if (!section) {
          missing.push(table);
          continue;
        }
        const cols = (await knex.raw(`PRAGMA table_info(${table})`)) as { name: string }[];
        for (const c of cols) if (!section.includes(`\`${c.name}\``)) missing.push(`${table}.${c.name}`);
      }
      expect(missing, 'undocumented').to.deep.equal([]);
    } finally {
      await db.close();
    }
  });
});
