import { ApplicationFailure } from '@temporalio/common';
import { DatabaseError } from 'pg';
import { createActivities } from '../../src/activities';
import { withTenant } from '../../src/db/with-tenant';
import { newMeterId } from '../../src/usage/meter-repository';
import { foldsNever } from '../../src/usage/rollup-compactor';
import { UnreadableDeltaError } from '../../src/usage/rollup-delta';
import { expectProblem, type TestTenant } from '../support/api-harness';
import { FakeGateway } from '../support/fake-gateway';
import { seedSubscription, type SeededSubscription } from '../support/fixtures';
import { createUsageHarness, hourAround, usageApi, type UsageHarness } from '../support/usage-harness';

// A pending rollup delta that can never be folded (a meter row removed by hand, a document the code
// cannot read) used to fail every fold of its tenant: the tenant's aggregates stopped and its usage
// invoices could not be made. Now the fold sets such deltas aside and folds the rest; they are listed,
// the tenant's usage invoices are held while any exists, and they are counted once requeued.

let h: UsageHarness;
beforeAll(async () => {
  h = await createUsageHarness();
});
afterAll(async () => {
  await h?.close();
});

const NOW = Date.now();
const HOUR = Math.floor(NOW / 3_600_000) * 3_600_000;
const { from, to } = hourAround(NOW);

interface Setup {
  readonly tenant: TestTenant;
  readonly api: ReturnType<typeof usageApi>;
  readonly seeded: SeededSubscription;
  readonly calls: string;
  /** A meter id that no meter row has (as after the row was removed by hand). */
  readonly removedMeter: string;
}

async function setup(name: string): Promise<Setup> {
  const tenant = await h.newTenant(name);
  const seeded = await seedSubscription(h.pools.app, tenant.id, {
    createdAt: new Date(HOUR - 86_400_000).toISOString(),
    amountMinor: 1000,
    recurrence: { interval: 'month', intervalCount: 1 },
  });
  const api = usageApi(h, tenant);
  const calls = await api.createMeter({ name: 'calls', event_name: 'api_call', aggregation: 'count' });
  return { tenant, api, seeded, calls, removedMeter: newMeterId() };
}

let seq = 0;
async function sendCalls(s: Setup, count: number): Promise<void> {
  const events = Array.from({ length: count }, () => ({
    id: `q-${(seq += 1)}`,
    customer: s.seeded.customerId,
    event_name: 'api_call',
    timestamp: new Date(NOW).toISOString(),
  }));
  const res = await s.api.sendBatch(events);
  expect(res.status).toBe(200);
  expect(res.body.accepted_count).toBe(count);
}

/** A pending delta as an ingestion batch writes it (version 2), with `count` events for `meterId`. */
async function pendingDelta(s: Setup, contributions: unknown): Promise<string> {
  return withTenant(h.pools.app, s.tenant.id, async (db) => {
    const { rows } = await db.query<{ id: string }>(
      'INSERT INTO usage_rollup_deltas (tenant_id, contributions) VALUES ($1, $2) RETURNING id::text AS id',
      [s.tenant.id, JSON.stringify(contributions)],
    );
    return rows[0]?.id ?? '';
  });
}

const countDelta = (meterId: string, customerId: string, count: number) => ({
  v: 2,
  m: [meterId],
  c: [customerId],
  r: [[0, 0, HOUR, '', count]],
  u: [],
});

const quarantined = async (s: Setup) => {
  const res = await s.api.get('/v1/usage/quarantined-deltas');
  expect(res.status).toBe(200);
  return res.body.data as Array<{ id: string; error: string; object: string }>;
};

const requeue = async (s: Setup, body: object = {}) => {
  const res = await s.api.post('/v1/usage/quarantined-deltas/requeue', body);
  expect(res.status).toBe(200);
  return res.body.requeued as number;
};

const restoreRemovedMeter = (s: Setup) =>
  withTenant(h.pools.app, s.tenant.id, (db) =>
    db.query(
      `INSERT INTO meters (id, tenant_id, name, event_name, aggregation) VALUES ($1, $2, 'restored', 'gone_call', 'count')`,
      [s.removedMeter, s.tenant.id],
    ),
  );

describe('a pending delta that names a meter removed by hand', () => {
  let s: Setup;
  let poison: string;

  beforeAll(async () => {
    s = await setup('Quarantine FK');
    await sendCalls(s, 3);
    poison = await pendingDelta(s, countDelta(s.removedMeter, s.seeded.customerId, 7));
    await sendCalls(s, 2);
  });

  it('is set aside, and every other event of the tenant is still counted', async () => {
    expect((await s.api.usage(s.calls, s.seeded.customerId, from, to)).value).toBe('5');
    const listed = await quarantined(s);
    expect(listed).toEqual([expect.objectContaining({ object: 'quarantined_usage_delta', id: poison })]);
    expect(listed[0]?.error).toMatch(/^23503: .*foreign key/);
    // Ingestion and folding go on around it.
    await sendCalls(s, 4);
    expect((await s.api.usage(s.calls, s.seeded.customerId, from, to)).value).toBe('9');
  });

  it('holds the usage invoice while it is quarantined: a retryable failure that names it', async () => {
    const activities = createActivities({ pool: h.pools.app, gateway: new FakeGateway() });
    const input = {
      tenantId: s.tenant.id,
      subscriptionId: s.seeded.input.subscriptionId,
      customerId: s.seeded.customerId,
      currency: 'USD',
      period: {
        start: new Date(HOUR - 3_600_000).toISOString(),
        end: new Date(HOUR + 7_200_000).toISOString(),
      },
      items: s.seeded.input.items.map((item) => ({
        itemId: item.itemId,
        priceId: item.price.priceId,
        planId: item.price.planId,
      })),
      idempotencyKey: `invoice:${s.seeded.input.subscriptionId}:quarantine`,
    };
    const held = await activities.usageLines(input).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(held).toBeInstanceOf(ApplicationFailure);
    expect(held).toMatchObject({ type: 'UsageQuarantined', nonRetryable: false });
    expect((held as Error).message).toContain(`ids ${poison}`);

    // Requeued before the cause is fixed: it fails again and is set aside again, nothing counted twice.
    expect(await requeue(s)).toBe(1);
    expect((await s.api.usage(s.calls, s.seeded.customerId, from, to)).value).toBe('9');
    expect((await quarantined(s)).map((d) => d.id)).toEqual([poison]);

    // The meter is restored and the delta requeued: its 7 events are counted once, the invoice is made.
    await restoreRemovedMeter(s);
    expect(await requeue(s, { ids: [poison] })).toBe(1);
    expect((await s.api.usage(s.removedMeter, s.seeded.customerId, from, to)).value).toBe('7');
    expect(await quarantined(s)).toEqual([]);
    await expect(activities.usageLines(input)).resolves.toMatchObject({ lines: [] });
  });
});

describe('a pending delta the code cannot read', () => {
  it('is set aside with the reason, and the batches around it are counted', async () => {
    const s = await setup('Quarantine unreadable');
    await sendCalls(s, 2);
    const unreadable = await pendingDelta(s, { v: 99, rows: 'from a future version' });
    await sendCalls(s, 3);
    expect((await s.api.usage(s.calls, s.seeded.customerId, from, to)).value).toBe('5');
    const listed = await quarantined(s);
    expect(listed.map((d) => d.id)).toEqual([unreadable]);
    expect(listed[0]?.error).toMatch(/unknown rollup delta version 99/);
  });

  it('two bad deltas among good ones are both found, and only they are set aside', async () => {
    const s = await setup('Quarantine two');
    const good = await pendingDelta(s, countDelta(s.calls, s.seeded.customerId, 10));
    const bad1 = await pendingDelta(s, { v: 99 });
    await sendCalls(s, 1);
    const bad2 = await pendingDelta(s, countDelta(s.removedMeter, s.seeded.customerId, 1));
    await pendingDelta(s, countDelta(s.calls, s.seeded.customerId, 20));
    expect(good).not.toBe('');
    expect((await s.api.usage(s.calls, s.seeded.customerId, from, to)).value).toBe('31');
    expect((await quarantined(s)).map((d) => d.id).sort()).toEqual([bad1, bad2].sort());
  });
});

describe('requeueing', () => {
  it('names the offending field when an id is not a delta id', async () => {
    const s = await setup('Quarantine validation');
    const res = await s.api.post('/v1/usage/quarantined-deltas/requeue', { ids: ['12', 'abc'] });
    expectProblem(res, 400, 'validation-error', 'ids[1]');
  });

  it("never reaches another tenant's deltas", async () => {
    const a = await setup('Quarantine tenant A');
    const b = await setup('Quarantine tenant B');
    await pendingDelta(a, { v: 99 });
    await sendCalls(a, 1);
    expect((await a.api.usage(a.calls, a.seeded.customerId, from, to)).value).toBe('1');
    expect(await quarantined(a)).toHaveLength(1);
    expect(await quarantined(b)).toEqual([]);
    expect(await requeue(b)).toBe(0);
    expect(await quarantined(a)).toHaveLength(1);
  });
});

describe('which fold errors quarantine', () => {
  const pgError = (code: string) => Object.assign(new DatabaseError('x', 1, 'error'), { code });
  it('only errors the same deltas raise every time', () => {
    expect(foldsNever(new UnreadableDeltaError('bad'))).toBe(true);
    expect(foldsNever(pgError('23503'))).toBe(true); // foreign key
    expect(foldsNever(pgError('23514'))).toBe(true); // check constraint
    expect(foldsNever(pgError('22P02'))).toBe(true); // invalid text representation
    expect(foldsNever(pgError('40P01'))).toBe(false); // deadlock: retried
    expect(foldsNever(pgError('57P01'))).toBe(false); // admin shutdown: retried
    expect(foldsNever(new Error('connection terminated'))).toBe(false);
  });
});
