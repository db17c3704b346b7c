// The usage module's one entry point for the API: ingestion, meters and usage reads, sharing the
// caches (meters, customer resolutions) and the Redis aggregate cache.

import type { Redis } from 'ioredis';
import type { Pool, PoolClient } from 'pg';
import { type Meter } from '../domain/usage/meter';
import { HOUR_MS } from '../domain/usage/rollup';
import { aggregateUsage, type UsageAggregate } from '../domain/usage/usage-query';
import { CustomerResolver } from './customer-resolver';
import { ingestEvents, type IngestDeps, type IngestReport } from './ingest';
import {
  ingestBody,
  touchedBy,
  type BodyShape,
  type IngestOutcome,
  type TouchedCustomers,
} from './ingest-body';
import { IngestThreads, type IngestThreadsOptions } from './ingest-threads';
import {
  findMeter,
  insertMeter,
  listMeterRows,
  MeterCache,
  type MeterRow,
  type NewMeter,
} from './meter-repository';
import { RecentEventIds, type RecentEventIdsOptions } from './recent-event-ids';
import { IngestRateLimiter, type IngestLimit } from './rate-limit';
import { AggregateCache, readHoursExact } from './redis-aggregates';
import { QuarantinedDeltasError, RollupCompactor } from './rollup-compactor';

export interface UsageOptions {
  readonly ingestLimit?: (tenantId: string) => IngestLimit;
  readonly meterCacheTtlMs?: number;
  readonly aggregateCompleteTtlMs?: number;
  /** How often the background compactor folds pending rollup deltas (DEFAULT_COMPACTION_INTERVAL_MS). */
  readonly compactionIntervalMs?: number;
  /**
   * `in-process` (the default): this service starts the background loop on its event loop at the
   * first ingest. `external`: another thread or process runs it (compaction-thread.ts; the API server
   * does); this service still folds on demand for exact reads.
   */
  readonly backgroundCompaction?: 'in-process' | 'external';
  /** Size of the memory of recently sent event ids (recent-event-ids.ts); by default 2 × 16 MiB. */
  readonly recentEventIds?: RecentEventIdsOptions;
  /**
   * Ingest request bodies on worker threads (ingest-threads.ts; the API server does). Without, they
   * are ingested on the caller's event loop. The threads read the wall clock, not `nowMs`.
   */
  readonly ingestThreads?: IngestThreadsOptions;
}

export interface UsageServiceDeps extends UsageOptions {
  readonly pool: Pool;
  readonly redis: Redis;
  readonly onCacheError: (error: unknown) => void;
  readonly nowMs?: () => number;
}

/**
 * A pass costs per touched rollup row, not per event: a longer interval folds more events into each
 * row write. 400 ms keeps an acknowledged event visible within a second (the lag column of
 * bench:ingest in BENCHMARKS.md); at 200 ms the passes ran back to back (ADR 0008 §24).
 */
export const DEFAULT_COMPACTION_INTERVAL_MS = 400;

/** The aggregate cache's lifetimes, shared with the compaction thread (compaction-loop.ts). */
export const AGGREGATE_CACHE_OPTIONS = { completeTtlMs: 10 * 60_000, keyTtlSeconds: 40 * 86_400 } as const;

/** Generous by default: the benchmark drives 200,000 events/s through one tenant. */
export const DEFAULT_INGEST_LIMIT: IngestLimit = { eventsPerSecond: 1_000_000, burstEvents: 2_000_000 };
/** Ranges longer than this are read from Postgres rollups directly (a year has 8,760 hours). */
const MAX_CACHED_RANGE_HOURS = 24 * 45;

/** Hears the customers (as sent) of each request's accepted events, by event name. */
export type IngestListener = (tenantId: string, touched: TouchedCustomers) => void;

/**
 * `strong` (the default): pending rollup deltas of the tenant are folded (and published) before the
 * read, so every event acknowledged before the request is counted. `eventual`: the cache as it is,
 * which includes an acknowledged event within the compaction interval plus the publish (< 1 s).
 */
export type UsageConsistency = 'strong' | 'eventual';

export type MeterUsage = UsageAggregate & {
  readonly source: 'cache' | 'postgres';
  readonly rebuiltHours: number;
};

export class UsageService {
  private readonly meters: MeterCache;
  private readonly customers: CustomerResolver;
  private readonly aggregates: AggregateCache;
  private readonly compactor: RollupCompactor;
  private readonly limiter: IngestRateLimiter;
  private readonly recentIds: RecentEventIds;
  private readonly threads: IngestThreads | undefined;
  private readonly ingestDeps: IngestDeps;
  private readonly nowMs: () => number;
  private readonly acceptedListeners: IngestListener[] = [];

  constructor(private readonly deps: UsageServiceDeps) {
    this.nowMs = deps.nowMs ?? Date.now;
    this.meters = new MeterCache(deps.pool, deps.meterCacheTtlMs ?? 1_000, this.nowMs);
    this.customers = new CustomerResolver(deps.pool, 100_000);
    this.aggregates = new AggregateCache(deps.redis, deps.pool, {
      ...AGGREGATE_CACHE_OPTIONS,
      ...(deps.aggregateCompleteTtlMs === undefined ? {} : { completeTtlMs: deps.aggregateCompleteTtlMs }),
      nowMs: this.nowMs,
    });
    this.compactor = new RollupCompactor(deps.pool, this.aggregates, {
      intervalMs: deps.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS,
      onError: deps.onCacheError,
    });
    this.recentIds = new RecentEventIds(deps.recentEventIds);
    this.limiter = new IngestRateLimiter(
      deps.redis,
      deps.ingestLimit ?? (() => DEFAULT_INGEST_LIMIT),
      deps.onCacheError,
    );
    this.ingestDeps = {
      pool: deps.pool,
      customers: this.customers,
      metersOf: (tenant) => this.meters.metersOf(tenant),
      recentIds: this.recentIds,
    };
    this.threads =
      deps.ingestThreads === undefined
        ? undefined
        : new IngestThreads(
            deps.ingestThreads,
            { recentIds: this.recentIds.memory, meterCacheTtlMs: deps.meterCacheTtlMs ?? 1_000 },
            deps.onCacheError,
          );
  }

  /**
   * `listener` hears of every ingest that stored events (see IngestListener), synchronously after the
   * durable write: it must only queue work (ThresholdWatcher).
   */
  onAccepted(listener: IngestListener): void {
    this.acceptedListeners.push(listener);
  }

  /**
   * One ingestion request, from its raw JSON body (an HTTP route's): parsed, shape-checked,
   * rate-limited and ingested, on an ingest thread when there are any (ingest-body.ts).
   */
  async ingestBody(tenantId: string, body: Uint8Array, shape: BodyShape): Promise<IngestOutcome> {
    this.startCompactor();
    const takeTokens = (events: number) => this.limiter.take(tenantId, events);
    const outcome =
      this.threads === undefined
        ? await ingestBody(this.ingestDeps, tenantId, body, shape, takeTokens, this.nowMs)
        : await this.threads.ingest(tenantId, body, shape, takeTokens);
    if (outcome.kind === 'ingested') this.announce(tenantId, outcome.touched);
    return outcome;
  }

  /** Ingests events already parsed (jobs, benchmarks, tests), on this event loop; no rate limit. */
  async ingest(tenantId: string, events: readonly unknown[]): Promise<IngestReport> {
    this.startCompactor();
    const report = await ingestEvents(this.ingestDeps, tenantId, events, this.nowMs());
    if (report.accepted.length > 0) this.announce(tenantId, touchedBy(events, report.accepted));
    return report;
  }

  /** Stops the ingest threads (after the requests they have in flight) and the background compactor. */
  async stop(): Promise<void> {
    await this.threads?.stop();
    await this.compactor.stop();
  }

  private startCompactor(): void {
    // The process that ingests folds the deltas it (and anyone else) wrote; several processes share
    // the work through the per-tenant compaction lock.
    if (this.deps.backgroundCompaction !== 'external') this.compactor.start();
  }

  private announce(tenantId: string, touched: TouchedCustomers): void {
    if (touched.length === 0) return;
    for (const listener of this.acceptedListeners) {
      try {
        listener(tenantId, touched);
      } catch (error) {
        this.deps.onCacheError(error);
      }
    }
  }

  /**
   * One of the tenant's meters, from the meter cache (meters are immutable); a miss reloads once, for
   * a meter created a moment ago through another API process.
   */
  async meter(tenantId: string, meterId: string): Promise<Meter | undefined> {
    const cached = (await this.meters.metersOf(tenantId)).find((meter) => meter.id === meterId);
    if (cached !== undefined) return cached;
    this.meters.invalidate(tenantId);
    return (await this.meters.metersOf(tenantId)).find((meter) => meter.id === meterId);
  }

  async createMeter(db: PoolClient, tenantId: string, meter: NewMeter): Promise<MeterRow> {
    const row = await insertMeter(db, tenantId, meter);
    this.meters.invalidate(tenantId);
    this.threads?.invalidateMeters(tenantId);
    return row;
  }

  findMeter = findMeter;
  listMeters = listMeterRows;

  /** Resolves a `customer` query value like an event's `customer` field. */
  async resolveCustomer(tenantId: string, ref: string): Promise<string | undefined> {
    return (await this.customers.resolve(tenantId, new Set([ref]))).get(ref);
  }

  /** Folds the tenant's pending rollup deltas now and publishes them (waits for a fold elsewhere). */
  compactRollups(tenantId: string): Promise<void> {
    return this.compactor.compactTenant(tenantId, { wait: true });
  }

  /** The meter's usage for one customer over whole hours [fromMs, toMs). */
  async usage(
    tenantId: string,
    meter: Meter,
    customerId: string,
    range: { fromMs: number; toMs: number },
    dimensions: readonly string[],
    consistency: UsageConsistency = 'strong',
  ): Promise<MeterUsage> {
    const hours = (range.toMs - range.fromMs) / HOUR_MS;
    if (hours <= MAX_CACHED_RANGE_HOURS) {
      if (consistency === 'strong') {
        try {
          await this.compactor.compactTenant(tenantId, { wait: true });
        } catch (error) {
          // Without the fold the cache may lag: answer exactly from Postgres (which folds) instead.
          this.deps.onCacheError(error);
          return this.usageFromPostgres(tenantId, meter, customerId, range, dimensions);
        }
      }
      try {
        const cached = await this.aggregates.read(tenantId, meter.id, customerId, range.fromMs, range.toMs);
        return {
          ...aggregateUsage(meter, cached.states, cached.distinctValues, dimensions),
          source: 'cache',
          rebuiltHours: cached.rebuiltHours,
        };
      } catch (error) {
        this.deps.onCacheError(error);
      }
    }
    return this.usageFromPostgres(tenantId, meter, customerId, range, dimensions);
  }

  private async usageFromPostgres(
    tenantId: string,
    meter: Meter,
    customerId: string,
    range: { fromMs: number; toMs: number },
    dimensions: readonly string[],
  ): Promise<MeterUsage> {
    const hourList: number[] = [];
    for (let h = range.fromMs; h < range.toMs; h += HOUR_MS) hourList.push(h);
    const { hours: rows, compaction } = await readHoursExact(
      this.deps.pool,
      tenantId,
      meter.id,
      customerId,
      hourList,
    );
    if (compaction !== null && compaction.quarantined.length > 0)
      this.deps.onCacheError(new QuarantinedDeltasError(tenantId, compaction.quarantined));
    if (compaction !== null && (compaction.rollups.length > 0 || compaction.uniqueValues.length > 0))
      await this.aggregates
        .publish(tenantId, compaction.rollups, compaction.uniqueValues)
        .catch(this.deps.onCacheError);
    const states = [...rows.values()].flatMap((hour) => [...hour.slots.values()]);
    const distinct = [...rows.values()].flatMap((hour) => hour.distinct);
    return { ...aggregateUsage(meter, states, distinct, dimensions), source: 'postgres', rebuiltHours: 0 };
  }
}
