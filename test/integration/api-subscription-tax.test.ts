import {
  apiAs,
  createApiHarness,
  createTenant,
  eventually,
  type ApiHarness,
  type RunningWorker,
  type TestTenant,
} from '../support/api-harness';

// A subscription's invoices are taxed by its workflow's finalization step, and the upcoming-invoice
// preview shows the same tax before it is charged: a New York seller with nexus in NY, TX and CA sells
// SaaS to customers in New York (taxed at the 4 % state rate), Texas (6.25 % on 80 % of the price)
// and California (SaaS is not taxable there).

let harness: ApiHarness;
let worker: RunningWorker;

beforeAll(async () => {
  harness = await createApiHarness(`api-sub-tax-${Date.now()}`);
  worker = await harness.startWorker();
});

afterAll(async () => {
  await worker?.stop();
  await harness?.close();
});

const NY_SELLER = {
  legal_name: 'Demo SaaS Inc.',
  address: { line1: '350 Fifth Avenue', city: 'New York', postal_code: '10118', state: 'NY', country: 'US' },
  tax_ids: [{ type: 'us_ein', value: '12-3456789' }],
  registrations: { us_nexus_states: ['NY', 'TX', 'CA'] },
  reporting_currency: 'USD',
};

async function sellerWithPlan(): Promise<{ tenant: TestTenant; planId: string }> {
  const tenant = await createTenant(harness, 'Demo SaaS Inc.');
  const api = apiAs(harness, tenant);
  expect((await api.put('/v1/tax_profile', NY_SELLER)).status).toBe(200);
  const product = await api.post('/v1/products', { name: 'Pro' });
  const plan = await api.post('/v1/plans', {
    product: product.body.id,
    amount: 4900,
    currency: 'USD',
    interval: 'month',
  });
  expect(plan.status).toBe(201);
  return { tenant, planId: plan.body.id as string };
}

async function customerIn(tenant: TestTenant, state: string): Promise<string> {
  const api = apiAs(harness, tenant);
  const customer = await api.post('/v1/customers', {
    email: `buyer-${state.toLowerCase()}@example.com`,
    address: { line1: '1 Main Street', city: 'Somewhere', state, country: 'US' },
  });
  expect(customer.status).toBe(201);
  const card = await api.post(`/v1/customers/${customer.body.id as string}/payment_methods`, {
    payment_method: 'pm_card_visa',
  });
  expect(card.status).toBe(200);
  return customer.body.id as string;
}

describe('a New York SaaS seller', () => {
  it('charges a New York customer 49.00 + 4 % = 50.96 on the first invoice', async () => {
    const { tenant, planId } = await sellerWithPlan();
    const api = apiAs(harness, tenant);
    const customer = await customerIn(tenant, 'NY');
    const created = await api.post('/v1/subscriptions', { customer, plan: planId });
    expect(created.status).toBe(201);
    const subscriptionId = created.body.id as string;

    // 4900 × 4 % = 196 exactly.
    const invoice = await eventually(async () => {
      const list = await api.get(`/v1/invoices?subscription=${subscriptionId}`);
      expect(list.body.data).toHaveLength(1);
      return list.body.data[0] as { id: string };
    });
    const shown = await api.get(`/v1/invoices/${invoice.id}`);
    expect(shown.body).toMatchObject({ subtotal: 4900, tax: 196, total: 5096 });
    expect(shown.body.tax_summary).toEqual([
      expect.objectContaining({ jurisdiction: 'US-NY', rate_percent: '4', tax_amount: 196 }),
    ]);

    // The renewal will be taxed the same way, and the preview says so before it is charged.
    const upcoming = await api.get(`/v1/subscriptions/${subscriptionId}/upcoming_invoice`);
    expect(upcoming.status).toBe(200);
    expect(upcoming.body).toMatchObject({ subtotal: 4900, tax: 196, total: 5096, amount_due: 5096 });
    expect(upcoming.body.lines.data[0].tax).toMatchObject({ amount: 196, rate: '4', treatment: 'taxed' });
  });

  it('previews 5 % effective in Texas (6.25 % on 80 %) and no tax in California', async () => {
    const { tenant, planId } = await sellerWithPlan();
    const api = apiAs(harness, tenant);
    const previews: Record<string, unknown> = {};
    for (const state of ['TX', 'CA']) {
      const customer = await customerIn(tenant, state);
      // A trial: nothing is charged yet, so the preview is the only place the tax shows.
      const created = await api.post('/v1/subscriptions', {
        customer,
        plan: planId,
        trial_period_days: 14,
      });
      expect(created.status).toBe(201);
      const upcoming = await api.get(`/v1/subscriptions/${created.body.id as string}/upcoming_invoice`);
      expect(upcoming.status).toBe(200);
      previews[state] = upcoming.body;
    }
    // Texas: 4900 × 80 % × 6.25 % = 245 exactly.
    expect(previews.TX).toMatchObject({ subtotal: 4900, tax: 245, total: 5145 });
    // California does not tax SaaS: the line is 'not_taxable', not silently zero-rated.
    expect(previews.CA).toMatchObject({ subtotal: 4900, tax: 0, total: 4900 });
    expect((previews.CA as { lines: { data: { tax: object }[] } }).lines.data[0]?.tax).toMatchObject({
      treatment: 'not_taxable',
    });
  });
});
