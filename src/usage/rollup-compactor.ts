// The rollup compactor: folds the pending per-batch deltas (usage_rollup_deltas, one row per committed
// ingest batch) into usage_rollups, then publishes the touched rows' cumulative state and version to the
// version-ordered Redis cache (redis-aggregates.ts). Migration 0007 and ADR 0008 ("Ingestion redesign").
//
// Exactly once: a delta's DELETE and the rollup upsert it feeds commit together (usage_fold_rollup_deltas),
// so a delta is folded exactly once whatever crashes. One writer per tenant at a time: the fold runs
// under the tenant's transaction-scoped advisory lock (the background loop skips a tenant someone else is
// compacting; an exact reader waits for it), so rollup rows see no lock contention and use slot 0.
// Redis stays a cache: a lost publish is repaired by a rebuild (which compacts first, then reads rows).

import type { Pool, PoolClient } from 'pg';
import { withTenant } from '../db/with-tenant';
import type { UniqueValueRow } from '../domain/usage/rollup';
import { storedRollupOf, type RollupRow, type StoredRollup } from './event-store';

/** Deltas folded per statement (a delta is one batch, i.e. up to ~1,000 contributions). */
const FOLD_LIMIT = 200;
const FOLD = 'SELECT folded, rollups, unique_values FROM usage_fold_rollup_deltas($1)';
const LOCK_KEY = "hashtext('ledgerline:usage_rollup_compaction')";

export interface CompactionResult {
  /** Deltas folded (batches). */
  readonly folded: number;
  /** The touched rollup rows after the fold (cumulative state + version), one per row. */
  readonly rollups: StoredRollup[];
  /** Values new to their hour (unique_count). */
  readonly uniqueValues: UniqueValueRow[];
}

interface UniqueValueJson {
  meter_id: string;
  customer_id: string;
  bucket_ms: number;
  group_key: string;
  value: string;
}

const rowKey = (r: StoredRollup) =>
  `${r.meterId}\x1f${r.customerId}\x1f${r.bucketStartMs}\x1f${r.slot}\x1f${r.groupKey}`;

/**
 * Folds the tenant's pending deltas in `db`'s transaction (the caller's `withTenant`), waiting for a
 * compaction of the same tenant in progress elsewhere. Without `wait`, returns null at once if another
 * transaction is compacting the tenant. The result is what the caller publishes after COMMIT.
 */
export async function foldPendingRollups(
  db: PoolClient,
  tenantId: string,
  options: { wait: boolean } = { wait: true },
): Promise<CompactionResult | null> {
  if (options.wait) {
    await db.query(`SELECT pg_advisory_xact_lock(${LOCK_KEY}, hashtext($1))`, [tenantId]);
  } else {
    const { rows } = await db.query<{ ok: boolean }>(
      `SELECT pg_try_advisory_xact_lock(${LOCK_KEY}, hashtext($1)) AS ok`,
      [tenantId],
    );
    if (rows[0]?.ok !== true) return null;
  }
  const rollups = new Map<string, StoredRollup>();
  const uniqueValues: UniqueValueRow[] = [];
  let folded = 0;
  for (;;) {
    const { rows } = await db.query<{
      folded: number;
      rollups: RollupRow[] | null;
      unique_values: UniqueValueJson[] | null;
    }>(FOLD, [FOLD_LIMIT]);
    const row = rows[0];
    const n = row?.folded ?? 0;
    folded += n;
    for (const raw of row?.rollups ?? []) {
      const stored = storedRollupOf(raw);
      rollups.set(rowKey(stored), stored); // a later fold of the same row has the higher version
    }
    for (const v of row?.unique_values ?? []) {
      uniqueValues.push({
        meterId: v.meter_id,
        customerId: v.customer_id,
        bucketStartMs: Number(v.bucket_ms),
        groupKey: v.group_key,
        value: v.value,
      });
    }
    if (n < FOLD_LIMIT) break;
  }
  return { folded, rollups: [...rollups.values()], uniqueValues };
}

/**
 * For readers that must be exact (usage billing): folds the tenant's pending deltas inside the caller's
 * transaction, so the `usage_rollups` it reads next include every committed event. The folded state is
 * queued (usage_rollup_publications, same transaction) for the background compactor to publish to Redis
 * after this transaction commits; if it rolls back, the fold and the queue entry vanish together.
 */
export async function compactPendingRollups(db: PoolClient, tenantId: string): Promise<CompactionResult> {
  const result = (await foldPendingRollups(db, tenantId, { wait: true })) as CompactionResult;
  if (result.rollups.length > 0 || result.uniqueValues.length > 0) {
    await db.query(
      'INSERT INTO usage_rollup_publications (tenant_id, rollups, unique_values) VALUES ($1, $2, $3)',
      [tenantId, JSON.stringify(result.rollups), JSON.stringify(result.uniqueValues)],
    );
  }
  return result;
}

export interface RollupPublisher {
  publish(
    tenantId: string,
    rollups: readonly StoredRollup[],
    uniqueValues: readonly UniqueValueRow[],
  ): Promise<void>;
}

export interface RollupCompactorOptions {
  readonly intervalMs: number;
  readonly onError: (error: unknown) => void;
}

/**
 * The background loop (every `intervalMs`, started lazily by the usage service on the first ingest) and
 * the on-demand compaction of one tenant (exact reads, Redis rebuilds). One per process; several
 * processes share the work through the per-tenant advisory lock.
 */
export class RollupCompactor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Publishes after COMMIT still in flight, per tenant: an exact reader waits for them. */
  private readonly publishing = new Map<string, Set<Promise<void>>>();

  constructor(
    private readonly pool: Pool,
    private readonly publisher: RollupPublisher,
    private readonly options: RollupCompactorOptions,
  ) {}

  /**
   * Starts the background loop (idempotent): a pass every `intervalMs`, or right after the previous
   * one when that took longer (passes never overlap).
   */
  start(): void {
    if (this.timer !== undefined || this.stopped) return;
    const schedule = (delayMs: number) => {
      this.timer = setTimeout(() => {
        const started = performance.now();
        void this.runOnce().then(() => {
          if (!this.stopped) schedule(Math.max(0, this.options.intervalMs - (performance.now() - started)));
        });
      }, delayMs);
      this.timer.unref();
    };
    schedule(this.options.intervalMs);
  }

  /** Stops the loop and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.settled(undefined);
  }

  /** One pass over every tenant with pending deltas (skipping tenants compacted elsewhere right now). */
  runOnce(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        const { rows } = await this.pool.query<{ tenant_id: string }>(
          'SELECT usage_pending_rollup_tenants() AS tenant_id',
        );
        for (const { tenant_id: tenantId } of rows) {
          if (this.stopped) break;
          try {
            await this.compactTenant(tenantId, { wait: false });
          } catch (error) {
            this.options.onError(error);
          }
        }
      } catch (error) {
        this.options.onError(error);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /**
   * Folds the tenant's pending deltas (and takes its queued publications) in one transaction, then
   * publishes the result. With `wait`, also waits for this process's publishes of the tenant still in
   * flight, so that when it resolves every event committed before the call is in Redis (unless a
   * publish failed: then the cache heals by rebuild / `_c` expiry, as before).
   */
  async compactTenant(tenantId: string, options: { wait: boolean } = { wait: true }): Promise<void> {
    const result = await withTenant(this.pool, tenantId, async (db) => {
      const folded = await foldPendingRollups(db, tenantId, options);
      if (folded === null) return null;
      const queued = await db.query<{
        rollups: StoredRollup[] | null;
        unique_values: UniqueValueRow[] | null;
      }>('DELETE FROM usage_rollup_publications RETURNING rollups, unique_values');
      const rollups = [...folded.rollups];
      const uniqueValues = [...folded.uniqueValues];
      for (const row of queued.rows) {
        rollups.push(...(row.rollups ?? []));
        uniqueValues.push(...(row.unique_values ?? []));
      }
      return { rollups, uniqueValues };
    });
    if (result !== null && (result.rollups.length > 0 || result.uniqueValues.length > 0)) {
      const publish = this.publisher
        .publish(tenantId, result.rollups, result.uniqueValues)
        .catch(this.options.onError);
      this.track(tenantId, publish);
    }
    if (options.wait) await this.settled(tenantId);
  }

  private track(tenantId: string, publish: Promise<void>): void {
    let set = this.publishing.get(tenantId);
    if (set === undefined) {
      set = new Set();
      this.publishing.set(tenantId, set);
    }
    set.add(publish);
    void publish.finally(() => {
      set.delete(publish);
      if (set.size === 0 && this.publishing.get(tenantId) === set) this.publishing.delete(tenantId);
    });
  }

  /** Resolves when the tracked publishes (of one tenant, or all) have finished. */
  private async settled(tenantId: string | undefined): Promise<void> {
    const sets = tenantId === undefined ? [...this.publishing.values()] : [this.publishing.get(tenantId)];
    await Promise.all(sets.flatMap((set) => [...(set ?? [])]));
  }
}
