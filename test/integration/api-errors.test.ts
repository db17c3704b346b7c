import request from 'supertest';
import { ADMIN_TOKEN, createApiHarness, type ApiHarness } from '../support/api-harness';

let harness: ApiHarness;
let tenantA: { id: string; key: string };
let tenantB: { id: string; key: string };

async function createTenant(name: string) {
  const res = await request(harness.app)
    .post('/v1/admin/tenants')
    .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
    .send({ name });
  return { id: res.body.id as string, key: res.body.api_key.secret as string };
}

beforeAll(async () => {
  harness = await createApiHarness(`api-errors-${Date.now()}`);
  tenantA = await createTenant('Tenant A');
  tenantB = await createTenant('Tenant B');
});

afterAll(async () => {
  await harness?.close();
});

function expectProblem(res: request.Response, status: number, type: string, field?: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ type: `https://ledgerline.dev/problems/${type}`, status });
  expect(typeof res.body.title).toBe('string');
  expect(typeof res.body.detail).toBe('string');
  expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/); // no stack traces
  if (field !== undefined) expect(res.body.field).toBe(field);
}

describe('401: requests without valid credentials', () => {
  it.each([
    ['no Authorization header', undefined],
    ['a non-Bearer scheme', 'Basic dXNlcjpwYXNz'],
    ['a malformed key', 'Bearer sk_test_short'],
    ['an unknown key of the right shape', `Bearer sk_test_${'x'.repeat(32)}`],
  ])('rejects %s', async (_label, header) => {
    const req = request(harness.app).get('/v1/customers');
    if (header !== undefined) req.set('Authorization', header);
    const res = await req;
    expectProblem(res, 401, 'unauthorized', 'Authorization');
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  });

  it('rejects tenant creation without the admin token, and a tenant key on admin routes', async () => {
    expectProblem(
      await request(harness.app).post('/v1/admin/tenants').send({ name: 'x' }),
      401,
      'unauthorized',
    );
    const withTenantKey = await request(harness.app)
      .post('/v1/admin/tenants')
      .set('Authorization', `Bearer ${tenantA.key}`)
      .send({ name: 'x' });
    expectProblem(withTenantKey, 401, 'unauthorized');
  });
});

describe('404: another tenant’s objects do not exist for you', () => {
  it('hides tenant A’s customer from tenant B, by id, in lists and as a reference', async () => {
    const created = await request(harness.app)
      .post('/v1/customers')
      .set('Authorization', `Bearer ${tenantA.key}`)
      .send({ email: 'secret@a.example' });
    expect(created.status).toBe(201);
    const customerId = created.body.id as string;

    const asB = await request(harness.app)
      .get(`/v1/customers/${customerId}`)
      .set('Authorization', `Bearer ${tenantB.key}`);
    expectProblem(asB, 404, 'not-found');
    const listB = await request(harness.app)
      .get('/v1/customers?limit=100')
      .set('Authorization', `Bearer ${tenantB.key}`);
    expect(listB.body.data.map((c: { id: string }) => c.id)).not.toContain(customerId);

    const productB = await request(harness.app)
      .post('/v1/products')
      .set('Authorization', `Bearer ${tenantB.key}`)
      .send({ name: 'B' });
    const planB = await request(harness.app)
      .post('/v1/plans')
      .set('Authorization', `Bearer ${tenantB.key}`)
      .send({ product: productB.body.id, amount: 100, currency: 'EUR', interval: 'year' });
    const subscribeA = await request(harness.app)
      .post('/v1/subscriptions')
      .set('Authorization', `Bearer ${tenantB.key}`)
      .send({ customer: customerId, plan: planB.body.id });
    expectProblem(subscribeA, 404, 'not-found', 'customer');

    const asA = await request(harness.app)
      .get(`/v1/customers/${customerId}`)
      .set('Authorization', `Bearer ${tenantA.key}`);
    expect(asA.status).toBe(200);
  });

  it('answers unknown routes with problem+json', async () => {
    expectProblem(
      await request(harness.app).get('/v1/nope').set('Authorization', `Bearer ${tenantA.key}`),
      404,
      'not-found',
    );
  });
});

describe('400: malformed bodies name the offending field', () => {
  const post = (url: string, body: string | object, contentType = 'application/json') =>
    request(harness.app)
      .post(url)
      .set('Authorization', `Bearer ${tenantA.key}`)
      .set('Content-Type', contentType)
      .send(body);

  it('rejects a float amount instead of rounding it', async () => {
    const product = await post('/v1/products', { name: 'P' });
    const res = await post('/v1/plans', {
      product: product.body.id,
      amount: 19.99,
      currency: 'USD',
      interval: 'month',
    });
    expectProblem(res, 400, 'validation-error', 'amount');
  });

  it.each([
    ['a missing required field', '/v1/products', {}, 'name'],
    [
      'an unknown interval',
      '/v1/plans',
      { product: 'prod_x', amount: 1, currency: 'USD', interval: 'fortnight' },
      'interval',
    ],
    [
      'a bad currency',
      '/v1/plans',
      { product: 'prod_x', amount: 1, currency: 'dollars', interval: 'month' },
      'currency',
    ],
    [
      'a negative amount',
      '/v1/plans',
      { product: 'prod_x', amount: -1, currency: 'USD', interval: 'month' },
      'amount',
    ],
    [
      'an amount sent as a string',
      '/v1/plans',
      { product: 'prod_x', amount: '100', currency: 'USD', interval: 'month' },
      'amount',
    ],
    ['an invalid email', '/v1/customers', { email: 'not-an-email' }, 'email'],
    ['an unknown field', '/v1/customers', { email: 'a@b.example', nickname: 'x' }, 'nickname'],
    [
      'a nested metadata value of the wrong type',
      '/v1/customers',
      { metadata: { tier: 3 } },
      'metadata.tier',
    ],
    ['a subscription without a plan or items', '/v1/subscriptions', { customer: 'cus_abc' }, 'items'],
  ])('rejects %s', async (_label, url, body, field) => {
    const res = await post(url, body);
    expectProblem(res, 400, 'validation-error', field);
    expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });

  it('rejects JSON that does not parse', async () => {
    expectProblem(await post('/v1/customers', '{"email": '), 400, 'malformed-json', 'body');
  });

  it('rejects a body that is not JSON', async () => {
    expectProblem(
      await post('/v1/customers', 'email=a@b.example', 'application/x-www-form-urlencoded'),
      415,
      'unsupported-media-type',
      'Content-Type',
    );
  });

  it('rejects a bad Idempotency-Key and a bad list limit', async () => {
    const badKey = await request(harness.app)
      .post('/v1/products')
      .set('Authorization', `Bearer ${tenantA.key}`)
      .set('Idempotency-Key', 'k'.repeat(300))
      .send({ name: 'P' });
    expectProblem(badKey, 400, 'validation-error', 'Idempotency-Key');
    const badLimit = await request(harness.app)
      .get('/v1/customers?limit=1000')
      .set('Authorization', `Bearer ${tenantA.key}`);
    expectProblem(badLimit, 400, 'validation-error', 'limit');
  });

  it('rejects a plan for a product of another tenant as not found', async () => {
    const productB = await request(harness.app)
      .post('/v1/products')
      .set('Authorization', `Bearer ${tenantB.key}`)
      .send({ name: 'B' });
    const res = await post('/v1/plans', {
      product: productB.body.id,
      amount: 100,
      currency: 'USD',
      interval: 'month',
    });
    expectProblem(res, 404, 'not-found', 'product');
  });

  it('rejects a duplicate external_id with 409 and keeps the first customer', async () => {
    const first = await post('/v1/customers', { external_id: 'ext-42' });
    const second = await post('/v1/customers', { external_id: 'ext-42' });
    expect(first.status).toBe(201);
    expectProblem(second, 409, 'conflict', 'external_id');
  });
});
