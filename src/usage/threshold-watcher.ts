// Usage thresholds (80 %, 100 % of a metered allowance), evaluated off the ingestion path: the
// UsageService tells the watcher which events were accepted (a synchronous push, nothing else), and a
// timer later works out the (tenant, customer) pairs whose metered features those events feed, reads
// their current-period aggregates, and records each newly reached threshold once — a row in
// usage_threshold_crossings plus a `usage.threshold_reached` outbox event in one transaction — then
// signals the subscription workflow.
//
// Exactly-once is the database's unique key, so several API replicas may evaluate the same customer.
// Evaluation is level-triggered (reached = computed from the aggregate now, see
// src/domain/usage/thresholds.ts), so a dropped or failed evaluation only delays an announcement until
// the customer's next accepted event. Signals are at-least-once: a crossing stays `signaled_at IS NULL`
// until the workflow took it, and is re-sent by the next evaluation that reaches anything.

import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Pool } from 'pg';
import {
  customerGrants,
  markSignaled,
  meteredEventNames,
  recordCrossing,
  unsignaledCrossings,
  type CrossingRow,
} from '../db/entitlements';
import { withTenant } from '../db/with-tenant';
import { allowancesOf, usageWindow } from '../domain/usage/entitlements';
import { reachedThresholds, type UsageThresholdCrossing } from '../domain/usage/thresholds';
import { usageThresholdReachedSignal } from '../workflows/contracts';
import type { TouchedCustomers } from './ingest-body';
import type { UsageService } from './usage-service';

export interface ThresholdWatcherDeps {
  readonly pool: Pool;
  readonly usage: UsageService;
  readonly temporal: Pick<Client, 'workflow'>;
  readonly onError: (error: unknown, context: string) => void;
  /** How long accepted events are collected before one evaluation pass (default 200 ms). */
  readonly debounceMs?: number;
  /** How long a tenant's "event names feeding a metered feature" filter is trusted (default 2 s). */
  readonly filterTtlMs?: number;
  /** Customers evaluated per tenant per pass; beyond it they wait for their next event (default 5,000). */
  readonly maxCustomersPerPass?: number;
  /** Accepted batches queued before a pass starts at once instead of at the debounce (default 5,000). */
  readonly maxQueuedBatches?: number;
  /** Evaluations in flight at once (default 4): bounds the Postgres connections the watcher takes. */
  readonly concurrency?: number;
  readonly nowMs?: () => number;
}

interface QueuedBatch {
  readonly tenantId: string;
  readonly touched: TouchedCustomers;
}

export interface EvaluationResult {
  /** Crossings recorded by this evaluation (new outbox events). */
  readonly recorded: number;
  /** Signals delivered (new crossings and earlier unsignaled ones). */
  readonly signaled: number;
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  });
  await Promise.all(runners);
}

const SETTLED_MAX = 100_000;

export class ThresholdWatcher {
  private queue: QueuedBatch[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private readonly filters = new Map<string, { names: Set<string>; loadedAtMs: number }>();
  /** Crossings known recorded and signaled: a repeat evaluation skips the database for them. */
  private readonly settled = new Set<string>();
  private readonly nowMs: () => number;

  constructor(private readonly deps: ThresholdWatcherDeps) {
    this.nowMs = deps.nowMs ?? Date.now;
  }

  /** The UsageService hook: O(1), no I/O, never throws. */
  readonly notify = (tenantId: string, touched: TouchedCustomers): void => {
    if (this.closed) return;
    this.queue.push({ tenantId, touched });
    if (this.queue.length >= (this.deps.maxQueuedBatches ?? 5_000)) this.schedule(0);
    else this.schedule(this.deps.debounceMs ?? 200);
  };

  /** A plan feature changed: the tenant's event-name filter is reloaded on the next pass. */
  invalidate(tenantId: string): void {
    this.filters.delete(tenantId);
  }

  /** Runs a pass over everything queued so far (tests; the timer calls it too). */
  async flush(): Promise<void> {
    while (this.running !== null) await this.running;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const pass = this.pass().finally(() => {
      this.running = null;
    });
    this.running = pass;
    await pass;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    while (this.running !== null) await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.timer !== null && delayMs > 0) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.running !== null) {
        // One pass at a time; what arrived meanwhile is picked up right after it.
        void this.running.then(() => this.schedule(0));
        return;
      }
      this.flush().catch((error: unknown) => this.deps.onError(error, 'threshold pass'));
    }, delayMs);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    const batches = this.queue;
    this.queue = [];
    const byTenant = new Map<string, QueuedBatch[]>();
    for (const batch of batches) {
      const list = byTenant.get(batch.tenantId) ?? [];
      list.push(batch);
      byTenant.set(batch.tenantId, list);
    }
    for (const [tenantId, tenantBatches] of byTenant) {
      try {
        await this.passForTenant(tenantId, tenantBatches);
      } catch (error) {
        this.deps.onError(error, `threshold pass for tenant ${tenantId}`);
      }
    }
  }

  private async passForTenant(tenantId: string, batches: readonly QueuedBatch[]): Promise<void> {
    const names = await this.eventNamesOf(tenantId);
    if (names.size === 0) return;
    const max = this.deps.maxCustomersPerPass ?? 5_000;
    const refs = new Set<string>();
    outer: for (const { touched } of batches) {
      for (const [eventName, customerRefs] of touched) {
        if (!names.has(eventName)) continue;
        for (const ref of customerRefs) {
          refs.add(ref);
          if (refs.size >= max) break outer;
        }
      }
    }
    const customerIds = new Set<string>();
    await eachLimited([...refs], this.deps.concurrency ?? 4, async (ref) => {
      const id = await this.deps.usage.resolveCustomer(tenantId, ref);
      if (id !== undefined) customerIds.add(id);
    });
    await eachLimited([...customerIds], this.deps.concurrency ?? 4, async (customerId) => {
      try {
        await this.evaluate(tenantId, customerId);
      } catch (error) {
        this.deps.onError(error, `threshold evaluation for ${tenantId}/${customerId}`);
      }
    });
  }

  private async eventNamesOf(tenantId: string): Promise<Set<string>> {
    const cached = this.filters.get(tenantId);
    if (cached !== undefined && this.nowMs() - cached.loadedAtMs < (this.deps.filterTtlMs ?? 2_000)) {
      return cached.names;
    }
    const names = await withTenant(this.deps.pool, tenantId, meteredEventNames);
    this.filters.set(tenantId, { names, loadedAtMs: this.nowMs() });
    return names;
  }

  /**
   * One customer: every metered allowance of its live subscriptions against the current-period
   * aggregate; records what is newly reached and signals what the workflows have not heard yet.
   */
  async evaluate(tenantId: string, customerId: string): Promise<EvaluationResult> {
    const grants = await withTenant(this.deps.pool, tenantId, (db) =>
      customerGrants(db, customerId, { onlyMetered: true }),
    );
    const workflowOf = new Map(grants.map((grant) => [grant.subscriptionId, grant.workflowId]));
    const nowMs = this.nowMs();
    const reachedAt = new Date(Math.floor(nowMs / 1000) * 1000).toISOString();
    const candidates: CrossingRow[] = [];
    for (const allowance of allowancesOf(grants)) {
      const meter = await this.deps.usage.meter(tenantId, allowance.meterId);
      if (meter === undefined) continue;
      const window = usageWindow(allowance.periodStart, allowance.periodEnd, nowMs);
      if (window.toMs <= window.fromMs) continue;
      const { value } = await this.deps.usage.usage(tenantId, meter, customerId, window, []);
      for (const threshold of reachedThresholds(value, allowance.limit)) {
        const crossing: CrossingRow = {
          subscriptionId: allowance.subscriptionId,
          workflowId: workflowOf.get(allowance.subscriptionId) ?? '',
          customerId,
          feature: allowance.feature,
          meterId: allowance.meterId,
          threshold,
          used: value ?? '0',
          limit: allowance.limit,
          periodStart: allowance.periodStart,
          periodEnd: allowance.periodEnd,
          reachedAt,
        };
        if (!this.settled.has(settledKey(tenantId, crossing))) candidates.push(crossing);
      }
    }
    if (candidates.length === 0) return { recorded: 0, signaled: 0 };
    const { recorded, toSignal } = await withTenant(this.deps.pool, tenantId, async (db) => {
      let count = 0;
      for (const crossing of candidates) if (await recordCrossing(db, tenantId, crossing)) count += 1;
      return { recorded: count, toSignal: await unsignaledCrossings(db, customerId) };
    });
    let signaled = 0;
    for (const crossing of toSignal) {
      if (await this.signal(tenantId, crossing)) signaled += 1;
    }
    // Reached and already signaled by someone else: nothing more to do for them either.
    const pending = new Set(toSignal.map((c) => settledKey(tenantId, c)));
    for (const crossing of candidates) {
      const key = settledKey(tenantId, crossing);
      if (!pending.has(key)) this.remember(key);
    }
    return { recorded, signaled };
  }

  private async signal(tenantId: string, crossing: CrossingRow): Promise<boolean> {
    const payload: UsageThresholdCrossing = {
      feature: crossing.feature,
      meterId: crossing.meterId,
      threshold: crossing.threshold,
      used: crossing.used,
      limit: crossing.limit,
      periodStart: crossing.periodStart,
      periodEnd: crossing.periodEnd,
      reachedAt: crossing.reachedAt,
    };
    try {
      await this.deps.temporal.workflow
        .getHandle(crossing.workflowId)
        .signal(usageThresholdReachedSignal, payload);
    } catch (error) {
      // A finished subscription has no one to tell; anything else is retried by a later evaluation.
      if (!(error instanceof WorkflowNotFoundError)) {
        this.deps.onError(error, `signal ${crossing.workflowId}`);
        return false;
      }
    }
    await withTenant(this.deps.pool, tenantId, (db) => markSignaled(db, crossing));
    this.remember(settledKey(tenantId, crossing));
    return true;
  }

  private remember(key: string): void {
    this.settled.add(key);
    if (this.settled.size > SETTLED_MAX) {
      const oldest = this.settled.values().next();
      if (oldest.done !== true) this.settled.delete(oldest.value);
    }
  }
}

function settledKey(
  tenantId: string,
  c: Pick<CrossingRow, 'subscriptionId' | 'feature' | 'periodStart' | 'threshold' | 'limit'>,
): string {
  return `${tenantId}\x1f${c.subscriptionId}\x1f${c.feature}\x1f${c.periodStart}\x1f${c.threshold}\x1f${c.limit}`;
}
