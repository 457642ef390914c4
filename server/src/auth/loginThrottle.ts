import type { Knex } from 'knex';
import type { LockoutSettings } from '../config/appConfig.js';
import { countOf, dbDate } from '../db/values.js';

/**
 * The login throttle (docs/security.md「ログイン」), over the `login_failures` table:
 *
 * - **Per client address, first.** When one address has failed `address.maxFailures` times within
 *   `address.windowMinutes` (whatever login ids it tried), every login from it is refused with 429
 *   until the oldest of those failures leaves the window. Nothing is checked while it waits, so a
 *   single address gets at most `maxFailures` guesses per window, at any number of accounts.
 * - **Per account, only from varied addresses.** A login id is locked when it has failed
 *   `account.maxFailures` times within `account.windowMinutes` from at least `account.minAddresses`
 *   different addresses (at least 2, so one address can never lock someone else's account).
 *
 * Only bad credentials count (an unknown login id or a wrong password): a right password for a
 * disabled, expired or locked account is refused without counting.
 */

const MINUTE = 60_000;

/** The stored form of a client address (`unknown` when there is none, as for a direct call). */
export const addressKey = (address: string | null | undefined): string => (address || 'unknown').slice(0, 64);

/** The stored form of a typed login id. */
export const loginKey = (loginId: string): string => loginId.slice(0, 100);

/**
 * How long this address must wait before its next login, in whole seconds (0: it may try now),
 * with the failures counted in its window.
 */
export async function addressWait(
  db: Knex,
  address: string | null,
  settings: LockoutSettings,
  now: Date,
  inFlight = 0,
): Promise<{ retryAfterSeconds: number; failures: number }> {
  const { maxFailures, windowMinutes } = settings.address;
  // Attempts from the address still being checked count as failures-to-be: a burst of parallel
  // requests gets no more guesses than the same requests one after another.
  const allowed = maxFailures - inFlight;
  if (allowed <= 0) return { retryAfterSeconds: 1, failures: maxFailures };
  const window = windowMinutes * MINUTE;
  const recent = (await db('login_failures')
    .where({ client_address: addressKey(address) })
    .andWhere('failed_at', '>', new Date(now.getTime() - window))
    .orderBy('failed_at', 'desc')
    .limit(allowed)
    .pluck('failed_at')) as unknown[];
  if (recent.length < allowed) return { retryAfterSeconds: 0, failures: recent.length };
  // The address may try again when the oldest of these failures leaves the window.
  const oldest = dbDate(recent[recent.length - 1])!.getTime();
  return { retryAfterSeconds: Math.max(1, Math.ceil((oldest + window - now.getTime()) / 1000)), failures: recent.length + inFlight };
}

const inFlight = new Map<string, number>();

/**
 * Runs one login attempt of an address, telling it how many other attempts of the same address
 * this process is checking at the same moment.
 */
export async function withAttempt<T>(address: string | null, run: (othersInFlight: number) => Promise<T>): Promise<T> {
  const key = addressKey(address);
  const others = inFlight.get(key) ?? 0;
  inFlight.set(key, others + 1);
  try {
    return await run(others);
  } finally {
    const left = (inFlight.get(key) ?? 1) - 1;
    if (left > 0) inFlight.set(key, left);
    else inFlight.delete(key);
  }
}

/**
 * Records one failure (bad credentials) and tells whether the account's failures now reach the
 * lock: the same queries run for known and unknown login ids. Old rows beyond both windows go.
 */
export async function recordFailure(
  trx: Knex.Transaction,
  f: { loginId: string; staffId: number | null; address: string | null },
  settings: LockoutSettings,
  now: Date,
): Promise<{ accountFailures: number; accountAddresses: number; reachesLock: boolean }> {
  const keep = Math.max(settings.address.windowMinutes, settings.account.windowMinutes) * MINUTE;
  await trx('login_failures')
    .where('failed_at', '<', new Date(now.getTime() - keep))
    .del();
  await trx('login_failures').insert({
    login_id: loginKey(f.loginId),
    staff_id: f.staffId,
    client_address: addressKey(f.address),
    failed_at: now,
    counts_for_account: true,
  });
  const account = () =>
    trx('login_failures')
      .where({ login_id: loginKey(f.loginId), counts_for_account: true })
      .andWhere('failed_at', '>', new Date(now.getTime() - settings.account.windowMinutes * MINUTE));
  const accountFailures = countOf(await account().count({ n: '*' }).first());
  const accountAddresses = countOf(await account().countDistinct({ n: 'client_address' }).first());
  return {
    accountFailures,
    accountAddresses,
    reachesLock: accountFailures >= settings.account.maxFailures && accountAddresses >= settings.account.minAddresses,
  };
}

/**
 * After a successful login, an unlock or a password reset, the account's earlier failures stop
 * counting towards its lock (they still count for the addresses they came from).
 */
export async function clearAccountFailures(db: Knex, loginId: string): Promise<void> {
  await db('login_failures')
    .where({ login_id: loginKey(loginId), counts_for_account: true })
    .update({ counts_for_account: false });
}
