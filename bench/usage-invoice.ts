/**
 * `npm run bench:usage-invoice`: the usage lines of one subscription's invoice over 10 million events
 * in one period, across 10 meters and charges of mixed price models and aggregations.
 *
 * Seeding is honest: every event goes through the real ingest path (UsageService.ingest → the same
 * durable write, dedupe keys and rollup upsert as POST /v1/events/batch, in 10,000-event batches),
 * so the rollups are exactly what production would hold for those events. Then the activity function
 * (createUsageBillingActivities(...).usageLines, as registered by createActivities) is timed: cold = a fresh connection pool per run (connect, first
 * statement plans), warm = the same pool; prints the median of N of each. Target: < 100 ms.
 *
 * Env: BENCH_EVENTS (10,000,000), BENCH_WARM_RUNS (25), BENCH_COLD_RUNS (7), BENCH_INGEST_CONCURRENCY (4).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { createUsageBillingActivities } from '../src/activities/usage-billing';
import { newId } from '../src/db/ids';
import { createPool } from '../src/db/pool';
import { createTenantWithApiKey } from '../src/db/tenants';
import { insertCharge, type NewCharge } from '../src/db/usage-charges';
import { withTenant } from '../src/db/with-tenant';
import type { ChargePricing } from '../src/domain/usage/usage-charge';
import type { MeterAggregation } from '../src/domain/usage/meter';
import { ensureEventPartitions } from '../src/usage/partitions';
import { UsageService } from '../src/usage/usage-service';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 10_000_000);
const WARM_RUNS = Number(process.env.BENCH_WARM_RUNS ?? 25);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 7);
const CONCURRENCY = Number(process.env.BENCH_INGEST_CONCURRENCY ?? 4);
const BATCH = 10_000;
const DATABASE_URL =
  process.env.DATABASE_URL ?? 'postgres://ledgerline_app:ledgerline_app@127.0.0.1:5432/ledgerline_test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/12';
const HOUR_MS = 3_600_000;

interface MeterSpec {
  readonly event: string;
  readonly aggregation: MeterAggregation;
  readonly valueProperty: string | null;
  readonly groupBy: readonly string[];
  readonly charge: Pick<NewCharge, 'pricing' | 'includedQuantity' | 'minimumAmountMinor' | 'groupBy'>;
  /** Properties of the i-th event of this meter. */
  readonly properties: (i: number) => Record<string, string | number>;
}

const tiers = (model: 'graduated' | 'volume'): ChargePricing => ({
  model,
  tiers: [
    { up_to: '100000', unit_amount_decimal: '1' },
    { up_to: '500000', unit_amount_decimal: '0.5' },
    { up_to: null, unit_amount_decimal: '0.25' },
  ],
});
const plain = { includedQuantity: '0', minimumAmountMinor: null, groupBy: [] as string[] };
const MODELS = ['large', 'medium', 'small', 'embed'];
const REGIONS = ['eu', 'us', 'ap'];

const METERS: MeterSpec[] = [
  {
    event: 'request',
    aggregation: 'count',
    valueProperty: null,
    groupBy: [],
    charge: { ...plain, pricing: { model: 'per_unit', unit_amount_decimal: '0.04' } },
    properties: () => ({}),
  },
  {
    event: 'search',
    aggregation: 'count',
    valueProperty: null,
    groupBy: [],
    charge: { ...plain, pricing: tiers('graduated') },
    properties: () => ({}),
  },
  {
    event: 'export',
    aggregation: 'count',
    valueProperty: null,
    groupBy: [],
    charge: { ...plain, pricing: tiers('volume') },
    properties: () => ({}),
  },
  {
    event: 'completion',
    aggregation: 'sum',
    valueProperty: 'tokens',
    groupBy: ['model'],
    charge: { ...plain, groupBy: ['model'], pricing: { model: 'per_unit', unit_amount_decimal: '0.002' } },
    properties: (i) => ({ tokens: 100 + (i % 900), model: MODELS[i % MODELS.length] ?? 'large' }),
  },
  {
    event: 'egress',
    aggregation: 'sum',
    valueProperty: 'mb',
    groupBy: [],
    charge: { ...plain, pricing: { model: 'package', package_size: '1000', package_amount: 90 } },
    properties: (i) => ({ mb: `${i % 50}.25` }),
  },
  {
    event: 'storage',
    aggregation: 'max',
    valueProperty: 'gb',
    groupBy: [],
    charge: { ...plain, includedQuantity: '100', pricing: { model: 'per_unit', unit_amount_decimal: '25' } },
    properties: (i) => ({ gb: (i % 5_000) / 10 }),
  },
  {
    event: 'seats',
    aggregation: 'latest',
    valueProperty: 'count',
    groupBy: [],
    charge: {
      ...plain,
      minimumAmountMinor: 50_000,
      pricing: { model: 'per_unit', unit_amount_decimal: '1500' },
    },
    properties: (i) => ({ count: 10 + (i % 40) }),
  },
  {
    event: 'login',
    aggregation: 'unique_count',
    valueProperty: 'user',
    groupBy: [],
    charge: { ...plain, pricing: { model: 'per_unit', unit_amount_decimal: '300' } },
    properties: (i) => ({ user: `user-${i % 1_000}` }),
  },
  {
    event: 'compute',
    aggregation: 'sum',
    valueProperty: 'seconds',
    groupBy: ['region'],
    charge: { ...plain, groupBy: ['region'], pricing: tiers('graduated') },
    properties: (i) => ({ seconds: 1 + (i % 60), region: REGIONS[i % REGIONS.length] ?? 'eu' }),
  },
  {
    event: 'webhook',
    aggregation: 'count',
    valueProperty: null,
    groupBy: [],
    charge: { ...plain, pricing: { model: 'flat', amount: 9_900 } },
    properties: () => ({}),
  },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

async function seedCatalog(pool: Pool, usage: UsageService) {
  const { tenant } = await createTenantWithApiKey(pool, { name: 'bench-usage-invoice', mode: 'test' });
  const customerId = newId('customer');
  const productId = newId('product');
  const planId = newId('plan');
  const priceId = newId('price');
  await withTenant(pool, tenant.id, async (db) => {
    await db.query('INSERT INTO customers (id, tenant_id) VALUES ($1, $2)', [customerId, tenant.id]);
    await db.query('INSERT INTO products (id, tenant_id, name) VALUES ($1, $2, $3)', [
      productId,
      tenant.id,
      'Platform',
    ]);
    await db.query(
      `INSERT INTO plans (id, tenant_id, product_id, currency, amount_minor, billing_interval, interval_count, current_price_id)
       VALUES ($1, $2, $3, 'USD', 9900, 'month', 1, $4)`,
      [planId, tenant.id, productId, priceId],
    );
    await db.query(
      `INSERT INTO prices (id, tenant_id, plan_id, version, currency, unit_amount_minor, billing_interval, interval_count)
       VALUES ($1, $2, $3, 1, 'USD', 9900, 'month', 1)`,
      [priceId, tenant.id, planId],
    );
  });
  const meterIds: string[] = [];
  for (const spec of METERS) {
    const meter = await withTenant(pool, tenant.id, (db) =>
      usage.createMeter(db, tenant.id, {
        name: spec.event,
        eventName: spec.event,
        aggregation: spec.aggregation,
        valueProperty: spec.valueProperty,
        filters: {},
        groupBy: spec.groupBy,
      }),
    );
    meterIds.push(meter.id);
    await withTenant(pool, tenant.id, (db) =>
      insertCharge(db, tenant.id, {
        planId,
        meterId: meter.id,
        name: spec.event,
        currency: 'USD',
        ...spec.charge,
      }),
    );
  }
  return { tenantId: tenant.id, customerId, planId, priceId };
}

async function ingestAll(
  usage: UsageService,
  tenantId: string,
  customerId: string,
  periodStartMs: number,
  hours: number,
) {
  const perMeter = Math.floor(EVENTS / METERS.length);
  const total = perMeter * METERS.length;
  const spanMs = hours * HOUR_MS;
  let next = 0;
  let stored = 0;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const offset = next;
      next += BATCH;
      if (offset >= total) return;
      const events = [];
      for (let n = offset; n < Math.min(offset + BATCH, total); n += 1) {
        const meter = METERS[n % METERS.length];
        if (meter === undefined) throw new Error('no meter');
        const i = Math.floor(n / METERS.length);
        events.push({
          id: `b${n}`,
          customer: customerId,
          event_name: meter.event,
          // Spread evenly over the whole period (to the millisecond), so every hour has rollups.
          timestamp: new Date(periodStartMs + Math.floor((i * spanMs) / perMeter)).toISOString(),
          properties: meter.properties(i),
        });
      }
      const report = await usage.ingest(tenantId, events);
      if (report.rejected.length > 0) throw new Error(`rejected: ${JSON.stringify(report.rejected[0])}`);
      stored += report.accepted.length;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { stored, seconds };
}

interface SeededState {
  readonly tenantId: string;
  readonly customerId: string;
  readonly planId: string;
  readonly priceId: string;
  readonly periodStartMs: number;
  readonly periodEndMs: number;
  readonly stored: number;
}

async function main(): Promise<void> {
  const pool = createPool(DATABASE_URL, { max: CONCURRENCY + 2 });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const usage = new UsageService({ pool, redis, onCacheError: () => undefined });
  // Seeding 10 million events takes minutes; BENCH_REUSE=1 times the previous run's data again
  // (kept in .data/bench-usage-invoice.json) while iterating on the read path.
  const statePath = path.resolve(process.env.LEDGERLINE_DATA ?? '.data', 'bench-usage-invoice.json');
  let state: SeededState;
  if (process.env.BENCH_REUSE === '1' && existsSync(statePath)) {
    state = JSON.parse(readFileSync(statePath, 'utf8')) as SeededState;
    console.log(`reusing ${state.stored.toLocaleString('en-US')} events seeded earlier (${statePath})`);
  } else {
    // A 30-day usage period ending at the last whole hour.
    const periodEndMs = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
    const hours = 30 * 24;
    const periodStartMs = periodEndMs - hours * HOUR_MS;
    await ensureEventPartitions(pool, periodStartMs);
    const seeded = await seedCatalog(pool, usage);
    const ingest = await ingestAll(usage, seeded.tenantId, seeded.customerId, periodStartMs, hours);
    console.log(
      `seeded ${ingest.stored.toLocaleString('en-US')} events through UsageService.ingest in ${ingest.seconds.toFixed(1)} s (${Math.round(ingest.stored / ingest.seconds).toLocaleString('en-US')} events/s)`,
    );
    state = { ...seeded, periodStartMs, periodEndMs, stored: ingest.stored };
    writeFileSync(statePath, JSON.stringify(state));
  }
  const { periodStartMs, periodEndMs } = state;
  const seeded = state;
  const ingest = { stored: state.stored };
  const stats = await withTenant(pool, seeded.tenantId, (db) =>
    db.query<{ rollups: string; unique_values: string }>(
      `SELECT (SELECT count(*) FROM usage_rollups WHERE customer_id = $1) AS rollups,
              (SELECT count(*) FROM usage_unique_values WHERE customer_id = $1) AS unique_values`,
      [seeded.customerId],
    ),
  );
  console.log(`rollup rows: ${stats.rows[0]?.rollups}, unique-value rows: ${stats.rows[0]?.unique_values}`);
  await pool.query('ANALYZE usage_rollups, usage_unique_values, usage_billed, plan_usage_charges');

  const input = {
    tenantId: seeded.tenantId,
    subscriptionId: newId('subscription'),
    customerId: seeded.customerId,
    currency: 'USD',
    period: { start: new Date(periodStartMs).toISOString(), end: new Date(periodEndMs).toISOString() },
    items: [{ itemId: newId('subscriptionItem'), priceId: seeded.priceId, planId: seeded.planId }],
    idempotencyKey: `invoice:bench:${periodEndMs}`,
  };
  const timeOnce = async (p: Pool) => {
    const activities = createUsageBillingActivities({ pool: p });
    const t0 = performance.now();
    const result = await activities.usageLines(input);
    return { ms: performance.now() - t0, result };
  };

  const cold: number[] = [];
  let lines = 0;
  for (let run = 0; run < COLD_RUNS; run += 1) {
    const fresh = createPool(DATABASE_URL, { max: 2 });
    const { ms, result } = await timeOnce(fresh);
    cold.push(ms);
    lines = result.lines.length;
    await fresh.end();
  }
  const warm: number[] = [];
  let totalMinor = 0;
  await timeOnce(pool);
  for (let run = 0; run < WARM_RUNS; run += 1) {
    const { ms, result } = await timeOnce(pool);
    warm.push(ms);
    totalMinor = result.lines.reduce((sum, line) => sum + line.amountMinor, 0);
  }
  console.log(
    `usage-invoice: ${ingest.stored.toLocaleString('en-US')} events, ${METERS.length} meters/charges, ${lines} lines, total ${totalMinor} minor units — ` +
      `usageLines median warm ${median(warm).toFixed(1)} ms (N=${WARM_RUNS}, max ${Math.max(...warm).toFixed(1)}), ` +
      `cold ${median(cold).toFixed(1)} ms (N=${COLD_RUNS}, fresh pool each) — target < 100 ms`,
  );
  redis.disconnect();
  await pool.end();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
