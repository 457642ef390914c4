import './subscriptions.js';

/**
 * The notices package as the rest of the server imports it: the read model (`queries.ts`), the
 * aggregate's statuses (`notice.ts`), and the commands (`commands/`, imported from there
 * directly). Importing it also registers the notice owner's event handlers (`subscriptions.ts`).
 */
export * from './queries.js';
export { noticeMoves, noticeMoveLabels, allowedNoticeMoves, type NoticeMove } from './notice.js';
export { NoticeValidationError } from './commands/acceptNotice.js';
