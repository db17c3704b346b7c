import request from 'supertest';
import { SearchAttributes } from '../../src/workflows/contracts';
import {
  ADMIN_TOKEN,
  createApiHarness,
  eventually,
  type ApiHarness,
  type RunningWorker,
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

interface Tenant {
  id: string;
  key: string;
}

async function createTenant(name: string): Promise<Tenant> {
  const res = await request(harness.app)
    .post('/v1/admin/tenants')
    .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
    .send({ name });
  expect(res.status).toBe(201);
  expect(res.body.api_key.secret).toMatch(/^sk_test_[0-9A-Za-z]{32}$/);
  return { id: res.body.id as string, key: res.body.api_key.secret as string };
}

const as = (tenant: Tenant) => ({
  post: (url: string, body: unknown, idempotencyKey?: string) => {
    const req = request(harness.app).post(url).set('Authorization', `Bearer ${tenant.key}`);
    if (idempotencyKey !== undefined) req.set('Idempotency-Key', idempotencyKey);
    return req.send(body as object);
  },
  get: (url: string) => request(harness.app).get(url).set('Authorization', `Bearer ${tenant.key}`),
});

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

    const whileDown = await as(tenant).post(
      `/v1/subscriptions/${sub.id}`,
      { cancel_at_period_end: true },
      'cancel-later-1',
    );
    expect(whileDown.status).toBe(503);
    expect(whileDown.headers['content-type']).toMatch(/^application\/problem\+json/);

    worker = await harness.startWorker();
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
