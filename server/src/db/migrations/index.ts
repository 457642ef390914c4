import type { Knex } from 'knex';
import * as m001 from './m001_initial.js';
import * as m002 from './m002_linkage.js';
import * as m003 from './m003_audit.js';
import * as m004 from './m004_sessions.js';
import * as m005 from './m005_staff_security.js';
import * as m006 from './m006_visits.js';
import * as m007 from './m007_notices.js';
import * as m008 from './m008_certificates.js';
import * as m009 from './m009_jobs.js';
import * as m010 from './m010_power.js';
import * as m011 from './m011_rpa_agents.js';
import * as m012 from './m012_notice_core_refs.js';
import * as m013 from './m013_login_throttle.js';
import * as m014 from './m014_protected_review.js';
import * as m015 from './m015_linkage_safety.js';
import * as m016 from './m016_search_keys.js';
import * as m017 from './m017_rpa_reconciliation.js';
import * as m018 from './m018_rpa_unprobed_commit.js';
import * as m019 from './m019_rpa_core_system.js';
import * as m020 from './m020_certificate_issuances.js';
import * as m021 from './m021_card_readers.js';
import * as m022 from './m022_resident_screens.js';
import * as m023 from './m023_leases.js';
import * as m024 from './m024_maintenance.js';

/**
 * Migrations are additive only and return one schema-builder chain, so that the same code
 * runs on SQLite and SQL Server and can be compiled for SQL Server without a connection.
 */
export interface Migration {
  name: string;
  up(knex: Knex): Knex.SchemaBuilder;
  down(knex: Knex): Knex.SchemaBuilder;
}

export const migrations: readonly Migration[] = [
  { name: '001_initial', ...m001 },
  { name: '002_linkage', up: m002.up, down: m002.down },
  { name: '003_audit', up: m003.up, down: m003.down },
  { name: '004_sessions', up: m004.up, down: m004.down },
  { name: '005_staff_security', up: m005.up, down: m005.down },
  { name: '006_visits', up: m006.up, down: m006.down },
  { name: '007_notices', up: m007.up, down: m007.down },
  { name: '008_certificates', up: m008.up, down: m008.down },
  { name: '009_jobs', up: m009.up, down: m009.down },
  { name: '010_power', up: m010.up, down: m010.down },
  { name: '011_rpa_agents', up: m011.up, down: m011.down },
  { name: '012_notice_core_refs', up: m012.up, down: m012.down },
  { name: '013_login_throttle', up: m013.up, down: m013.down },
  { name: '014_protected_review', up: m014.up, down: m014.down },
  { name: '015_linkage_safety', up: m015.up, down: m015.down },
  { name: '016_search_keys', up: m016.up, down: m016.down },
  { name: '017_rpa_reconciliation', up: m017.up, down: m017.down },
  { name: '018_rpa_unprobed_commit', up: m018.up, down: m018.down },
  { name: '019_rpa_core_system', up: m019.up, down: m019.down },
  { name: '020_certificate_issuances', up: m020.up, down: m020.down },
  { name: '021_card_readers', up: m021.up, down: m021.down },
  { name: '022_resident_screens', up: m022.up, down: m022.down },
  { name: '023_leases', up: m023.up, down: m023.down },
  { name: '024_maintenance', up: m024.up, down: m024.down },
];

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: async () => [...migrations],
  getMigrationName: (m) => m.name,
  getMigration: async (m) => ({ up: (k: Knex) => m.up(k), down: (k: Knex) => m.down(k) }),
};
