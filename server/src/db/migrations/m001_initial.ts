import type { Knex } from 'knex';
import { addressColumns, linkageColumns, registerDate, registeredText } from './columns.js';

/**
 * The resident cache (前方連携 data), the linkage runs and the minimal staff tables.
 * Linkage tables carry no foreign keys between them: each is replaced from its own file,
 * in any order, and the core system owns their integrity.
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .createTable('residents', (t) => {
      t.increments('id');
      t.string('addressee_no', 15).notNullable().unique();
      t.string('household_no', 15).notNullable().index();
      t.string('resident_kind', 1).notNullable();
      t.string('resident_status', 1).notNullable();
      registeredText(t, 'name', 100).notNullable();
      registeredText(t, 'name_kana', 100);
      registeredText(t, 'name_roman', 100);
      registeredText(t, 'name_foreign_kanji', 100);
      registeredText(t, 'alias', 100);
      registeredText(t, 'alias_kana', 100);
      t.string('name_priority_code', 2);
      registeredText(t, 'former_surname', 50);
      registeredText(t, 'former_surname_kana', 50);
      t.string('sex', 1).notNullable();
      t.string('sex_label', 20);
      registerDate(t, 'birth_date');
      t.string('relationship_code1', 2).notNullable();
      t.string('relationship_code2', 2);
      t.string('relationship_code3', 2);
      t.string('relationship_code4', 2);
      registeredText(t, 'relationship_label', 20);
      addressColumns(t);
      t.string('address_suffix_code', 20);
      registeredText(t, 'address_suffix_kana', 300);
      registerDate(t, 'resident_since');
      registerDate(t, 'change_date');
      t.string('change_reported_date', 10);
      t.string('change_reason_code', 2).notNullable();
      addressColumns(t, 'from_', false);
      t.string('from_country_code', 3);
      registeredText(t, 'from_country_name', 200);
      addressColumns(t, 'to_', false);
      t.string('to_country_code', 3);
      registeredText(t, 'to_country_name', 200);
      t.string('removal_reported_date', 10);
      registerDate(t, 'removal_date');
      registerDate(t, 'foreign_resident_since');
      t.string('nationality_code', 3);
      registeredText(t, 'nationality_name', 200);
      t.string('article30_45_code', 2);
      t.string('residence_status_code', 3);
      t.string('residence_period_years', 2);
      t.string('residence_period_months', 2);
      t.string('residence_period_days', 3);
      t.string('residence_expiry_date', 10);
      t.string('my_number', 12);
      // Search keys: derived, never shown. The registered text above stays as delivered.
      t.string('name_key', 400);
      t.string('name_variant_key', 400);
      t.string('name_kana_key', 400);
      t.string('alias_key', 400);
      t.string('address_key', 800);
      linkageColumns(t);
      t.index(['name_kana_key']);
      t.index(['name_key']);
      t.index(['name_variant_key']);
      t.index(['birth_date']);
      t.index(['address_key']);
    })
    .createTable('households', (t) => {
      t.increments('id');
      t.string('household_no', 15).notNullable().unique();
      t.string('head_addressee_no', 15).notNullable();
      registeredText(t, 'head_name', 100).notNullable();
      registeredText(t, 'head_name_kana', 100);
      addressColumns(t);
      registerDate(t, 'formed_date');
      t.string('address_key', 800);
      linkageColumns(t);
    })
    .createTable('resident_history', (t) => {
      t.increments('id');
      t.string('addressee_no', 15).notNullable();
      t.integer('seq').notNullable();
      registerDate(t, 'change_date');
      t.string('reported_date', 10);
      t.string('change_reason_code', 2).notNullable();
      t.string('household_no', 15);
      registeredText(t, 'name', 100);
      registeredText(t, 'name_kana', 100);
      registeredText(t, 'relationship_label', 20);
      registeredText(t, 'address_before', 500);
      registeredText(t, 'address_after', 500);
      linkageColumns(t);
      t.unique(['addressee_no', 'seq']);
    })
    .createTable('support_measures', (t) => {
      t.increments('id');
      t.string('addressee_no', 15).notNullable().index();
      t.string('measure_code', 1).notNullable();
      t.string('start_date', 10).notNullable();
      t.string('end_date', 10);
      registeredText(t, 'note', 200);
      linkageColumns(t);
      t.unique(['addressee_no', 'start_date']);
    })
    .createTable('entitlements', (t) => {
      t.increments('id');
      t.string('kind', 40).notNullable();
      t.string('addressee_no', 15).notNullable();
      t.string('insurer_no', 8);
      t.string('insured_no', 20);
      t.string('qualification_code', 2);
      t.string('acquired_date', 10);
      t.string('acquired_reason_code', 3);
      t.string('lost_date', 10);
      t.string('lost_reason_code', 3);
      t.string('care_level_code', 2);
      t.string('care_valid_from', 10);
      t.string('care_valid_to', 10);
      t.string('child_addressee_no', 15).notNullable().defaultTo('');
      linkageColumns(t);
      t.unique(['kind', 'addressee_no', 'child_addressee_no']);
      t.index(['addressee_no']);
    })
    .createTable('non_residents', (t) => {
      t.increments('id');
      t.string('addressee_no', 15).notNullable().unique();
      registeredText(t, 'name', 100).notNullable();
      registeredText(t, 'name_kana', 100);
      t.string('sex', 1);
      registerDate(t, 'birth_date');
      addressColumns(t);
      t.string('reason_code', 1);
      t.string('registered_date', 10);
      t.string('status', 1).notNullable().defaultTo('1');
      t.string('name_key', 400);
      t.string('name_variant_key', 400);
      t.string('name_kana_key', 400).index();
      linkageColumns(t);
    })
    .createTable('corporations', (t) => {
      t.increments('id');
      t.string('addressee_no', 15).notNullable().unique();
      t.string('corporate_number', 13);
      registeredText(t, 'name', 150).notNullable();
      registeredText(t, 'name_kana', 150);
      registeredText(t, 'representative_name', 100);
      addressColumns(t);
      t.string('established_date', 10);
      t.string('closed_date', 10);
      t.string('name_key', 400);
      t.string('name_kana_key', 400).index();
      linkageColumns(t);
    })
    .createTable('issuance_bans', (t) => {
      t.increments('id');
      t.string('addressee_no', 15).notNullable().index();
      t.string('ban_kind_code', 1).notNullable();
      registeredText(t, 'reason', 200);
      t.string('start_date', 10).notNullable();
      t.string('end_date', 10);
      linkageColumns(t);
      t.unique(['addressee_no', 'start_date']);
    })
    .createTable('arrears', (t) => {
      t.increments('id');
      t.string('addressee_no', 15).notNullable().index();
      t.string('tax_kind_code', 2).notNullable();
      t.integer('fiscal_year').notNullable();
      t.bigInteger('amount_yen').notNullable();
      t.string('since_date', 10);
      linkageColumns(t);
      t.unique(['addressee_no', 'tax_kind_code', 'fiscal_year']);
    })
    .createTable('address_master', (t) => {
      t.increments('id');
      t.string('municipality_code', 6).notNullable();
      t.string('town_code', 7).notNullable();
      t.string('town_kind', 1);
      registeredText(t, 'oaza_name', 60);
      t.integer('chome');
      registeredText(t, 'koaza_name', 60);
      registeredText(t, 'town_name', 120).notNullable();
      registeredText(t, 'town_kana', 120);
      registeredText(t, 'block_number', 50).notNullable();
      registeredText(t, 'address_suffix', 300).notNullable().defaultTo('');
      t.string('postal_code', 7);
      t.boolean('residential_addressing').notNullable().defaultTo(false);
      t.string('address_key', 800).index();
      linkageColumns(t);
      t.unique(['town_code', 'block_number', 'address_suffix']);
    })
    .createTable('linkage_runs', (t) => {
      t.increments('id');
      t.string('spec_id', 40).notNullable();
      t.string('edition', 40);
      registeredText(t, 'file_name', 260).notNullable();
      t.string('file_sha256', 64);
      t.string('kind', 10).notNullable();
      t.string('encoding', 10);
      t.datetime('started_at').notNullable();
      t.datetime('finished_at');
      t.integer('rows_read').notNullable().defaultTo(0);
      t.integer('rows_applied').notNullable().defaultTo(0);
      t.integer('rows_rejected').notNullable().defaultTo(0);
      t.integer('unmapped_gaiji').notNullable().defaultTo(0);
      t.string('result', 20).notNullable();
      t.text('message');
      t.index(['spec_id', 'started_at']);
      t.index(['file_sha256']);
    })
    .createTable('staff', (t) => {
      t.increments('id');
      t.string('login_id', 64).notNullable().unique();
      registeredText(t, 'display_name', 100).notNullable();
      registeredText(t, 'section', 100);
      t.string('password_hash', 255).notNullable();
      t.datetime('password_changed_at');
      t.boolean('must_change_password').notNullable().defaultTo(true);
      t.string('valid_from', 10);
      t.string('valid_to', 10);
      t.boolean('disabled').notNullable().defaultTo(false);
      t.integer('failed_logins').notNullable().defaultTo(0);
      t.datetime('locked_at');
      t.datetime('last_login_at');
      t.datetime('created_at').notNullable();
    })
    .createTable('staff_groups', (t) => {
      t.increments('id');
      t.string('code', 64).notNullable().unique();
      registeredText(t, 'name', 100).notNullable();
      registeredText(t, 'description', 400);
    })
    .createTable('staff_group_permissions', (t) => {
      t.integer('group_id').notNullable().references('id').inTable('staff_groups');
      t.string('permission', 64).notNullable();
      t.primary(['group_id', 'permission']);
    })
    .createTable('staff_group_members', (t) => {
      t.integer('staff_id').notNullable().references('id').inTable('staff');
      t.integer('group_id').notNullable().references('id').inTable('staff_groups');
      t.primary(['staff_id', 'group_id']);
    });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .dropTable('staff_group_members')
    .dropTable('staff_group_permissions')
    .dropTable('staff_groups')
    .dropTable('staff')
    .dropTable('linkage_runs')
    .dropTable('address_master')
    .dropTable('arrears')
    .dropTable('issuance_bans')
    .dropTable('corporations')
    .dropTable('non_residents')
    .dropTable('entitlements')
    .dropTable('support_measures')
    .dropTable('resident_history')
    .dropTable('households')
    .dropTable('residents');
}
