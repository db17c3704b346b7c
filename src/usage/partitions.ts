// Monthly partitions of usage_event_segments (by ingestion time) are created ahead of time by this
// maintenance step: at the start of every compaction loop (each API process runs one, see
// compaction-loop.ts) and every few hours after. Missing them is never an outage: rows without a
// monthly partition land in the DEFAULT partition and are moved out when their month is created; but
// that move rewrites them under a lock, so the months are made well before they begin.

import type { Pool } from 'pg';

/** Ensures partitions from the month before `nowMs` through `monthsAhead` months after it. */
export async function ensureEventPartitions(pool: Pool, nowMs: number, monthsAhead = 3): Promise<number> {
  const from = new Date(nowMs);
  from.setUTCDate(1);
  from.setUTCMonth(from.getUTCMonth() - 1);
  const { rows } = await pool.query<{ created: number }>(
    'SELECT usage_ensure_event_partitions($1::timestamptz, $2) AS created',
    [from.toISOString(), monthsAhead + 2],
  );
  return rows[0]?.created ?? 0;
}

/** Often enough that a process restarted daily, or one running for months, never misses a month. */
export const PARTITION_MAINTENANCE_MS = 6 * 60 * 60 * 1000;

export interface PartitionMaintenanceOptions {
  readonly everyMs?: number;
  readonly nowMs?: () => number;
  readonly onError: (error: unknown) => void;
}

export interface PartitionMaintenance {
  /** Stops the schedule and waits for a run in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `ensureEventPartitions` now and then every `everyMs`, never two at once. Several processes
 * may run it: the SQL function serializes them with an advisory lock and skips months that exist.
 */
export function startPartitionMaintenance(
  pool: Pool,
  options: PartitionMaintenanceOptions,
): PartitionMaintenance {
  const everyMs = options.everyMs ?? PARTITION_MAINTENANCE_MS;
  const nowMs = options.nowMs ?? Date.now;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    running = ensureEventPartitions(pool, nowMs())
      .then(() => undefined)
      .catch(options.onError)
      .finally(() => {
        if (stopped) return;
        timer = setTimeout(run, everyMs);
        timer.unref();
      });
  };
  run();
  return {
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
