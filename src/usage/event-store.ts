// The durable write of one ingestion batch: claim the event keys, store the claimed events, append their
// summed contributions as one pending rollup delta, all in one transaction. The ON CONFLICT DO NOTHING RETURNING on the key table is the
// dedupe decision: nothing in memory or Redis is consulted first, so an event whose earlier attempt
// rolled back or never reached COMMIT is stored by the retry, and one that did commit is not stored again.

import type { Pool, PoolClient } from 'pg';
import { DatabaseError } from 'pg';
import type { EventProperties } from '../domain/usage/usage-event';
import type { FreshEvent, RollupState } from '../domain/usage/rollup';

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

// One statement, one round trip, its own transaction (migration 0007): claims the keys, stores the
// claimed events and appends ONE pending rollup delta (the claimed events' contributions summed in
// SQL); answers with the duplicates. The compactor (rollup-compactor.ts) folds deltas into rollups.
const INGEST_BATCH = 'SELECT usage_ingest_batch($1, $2, $3, $4) AS duplicate_ids';

// A JSON string literal. Printable ASCII except '"' and '\\' (ids, names, decimals: the usual case) is
// its own JSON string body, so it skips JSON.stringify.
const PLAIN = /^[ !#-[\]-~]*$/;
function quoted(text: string): string {
  return PLAIN.test(text) ? `"${text}"` : JSON.stringify(text);
}

/**
 * The two JSON arguments, written in one pass without intermediate objects: the events (the order in
 * which their keys are claimed) and their meter contributions, by event index and meter index. The
 * quoted group keys are cached per batch (a batch has a handful of distinct ones).
 */
function payloadOf(events: readonly EventToStore[]): { meters: string[]; events: string; contribs: string } {
  const meterIndex = new Map<string, number>();
  const groupText = new Map<string, string>();
  const meters: string[] = [];
  let eventsJson = '[';
  let contribsJson = '[';
  for (let e = 0; e < events.length; e += 1) {
    const event = events[e] as EventToStore;
    eventsJson +=
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
    for (const contribution of event.contributions) {
      let m = meterIndex.get(contribution.meterId);
      if (m === undefined) {
        meters.push(contribution.meterId);
        m = meters.length; // SQL arrays are 1-based
        meterIndex.set(contribution.meterId, m);
      }
      let g = groupText.get(contribution.groupKey);
      if (g === undefined) {
        g = quoted(contribution.groupKey);
        groupText.set(contribution.groupKey, g);
      }
      const unique = contribution.aggregation === 'unique_count';
      const value = contribution.value === null ? 'null' : quoted(contribution.value);
      contribsJson +=
        (contribsJson.length === 1 ? '{"e":' : ',{"e":') +
        String(e) +
        ',"m":' +
        String(m) +
        ',"g":' +
        g +
        (unique ? ',"v":null,"u":' + value : ',"v":' + value + ',"u":null') +
        '}';
    }
  }
  return { meters, events: eventsJson + ']', contribs: contribsJson + ']' };
}

async function writeOnce(
  client: PoolClient,
  tenantId: string,
  events: readonly EventToStore[],
): Promise<BatchWriteResult> {
  const payload = payloadOf(events);
  const { rows } = await client.query<{ duplicate_ids: string[] | null }>(INGEST_BATCH, [
    tenantId,
    payload.meters,
    payload.events,
    payload.contribs,
  ]);
  return { duplicateIds: new Set(rows[0]?.duplicate_ids ?? []) };
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
