// The one interface activities call to move money, whatever the provider.
//
// Everything crossing it is JSON (Temporal activity arguments and results): amounts are integer minor
// units in the currency's ISO 4217 exponent (JPY 0, EUR 2, BHD 3), currencies are upper-case ISO codes,
// instants are ISO-8601 UTC strings. Provider-specific units (Stripe's two-decimal ISK, lower-case
// currencies) never leak out of an adapter.
//
// Every call that writes takes an idempotencyKey, derived by the caller from the workflow and step
// (e.g. `charge:{invoiceId}:{attempt}`); the adapter passes it to the provider, so repeating a call after
// a timeout replays the first answer instead of charging twice.
//
// What comes back vs. what is thrown:
// - business outcomes (a decline, a payment still processing) are values;
// - GatewayUnavailableError: transient, retry with the same key;
// - GatewayRequestError / PaymentMethodRejectedError: retrying cannot help;
// - WebhookSignatureError: from parseWebhook only.
// See ./errors.ts.

export type { GatewayProvider } from './errors';

/**
 * Metadata stored on the provider's payment object and echoed back in its webhooks, so the webhook
 * endpoint can find the tenant and the workflow to signal without a lookup. tenantId is required for
 * that reason. Stripe's limits apply (at most 50 keys, keys up to 40 characters, values up to 500).
 */
export type PaymentMetadata = Readonly<Record<string, string>> & {
  readonly tenantId: string;
  readonly subscriptionId?: string;
  readonly invoiceId?: string;
};

export interface CreateCustomerInput {
  readonly idempotencyKey: string;
  readonly tenantId: string;
  /** Our customer id (`cus_…` in Ledgerline); stored on the provider's customer for reconciliation. */
  readonly customerId: string;
  readonly email?: string;
  readonly name?: string;
}

export interface AttachPaymentMethodInput {
  readonly idempotencyKey: string;
  readonly providerCustomerId: string;
  /** A payment method (or, in test mode, a test token like `pm_card_visa`) collected by the front end. */
  readonly paymentMethodId: string;
  /** Also make it the method `charge` uses when it is given none. */
  readonly makeDefault: boolean;
}

export interface ChargeInput {
  readonly idempotencyKey: string;
  readonly providerCustomerId: string;
  /**
   * Omitted: the customer's default payment method (set by attachPaymentMethod with makeDefault), looked
   * up on each attempt. Pass it explicitly when a retry must replay exactly: if the default changed
   * between attempts, the provider refuses the reused key (GatewayRequestError 'idempotency_key_reused').
   */
  readonly paymentMethodId?: string;
  /** Positive integer, ISO 4217 minor units of `currency`. */
  readonly amountMinor: number;
  /** ISO 4217 code, any case. */
  readonly currency: string;
  /** Shown on the provider's dashboard and the customer's receipt. */
  readonly description: string;
  readonly metadata: PaymentMetadata;
}

/** The reasons every provider understands; free text belongs in our own records. */
export const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

interface RefundInputBase {
  readonly idempotencyKey: string;
  readonly providerPaymentId: string;
  readonly reason?: RefundReason;
}

/**
 * Full refund when amountMinor is omitted. A partial refund names its currency too: some providers count
 * some currencies in other units than ISO (Stripe's ISK), and the adapter converts and checks it.
 */
export type RefundInput = RefundInputBase &
  (
    | { readonly amountMinor?: undefined; readonly currency?: undefined }
    | { readonly amountMinor: number; readonly currency: string }
  );

interface PaymentOutcomeBase {
  readonly providerPaymentId: string;
  readonly amountMinor: number;
  /** Upper-case ISO 4217. */
  readonly currency: string;
}

/** Money is collected. */
export interface ChargeSucceeded extends PaymentOutcomeBase {
  readonly status: 'succeeded';
}

/**
 * The customer has to do something (authenticate, confirm a mandate) before money moves. Off-session
 * card charges rarely end here (the provider declines with `authentication_required` instead); other
 * payment methods can.
 */
export interface ChargeRequiresAction extends PaymentOutcomeBase {
  readonly status: 'requires_action';
  /** Provider's name for the step (`use_stripe_sdk`, `redirect_to_url`, ...), for support and logs. */
  readonly nextActionType?: string;
}

/** Accepted but not final (bank debits, some wallets): the outcome arrives later as a webhook. */
export interface ChargeProcessing extends PaymentOutcomeBase {
  readonly status: 'processing';
}

/**
 * The payment did not and will not happen with this payment method: a business outcome the workflow
 * turns into dunning, never an exception.
 */
export interface ChargeDeclined {
  readonly status: 'declined';
  /** Absent when the provider refused before creating a payment object. */
  readonly providerPaymentId?: string;
  /**
   * Most specific code available: the issuer's decline code (`insufficient_funds`), else the provider's
   * error code (`card_declined`, `authentication_required`, `expired_card`), else our own
   * (`no_payment_method`, `canceled`).
   */
  readonly declineCode: string;
  /** Safe to show to the customer. */
  readonly message: string;
  /** Issuer's retry advice when given (`try_again_later`, `do_not_try_again`, `confirm_card_data`). */
  readonly adviceCode?: string;
}

export type ChargeResult = ChargeSucceeded | ChargeRequiresAction | ChargeProcessing | ChargeDeclined;
export type ChargeStatus = ChargeResult['status'];

interface RefundOutcomeBase {
  readonly providerRefundId: string;
  readonly providerPaymentId: string;
  readonly amountMinor: number;
  readonly currency: string;
}

export type RefundResult =
  | (RefundOutcomeBase & { readonly status: 'succeeded' | 'pending' | 'requires_action' })
  | (RefundOutcomeBase & {
      readonly status: 'failed' | 'canceled';
      /** Provider's reason (`expired_or_canceled_card`, `lost_or_stolen_card`, ...). */
      readonly failureReason: string;
    });
export type RefundStatus = RefundResult['status'];

interface GatewayEventBase {
  /** Provider's event id. Deliveries are at-least-once: the endpoint deduplicates on it. */
  readonly eventId: string;
  /** When the provider created the event, ISO-8601 UTC. */
  readonly occurredAt: string;
  readonly livemode: boolean;
}

export interface PaymentSucceededEvent extends GatewayEventBase {
  readonly type: 'payment_succeeded';
  readonly providerPaymentId: string;
  readonly amountMinor: number;
  readonly currency: string;
  /** The metadata `charge` stored: tenantId, subscriptionId, invoiceId. Empty if not ours. */
  readonly metadata: Readonly<Record<string, string>>;
}

export interface PaymentFailedEvent extends GatewayEventBase {
  readonly type: 'payment_failed';
  readonly providerPaymentId: string;
  readonly declineCode: string;
  readonly message: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Anything else: acknowledged (2xx) so the provider stops redelivering, otherwise ignored. */
export interface OtherGatewayEvent extends GatewayEventBase {
  readonly type: 'other';
  /** The provider's event type, e.g. `charge.refunded`. */
  readonly providerEventType: string;
}

export type GatewayEvent = PaymentSucceededEvent | PaymentFailedEvent | OtherGatewayEvent;

export interface PaymentGateway {
  readonly provider: 'stripe';

  /** Creates the provider-side customer. Our tenantId and customerId go into its metadata. */
  createCustomer(input: CreateCustomerInput): Promise<{ providerCustomerId: string }>;

  /**
   * Attaches a payment method to the customer, optionally as the default. Returns the id to charge,
   * which can differ from the one passed in (a test token becomes a real payment method).
   * Throws PaymentMethodRejectedError when the provider refuses the card.
   */
  attachPaymentMethod(input: AttachPaymentMethodInput): Promise<{ paymentMethodId: string }>;

  /** Charges off-session (the customer is not present). A decline is a result, not an exception. */
  charge(input: ChargeInput): Promise<ChargeResult>;

  refund(input: RefundInput): Promise<RefundResult>;

  /** Current state of a payment created by `charge`, e.g. to settle a 'processing' or a timed-out call. */
  retrieve(providerPaymentId: string): Promise<ChargeResult>;

  /**
   * Verifies the signature (and its age) over the raw, unparsed request body, then normalizes the event.
   * Throws WebhookSignatureError; never trust a body this did not accept.
   */
  parseWebhook(rawBody: Buffer | string, signatureHeader: string | undefined): GatewayEvent;
}
