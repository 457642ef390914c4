/**
 * Which routes carry personal data, decided by path in one table so that a new route under an
 * existing area is covered without anyone remembering to mark it. The kit (kit.ts) uses it to
 * audit every refusal on these routes and every request that its handler did not audit itself.
 */
export type PersonalTarget =
  | 'resident'
  | 'visit'
  | 'notice'
  | 'procedures'
  | 'certificateRequest'
  | 'print'
  | 'rpaJob'
  | 'cardReading'
  | 'staff'
  | 'audit'
  | 'maintenance';

/** Path patterns (`:param` or concrete values) → the kind of personal data behind them. First match wins. */
const RULES: readonly [RegExp, PersonalTarget | null][] = [
  // Not personal: the agent's scenario files, linkage status, address master, postal codes, statistics.
  [/^\/api\/v1\/agent\/scenarios$/, null],
  [/^\/api\/v1\/(linkage|addresses|postal-codes|openapi)/, null],
  // The card reader's state and the helper's long poll carry no personal data (the PIN is a secret, not a record);
  // the helper's answer is a reading, and so is the page's request for one.
  [/^\/api\/v1\/card-reader\/(state|request)$/, null],
  [/^\/card-reader\/status$/, null],
  // The resident screen shows only what a clerk sent, audited when sent (residentScreen.show) and
  // when confirmed and signed; its polls and the staff panel's status carry no record of their own.
  [/^\/resident(\/|$)/, null],
  [/^\/resident-screen\/(status|pairing)$/, null],
  [/^\/api\/v1\/card-reader\//, 'cardReading'],
  [/^\/visits\/[^/]+\/card-reading(\/|$)/, 'cardReading'],
  [/^\/(stats|linkage|static|pamphlets|login|logout|password|role|healthz)(\/|$|\.)/, null],
  [/^\/api\/v1\/residents(\/|$)/, 'resident'],
  // 支援措置 ended by a linkage file: who was protected (names, 宛名番号) is personal data.
  [/^(\/api\/v1)?\/support-measures(\/|$)/, 'resident'],
  [/^\/(residents\/|search$)/, 'resident'],
  [/^(\/api\/v1)?\/visits\/[^/]+\/notices(\/|$)/, 'notice'],
  [/^(\/api\/v1)?\/visits\/[^/]+\/(procedures|answers)(\/|$)/, 'procedures'],
  [/^\/visits\/[^/]+\/certificates(\/|$)/, 'certificateRequest'],
  [/^\/visits\/[^/]+\/[^/]+\.pdf$/, 'print'],
  [/^(\/api\/v1)?\/visits(\/|$)/, 'visit'],
  [/^\/(review|worklist)(\/|$)/, 'notice'],
  [/^\/notices\//, 'notice'],
  [/^(\/rpa\/|\/api\/v1\/agent\/)/, 'rpaJob'],
  [/^\/admin\/staff(\/|$)/, 'staff'],
  [/^\/admin\/audit(\/|$)/, 'audit'],
  // The maintenance log: who of the vendor's staff connected from where, and what they ran.
  [/^\/admin\/maintenance(\/|$)/, 'maintenance'],
];

/** The personal data a route path (its pattern or a concrete request path) serves, or null. */
export function personalTargetOf(path: string): PersonalTarget | null {
  for (const [re, target] of RULES) if (re.test(path)) return target;
  return null;
}
