// The durable write of one ingestion batch: claim the event keys, store the claimed events, add them to
// the rollups, all in one transaction. The ON CONFLICT DO NOTHING RETURNING on the key table is the
// dedupe decision: nothing in memory or Redis is consulted first, so an event whose earlier attempt
// rolled back or never reached COMMIT is stored by the retry, and one that did commit is not stored again.

import type { Pool, PoolClient } from 'pg';
import { DatabaseError } from 'pg';
import type { EventProperties } from '../domain/usage/usage-event';
import {
  rollupDeltasOf,
  type FreshEvent,
  type RollupDelta,
  type RollupState,
  type UniqueValueRow,
} from '../domain/usage/rollup';

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
  /** Ids stored by this transaction; every other submitted id was already stored (a duplicate). */
  readonly freshIds: ReadonlySet<string>;
  readonly rollups: StoredRollup[];
  readonly newUniqueValues: UniqueValueRow[];
}

/** Rows per (meter, customer, hour, group): one per concurrently writing connection. */
export const ROLLUP_SLOTS = 16;
const MAX_ATTEMPTS = 4;
/** The tenants table's own CHECK: nothing here can break out of a quoted literal. */
const TENANT_ID = /^ten_[A-Za-z0-9]{8,40}$/;
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

const CLAIM_AND_STORE = `
WITH input AS (
  SELECT e.id, e.c, e.n, e.t, e.p FROM json_to_recordset($2::json) AS e(id text, c text, n text, t bigint, p jsonb)
), fresh AS (
  INSERT INTO usage_event_keys (tenant_id, event_id, occurred_at)
  SELECT $1, id, 'epoch'::timestamptz + t * interval '1 millisecond' FROM input
  ON CONFLICT DO NOTHING
  RETURNING event_id
), stored AS (
  INSERT INTO usage_events (tenant_id, event_id, customer_id, event_name, occurred_at, properties)
  SELECT $1, input.id, input.c, input.n, 'epoch'::timestamptz + input.t * interval '1 millisecond', input.p
  FROM input JOIN fresh ON fresh.event_id = input.id
)
SELECT event_id FROM fresh`;

// latest keeps the value of the greatest (latest_at, latest_event_id); ids are printable ASCII and
// compared byte-wise, the same order as JS string comparison (domain/usage/rollup.ts isLater).
const UPSERT_ROLLUPS = `
INSERT INTO usage_rollups AS r (tenant_id, meter_id, customer_id, bucket_start, group_key, slot, event_count,
  value_sum, value_max, latest_at, latest_event_id, latest_value)
SELECT $1, d.m, d.c, 'epoch'::timestamptz + d.b * interval '1 millisecond', d.g, $2, d.n, d.s, d.x,
  'epoch'::timestamptz + d.la * interval '1 millisecond', d.le, d.lv
FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::bigint[], $8::numeric[], $9::numeric[],
            $10::bigint[], $11::text[], $12::numeric[]) AS d(m, c, b, g, n, s, x, la, le, lv)
ON CONFLICT (tenant_id, meter_id, customer_id, bucket_start, group_key, slot) DO UPDATE SET
  event_count = r.event_count + excluded.event_count,
  value_sum = CASE WHEN r.value_sum IS NULL THEN excluded.value_sum
                   WHEN excluded.value_sum IS NULL THEN r.value_sum
                   ELSE r.value_sum + excluded.value_sum END,
  value_max = greatest(r.value_max, excluded.value_max),
  latest_at = CASE WHEN later THEN excluded.latest_at ELSE r.latest_at END,
  latest_event_id = CASE WHEN later THEN excluded.latest_event_id ELSE r.latest_event_id END,
  latest_value = CASE WHEN later THEN excluded.latest_value ELSE r.latest_value END,
  version = r.version + 1,
  updated_at = now()
RETURNING meter_id, customer_id, (extract(epoch FROM bucket_start) * 1000)::bigint AS bucket_ms, group_key,
  slot, version, event_count, value_sum::text, value_max::text,
  (extract(epoch FROM latest_at) * 1000)::bigint AS latest_ms, latest_event_id, latest_value::text`.replaceAll(
  'later',
  `(excluded.latest_at IS NOT NULL AND (r.latest_at IS NULL OR (excluded.latest_at, excluded.latest_event_id COLLATE "C") > (r.latest_at, r.latest_event_id COLLATE "C")))`,
);

const INSERT_UNIQUE_VALUES = `
INSERT INTO usage_unique_values (tenant_id, meter_id, customer_id, bucket_start, group_key, value)
SELECT $1, d.m, d.c, 'epoch'::timestamptz + d.b * interval '1 millisecond', d.g, d.v
FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[]) AS d(m, c, b, g, v)
ON CONFLICT DO NOTHING
RETURNING meter_id, customer_id, (extract(epoch FROM bucket_start) * 1000)::bigint AS bucket_ms, group_key, value`;

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

async function upsertRollups(db: PoolClient, tenantId: string, slot: number, deltas: readonly RollupDelta[]) {
  if (deltas.length === 0) return [];
  const { rows } = await db.query<RollupRow>(UPSERT_ROLLUPS, [
    tenantId,
    slot,
    deltas.map((d) => d.meterId),
    deltas.map((d) => d.customerId),
    deltas.map((d) => d.bucketStartMs),
    deltas.map((d) => d.groupKey),
    deltas.map((d) => d.state.eventCount),
    deltas.map((d) => d.state.valueSum),
    deltas.map((d) => d.state.valueMax),
    deltas.map((d) => d.state.latest?.atMs ?? null),
    deltas.map((d) => d.state.latest?.eventId ?? null),
    deltas.map((d) => d.state.latest?.value ?? null),
  ]);
  return rows.map(storedRollupOf);
}

async function insertUniqueValues(db: PoolClient, tenantId: string, values: readonly UniqueValueRow[]) {
  if (values.length === 0) return [];
  const { rows } = await db.query<{
    meter_id: string;
    customer_id: string;
    bucket_ms: number;
    group_key: string;
    value: string;
  }>(INSERT_UNIQUE_VALUES, [
    tenantId,
    values.map((v) => v.meterId),
    values.map((v) => v.customerId),
    values.map((v) => v.bucketStartMs),
    values.map((v) => v.groupKey),
    values.map((v) => v.value),
  ]);
  return rows.map((row) => ({
    meterId: row.meter_id,
    customerId: row.customer_id,
    bucketStartMs: Number(row.bucket_ms),
    groupKey: row.group_key,
    value: row.value,
  }));
}

async function writeOnce(
  client: PoolClient,
  tenantId: string,
  events: readonly EventToStore[],
): Promise<BatchWriteResult> {
  // BEGIN and the tenant in one round trip (a simple query cannot take parameters, hence the check).
  if (!TENANT_ID.test(tenantId))
    throw new Error(`storeEventBatch: malformed tenant id ${JSON.stringify(tenantId)}`);
  await client.query(`BEGIN; SET LOCAL app.tenant_id = '${tenantId}'`);
  try {
    const payload = JSON.stringify(
      events.map((e) => ({ id: e.id, c: e.customerId, n: e.eventName, t: e.occurredAtMs, p: e.properties })),
    );
    const claimed = await client.query<{ event_id: string }>(CLAIM_AND_STORE, [tenantId, payload]);
    const freshIds = new Set(claimed.rows.map((row) => row.event_id));
    const { deltas, uniqueValues } = rollupDeltasOf(events.filter((e) => freshIds.has(e.id)));
    const rollups = await upsertRollups(client, tenantId, slotOf(client), deltas);
    const newUniqueValues = await insertUniqueValues(client, tenantId, uniqueValues);
    await client.query('COMMIT');
    return { freshIds, rollups, newUniqueValues };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
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
