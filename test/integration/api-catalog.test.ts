import { withTenant } from '../../src/db/with-tenant';
import {
  apiAs,
  createApiHarness,
  createTenant,
  expectProblem,
  type ApiHarness,
  type TestTenant,
} from '../support/api-harness';

// Plans with every interval, versioned prices and per-customer overrides, through the HTTP API on real
// Postgres (as the non-owner role, row-level security on).

let harness: ApiHarness;
let tenant: TestTenant;
let other: TestTenant;

beforeAll(async () => {
  harness = await createApiHarness(`api-catalog-${Date.now()}`);
  [tenant, other] = await Promise.all([
    createTenant(harness, 'Catalog A'),
    createTenant(harness, 'Catalog B'),
  ]);
});

afterAll(async () => {
  await harness?.close();
});

async function createProduct(as: TestTenant = tenant): Promise<string> {
  const res = await apiAs(harness, as).post('/v1/products', { name: 'Pro' });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function createPlan(fields: Record<string, unknown> = {}, as: TestTenant = tenant) {
  const product = await createProduct(as);
  const res = await apiAs(harness, as).post('/v1/plans', {
    product,
    amount: 4900,
    currency: 'usd',
    interval: 'month',
    ...fields,
  });
  expect(res.status).toBe(201);
  return res.body as { id: string; current_price: { id: string; version: number; amount: number } };
}

async function createCustomer(as: TestTenant = tenant): Promise<string> {
  const res = await apiAs(harness, as).post('/v1/customers', { email: 'ada@example.com' });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

describe('plans', () => {
  it('creates a plan with its price version 1 and shows it as current_price', async () => {
    const product = await createProduct();
    const res = await apiAs(harness, tenant).post('/v1/plans', {
      product,
      amount: 1200,
      currency: 'eur',
      interval: 'week',
      interval_count: 2,
    });

    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      object: 'plan',
      currency: 'EUR',
      amount: 1200,
      interval: 'week',
      interval_count: 2,
      current_price: { id: expect.stringMatching(/^price_[0-9A-Za-z]{20}$/), version: 1, amount: 1200 },
    });
    const prices = await apiAs(harness, tenant).get(`/v1/plans/${res.body.id}/prices`);
    expect(prices.status).toBe(200);
    expect(prices.body).toMatchObject({
      object: 'list',
      has_more: false,
      url: `/v1/plans/${res.body.id}/prices`,
    });
    expect(prices.body.data).toEqual([
      {
        id: res.body.current_price.id,
        object: 'price',
        plan: res.body.id,
        version: 1,
        currency: 'EUR',
        amount: 1200,
        interval: 'week',
        interval_count: 2,
        tax_behavior: 'exclusive',
        currency_options: {},
        current: true,
        created_at: expect.any(String),
      },
    ]);
  });

  it.each([
    ['day', 365],
    ['week', 52],
    ['month', 12],
    ['year', 5],
  ])('accepts interval %s up to interval_count %i and refuses one more', async (interval, max) => {
    const ok = await createPlan({ interval, interval_count: max });
    expect(ok.current_price.version).toBe(1);
    const product = await createProduct();
    const res = await apiAs(harness, tenant).post('/v1/plans', {
      product,
      amount: 100,
      currency: 'USD',
      interval,
      interval_count: max + 1,
    });
    expectProblem(res, 400, 'validation-error', 'interval_count');
    expect(res.body.detail).toContain(String(max));
  });

  it('refuses an unknown interval and a zero interval_count', async () => {
    const product = await createProduct();
    const post = (fields: object) =>
      apiAs(harness, tenant).post('/v1/plans', {
        product,
        amount: 1,
        currency: 'USD',
        interval: 'month',
        ...fields,
      });
    expectProblem(await post({ interval: 'quarter' }), 400, 'validation-error', 'interval');
    expectProblem(await post({ interval_count: 0 }), 400, 'validation-error', 'interval_count');
  });

  it('lists plans with their current price', async () => {
    const plan = await createPlan({ amount: 777 });
    const list = await apiAs(harness, tenant).get('/v1/plans?limit=100');
    expect(list.status).toBe(200);
    const listed = (list.body.data as Array<{ id: string }>).find((p) => p.id === plan.id);
    expect(listed).toMatchObject({ current_price: { id: plan.current_price.id, version: 1, amount: 777 } });
  });
});

describe('price versions', () => {
  it('adds version n+1, makes it current, and keeps the old versions unchanged', async () => {
    const plan = await createPlan({ amount: 4900, interval: 'year' });
    const v2 = await apiAs(harness, tenant).post(`/v1/plans/${plan.id}/prices`, { amount: 5900 });
    expect(v2.status).toBe(201);
    expect(v2.body).toMatchObject({
      object: 'price',
      plan: plan.id,
      version: 2,
      amount: 5900,
      currency: 'USD',
      interval: 'year',
      interval_count: 1,
      current: true,
    });
    const v3 = await apiAs(harness, tenant).post(`/v1/plans/${plan.id}/prices`, {
      amount: 6900,
      currency: 'usd',
    });
    expect(v3.body.version).toBe(3);

    const fetched = await apiAs(harness, tenant).get(`/v1/plans/${plan.id}`);
    expect(fetched.body).toMatchObject({
      amount: 6900,
      current_price: { id: v3.body.id, version: 3, amount: 6900 },
    });
    const versions = await apiAs(harness, tenant).get(`/v1/plans/${plan.id}/prices`);
    expect(
      versions.body.data.map((p: { version: number; amount: number; current: boolean }) => [
        p.version,
        p.amount,
        p.current,
      ]),
    ).toEqual([
      [3, 6900, true],
      [2, 5900, false],
      [1, 4900, false],
    ]);
  });

  it('pages through versions newest first', async () => {
    const plan = await createPlan({ amount: 100 });
    for (const amount of [200, 300]) {
      expect((await apiAs(harness, tenant).post(`/v1/plans/${plan.id}/prices`, { amount })).status).toBe(201);
    }
    const first = await apiAs(harness, tenant).get(`/v1/plans/${plan.id}/prices?limit=2`);
    expect(first.body.has_more).toBe(true);
    expect(first.body.data.map((p: { version: number }) => p.version)).toEqual([3, 2]);
    const rest = await apiAs(harness, tenant).get(
      `/v1/plans/${plan.id}/prices?limit=2&starting_after=${first.body.data[1].id}`,
    );
    expect(rest.body).toMatchObject({ has_more: false, data: [{ version: 1, amount: 100 }] });
  });

  it('refuses another currency with 422 naming the field, and bad amounts with 400', async () => {
    const plan = await createPlan();
    const url = `/v1/plans/${plan.id}/prices`;
    const eur = await apiAs(harness, tenant).post(url, { amount: 100, currency: 'EUR' });
    expectProblem(eur, 422, 'unprocessable', 'currency');
    expect(eur.body.detail).toMatch(/USD/);
    expectProblem(await apiAs(harness, tenant).post(url, { amount: 1.5 }), 400, 'validation-error', 'amount');
    expectProblem(await apiAs(harness, tenant).post(url, {}), 400, 'validation-error', 'amount');
    expectProblem(
      await apiAs(harness, tenant).post(url, { amount: 1, interval: 'year' }),
      400,
      'validation-error',
      'interval',
    );
    const versions = await apiAs(harness, tenant).get(url);
    expect(versions.body.data).toHaveLength(1);
  });

  it('replays a retried POST with the same Idempotency-Key instead of adding a version', async () => {
    const plan = await createPlan();
    const url = `/v1/plans/${plan.id}/prices`;
    const first = await apiAs(harness, tenant).post(url, { amount: 5000 }, 'price-v2-once');
    const again = await apiAs(harness, tenant).post(url, { amount: 5000 }, 'price-v2-once');
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    const reused = await apiAs(harness, tenant).post(url, { amount: 5100 }, 'price-v2-once');
    expectProblem(reused, 422, 'idempotency-key-reused', 'Idempotency-Key');
    const versions = await apiAs(harness, tenant).get(url);
    expect(versions.body.data.map((p: { version: number }) => p.version)).toEqual([2, 1]);
  });

  it('gives concurrent new versions consecutive numbers', async () => {
    const plan = await createPlan({ amount: 1000 });
    const url = `/v1/plans/${plan.id}/prices`;
    const results = await Promise.all(
      [1100, 1200, 1300, 1400].map((amount) => apiAs(harness, tenant).post(url, { amount })),
    );
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect(results.map((r) => r.body.version as number).sort()).toEqual([2, 3, 4, 5]);
    const fetched = await apiAs(harness, tenant).get(`/v1/plans/${plan.id}`);
    const latest = results.find((r) => r.body.version === 5);
    expect(fetched.body.current_price).toEqual({
      id: latest?.body.id,
      version: 5,
      amount: latest?.body.amount,
    });
  });

  it('never edits a version in place (the database refuses it)', async () => {
    const plan = await createPlan();
    const attempt = withTenant(harness.pools.app, tenant.id, (db) =>
      db.query('UPDATE prices SET unit_amount_minor = 1 WHERE id = $1', [plan.current_price.id]),
    );
    await expect(attempt).rejects.toThrow(/immutable|permission denied/);
  });

  it('hides another tenant’s plan: 404 for its versions and for adding one', async () => {
    const plan = await createPlan({}, other);
    expectProblem(await apiAs(harness, tenant).get(`/v1/plans/${plan.id}/prices`), 404, 'not-found', 'id');
    expectProblem(
      await apiAs(harness, tenant).post(`/v1/plans/${plan.id}/prices`, { amount: 1 }),
      404,
      'not-found',
      'id',
    );
    const mine = await apiAs(harness, other).get(`/v1/plans/${plan.id}/prices`);
    expect(mine.body.data).toHaveLength(1);
  });
});

describe('customer price overrides', () => {
  it('creates, replaces (same id), lists and deletes an override in the plan’s currency', async () => {
    const plan = await createPlan({ currency: 'jpy', amount: 5000 });
    const customer = await createCustomer();
    const url = `/v1/customers/${customer}/price_overrides`;

    const created = await apiAs(harness, tenant).post(url, { plan: plan.id, amount: 4000 });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^ovr_/),
      object: 'price_override',
      customer,
      plan: plan.id,
      currency: 'JPY',
      amount: 4000,
      created_at: expect.any(String),
    });
    const replaced = await apiAs(harness, tenant).post(url, { plan: plan.id, amount: 3500 });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ id: created.body.id, amount: 3500 });

    const other = await createPlan({ amount: 100 });
    await apiAs(harness, tenant).post(url, { plan: other.id, amount: 90 });
    const listed = await apiAs(harness, tenant).get(url);
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ object: 'list', url, has_more: false });
    expect(listed.body.data.map((o: { plan: string; amount: number }) => [o.plan, o.amount]).sort()).toEqual(
      [
        [plan.id, 3500],
        [other.id, 90],
      ].sort(),
    );

    const deleted = await apiAs(harness, tenant).delete(`${url}/${created.body.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id: created.body.id, object: 'price_override', deleted: true });
    expectProblem(
      await apiAs(harness, tenant).delete(`${url}/${created.body.id}`),
      404,
      'not-found',
      'overrideId',
    );
    const after = await apiAs(harness, tenant).get(url);
    expect(after.body.data.map((o: { plan: string }) => o.plan)).toEqual([other.id]);
  });

  it('validates the body and names the field', async () => {
    const customer = await createCustomer();
    const url = `/v1/customers/${customer}/price_overrides`;
    const plan = await createPlan();
    expectProblem(
      await apiAs(harness, tenant).post(url, { plan: plan.id }),
      400,
      'validation-error',
      'amount',
    );
    expectProblem(
      await apiAs(harness, tenant).post(url, { plan: plan.id, amount: -1 }),
      400,
      'validation-error',
      'amount',
    );
    expectProblem(
      await apiAs(harness, tenant).post(url, { plan: 'prod_x', amount: 1 }),
      400,
      'validation-error',
      'plan',
    );
    expectProblem(
      await apiAs(harness, tenant).post(url, { plan: plan.id, amount: 1, currency: 'EUR' }),
      400,
      'validation-error',
      'currency',
    );
  });

  it('keeps tenants apart: another tenant’s customer or plan is not found', async () => {
    const myCustomer = await createCustomer();
    const myPlan = await createPlan();
    const theirCustomer = await createCustomer(other);
    const theirPlan = await createPlan({}, other);

    expectProblem(
      await apiAs(harness, tenant).post(`/v1/customers/${theirCustomer}/price_overrides`, {
        plan: myPlan.id,
        amount: 1,
      }),
      404,
      'not-found',
      'id',
    );
    expectProblem(
      await apiAs(harness, tenant).post(`/v1/customers/${myCustomer}/price_overrides`, {
        plan: theirPlan.id,
        amount: 1,
      }),
      404,
      'not-found',
      'plan',
    );
    expectProblem(
      await apiAs(harness, tenant).get(`/v1/customers/${theirCustomer}/price_overrides`),
      404,
      'not-found',
      'id',
    );
    const theirOverride = await apiAs(harness, other).post(`/v1/customers/${theirCustomer}/price_overrides`, {
      plan: theirPlan.id,
      amount: 5,
    });
    expect(theirOverride.status).toBe(201);
    expectProblem(
      await apiAs(harness, tenant).delete(
        `/v1/customers/${myCustomer}/price_overrides/${theirOverride.body.id}`,
      ),
      404,
      'not-found',
    );
    const stillThere = await apiAs(harness, other).get(`/v1/customers/${theirCustomer}/price_overrides`);
    expect(stillThere.body.data).toHaveLength(1);
  });

  it('replays an override POST with the same Idempotency-Key', async () => {
    const customer = await createCustomer();
    const plan = await createPlan();
    const url = `/v1/customers/${customer}/price_overrides`;
    const first = await apiAs(harness, tenant).post(url, { plan: plan.id, amount: 10 }, 'ovr-once');
    const again = await apiAs(harness, tenant).post(url, { plan: plan.id, amount: 10 }, 'ovr-once');
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
  });
});
