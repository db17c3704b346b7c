// The durable write of one ingestion batch: claim the event keys, store the claimed events as one
// segment, append their summed contributions as pending rollup deltas, atomically (one statement, or
// one transaction the long way). The unique key of the key table is the dedupe decision: nothing in
// memory or Redis decides it, so an event whose earlier attempt rolled back or never reached COMMIT is
// stored by the retry, and one that did commit is not stored again. Memory only predicts which ids are
// new, to claim those with the cheaper plain INSERT (recent-event-ids.ts, migration 0012).

import type { Pool, PoolClient } from 'pg';
import { DatabaseError } from 'pg';
import type { EventProperties } from '../domain/usage/usage-event';
import { rollupDeltasOf, type FreshEvent, type RollupState } from '../domain/usage/rollup';
import type { RecentEventIds } from './recent-event-ids';
import { encodeBatchDelta } from './rollup-delta';
import { jsonString, JsonStringList, PLAIN_JSON_TEXT } from '../domain/usage/json-text';

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

// The usual batch is one autocommitted statement (migration 0012): the keys predicted new claimed with a
// plain INSERT, the suspects with ON CONFLICT, and exactly the claimed events stored as one segment
// with their deltas. When an id predicted new turns out to be stored already, that statement fails
// whole and the batch takes the long way (migration 0011): claim every key with ON CONFLICT, learn the
// duplicates, then store the rest, in one transaction.
const INGEST = {
  name: 'usage-ingest-event-batch',
  text: 'SELECT usage_ingest_event_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) AS duplicate_ids',
};
const CLAIM = {
  name: 'usage-claim-event-keys',
  text: 'SELECT segment_id, duplicate_ids FROM usage_claim_event_keys($1, $2)',
};
const STORE = {
  name: 'usage-store-event-segment',
  text: 'SELECT usage_store_event_segment($1, $2, $3, $4, $5, $6, $7)',
};

/**
 * A Postgres text[] literal of the events' ids, built here rather than by pg's array serializer
 * (which runs two regex replaces per element): ids are printable ASCII (validated), so only '"' and
 * '\\' need a backslash, and most ids have neither. In a text[] literal they are the same two as in JSON.
 */
function idsLiteral(events: readonly EventToStore[]): string {
  let literal = '{';
  for (let e = 0; e < events.length; e += 1) {
    const id = (events[e] as EventToStore).id;
    literal +=
      (e === 0 ? '"' : ',"') + (PLAIN_JSON_TEXT.test(id) ? id : id.replace(/["\\]/g, (c) => `\\${c}`)) + '"';
  }
  return `${literal}}`;
}

/**
 * The segment document (version 2, migration 0012) of `events`, in one pass:
 * {"v":2,"t":base,"c":[customers],"n":[names],"e":[[id, customer index, name index, at − base, properties], …]}.
 * "e" comes last: the ingest function splices suspects' elements into it.
 */
function segmentOf(
  events: readonly EventToStore[],
  baseMs: number,
): { json: string; firstMs: number; lastMs: number } {
  const customers = new JsonStringList();
  const names = new JsonStringList();
  let elements = '';
  let firstMs = Number.POSITIVE_INFINITY;
  let lastMs = Number.NEGATIVE_INFINITY;
  for (let e = 0; e < events.length; e += 1) {
    const event = events[e] as EventToStore;
    if (event.occurredAtMs < firstMs) firstMs = event.occurredAtMs;
    if (event.occurredAtMs > lastMs) lastMs = event.occurredAtMs;
    const customer = customers.indexOf(event.customerId);
    const name = names.indexOf(event.eventName);
    elements += (e === 0 ? '' : ',') + elementOf(event, String(customer), String(name), baseMs);
  }
  const json = `{"v":2,"t":${baseMs},"c":${customers.json()},"n":${names.json()},"e":[${elements}]}`;
  return { json, firstMs, lastMs };
}

/**
 * One element of a version-2 segment: [id, customer, name, at − base, properties], the customer and
 * name given as JSON tokens (an index into the segment's lists, or a quoted string).
 */
function elementOf(event: EventToStore, customer: string, name: string, baseMs: number): string {
  return (
    '[' +
    jsonString(event.id) +
    ',' +
    customer +
    ',' +
    name +
    ',' +
    String(event.occurredAtMs - baseMs) +
    ',' +
    JSON.stringify(event.properties) +
    ']'
  );
}

/** A suspect's element, self-contained: customer and name as strings (it is spliced in alone). */
function suspectElement(event: EventToStore, baseMs: number): string {
  return elementOf(event, jsonString(event.customerId), jsonString(event.eventName), baseMs);
}

function deltaOf(events: readonly EventToStore[]): string | null {
  const { deltas, uniqueValues } = rollupDeltasOf(events);
  return encodeBatchDelta(deltas, uniqueValues);
}

/** The one-statement write; throws unique_violation if an id of `unseen` is stored already. */
async function ingestOnce(
  client: PoolClient,
  tenantId: string,
  unseen: readonly EventToStore[],
  seen: readonly EventToStore[],
  baseMs: number,
): Promise<BatchWriteResult> {
  const segment = segmentOf(unseen, baseMs);
  const { rows } = await client.query<{ duplicate_ids: string[] }>({
    ...INGEST,
    values: [
      tenantId,
      idsLiteral(unseen),
      segment.json,
      unseen.length > 0 ? deltaOf(unseen) : null,
      unseen.length > 0 ? segment.firstMs : null,
      unseen.length > 0 ? segment.lastMs : null,
      idsLiteral(seen),
      seen.map((event) => suspectElement(event, baseMs)),
      // Each suspect's own delta: the function stores only the suspects it claims.
      seen.map((event) => deltaOf([event])),
      seen.map((event) => event.occurredAtMs),
    ],
  });
  return { duplicateIds: new Set(rows[0]?.duplicate_ids ?? []) };
}

/** The long way: every key with ON CONFLICT, then the claimed events, in one transaction. */
async function claimThenStore(
  client: PoolClient,
  tenantId: string,
  events: readonly EventToStore[],
  baseMs: number,
): Promise<BatchWriteResult> {
  await client.query('BEGIN');
  const claim = await client.query<{ segment_id: string; duplicate_ids: string[] | null }>({
    ...CLAIM,
    values: [tenantId, events.map((event) => event.id)],
  });
  const duplicateIds = new Set(claim.rows[0]?.duplicate_ids ?? []);
  const fresh = duplicateIds.size === 0 ? events : events.filter((event) => !duplicateIds.has(event.id));
  if (fresh.length > 0) {
    const segment = segmentOf(fresh, baseMs);
    await client.query({
      ...STORE,
      values: [
        tenantId,
        claim.rows[0]?.segment_id,
        segment.firstMs,
        segment.lastMs,
        fresh.length,
        segment.json,
        deltaOf(fresh),
      ],
    });
  }
  await client.query('COMMIT');
  return { duplicateIds };
}

/** The plain INSERT met a key stored already: the batch is to go the long way. */
const keyStoredAlready = (error: unknown): boolean =>
  error instanceof DatabaseError && error.code === '23505' && error.constraint === 'usage_event_keys_pkey';

/**
 * Stores a batch whose events have distinct ids (the caller removes in-batch repeats) and resolved
 * customers. A deadlock or serialization failure rolled everything back, so the write is simply run
 * again; the keys it had claimed were released by the rollback.
 */
export async function storeEventBatch(
  pool: Pool,
  tenantId: string,
  events: readonly EventToStore[],
  recentIds: RecentEventIds,
): Promise<BatchWriteResult> {
  // Claiming keys in one global order keeps two overlapping retries from deadlocking on each other.
  const ordered = [...events].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const { seen, unseen } = recentIds.partition(tenantId, ordered, (event) => event.id);
  let baseMs = Number.POSITIVE_INFINITY;
  for (const event of ordered) if (event.occurredAtMs < baseMs) baseMs = event.occurredAtMs;
  const client = await pool.connect();
  let broken = false;
  let longWay = false;
  try {
    for (let attempt = 1; ; attempt += 1) {
      try {
        if (!longWay) return await ingestOnce(client, tenantId, unseen, seen, baseMs);
        return await claimThenStore(client, tenantId, ordered, baseMs);
      } catch (error) {
        if (longWay) {
          await client.query('ROLLBACK').catch(() => {
            broken = true;
          });
        }
        if (!longWay && keyStoredAlready(error)) {
          longWay = true;
          continue;
        }
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
