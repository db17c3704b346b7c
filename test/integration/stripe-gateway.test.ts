import Stripe from 'stripe';
import {
  GatewayRequestError,
  GatewayUnavailableError,
  PaymentMethodRejectedError,
  type GatewayError,
} from '../../src/gateways/errors';
import type { ChargeInput, RefundReason } from '../../src/gateways/payment-gateway';
import { StripeGateway, type StripeGatewayConfig } from '../../src/gateways/stripe-gateway';
import { startStripeMock, type StripeMock } from '../support/stripe-mock';

// The adapter through the real SDK. Two kinds of Stripe stand in for api.stripe.com:
// - stripe-mock (Stripe's official mock, real OpenAPI spec): proves every request we build is one
//   Stripe accepts. It is stateless, so it never confirms or declines anything; where a test needs a
//   confirmed payment it forwards the request to stripe-mock and then sets the status Stripe would
//   answer for that test card.
// - a fetch function answering with Stripe's documented error bodies: declines and outages, which
//   stripe-mock does not simulate.
// No test reaches the internet: every gateway gets an explicit host, and the stub host cannot resolve.

let mock: StripeMock | undefined;
beforeAll(async () => {
  mock = await startStripeMock();
});
afterAll(async () => {
  await mock?.stop();
});

interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Headers;
  readonly form: URLSearchParams;
}

type FetchInput = Parameters<typeof fetch>[0];
type Responder = (request: RecordedRequest, forward: () => Promise<Response>) => Promise<Response>;

/** An SDK http client that records each request, then lets `respond` decide the answer. */
function recordingClient(respond: Responder = (_request, forward) => forward()) {
  const requests: RecordedRequest[] = [];
  const httpClient = Stripe.createFetchHttpClient(async (input: FetchInput, init?: RequestInit) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const request: RecordedRequest = {
      method: init?.method ?? 'GET',
      path: url.pathname,
      headers: new Headers(init?.headers),
      form: new URLSearchParams(typeof init?.body === 'string' ? init.body : ''),
    };
    requests.push(request);
    return respond(request, () => fetch(input, init));
  });
  return { httpClient, requests };
}

function viaStripeMock(
  respond?: Responder,
  config: Partial<StripeGatewayConfig> = {},
): { gateway: StripeGateway; requests: RecordedRequest[] } {
  if (mock === undefined) throw new Error('stripe-mock did not start');
  const { httpClient, requests } = recordingClient(respond);
  const gateway = new StripeGateway({
    apiKey: 'sk_test_ledgerline',
    webhookSecret: 'whsec_test_ledgerline',
    host: mock.host,
    port: mock.port,
    protocol: 'http',
    httpClient,
    maxNetworkRetries: 0,
    ...config,
  });
  return { gateway, requests };
}

/** Rewrites a JSON answer, the way Stripe's state machine would have moved the object on. */
async function patchJson(response: Response, patch: Record<string, unknown>): Promise<Response> {
  const body = (await response.json()) as Record<string, unknown>;
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  return new Response(JSON.stringify({ ...body, ...patch }), { status: response.status, headers });
}

function chargeInput(overrides: Partial<ChargeInput> = {}): ChargeInput {
  return {
    idempotencyKey: 'charge:inv_01HZY3:1',
    providerCustomerId: 'cus_ledgerline1',
    paymentMethodId: 'pm_card_visa',
    amountMinor: 1999,
    currency: 'USD',
    description: 'Pro plan, 2025-01-31 to 2025-02-28',
    metadata: { tenantId: 'ten_01', subscriptionId: 'sub_01', invoiceId: 'inv_01HZY3' },
    ...overrides,
  };
}

function only<T>(items: readonly T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

async function thrown(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    return error as GatewayError;
  }
  throw new Error('expected the call to throw');
}

describe('StripeGateway against stripe-mock', () => {
  test('createCustomer sends our ids as metadata under our idempotency key', async () => {
    const { gateway, requests } = viaStripeMock();

    const result = await gateway.createCustomer({
      idempotencyKey: 'customer:ten_01:cus_01',
      tenantId: 'ten_01',
      customerId: 'cus_01',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
    });

    expect(result.providerCustomerId).toMatch(/^cus_/);
    const request = only(requests);
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/v1/customers');
    expect(request.headers.get('idempotency-key')).toBe('customer:ten_01:cus_01');
    expect(Object.fromEntries(request.form)).toEqual({
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      'metadata[tenantId]': 'ten_01',
      'metadata[customerId]': 'cus_01',
    });
  });

  test('attachPaymentMethod with makeDefault attaches, then sets the default under a derived key', async () => {
    const { gateway, requests } = viaStripeMock();

    const result = await gateway.attachPaymentMethod({
      idempotencyKey: 'pm:cus_01:1',
      providerCustomerId: 'cus_ledgerline1',
      paymentMethodId: 'pm_card_visa',
      makeDefault: true,
    });

    expect(result).toEqual({ paymentMethodId: 'pm_card_visa' });
    expect(requests.map((r) => [r.method, r.path, r.headers.get('idempotency-key')])).toEqual([
      ['POST', '/v1/payment_methods/pm_card_visa/attach', 'pm:cus_01:1'],
      ['POST', '/v1/customers/cus_ledgerline1', 'pm:cus_01:1:default'],
    ]);
    expect(requests[0]?.form.get('customer')).toBe('cus_ledgerline1');
    expect(requests[1]?.form.get('invoice_settings[default_payment_method]')).toBe('pm_card_visa');
  });

  test('attachPaymentMethod without makeDefault makes one call', async () => {
    const { gateway, requests } = viaStripeMock();

    await gateway.attachPaymentMethod({
      idempotencyKey: 'pm:cus_01:2',
      providerCustomerId: 'cus_ledgerline1',
      paymentMethodId: 'pm_card_mastercard',
      makeDefault: false,
    });

    expect(only(requests).path).toBe('/v1/payment_methods/pm_card_mastercard/attach');
  });

  test('charge sends an off-session, confirmed PaymentIntent that stripe-mock accepts', async () => {
    // stripe-mock validated the request; Stripe would answer `succeeded` for pm_card_visa.
    const { gateway, requests } = viaStripeMock(async (_request, forward) =>
      patchJson(await forward(), { status: 'succeeded' }),
    );

    const result = await gateway.charge(chargeInput());

    expect(result).toEqual({
      status: 'succeeded',
      providerPaymentId: expect.stringMatching(/^pi_/),
      amountMinor: 1999,
      currency: 'USD',
    });
    const request = only(requests);
    expect(request.path).toBe('/v1/payment_intents');
    expect(request.headers.get('idempotency-key')).toBe('charge:inv_01HZY3:1');
    expect(Object.fromEntries(request.form)).toEqual({
      amount: '1999',
      currency: 'usd',
      customer: 'cus_ledgerline1',
      payment_method: 'pm_card_visa',
      confirm: 'true',
      off_session: 'true',
      'automatic_payment_methods[enabled]': 'true',
      'automatic_payment_methods[allow_redirects]': 'never',
      description: 'Pro plan, 2025-01-31 to 2025-02-28',
      'metadata[tenantId]': 'ten_01',
      'metadata[subscriptionId]': 'sub_01',
      'metadata[invoiceId]': 'inv_01HZY3',
    });
  });

  test.each([
    ['processing', { status: 'processing', next_action: null }, { status: 'processing' }],
    [
      'requires_action',
      { status: 'requires_action', next_action: { type: 'use_stripe_sdk' } },
      { status: 'requires_action', nextActionType: 'use_stripe_sdk' },
    ],
  ])('charge maps a %s PaymentIntent', async (_name, patch, expected) => {
    const { gateway } = viaStripeMock(async (_request, forward) => patchJson(await forward(), patch));

    const result = await gateway.charge(chargeInput());

    expect(result).toEqual({
      ...expected,
      providerPaymentId: expect.stringMatching(/^pi_/),
      amountMinor: 1999,
      currency: 'USD',
    });
  });

  test("charge reports stripe-mock's unconfirmed fixture (requires_payment_method) as declined", async () => {
    const { gateway } = viaStripeMock();

    const result = await gateway.charge(chargeInput());

    expect(result).toEqual({
      status: 'declined',
      providerPaymentId: expect.stringMatching(/^pi_/),
      declineCode: 'requires_payment_method',
      message: expect.any(String),
    });
  });

  test('charge without a payment method uses the customer default', async () => {
    const { gateway, requests } = viaStripeMock(async (request, forward) => {
      if (request.method === 'GET') {
        const customer = (await (await forward()).json()) as { invoice_settings: object };
        return Response.json({
          ...customer,
          invoice_settings: { ...customer.invoice_settings, default_payment_method: 'pm_default1' },
        });
      }
      return patchJson(await forward(), { status: 'succeeded' });
    });

    const result = await gateway.charge(chargeInput({ paymentMethodId: undefined }));

    expect(result.status).toBe('succeeded');
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /v1/customers/cus_ledgerline1',
      'POST /v1/payment_intents',
    ]);
    expect(requests[1]?.form.get('payment_method')).toBe('pm_default1');
  });

  test('charge without a payment method declines when the customer has no default', async () => {
    // stripe-mock's customer fixture has invoice_settings.default_payment_method = null.
    const { gateway, requests } = viaStripeMock();

    const result = await gateway.charge(chargeInput({ paymentMethodId: undefined }));

    expect(result).toEqual({
      status: 'declined',
      declineCode: 'no_payment_method',
      message: 'The customer has no default payment method.',
    });
    expect(requests.map((r) => r.method)).toEqual(['GET']); // nothing was charged
  });

  test('ISK is sent in Stripe units (two decimals) and read back in ISO units', async () => {
    const { gateway, requests } = viaStripeMock(async (_request, forward) =>
      patchJson(await forward(), { status: 'succeeded' }),
    );

    const result = await gateway.charge(chargeInput({ amountMinor: 5000, currency: 'isk' }));

    expect(only(requests).form.get('amount')).toBe('500000');
    expect(only(requests).form.get('currency')).toBe('isk');
    expect(result).toMatchObject({ status: 'succeeded', amountMinor: 5000, currency: 'ISK' });
  });

  test('refund in full, under our idempotency key', async () => {
    const { gateway, requests } = viaStripeMock();

    const result = await gateway.refund({ idempotencyKey: 'refund:inv_01:1', providerPaymentId: 'pi_paid1' });

    expect(result).toEqual({
      status: 'succeeded',
      providerRefundId: expect.stringMatching(/^re_/),
      providerPaymentId: 'pi_paid1',
      amountMinor: expect.any(Number),
      currency: 'USD',
    });
    const request = only(requests);
    expect(request.path).toBe('/v1/refunds');
    expect(request.headers.get('idempotency-key')).toBe('refund:inv_01:1');
    expect(Object.fromEntries(request.form)).toEqual({ payment_intent: 'pi_paid1' });
  });

  test('refund in part, with a reason Stripe knows', async () => {
    const { gateway, requests } = viaStripeMock();

    const result = await gateway.refund({
      idempotencyKey: 'refund:inv_01:2',
      providerPaymentId: 'pi_paid1',
      amountMinor: 500,
      currency: 'USD',
      reason: 'requested_by_customer',
    });

    expect(result).toMatchObject({ status: 'succeeded', amountMinor: 500, currency: 'USD' });
    expect(Object.fromEntries(only(requests).form)).toEqual({
      payment_intent: 'pi_paid1',
      amount: '500',
      reason: 'requested_by_customer',
    });
  });

  test('refund that fails later carries its reason', async () => {
    const { gateway } = viaStripeMock(async (_request, forward) =>
      patchJson(await forward(), { status: 'failed', failure_reason: 'expired_or_canceled_card' }),
    );

    const result = await gateway.refund({ idempotencyKey: 'refund:inv_01:3', providerPaymentId: 'pi_paid1' });

    expect(result).toMatchObject({ status: 'failed', failureReason: 'expired_or_canceled_card' });
  });

  test('retrieve reads the PaymentIntent without an idempotency key', async () => {
    const { gateway, requests } = viaStripeMock(async (_request, forward) =>
      patchJson(await forward(), { status: 'succeeded' }),
    );

    const result = await gateway.retrieve('pi_paid1');

    expect(result).toEqual({
      status: 'succeeded',
      providerPaymentId: 'pi_paid1',
      amountMinor: expect.any(Number),
      currency: 'USD',
    });
    const request = only(requests);
    expect([request.method, request.path]).toEqual(['GET', '/v1/payment_intents/pi_paid1']);
    expect(request.headers.get('idempotency-key')).toBeNull();
  });

  test('a retry inside the SDK repeats our idempotency key, so Stripe can replay instead of charging twice', async () => {
    let attempts = 0;
    const { gateway, requests } = viaStripeMock(
      async (_request, forward) => {
        attempts += 1;
        if (attempts === 1) return Response.json(apiError(), { status: 500 });
        return patchJson(await forward(), { status: 'succeeded' });
      },
      { maxNetworkRetries: 1 },
    );

    const result = await gateway.charge(chargeInput());

    expect(result.status).toBe('succeeded');
    expect(requests.map((r) => r.headers.get('idempotency-key'))).toEqual([
      'charge:inv_01HZY3:1',
      'charge:inv_01HZY3:1',
    ]);
  });

  test('an API key stripe-mock does not accept is an authentication error, not retryable', async () => {
    const { gateway } = viaStripeMock(undefined, { apiKey: 'rk_not_a_secret_key' });

    const error = await thrown(
      gateway.createCustomer({ idempotencyKey: 'k1', tenantId: 't', customerId: 'c' }),
    );

    expect(error).toBeInstanceOf(GatewayRequestError);
    expect(error).toMatchObject({ reason: 'authentication', retryable: false });
    expect(error.context).toMatchObject({ provider: 'stripe', operation: 'createCustomer', statusCode: 401 });
  });
});

describe('StripeGateway input checks (rejected before any request)', () => {
  test.each([
    ['zero', { amountMinor: 0 }],
    ['negative', { amountMinor: -100 }],
    ['fractional', { amountMinor: 19.99 }],
    ['unsafe', { amountMinor: 2 ** 53 }],
    ['2-letter currency', { currency: 'US' }],
    ['numeric currency', { currency: '840' }],
    ['KWD not ending in 0', { amountMinor: 5124, currency: 'KWD' }],
    ['empty idempotency key', { idempotencyKey: '' }],
    ['too long idempotency key', { idempotencyKey: 'k'.repeat(256) }],
    ['metadata value too long', { metadata: { tenantId: 'ten_01', note: 'x'.repeat(501) } }],
    ['metadata key with brackets', { metadata: { tenantId: 'ten_01', 'a[b]': 'c' } }],
  ])('charge refuses %s', async (_name, overrides) => {
    const { gateway, requests } = viaStripeMock();

    const error = await thrown(gateway.charge(chargeInput(overrides)));

    expect(error).toBeInstanceOf(GatewayRequestError);
    expect(error).toMatchObject({ reason: 'invalid_input', retryable: false });
    expect(requests).toHaveLength(0);
  });

  test('refund refuses a reason Stripe does not know', async () => {
    const { gateway, requests } = viaStripeMock();

    const error = await thrown(
      gateway.refund({ idempotencyKey: 'k', providerPaymentId: 'pi_1', reason: 'because' as RefundReason }),
    );

    expect(error).toMatchObject({ name: 'GatewayRequestError', reason: 'invalid_input' });
    expect(requests).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------------
// Declines and outages: a fetch function answering with Stripe's documented error bodies.
// ---------------------------------------------------------------------------------------------------

function stubbed(
  answer: (request: RecordedRequest) => Response | Promise<Response>,
  config: Partial<StripeGatewayConfig> = {},
): { gateway: StripeGateway; requests: RecordedRequest[] } {
  const { httpClient, requests } = recordingClient((request) => Promise.resolve(answer(request)));
  const gateway = new StripeGateway({
    apiKey: 'sk_test_ledgerline',
    webhookSecret: 'whsec_test_ledgerline',
    host: 'stripe.invalid', // never resolves: nothing here may reach a network
    protocol: 'https',
    httpClient,
    maxNetworkRetries: 0,
    ...config,
  });
  return { gateway, requests };
}

function stripeAnswer(status: number, body: unknown): Response {
  return Response.json(body, { status, headers: { 'request-id': 'req_test_0001' } });
}

function apiError() {
  return { error: { type: 'api_error', message: 'An unknown error occurred' } };
}

/** A PaymentIntent as Stripe returns it after a declined off-session confirmation (trimmed). */
function declinedIntent(failure: Record<string, unknown>) {
  return {
    id: 'pi_3QdeclinedA1b2',
    object: 'payment_intent',
    amount: 1999,
    currency: 'usd',
    customer: 'cus_ledgerline1',
    status: 'requires_payment_method',
    last_payment_error: failure,
    metadata: { tenantId: 'ten_01', subscriptionId: 'sub_01', invoiceId: 'inv_01HZY3' },
  };
}

/** Stripe's 402 body for a card decline: the error, with the PaymentIntent it left behind. */
function cardError(fields: { code: string; decline_code?: string; message: string; advice_code?: string }) {
  const failure = {
    type: 'card_error',
    charge: 'ch_3QdeclinedA1b2',
    doc_url: `https://stripe.com/docs/error-codes/${fields.code.replace(/_/g, '-')}`,
    ...fields,
  };
  return {
    error: {
      ...failure,
      payment_intent: declinedIntent(failure),
      request_log_url: 'https://dashboard.stripe.com/test/logs/req_test_0001?t=1735689600',
    },
  };
}

describe('StripeGateway declines are values', () => {
  test('insufficient funds', async () => {
    const { gateway } = stubbed(() =>
      stripeAnswer(
        402,
        cardError({
          code: 'card_declined',
          decline_code: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
        }),
      ),
    );

    const result = await gateway.charge(
      chargeInput({ paymentMethodId: 'pm_card_chargeDeclinedInsufficientFunds' }),
    );

    expect(result).toEqual({
      status: 'declined',
      providerPaymentId: 'pi_3QdeclinedA1b2',
      declineCode: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
    });
  });

  test('a generic decline passes on the issuer advice', async () => {
    const { gateway } = stubbed(() =>
      stripeAnswer(
        402,
        cardError({
          code: 'card_declined',
          decline_code: 'generic_decline',
          advice_code: 'do_not_try_again',
          message: 'Your card was declined.',
        }),
      ),
    );

    const result = await gateway.charge(chargeInput({ paymentMethodId: 'pm_card_chargeDeclined' }));

    expect(result).toMatchObject({
      status: 'declined',
      declineCode: 'generic_decline',
      adviceCode: 'do_not_try_again',
    });
  });

  test('a card error without an issuer decline code uses the error code', async () => {
    const { gateway } = stubbed(() =>
      stripeAnswer(
        402,
        cardError({ code: 'incorrect_cvc', message: "Your card's security code is incorrect." }),
      ),
    );

    const result = await gateway.charge(
      chargeInput({ paymentMethodId: 'pm_card_chargeDeclinedIncorrectCvc' }),
    );

    expect(result).toMatchObject({ status: 'declined', declineCode: 'incorrect_cvc' });
  });

  test('a bank that insists on authentication off-session is a decline the workflow can act on', async () => {
    const { gateway } = stubbed(() =>
      stripeAnswer(
        402,
        cardError({
          code: 'authentication_required',
          decline_code: 'authentication_required',
          message: 'Your card was declined. This transaction requires authentication.',
        }),
      ),
    );

    const result = await gateway.charge(chargeInput({ paymentMethodId: 'pm_card_authenticationRequired' }));

    expect(result).toMatchObject({ status: 'declined', declineCode: 'authentication_required' });
  });

  test('retrieve of a payment that failed later reads the failure from last_payment_error', async () => {
    const { gateway } = stubbed(() =>
      stripeAnswer(
        200,
        declinedIntent({
          type: 'card_error',
          code: 'card_declined',
          decline_code: 'lost_card',
          message: 'Lost.',
        }),
      ),
    );

    const result = await gateway.retrieve('pi_3QdeclinedA1b2');

    expect(result).toEqual({
      status: 'declined',
      providerPaymentId: 'pi_3QdeclinedA1b2',
      declineCode: 'lost_card',
      message: 'Lost.',
    });
  });

  test('a card refused at attach time is a PaymentMethodRejectedError', async () => {
    const { gateway } = stubbed(() =>
      stripeAnswer(402, {
        error: {
          type: 'card_error',
          code: 'card_declined',
          decline_code: 'generic_decline',
          message: 'Your card was declined.',
          param: '',
        },
      }),
    );

    const error = await thrown(
      gateway.attachPaymentMethod({
        idempotencyKey: 'pm:1',
        providerCustomerId: 'cus_1',
        paymentMethodId: 'pm_card_chargeDeclined',
        makeDefault: true,
      }),
    );

    expect(error).toBeInstanceOf(PaymentMethodRejectedError);
    expect(error).toMatchObject({ declineCode: 'generic_decline', retryable: false });
  });
});

describe('StripeGateway failures are thrown, sorted by whether a retry can help', () => {
  test.each([
    ['500 api_error', 500, apiError(), 'server_error'],
    ['503', 503, { error: { type: 'api_error', message: 'Service unavailable' } }, 'server_error'],
    [
      '429 rate limit',
      429,
      {
        error: {
          type: 'invalid_request_error',
          code: 'rate_limit',
          message: 'Too many requests hit the API too quickly.',
        },
      },
      'rate_limited',
    ],
    [
      'lock_timeout',
      429,
      {
        error: {
          type: 'invalid_request_error',
          code: 'lock_timeout',
          message:
            'This object cannot be accessed right now because another API request or Stripe process is currently accessing it.',
        },
      },
      'lock_timeout',
    ],
    [
      '409 idempotent request still in progress',
      409,
      {
        error: {
          type: 'idempotency_error',
          code: 'idempotency_key_in_use',
          message: 'There is currently another in-progress request using this Idempotent Key.',
        },
      },
      'idempotency_in_progress',
    ],
  ])('%s ⇒ GatewayUnavailableError', async (_name, status, body, reason) => {
    const { gateway } = stubbed(() => stripeAnswer(status, body));

    const error = await thrown(gateway.charge(chargeInput()));

    expect(error).toBeInstanceOf(GatewayUnavailableError);
    expect(error).toMatchObject({ name: 'GatewayUnavailableError', reason, retryable: true });
    expect(error.context).toMatchObject({
      operation: 'charge',
      statusCode: status,
      providerRequestId: 'req_test_0001',
    });
  });

  test('a network error ⇒ GatewayUnavailableError (network)', async () => {
    const { gateway } = stubbed(() => {
      throw new TypeError('fetch failed');
    });

    const error = await thrown(gateway.charge(chargeInput()));

    expect(error).toBeInstanceOf(GatewayUnavailableError);
    expect(error).toMatchObject({ reason: 'network', retryable: true });
    expect(error.context.statusCode).toBeUndefined();
  });

  test('no answer within timeoutMs ⇒ GatewayUnavailableError (timeout)', async () => {
    // A server that never answers. The SDK aborts the fetch through its signal when timeoutMs passes;
    // answer the abort the way fetch does.
    const hanging = Stripe.createFetchHttpClient(
      (_input: FetchInput, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          const signal = init?.signal;
          signal?.addEventListener('abort', () =>
            reject(signal.reason instanceof Error ? signal.reason : new Error('aborted')),
          );
        }),
    );
    const gateway = new StripeGateway({
      apiKey: 'sk_test_ledgerline',
      webhookSecret: 'whsec_test_ledgerline',
      host: 'stripe.invalid',
      httpClient: hanging,
      maxNetworkRetries: 0,
      timeoutMs: 100,
    });

    const error = await thrown(gateway.charge(chargeInput()));

    expect(error).toBeInstanceOf(GatewayUnavailableError);
    expect(error).toMatchObject({ reason: 'timeout' });
  });

  test('an unreadable answer (a proxy error page) ⇒ GatewayUnavailableError', async () => {
    const { gateway } = stubbed(() => new Response('<html>502 Bad Gateway</html>', { status: 200 }));

    const error = await thrown(gateway.charge(chargeInput()));

    expect(error).toMatchObject({ name: 'GatewayUnavailableError', reason: 'server_error' });
  });

  test.each([
    [
      '400 invalid_request_error',
      400,
      {
        error: {
          type: 'invalid_request_error',
          code: 'parameter_invalid_integer',
          param: 'amount',
          message: 'Invalid integer: 19.99',
        },
      },
      'invalid_request',
    ],
    [
      '400 idempotency_error (same key, other parameters)',
      400,
      {
        error: {
          type: 'idempotency_error',
          message:
            "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'charge:inv_01HZY3:1' if you meant to execute a different request.",
        },
      },
      'idempotency_key_reused',
    ],
    [
      '401 authentication',
      401,
      { error: { type: 'invalid_request_error', message: 'Invalid API Key provided: sk_test_****ine' } },
      'authentication',
    ],
    [
      '403 permission',
      403,
      {
        error: {
          type: 'invalid_request_error',
          message: 'The provided key does not have the required permissions for this endpoint.',
        },
      },
      'permission',
    ],
    [
      '404 resource_missing',
      404,
      {
        error: {
          type: 'invalid_request_error',
          code: 'resource_missing',
          param: 'customer',
          message: "No such customer: 'cus_ledgerline1'",
        },
      },
      'not_found',
    ],
  ])('%s ⇒ GatewayRequestError', async (_name, status, body, reason) => {
    const { gateway } = stubbed(() => stripeAnswer(status, body));

    const error = await thrown(gateway.charge(chargeInput()));

    expect(error).toBeInstanceOf(GatewayRequestError);
    expect(error).toMatchObject({ name: 'GatewayRequestError', reason, retryable: false });
    expect(error.context).toMatchObject({ operation: 'charge', statusCode: status });
  });

  test('a succeeded payment for another amount than requested is never reported as success', async () => {
    const { gateway } = stubbed(() =>
      stripeAnswer(200, {
        ...declinedIntent({}),
        status: 'succeeded',
        last_payment_error: null,
        amount: 1990,
      }),
    );

    const error = await thrown(gateway.charge(chargeInput()));

    expect(error).toMatchObject({ name: 'GatewayRequestError', reason: 'unexpected_response' });
  });

  test('a PaymentIntent left in requires_capture is refused (charge() never creates one)', async () => {
    const { gateway } = stubbed(() =>
      stripeAnswer(200, { ...declinedIntent({}), status: 'requires_capture', last_payment_error: null }),
    );

    const error = await thrown(gateway.retrieve('pi_3QdeclinedA1b2'));

    expect(error).toMatchObject({ name: 'GatewayRequestError', reason: 'unexpected_response' });
  });
});
