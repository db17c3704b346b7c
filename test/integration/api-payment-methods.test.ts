import Stripe from 'stripe';
import { newId } from '../../src/db/ids';
import { postJournalEntry } from '../../src/db/ledger';
import { withTenant } from '../../src/db/with-tenant';
import type { JournalLineDraft } from '../../src/domain/ledger';
import { StripeGateway } from '../../src/gateways/stripe-gateway';
import { getStateQuery, subscriptionWorkflowId } from '../../src/workflows/contracts';
import {
  apiAs,
  createApiHarness,
  createTenant,
  eventually,
  expectProblem,
  signalsReceived,
  type ApiHarness,
  type TestTenant,
} from '../support/api-harness';
import { seedSubscription } from '../support/fixtures';
import { startStripeMock, type StripeMock } from '../support/stripe-mock';

// POST /v1/customers/:id/payment_methods through the real Stripe SDK against stripe-mock (Stripe's
// official mock: every request we send is one Stripe accepts). stripe-mock never declines, so the
// decline and not-found answers come from Stripe's documented error bodies through the SDK's httpClient.
// Subscription workflows are started without a worker: each records the signals it is sent.

interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly idempotencyKey: string | null;
}

const DECLINED_ON_ATTACH = 'pm_card_visa_chargeDeclined';
const MISSING = 'pm_doesNotExist';

let mock: StripeMock | undefined;
let harness: ApiHarness<StripeGateway>;
let tenant: TestTenant;
let other: TestTenant;
const requests: RecordedRequest[] = [];

function stripeError(status: number, error: Record<string, unknown>): Response {
  return new Response(JSON.stringify({ error }), {
    status,
    headers: { 'content-type': 'application/json', 'request-id': 'req_test' },
  });
}

const httpClient = Stripe.createFetchHttpClient(async (input, init) => {
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
  const headers = new Headers(init?.headers);
  requests.push({
    method: init?.method ?? 'GET',
    path: url.pathname,
    idempotencyKey: headers.get('idempotency-key'),
  });
  if (url.pathname === `/v1/payment_methods/${DECLINED_ON_ATTACH}/attach`) {
    return stripeError(402, {
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'generic_decline',
      message: 'Your card was declined.',
    });
  }
  if (url.pathname === `/v1/payment_methods/${MISSING}/attach`) {
    return stripeError(404, {
      type: 'invalid_request_error',
      code: 'resource_missing',
      message: `No such PaymentMethod: '${MISSING}'`,
      param: 'payment_method',
    });
  }
  return fetch(input, init);
});

beforeAll(async () => {
  mock = await startStripeMock();
  const gateway = new StripeGateway({
    apiKey: 'sk_test_ledgerline',
    webhookSecret: 'whsec_test_ledgerline',
    host: mock.host,
    port: mock.port,
    protocol: 'http',
    httpClient,
    maxNetworkRetries: 0,
  });
  harness = await createApiHarness(`api-payment-methods-${Date.now()}`, { gateway });
  [tenant, other] = await Promise.all([createTenant(harness, 'PM A'), createTenant(harness, 'PM B')]);
});

afterAll(async () => {
  await harness?.close();
  await mock?.stop();
});

beforeEach(() => {
  requests.length = 0;
});

async function createCustomer(as: TestTenant = tenant): Promise<string> {
  const res = await apiAs(harness, as).post('/v1/customers', { email: 'ada@example.com', name: 'Ada' });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

const attach = (customer: string, body: object, key?: string, as: TestTenant = tenant) =>
  apiAs(harness, as).post(`/v1/customers/${customer}/payment_methods`, body, key);

describe('attaching a payment method through Stripe', () => {
  it('creates the Stripe customer once, attaches, sets the default, and shows it on the customer', async () => {
    const customer = await createCustomer();

    const res = await attach(customer, { payment_method: 'pm_card_visa' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      object: 'payment_profile',
      customer,
      provider: 'stripe',
      provider_customer_id: expect.stringMatching(/^cus_/),
      default_payment_method: 'pm_card_visa',
      payment_method: 'pm_card_visa',
      updated_at: expect.any(String),
    });
    expect(requests).toEqual([
      { method: 'POST', path: '/v1/customers', idempotencyKey: `customer:${tenant.id}:${customer}` },
      {
        method: 'POST',
        path: '/v1/payment_methods/pm_card_visa/attach',
        idempotencyKey: `pm:${customer}:pm_card_visa`,
      },
      {
        method: 'POST',
        path: `/v1/customers/${res.body.provider_customer_id}`,
        idempotencyKey: `pm:${customer}:pm_card_visa:default`,
      },
    ]);

    const shown = await apiAs(harness, tenant).get(`/v1/customers/${customer}`);
    expect(shown.body).toMatchObject({ id: customer, default_payment_method: 'pm_card_visa', balance: [] });

    requests.length = 0;
    const second = await attach(customer, { payment_method: 'pm_card_mastercard' });
    expect(second.body).toMatchObject({
      provider_customer_id: res.body.provider_customer_id,
      default_payment_method: 'pm_card_mastercard',
    });
    expect(requests.map((r) => r.path)).not.toContain('/v1/customers');
  });

  it('attaches without changing the default when set_default is false', async () => {
    const customer = await createCustomer();
    await attach(customer, { payment_method: 'pm_card_visa' });
    requests.length = 0;

    const res = await attach(customer, { payment_method: 'pm_card_amex', set_default: false });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      default_payment_method: 'pm_card_visa',
      payment_method: 'pm_card_amex',
    });
    expect(requests.map((r) => r.path)).toEqual(['/v1/payment_methods/pm_card_amex/attach']);
  });

  it('answers a card Stripe refuses with 402 naming payment_method, and keeps the old default', async () => {
    const customer = await createCustomer();
    await attach(customer, { payment_method: 'pm_card_visa' });

    const res = await attach(customer, { payment_method: DECLINED_ON_ATTACH });
    expectProblem(res, 402, 'payment-method-rejected', 'payment_method');
    expect(res.body).toMatchObject({ decline_code: 'generic_decline', detail: 'Your card was declined.' });
    const shown = await apiAs(harness, tenant).get(`/v1/customers/${customer}`);
    expect(shown.body.default_payment_method).toBe('pm_card_visa');
  });

  it('answers a payment method Stripe does not know with 404 naming payment_method', async () => {
    const customer = await createCustomer();
    expectProblem(await attach(customer, { payment_method: MISSING }), 404, 'not-found', 'payment_method');
  });

  it.each([
    ['no payment_method', {}, 'payment_method'],
    ['a card number instead of a pm_ id', { payment_method: '4242424242424242' }, 'payment_method'],
    ['a non-boolean set_default', { payment_method: 'pm_card_visa', set_default: 'yes' }, 'set_default'],
    ['an unknown field', { payment_method: 'pm_card_visa', card: { number: '4242' } }, 'card'],
  ])('refuses %s with 400 before calling Stripe', async (_label, body, field) => {
    const customer = await createCustomer();
    expectProblem(await attach(customer, body), 400, 'validation-error', field);
    expect(requests).toEqual([]);
  });

  it('does not find another tenant’s customer, and never calls Stripe for it', async () => {
    const theirs = await createCustomer(other);
    requests.length = 0;
    expectProblem(await attach(theirs, { payment_method: 'pm_card_visa' }), 404, 'not-found', 'id');
    expect(requests).toEqual([]);
    expectProblem(await apiAs(harness, tenant).get(`/v1/customers/${theirs}`), 404, 'not-found', 'id');
  });

  it('replays a retried request with the same Idempotency-Key without calling Stripe again', async () => {
    const customer = await createCustomer();
    const first = await attach(customer, { payment_method: 'pm_card_visa' }, 'attach-visa-1');
    expect(first.status).toBe(200);
    requests.length = 0;

    const again = await attach(customer, { payment_method: 'pm_card_visa' }, 'attach-visa-1');
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(requests).toEqual([]);

    const reused = await attach(customer, { payment_method: 'pm_card_mastercard' }, 'attach-visa-1');
    expectProblem(reused, 422, 'idempotency-key-reused', 'Idempotency-Key');
    expect(requests).toEqual([]);
  });

  it('does not store a failed attempt under its Idempotency-Key: the retry does the work', async () => {
    const customer = await createCustomer();
    const declined = await attach(customer, { payment_method: DECLINED_ON_ATTACH }, 'attach-retry-1');
    expect(declined.status).toBe(402);
    const again = await attach(customer, { payment_method: DECLINED_ON_ATTACH }, 'attach-retry-1');
    expect(again.status).toBe(402);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('subscriptions learn about the new default', () => {
  it('signals every running subscription of the customer, and skips finished ones', async () => {
    const seeded = await seedSubscription(harness.pools.app, tenant.id, {
      createdAt: new Date().toISOString(),
      amountMinor: 2500,
      recurrence: { interval: 'month', intervalCount: 1 },
      paymentMethod: null,
    });
    const running = await harness.startSubscriptionWorkflow(seeded);
    // Two more subscriptions of the same customer: one canceled (its workflow still open, so a stray
    // signal would show), one whose workflow is gone.
    const canceledId = newId('subscription');
    const goneId = newId('subscription');
    await withTenant(harness.pools.app, tenant.id, async (db) => {
      for (const [id, status] of [
        [canceledId, 'canceled'],
        [goneId, 'active'],
      ] as const) {
        await db.query(
          `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, workflow_id, currency)
           VALUES ($1, $2, $3, $4, $5, $6, 'USD')`,
          [id, tenant.id, seeded.customerId, seeded.planId, status, subscriptionWorkflowId(tenant.id, id)],
        );
      }
    });
    const canceled = await harness.startSubscriptionWorkflow({
      workflowId: subscriptionWorkflowId(tenant.id, canceledId),
      input: { ...seeded.input, subscriptionId: canceledId },
    });

    const res = await attach(seeded.customerId, { payment_method: 'pm_card_visa' });
    expect(res.status).toBe(200);

    expect(await signalsReceived(running)).toEqual([
      { name: 'paymentMethodUpdated', payload: { paymentMethodId: 'pm_card_visa' } },
    ]);
    expect(await signalsReceived(canceled)).toEqual([]);

    // set_default: false changes nothing the subscriptions charge, so they are not told.
    await attach(seeded.customerId, { payment_method: 'pm_card_amex', set_default: false });
    expect(await signalsReceived(running)).toHaveLength(1);
    await Promise.all([running.terminate(), canceled.terminate()]);
  });
});

describe('the customer’s credit balance', () => {
  it('is derived from the ledger per currency, leaving out currencies that net to zero', async () => {
    const customer = await createCustomer();
    const credit = (key: string, currency: string, lines: JournalLineDraft[]) =>
      withTenant(harness.pools.app, tenant.id, (db) =>
        postJournalEntry(db, tenant.id, {
          idempotencyKey: `${key}:${customer}`,
          sourceType: 'test',
          sourceId: customer,
          currency,
          occurredAt: new Date().toISOString(),
          description: key,
          lines,
        }),
      );
    await credit('goodwill', 'EUR', [
      { account: 'credits_granted', debitMinor: 1500 },
      { account: 'customer_credit', customerId: customer, creditMinor: 1500 },
    ]);
    await credit('applied', 'EUR', [
      { account: 'customer_credit', customerId: customer, debitMinor: 500 },
      { account: 'accounts_receivable', customerId: customer, creditMinor: 500 },
    ]);
    await credit('usd-goodwill', 'USD', [
      { account: 'credits_granted', debitMinor: 200 },
      { account: 'customer_credit', customerId: customer, creditMinor: 200 },
    ]);
    await credit('gbp-in', 'GBP', [
      { account: 'credits_granted', debitMinor: 100 },
      { account: 'customer_credit', customerId: customer, creditMinor: 100 },
    ]);
    await credit('gbp-out', 'GBP', [
      { account: 'customer_credit', customerId: customer, debitMinor: 100 },
      { account: 'accounts_receivable', customerId: customer, creditMinor: 100 },
    ]);

    const res = await apiAs(harness, tenant).get(`/v1/customers/${customer}`);
    expect(res.body.balance).toEqual([
      { amount: 1000, currency: 'EUR' },
      { amount: 200, currency: 'USD' },
    ]);
  });
});

describe('end to end: a past-due subscription recovers when a card is added', () => {
  let withWorker: ApiHarness;

  beforeAll(async () => {
    withWorker = await createApiHarness(`api-payment-methods-e2e-${Date.now()}`);
    await withWorker.startWorker();
  });

  afterAll(async () => {
    await withWorker?.close();
  });

  it('retries the open invoice with the new default and pays it', async () => {
    const acme = await createTenant(withWorker, 'Recovering');
    const seeded = await seedSubscription(withWorker.pools.app, acme.id, {
      createdAt: new Date().toISOString(),
      amountMinor: 2500,
      recurrence: { interval: 'month', intervalCount: 1 },
      paymentMethod: null,
    });
    const handle = await withWorker.startSubscriptionWorkflow(seeded);
    // No payment method: the first invoice's charge is declined and dunning starts.
    await eventually(async () => {
      const state = await handle.query(getStateQuery);
      expect(state.dunning?.lastDeclineCode).toBe('no_payment_method');
    });

    const res = await apiAs(withWorker, acme).post(`/v1/customers/${seeded.customerId}/payment_methods`, {
      payment_method: 'pm_card_visa',
    });
    expect(res.status).toBe(200);

    await eventually(async () => {
      const state = await handle.query(getStateQuery);
      expect(state.status).toBe('active');
      expect(state.dunning).toBeNull();
    });
    expect(withWorker.gateway.paymentsCreated()).toEqual([
      expect.objectContaining({ amountMinor: 2500, currency: 'USD' }),
    ]);
    await handle.terminate();
  });
});
