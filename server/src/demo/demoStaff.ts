import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { randomPassword } from '../auth/passwords.js';
import { createStaff } from '../auth/staffRepo.js';

export const DEMO_LOGINS_FILE = 'demo-logins.txt';

const DEMO_STAFF = [
  { loginId: 'madoka', displayName: '窓口 まどか', section: '住民課', groups: ['counter', 'certificates'] },
  { loginId: 'hoken', displayName: '保険 福子', section: '保険福祉課', groups: ['insurance', 'welfare'] },
  { loginId: 'shomei', displayName: '証明 太郎', section: '住民課', groups: ['certificates'] },
  { loginId: 'shien', displayName: '支援 花子', section: '住民課', groups: ['supportMeasures'] },
  // Reviews the notices the counter accepted (another person than the one who accepted): without
  // this account a stock demo never gets a notice to 審査済, so no notice job reaches an RPA agent.
  { loginId: 'shinsa', displayName: '審査 次郎', section: '住民課', groups: ['reviewer'] },
  { loginId: 'kanri', displayName: '管理 一郎', section: '情報政策課', groups: ['admin'] },
] as const;

export type DemoLogin = (typeof DEMO_STAFF)[number]['loginId'];

export interface DemoAccount {
  loginId: DemoLogin;
  password: string;
  displayName: string;
  section: string;
  groups: string[];
}

/** Creates the demo accounts with fresh random passwords (never a password in the source). */
export async function createDemoAccounts(knex: Knex): Promise<DemoAccount[]> {
  const out: DemoAccount[] = [];
  for (const s of DEMO_STAFF) {
    const account = { ...s, groups: [...s.groups], password: randomPassword() };
    await createStaff(knex, { ...account, mustChangePassword: false });
    out.push(account);
  }
  return out;
}

/**
 * Demo accounts, written once to a file readable only by the owner so that later `demo` runs
 * can show them again.
 */
export async function createDemoStaff(knex: Knex, dataDir: string): Promise<string> {
  const accounts = await createDemoAccounts(knex);
  const text = accounts.map((a) => `  ${a.loginId.padEnd(8)} ${a.password}  ${a.displayName} (${a.section})`).join('\n') + '\n';
  writeFileSync(path.join(dataDir, DEMO_LOGINS_FILE), text, { mode: 0o600 });
  return text;
}
