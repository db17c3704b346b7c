import Stripe from 'stripe';
import { WebhookSignatureError } from '../../../src/gateways/errors';
import { StripeGateway } from '../../../src/gateways/stripe-gateway';

// Webhook verification with the real SDK, offline: Stripe's own test-header generator signs the bodies
// (HMAC-SHA256 over `${timestamp}.${rawBody}` with the endpoint secret), the adapter verifies them.

const SECRET = 'whsec_test_7c3f0a1e9b2d4c6a8e0f1b3d5c7a9e1f';
const CREATED_S = 1_735_689_600; // 2025-01-01T00:00:00Z

const gateway = new StripeGateway({
  apiKey: 'sk_test_ledgerline',
  webhookSecret: SECRET,
  host: 'stripe.invalid',
});

function nowS(): number {
  return Math.floor(Date.now() / 1000);
}

function sign(payload: string, options: { secret?: string; timestamp?: number } = {}): string {
  return Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: options.secret ?? SECRET,
    timestamp: options.timestamp ?? nowS(),
  });
}

/** A snapshot event as Stripe delivers it (PaymentIntent trimmed to the fields that matter here). */
function event(type: string, object: Record<string, unknown>): string {
  return JSON.stringify({
    id: 'evt_3QpaidA1b2c3d4',
    object: 'event',
    api_version: '2026-10-28.endive',
    created: CREATED_S,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: 'charge:inv_01HZY3:1' },
    type,
  });
}

const metadata = { tenantId: 'ten_01', subscriptionId: 'sub_01', invoiceId: 'inv_01HZY3' };

function paymentIntent(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'pi_3QpaidA1b2c3d4',
    object: 'payment_intent',
    amount: 1999,
    amount_received: 1999,
    currency: 'usd',
    customer: 'cus_ledgerline1',
    status: 'succeeded',
    last_payment_error: null,
    metadata,
    ...fields,
  };
}

const succeeded = event('payment_intent.succeeded', paymentIntent());

function rejection(body: Buffer | string, header: string | undefined): WebhookSignatureError {
  try {
    gateway.parseWebhook(body, header);
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookSignatureError);
    return error as WebhookSignatureError;
  }
  throw new Error('expected parseWebhook to reject the delivery');
}

describe('StripeGateway.parseWebhook accepts', () => {
  test('payment_intent.succeeded, normalized with the metadata the workflow is found by', () => {
    expect(gateway.parseWebhook(succeeded, sign(succeeded))).toEqual({
      type: 'payment_succeeded',
      eventId: 'evt_3QpaidA1b2c3d4',
      occurredAt: '2025-01-01T00:00:00.000Z',
      livemode: false,
      providerPaymentId: 'pi_3QpaidA1b2c3d4',
      amountMinor: 1999,
      currency: 'USD',
      metadata,
    });
  });

  test('the raw body as a Buffer (what express.raw() hands over)', () => {
    const parsed = gateway.parseWebhook(Buffer.from(succeeded, 'utf8'), sign(succeeded));

    expect(parsed).toMatchObject({ type: 'payment_succeeded', providerPaymentId: 'pi_3QpaidA1b2c3d4' });
  });

  test('payment_intent.payment_failed, with the decline code', () => {
    const body = event(
      'payment_intent.payment_failed',
      paymentIntent({
        status: 'requires_payment_method',
        amount_received: 0,
        last_payment_error: {
          type: 'card_error',
          code: 'card_declined',
          decline_code: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
        },
      }),
    );

    expect(gateway.parseWebhook(body, sign(body))).toEqual({
      type: 'payment_failed',
      eventId: 'evt_3QpaidA1b2c3d4',
      occurredAt: '2025-01-01T00:00:00.000Z',
      livemode: false,
      providerPaymentId: 'pi_3QpaidA1b2c3d4',
      declineCode: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
      metadata,
    });
  });

  test('ISK amounts come back in ISO units', () => {
    const body = event('payment_intent.succeeded', paymentIntent({ amount: 500_000, currency: 'isk' }));

    expect(gateway.parseWebhook(body, sign(body))).toMatchObject({ amountMinor: 5000, currency: 'ISK' });
  });

  test('any other event type as `other`, so the endpoint can acknowledge it', () => {
    const body = event('charge.refunded', { id: 'ch_3QpaidA1b2c3d4', object: 'charge' });

    expect(gateway.parseWebhook(body, sign(body))).toEqual({
      type: 'other',
      eventId: 'evt_3QpaidA1b2c3d4',
      occurredAt: '2025-01-01T00:00:00.000Z',
      livemode: false,
      providerEventType: 'charge.refunded',
    });
  });

  test('a signature made just inside the tolerance', () => {
    expect(gateway.parseWebhook(succeeded, sign(succeeded, { timestamp: nowS() - 240 })).type).toBe(
      'payment_succeeded',
    );
  });

  test('a header carrying one valid signature among several (Stripe signs with each active secret)', () => {
    const timestamp = nowS();
    const valid = sign(succeeded, { timestamp });
    const other = sign(succeeded, { timestamp, secret: 'whsec_rolled_over_secret' });
    const header = `${valid},v1=${other.split('v1=')[1] ?? ''}`;

    expect(gateway.parseWebhook(succeeded, header).type).toBe('payment_succeeded');
  });
});

describe('StripeGateway.parseWebhook rejects', () => {
  test('a tampered body', () => {
    const header = sign(succeeded);
    const tampered = succeeded.replace('"amount":1999', '"amount":1');
    expect(tampered).not.toBe(succeeded);

    expect(rejection(tampered, header).reason).toBe('invalid_signature');
  });

  test('a body that was parsed and re-serialized (the signature covers the exact bytes)', () => {
    const header = sign(succeeded);
    const reserialized = JSON.stringify(JSON.parse(succeeded), null, 2);

    expect(rejection(reserialized, header).reason).toBe('invalid_signature');
  });

  test('a signature made with another secret', () => {
    expect(rejection(succeeded, sign(succeeded, { secret: 'whsec_someone_else' })).reason).toBe(
      'invalid_signature',
    );
  });

  test.each([
    ['undefined', undefined],
    ['empty', ''],
    ['blank', '   '],
  ])('a missing header (%s)', (_name, header) => {
    expect(rejection(succeeded, header).reason).toBe('missing_header');
  });

  test.each([
    ['no timestamp', 'v1=abc'],
    ['no v1 signature', `t=${nowS()},v0=abc`],
    ['garbage', 'not a signature header'],
  ])('a malformed header (%s)', (_name, header) => {
    expect(rejection(succeeded, header).reason).toBe('invalid_signature');
  });

  test('an expired timestamp (a replayed delivery)', () => {
    const error = rejection(succeeded, sign(succeeded, { timestamp: nowS() - 600 }));

    expect(error.reason).toBe('timestamp_outside_tolerance');
    expect(error.name).toBe('WebhookSignatureError');
  });

  test('a tighter tolerance when configured', () => {
    const strict = new StripeGateway({
      apiKey: 'sk_test_ledgerline',
      webhookSecret: SECRET,
      webhookToleranceSeconds: 60,
    });

    expect(() => strict.parseWebhook(succeeded, sign(succeeded, { timestamp: nowS() - 120 }))).toThrow(
      expect.objectContaining({ reason: 'timestamp_outside_tolerance' }) as Error,
    );
  });

  test('an empty body', () => {
    expect(rejection('', sign('')).reason).toBe('invalid_signature');
  });

  test('a correctly signed body that is not JSON', () => {
    const body = 'not json';

    expect(rejection(body, sign(body)).reason).toBe('malformed_payload');
  });

  test.each(['id', 'amount', 'currency', 'metadata'])(
    'a correctly signed payment event without %s',
    (field) => {
      const intent = paymentIntent();
      delete intent[field];
      const body = event('payment_intent.succeeded', intent);

      expect(rejection(body, sign(body)).reason).toBe('malformed_payload');
    },
  );
});

describe('StripeGateway webhook configuration', () => {
  test.each([
    ['an empty secret', { webhookSecret: '' }],
    ['a secret with a trailing newline', { webhookSecret: `${SECRET}\n` }],
    // stripe@23 reads a tolerance of 0 as "do not check the timestamp": never allow that by accident.
    ['a zero tolerance', { webhookToleranceSeconds: 0 }],
  ])('refuses %s', (_name, overrides) => {
    expect(
      () => new StripeGateway({ apiKey: 'sk_test_ledgerline', webhookSecret: SECRET, ...overrides }),
    ).toThrow(/StripeGateway:/);
  });
});
