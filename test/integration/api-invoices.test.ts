import {
  apiAs,
  createApiHarness,
  createTenant,
  eventually,
  expectProblem,
  type ApiHarness,
  type TestTenant,
} from '../support/api-harness';
import { expectLedgerBalanced } from '../support/ledger-assertions';

// Invoices through the HTTP API: the ones subscriptions issue (on the Temporal dev server, with the
// harness's FakeGateway as the payment provider), read back with their lines and payment attempts, and
// finance's manual retry.

let harness: ApiHarness;
beforeAll(async () => {
  harness = await createApiHarness(`api-invoices-${Date.now()}`);
  await harness.startWorker();
});
afterAll(async () => {
  await harness?.close();
});

interface Setup {
  tenant: TestTenant;
  api: ReturnType<typeof apiAs>;
  customer: (name: string) => Promise<{ id: string; providerCustomerId: string }>;
  plan: (name: string, amount: number) => Promise<string>;
}

async function setup(name: string): Promise<Setup> {
  const tenant = await createTenant(harness, name);
  const api = apiAs(harness, tenant);
  const customer = async (customerName: string) => {
    const created = await api.post('/v1/customers', { name: customerName });
    expect(created.status).toBe(201);
    const card = await api.post(`/v1/customers/${created.body.id as string}/payment_methods`, {
      payment_method: 'pm_card_visa',
    });
    expect(card.status).toBe(200);
    return { id: created.body.id as string, providerCustomerId: card.body.provider_customer_id as string };
  };
  const plan = async (productName: string, amount: number): Promise<string> => {
    const product = await api.post('/v1/products', { name: productName });
    const created = await api.post('/v1/plans', {
      product: product.body.id,
      amount,
      currency: 'usd',
      interval: 'month',
    });
    expect(created.status).toBe(201);
    return created.body.id as string;
  };
  return { tenant, api, customer, plan };
}

/** A subscription whose first invoice has been issued (and settled, one way or the other). */
async function subscribed(s: Setup, body: Record<string, unknown>) {
  const created = await s.api.post('/v1/subscriptions', body);
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const invoice = await eventually(async () => {
    const list = await s.api.get(`/v1/invoices?subscription=${id}`);
    expect(list.body.data).toHaveLength(1);
    const only = list.body.data[0] as { id: string; status: string; attempt_count: number };
    // Settled, or at least attempted (credit may have paid it without a charge).
    expect(only.status === 'paid' || only.attempt_count > 0).toBe(true);
    return only;
  });
  return {
    subscription: created.body as { id: string; current_period_start: string; current_period_end: string },
    invoice,
  };
}

describe('GET /v1/invoices', () => {
  it('filters by customer, subscription and status, newest first, with cursor pagination', async () => {
    const s = await setup('Invoice List Co');
    const basic = await s.plan('Basic', 3000);
    const ada = await s.customer('Ada');
    const bob = await s.customer('Bob');
    harness.gateway.scriptOutcomes(bob.providerCustomerId, ['decline']);
    const first = await subscribed(s, { customer: ada.id, plan: basic });
    const second = await subscribed(s, { customer: ada.id, plan: basic });
    const declined = await subscribed(s, { customer: bob.id, plan: basic });
    await eventually(async () =>
      expect((await s.api.get(`/v1/invoices/${declined.invoice.id}`)).body.payment_attempts).toHaveLength(1),
    );

    const ids = async (query: string) =>
      ((await s.api.get(`/v1/invoices${query}`)).body.data as Array<{ id: string }>).map((i) => i.id);
    expect(await ids('')).toEqual([declined.invoice.id, second.invoice.id, first.invoice.id]);
    expect(await ids(`?customer=${ada.id}`)).toEqual([second.invoice.id, first.invoice.id]);
    expect(await ids(`?subscription=${first.subscription.id}`)).toEqual([first.invoice.id]);
    expect(await ids('?status=open')).toEqual([declined.invoice.id]);
    expect(await ids(`?status=paid&customer=${bob.id}`)).toEqual([]);

    const page1 = await s.api.get('/v1/invoices?limit=2');
    expect(page1.body).toMatchObject({ object: 'list', url: '/v1/invoices', has_more: true });
    expect(page1.body.data).toHaveLength(2);
    const page2 = await s.api.get(`/v1/invoices?limit=2&starting_after=${page1.body.data[1].id as string}`);
    expect(page2.body).toMatchObject({ has_more: false, data: [{ id: first.invoice.id }] });

    expectProblem(await s.api.get('/v1/invoices?status=unpaid'), 400, 'validation-error', 'status');
    expectProblem(await s.api.get('/v1/invoices?customer=ada'), 400, 'validation-error', 'customer');
    expectProblem(await s.api.get('/v1/invoices?limit=101'), 400, 'validation-error', 'limit');
    expectProblem(await s.api.get('/v1/invoices?due=today'), 400, 'validation-error', 'due');
  });
});

describe('GET /v1/invoices/:id', () => {
  it('shows the number, billing reason, amounts, lines and payment attempts', async () => {
    const s = await setup('Invoice Detail Co');
    const basic = await s.plan('Basic', 3000);
    const seats = await s.plan('Seats', 500);
    const customer = await s.customer('Ada');
    const { subscription, invoice } = await subscribed(s, {
      customer: customer.id,
      items: [
        { plan: basic, quantity: 2 },
        { plan: seats, quantity: 3 },
      ],
    });
    const res = await s.api.get(`/v1/invoices/${invoice.id}`);
    expect(res.status).toBe(200);
    const period = { start: subscription.current_period_start, end: subscription.current_period_end };
    expect(res.body).toMatchObject({
      id: invoice.id,
      object: 'invoice',
      number: expect.stringMatching(/^INV-\d{6}$/),
      customer: customer.id,
      subscription: subscription.id,
      status: 'paid',
      billing_reason: 'subscription_create',
      currency: 'USD',
      period_start: period.start,
      period_end: period.end,
      subtotal: 7500,
      total: 7500,
      credit_applied: 0,
      amount_due: 7500,
      amount_paid: 7500,
      amount_remaining: 0,
      attempt_count: 1,
      lines: {
        object: 'list',
        data: [
          { kind: 'subscription', quantity: 2, unit_amount: 3000, amount: 6000, period, proration: null },
          { kind: 'subscription', quantity: 3, unit_amount: 500, amount: 1500, period, proration: null },
        ],
      },
      payment_attempts: [
        { attempt: 1, trigger: 'automatic', status: 'succeeded', amount: 7500, decline_code: null },
      ],
    });
    expect(res.body.lines.data[0].description).toMatch(/Basic/);
    expect(res.body.paid_at).not.toBeNull();
  });

  it('shows proration lines with their fraction and no unit amount', async () => {
    const s = await setup('Invoice Proration Co');
    const basic = await s.plan('Basic', 3000);
    const premium = await s.plan('Premium', 6000);
    const customer = await s.customer('Ada');
    const { subscription } = await subscribed(s, { customer: customer.id, plan: basic });
    const sub = await eventually(async () => {
      const res = await s.api.get(`/v1/subscriptions/${subscription.id}`);
      expect(res.body.status).toBe('active');
      return res;
    });
    const upgraded = await s.api.post(`/v1/subscriptions/${subscription.id}`, {
      items: [{ id: sub.body.items.data[0].id as string, plan: premium }],
      proration_behavior: 'always_invoice',
    });
    expect(upgraded.status).toBe(200);
    const invoice = await s.api.get(`/v1/invoices/${upgraded.body.latest_invoice.id as string}`);
    expect(invoice.body).toMatchObject({ billing_reason: 'subscription_update', status: 'paid' });
    const lines = invoice.body.lines.data as Array<Record<string, unknown>>;
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toMatchObject({ kind: 'proration', unit_amount: null, quantity: 1 });
      const fraction = line.proration as { unused_units: number; period_units: number };
      expect(fraction.unused_units).toBeGreaterThan(0);
      expect(fraction.unused_units).toBeLessThanOrEqual(fraction.period_units);
    }
    expect((lines[0]?.amount as number) + (lines[1]?.amount as number)).toBe(invoice.body.total);
    await expectLedgerBalanced(harness.pools.app, s.tenant.id);
  });

  it("spends the customer's credit balance on the next invoice", async () => {
    const s = await setup('Invoice Credit Co');
    const basic = await s.plan('Basic', 3000);
    const customer = await s.customer('Ada');
    const first = await subscribed(s, { customer: customer.id, plan: basic });
    await eventually(async () =>
      expect((await s.api.get(`/v1/subscriptions/${first.subscription.id}`)).body.status).toBe('active'),
    );
    // Cancel now with proration: the credit note goes to the balance, which pays the next invoice.
    const canceled = await s.api.post(`/v1/subscriptions/${first.subscription.id}/cancel`, {
      prorate: true,
    });
    expect(canceled.status).toBe(200);
    const creditMinor = canceled.body.credit_note.amount as number;
    // Nearly the whole month is unused (all of it when the cancel lands in the same second).
    expect(creditMinor).toBeGreaterThan(2900);
    expect(creditMinor).toBeLessThanOrEqual(3000);
    const next = await subscribed(s, { customer: customer.id, plan: basic });
    await eventually(async () => {
      const res = await s.api.get(`/v1/invoices/${next.invoice.id}`);
      expect(res.body).toMatchObject({
        total: 3000,
        credit_applied: creditMinor,
        amount_due: 3000 - creditMinor,
        amount_paid: 3000 - creditMinor,
        status: 'paid',
      });
    });
    expect((await s.api.get(`/v1/customers/${customer.id}`)).body.balance).toEqual([]);
    await expectLedgerBalanced(harness.pools.app, s.tenant.id);
  });

  it("is not found for an unknown id or another tenant's invoice", async () => {
    const owner = await setup('Invoice Owner Co');
    const basic = await owner.plan('Basic', 3000);
    const { invoice } = await subscribed(owner, { customer: (await owner.customer('Ada')).id, plan: basic });
    const intruder = await setup('Invoice Intruder Co');
    expectProblem(await intruder.api.get(`/v1/invoices/${invoice.id}`), 404, 'not-found', 'id');
    expectProblem(await intruder.api.post(`/v1/invoices/${invoice.id}/pay`, {}), 404, 'not-found', 'id');
    expect((await intruder.api.get('/v1/invoices')).body.data).toEqual([]);
    expectProblem(await owner.api.get('/v1/invoices/inv_nosuchinvoice'), 404, 'not-found', 'id');
  });
});

describe("POST /v1/invoices/:id/pay (finance's manual retry)", () => {
  it('answers 402 with the decline code, then 200 when the retry succeeds; the subscription recovers', async () => {
    const s = await setup('Finance Co');
    const basic = await s.plan('Basic', 3000);
    const customer = await s.customer('Grace');
    harness.gateway.scriptOutcomes(customer.providerCustomerId, ['decline', 'insufficient_funds', 'succeed']);
    const created = await s.api.post('/v1/subscriptions', { customer: customer.id, plan: basic });
    const subId = created.body.id as string;
    const open = await eventually(async () => {
      const list = await s.api.get(`/v1/invoices?subscription=${subId}&status=open`);
      expect(list.body.data).toHaveLength(1);
      return list.body.data[0] as { id: string };
    });
    // The automatic first attempt has been declined: the workflow is dunning.
    await eventually(async () => {
      const state = await s.api.get(`/v1/subscriptions/${subId}`);
      expect(state.body.status).toBe('incomplete');
      expect(state.body.workflow.dunning).toMatchObject({ attempts: 1, lastDeclineCode: 'card_declined' });
    });

    const declined = await s.api.post(`/v1/invoices/${open.id}/pay`, {});
    expectProblem(declined, 402, 'payment-declined', 'payment_method');
    expect(declined.body.decline_code).toBe('insufficient_funds');

    const paid = await s.api.post(`/v1/invoices/${open.id}/pay`, {});
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ status: 'paid', amount_remaining: 0 });
    expect(
      paid.body.payment_attempts.map((a: { trigger: string; status: string }) => [a.trigger, a.status]),
    ).toEqual([
      ['automatic', 'declined'],
      ['manual', 'declined'],
      ['manual', 'succeeded'],
    ]);
    await eventually(async () =>
      expect((await s.api.get(`/v1/subscriptions/${subId}`)).body.status).toBe('active'),
    );
    expectProblem(await s.api.post(`/v1/invoices/${open.id}/pay`, {}), 409, 'conflict', 'id');
    await expectLedgerBalanced(harness.pools.app, s.tenant.id);
  });

  it('still collects an invoice left open by a canceled subscription, through the same idempotent activity', async () => {
    const s = await setup('Collections Co');
    const basic = await s.plan('Basic', 3000);
    const customer = await s.customer('Grace');
    harness.gateway.scriptOutcomes(customer.providerCustomerId, ['decline', 'succeed']);
    const created = await s.api.post('/v1/subscriptions', { customer: customer.id, plan: basic });
    const subId = created.body.id as string;
    await eventually(async () => {
      const state = await s.api.get(`/v1/subscriptions/${subId}`);
      expect(state.body.workflow.dunning).toMatchObject({ attempts: 1 });
    });
    const canceled = await s.api.post(`/v1/subscriptions/${subId}/cancel`, { at: 'now' });
    expect(canceled.body.status).toBe('canceled');
    const open = (await s.api.get(`/v1/invoices?subscription=${subId}&status=open`)).body.data[0] as {
      id: string;
    };

    const paid = await s.api.post(`/v1/invoices/${open.id}/pay`, {}, 'collect-after-cancel');
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ status: 'paid', amount_remaining: 0, payment: { status: 'paid' } });
    expect(
      paid.body.payment_attempts.map((a: { attempt: number; trigger: string }) => [a.attempt, a.trigger]),
    ).toEqual([
      [1, 'automatic'],
      [2, 'manual'],
    ]);
    const replay = await s.api.post(`/v1/invoices/${open.id}/pay`, {}, 'collect-after-cancel');
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(
      harness.gateway.paymentsCreated().filter((p) => p.idempotencyKey.startsWith(`charge:${open.id}:`)),
    ).toHaveLength(1);
    await expectLedgerBalanced(harness.pools.app, s.tenant.id);
  });
  it('answers 202 while the payment is processing; the invoice stays open', async () => {
    const s = await setup('Processing Co');
    const basic = await s.plan('Basic', 3000);
    const customer = await s.customer('Grace');
    harness.gateway.scriptOutcomes(customer.providerCustomerId, ['decline', 'processing']);
    const { subscription, invoice } = await subscribed(s, { customer: customer.id, plan: basic });
    await eventually(async () => {
      const state = await s.api.get(`/v1/subscriptions/${subscription.id}`);
      expect(state.body.workflow.dunning).toMatchObject({ attempts: 1 });
    });
    expectProblem(
      await s.api.post(`/v1/invoices/${invoice.id}/pay`, { amount: 1 }),
      400,
      'validation-error',
      'amount',
    );
    const processing = await s.api.post(`/v1/invoices/${invoice.id}/pay`, {});
    expect(processing.status).toBe(202);
    expect(processing.body).toMatchObject({
      id: invoice.id,
      status: 'open',
      payment: { status: 'processing', invoiceId: invoice.id },
    });
    await expectLedgerBalanced(harness.pools.app, s.tenant.id);
  });
});
