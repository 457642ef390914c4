import { errorCatalog, formatMessage, type ErrorCode, type ErrorStatus } from './catalog.js';

/** One field's problem, shown next to that field (`field` is the form or JSON path). */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * An error a person or a client can act on. Thrown by services and commands (never an HTTP error
 * there); `http/errorHandler.ts` maps it to a status, a JSON body or the styled error page.
 */
export class DomainError extends Error {
  readonly status: ErrorStatus;
  /** Koa's convention: the message is meant for the user (5xx messages are never shown). */
  readonly expose: boolean;

  constructor(
    readonly code: ErrorCode,
    readonly params: Readonly<Record<string, string | number>> = {},
    readonly fields: readonly FieldProblem[] = [],
  ) {
    const entry = errorCatalog[code];
    super(formatMessage(entry.message, params));
    this.name = 'DomainError';
    this.status = entry.status;
    this.expose = entry.status < 500;
  }
}

/** Shorthand for the common cases. */
export const notFound = (what: string): DomainError => new DomainError('notFound.resource', { what });
export const invalidInput = (detail: string, fields: readonly FieldProblem[] = []): DomainError =>
  new DomainError('input.invalid', { detail }, fields);
export const conflict = (detail: string): DomainError => new DomainError('state.conflict', { detail });

/**
 * A disallowed state move: names the current state and the moves that are allowed from it, so a
 * 409 tells the client what it can do instead.
 */
export function moveNotAllowed(what: string, from: string, to: string, allowed: readonly string[]): DomainError {
  return new DomainError('state.moveNotAllowed', { what, from, to, allowed: allowed.length ? allowed.join('、') : 'なし' });
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
