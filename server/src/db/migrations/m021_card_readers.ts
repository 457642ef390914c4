import type { Knex } from 'knex';

/**
 * Card readers at the counters (issue 19): a machine client may be bound to one counter
 * (`api_clients.counter_id`, the card reader helper of that counter PC), and a visit records that
 * its identity document was read from the card's IC (`visits.identity_card`: the card type).
 */
export function up(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .alterTable('api_clients', (t) => {
      t.string('counter_id', 40);
    })
    .alterTable('visits', (t) => {
      t.string('identity_card', 20);
    });
}

export function down(knex: Knex): Knex.SchemaBuilder {
  return knex.schema
    .alterTable('visits', (t) => t.dropColumn('identity_card'))
    .alterTable('api_clients', (t) => t.dropColumn('counter_id'));
}
