import type { Knex } from 'knex';

/**
 * A notice that touches a 支援措置 person is reviewed only by staff who may see the protected
 * address (notices/commands/reviewNotice.ts), so the shipped 支援措置担当 group reviews notices
 * too. Groups made before this release get the permission here; a group a municipality has
 * renamed or removed is left alone (nothing happens when `supportMeasures` does not exist).
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema.raw(
    `INSERT INTO staff_group_permissions (group_id, permission)
     SELECT g.id, 'notice.review' FROM staff_groups g
     WHERE g.code = 'supportMeasures'
       AND NOT EXISTS (SELECT 1 FROM staff_group_permissions p WHERE p.group_id = g.id AND p.permission = 'notice.review')`,
  );
}

/** The permission stays: removing it would leave protected notices with no reviewer. */
export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema;
}
