import request from 'supertest';
import { SearchAttributes } from '../../src/workflows/contracts';
import {
  apiAs,
  createApiHarness,
  createTenant as createTenantVia,
  eventually,
  expectProblem,
  type ApiHarness,
  type RunningWorker,
  type TestTenant,
} from '../support/api-harness';

let harness: ApiHarness;
let worker: RunningWorker;

beforeAll(async () => {
  harness = await createApiHarness(`api-it-${Date.now()}`);
  worker = await harness.startWorker();
});

afterAll(async () => {
  await harness?.close();
});

type Tenant = TestTenant;

async function createTenant(name: string): Promise<Tenant> {
  const tenant = await createTenantVia(harness, name);
  expect(tenant.key).toMatch(/^sk_test_[0-9A-Za-z]{32}$/);
  return tenant;
}

const as = (tenant: Tenant) => apiAs(harness, tenant);

const MS_PER_DAY = 86_400_000;

async function createCatalog(tenant: Tenant) {
  const api = as(tenant);
  const product = await api.post('/v1/products', { name: 'Pro' });
  expect(product.status).toBe(201);
  const plan = await api.post('/v1/plans', {
    product: product.body.id,
    amount: 4900,
    currency: 'usd',
    interval: 'month',
  });
  expect(plan.status).toBe(201);
  expect(plan.body).toMatchObject({
    object: 'plan',
    amount: 4900,
    currency: 'USD',
    interval: 'month',
    interval_count: 1,
  });
  const customer = await api.post('/v1/customers', { email: 'ada@example.com', name: 'Ada' });
  expect(customer.status).toBe(201);
  const card = await api.post(`/v1/customers/${customer.body.id as string}/payment_methods`, {
    payment_method: 'pm_card_visa',
  });
  expect(card.status).toBe(200);
  return {
    productId: product.body.id as string,
    planId: plan.body.id as string,
    customerId: customer.body.id as string,
  };
}

/** Another plan of the tenant's product: `amount` per `interval`, in `currency`. */
async function addPlan(
  tenant: Tenant,
  productId: string,
  amount: number,
  currency = 'usd',
  interval = 'month',
): Promise<{ id: string; priceId: string }> {
  const plan = await as(tenant).post('/v1/plans', { product: productId, amount, currency, interval });
  expect(plan.status).toBe(201);
  return { id: plan.body.id as string, priceId: plan.body.current_price.id as string };
}

describe('subscriptions through the HTTP API, Temporal dev server and Postgres', () => {
  it('creates a subscription whose workflow carries the search attributes and answers queries', async () => {
    const tenant = await createTenant('Acme');
    const { planId, customerId } = await createCatalog(tenant);

    const created = await as(tenant).post('/v1/subscriptions', { customer: customerId, plan: planId });
    expect(created.status).toBe(201);
    const sub = created.body as {
      id: string;
      workflow_id: string;
      status: string;
      current_period_start: string;
      current_period_end: string;
    };
    // Incomplete until the first invoice, issued at once, is paid.
    expect(sub.status).toBe('incomplete');
    expect(sub.workflow_id).toBe(`subscription:${tenant.id}:${sub.id}`);

    const description = await eventually(async () => {
      const described = await harness.env.client.workflow.getHandle(sub.workflow_id).describe();
      expect(described.typedSearchAttributes.get(SearchAttributes.status)).toBe('active');
      return described;
    });
    expect(description.status.name).toBe('RUNNING');
    expect(description.typedSearchAttributes.get(SearchAttributes.tenantId)).toBe(tenant.id);
    expect(description.typedSearchAttributes.get(SearchAttributes.customerId)).toBe(customerId);
    expect(description.typedSearchAttributes.get(SearchAttributes.planId)).toBe(planId);
    expect(description.typedSearchAttributes.get(SearchAttributes.status)).toBe('active');

    // What an operator types into the Temporal UI's filter box.
    const listed = await eventually(async () => {
      const ids: string[] = [];
      for await (const execution of harness.env.client.workflow.list({
        query: `TenantId = "${tenant.id}"`,
      })) {
        ids.push(execution.workflowId);
      }
      expect(ids).toEqual([sub.workflow_id]);
      return ids;
    });
    expect(listed).toHaveLength(1);

    const fetched = await as(tenant).get(`/v1/subscriptions/${sub.id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body.workflow).toMatchObject({
      status: 'active',
      subscriptionId: sub.id,
      invoicesIssued: 1,
      currentPeriod: { index: 0, start: sub.current_period_start, end: sub.current_period_end },
    });
    expect(fetched.body.temporal.ui_url).toContain(encodeURIComponent(sub.workflow_id));
  });

  it('cancels through an update: the workflow completes and Postgres and the search attribute say canceled', async () => {
    const tenant = await createTenant('Cancel Co');
    const { planId, customerId } = await createCatalog(tenant);
    const sub = (await as(tenant).post('/v1/subscriptions', { customer: customerId, plan: planId })).body as {
      id: string;
      workflow_id: string;
    };

    const cancel = await as(tenant).post(`/v1/subscriptions/${sub.id}/cancel`, { reason: 'too expensive' });
    expect(cancel.status).toBe(200);
    expect(cancel.body.status).toBe('canceled');
    const result = (await harness.env.client.workflow.getHandle(sub.workflow_id).result()) as {
      status: string;
    };
    expect(result.status).toBe('canceled');

    const after = await as(tenant).get(`/v1/subscriptions/${sub.id}`);
    expect(after.body).toMatchObject({ status: 'canceled', cancellation_reason: 'too expensive' });
    expect(after.body.canceled_at).not.toBeNull();
    const description = await harness.env.client.workflow.getHandle(sub.workflow_id).describe();
    expect(description.typedSearchAttributes.get(SearchAttributes.status)).toBe('canceled');

    const again = await as(tenant).post(`/v1/subscriptions/${sub.id}/cancel`, {});
    expect(again.status).toBe(409);
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('answers 503 while no worker runs, and the retry with the same Idempotency-Key applies the change once', async () => {
    const tenant = await createTenant('Restart Ltd');
    const { planId, customerId } = await createCatalog(tenant);
    const sub = (await as(tenant).post('/v1/subscriptions', { customer: customerId, plan: planId })).body as {
      id: string;
      workflow_id: string;
    };
    await eventually(async () =>
      expect((await as(tenant).get(`/v1/subscriptions/${sub.id}`)).body.status).toBe('active'),
    );
    await worker.stop();

    let whileDown: Awaited<ReturnType<ReturnType<typeof as>['post']>>;
    try {
      whileDown = await as(tenant).post(
        `/v1/subscriptions/${sub.id}`,
        { cancel_at_period_end: true },
        'cancel-later-1',
      );
    } finally {
      // The other tests in this file share the worker: bring it back whatever happened.
      worker = await harness.startWorker();
    }
    expect(whileDown.status).toBe(503);
    expect(whileDown.headers['content-type']).toMatch(/^application\/problem\+json/);

    const retried = await as(tenant).post(
      `/v1/subscriptions/${sub.id}`,
      { cancel_at_period_end: true },
      'cancel-later-1',
    );
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'active', cancel_at_period_end: true });
    const history = await harness.env.client.workflow.getHandle(sub.workflow_id).fetchHistory();
    const accepted = (history.events ?? []).filter(
      (event) => event.workflowExecutionUpdateAcceptedEventAttributes,
    );
    expect(accepted).toHaveLength(1);
  }, 90_000);

  it('replays a POST with the same Idempotency-Key and rejects the key for a different request', async () => {
    const tenant = await createTenant('Idem Inc');
    const { planId, customerId } = await createCatalog(tenant);
    const first = await as(tenant).post(
      '/v1/subscriptions',
      { customer: customerId, plan: planId },
      'sub-create-1',
    );
    const replay = await as(tenant).post(
      '/v1/subscriptions',
      { plan: planId, customer: customerId },
      'sub-create-1',
    );
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.id).toBe(first.body.id);

    const list = await as(tenant).get(`/v1/subscriptions?customer=${customerId}`);
    expect(list.body.data).toHaveLength(1);

    const misuse = await as(tenant).post(
      '/v1/subscriptions',
      { customer: customerId, plan: planId, metadata: { a: 'b' } },
      'sub-create-1',
    );
    expect(misuse.status).toBe(422);
    expect(misuse.body).toMatchObject({
      type: 'https://ledgerline.dev/problems/idempotency-key-reused',
      field: 'Idempotency-Key',
    });
  });

  it('reports readiness of Postgres, Redis and Temporal', async () => {
    const res = await request(harness.app).get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.checks).toMatchObject({
      postgres: { ok: true },
      redis: { ok: true },
      temporal: { ok: true },
    });
    expect((await request(harness.app).get('/healthz')).body).toEqual({ status: 'ok' });
  });
});

describe('POST /v1/subscriptions with items and trials', () => {
  it('pins a price version, applies the customer override to an add-on and starts a calendar-aligned trial', async () => {
    const tenant = await createTenant('Items Co');
    const api = as(tenant);
    const { productId, planId, customerId } = await createCatalog(tenant);
    // Version 2 of the plan's price exists; the subscription pins version 1 by its price id.
    const v1 = (await api.get(`/v1/plans/${planId}`)).body.current_price.id as string;
    expect((await api.post(`/v1/plans/${planId}/prices`, { amount: 5900 })).status).toBe(201);
    const seats = await addPlan(tenant, productId, 1000);
    const override = await api.post(`/v1/customers/${customerId}/price_overrides`, {
      plan: seats.id,
      amount: 800,
    });
    expect(override.status).toBe(201);

    const body = {
      customer: customerId,
      items: [{ price: v1 }, { plan: seats.id, quantity: 3 }],
      trial_period_days: 14,
      trial_settings: { end_behavior: { missing_payment_method: 'cancel' } },
      billing_cycle_anchor_config: 'calendar',
      metadata: { source: 'test' },
    };
    const created = await api.post('/v1/subscriptions', body, 'items-create-1');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      object: 'subscription',
      status: 'trialing',
      customer: customerId,
      currency: 'USD',
      plan: planId,
      cancel_at_period_end: false,
      canceled_at: null,
      ended_at: null,
      pause: null,
      metadata: { source: 'test' },
      items: {
        object: 'list',
        data: [
          { kind: 'plan', quantity: 1, price: { id: v1, plan: planId, version: 1, unit_amount: 4900 } },
          {
            kind: 'addon',
            quantity: 3,
            price: { id: seats.priceId, plan: seats.id, version: 1, unit_amount: 800 },
          },
        ],
      },
    });
    const sub = created.body as {
      id: string;
      workflow_id: string;
      trial_start: string;
      trial_end: string;
      current_period_start: string;
      current_period_end: string;
      items: { data: Array<{ id: string }> };
    };
    for (const item of sub.items.data) expect(item.id).toMatch(/^si_[0-9A-Za-z]+$/);
    expect(Date.parse(sub.trial_end) - Date.parse(sub.trial_start)).toBe(14 * MS_PER_DAY);
    // While trialing, the period served is the trial.
    expect([sub.current_period_start, sub.current_period_end]).toEqual([sub.trial_start, sub.trial_end]);
    expect(created.body.temporal.workflow_id).toBe(sub.workflow_id);

    // The same Idempotency-Key replays the stored answer: same subscription, same item ids.
    const replay = await api.post('/v1/subscriptions', body, 'items-create-1');
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(created.body);

    const fetched = await eventually(async () => {
      const res = await api.get(`/v1/subscriptions/${sub.id}`);
      expect(res.body.workflow).not.toBeNull();
      return res;
    });
    expect(fetched.body.workflow).toMatchObject({
      status: 'trialing',
      alignment: 'calendar',
      trialEndBehavior: 'cancel',
      hasPaymentMethod: true,
      schedule: null,
      invoicesIssued: 0,
      items: [
        { itemId: sub.items.data[0]?.id, kind: 'plan', price: { priceId: v1, unitAmountMinor: 4900 } },
        {
          itemId: sub.items.data[1]?.id,
          kind: 'addon',
          quantity: 3,
          price: { priceId: seats.priceId, unitAmountMinor: 800, overrideId: override.body.id },
        },
      ],
    });
    const description = await harness.env.client.workflow.getHandle(sub.workflow_id).describe();
    expect(description.typedSearchAttributes.get(SearchAttributes.status)).toBe('trialing');
    expect(description.typedSearchAttributes.get(SearchAttributes.planId)).toBe(planId);

    // The first renewal after the trial: 49.00 + 3 × 8.00, nothing charged during the trial.
    const upcoming = await api.get(`/v1/subscriptions/${sub.id}/upcoming_invoice`);
    expect(upcoming.status).toBe(200);
    expect(upcoming.body).toMatchObject({ period_start: sub.trial_end, total: 4900 + 2400 });
    expect((await api.get(`/v1/invoices?subscription=${sub.id}`)).body.data).toEqual([]);
  });

  it('takes an explicit trial_end and a plan item in the items form', async () => {
    const tenant = await createTenant('Trial End Co');
    const { planId, customerId } = await createCatalog(tenant);
    const trialEnd = new Date(Date.now() + 3 * MS_PER_DAY).toISOString();
    const created = await as(tenant).post('/v1/subscriptions', {
      customer: customerId,
      items: [{ plan: planId, quantity: 2 }],
      trial_end: trialEnd,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      status: 'trialing',
      trial_end: trialEnd,
      items: { data: [{ kind: 'plan', quantity: 2 }] },
    });
  });

  it('refuses bad bodies with problem+json naming the field, and writes nothing', async () => {
    const tenant = await createTenant('Bad Bodies Co');
    const api = as(tenant);
    const { productId, planId, customerId } = await createCatalog(tenant);
    const euro = await addPlan(tenant, productId, 3000, 'eur');
    const yearly = await addPlan(tenant, productId, 30000, 'usd', 'year');
    const past = new Date(Date.now() - MS_PER_DAY).toISOString();
    const future = new Date(Date.now() + MS_PER_DAY).toISOString();
    const cases: Array<[string, Record<string, unknown>, number, string, string]> = [
      ['no plan, no items', { customer: customerId }, 400, 'validation-error', 'items'],
      [
        'both plan and items',
        { customer: customerId, plan: planId, items: [{ plan: planId }] },
        400,
        'validation-error',
        'items',
      ],
      ['empty items', { customer: customerId, items: [] }, 400, 'validation-error', 'items'],
      [
        'price and plan in one item',
        { customer: customerId, items: [{ plan: planId, price: euro.priceId }] },
        400,
        'validation-error',
        'items[0].price',
      ],
      [
        'quantity 0',
        { customer: customerId, items: [{ plan: planId }, { plan: euro.id, quantity: 0 }] },
        400,
        'validation-error',
        'items[1].quantity',
      ],
      [
        'fractional quantity',
        { customer: customerId, items: [{ plan: planId, quantity: 1.5 }] },
        400,
        'validation-error',
        'items[0].quantity',
      ],
      [
        'malformed plan id',
        { customer: customerId, items: [{ plan: 'pro' }] },
        400,
        'validation-error',
        'items[0].plan',
      ],
      [
        'unknown item field',
        { customer: customerId, items: [{ plan: planId, qty: 2 }] },
        400,
        'validation-error',
        'items[0].qty',
      ],
      [
        'trial_period_days 0',
        { customer: customerId, plan: planId, trial_period_days: 0 },
        400,
        'validation-error',
        'trial_period_days',
      ],
      [
        'trial_period_days 731',
        { customer: customerId, plan: planId, trial_period_days: 731 },
        400,
        'validation-error',
        'trial_period_days',
      ],
      [
        'both trial forms',
        { customer: customerId, plan: planId, trial_period_days: 3, trial_end: future },
        400,
        'validation-error',
        'trial_end',
      ],
      [
        'trial_end not an instant',
        { customer: customerId, plan: planId, trial_end: 'tomorrow' },
        400,
        'validation-error',
        'trial_end',
      ],
      [
        'trial_end in the past',
        { customer: customerId, plan: planId, trial_end: past },
        400,
        'validation-error',
        'trial_end',
      ],
      [
        'unknown end behavior',
        {
          customer: customerId,
          plan: planId,
          trial_settings: { end_behavior: { missing_payment_method: 'pause' } },
        },
        400,
        'validation-error',
        'trial_settings.end_behavior.missing_payment_method',
      ],
      [
        'unknown alignment',
        { customer: customerId, plan: planId, billing_cycle_anchor_config: 'weekly' },
        400,
        'validation-error',
        'billing_cycle_anchor_config',
      ],
      ['unknown customer', { customer: 'cus_nosuchcustomer', plan: planId }, 404, 'not-found', 'customer'],
      [
        'unknown plan (shorthand)',
        { customer: customerId, plan: 'plan_nosuchplan' },
        404,
        'not-found',
        'plan',
      ],
      [
        'unknown price',
        { customer: customerId, items: [{ plan: planId }, { price: 'price_nosuchprice' }] },
        404,
        'not-found',
        'items[1].price',
      ],
      [
        'add-on in another currency',
        { customer: customerId, items: [{ plan: planId }, { plan: euro.id }] },
        422,
        'unprocessable',
        'items[1].price',
      ],
      [
        'add-on on another interval',
        { customer: customerId, items: [{ plan: planId }, { price: yearly.priceId }] },
        422,
        'unprocessable',
        'items[1].price',
      ],
      [
        '21 items',
        { customer: customerId, items: Array.from({ length: 21 }, () => ({ plan: planId })) },
        400,
        'validation-error',
        'items',
      ],
    ];
    for (const [name, body, status, type, field] of cases) {
      const res = await api.post('/v1/subscriptions', body);
      try {
        expectProblem(res, status, type, field);
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}`, { cause: error });
      }
    }
    expect((await api.get(`/v1/subscriptions?customer=${customerId}`)).body.data).toEqual([]);
  });
});

describe('tenant isolation', () => {
  it("another tenant's subscription, customer and catalog are not found", async () => {
    const owner = await createTenant('Owner Co');
    const { planId, customerId } = await createCatalog(owner);
    const sub = await as(owner).post('/v1/subscriptions', { customer: customerId, plan: planId });
    expect(sub.status).toBe(201);
    const id = sub.body.id as string;
    const priceId = sub.body.items.data[0].price.id as string;

    const intruder = await createTenant('Intruder Co');
    const api = as(intruder);
    const own = await createCatalog(intruder);
    expectProblem(await api.get(`/v1/subscriptions/${id}`), 404, 'not-found', 'id');
    expectProblem(await api.get(`/v1/subscriptions/${id}/upcoming_invoice`), 404, 'not-found', 'id');
    expectProblem(
      await api.post(`/v1/subscriptions/${id}`, { cancel_at_period_end: true }),
      404,
      'not-found',
      'id',
    );
    expectProblem(await api.post(`/v1/subscriptions/${id}/cancel`, {}), 404, 'not-found', 'id');
    expectProblem(
      await api.post(`/v1/subscriptions/${id}/pause`, { behavior: 'pause_collection' }),
      404,
      'not-found',
      'id',
    );
    expectProblem(await api.post(`/v1/subscriptions/${id}/resume`, {}), 404, 'not-found', 'id');
    expectProblem(await api.delete(`/v1/subscriptions/${id}`), 404, 'not-found', 'id');
    expect((await api.get('/v1/subscriptions')).body.data).toEqual([]);
    expect((await api.get(`/v1/subscriptions?customer=${customerId}`)).body.data).toEqual([]);
    expectProblem(
      await api.post('/v1/subscriptions', { customer: customerId, plan: own.planId }),
      404,
      'not-found',
      'customer',
    );
    expectProblem(
      await api.post('/v1/subscriptions', { customer: own.customerId, items: [{ plan: planId }] }),
      404,
      'not-found',
      'items[0].plan',
    );
    expectProblem(
      await api.post('/v1/subscriptions', { customer: own.customerId, items: [{ price: priceId }] }),
      404,
      'not-found',
      'items[0].price',
    );
    // The owner's subscription is untouched.
    expect((await as(owner).get(`/v1/subscriptions/${id}`)).body.cancel_at_period_end).toBe(false);
  });
});

describe('DELETE /v1/subscriptions/:id', () => {
  it('cancels now, like Stripe; a second DELETE is a conflict', async () => {
    const tenant = await createTenant('Delete Co');
    const { planId, customerId } = await createCatalog(tenant);
    const sub = await as(tenant).post('/v1/subscriptions', { customer: customerId, plan: planId });
    const id = sub.body.id as string;
    await eventually(async () =>
      expect((await as(tenant).get(`/v1/subscriptions/${id}`)).body.status).toBe('active'),
    );
    const deleted = await as(tenant).delete(`/v1/subscriptions/${id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ id, status: 'canceled' });
    expect(deleted.body.canceled_at).not.toBeNull();
    expectProblem(await as(tenant).delete(`/v1/subscriptions/${id}`), 409, 'conflict', 'id');
    expectProblem(await as(tenant).get(`/v1/subscriptions/${id}/upcoming_invoice`), 404, 'not-found', 'id');
  });
});
