// Monthly partitions of usage_events are created ahead of time by this maintenance step (at API start
// and, in production, from a daily schedule). Missing them is never an outage: rows without a monthly
// partition land in the DEFAULT partition and are moved out when their month is created.

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
