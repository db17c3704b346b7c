import {
  apiAs,
  createApiHarness,
  createTenant,
  eventually,
  type ApiHarness,
  type RunningWorker,
} from '../support/api-harness';

// The upcoming invoice shows the usage the renewal will bill in arrears: the current period's usage
// so far from the rollups, priced with the plan's charge, next to the in-advance plan line.

let harness: ApiHarness;
let worker: RunningWorker;

beforeAll(async () => {
  harness = await createApiHarness(`api-upcoming-usage-${Date.now()}`);
  worker = await harness.startWorker();
});

afterAll(async () => {
  await worker?.stop();
  await harness?.close();
});

describe('the upcoming invoice of a plan with a usage charge', () => {
  it('previews 49.00 for the next period plus this period’s 1,500 API calls on graduated tiers (140.00)', async () => {
    const tenant = await createTenant(harness, 'Usage preview Inc.');
    const api = apiAs(harness, tenant);
    const product = await api.post('/v1/products', { name: 'API' });
    const plan = await api.post('/v1/plans', {
      product: product.body.id,
      amount: 4900,
      currency: 'USD',
      interval: 'month',
    });
    const meter = await api.post('/v1/meters', {
      name: 'API calls',
      event_name: 'api_call',
      aggregation: 'count',
    });
    expect(meter.status).toBe(201);
    const charge = await api.post(`/v1/plans/${plan.body.id as string}/charges`, {
      meter: meter.body.id,
      name: 'API calls',
      model: 'graduated',
      tiers: [
        { up_to: 1000, unit_amount: 10 },
        { up_to: null, unit_amount: 8 },
      ],
    });
    expect(charge.status).toBe(201);
    const customer = await api.post('/v1/customers', { email: 'dev@example.com' });
    await api.post(`/v1/customers/${customer.body.id as string}/payment_methods`, {
      payment_method: 'pm_card_visa',
    });
    const created = await api.post('/v1/subscriptions', { customer: customer.body.id, plan: plan.body.id });
    expect(created.status).toBe(201);
    const subscriptionId = created.body.id as string;
    // The first invoice (in advance, no usage yet) is paid before the period's usage comes in.
    await eventually(async () => {
      const state = await api.get(`/v1/subscriptions/${subscriptionId}`);
      expect(state.body.status).toBe('active');
    });

    const now = Date.now();
    const events = Array.from({ length: 1500 }, (_, i) => ({
      id: `call-${i}`,
      customer: customer.body.id,
      event_name: 'api_call',
      timestamp: new Date(now - (i % 60) * 1000).toISOString(),
    }));
    const sent = await api.post('/v1/events/batch', { events });
    expect(sent.status).toBe(200);

    // Graduated: 1,000 × 0.10 + 500 × 0.08 = 100.00 + 40.00 = 140.00.
    const upcoming = await api.get(`/v1/subscriptions/${subscriptionId}/upcoming_invoice`);
    expect(upcoming.status).toBe(200);
    const lines = (upcoming.body.lines.data as { amount: number; description: string }[]).map((line) => [
      line.description,
      line.amount,
    ]);
    expect(lines[0]).toEqual([expect.any(String), 4900]);
    expect(lines.slice(1).reduce((sum, [, amount]) => sum + Number(amount), 0)).toBe(14000);
    expect(upcoming.body).toMatchObject({ subtotal: 4900 + 14000, total: 4900 + 14000 });
  });
});
