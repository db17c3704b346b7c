// Real-time aggregates in Redis: a cache of the Postgres rollups that can be flushed at any moment.
//
// One hash per (tenant, meter, customer, hour) mirrors that hour's rollup rows:
//   s␟{slot}␟{group}   → "{version}|{count}|{sum}|{max}|{latestMs}|{latestValue}|{latestEventId}"
//   u␟{group}␟{value}  → "1"   (unique_count: one field per distinct value)
//   _c                 → until when (epoch ms) the hash is known to hold every slot row
// The rollup compactor (rollup-compactor.ts) sends the *cumulative* state of each slot row it just
// committed, with the row's version, and a field is replaced only by a higher version. Slot states are therefore last-writer-wins
// registers ordered by Postgres itself: a write that arrives late, twice, or after a rebuild cannot
// double-count or go backwards, so no increment is ever replayed or lost against a rebuild.
// A hash becomes trusted (`_c`) only through a rebuild from Postgres, done by a script that first checks
// the epoch key: a FLUSHALL between the rebuild's Postgres read and its write removes the epoch, and
// the rebuild is retried rather than marking a hash complete that misses commits wiped by the flush.
// `_c` expires (completeTtlMs), bounding how long a lost post-commit write can hide a new slot row.
// Rollups now trail ingestion by the pending deltas: a rebuild folds them first (same transaction as
// its read), so a rebuilt hour includes every committed event.

import { randomBytes } from 'node:crypto';
import type { Redis, Result } from 'ioredis';
import type { Pool } from 'pg';
import { withTenant } from '../db/with-tenant';
import type { GroupedState, GroupedValue } from '../domain/usage/usage-query';
import { HOUR_MS, type RollupState, type UniqueValueRow } from '../domain/usage/rollup';
import { storedRollupOf, type RollupRow, type StoredRollup } from './event-store';
import { foldPendingRollups, type CompactionResult } from './rollup-compactor';

const SEP = '\x1f';
const EPOCH_KEY = 'usage:epoch';
const COMPLETE_FIELD = '_c';
/** Hashes per merge call: bounds how long one script holds Redis (~1 ms). */
const PUBLISH_CHUNK = 500;

// KEYS: the hashes. ARGV: ttlSeconds, then per hash: n, m, n × (field, state), m unique-value fields.
// One call per publish (a pass of the compactor touches thousands of hashes): a field is replaced only
// by a higher version.
const MERGE_SCRIPT = `
local ttl = ARGV[1]
local i = 2
for k = 1, #KEYS do
  local key = KEYS[k]
  local n, m = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  i = i + 2
  for _ = 1, n do
    local field, state = ARGV[i], ARGV[i + 1]
    i = i + 2
    local current = redis.call('HGET', key, field)
    if (not current) or tonumber(string.match(current, '^%d+')) < tonumber(string.match(state, '^%d+')) then
      redis.call('HSET', key, field, state)
    end
  end
  for _ = 1, m do
    redis.call('HSET', key, ARGV[i], '1')
    i = i + 1
  end
  redis.call('EXPIRE', key, ttl)
end
return #KEYS`;

// KEYS[1] hash, KEYS[2] epoch. ARGV: epoch, ttlSeconds, completeUntilMs, n, n × (field, state), unique fields.
const REBUILD_SCRIPT = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local key = KEYS[1]
local n = tonumber(ARGV[4])
local i = 5
for _ = 1, n do
  local field, state = ARGV[i], ARGV[i + 1]
  i = i + 2
  local current = redis.call('HGET', key, field)
  if (not current) or tonumber(string.match(current, '^%d+')) < tonumber(string.match(state, '^%d+')) then
    redis.call('HSET', key, field, state)
  end
end
for j = i, #ARGV do redis.call('HSET', key, ARGV[j], '1') end
redis.call('HSET', key, '${COMPLETE_FIELD}', ARGV[3])
redis.call('EXPIRE', key, ARGV[2])
return 1`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    usageMerge(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Result<number, Context>;
    usageRebuild(key: string, epochKey: string, ...args: Array<string | number>): Result<number, Context>;
  }
}

export function hourKey(
  tenantId: string,
  meterId: string,
  customerId: string,
  bucketStartMs: number,
): string {
  return `usage:${tenantId}:${meterId}:${customerId}:${bucketStartMs}`;
}

const slotField = (slot: number, groupKey: string) => `s${SEP}${slot}${SEP}${groupKey}`;
const uniqueField = (groupKey: string, value: string) => `u${SEP}${groupKey}${SEP}${value}`;

export function encodeSlotState(version: number, state: RollupState): string {
  const latest = state.latest;
  return [
    version,
    state.eventCount,
    state.valueSum ?? '',
    state.valueMax ?? '',
    latest?.atMs ?? '',
    latest?.value ?? '',
    latest?.eventId ?? '',
  ].join('|');
}

export function decodeSlotState(encoded: string): { version: number; state: RollupState } {
  const parts = encoded.split('|');
  // The event id is last and may itself contain '|'.
  const [version = '0', count = '0', sum = '', max = '', latestMs = '', latestValue = ''] = parts;
  const latestId = parts.slice(6).join('|');
  return {
    version: Number(version),
    state: {
      eventCount: Number(count),
      valueSum: sum === '' ? null : sum,
      valueMax: max === '' ? null : max,
      latest: latestMs === '' ? null : { atMs: Number(latestMs), value: latestValue, eventId: latestId },
    },
  };
}

interface HourContents {
  /** slot field → (version, state) */
  readonly slots: Map<string, { version: number; groupKey: string; state: RollupState }>;
  readonly distinct: GroupedValue[];
}

const emptyHour = (): HourContents => ({ slots: new Map(), distinct: [] });

function parseHash(hash: Record<string, string>): HourContents {
  const slots: HourContents['slots'] = new Map();
  const distinct: GroupedValue[] = [];
  for (const field in hash) {
    const value = hash[field] ?? '';
    if (field.startsWith(`s${SEP}`)) {
      const groupStart = field.indexOf(SEP, 2);
      const decoded = decodeSlotState(value);
      slots.set(field, { ...decoded, groupKey: field.slice(groupStart + 1) });
    } else if (field.startsWith(`u${SEP}`)) {
      const valueStart = field.indexOf(SEP, 2);
      distinct.push({ groupKey: field.slice(2, valueStart), value: field.slice(valueStart + 1) });
    }
  }
  return { slots, distinct };
}

export interface AggregateCacheOptions {
  /** How long a rebuilt hour is trusted before it is re-checked against Postgres. */
  readonly completeTtlMs: number;
  /** Idle hours disappear from Redis after this; a later read rebuilds them. */
  readonly keyTtlSeconds: number;
  readonly nowMs: () => number;
}

export interface CachedUsage {
  readonly states: GroupedState[];
  readonly distinctValues: GroupedValue[];
  /** Hours read from Postgres because Redis did not (or no longer) had them whole. */
  readonly rebuiltHours: number;
}

export class AggregateCache {
  constructor(
    private readonly redis: Redis,
    private readonly pool: Pool,
    private readonly options: AggregateCacheOptions,
  ) {
    redis.defineCommand('usageMerge', { lua: MERGE_SCRIPT });
    redis.defineCommand('usageRebuild', { numberOfKeys: 2, lua: REBUILD_SCRIPT });
  }

  /** After COMMIT: publish the committed slot states and new distinct values, one pipeline. */
  async publish(
    tenantId: string,
    rollups: readonly StoredRollup[],
    uniqueValues: readonly UniqueValueRow[],
  ): Promise<void> {
    const perHour = new Map<string, { pairs: string[]; unique: string[] }>();
    const entry = (meterId: string, customerId: string, bucketStartMs: number) => {
      const key = hourKey(tenantId, meterId, customerId, bucketStartMs);
      let found = perHour.get(key);
      if (!found) {
        found = { pairs: [], unique: [] };
        perHour.set(key, found);
      }
      return found;
    };
    for (const r of rollups) {
      entry(r.meterId, r.customerId, r.bucketStartMs).pairs.push(
        slotField(r.slot, r.groupKey),
        encodeSlotState(r.version, r.state),
      );
    }
    for (const u of uniqueValues)
      entry(u.meterId, u.customerId, u.bucketStartMs).unique.push(uniqueField(u.groupKey, u.value));
    if (perHour.size === 0) return;
    const entries = [...perHour];
    const calls: Array<Promise<number>> = [];
    for (let start = 0; start < entries.length; start += PUBLISH_CHUNK) {
      const chunk = entries.slice(start, start + PUBLISH_CHUNK);
      const args: Array<string | number> = chunk.map(([key]) => key);
      args.push(this.options.keyTtlSeconds);
      for (const [, { pairs, unique }] of chunk)
        args.push(pairs.length / 2, unique.length, ...pairs, ...unique);
      calls.push(this.redis.usageMerge(chunk.length, ...args));
    }
    await Promise.all(calls);
  }

  /** The (hour, slot, group) states and distinct values of [fromMs, toMs), whole hours. */
  async read(
    tenantId: string,
    meterId: string,
    customerId: string,
    fromMs: number,
    toMs: number,
  ): Promise<CachedUsage> {
    const hours: number[] = [];
    for (let h = fromMs; h < toMs; h += HOUR_MS) hours.push(h);
    const keys = hours.map((h) => hourKey(tenantId, meterId, customerId, h));
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hgetall(key);
    const replies = (await pipeline.exec()) ?? [];
    const contents = new Map<number, HourContents>();
    const missing: number[] = [];
    const nowMs = this.options.nowMs();
    hours.forEach((hour, index) => {
      const [error, hash] = replies[index] ?? [null, {}];
      const fields = (error ? {} : hash) as Record<string, string>;
      const completeUntil = Number(fields[COMPLETE_FIELD] ?? 0);
      if (completeUntil > nowMs) contents.set(hour, parseHash(fields));
      else missing.push(hour);
    });
    if (missing.length > 0) {
      for (const [hour, rebuilt] of await this.rebuild(tenantId, meterId, customerId, missing))
        contents.set(hour, rebuilt);
    }
    const states: GroupedState[] = [];
    const distinctValues: GroupedValue[] = [];
    for (const hour of contents.values()) {
      for (const slot of hour.slots.values()) states.push({ groupKey: slot.groupKey, state: slot.state });
      distinctValues.push(...hour.distinct);
    }
    return { states, distinctValues, rebuiltHours: missing.length };
  }

  /**
   * Loads the hours from Postgres, merges them into Redis under the epoch check and marks them
   * complete; answers from the merge of both (the higher version of every slot wins).
   */
  private async rebuild(tenantId: string, meterId: string, customerId: string, hours: readonly number[]) {
    // The epoch is read before Postgres: a FLUSHALL after this point makes the rebuild script refuse.
    const epoch = await this.currentEpoch();
    // Pending deltas are folded first, in the same transaction as the read, so the rows read are exact;
    // the fold's touched rows (other hours, customers, meters too) are published like any compaction.
    const { hours: fromPostgres, compaction } = await readHoursExact(
      this.pool,
      tenantId,
      meterId,
      customerId,
      hours,
    );
    if (compaction !== null && (compaction.rollups.length > 0 || compaction.uniqueValues.length > 0))
      await this.publish(tenantId, compaction.rollups, compaction.uniqueValues);
    const completeUntilMs = this.options.nowMs() + this.options.completeTtlMs;
    const pipeline = this.redis.pipeline();
    for (const hour of hours) {
      const content = fromPostgres.get(hour) ?? emptyHour();
      const pairs: string[] = [];
      for (const [field, slot] of content.slots) pairs.push(field, encodeSlotState(slot.version, slot.state));
      const unique = content.distinct.map((d) => uniqueField(d.groupKey, d.value));
      pipeline.usageRebuild(
        hourKey(tenantId, meterId, customerId, hour),
        EPOCH_KEY,
        epoch,
        this.options.keyTtlSeconds,
        completeUntilMs,
        pairs.length / 2,
        ...pairs,
        ...unique,
      );
      pipeline.hgetall(hourKey(tenantId, meterId, customerId, hour));
    }
    const replies = (await pipeline.exec()) ?? [];
    const result = new Map<number, HourContents>();
    hours.forEach((hour, index) => {
      const [, hash] = replies[index * 2 + 1] ?? [null, {}];
      const cached = parseHash((hash ?? {}) as Record<string, string>);
      // The Postgres rows are authoritative as of their snapshot; Redis may hold newer versions.
      const pg = fromPostgres.get(hour) ?? emptyHour();
      const slots = new Map(pg.slots);
      for (const [field, slot] of cached.slots) {
        const known = slots.get(field);
        if (!known || known.version < slot.version) slots.set(field, slot);
      }
      const distinct = new Map(pg.distinct.map((d) => [`${d.groupKey}${SEP}${d.value}`, d]));
      for (const d of cached.distinct) distinct.set(`${d.groupKey}${SEP}${d.value}`, d);
      result.set(hour, { slots, distinct: [...distinct.values()] });
    });
    return result;
  }

  private async currentEpoch(): Promise<string> {
    const existing = await this.redis.get(EPOCH_KEY);
    if (existing !== null) return existing;
    await this.redis.set(EPOCH_KEY, randomBytes(12).toString('hex'), 'NX');
    return (await this.redis.get(EPOCH_KEY)) ?? '';
  }
}

/**
 * The authoritative rows of some hours of one meter and customer, grouped like the Redis hashes, after
 * folding the tenant's pending rollup deltas in the same transaction (so they include every committed
 * event). The fold's result is returned for the caller to publish after COMMIT.
 */
export async function readHoursExact(
  pool: Pool,
  tenantId: string,
  meterId: string,
  customerId: string,
  hours: readonly number[],
): Promise<{ hours: Map<number, HourContents>; compaction: CompactionResult | null }> {
  let compaction: CompactionResult | null = null;
  const result = new Map<number, HourContents>();
  const at = (hour: number): HourContents => {
    let found = result.get(hour);
    if (!found) {
      found = emptyHour();
      result.set(hour, found);
    }
    return found;
  };
  await withTenant(pool, tenantId, async (db) => {
    compaction = await foldPendingRollups(db, tenantId, { wait: true });
    const buckets = `ANY (SELECT 'epoch'::timestamptz + b * interval '1 millisecond' FROM unnest($3::bigint[]) AS b)`;
    const rollups = await db.query<RollupRow>(
      `SELECT meter_id, customer_id, (extract(epoch FROM bucket_start) * 1000)::bigint AS bucket_ms, group_key, slot,
              version, event_count, value_sum::text, value_max::text,
              (extract(epoch FROM latest_at) * 1000)::bigint AS latest_ms, latest_event_id, latest_value::text
         FROM usage_rollups WHERE meter_id = $1 AND customer_id = $2 AND bucket_start = ${buckets}`,
      [meterId, customerId, hours],
    );
    for (const row of rollups.rows) {
      const stored = storedRollupOf(row);
      at(stored.bucketStartMs).slots.set(slotField(stored.slot, stored.groupKey), {
        version: stored.version,
        groupKey: stored.groupKey,
        state: stored.state,
      });
    }
    const values = await db.query<{ bucket_ms: number; group_key: string; value: string }>(
      `SELECT (extract(epoch FROM bucket_start) * 1000)::bigint AS bucket_ms, group_key, value
         FROM usage_unique_values WHERE meter_id = $1 AND customer_id = $2 AND bucket_start = ${buckets}`,
      [meterId, customerId, hours],
    );
    for (const row of values.rows)
      at(Number(row.bucket_ms)).distinct.push({ groupKey: row.group_key, value: row.value });
  });
  return { hours: result, compaction };
}
