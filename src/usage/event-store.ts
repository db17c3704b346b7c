// The durable write of one ingestion batch: claim the event keys, store the claimed events, add them to
// the rollups, all in one transaction. The ON CONFLICT DO NOTHING RETURNING on the key table is the
// dedupe decision: nothing in memory or Redis is consulted first, so an event whose earlier attempt
// rolled back or never reached COMMIT is stored by the retry, and one that did commit is not stored again.

import type { Pool, PoolClient } from 'pg';
import { DatabaseError } from 'pg';
import type { EventProperties } from '../domain/usage/usage-event';
import type { FreshEvent, RollupState, UniqueValueRow } from '../domain/usage/rollup';

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
  readonly rollups: StoredRollup[];
  readonly newUniqueValues: UniqueValueRow[];
}

/** Rows per (meter, customer, hour, group): one per concurrently writing connection. */
export const ROLLUP_SLOTS = 16;
const MAX_ATTEMPTS = 4;
const RETRYABLE = new Set(['40P01', '40001']); // deadlock_detected, serialization_failure

// Each pooled connection writes its own slot, so concurrent transactions of one process never wait on
// each other's rollup rows. Which connection gets which slot does not matter for correctness: two
// writers on one slot merely serialize on its row lock.
const slotOfConnection = new WeakMap<PoolClient, number>();
let nextSlot = 0;
function slotOf(client: PoolClient): number {
  let slot = slotOfConnection.get(client);
  if (slot === undefined) {
    slot = nextSlot % ROLLUP_SLOTS;
    nextSlot += 1;
    slotOfConnection.set(client, slot);
  }
  return slot;
}

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

// One statement, one round trip, its own transaction (migration 0007): claims the keys, stores the
// claimed events, sums their contributions into this connection's rollup slot and answers with the
// duplicates and the written rollup rows.
const INGEST_BATCH =
  'SELECT duplicate_ids, rollups, unique_values FROM usage_ingest_batch($1, $2, $3, $4, $5)';

interface UniqueValueJson {
  meter_id: string;
  customer_id: string;
  bucket_ms: number;
  group_key: string;
  value: string;
}

/**
 * The two JSON arguments, written in one pass without intermediate objects: the events (the order in
 * which their keys are claimed) and their meter contributions, by event index and meter index.
 */
function payloadOf(events: readonly EventToStore[]): { meters: string[]; events: string; contribs: string } {
  const meterIndex = new Map<string, number>();
  const meters: string[] = [];
  const eventParts: string[] = new Array<string>(events.length);
  const contribParts: string[] = [];
  for (let e = 0; e < events.length; e += 1) {
    const event = events[e] as EventToStore;
    eventParts[e] =
      `{"id":${JSON.stringify(event.id)},"c":${JSON.stringify(event.customerId)},` +
      `"n":${JSON.stringify(event.eventName)},"t":${event.occurredAtMs},"p":${JSON.stringify(event.properties)}}`;
    for (const contribution of event.contributions) {
      let m = meterIndex.get(contribution.meterId);
      if (m === undefined) {
        meters.push(contribution.meterId);
        m = meters.length; // SQL arrays are 1-based
        meterIndex.set(contribution.meterId, m);
      }
      const unique = contribution.aggregation === 'unique_count';
      const value = contribution.value === null ? 'null' : JSON.stringify(contribution.value);
      contribParts.push(
        `{"e":${e},"m":${m},"g":${JSON.stringify(contribution.groupKey)},` +
          `"v":${unique ? 'null' : value},"u":${unique ? value : 'null'}}`,
      );
    }
  }
  return { meters, events: `[${eventParts.join(',')}]`, contribs: `[${contribParts.join(',')}]` };
}

async function writeOnce(
  client: PoolClient,
  tenantId: string,
  events: readonly EventToStore[],
): Promise<BatchWriteResult> {
  const payload = payloadOf(events);
  const { rows } = await client.query<{
    duplicate_ids: string[] | null;
    rollups: RollupRow[] | null;
    unique_values: UniqueValueJson[] | null;
  }>(INGEST_BATCH, [tenantId, slotOf(client), payload.meters, payload.events, payload.contribs]);
  const row = rows[0];
  return {
    duplicateIds: new Set(row?.duplicate_ids ?? []),
    rollups: (row?.rollups ?? []).map(storedRollupOf),
    newUniqueValues: (row?.unique_values ?? []).map((v) => ({
      meterId: v.meter_id,
      customerId: v.customer_id,
      bucketStartMs: Number(v.bucket_ms),
      groupKey: v.group_key,
      value: v.value,
    })),
  };
}

/**
 * Stores a batch whose events have distinct ids (the caller removes in-batch repeats) and resolved
 * customers. A deadlock or serialization failure rolled everything back, so the whole statement is
 * simply run again; the keys it had claimed were released by the rollback.
 */
export async function storeEventBatch(
  pool: Pool,
  tenantId: string,
  events: readonly EventToStore[],
): Promise<BatchWriteResult> {
  // Claiming keys in one global order keeps two overlapping retries from deadlocking on each other.
  const ordered = [...events].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const client = await pool.connect();
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await writeOnce(client, tenantId, ordered);
      } catch (error) {
        const retryable =
          error instanceof DatabaseError && error.code !== undefined && RETRYABLE.has(error.code);
        if (!retryable || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  } finally {
    client.release();
  }
}
