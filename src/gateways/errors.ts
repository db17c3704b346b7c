// What a payment gateway call can throw, sorted by what the caller should do about it.
//
// A card decline is not here: it is a business outcome and comes back as a value (ChargeResult
// 'declined'). What is thrown is either worth retrying with the same idempotency key
// (GatewayUnavailableError) or not (everything else). Temporal turns a thrown error into an
// ApplicationFailure whose type is the error's `name`, so the names are set explicitly and are stable:
// activity retry policies list them in `nonRetryableErrorTypes`.

export type GatewayProvider = 'stripe';

export type GatewayOperation =
  'createCustomer' | 'attachPaymentMethod' | 'charge' | 'refund' | 'retrieve' | 'parseWebhook';

/** Where a failure came from, for logs and operators; never card data. */
export interface GatewayErrorContext {
  readonly provider: GatewayProvider;
  readonly operation: GatewayOperation;
  /** HTTP status of the provider's answer; absent when no answer arrived (network, timeout). */
  readonly statusCode?: number;
  /** The provider's own error code (Stripe `code`, e.g. `lock_timeout`, `parameter_invalid_integer`). */
  readonly providerCode?: string;
  /** The provider's request id (Stripe `Request-Id`), the handle support asks for. */
  readonly providerRequestId?: string;
}

export abstract class GatewayError extends Error {
  /** True when repeating the same call with the same idempotency key can succeed. */
  abstract readonly retryable: boolean;

  protected constructor(
    message: string,
    readonly context: GatewayErrorContext,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type UnavailableReason =
  | 'network' // no answer: connection refused, reset, DNS
  | 'timeout' // no answer in time; the request may or may not have been applied
  | 'rate_limited' // 429
  | 'lock_timeout' // the provider could not lock the object in time (another request holds it)
  | 'idempotency_in_progress' // 409: a request with the same key is still running
  | 'server_error'; // 5xx or an unreadable answer

/**
 * Transient: retry the SAME call with the SAME idempotency key. The provider then either replays the
 * first attempt's answer or performs the work once, so a retried charge never charges twice.
 */
export class GatewayUnavailableError extends GatewayError {
  readonly retryable = true;

  constructor(
    readonly reason: UnavailableReason,
    message: string,
    context: GatewayErrorContext,
    options?: { cause?: unknown },
  ) {
    super(message, context, options);
    this.name = 'GatewayUnavailableError';
  }
}

export type RequestErrorReason =
  | 'invalid_input' // rejected by our own checks before any network call
  | 'invalid_request' // the provider rejected the parameters (400)
  | 'not_found' // the object does not exist at the provider (404)
  | 'authentication' // bad or revoked API key (401)
  | 'permission' // the key may not do this (403)
  | 'idempotency_key_reused' // same key, different parameters: a key-derivation bug
  | 'unexpected_response'; // the provider answered something our mapping says cannot happen

/** A bug or a misconfiguration: repeating the call cannot help, a person has to look. */
export class GatewayRequestError extends GatewayError {
  readonly retryable = false;

  constructor(
    readonly reason: RequestErrorReason,
    message: string,
    context: GatewayErrorContext,
    options?: { cause?: unknown },
  ) {
    super(message, context, options);
    this.name = 'GatewayRequestError';
  }
}

/**
 * The provider refused to store a payment method (e.g. the card failed its verification when it was
 * attached). A fact about the customer's card, like a decline; thrown because attaching has no other
 * outcome to report, and not retryable.
 */
export class PaymentMethodRejectedError extends GatewayError {
  readonly retryable = false;

  constructor(
    /** Provider decline code (`incorrect_cvc`, `card_declined`, ...), stable enough to switch on. */
    readonly declineCode: string,
    message: string,
    context: GatewayErrorContext,
    options?: { cause?: unknown },
  ) {
    super(message, context, options);
    this.name = 'PaymentMethodRejectedError';
  }
}

export type WebhookRejectionReason =
  | 'missing_header'
  | 'invalid_signature' // no signature matches the body and our secret (tampered, or wrong secret)
  | 'timestamp_outside_tolerance' // signed too long ago: a replay, or a badly delayed delivery
  | 'malformed_payload'; // signed, but not a webhook event we can read

/**
 * A webhook delivery we must not act on. The endpoint answers 400 and the provider redelivers;
 * nothing in the body has been trusted.
 */
export class WebhookSignatureError extends Error {
  constructor(
    readonly reason: WebhookRejectionReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WebhookSignatureError';
  }
}

/** For activity retry policies: failures that retrying with the same input cannot fix. */
export const NON_RETRYABLE_GATEWAY_ERROR_TYPES = [
  'GatewayRequestError',
  'PaymentMethodRejectedError',
] as const;
