import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { newId } from '../../src/db/ids';
import { withTenant } from '../../src/db/with-tenant';
import { HOUR_MS } from '../../src/domain/usage/rollup';
import { UsageService } from '../../src/usage/usage-service';
import { createTestTenant, migratedAppPool } from '../support/db';

// A meter counts every event ingested after it exists. Creating one clears the ingest path's meter
// cache inside the meter's transaction, before COMMIT: a batch ingested in between still reads the old
// list (its events came before the meter), and the next batch after COMMIT must read the new one, not
// a list cached in that moment.

let pools: { app: Pool; owner: Pool };
let redis: Redis;
let usage: UsageService;

beforeAll(async () => {
  pools = await migratedAppPool();
  redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15', { maxRetriesPerRequest: 1 });
  usage = new UsageService({
    pool: pools.app,
    redis,
    onCacheError: () => undefined,
    // Long enough that a cached list would still be used by the batch after the COMMIT.
    meterCacheTtlMs: 60_000,
  });
});

afterAll(async () => {
  await usage?.stop();
  redis?.disconnect();
  await Promise.all([pools?.app.end(), pools?.owner.end()]);
});

it('counts in a new meter the first batch after its COMMIT, though a batch read the meters before it', async () => {
  const { tenant } = await createTestTenant(pools.app, 'Meter cache');
  const customer = newId('customer');
  await withTenant(pools.app, tenant.id, (db) =>
    db.query('INSERT INTO customers (id, tenant_id) VALUES ($1, $2)', [customer, tenant.id]),
  );
  const event = (id: string) => ({ id, customer, event_name: 'upload' });
  await usage.ingest(tenant.id, [event('before-any-meter')]); // the cache now holds "no meters"

  const meter = await withTenant(pools.app, tenant.id, async (db) => {
    const row = await usage.createMeter(db, tenant.id, {
      name: 'Uploads',
      eventName: 'upload',
      aggregation: 'count',
      valueProperty: null,
      filters: {},
      groupBy: [],
    });
    // Another request, on another connection, while the meter is not committed yet.
    const during = await usage.ingest(tenant.id, [event('during-the-create')]);
    expect(during.accepted).toEqual([0]);
    return row;
  });
  const after = await usage.ingest(tenant.id, [event('after-the-commit')]);
  expect(after.accepted).toEqual([0]);

  const found = await usage.meter(tenant.id, meter.id);
  if (found === undefined) throw new Error('the meter was just created');
  const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const counted = await usage.usage(
    tenant.id,
    found,
    customer,
    { fromMs: hour - HOUR_MS, toMs: hour + HOUR_MS },
    [],
  );
  expect(counted.value).toBe('1');
});
