// The durable write of one ingestion batch: claim the event keys, store the claimed events as one
// segment, append their summed contributions as one pending rollup delta, all in one transaction. The
// unique key of the key table is the dedupe decision: nothing in memory or Redis decides it, so an
// event whose earlier attempt rolled back or never reached COMMIT is stored by the retry, and one that
// did commit is not stored again. Memory only predicts which ids are new, to claim those with the
// cheaper plain INSERT (recent-event-ids.ts, migration 0012).

import type { Pool, PoolClient } from 'pg';
import { DatabaseError } from 'pg';
import type { EventProperties } from '../domain/usage/usage-event';
import { rollupDeltasOf, type FreshEvent, type RollupState } from '../domain/usage/rollup';
import type { RecentEventIds } from './recent-event-ids';
import { encodeBatchDelta } from './rollup-delta';

export interface EventToStore extends FreshEvent {
  readonly eventName: string;
  readonly properties: EventProperties;
}

/** A rollup row after the write: the cumulative state of its slot, with the version that produced it. */
export interface StoredRollup {
  readonly meterId: string;
  readonly customerId: string;
  readonly bucketStartMs: number;
  readonly groupKey: string;
  readonly slot: number;
  readonly version: number;
  readonly state: RollupState;
}

export interface BatchWriteResult {
  /** Submitted ids that were already stored (duplicates); every other submitted id is stored now. */
  readonly duplicateIds: ReadonlySet<string>;
}

const MAX_ATTEMPTS = 4;
const RETRYABLE = new Set(['40P01', '40001']); // deadlock_detected, serialization_failure

export interface RollupRow {
  meter_id: string;
  customer_id: string;
  bucket_ms: number;
  group_key: string;
  slot: number;
  version: number;
  event_count: number;
  value_sum: string | null;
  value_max: string | null;
  latest_ms: number | null;
  latest_event_id: string | null;
  latest_value: string | null;
}

export function storedRollupOf(row: RollupRow): StoredRollup {
  return {
    meterId: row.meter_id,
    customerId: row.customer_id,
    bucketStartMs: Number(row.bucket_ms),
    groupKey: row.group_key,
    slot: row.slot,
    version: Number(row.version),
    state: {
      eventCount: Number(row.event_count),
      valueSum: row.value_sum,
      valueMax: row.value_max,
      latest:
        row.latest_ms === null || row.latest_event_id === null || row.latest_value === null
          ? null
          : { atMs: Number(row.latest_ms), eventId: row.latest_event_id, value: row.latest_value },
    },
  };
}

// Two calls in one transaction (migrations 0011, 0012): claim the keys (the dedupe decision, answered
// with the segment id and the ids already stored), then store the claimed events as that segment with their
// summed contributions as one pending delta. The compactor (rollup-compactor.ts) folds deltas.
const CLAIM = {
  name: 'usage-claim-event-keys',
  text: 'SELECT segment_id, duplicate_ids FROM usage_claim_event_keys($1, $2, $3)',
};
const STORE = {
  name: 'usage-store-event-segment',
  text: 'SELECT usage_store_event_segment($1, $2, $3, $4, $5, $6, $7)',
};

// A JSON string literal. Printable ASCII except '"' and '\\' (ids, names, decimals: the usual case) is
// its own JSON string body, so it skips JSON.stringify.
const PLAIN = /^[ !#-[\]-~]*$/;
function quoted(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** The segment's events document, in one pass: [{"id","c","n","t","p"}]. */
function segmentOf(events: readonly EventToStore[]): { json: string; firstMs: number; lastMs: number } {
  let json = '[';
  let firstMs = Number.POSITIVE_INFINITY;
  let lastMs = Number.NEGATIVE_INFINITY;
  for (let e = 0; e < events.length; e += 1) {
    const event = events[e] as EventToStore;
    if (event.occurredAtMs < firstMs) firstMs = event.occurredAtMs;
    if (event.occurredAtMs > lastMs) lastMs = event.occurredAtMs;
    json +=
      (e === 0 ? '{"id":' : ',{"id":') +
      quoted(event.id) +
      ',"c":' +
      quoted(event.customerId) +
      ',"n":' +
      quoted(event.eventName) +
      ',"t":' +
      String(event.occurredAtMs) +
      ',"p":' +
      JSON.stringify(event.properties) +
      '}';
  }
  return { json: json + ']', firstMs, lastMs };
}

interface KeyClaim {
  /** Ids this process has not sent before: claimed with a plain INSERT. */
  readonly newIds: readonly string[];
  /** Ids it may have sent: claimed with ON CONFLICT DO NOTHING. */
  readonly suspectIds: readonly string[];
}

async function writeOnce(
  client: PoolClient,
  tenantId: string,
  events: readonly EventToStore[],
  keys: KeyClaim,
): Promise<BatchWriteResult> {
  await client.query('BEGIN');
  const claim = await client.query<{ segment_id: string; duplicate_ids: string[] | null }>({
    ...CLAIM,
    values: [tenantId, keys.newIds, keys.suspectIds],
  });
  const duplicateIds = new Set(claim.rows[0]?.duplicate_ids ?? []);
  const fresh = duplicateIds.size === 0 ? events : events.filter((event) => !duplicateIds.has(event.id));
  if (fresh.length > 0) {
    const segment = segmentOf(fresh);
    const { deltas, uniqueValues } = rollupDeltasOf(fresh);
    await client.query({
      ...STORE,
      values: [
        tenantId,
        claim.rows[0]?.segment_id,
        segment.firstMs,
        segment.lastMs,
        fresh.length,
        segment.json,
        encodeBatchDelta(deltas, uniqueValues),
      ],
    });
  }
  await client.query('COMMIT');
  return { duplicateIds };
}

/**
 * Stores a batch whose events have distinct ids (the caller removes in-batch repeats) and resolved
 * customers. A deadlock or serialization failure rolled everything back, so the whole transaction is
 * simply run again; the keys it had claimed were released by the rollback.
 */
export async function storeEventBatch(
  pool: Pool,
  tenantId: string,
  events: readonly EventToStore[],
  recentIds: RecentEventIds,
): Promise<BatchWriteResult> {
  // Claiming keys in one global order keeps two overlapping retries from deadlocking on each other.
  const ordered = [...events].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const split = recentIds.partition(
    tenantId,
    ordered.map((event) => event.id),
  );
  const keys: KeyClaim = { newIds: split.unseen, suspectIds: split.seen };
  const client = await pool.connect();
  let broken = false;
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await writeOnce(client, tenantId, ordered, keys);
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        const retryable =
          error instanceof DatabaseError && error.code !== undefined && RETRYABLE.has(error.code);
        if (broken || !retryable || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  } finally {
    // A connection whose ROLLBACK failed is in an unknown state: it leaves the pool.
    client.release(broken);
  }
}
