import { GatewayUnavailableError, WebhookSignatureError } from '../../src/gateways/errors';
import type {
  AttachPaymentMethodInput,
  ChargeInput,
  ChargeResult,
  CreateCustomerInput,
  GatewayEvent,
  PaymentGateway,
  RefundInput,
  RefundResult,
} from '../../src/gateways/payment-gateway';

export type ScriptedOutcome =
  'succeed' | 'decline' | 'insufficient_funds' | 'processing' | 'timeout_then_succeed';

interface CreatedPayment {
  readonly idempotencyKey: string;
  readonly providerPaymentId: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly result: ChargeResult;
}

/**
 * TEST ONLY: a payment provider behind the real PaymentGateway interface, behaving like Stripe where the
 * lifecycle depends on it. A repeated idempotency key replays the first answer (never a second charge);
 * Stripe's test payment methods decide the outcome (pm_card_visa succeeds, pm_card_chargeDeclined and
 * pm_card_chargeDeclinedInsufficientFunds decline), unless a test scripted the next outcomes for a
 * customer. Production always uses StripeGateway.
 */
export class FakeGateway implements PaymentGateway {
  readonly provider = 'stripe' as const;
  /** Every charge call, replays included, in order. */
  readonly chargeCalls: ChargeInput[] = [];
  private readonly payments = new Map<string, CreatedPayment>();
  private readonly scripts = new Map<string, ScriptedOutcome[]>();
  private readonly timedOutOnce = new Set<string>();
  private customers = 0;
  private paymentSeq = 0;

  scriptOutcomes(providerCustomerId: string, outcomes: ScriptedOutcome[]): void {
    this.scripts.set(providerCustomerId, [...outcomes]);
  }

  /** Distinct idempotency keys that created a payment: what the provider would count as charges. */
  paymentsCreated(): Array<{
    idempotencyKey: string;
    providerPaymentId: string;
    amountMinor: number;
    currency: string;
  }> {
    return [...this.payments.values()]
      .filter((payment) => payment.result.status !== 'declined')
      .map(({ idempotencyKey, providerPaymentId, amountMinor, currency }) => ({
        idempotencyKey,
        providerPaymentId,
        amountMinor,
        currency,
      }));
  }

  createCustomer(_input: CreateCustomerInput): Promise<{ providerCustomerId: string }> {
    this.customers += 1;
    return Promise.resolve({ providerCustomerId: `cus_fake_${this.customers}` });
  }

  attachPaymentMethod(input: AttachPaymentMethodInput): Promise<{ paymentMethodId: string }> {
    return Promise.resolve({ paymentMethodId: input.paymentMethodId });
  }

  charge(input: ChargeInput): Promise<ChargeResult> {
    this.chargeCalls.push(input);
    const existing = this.payments.get(input.idempotencyKey);
    if (existing !== undefined) {
      if (existing.amountMinor !== input.amountMinor) {
        return Promise.reject(
          new Error(`idempotency key ${input.idempotencyKey} reused with another amount`),
        );
      }
      return Promise.resolve(existing.result);
    }
    const outcome =
      this.scripts.get(input.providerCustomerId)?.shift() ?? this.outcomeOf(input.paymentMethodId);
    this.paymentSeq += 1;
    const providerPaymentId = `pi_fake_${this.paymentSeq}`;
    const base = {
      providerPaymentId,
      amountMinor: input.amountMinor,
      currency: input.currency.toUpperCase(),
    };
    let result: ChargeResult;
    switch (outcome) {
      case 'succeed':
      case 'timeout_then_succeed':
        result = { status: 'succeeded', ...base };
        break;
      case 'processing':
        result = { status: 'processing', ...base };
        break;
      case 'decline':
        result = {
          status: 'declined',
          providerPaymentId,
          declineCode: 'card_declined',
          message: 'Your card was declined.',
        };
        break;
      case 'insufficient_funds':
        result = {
          status: 'declined',
          providerPaymentId,
          declineCode: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
          adviceCode: 'try_again_later',
        };
        break;
    }
    this.payments.set(input.idempotencyKey, { idempotencyKey: input.idempotencyKey, ...base, result });
    if (outcome === 'timeout_then_succeed' && !this.timedOutOnce.has(input.idempotencyKey)) {
      // The provider took the money; the response never arrived.
      this.timedOutOnce.add(input.idempotencyKey);
      return Promise.reject(
        new GatewayUnavailableError('timeout', 'request timed out', {
          provider: 'stripe',
          operation: 'charge',
        }),
      );
    }
    return Promise.resolve(result);
  }

  refund(input: RefundInput): Promise<RefundResult> {
    const payment = [...this.payments.values()].find((p) => p.providerPaymentId === input.providerPaymentId);
    if (payment === undefined) return Promise.reject(new Error(`no payment ${input.providerPaymentId}`));
    return Promise.resolve({
      status: 'succeeded',
      providerRefundId: `re_fake_${input.idempotencyKey}`,
      providerPaymentId: payment.providerPaymentId,
      amountMinor: input.amountMinor ?? payment.amountMinor,
      currency: payment.currency,
    });
  }

  retrieve(providerPaymentId: string): Promise<ChargeResult> {
    const payment = [...this.payments.values()].find((p) => p.providerPaymentId === providerPaymentId);
    if (payment === undefined) return Promise.reject(new Error(`no payment ${providerPaymentId}`));
    return Promise.resolve(payment.result);
  }

  parseWebhook(_rawBody: Buffer | string, _signatureHeader: string | undefined): GatewayEvent {
    throw new WebhookSignatureError('invalid_signature', 'the fake gateway does not receive webhooks');
  }

  private outcomeOf(paymentMethodId: string | undefined): ScriptedOutcome {
    if (paymentMethodId === 'pm_card_chargeDeclined') return 'decline';
    if (paymentMethodId === 'pm_card_chargeDeclinedInsufficientFunds') return 'insufficient_funds';
    return 'succeed';
  }
}
