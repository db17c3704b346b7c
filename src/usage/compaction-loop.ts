// The background compaction loop with its own connections: what the compaction thread runs
// (compaction-thread-main.ts), callable in-process too (tests). It also keeps the monthly event
// partitions ahead of time (partitions.ts).

import { Redis } from 'ioredis';
import { createPool } from '../db/pool';
import { startPartitionMaintenance } from './partitions';
import { AggregateCache } from './redis-aggregates';
import { RollupCompactor } from './rollup-compactor';
import { AGGREGATE_CACHE_OPTIONS } from './usage-service';

export interface CompactionLoopConfig {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly intervalMs: number;
  /** How often the monthly event partitions are ensured (partitions.ts); default every 6 hours. */
  readonly partitionMaintenanceMs?: number;
}

export interface CompactionLoop {
  stop(): Promise<void>;
}

export function runCompactionLoop(
  config: CompactionLoopConfig,
  onError: (error: unknown) => void,
): CompactionLoop {
  // One connection folds; the second deletes published queue entries while the next pass runs.
  const pool = createPool(config.databaseUrl, { max: 2 });
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2 });
  const aggregates = new AggregateCache(redis, pool, { ...AGGREGATE_CACHE_OPTIONS, nowMs: Date.now });
  const compactor = new RollupCompactor(pool, aggregates, { intervalMs: config.intervalMs, onError });
  compactor.start();
  const partitions = startPartitionMaintenance(pool, {
    ...(config.partitionMaintenanceMs === undefined ? {} : { everyMs: config.partitionMaintenanceMs }),
    onError,
  });
  return {
    stop: async () => {
      await Promise.all([compactor.stop(), partitions.stop()]);
      await Promise.allSettled([pool.end(), redis.quit()]);
    },
  };
}
