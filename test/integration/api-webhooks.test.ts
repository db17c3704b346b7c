import type { Client } from '@temporalio/client';
import pino from 'pino';
import Stripe from 'stripe';
import request from 'supertest';
import { createApp } from '../../src/api/app';
import { withTenant } from '../../src/db/with-tenant';
import type { GatewayEvent } from '../../src/gateways/payment-gateway';
import { StripeGateway } from '../../src/gateways/stripe-gateway';
import { getStateQuery } from '../../src/workflows/contracts';
import {
  ADMIN_TOKEN,
  createApiHarness,
  createTenant,
  eventually,
  expectProblem,
  signalsReceived,
  type ApiHarness,
  type TestTenant,
} from '../support/api-harness';
import { FakeGateway } from '../support/fake-gateway';
import { seedSubscription, type SeededSubscription } from '../support/fixtures';

// POST /v1/webhooks/stripe with bodies shaped like Stripe's payment_intent events, signed by Stripe's own
// test-header generator with the endpoint secret; the real StripeGateway verifies them. Everything else
// the activities need comes from the FakeGateway (so the end-to-end story can charge).

const SECRET = 'whsec_test_api_webhooks_4f1c9a7e2b';

/** FakeGateway for charges; StripeGateway (offline, known secret) for webhook verification. */
class FakeGatewayWithStripeWebhooks extends FakeGateway {
  private readonly stripe = new StripeGateway({
    apiKey: 'sk_test_ledgerline',
    webhookSecret: SECRET,
    host: 'stripe.invalid',
  });

  override parseWebhook(rawBody: Buffer | string, signatureHeader: string | undefined): GatewayEvent {
    return this.stripe.parseWebhook(rawBody, signatureHeader);
  }
}

let harness: ApiHarness<FakeGatewayWithStripeWebhooks>;
let tenant: TestTenant;
let other: TestTenant;
let eventSeq = 0;

beforeAll(async () => {
  harness = await createApiHarness(`api-webhooks-${Date.now()}`, {
    gateway: new FakeGatewayWithStripeWebhooks(),
  });
  [tenant, other] = await Promise.all([createTenant(harness, 'Hooks A'), createTenant(harness, 'Hooks B')]);
});

afterAll(async () => {
  await harness?.close();
});

const nowS = () => Math.floor(Date.now() / 1000);

function stripeEvent(
  type: string,
  object: Record<string, unknown>,
  id = `evt_test${++eventSeq}x${Date.now()}`,
) {
  return JSON.stringify({
    id,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: nowS(),
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
  });
}

function paymentIntent(metadata: Record<string, string>, fields: Record<string, unknown> = {}) {
  return {
    id: 'pi_3QwebhookA1b2c3',
    object: 'payment_intent',
    amount: 2500,
    amount_received: 2500,
    currency: 'usd',
    customer: 'cus_fake_1',
    status: 'succeeded',
    last_payment_error: null,
    metadata,
    ...fields,
  };
}

const declined = {
  status: 'requires_payment_method',
  amount_received: 0,
  last_payment_error: {
    type: 'card_error',
    code: 'card_declined',
    decline_code: 'insufficient_funds',
    message: 'Your card has insufficient funds.',
  },
};

function deliver(
  payload: string,
  options: { secret?: string; timestamp?: number; header?: string | null; app?: ApiHarness['app'] } = {},
) {
  const req = request(options.app ?? harness.app)
    .post('/v1/webhooks/stripe')
    .set('Content-Type', 'application/json');
  const header =
    options.header === undefined
      ? Stripe.webhooks.generateTestHeaderString({
          payload,
          secret: options.secret ?? SECRET,
          timestamp: options.timestamp ?? nowS(),
        })
      : options.header;
  if (header !== null) req.set('Stripe-Signature', header);
  return req.send(payload);
}

async function seeded(as: TestTenant = tenant): Promise<SeededSubscription> {
  return seedSubscription(harness.pools.app, as.id, {
    createdAt: new Date().toISOString(),
    amountMinor: 2500,
    recurrence: { interval: 'month', intervalCount: 1 },
  });
}

const routeOf = (
  subscription: SeededSubscription,
  as: TestTenant = tenant,
  invoiceId = 'inv_webhookTest1',
) => ({
  tenantId: as.id,
  subscriptionId: subscription.input.subscriptionId,
  invoiceId,
});

async function recordedEvents(as: TestTenant, eventId: string): Promise<number> {
  return withTenant(harness.pools.app, as.id, async (db) => {
    const { rowCount } = await db.query('SELECT 1 FROM gateway_webhook_events WHERE event_id = $1', [
      eventId,
    ]);
    return rowCount ?? 0;
  });
}

describe('signature verification', () => {
  const body = stripeEvent('payment_intent.succeeded', paymentIntent({ tenantId: 'ten_x' }));

  it.each([
    ['a signature made with another secret', { secret: 'whsec_someone_else' }, 'Stripe-Signature'],
    ['no Stripe-Signature header', { header: null }, 'Stripe-Signature'],
    ['a garbled header', { header: 't=1,v1=deadbeef' }, 'Stripe-Signature'],
    ['a signature older than five minutes', { timestamp: nowS() - 3600 }, 'Stripe-Signature'],
  ])('refuses %s with 400 naming the header', async (_label, options, field) => {
    const res = await deliver(body, options);
    expectProblem(res, 400, 'invalid-webhook-signature', field);
  });

  it('refuses a tampered body', async () => {
    const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET });
    const res = await deliver(body.replace('2500', '1'), { header });
    expectProblem(res, 400, 'invalid-webhook-signature', 'Stripe-Signature');
  });

  it('refuses a signed body that is not an event with 400 naming the body', async () => {
    expectProblem(await deliver('not json at all'), 400, 'invalid-webhook-signature', 'body');
  });

  it('refuses a body that is not JSON with 415', async () => {
    const res = await request(harness.app)
      .post('/v1/webhooks/stripe')
      .set('Content-Type', 'text/plain')
      .set('Stripe-Signature', 't=1,v1=x')
      .send('hello');
    expectProblem(res, 415, 'unsupported-media-type', 'Content-Type');
  });

  it('needs no API key, and an API key does not replace the signature', async () => {
    const res = await request(harness.app)
      .post('/v1/webhooks/stripe')
      .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
      .set('Content-Type', 'application/json')
      .send(body);
    expectProblem(res, 400, 'invalid-webhook-signature', 'Stripe-Signature');
  });
});

describe('events that are not ours to act on', () => {
  it('acknowledges other event types without acting', async () => {
    const res = await deliver(stripeEvent('charge.refunded', { id: 'ch_1', object: 'charge' }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: true, ignored: true });
  });

  it('acknowledges a payment without Ledgerline metadata (someone else’s charge on the account)', async () => {
    const res = await deliver(stripeEvent('payment_intent.succeeded', paymentIntent({ order: '42' })));
    expect(res.body).toEqual({ received: true, ignored: true });
  });

  it('does not let metadata naming one tenant reach another tenant’s subscription', async () => {
    const subscription = await seeded(tenant);
    const handle = await harness.startSubscriptionWorkflow(subscription);
    const res = await deliver(
      stripeEvent(
        'payment_intent.succeeded',
        paymentIntent({ ...routeOf(subscription), tenantId: other.id }),
      ),
    );
    expect(res.body).toEqual({ received: true, ignored: true, reason: 'unknown_subscription' });
    expect(await signalsReceived(handle)).toEqual([]);
    await handle.terminate();
  });

  it('acknowledges an event for a subscription whose workflow has finished', async () => {
    const subscription = await seeded();
    const handle = await harness.startSubscriptionWorkflow(subscription);
    await handle.terminate();
    const payload = stripeEvent('payment_intent.succeeded', paymentIntent(routeOf(subscription)));
    const res = await deliver(payload);
    expect(res.body).toEqual({ received: true, ignored: true, reason: 'workflow_not_running' });
  });
});

describe('payment events reach the subscription’s workflow exactly once', () => {
  it('signals paymentSucceeded, then acknowledges the redelivery as a duplicate', async () => {
    const subscription = await seeded();
    const handle = await harness.startSubscriptionWorkflow(subscription);
    const eventId = `evt_succeeded${Date.now()}`;
    const payload = stripeEvent('payment_intent.succeeded', paymentIntent(routeOf(subscription)), eventId);

    const first = await deliver(payload);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ received: true });
    const again = await deliver(payload);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ received: true, duplicate: true });

    expect(await signalsReceived(handle)).toEqual([
      {
        name: 'paymentSucceeded',
        payload: {
          invoiceId: 'inv_webhookTest1',
          providerPaymentId: 'pi_3QwebhookA1b2c3',
          amountMinor: 2500,
          currency: 'USD',
        },
      },
    ]);
    expect(await recordedEvents(tenant, eventId)).toBe(1);
    await handle.terminate();
  });

  it('signals paymentFailed with the decline code', async () => {
    const subscription = await seeded();
    const handle = await harness.startSubscriptionWorkflow(subscription);
    const res = await deliver(
      stripeEvent('payment_intent.payment_failed', paymentIntent(routeOf(subscription), declined)),
    );
    expect(res.body).toEqual({ received: true });
    expect(await signalsReceived(handle)).toEqual([
      {
        name: 'paymentFailed',
        payload: {
          invoiceId: 'inv_webhookTest1',
          providerPaymentId: 'pi_3QwebhookA1b2c3',
          declineCode: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
        },
      },
    ]);
    await handle.terminate();
  });

  it('delivers concurrent duplicates once', async () => {
    const subscription = await seeded();
    const handle = await harness.startSubscriptionWorkflow(subscription);
    const payload = stripeEvent('payment_intent.succeeded', paymentIntent(routeOf(subscription)));
    const results = await Promise.all([deliver(payload), deliver(payload), deliver(payload)]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(results.filter((r) => r.body.duplicate === true)).toHaveLength(2);
    expect(await signalsReceived(handle)).toHaveLength(1);
    await handle.terminate();
  });

  it('answers 5xx and records nothing when the signal fails, so Stripe’s redelivery is acted on', async () => {
    const subscription = await seeded();
    const handle = await harness.startSubscriptionWorkflow(subscription);
    const unreachable = {
      withDeadline: <R>(_deadline: number, fn: () => Promise<R>) => fn(),
      workflow: {
        getHandle: () => ({ signal: () => Promise.reject(new Error('14 UNAVAILABLE: connection refused')) }),
      },
    } as unknown as Client;
    const broken = createApp({
      pool: harness.pools.app,
      redis: harness.redis,
      temporal: unreachable,
      logger: pino({ level: 'silent' }),
      adminToken: ADMIN_TOKEN,
      taskQueue: harness.taskQueue,
      temporalUiUrl: 'http://127.0.0.1:8233',
      gateway: harness.gateway,
    });
    const eventId = `evt_retried${Date.now()}`;
    const payload = stripeEvent('payment_intent.succeeded', paymentIntent(routeOf(subscription)), eventId);

    const failed = await deliver(payload, { app: broken });
    expectProblem(failed, 503, 'service-unavailable');
    expect(await recordedEvents(tenant, eventId)).toBe(0);

    const redelivered = await deliver(payload);
    expect(redelivered.body).toEqual({ received: true });
    expect(await signalsReceived(handle)).toHaveLength(1);
    expect(await recordedEvents(tenant, eventId)).toBe(1);
    await handle.terminate();
  });
});

describe('end to end: a processing payment settles through the webhook', () => {
  it('marks the invoice paid and the subscription active', async () => {
    await harness.startWorker();
    const acme = await createTenant(harness, 'Settling');
    const subscription = await seeded(acme);
    if (subscription.providerCustomerId === null) throw new Error('seeded without a payment profile');
    harness.gateway.scriptOutcomes(subscription.providerCustomerId, ['processing']);
    const handle = await harness.startSubscriptionWorkflow(subscription);

    const awaiting = await eventually(async () => {
      const state = await handle.query(getStateQuery);
      expect(state.awaitingPayment).toHaveLength(1);
      return state;
    });
    const invoiceId = awaiting.awaitingPayment[0] as string;
    const payment = harness.gateway.paymentsCreated().find((p) => p.idempotencyKey.includes(invoiceId));
    if (payment === undefined) throw new Error(`no payment for ${invoiceId}`);

    const res = await deliver(
      stripeEvent(
        'payment_intent.succeeded',
        paymentIntent(
          { tenantId: acme.id, subscriptionId: subscription.input.subscriptionId, invoiceId },
          {
            id: payment.providerPaymentId,
            amount: payment.amountMinor,
            currency: payment.currency.toLowerCase(),
          },
        ),
      ),
    );
    expect(res.body).toEqual({ received: true });

    await eventually(async () => {
      const state = await handle.query(getStateQuery);
      expect(state.awaitingPayment).toEqual([]);
      expect(state.status).toBe('active');
      expect(state.lastInvoice).toMatchObject({ invoiceId, status: 'paid' });
    });
    await handle.terminate();
  });
});
