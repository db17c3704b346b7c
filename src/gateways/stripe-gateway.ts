// PaymentGateway on Stripe PaymentIntents, through the official `stripe` SDK.
//
// Production talks to api.stripe.com; tests point host/port/protocol at stripe-mock, or pass an
// httpClient that answers like Stripe does (declines, outages), so the SDK's own request building,
// retries and error classes are always the real ones.

import Stripe from 'stripe';
import {
  GatewayRequestError,
  GatewayUnavailableError,
  PaymentMethodRejectedError,
  WebhookSignatureError,
  type GatewayErrorContext,
  type GatewayOperation,
} from './errors';
import {
  REFUND_REASONS,
  type AttachPaymentMethodInput,
  type ChargeDeclined,
  type ChargeInput,
  type ChargeResult,
  type CreateCustomerInput,
  type GatewayEvent,
  type PaymentGateway,
  type RefundInput,
  type RefundResult,
} from './payment-gateway';

export interface StripeGatewayConfig {
  /** Secret key (`sk_live_…`, `sk_test_…`) or a restricted key with PaymentIntents, Customers, Refunds. */
  readonly apiKey: string;
  /** The webhook endpoint's signing secret (`whsec_…`). */
  readonly webhookSecret: string;
  readonly host?: string;
  readonly port?: number;
  readonly protocol?: 'http' | 'https';
  readonly httpClient?: Stripe.HttpClient;
  /**
   * Retries inside one call, with the same idempotency key, on network errors, 409 and 5xx. Keep it
   * small: Temporal retries the whole activity on top, and the activity's start-to-close timeout must
   * cover (maxNetworkRetries + 1) × timeoutMs plus backoff.
   */
  readonly maxNetworkRetries?: number;
  /** Per HTTP attempt. The SDK's default (80 s) outlives any sensible activity timeout. */
  readonly timeoutMs?: number;
  /** Oldest webhook signature we accept. Must be positive: with stripe@23, 0 disables the check. */
  readonly webhookToleranceSeconds?: number;
}

// stripe@23 defaults to 2 network retries (its typings still say 1); one is enough under Temporal.
const DEFAULT_MAX_NETWORK_RETRIES = 1;
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

/** Stripe's own limit on idempotency keys; we append a suffix for the second call of attachPaymentMethod. */
const MAX_IDEMPOTENCY_KEY_LENGTH = 255 - ':default'.length;

export class StripeGateway implements PaymentGateway {
  readonly provider = 'stripe' as const;
  private readonly stripe: Stripe;
  private readonly webhookSecret: string;
  private readonly webhookToleranceSeconds: number;

  constructor(config: StripeGatewayConfig) {
    assertConfig(config.apiKey.trim() !== '', 'apiKey is empty');
    // Stripe rejects a blank secret only when the first webhook arrives; fail at start-up instead.
    assertConfig(
      config.webhookSecret.trim() !== '' && config.webhookSecret === config.webhookSecret.trim(),
      'webhookSecret is empty or has surrounding whitespace',
    );
    const tolerance = config.webhookToleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
    assertConfig(Number.isInteger(tolerance) && tolerance > 0, 'webhookToleranceSeconds must be > 0');
    this.webhookSecret = config.webhookSecret;
    this.webhookToleranceSeconds = tolerance;
    this.stripe = new Stripe(config.apiKey, {
      maxNetworkRetries: config.maxNetworkRetries ?? DEFAULT_MAX_NETWORK_RETRIES,
      timeout: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      typescript: true,
      appInfo: { name: 'ledgerline' },
      ...(config.host === undefined ? {} : { host: config.host }),
      ...(config.port === undefined ? {} : { port: config.port }),
      ...(config.protocol === undefined ? {} : { protocol: config.protocol }),
      ...(config.httpClient === undefined ? {} : { httpClient: config.httpClient }),
    });
  }

  async createCustomer(input: CreateCustomerInput): Promise<{ providerCustomerId: string }> {
    const context = contextFor('createCustomer');
    checkIdempotencyKey(input.idempotencyKey, context);
    checkInput(
      input.tenantId !== '' && input.customerId !== '',
      'tenantId and customerId are required',
      context,
    );
    const customer = await call(context, () =>
      this.stripe.customers.create(
        {
          ...(input.email === undefined ? {} : { email: input.email }),
          ...(input.name === undefined ? {} : { name: input.name }),
          metadata: { tenantId: input.tenantId, customerId: input.customerId },
        },
        { idempotencyKey: input.idempotencyKey },
      ),
    );
    return { providerCustomerId: customer.id };
  }

  async attachPaymentMethod(input: AttachPaymentMethodInput): Promise<{ paymentMethodId: string }> {
    const context = contextFor('attachPaymentMethod');
    checkIdempotencyKey(input.idempotencyKey, context);
    const paymentMethod = await call(
      context,
      () =>
        this.stripe.paymentMethods.attach(
          input.paymentMethodId,
          { customer: input.providerCustomerId },
          { idempotencyKey: input.idempotencyKey },
        ),
      { cardErrors: 'reject' },
    );
    const attachedTo = idOf(paymentMethod.customer);
    if (attachedTo !== input.providerCustomerId) {
      throw new GatewayRequestError(
        'unexpected_response',
        `payment method ${paymentMethod.id} is attached to ${attachedTo ?? 'no customer'}, not ${input.providerCustomerId}`,
        context,
      );
    }
    if (input.makeDefault) {
      // A second write needs its own key: Stripe refuses one key for two different requests.
      await call(context, () =>
        this.stripe.customers.update(
          input.providerCustomerId,
          { invoice_settings: { default_payment_method: paymentMethod.id } },
          { idempotencyKey: `${input.idempotencyKey}:default` },
        ),
      );
    }
    return { paymentMethodId: paymentMethod.id };
  }

  async charge(input: ChargeInput): Promise<ChargeResult> {
    const context = contextFor('charge');
    checkIdempotencyKey(input.idempotencyKey, context);
    const currency = checkCurrency(input.currency, context);
    const amount = toStripeAmount(input.amountMinor, currency, context);
    checkMetadata(input.metadata, context);
    // Looked up on every attempt: pass paymentMethodId explicitly when a retry must replay exactly
    // (if the default changed in between, Stripe refuses the reused key as an idempotency error).
    const paymentMethodId =
      input.paymentMethodId ?? (await this.defaultPaymentMethod(input.providerCustomerId));
    if (paymentMethodId === undefined) {
      return {
        status: 'declined',
        declineCode: 'no_payment_method',
        message: 'The customer has no default payment method.',
      };
    }
    let intent: Stripe.PaymentIntent;
    try {
      intent = await this.stripe.paymentIntents.create(
        {
          amount,
          currency: currency.toLowerCase(),
          customer: input.providerCustomerId,
          payment_method: paymentMethodId,
          confirm: true,
          // The customer is not in a checkout flow: Stripe asks the bank to exempt the payment from
          // authentication and, if the bank insists, declines with `authentication_required` rather
          // than waiting for a customer who is not there.
          off_session: true,
          // Recent API versions turn automatic payment methods on by default, and then a confirm
          // without return_url is refused in case the method redirects. Nobody can follow a redirect
          // off-session, so say so.
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          description: input.description,
          metadata: { ...input.metadata },
        },
        { idempotencyKey: input.idempotencyKey },
      );
    } catch (error) {
      if (error instanceof Stripe.errors.StripeCardError) return declinedFromCardError(error);
      throw translateStripeError(error, context);
    }
    const result = chargeResultOf(intent, context);
    if (
      result.status !== 'declined' &&
      (result.amountMinor !== input.amountMinor || result.currency !== currency)
    ) {
      // Money moved, but not the amount we asked for: never report that as an ordinary outcome.
      throw new GatewayRequestError(
        'unexpected_response',
        `PaymentIntent ${intent.id} is for ${result.amountMinor} ${result.currency}, requested ${input.amountMinor} ${currency}`,
        context,
      );
    }
    return result;
  }

  async refund(input: RefundInput): Promise<RefundResult> {
    const context = contextFor('refund');
    checkIdempotencyKey(input.idempotencyKey, context);
    checkInput(
      input.reason === undefined || (REFUND_REASONS as readonly string[]).includes(input.reason),
      `unknown refund reason '${String(input.reason)}'`,
      context,
    );
    let amount: number | undefined;
    let currency: string | undefined;
    if (input.amountMinor !== undefined) {
      currency = checkCurrency(input.currency, context);
      amount = toStripeAmount(input.amountMinor, currency, context);
    }
    const refund = await call(context, () =>
      this.stripe.refunds.create(
        {
          payment_intent: input.providerPaymentId,
          ...(amount === undefined ? {} : { amount }),
          ...(input.reason === undefined ? {} : { reason: input.reason }),
        },
        { idempotencyKey: input.idempotencyKey },
      ),
    );
    const result = refundResultOf(refund, input.providerPaymentId, context);
    if (
      input.amountMinor !== undefined &&
      (result.amountMinor !== input.amountMinor || result.currency !== currency)
    ) {
      throw new GatewayRequestError(
        'unexpected_response',
        `refund ${refund.id} is for ${result.amountMinor} ${result.currency}, requested ${input.amountMinor} ${currency}`,
        context,
      );
    }
    return result;
  }

  async retrieve(providerPaymentId: string): Promise<ChargeResult> {
    const context = contextFor('retrieve');
    checkInput(providerPaymentId !== '', 'providerPaymentId is empty', context);
    const intent = await call(context, () => this.stripe.paymentIntents.retrieve(providerPaymentId));
    return chargeResultOf(intent, context);
  }

  parseWebhook(rawBody: Buffer | string, signatureHeader: string | undefined): GatewayEvent {
    if (signatureHeader === undefined || signatureHeader.trim() === '') {
      throw new WebhookSignatureError('missing_header', 'The Stripe-Signature header is missing');
    }
    let event: Stripe.Event;
    try {
      event = this.stripe.webhooks.constructEvent(
        rawBody,
        signatureHeader,
        this.webhookSecret,
        this.webhookToleranceSeconds,
      );
    } catch (error) {
      throw webhookRejection(error);
    }
    try {
      return normalizeEvent(event);
    } catch (error) {
      throw new WebhookSignatureError(
        'malformed_payload',
        'The signed event does not have the expected shape',
        {
          cause: error,
        },
      );
    }
  }

  private async defaultPaymentMethod(providerCustomerId: string): Promise<string | undefined> {
    const context = contextFor('charge');
    const customer = await call(context, () => this.stripe.customers.retrieve(providerCustomerId));
    if (customer.deleted === true) {
      throw new GatewayRequestError('not_found', `customer ${providerCustomerId} is deleted`, context);
    }
    return idOf(customer.invoice_settings.default_payment_method);
  }
}

// ---------------------------------------------------------------------------------------------------
// Mapping Stripe objects to our outcomes
// ---------------------------------------------------------------------------------------------------

function chargeResultOf(intent: Stripe.PaymentIntent, context: GatewayErrorContext): ChargeResult {
  const currency = intent.currency.toUpperCase();
  const base = {
    providerPaymentId: intent.id,
    amountMinor: fromStripeAmount(intent.amount, currency, context),
    currency,
  };
  switch (intent.status) {
    case 'succeeded':
      return { status: 'succeeded', ...base };
    case 'processing':
      return { status: 'processing', ...base };
    case 'requires_action': {
      const nextActionType = intent.next_action?.type;
      return { status: 'requires_action', ...base, ...(nextActionType ? { nextActionType } : {}) };
    }
    case 'requires_payment_method': {
      // After a failed confirmation Stripe puts the intent back here, with the failure attached.
      const failure = intent.last_payment_error;
      return declined(
        intent.id,
        failure?.decline_code || failure?.code || 'requires_payment_method',
        failure?.message ?? 'The payment needs a new payment method.',
        failure?.advice_code,
      );
    }
    case 'canceled':
      return declined(
        intent.id,
        'canceled',
        `The payment was canceled${intent.cancellation_reason ? ` (${intent.cancellation_reason})` : ''}.`,
      );
    default:
      // requires_confirmation / requires_capture: charge() confirms and captures automatically, so a
      // payment of ours is never left there.
      throw new GatewayRequestError(
        'unexpected_response',
        `PaymentIntent ${intent.id} has status '${intent.status}', which charge() never creates`,
        context,
      );
  }
}

function declinedFromCardError(error: Stripe.errors.StripeCardError): ChargeDeclined {
  return declined(error.payment_intent?.id, cardDeclineCode(error), error.message, error.advice_code);
}

/**
 * The issuer's reason when there is one, else Stripe's code. Stripe sends no decline_code for errors
 * like incorrect_cvc, and stripe@23 turns the missing field into '' (not undefined), hence `||`.
 */
function cardDeclineCode(error: Stripe.errors.StripeCardError): string {
  return error.decline_code || error.code || 'card_declined';
}

function declined(
  providerPaymentId: string | undefined,
  declineCode: string,
  message: string,
  adviceCode?: string,
): ChargeDeclined {
  return {
    status: 'declined',
    ...(providerPaymentId === undefined ? {} : { providerPaymentId }),
    declineCode,
    message,
    ...(adviceCode === undefined ? {} : { adviceCode }),
  };
}

function refundResultOf(
  refund: Stripe.Refund,
  requestedPaymentId: string,
  context: GatewayErrorContext,
): RefundResult {
  const currency = refund.currency.toUpperCase();
  const base = {
    providerRefundId: refund.id,
    providerPaymentId: idOf(refund.payment_intent) ?? requestedPaymentId,
    amountMinor: fromStripeAmount(refund.amount, currency, context),
    currency,
  };
  switch (refund.status) {
    case 'succeeded':
    case 'pending':
    case 'requires_action':
      return { status: refund.status, ...base };
    case 'failed':
    case 'canceled':
      return { status: refund.status, ...base, failureReason: refund.failure_reason ?? 'unknown' };
    default:
      throw new GatewayRequestError(
        'unexpected_response',
        `refund ${refund.id} has unknown status '${String(refund.status)}'`,
        context,
      );
  }
}

function normalizeEvent(event: Stripe.Event): GatewayEvent {
  const base = {
    eventId: event.id,
    occurredAt: new Date(event.created * 1000).toISOString(),
    livemode: event.livemode,
  };
  switch (event.type) {
    case 'payment_intent.succeeded': {
      const intent = checkedIntent(event.data.object);
      const currency = intent.currency.toUpperCase();
      return {
        type: 'payment_succeeded',
        ...base,
        providerPaymentId: intent.id,
        amountMinor: fromStripeAmount(intent.amount, currency, contextFor('parseWebhook')),
        currency,
        metadata: { ...intent.metadata },
      };
    }
    case 'payment_intent.payment_failed': {
      const intent = checkedIntent(event.data.object);
      const failure = intent.last_payment_error;
      return {
        type: 'payment_failed',
        ...base,
        providerPaymentId: intent.id,
        declineCode: failure?.decline_code || failure?.code || 'unknown',
        message: failure?.message ?? 'The payment failed.',
        metadata: { ...intent.metadata },
      };
    }
    default:
      return { type: 'other', ...base, providerEventType: event.type };
  }
}

/**
 * A webhook body is shaped by the endpoint's API version, not by this SDK's, and the types cannot know
 * it: check the fields the workflow will act on instead of trusting them.
 */
function checkedIntent(intent: Stripe.PaymentIntent): Stripe.PaymentIntent {
  const fields = intent as unknown as Record<string, unknown>;
  const ok =
    typeof fields.id === 'string' &&
    fields.id !== '' &&
    typeof fields.amount === 'number' &&
    typeof fields.currency === 'string' &&
    typeof fields.metadata === 'object' &&
    fields.metadata !== null;
  if (!ok) throw new Error('payment_intent event without id, amount, currency or metadata');
  return intent;
}

function webhookRejection(error: unknown): WebhookSignatureError {
  if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
    // The SDK has one error class for every verification failure; its message is the only discriminator.
    // The webhook tests pin this text, so an SDK upgrade that changes it fails loudly.
    const expired = error.message.includes('Timestamp outside the tolerance zone');
    return new WebhookSignatureError(
      expired ? 'timestamp_outside_tolerance' : 'invalid_signature',
      expired ? 'The webhook signature is too old' : 'The webhook signature does not match the body',
      { cause: error },
    );
  }
  // Signature fine, body not JSON or not a snapshot event (a v2 "thin" event sent to this endpoint).
  return new WebhookSignatureError('malformed_payload', 'The webhook body is not a Stripe event', {
    cause: error,
  });
}

// ---------------------------------------------------------------------------------------------------
// Errors: Stripe's classes to ours
// ---------------------------------------------------------------------------------------------------

async function call<T>(
  context: GatewayErrorContext,
  request: () => Promise<T>,
  options: { cardErrors?: 'reject' } = {},
): Promise<T> {
  try {
    return await request();
  } catch (error) {
    if (options.cardErrors === 'reject' && error instanceof Stripe.errors.StripeCardError) {
      throw new PaymentMethodRejectedError(cardDeclineCode(error), error.message, contextOf(error, context), {
        cause: error,
      });
    }
    throw translateStripeError(error, context);
  }
}

/**
 * Sorts a Stripe failure into retryable or not. Order matters: the code and status that say "try
 * again" win over the class, because Stripe reports lock timeouts and in-flight idempotent requests
 * with statuses (409, 429) the SDK files under generic classes.
 */
function translateStripeError(error: unknown, context: GatewayErrorContext): unknown {
  if (!(error instanceof Stripe.errors.StripeError)) return error; // ours, or a bug: leave it alone
  const errorContext = contextOf(error, context);
  const unavailable = (reason: GatewayUnavailableError['reason']) =>
    new GatewayUnavailableError(reason, error.message, errorContext, { cause: error });
  const rejected = (reason: GatewayRequestError['reason']) =>
    new GatewayRequestError(reason, error.message, errorContext, { cause: error });
  const status = error.statusCode;

  if (error instanceof Stripe.errors.StripeConnectionError) {
    return unavailable(isTimeout(error) ? 'timeout' : 'network');
  }
  if (error.code === 'lock_timeout') return unavailable('lock_timeout');
  if (status === 409 || error.code === 'idempotency_key_in_use')
    return unavailable('idempotency_in_progress');
  if (error instanceof Stripe.errors.StripeRateLimitError || status === 429)
    return unavailable('rate_limited');
  // No status: the SDK could not read Stripe's answer (e.g. invalid JSON from a proxy in between).
  // 424: a dependency of Stripe's (a card network) failed.
  if (status === undefined || status >= 500 || status === 424) return unavailable('server_error');

  if (error instanceof Stripe.errors.StripeIdempotencyError) return rejected('idempotency_key_reused');
  if (error instanceof Stripe.errors.StripeAuthenticationError) return rejected('authentication');
  if (error instanceof Stripe.errors.StripePermissionError) return rejected('permission');
  if (status === 404) return rejected('not_found');
  return rejected('invalid_request');
}

function contextOf(error: Stripe.errors.StripeError, context: GatewayErrorContext): GatewayErrorContext {
  return {
    ...context,
    ...(error.statusCode === undefined ? {} : { statusCode: error.statusCode }),
    ...(error.code === undefined ? {} : { providerCode: error.code }),
    ...(error.requestId === undefined ? {} : { providerRequestId: error.requestId }),
  };
}

function isTimeout(error: Stripe.errors.StripeConnectionError): boolean {
  const detail = error.detail as { code?: unknown } | undefined;
  return detail?.code === 'ETIMEDOUT';
}

function contextFor(operation: GatewayOperation): GatewayErrorContext {
  return { provider: 'stripe', operation };
}

// ---------------------------------------------------------------------------------------------------
// Input checks and units
// ---------------------------------------------------------------------------------------------------

function assertConfig(condition: boolean, message: string): void {
  if (!condition) throw new Error(`StripeGateway: ${message}`);
}

/** Rejected before any network call, as non-retryable: the same input would fail the same way. */
function checkInput(condition: boolean, message: string, context: GatewayErrorContext): asserts condition {
  if (!condition) throw new GatewayRequestError('invalid_input', message, context);
}

function checkIdempotencyKey(key: string, context: GatewayErrorContext): void {
  checkInput(
    key.trim() !== '' && key.length <= MAX_IDEMPOTENCY_KEY_LENGTH,
    `idempotencyKey must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    context,
  );
}

function checkCurrency(currency: string | undefined, context: GatewayErrorContext): string {
  checkInput(
    currency !== undefined && /^[A-Za-z]{3}$/.test(currency),
    `currency must be a 3-letter ISO 4217 code, got '${String(currency)}'`,
    context,
  );
  return currency.toUpperCase();
}

/** Stripe's metadata limits, checked here so a violation is a clear input error, not a 400 later. */
function checkMetadata(metadata: Readonly<Record<string, unknown>>, context: GatewayErrorContext): void {
  const entries = Object.entries(metadata);
  checkInput(entries.length <= 50, `metadata has ${entries.length} keys, Stripe allows 50`, context);
  for (const [key, value] of entries) {
    checkInput(
      key.length > 0 && key.length <= 40 && !/[[\]]/.test(key),
      `metadata key '${key}' must be 1-40 characters without brackets`,
      context,
    );
    checkInput(
      typeof value === 'string' && value.length <= 500,
      `metadata '${key}' must be a string of at most 500 characters`,
      context,
    );
  }
  checkInput(
    typeof metadata.tenantId === 'string' && metadata.tenantId !== '',
    'metadata.tenantId is required: the webhook endpoint routes on it',
    context,
  );
}

// Stripe counts most currencies in their ISO 4217 minor unit, with documented exceptions:
// - ISK: zero-decimal in ISO, but Stripe kept it two-decimal for compatibility and requires whole
//   krónur, so 5 ISK is amount 500;
// - three-decimal currencies: card networks need the last digit to be 0, so 5.124 KWD cannot be
//   charged. We refuse instead of rounding: rounding money is the domain's call, made once.
const STRIPE_EXTRA_DECIMALS: Readonly<Record<string, number>> = { ISK: 2 };
const THREE_DECIMAL_CURRENCIES: ReadonlySet<string> = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

function toStripeAmount(amountMinor: number, currency: string, context: GatewayErrorContext): number {
  checkInput(
    Number.isSafeInteger(amountMinor) && amountMinor > 0,
    `amountMinor must be a positive safe integer, got ${amountMinor}`,
    context,
  );
  checkInput(
    !THREE_DECIMAL_CURRENCIES.has(currency) || amountMinor % 10 === 0,
    `${currency} amounts must end in 0 for card networks, got ${amountMinor}`,
    context,
  );
  const amount = amountMinor * 10 ** (STRIPE_EXTRA_DECIMALS[currency] ?? 0);
  checkInput(Number.isSafeInteger(amount), `amount ${amountMinor} ${currency} is too large`, context);
  return amount;
}

function fromStripeAmount(amount: number, currency: string, context: GatewayErrorContext): number {
  const factor = 10 ** (STRIPE_EXTRA_DECIMALS[currency] ?? 0);
  if (!Number.isSafeInteger(amount) || amount % factor !== 0) {
    // e.g. a fractional-króna ISK payment from before Stripe enforced whole krónur: not ours.
    throw new GatewayRequestError(
      'unexpected_response',
      `Stripe amount ${amount} ${currency} is not a whole number of ISO minor units`,
      context,
    );
  }
  return amount / factor;
}

/** Stripe fields that hold an id, or the object itself when expanded. */
function idOf(value: string | { id: string } | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'string' ? value : value.id;
}
