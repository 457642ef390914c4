import type { Knex } from 'knex';

export interface Health {
  status: 'ok' | 'error';
  version: string;
  residents: number | null;
  database: 'ok' | 'error';
}

export async function checkHealth(knex: Knex, version: string): Promise<Health> {
  try {
    const row = (await knex('residents').where({ resident_status: '1' }).count({ n: '*' }).first()) as { n: number | string } | undefined;
    return { status: 'ok', version, residents: Number(row?.n ?? 0), database: 'ok' };
  } catch {
    return { status: 'error', version, residents: null, database: 'error' };
  }
}
