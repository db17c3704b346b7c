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

// The lifecycle through the HTTP API on the Temporal dev server (real time: no renewal happens during a
// test; every change below is a workflow update answered synchronously).

let harness: ApiHarness;
beforeAll(async () => {
  harness = await createApiHarness(`api-changes-${Date.now()}`);
  await harness.startWorker();
});
afterAll(async () => {
  await harness?.close();
});

interface Setup {
  tenant: TestTenant;
  api: ReturnType<typeof apiAs>;
  customerId: string;
  providerCustomerId: string;
  plan: (name: string, amount: number) => Promise<string>;
}

async function setup(name: string): Promise<Setup> {
  const tenant = await createTenant(harness, name);
  const api = apiAs(harness, tenant);
  const customer = await api.post('/v1/customers', { email: 'grace@example.com', name: 'Grace' });
  const card = await api.post(`/v1/customers/${customer.body.id as string}/payment_methods`, {
    payment_method: 'pm_card_visa',
  });
  expect(card.status).toBe(200);
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
  return {
    tenant,
    api,
    customerId: customer.body.id as string,
    providerCustomerId: card.body.provider_customer_id as string,
    plan,
  };
}

async function activeSubscription(s: Setup, planId: string, extra: Record<string, unknown> = {}) {
  const created = await s.api.post('/v1/subscriptions', {
    customer: s.customerId,
    items: [{ plan: planId }],
    ...extra,
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  const expected = 'trial_period_days' in extra ? 'trialing' : 'active';
  await eventually(async () =>
    expect((await s.api.get(`/v1/subscriptions/${id}`)).body.status).toBe(expected),
  );
  return created.body as { id: string; items: { data: Array<{ id: string }> } };
}

describe('POST /v1/subscriptions/:id (plan changes)', () => {
  it('upgrades now with always_invoice: the answer carries the proration lines and the paid invoice', async () => {
    const s = await setup('Upgrade Co');
    const basic = await s.plan('Basic', 3000);
    const premium = await s.plan('Premium', 6000);
    const sub = await activeSubscription(s, basic);
    const planItem = sub.items.data[0]?.id;

    const changed = await s.api.post(
      `/v1/subscriptions/${sub.id}`,
      { items: [{ id: planItem, plan: premium }], proration_behavior: 'always_invoice' },
      'upgrade-1',
    );
    expect(changed.status).toBe(200);
    expect(changed.body.plan).toBe(premium);
    // Right after the start almost the whole month is unused: credit ≈ −30.00, charge ≈ +60.00.
    const lines = changed.body.proration.lines as Array<{ amount: number; description: string }>;
    expect(lines).toHaveLength(2);
    expect(lines[0]?.description).toMatch(/^Unused time on Basic after/);
    expect(lines[0]?.amount).toBeLessThan(0);
    expect(lines[1]?.description).toMatch(/^Remaining time on Premium after/);
    expect(changed.body.proration.net_amount).toBe(lines[0]!.amount + lines[1]!.amount);
    expect(changed.body.latest_invoice).toMatchObject({
      status: 'paid',
      total: changed.body.proration.net_amount,
    });

    const invoice = await s.api.get(`/v1/invoices/${changed.body.latest_invoice.id as string}`);
    expect(invoice.body).toMatchObject({ billing_reason: 'subscription_update', status: 'paid' });
    expect(invoice.body.lines.data.map((line: { kind: string }) => line.kind)).toEqual([
      'proration',
      'proration',
    ]);

    // The same request again (same Idempotency-Key) replays: no second change, no second invoice.
    const replay = await s.api.post(
      `/v1/subscriptions/${sub.id}`,
      { items: [{ id: planItem, plan: premium }], proration_behavior: 'always_invoice' },
      'upgrade-1',
    );
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const invoices = await s.api.get(`/v1/invoices?subscription=${sub.id}`);
    expect(invoices.body.data).toHaveLength(2);
    await expectLedgerBalanced(harness.pools.app, s.tenant.id);
  });

  it('schedules a downgrade for the period end and shows it in the upcoming invoice', async () => {
    const s = await setup('Downgrade Co');
    const premium = await s.plan('Premium', 6000);
    const basic = await s.plan('Basic', 3000);
    const sub = await activeSubscription(s, premium);
    const changed = await s.api.post(`/v1/subscriptions/${sub.id}`, {
      items: [{ id: sub.items.data[0]?.id, plan: basic }],
    });
    expect(changed.status).toBe(200);
    expect(changed.body.pending_update).toEqual({ effective_at: changed.body.current_period_end });
    expect(changed.body.latest_invoice).toBeNull();

    const upcoming = await s.api.get(`/v1/subscriptions/${sub.id}/upcoming_invoice`);
    expect(upcoming.status).toBe(200);
    expect(upcoming.body).toMatchObject({
      period_start: changed.body.current_period_end,
      total: 3000,
      amount_due: 3000,
    });
  });

  it('refuses bad changes with problem+json naming the field, before anything happens', async () => {
    const s = await setup('Refusals Co');
    const basic = await s.plan('Basic', 3000);
    const sub = await activeSubscription(s, basic);
    const planItem = sub.items.data[0]?.id;
    expectProblem(
      await s.api.post(`/v1/subscriptions/${sub.id}`, { items: [{ id: planItem, quantity: 0 }] }),
      400,
      'validation-error',
      'items[0].quantity',
    );
    expectProblem(
      await s.api.post(`/v1/subscriptions/${sub.id}`, { items: [{ id: planItem, plan: basic }] }),
      422,
      'unprocessable',
      'price',
    );
    expectProblem(
      await s.api.post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: false }),
      409,
      'conflict',
      'cancel_at_period_end',
    );
    expectProblem(
      await s.api.post(`/v1/subscriptions/${sub.id}`, { trial_end: '2099-01-01T00:00:00.000Z' }),
      409,
      'conflict',
      'status',
    );
    expectProblem(await s.api.post(`/v1/subscriptions/${sub.id}`, {}), 400, 'validation-error', 'items');
    expectProblem(
      await s.api.post('/v1/subscriptions/sub_doesnotexist00000000', { cancel_at_period_end: true }),
      404,
      'not-found',
      'id',
    );
  });
});

describe('cancel, pause and resume', () => {
  it('cancel at period end is undone; cancel now with proration issues a credit note', async () => {
    const s = await setup('Cancel Co');
    const basic = await s.plan('Basic', 3000);
    const sub = await activeSubscription(s, basic);
    const later = await s.api.post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: true });
    expect(later.body).toMatchObject({ cancel_at_period_end: true, status: 'active' });
    const undone = await s.api.post(`/v1/subscriptions/${sub.id}`, { cancel_at_period_end: false });
    expect(undone.body.cancel_at_period_end).toBe(false);

    const now = await s.api.post(`/v1/subscriptions/${sub.id}/cancel`, { at: 'now', prorate: true });
    expect(now.status).toBe(200);
    expect(now.body.status).toBe('canceled');
    expect(now.body.credit_note.number).toMatch(/^CN-/);
    expect(now.body.credit_note.amount).toBeGreaterThan(2900); // nearly the whole month is unused
    const customer = await s.api.get(`/v1/customers/${s.customerId}`);
    expect(customer.body.balance).toEqual([{ amount: now.body.credit_note.amount, currency: 'USD' }]);
    await expectLedgerBalanced(harness.pools.app, s.tenant.id);
  });

  it('pauses collection and resumes', async () => {
    const s = await setup('Pause Co');
    const basic = await s.plan('Basic', 3000);
    const sub = await activeSubscription(s, basic);
    const paused = await s.api.post(`/v1/subscriptions/${sub.id}/pause`, { behavior: 'pause_collection' });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({
      status: 'paused',
      pause: { behavior: 'pause_collection', in_effect: true },
    });
    expectProblem(
      await s.api.post(`/v1/subscriptions/${sub.id}/pause`, { behavior: 'pause_service' }),
      409,
      'conflict',
      'status',
    );
    const resumed = await s.api.post(`/v1/subscriptions/${sub.id}/resume`, {});
    expect(resumed.body).toMatchObject({ status: 'active', pause: null });
    await expectLedgerBalanced(harness.pools.app, s.tenant.id);
  });

  it('starts a trial with items and extends it', async () => {
    const s = await setup('Trial Co');
    const basic = await s.plan('Basic', 3000);
    const sub = await activeSubscription(s, basic, { trial_period_days: 14 });
    const extended = await s.api.post(`/v1/subscriptions/${sub.id}`, {
      trial_end: '2099-01-01T00:00:00.000Z',
    });
    expectProblem(extended, 422, 'unprocessable', 'trial_end');
    const later = new Date(Date.now() + 20 * 86_400_000).toISOString();
    const ok = await s.api.post(`/v1/subscriptions/${sub.id}`, { trial_end: later });
    expect(ok.status).toBe(200);
    expect(ok.body.trial_end).toBe(new Date(later).toISOString());
    expect(ok.body.status).toBe('trialing');
    await expectLedgerBalanced(harness.pools.app, s.tenant.id);
  });
});

describe("POST /v1/invoices/:id/pay (finance's manual retry)", () => {
  it('answers 402 with the decline code, then 200 when the retry succeeds; the subscription recovers', async () => {
    const s = await setup('Finance Co');
    const basic = await s.plan('Basic', 3000);
    harness.gateway.scriptOutcomes(s.providerCustomerId, ['decline', 'insufficient_funds', 'succeed']);
    const created = await s.api.post('/v1/subscriptions', { customer: s.customerId, plan: basic });
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
    harness.gateway.scriptOutcomes(s.providerCustomerId, ['decline', 'succeed']);
    const created = await s.api.post('/v1/subscriptions', { customer: s.customerId, plan: basic });
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
});
