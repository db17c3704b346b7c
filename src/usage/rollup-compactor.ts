// The rollup compactor: folds the pending per-batch deltas (usage_rollup_deltas, one row per committed
// ingest batch) into usage_rollups, then publishes the touched rows' cumulative state and version to the
// version-ordered Redis cache (redis-aggregates.ts). Migration 0007 and ADR 0008 ("Ingestion redesign").
//
// Exactly once: a delta's DELETE … RETURNING and the rollup upsert it feeds commit together (one
// transaction; the sum of the deltas is taken in JS, rollup-delta.ts), so a delta is folded exactly once
// whatever crashes. One writer per tenant at a time: the fold runs
// under the tenant's transaction-scoped advisory lock (the background loop skips a tenant someone else is
// compacting; an exact reader waits for it), so rollup rows see no lock contention and use slot 0.
// Redis stays a cache: a lost publish is repaired by a rebuild (which compacts first, then reads rows).

import { DatabaseError, type Pool, type PoolClient } from 'pg';
import { withTenant } from '../db/with-tenant';
import type { UniqueValueRow } from '../domain/usage/rollup';
import { storedRollupOf, type RollupRow, type StoredRollup } from './event-store';
import { DeltaFold, UnreadableDeltaError, type FoldedRow } from './rollup-delta';

/** Deltas taken per statement (a delta is one batch, i.e. up to ~1,000 rollup rows). */
const TAKE_LIMIT = 200;
/** Rollup rows upserted per statement. */
const UPSERT_CHUNK = 5_000;
const LOCK_KEY = "hashtext('ledgerline:usage_rollup_compaction')";

// RLS scopes both statements to the caller's tenant (withTenant).
const TAKE = {
  name: 'usage-take-rollup-deltas',
  text: `DELETE FROM usage_rollup_deltas
          WHERE (tenant_id, id) IN (SELECT d.tenant_id, d.id FROM usage_rollup_deltas d
                                     WHERE d.tenant_id = current_tenant_id() ORDER BY d.id LIMIT $1)
          RETURNING contributions, unique_values`,
};

// One row per touched (meter, customer, hour, group), from arrays, in key order; slot 0 (one folder per
// tenant). The same combination as a Redis read (rollup.ts), in SQL: counts and sums add, max is the
// greater, latest is the value of the greater (occurred at, event id) compared byte-wise.
const UPSERT = {
  name: 'usage-upsert-rollups',
  text: `INSERT INTO usage_rollups AS r (tenant_id, meter_id, customer_id, bucket_start, group_key, slot, event_count,
           value_sum, value_max, latest_at, latest_event_id, latest_value)
         SELECT current_tenant_id(), d.m, d.c, 'epoch'::timestamptz + d.b * interval '1 millisecond', d.g, 0, d.n,
                d.s::numeric, d.x::numeric, 'epoch'::timestamptz + d.la * interval '1 millisecond', d.le, d.lv::numeric
           FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::text[],
                       $8::bigint[], $9::text[], $10::text[]) AS d(m, c, b, g, n, s, x, la, le, lv)
         ON CONFLICT (tenant_id, meter_id, customer_id, bucket_start, group_key, slot) DO UPDATE SET
           event_count = r.event_count + excluded.event_count,
           value_sum = CASE WHEN r.value_sum IS NULL THEN excluded.value_sum
                            WHEN excluded.value_sum IS NULL THEN r.value_sum
                            ELSE r.value_sum + excluded.value_sum END,
           value_max = greatest(r.value_max, excluded.value_max),
           latest_at = CASE WHEN excluded.latest_at IS NOT NULL AND (r.latest_at IS NULL OR
                              (excluded.latest_at, excluded.latest_event_id) > (r.latest_at, r.latest_event_id))
                            THEN excluded.latest_at ELSE r.latest_at END,
           latest_event_id = CASE WHEN excluded.latest_at IS NOT NULL AND (r.latest_at IS NULL OR
                              (excluded.latest_at, excluded.latest_event_id) > (r.latest_at, r.latest_event_id))
                            THEN excluded.latest_event_id ELSE r.latest_event_id END,
           latest_value = CASE WHEN excluded.latest_at IS NOT NULL AND (r.latest_at IS NULL OR
                              (excluded.latest_at, excluded.latest_event_id) > (r.latest_at, r.latest_event_id))
                            THEN excluded.latest_value ELSE r.latest_value END,
           version = r.version + 1,
           updated_at = now()
         RETURNING r.meter_id, r.customer_id, (extract(epoch FROM r.bucket_start) * 1000)::bigint AS bucket_ms,
           r.group_key, r.slot, r.version, r.event_count, r.value_sum::text AS value_sum,
           r.value_max::text AS value_max, (extract(epoch FROM r.latest_at) * 1000)::bigint AS latest_ms,
           r.latest_event_id, r.latest_value::text AS latest_value`,
};

// The distinct values new to their hour are returned (the others were published before).
const INSERT_UNIQUE = {
  name: 'usage-insert-unique-values',
  text: `INSERT INTO usage_unique_values (tenant_id, meter_id, customer_id, bucket_start, group_key, value)
         SELECT current_tenant_id(), u.m, u.c, 'epoch'::timestamptz + u.b * interval '1 millisecond', u.g, u.v
           FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[]) AS u(m, c, b, g, v)
          ORDER BY 2, 3, 4, 5, 6
         ON CONFLICT DO NOTHING
         RETURNING meter_id, customer_id, (extract(epoch FROM bucket_start) * 1000)::bigint AS bucket_ms,
           group_key, value`,
};

export interface CompactionResult {
  /** Deltas folded (batches). */
  readonly folded: number;
  /** The touched rollup rows after the fold (cumulative state + version), one per row. */
  readonly rollups: StoredRollup[];
  /** Values new to their hour (unique_count). */
  readonly uniqueValues: UniqueValueRow[];
  /** Deltas this fold set aside because they cannot be folded (migration 0013); usually none. */
  readonly quarantined: readonly QuarantinedDelta[];
}

export interface QuarantinedDelta {
  readonly id: string;
  readonly error: string;
}

/**
 * A fold error that the same deltas will raise every time: an unreadable document, or Postgres
 * refusing the data (SQLSTATE class 22, data exception; 23, integrity constraint, e.g. a meter row
 * removed by hand). Anything else (a lost connection, a deadlock, a shutdown) is retried as it is.
 */
export function foldsNever(error: unknown): boolean {
  if (error instanceof UnreadableDeltaError) return true;
  return error instanceof DatabaseError && typeof error.code === 'string' && /^2[23]/.test(error.code);
}

function errorText(error: unknown): string {
  if (error instanceof DatabaseError)
    return [error.code, error.message, error.detail].filter((part) => part !== undefined).join(': ');
  return error instanceof Error ? error.message : String(error);
}

/** Reported when a fold quarantined deltas: their events are stored but not counted until requeued. */
export class QuarantinedDeltasError extends Error {
  override readonly name = 'QuarantinedDeltasError';

  constructor(
    readonly tenantId: string,
    readonly deltas: readonly QuarantinedDelta[],
  ) {
    super(
      `tenant ${tenantId}: ${deltas.length} pending rollup delta(s) cannot be folded and were quarantined ` +
        `(ids ${deltas.map((d) => d.id).join(', ')}); their events are stored but not counted, and the ` +
        `tenant's usage invoices are held, until they are requeued (POST /v1/usage/quarantined-deltas/requeue). ` +
        `First error: ${deltas[0]?.error ?? 'unknown'}`,
    );
  }
}

async function upsertRollups(db: PoolClient, rows: readonly FoldedRow[]): Promise<StoredRollup[]> {
  const stored: StoredRollup[] = [];
  for (let start = 0; start < rows.length; start += UPSERT_CHUNK) {
    const chunk = rows.slice(start, start + UPSERT_CHUNK);
    const columns: Array<Array<string | number | null>> = Array.from({ length: 10 }, () => []);
    for (const row of chunk) {
      const state = row.sum.state();
      columns[0]?.push(row.meterId);
      columns[1]?.push(row.customerId);
      columns[2]?.push(row.bucketStartMs);
      columns[3]?.push(row.groupKey);
      columns[4]?.push(state.eventCount);
      columns[5]?.push(state.valueSum);
      columns[6]?.push(state.valueMax);
      columns[7]?.push(state.latest?.atMs ?? null);
      columns[8]?.push(state.latest?.eventId ?? null);
      columns[9]?.push(state.latest?.value ?? null);
    }
    const { rows: written } = await db.query<RollupRow>({ ...UPSERT, values: columns });
    for (const row of written) stored.push(storedRollupOf(row));
  }
  return stored;
}

async function insertUniqueValues(
  db: PoolClient,
  values: readonly UniqueValueRow[],
): Promise<UniqueValueRow[]> {
  if (values.length === 0) return [];
  const { rows } = await db.query<{
    meter_id: string;
    customer_id: string;
    bucket_ms: string;
    group_key: string;
    value: string;
  }>({
    ...INSERT_UNIQUE,
    values: [
      values.map((v) => v.meterId),
      values.map((v) => v.customerId),
      values.map((v) => v.bucketStartMs),
      values.map((v) => v.groupKey),
      values.map((v) => v.value),
    ],
  });
  return rows.map((v) => ({
    meterId: v.meter_id,
    customerId: v.customer_id,
    bucketStartMs: Number(v.bucket_ms),
    groupKey: v.group_key,
    value: v.value,
  }));
}

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
  // The usual fold, under a savepoint: if a delta in it can never be folded, only this part of the
  // caller's transaction is undone, the culprits are set aside, and the rest is folded.
  await db.query('SAVEPOINT usage_fold');
  let failure: unknown;
  try {
    const result = await takeAndFold(db);
    await db.query('RELEASE SAVEPOINT usage_fold');
    return { ...result, quarantined: [] };
  } catch (error) {
    if (!foldsNever(error)) throw error;
    await db.query('ROLLBACK TO SAVEPOINT usage_fold');
    failure = error;
  }
  const quarantined = await quarantineUnfoldable(db);
  if (quarantined.length === 0) throw failure;
  return { ...(await takeAndFold(db)), quarantined };
}

/** Takes every pending delta of the tenant (DELETE … RETURNING), sums them, writes the rollups. */
async function takeAndFold(db: PoolClient): Promise<Omit<CompactionResult, 'quarantined'>> {
  const fold = new DeltaFold();
  let folded = 0;
  for (;;) {
    const { rows } = await db.query<{ contributions: unknown; unique_values: unknown }>({
      ...TAKE,
      values: [TAKE_LIMIT],
    });
    for (const row of rows) fold.add(row.contributions, row.unique_values);
    folded += rows.length;
    if (rows.length < TAKE_LIMIT) break;
  }
  if (folded === 0) return { folded, rollups: [], uniqueValues: [] };
  return { folded, ...(await writeFold(db, fold)) };
}

/** Writes a fold's sums: each touched rollup row upserted once, the values new to their hour. */
async function writeFold(
  db: PoolClient,
  fold: DeltaFold,
): Promise<{ rollups: StoredRollup[]; uniqueValues: UniqueValueRow[] }> {
  const rollups = await upsertRollups(db, fold.foldedRows());
  const uniqueValues = await insertUniqueValues(db, fold.uniqueValues());
  return { rollups, uniqueValues };
}

/**
 * Finds the pending deltas that cannot be folded, by halving: a set of deltas is folded under a
 * savepoint that is always rolled back; a failing set is split until single deltas fail (a set that
 * fails while its halves fold is set aside whole: never fail forever). Moves them, with their error,
 * to usage_rollup_deltas_quarantined. Costs a few folds of the pending set, and only runs after a
 * fold failed with an error that repeats.
 */
async function quarantineUnfoldable(db: PoolClient): Promise<QuarantinedDelta[]> {
  const { rows } = await db.query<{ id: string }>(
    'SELECT id FROM usage_rollup_deltas WHERE tenant_id = current_tenant_id() ORDER BY id',
  );
  const failureOf = async (ids: readonly string[]): Promise<unknown> => {
    await db.query('SAVEPOINT usage_fold_test');
    try {
      const { rows: deltas } = await db.query<{ contributions: unknown; unique_values: unknown }>(
        `SELECT contributions, unique_values FROM usage_rollup_deltas
          WHERE tenant_id = current_tenant_id() AND id = ANY ($1::bigint[])`,
        [ids],
      );
      const fold = new DeltaFold();
      for (const delta of deltas) fold.add(delta.contributions, delta.unique_values);
      await writeFold(db, fold);
      return undefined;
    } catch (error) {
      if (!foldsNever(error)) throw error;
      return error;
    } finally {
      await db.query('ROLLBACK TO SAVEPOINT usage_fold_test');
    }
  };
  const found: QuarantinedDelta[] = [];
  const search = async (ids: readonly string[]): Promise<void> => {
    const error = await failureOf(ids);
    if (error === undefined) return;
    const before = found.length;
    if (ids.length > 1) {
      const half = Math.ceil(ids.length / 2);
      await search(ids.slice(0, half));
      await search(ids.slice(half));
    }
    if (found.length === before) for (const id of ids) found.push({ id, error: errorText(error) });
  };
  await search(rows.map((row) => row.id));
  if (found.length > 0) {
    await db.query(
      `WITH moved AS (
         DELETE FROM usage_rollup_deltas d
          WHERE d.tenant_id = current_tenant_id() AND d.id = ANY ($1::bigint[])
         RETURNING d.tenant_id, d.id, d.created_at, d.contributions, d.unique_values)
       INSERT INTO usage_rollup_deltas_quarantined (tenant_id, id, created_at, contributions, unique_values, error)
       SELECT m.tenant_id, m.id, m.created_at, m.contributions, m.unique_values, e.error
         FROM moved m JOIN unnest($1::bigint[], $2::text[]) AS e(id, error) ON e.id = m.id`,
      [found.map((d) => d.id), found.map((d) => d.error)],
    );
  }
  return found;
}

/**
 * For readers that must be exact (usage billing): folds the tenant's pending deltas inside the caller's
 * transaction, so the `usage_rollups` it reads next include every committed event. The folded state is
 * queued (usage_rollup_publications, same transaction) for the background compactor to publish to Redis
 * after this transaction commits; if it rolls back, the fold and the queue entry vanish together.
 */
export async function compactPendingRollups(db: PoolClient, tenantId: string): Promise<CompactionResult> {
  const result = (await foldPendingRollups(db, tenantId, { wait: true })) as CompactionResult;
  await queuePublication(db, tenantId, result);
  return result;
}

/**
 * Queues a fold's result in its transaction (usage_rollup_publications) for whoever publishes next;
 * the id of the queue entry, or null when the fold touched nothing.
 */
async function queuePublication(
  db: PoolClient,
  tenantId: string,
  result: CompactionResult,
): Promise<string | null> {
  if (result.rollups.length === 0 && result.uniqueValues.length === 0) return null;
  const { rows } = await db.query<{ id: string }>(
    'INSERT INTO usage_rollup_publications (tenant_id, rollups, unique_values) VALUES ($1, $2, $3) RETURNING id',
    [tenantId, JSON.stringify(result.rollups), JSON.stringify(result.uniqueValues)],
  );
  return rows[0]?.id ?? null;
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
      // The fold's own result is queued too, in its transaction, and unqueued once published: until
      // then an exact reader in any thread or process (which takes the lock after this COMMIT) finds
      // it in the queue and publishes it itself, instead of reading a cache this publish has not
      // reached yet. Publishing twice is harmless (the cache keeps the higher version).
      const publication = await queuePublication(db, tenantId, folded);
      const rollups = [...folded.rollups];
      const uniqueValues = [...folded.uniqueValues];
      for (const row of queued.rows) {
        rollups.push(...(row.rollups ?? []));
        uniqueValues.push(...(row.unique_values ?? []));
      }
      return { rollups, uniqueValues, publication, quarantined: folded.quarantined };
    });
    if (result !== null && result.quarantined.length > 0)
      this.options.onError(new QuarantinedDeltasError(tenantId, result.quarantined));
    if (result !== null && (result.rollups.length > 0 || result.uniqueValues.length > 0)) {
      const publication = result.publication;
      const publish = this.publisher
        .publish(tenantId, result.rollups, result.uniqueValues)
        .then(async () => {
          // A failed publish leaves its entry queued: the next pass publishes it again.
          if (publication === null) return;
          await withTenant(this.pool, tenantId, (db) =>
            db.query('DELETE FROM usage_rollup_publications WHERE id = $1', [publication]),
          );
        })
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
