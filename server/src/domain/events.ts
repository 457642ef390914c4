import type { Knex } from 'knex';
import type { AuditActor } from '../auth/staffRepo.js';

/**
 * In-transaction domain events: how one aggregate's change reaches another without writing its
 * tables. The module that changed its aggregate publishes an event inside its transaction; the
 * owner of the other aggregate has subscribed a handler, which runs at once, in the same
 * transaction (so both changes commit or roll back together), in the order of `subscribersOf`.
 *
 * The flows between aggregates are the table `subscribersOf` below: a newcomer reads it to see
 * who reacts to what. Publishing an event whose listed subscriber has not registered (its module
 * was not loaded) throws, rather than silently dropping the effect.
 */
export interface DomainEventMap {
  /** 受付済 → 審査済: the notice's core-system entries may start. */
  'notice.reviewed': { noticeId: number };
  /** 審査済 → 受付済 (sent back): its entries wait for the review again. */
  'notice.reopened': { noticeId: number };
  /** 下書き・受付済 → 取消: entries not yet made are cancelled. */
  'notice.cancelled': { noticeId: number };
  /** One entry is in the core system (by an agent, or marked as entered by hand). */
  'job.succeeded': { jobId: number; noticeId: number | null; coreRef: string };
}

export type DomainEventType = keyof DomainEventMap;
export type DomainEvent<K extends DomainEventType = DomainEventType> = {
  /** `actor` is who caused it: handlers audit their own change in their owner's name with it. */
  [T in K]: { type: T; at: Date; actor: AuditActor } & DomainEventMap[T];
}[K];

/** The aggregates, named as their owner modules subscribe. */
export type AggregateOwner = 'notice' | 'rpaJob' | 'visit' | 'visitProcedures' | 'certificateRequest';

/** Who reacts to each event (handlers live with the owner: `rpa/jobs.ts`, `notices/subscriptions.ts`). */
export const subscribersOf = {
  'notice.reviewed': ['rpaJob'],
  'notice.reopened': ['rpaJob'],
  'notice.cancelled': ['rpaJob'],
  'job.succeeded': ['notice'],
} as const satisfies Record<DomainEventType, readonly AggregateOwner[]>;

export type EventHandler<K extends DomainEventType> = (trx: Knex.Transaction, event: DomainEvent<K>) => Promise<void>;

const handlers = new Map<DomainEventType, Map<AggregateOwner, EventHandler<never>>>();

/** Registers the owner's handler for an event (once per owner: registering again replaces it). */
export function subscribe<K extends DomainEventType>(type: K, owner: (typeof subscribersOf)[K][number], handler: EventHandler<K>): void {
  const byOwner = handlers.get(type) ?? new Map<AggregateOwner, EventHandler<never>>();
  byOwner.set(owner, handler as EventHandler<never>);
  handlers.set(type, byOwner);
}

/** Whether every subscriber listed in `subscribersOf` has registered (a start-up and test check). */
export function missingSubscribers(): string[] {
  return Object.entries(subscribersOf).flatMap(([type, owners]) =>
    owners.filter((o) => !handlers.get(type as DomainEventType)?.has(o)).map((o) => `${type} → ${o}`),
  );
}

/** Runs the subscribers of `event` in the caller's transaction, one after another. */
export async function publish<K extends DomainEventType>(trx: Knex.Transaction, event: DomainEvent<K>): Promise<void> {
  const owners: readonly AggregateOwner[] = subscribersOf[event.type];
  for (const owner of owners) {
    const handler = handlers.get(event.type)?.get(owner) as EventHandler<K> | undefined;
    if (!handler) throw new Error(`domain event ${event.type}: the ${owner} owner has not subscribed (its module is not loaded)`);
    await handler(trx, event);
  }
}
