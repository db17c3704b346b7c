// One ingestion request, start to finish: validate every event, resolve customers, work out what each
// event adds to which meter, store the batch durably (that is where duplicates are decided; the batch's
// rollup contributions are appended as one pending delta in the same transaction, and the compactor
// folds them into rollups and publishes them to Redis off the request path). The report names every
// index: accepted, duplicate or rejected.

import type { Pool } from 'pg';
import { contributionsOf, type Meter } from '../domain/usage/meter';
import { validateUsageEvent, type EventFieldError, type UsageEvent } from '../domain/usage/usage-event';
import type { CustomerResolver } from './customer-resolver';
import { storeEventBatch, type EventToStore } from './event-store';
import type { RecentEventIds } from './recent-event-ids';

export const MAX_BATCH_EVENTS = 10_000;

export interface RejectedEvent {
  readonly index: number;
  readonly errors: readonly EventFieldError[];
}

export interface IngestReport {
  /** Stored by this request: counted now, exactly once. */
  readonly accepted: number[];
  /** Already stored (by an earlier request, a retry, or earlier in this batch): counted once before. */
  readonly duplicates: number[];
  readonly rejected: RejectedEvent[];
}

export interface IngestDeps {
  readonly pool: Pool;
  readonly customers: CustomerResolver;
  readonly metersOf: (tenantId: string) => Promise<Meter[]>;
  readonly recentIds: RecentEventIds;
}

interface Candidate {
  readonly index: number;
  readonly event: UsageEvent;
}

export async function ingestEvents(
  deps: IngestDeps,
  tenantId: string,
  rawEvents: readonly unknown[],
  nowMs: number,
): Promise<IngestReport> {
  const rejected: RejectedEvent[] = [];
  const candidates: Candidate[] = [];
  rawEvents.forEach((raw, index) => {
    const result = validateUsageEvent(raw, nowMs);
    if (result.ok) candidates.push({ index, event: result.event });
    else rejected.push({ index, errors: result.errors });
  });

  const [customerIds, meters] = await Promise.all([
    deps.customers.resolve(tenantId, new Set(candidates.map((c) => c.event.customerRef))),
    candidates.length > 0 ? deps.metersOf(tenantId) : Promise.resolve([]),
  ]);

  const duplicates: number[] = [];
  const toStore: EventToStore[] = [];
  /** id → the index of its first occurrence in the batch (the one stored). */
  const storedIndex = new Map<string, number>();
  for (const { index, event } of candidates) {
    const customerId = customerIds.get(event.customerRef);
    if (customerId === undefined) {
      rejected.push({
        index,
        errors: [{ field: 'customer', message: `no customer with id or external_id '${event.customerRef}'` }],
      });
      continue;
    }
    const planned = contributionsOf(event, meters);
    if (!planned.ok) {
      rejected.push({ index, errors: planned.errors });
      continue;
    }
    // A repeat inside the batch is the same event sent twice: the first occurrence is the one stored.
    if (storedIndex.has(event.id)) {
      duplicates.push(index);
      continue;
    }
    storedIndex.set(event.id, index);
    toStore.push({
      id: event.id,
      customerId,
      eventName: event.eventName,
      occurredAtMs: event.occurredAtMs,
      properties: event.properties,
      contributions: planned.contributions,
    });
  }

  const accepted: number[] = [];
  if (toStore.length > 0) {
    const written = await storeEventBatch(deps.pool, tenantId, toStore, deps.recentIds);
    for (const [id, index] of storedIndex) (written.duplicateIds.has(id) ? duplicates : accepted).push(index);
  }
  const ascending = (a: number, b: number) => a - b;
  return {
    accepted: accepted.sort(ascending),
    duplicates: duplicates.sort(ascending),
    rejected: rejected.sort((a, b) => a.index - b.index),
  };
}
