// What the subscription workflow asks of the outside world, as plain JSON in and out.
//
// Every activity that writes is idempotent on a key the workflow derives from its own state (never a
// random id), backed by a unique constraint; a retry after a crash or timeout finds the first attempt's
// rows and returns the same answer.
//
// Business outcomes vs failures: a declined payment is a fact the workflow acts on. collectPayment
// records the declined attempt, then throws a NON-RETRYABLE ApplicationFailure of type
// PAYMENT_DECLINED_ERROR_TYPE whose first detail is a PaymentDeclinedDetails, so the Temporal UI shows
// the attempt and its reason; a gateway outage (GatewayUnavailableError) is thrown as a retryable error
// and Temporal retries with the same idempotency key.

import type {
  BillingSettings,
  InvoiceLineDraft,
  PauseBehavior,
  SubscriptionItem,
} from '../domain/billing-types';
import type { BillingPeriod } from '../domain/calendar';
import type { UsageBilledRecord } from '../domain/usage/charge-billing';
import type { UsagePeriod } from '../domain/usage/usage-period';
import type { InvoiceSummary, SubscriptionStatus } from '../workflows/contracts';

export { PAYMENT_DECLINED_ERROR_TYPE } from '../workflows/contracts';

export interface PaymentDeclinedDetails {
  readonly invoiceId: string;
  readonly attempt: number;
  /** 'card_declined', 'insufficient_funds', 'no_payment_method', … */
  readonly declineCode: string;
  readonly message: string;
  readonly adviceCode: string | null;
  readonly providerPaymentId: string | null;
}

export const BILLING_REASONS = [
  'subscription_create',
  'subscription_cycle',
  'subscription_update',
  'manual',
] as const;
export type BillingReason = (typeof BILLING_REASONS)[number];

export interface IssueInvoiceInput {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly customerId: string;
  readonly currency: string;
  readonly billingReason: BillingReason;
  /**
   * Unique per tenant. Period invoices: `invoice:{subscriptionId}:{periodStart}` (also unique on
   * (subscription, period_start) for create/cycle); change invoices: `invoice:{subscriptionId}:change:{seq}`.
   */
  readonly idempotencyKey: string;
  /** The service period the invoice covers. */
  readonly period: { readonly start: string; readonly end: string };
  /** At least one line. Signed amounts; the total may be negative (it then becomes customer credit). */
  readonly lines: readonly InvoiceLineDraft[];
  /** Workflow time of issue (the invoice's issue date and the ledger entries' occurredAt). */
  readonly issuedAt: string;
  /**
   * What the invoice bills of usage charges (from usageLines), written to usage_billed in the invoice's
   * transaction. Absent for invoices without usage.
   */
  readonly usageBilled?: readonly UsageBilledRecord[];
}

/** A subscription item whose plan's usage charges are billed. */
export interface UsageItemRef {
  readonly itemId: string;
  readonly priceId: string;
  readonly planId: string;
}

export interface UsageLinesInput {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly customerId: string;
  /** The invoice's currency; charges in another currency are not billed (docs/api.md). */
  readonly currency: string;
  /** The billing period (or its part before a cancellation) whose usage is billed, in arrears. */
  readonly period: { readonly start: string; readonly end: string };
  /** The subscription's items during that period: their plans' charges are billed. */
  readonly items: readonly UsageItemRef[];
  /** The idempotency key of the invoice that will carry the lines (its own records are ignored). */
  readonly idempotencyKey: string;
  /** Earlier usage periods checked for late usage; default 12, 0 = none. */
  readonly lookbackPeriods?: number;
}

export interface UsageLinesResult {
  /** Usage lines of the period, then "Late usage for …" adjustments, oldest period first. */
  readonly lines: InvoiceLineDraft[];
  /** Pass to issueInvoice as `usageBilled` (even when `lines` is empty, if this is not). */
  readonly usageBilled: UsageBilledRecord[];
  /** [floor_hour(period.start), floor_hour(period.end)). */
  readonly usagePeriod: UsagePeriod;
}

export interface IssuedInvoice extends InvoiceSummary {
  /** false when an earlier attempt already issued it. */
  readonly created: boolean;
  readonly subtotalMinor: number;
  /** Taken from the customer's credit balance when the invoice was finalized. */
  readonly creditAppliedMinor: number;
}

export type CollectionTrigger = 'automatic' | 'retry' | 'manual' | 'payment_method_updated' | 'resume';

export interface CollectPaymentInput {
  readonly tenantId: string;
  readonly invoiceId: string;
  /** 1-based per invoice, chosen by the workflow; the gateway key is `charge:{invoiceId}:{attempt}`. */
  readonly attempt: number;
  readonly trigger: CollectionTrigger;
  readonly attemptedAt: string;
}

/** Declined throws (see above); these are the other outcomes. */
export type CollectPaymentResult =
  | {
      readonly status: 'paid';
      readonly invoiceId: string;
      readonly amountMinor: number;
      /** null when nothing was due (paid from credit, or already paid by an earlier attempt/webhook). */
      readonly providerPaymentId: string | null;
    }
  | {
      readonly status: 'processing' | 'requires_action';
      readonly invoiceId: string;
      readonly providerPaymentId: string;
    };

export interface RecordGatewayPaymentInput {
  readonly tenantId: string;
  readonly invoiceId: string;
  readonly providerPaymentId: string;
  readonly amountMinor: number;
  readonly currency: string;
  readonly occurredAt: string;
}

export interface RecordGatewayPaymentResult {
  readonly invoiceId: string;
  readonly status: InvoiceSummary['status'];
  readonly amountDueMinor: number;
}

export interface RecordGatewayFailureInput {
  readonly tenantId: string;
  readonly invoiceId: string;
  readonly providerPaymentId: string;
  readonly declineCode: string;
  readonly message: string;
  readonly occurredAt: string;
}

export interface IssueCreditNoteInput {
  readonly tenantId: string;
  readonly customerId: string;
  /** The invoice the credit corrects (the current period's invoice). */
  readonly invoiceId: string;
  readonly currency: string;
  /** `credit_note:{subscriptionId}:cancel:{periodStart}` and the like. */
  readonly idempotencyKey: string;
  /** Positive amounts; the credit goes to the customer's credit balance (or reduces what is still due). */
  readonly lines: readonly { readonly description: string; readonly amountMinor: number }[];
  readonly reason: 'subscription_canceled' | 'pause' | 'other';
  readonly issuedAt: string;
}

export interface IssuedCreditNote {
  readonly creditNoteId: string;
  readonly number: string;
  readonly amountMinor: number;
  readonly created: boolean;
}

export interface OutboxEvent {
  /** Stripe-style names: 'invoice.payment_failed', 'customer.subscription.updated', … */
  readonly type: string;
  /** Unique per tenant; a retried write of the same event is a no-op. */
  readonly idempotencyKey: string;
  readonly occurredAt: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** Also send an email to the customer (rendered by the delivery side from `type` and `data`). */
  readonly emailCustomer: boolean;
}

export interface EmitEventsInput {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly customerId: string;
  readonly events: readonly OutboxEvent[];
}

/** The workflow's view of the subscription, mirrored into Postgres for listing and reporting. */
export interface SubscriptionMirror {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly status: SubscriptionStatus;
  readonly items: readonly SubscriptionItem[];
  readonly currentPeriod: BillingPeriod | null;
  readonly billingAnchor: string | null;
  readonly trialStart: string | null;
  readonly trialEnd: string | null;
  readonly cancelAtPeriodEnd: boolean;
  readonly canceledAt: string | null;
  readonly endedAt: string | null;
  readonly cancellationReason: string | null;
  readonly pauseBehavior: PauseBehavior | null;
  readonly pausedAt: string | null;
  readonly resumesAt: string | null;
  readonly accessSuspended: boolean;
}

/** The activities the subscription workflow calls. Implemented by createActivities(deps). */
export interface SubscriptionActivities {
  getBillingSettings(input: { readonly tenantId: string }): Promise<BillingSettings>;
  issueInvoice(input: IssueInvoiceInput): Promise<IssuedInvoice>;
  collectPayment(input: CollectPaymentInput): Promise<CollectPaymentResult>;
  recordGatewayPayment(input: RecordGatewayPaymentInput): Promise<RecordGatewayPaymentResult>;
  recordGatewayFailure(input: RecordGatewayFailureInput): Promise<void>;
  issueCreditNote(input: IssueCreditNoteInput): Promise<IssuedCreditNote>;
  emitEvents(input: EmitEventsInput): Promise<void>;
  recordSubscriptionState(input: SubscriptionMirror): Promise<void>;
  /** A pure read: usage lines of a period and late-usage adjustments (src/activities/usage-billing.ts). */
  usageLines(input: UsageLinesInput): Promise<UsageLinesResult>;
}
