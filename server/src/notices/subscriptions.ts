import { subscribe } from '../domain/events.js';
import { enterNoticeWhenComplete } from './commands/enterNotice.js';

/** The notice owner's reactions to other aggregates' events (`domain/events.ts`). */
subscribe('job.succeeded', 'notice', async (trx, e) => {
  if (e.noticeId !== null) await enterNoticeWhenComplete(trx, e.noticeId, e.actor, e.at);
});
