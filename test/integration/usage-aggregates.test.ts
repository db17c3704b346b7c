import { withTenant } from '../../src/db/with-tenant';
import type { TestTenant } from '../support/api-harness';
import {
  createUsageHarness,
  hourAround,
  seedCustomer,
  usageApi,
  type UsageHarness,
} from '../support/usage-harness';

// The Redis aggregates are a cache: flushed in the middle of a period they are rebuilt from the
// Postgres rollups and equal what the raw event log says, for every aggregation and grouping.

let harness: UsageHarness;
let tenant: TestTenant;
let api: ReturnType<typeof usageApi>;
const meters: Record<string, string> = {};
const NOW = Date.now();
const HOUR = hourAround(NOW);
const TWO_HOURS_AGO = NOW - 2 * 3_600_000;
const RANGE = { from: hourAround(TWO_HOURS_AGO).from, to: HOUR.to };

beforeAll(async () => {
  harness = await createUsageHarness();
  tenant = await harness.newTenant('Aggregates');
  api = usageApi(harness, tenant);
  const base = { event_name: 'completion', group_by: ['region', 'model'] };
  meters.count = await api.createMeter({ ...base, name: 'requests', aggregation: 'count' });
  meters.sum = await api.createMeter({
    ...base,
    name: 'tokens',
    aggregation: 'sum',
    value_property: 'tokens',
  });
  meters.max = await api.createMeter({ ...base, name: 'peak', aggregation: 'max', value_property: 'tokens' });
  meters.latest = await api.createMeter({
    ...base,
    name: 'last',
    aggregation: 'latest',
    value_property: 'tokens',
  });
  meters.unique = await api.createMeter({
    ...base,
    name: 'users',
    aggregation: 'unique_count',
    value_property: 'user',
  });
  meters.euOnly = await api.createMeter({
    name: 'eu tokens',
    event_name: 'completion',
    aggregation: 'sum',
    value_property: 'tokens',
    filters: { region: 'eu' },
  });
});

afterAll(async () => {
  await harness?.close();
});

function completions(customer: string, count: number, offset: number, atMs: number) {
  return Array.from({ length: count }, (_, i) => ({
    id: `cmp-${customer}-${offset + i}`,
    customer,
    event_name: 'completion',
    timestamp: new Date(atMs - (i % 50) * 1000).toISOString(),
    properties: {
      region: i % 3 === 0 ? 'eu' : 'us',
      model: i % 2 === 0 ? 'small' : 'large',
      tokens: `${(i * 7) % 101}.${i % 10}`,
      user: `u${i % 17}`,
    },
  }));
}

/** Every aggregation, straight from the raw event log with SQL (not from rollups, not from Redis). */
async function truthFromRawEvents(customer: string) {
  const { rows } = await withTenant(harness.pools.app, tenant.id, (db) =>
    db.query<Record<string, string | null>>(
      `SELECT count(*)::text AS count, sum((properties->>'tokens')::numeric)::text AS sum,
              max((properties->>'tokens')::numeric)::text AS max,
              (array_agg((properties->>'tokens')::numeric::text ORDER BY occurred_at DESC, event_id COLLATE "C" DESC))[1] AS latest,
              count(DISTINCT properties->>'user')::text AS unique,
              sum((properties->>'tokens')::numeric) FILTER (WHERE properties->>'region' = 'eu')::text AS eu
         FROM usage_events WHERE customer_id = $1 AND occurred_at >= $2 AND occurred_at < $3`,
      [customer, RANGE.from, RANGE.to],
    ),
  );
  return rows[0] ?? {};
}

async function everyAggregate(customer: string) {
  const read = async (meter: string, groupBy?: string) =>
    api.usage(meter, customer, RANGE.from, RANGE.to, groupBy);
  return {
    count: (await read(meters.count ?? '')).value,
    sum: (await read(meters.sum ?? '')).value,
    max: (await read(meters.max ?? '')).value,
    latest: (await read(meters.latest ?? '')).value,
    unique: (await read(meters.unique ?? '')).value,
    eu: (await read(meters.euOnly ?? '')).value,
    sumByModel: (await read(meters.sum ?? '', 'model')).groups,
    uniqueByRegion: (await read(meters.unique ?? '', 'region')).groups,
  };
}

const canonical = (value: string | null | undefined) =>
  value === null || value === undefined ? value : value.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');

it('rebuilds every aggregation after FLUSHDB in the middle of the period, equal to the raw events', async () => {
  const customer = await seedCustomer(harness, tenant);
  await api.sendBatch(completions(customer, 400, 0, TWO_HOURS_AGO));
  await api.sendBatch(completions(customer, 300, 400, NOW));
  const beforeFlush = await everyAggregate(customer);

  await harness.redis.flushdb();
  // More usage arrives while the cache is empty, then the first read rebuilds.
  await api.sendBatch(completions(customer, 250, 700, NOW));
  const afterFlush = await everyAggregate(customer);
  const truth = await truthFromRawEvents(customer);

  expect({
    count: afterFlush.count,
    sum: canonical(afterFlush.sum),
    max: canonical(afterFlush.max),
    latest: canonical(afterFlush.latest),
    unique: afterFlush.unique,
    eu: canonical(afterFlush.eu),
  }).toEqual({
    count: truth.count,
    sum: canonical(truth.sum),
    max: canonical(truth.max),
    latest: canonical(truth.latest),
    unique: truth.unique,
    eu: canonical(truth.eu),
  });
  expect(afterFlush.count).toBe('950');
  expect(beforeFlush.count).toBe('700');
  // Groups add up to the total, and the cache answers again after the rebuild.
  const groupSum = afterFlush.sumByModel.reduce((n, g) => n + Number(g.value), 0);
  expect(groupSum).toBeCloseTo(Number(truth.sum), 6);
  expect(afterFlush.uniqueByRegion.map((g) => g.group.region)).toEqual(['eu', 'us']);
  const again = await api.usage(meters.count ?? '', customer, RANGE.from, RANGE.to);
  expect(again).toMatchObject({ value: '950', source: 'cache' });
});

it('stays equal to Postgres when a single hour key is evicted and events keep arriving', async () => {
  const customer = await seedCustomer(harness, tenant);
  await api.sendBatch(completions(customer, 120, 0, NOW));
  // The background compactor folds the batch's delta and publishes it within about a second.
  let keys: string[] = [];
  for (const deadline = Date.now() + 2_000; keys.length === 0 && Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    keys = await harness.redis.keys(`usage:${tenant.id}:*:${customer}:*`);
  }
  expect(keys.length).toBeGreaterThan(0);
  await harness.redis.del(...keys);
  // A write into an evicted hour creates a partial hash; it must not be trusted until rebuilt.
  await api.sendBatch(completions(customer, 30, 120, NOW));
  const truth = await truthFromRawEvents(customer);
  expect(await everyAggregate(customer)).toMatchObject({ count: '150', unique: truth.unique });
});
