import type { Knex } from 'knex';
import { linkageColumns } from './columns.js';

/**
 * `certificate_issuances`: the core system's 証明書の発行履歴 (layout ext-issuance-log), when it
 * exports one: the witness for certificate jobs in the reconciliation (rpa/reconcile.ts).
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.createTable('certificate_issuances', (t) => {
    t.increments('id');
    t.string('issue_no', 40).notNullable().unique();
    t.string('issue_date', 10).notNullable();
    t.string('addressee_no', 15).notNullable().index();
    t.string('certificate_kind', 40);
    t.integer('copies');
    linkageColumns(t);
    t.integer('unmapped_gaiji').notNullable().defaultTo(0);
  });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.dropTable('certificate_issuances');
}
