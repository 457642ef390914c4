/**
 * The visits package as the rest of the server imports it: the aggregate (`visit.ts`: statuses,
 * the move table, the only writer of `visits`, `visit_subjects` and `visit_memos`), its commands
 * (`commands/`) and the read model (`queries.ts`).
 */
export {
  statusLabels,
  visitStatuses,
  allowedVisitMoves,
  visitMoveLabels,
  type VisitStatus,
  type VisitMove,
  type NewSubject,
} from './visit.js';
export * from './queries.js';
export { openVisit } from './commands/openVisit.js';
export { saveVisitor, type VisitorFields } from './commands/saveVisitor.js';
export { addSubject } from './commands/addSubject.js';
export { changeVisitStatus } from './commands/changeVisitStatus.js';
export { addMemo } from './commands/addMemo.js';
