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
  return created.body as {
    id: string;
    current_period_end: string;
    items: { data: Array<{ id: string }> };
  };
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
      'items[0].plan',
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
    const seats = await s.plan('Seats', 500);
    const addon = await s.api.post(`/v1/subscriptions/${sub.id}`, { items: [{ plan: seats }] });
    expect(addon.status).toBe(200);
    const addonItem = (addon.body.items.data as Array<{ id: string; kind: string }>).find(
      (item) => item.kind === 'addon',
    )?.id;
    const refusals: Array<[string, Record<string, unknown>, number, string, string]> = [
      [
        'two kinds of change',
        { cancel_at_period_end: true, trial_end: '2099-01-01T00:00:00.000Z' },
        400,
        'validation-error',
        'items',
      ],
      [
        'two items',
        { items: [{ id: planItem, quantity: 2 }, { plan: seats }] },
        400,
        'validation-error',
        'items',
      ],
      [
        'proration without items',
        { cancel_at_period_end: true, proration_behavior: 'none' },
        400,
        'validation-error',
        'proration_behavior',
      ],
      [
        'unknown proration behavior',
        { items: [{ id: planItem, quantity: 2 }], proration_behavior: 'later' },
        400,
        'validation-error',
        'proration_behavior',
      ],
      [
        'timing for an add-on',
        { items: [{ plan: seats }], proration_timing: 'period_end' },
        400,
        'validation-error',
        'proration_timing',
      ],
      ['a new item without a price', { items: [{ quantity: 2 }] }, 400, 'validation-error', 'items[0].price'],
      ['an item with nothing to change', { items: [{ id: planItem }] }, 400, 'validation-error', 'items[0]'],
      [
        'deleted with a quantity',
        { items: [{ id: addonItem, deleted: true, quantity: 2 }] },
        400,
        'validation-error',
        'items[0].quantity',
      ],
      [
        'unknown item',
        { items: [{ id: 'si_nosuchitem0000', quantity: 2 }] },
        404,
        'not-found',
        'items[0].id',
      ],
      [
        'unknown plan',
        { items: [{ id: planItem, plan: 'plan_nosuchplan' }] },
        404,
        'not-found',
        'items[0].plan',
      ],
      [
        'same quantity',
        { items: [{ id: planItem, quantity: 1 }] },
        422,
        'unprocessable',
        'items[0].quantity',
      ],
      [
        'removing the plan item',
        { items: [{ id: planItem, deleted: true }] },
        422,
        'unprocessable',
        'items[0].id',
      ],
      [
        'an add-on changing price',
        { items: [{ id: addonItem, plan: basic }] },
        422,
        'unprocessable',
        'items[0].price',
      ],
      ['the same add-on twice', { items: [{ plan: seats }] }, 422, 'unprocessable', 'items[0].plan'],
    ];
    for (const [name, body, status, type, field] of refusals) {
      const res = await s.api.post(`/v1/subscriptions/${sub.id}`, body);
      try {
        expectProblem(res, status, type, field);
      } catch (error) {
        throw new Error(`${name}: ${(error as Error).message}`, { cause: error });
      }
    }
    expectProblem(
      await s.api.post('/v1/subscriptions/sub_doesnotexist00000000', { cancel_at_period_end: true }),
      404,
      'not-found',
      'id',
    );
  });
});

describe('POST /v1/subscriptions/:id (quantities and add-ons)', () => {
  it('changes the quantity now with create_prorations: the lines wait for the next invoice', async () => {
    const s = await setup('Seats Co');
    const basic = await s.plan('Basic', 3000);
    const sub = await activeSubscription(s, basic);
    const changed = await s.api.post(`/v1/subscriptions/${sub.id}`, {
      items: [{ id: sub.items.data[0]?.id, quantity: 3 }],
      proration_timing: 'now',
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      pending_update: null,
      latest_invoice: null,
      items: { data: [{ kind: 'plan', quantity: 3 }] },
    });
    const lines = changed.body.proration.lines as Array<{ amount: number }>;
    expect(lines.length).toBeGreaterThan(0);
    // ≈ +60.00 for two more seats over nearly the whole month.
    expect(changed.body.proration.net_amount).toBeGreaterThan(5900);
    expect(changed.body.proration.net_amount).toBeLessThanOrEqual(6000);

    const upcoming = await s.api.get(`/v1/subscriptions/${sub.id}/upcoming_invoice`);
    const upcomingLines = upcoming.body.lines.data as Array<{ kind: string; amount: number }>;
    expect(upcomingLines.map((line) => line.kind)).toEqual(['subscription', ...lines.map(() => 'proration')]);
    expect(upcoming.body.total).toBe(9000 + (changed.body.proration.net_amount as number));
    await expectLedgerBalanced(harness.pools.app, s.tenant.id);
  });

  it('adds an add-on once per Idempotency-Key; removes it at the period end or now', async () => {
    const s = await setup('Addons Co');
    const basic = await s.plan('Basic', 3000);
    const seats = await s.plan('Seats', 500);
    const sub = await activeSubscription(s, basic);
    const body = { items: [{ plan: seats, quantity: 2 }], proration_behavior: 'none' };
    const added = await s.api.post(`/v1/subscriptions/${sub.id}`, body, 'add-seats-1');
    expect(added.status).toBe(200);
    const addon = (added.body.items.data as Array<{ id: string; kind: string; quantity: number }>).find(
      (item) => item.kind === 'addon',
    );
    expect(addon).toMatchObject({ id: expect.stringMatching(/^si_/), quantity: 2 });
    expect(added.body.proration).toEqual({ lines: [], net_amount: 0 });

    const replay = await s.api.post(`/v1/subscriptions/${sub.id}`, body, 'add-seats-1');
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.items).toEqual(added.body.items);
    const state = await s.api.get(`/v1/subscriptions/${sub.id}`);
    expect(state.body.items.data).toHaveLength(2);

    const removed = await s.api.post(`/v1/subscriptions/${sub.id}`, {
      items: [{ id: addon?.id, deleted: true }],
      proration_timing: 'period_end',
    });
    expect(removed.status).toBe(200);
    expect(removed.body.pending_update).toEqual({ effective_at: removed.body.current_period_end });
    expect(removed.body.items.data).toHaveLength(2);
    const upcoming = await s.api.get(`/v1/subscriptions/${sub.id}/upcoming_invoice`);
    expect(upcoming.body.total).toBe(3000);

    // By default a removal takes effect now.
    const now = await s.api.post(`/v1/subscriptions/${sub.id}`, {
      items: [{ id: addon?.id, deleted: true }],
    });
    expect(now.status).toBe(200);
    expect(now.body.pending_update).toBeNull();
    expect(now.body.items.data.map((item: { kind: string }) => item.kind)).toEqual(['plan']);
    // Credit for the unused seats, waiting for the next invoice.
    expect(now.body.proration.net_amount).toBeLessThan(0);
    await expectLedgerBalanced(harness.pools.app, s.tenant.id);
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
    expectProblem(await s.api.post(`/v1/subscriptions/${sub.id}/cancel`, {}), 409, 'conflict', 'id');

    // The credit is spent on the customer's next invoice: the upcoming one shows it.
    const next = await activeSubscription(s, basic, { trial_period_days: 7 });
    const upcoming = await s.api.get(`/v1/subscriptions/${next.id}/upcoming_invoice`);
    expect(upcoming.status).toBe(200);
    const credit = now.body.credit_note.amount as number;
    expect(upcoming.body).toMatchObject({ total: 3000, credit_applied: credit, amount_due: 3000 - credit });
    await expectLedgerBalanced(harness.pools.app, s.tenant.id);
  });

  it('refuses bad cancel and pause bodies, naming the field', async () => {
    const s = await setup('Cancel Bodies Co');
    const basic = await s.plan('Basic', 3000);
    const sub = await activeSubscription(s, basic);
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['cancel', { at: 'tomorrow' }, 'at'],
      ['cancel', { prorate: 'yes' }, 'prorate'],
      ['cancel', { when: 'now' }, 'when'],
      ['pause', {}, 'behavior'],
      ['pause', { behavior: 'pause_forever' }, 'behavior'],
      ['pause', { behavior: 'pause_service', resumes_at: 'soon' }, 'resumes_at'],
      ['resume', { note: 'x' }, 'note'],
    ];
    for (const [action, body, field] of cases) {
      expectProblem(
        await s.api.post(`/v1/subscriptions/${sub.id}/${action}`, body),
        400,
        'validation-error',
        field,
      );
    }
    expectProblem(await s.api.post(`/v1/subscriptions/${sub.id}/resume`, {}), 409, 'conflict', 'status');
    const past = new Date(Date.now() - 60_000).toISOString();
    expectProblem(
      await s.api.post(`/v1/subscriptions/${sub.id}/pause`, {
        behavior: 'pause_collection',
        resumes_at: past,
      }),
      422,
      'unprocessable',
      'resumes_at',
    );
  });

  it('schedules a service pause for the period end: no upcoming invoice until resume withdraws it', async () => {
    const s = await setup('Pause Service Co');
    const basic = await s.plan('Basic', 3000);
    const sub = await activeSubscription(s, basic);
    const paused = await s.api.post(`/v1/subscriptions/${sub.id}/pause`, { behavior: 'pause_service' });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({
      status: 'active',
      pause: { behavior: 'pause_service', in_effect: false, effective_at: sub.current_period_end },
    });
    expectProblem(await s.api.get(`/v1/subscriptions/${sub.id}/upcoming_invoice`), 404, 'not-found', 'id');
    const resumed = await s.api.post(`/v1/subscriptions/${sub.id}/resume`, {});
    expect(resumed.body).toMatchObject({ status: 'active', pause: null });
    expect((await s.api.get(`/v1/subscriptions/${sub.id}/upcoming_invoice`)).status).toBe(200);
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
