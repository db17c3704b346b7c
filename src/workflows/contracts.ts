/**
 * The subscription workflow's public surface: ids, search attributes, signals, updates, queries and
 * their payload types. Imported by the workflow and by the API's Temporal client so both sides agree.
 * Everything here is JSON: amounts are integer minor units, instants are ISO-8601 UTC strings.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  BillingAlignment,
  InvoiceLineDraft,
  PauseBehavior,
  PriceSnapshot,
  ProrationBehavior,
  SubscriptionItem,
} from '../domain/billing-types';
import type { BillingPeriod, BillingSchedule } from '../domain/calendar';
import type { UsageThresholdCrossing } from '../domain/usage/thresholds';

/**
 * ApplicationFailure type of a declined payment: collectPayment records the attempt, then throws it
 * non-retryable, so the Temporal UI shows the attempt and why it failed.
 */
export const PAYMENT_DECLINED_ERROR_TYPE = 'PaymentDeclined';

export const SUBSCRIPTION_TASK_QUEUE = 'ledgerline-subscriptions';

export function subscriptionWorkflowId(tenantId: string, subscriptionId: string): string {
  return `subscription:${tenantId}:${subscriptionId}`;
}

export const SearchAttributes = {
  tenantId: defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD),
  customerId: defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD),
  planId: defineSearchAttributeKey('PlanId', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('SubscriptionStatus', SearchAttributeType.KEYWORD),
} as const;

export const SUBSCRIPTION_STATUSES = [
  'incomplete',
  'trialing',
  'active',
  'past_due',
  'paused',
  'unpaid',
  'canceled',
  'ended',
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** What happens at trial end when the customer has no payment method. */
export type TrialEndBehavior = 'create_invoice' | 'cancel';

export interface TrialState {
  readonly start: string;
  readonly end: string;
  /** The reminder notification was written for this trial end (an extension re-arms it). */
  readonly reminderSentForEnd: string | null;
}

export interface PauseState {
  readonly behavior: PauseBehavior;
  /** When the pause took (or takes) effect. */
  readonly effectiveAt: string;
  /** Requested automatic resume; null = until a resume update. */
  readonly resumesAt: string | null;
  /** false while a pause is scheduled for the period end and not yet in effect. */
  readonly inEffect: boolean;
}

/** Recovery of unpaid invoices; present from the first failed attempt until everything is paid. */
export interface DunningState {
  /** Open invoices oldest first; each retry tries them in this order. */
  readonly invoiceIds: readonly string[];
  readonly firstFailureAt: string;
  /** Attempts made so far on the oldest open invoice (the automatic one counts as 1). */
  readonly attempts: number;
  /** null once the automatic retries are used up (unpaid) or while a payment is processing. */
  readonly nextRetryAt: string | null;
  readonly graceEndsAt: string;
  readonly accessSuspended: boolean;
  readonly lastDeclineCode: string | null;
  readonly lastDeclineMessage: string | null;
}

export interface CancellationState {
  readonly requestedAt: string;
  readonly canceledAt: string | null;
  readonly endedAt: string | null;
  readonly reason: string | null;
}

export interface InvoiceSummary {
  readonly invoiceId: string;
  readonly number: string | null;
  readonly totalMinor: number;
  readonly amountDueMinor: number;
  readonly status: 'draft' | 'open' | 'paid' | 'void' | 'uncollectible';
}

/**
 * The subscription's whole state. It is the workflow's input and what every continue-as-new carries
 * forward, so a run can start from it at any point of the subscription's life.
 */
export interface SubscriptionWorkflowInput {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly customerId: string;
  readonly currency: string;
  readonly items: readonly SubscriptionItem[];
  readonly alignment: BillingAlignment;
  /** null until the first paid period starts (while trialing), and while a service pause is in effect. */
  readonly schedule: BillingSchedule | null;
  /** Index of the current period of `schedule`. */
  readonly periodIndex: number;
  /** The current period's invoice has been issued (false at the start of a run that must issue it). */
  readonly periodInvoiced: boolean;
  readonly status: SubscriptionStatus;
  readonly createdAt: string;
  readonly trial: TrialState | null;
  readonly trialEndBehavior: TrialEndBehavior;
  readonly hasPaymentMethod: boolean;
  readonly cancelAtPeriodEnd: boolean;
  readonly cancellation: CancellationState | null;
  /** A change requested for the period end (a downgrade, by default). */
  readonly scheduledItems: readonly SubscriptionItem[] | null;
  /** Proration lines waiting for the next invoice ('create_prorations'). */
  readonly pendingLines: readonly InvoiceLineDraft[];
  readonly pause: PauseState | null;
  readonly dunning: DunningState | null;
  /** Invoices issued while collection was paused, charged on resume. */
  readonly uncollectedInvoiceIds: readonly string[];
  /** Payment attempts made per open invoice; the next gateway key is `charge:{invoiceId}:{n + 1}`. */
  readonly paymentAttempts: Readonly<Record<string, number>>;
  /** Invoices whose charge is processing or needs customer action; a webhook signal settles them. */
  readonly awaitingPayment: readonly string[];
  /** The invoice of the current period (a cancel-now credit note corrects it). */
  readonly currentPeriodInvoiceId: string | null;
  readonly lastInvoice: InvoiceSummary | null;
  readonly invoicesIssued: number;
  /** Counts updates so each change gets a deterministic idempotency key for its invoice. */
  readonly changeSeq: number;
  /**
   * Usage thresholds (80 %, 100 % of a metered allowance) reached lately, newest last, at most 20 —
   * for operators (getState in the Temporal UI). Absent in runs started before entitlements existed.
   */
  readonly usageThresholds?: readonly UsageThresholdCrossing[];
  /**
   * Usage charges: periods whose usage is still to be billed in arrears (queued when a period ends or a
   * service pause starts, billed on the next invoice), each with the items it was served with. Absent
   * in runs started before usage charges.
   */
  readonly usageDue?: readonly UsageDue[];
}

/** A served period whose usage charges are not billed yet. */
export interface UsageDue {
  readonly period: { readonly start: string; readonly end: string };
  readonly items: readonly {
    readonly itemId: string;
    readonly priceId: string;
    readonly planId: string;
  }[];
}

export interface SubscriptionState extends SubscriptionWorkflowInput {
  /** The period being served now (the trial while trialing; null when paused or ended). */
  readonly currentPeriod: BillingPeriod | null;
}

export type SubscriptionWorkflowResult = Pick<
  SubscriptionState,
  'status' | 'cancellation' | 'invoicesIssued' | 'lastInvoice'
>;

// ---------------------------------------------------------------------------------------------------
// Updates: the caller waits for the answer; a validator rejects bad requests before they enter history.

export type ChangeTiming = 'now' | 'period_end';

export interface ChangePlanRequest {
  /** The new plan's price, resolved (version and customer override) by the caller. */
  readonly price: PriceSnapshot;
  /** Default: the current plan item's quantity. */
  readonly quantity?: number;
  /** Default: 'now' for an upgrade (the period amount grows), 'period_end' otherwise. */
  readonly timing?: ChangeTiming;
  /** Default 'create_prorations'. Ignored for 'period_end' changes and during a trial. */
  readonly prorationBehavior?: ProrationBehavior;
}

export interface ChangeQuantityRequest {
  /** Default: the plan item. */
  readonly itemId?: string;
  readonly quantity: number;
  readonly timing?: ChangeTiming;
  readonly prorationBehavior?: ProrationBehavior;
}

export interface AddAddonRequest {
  /** `si_…` chosen by the caller so a retried request names the same item. */
  readonly itemId: string;
  readonly price: PriceSnapshot;
  readonly quantity: number;
  readonly prorationBehavior?: ProrationBehavior;
}

export interface RemoveAddonRequest {
  readonly itemId: string;
  readonly timing?: ChangeTiming;
  readonly prorationBehavior?: ProrationBehavior;
}

export interface ItemChangeResult {
  readonly effectiveAt: string;
  /** true when the change waits for the period end. */
  readonly scheduled: boolean;
  readonly items: readonly SubscriptionItem[];
  /** The proration lines this change produced (empty for 'none', scheduled changes and trials). */
  readonly prorationLines: readonly InvoiceLineDraft[];
  readonly prorationNetMinor: number;
  /** Set when 'always_invoice' issued an invoice now. */
  readonly invoice: InvoiceSummary | null;
  readonly payment: PaymentOutcome | null;
}

export interface CancelRequest {
  /** Default 'period_end'. */
  readonly at?: ChangeTiming;
  /** Cancel now only: credit the unused part of the current period to the customer's balance. */
  readonly prorate?: boolean;
  readonly reason?: string;
}

export interface CancelResult {
  readonly status: SubscriptionStatus;
  /** When service ends (now, or the period end). */
  readonly cancelAt: string;
  readonly creditNote: {
    readonly creditNoteId: string;
    readonly number: string;
    readonly amountMinor: number;
  } | null;
  /** The final invoice when prorations were still waiting for the renewal (they are billed now). */
  readonly invoice: InvoiceSummary | null;
}

export interface PauseRequest {
  readonly behavior: PauseBehavior;
  /** Default: 'period_end' for pause_service, 'now' for pause_collection. */
  readonly timing?: ChangeTiming;
  readonly resumesAt?: string;
}

export interface ResumeRequest {
  /** Placeholder for future options; resuming is always immediate. */
  readonly note?: string;
}

export interface RetryPaymentRequest {
  /** Default: the oldest open invoice. */
  readonly invoiceId?: string;
}

export type PaymentOutcome =
  | { readonly status: 'paid'; readonly invoiceId: string; readonly amountMinor: number }
  | { readonly status: 'processing' | 'requires_action'; readonly invoiceId: string }
  | {
      readonly status: 'declined';
      readonly invoiceId: string;
      readonly declineCode: string;
      readonly message: string;
    };

export interface ExtendTrialRequest {
  readonly trialEnd: string;
}

export const changePlanUpdate = defineUpdate<ItemChangeResult, [ChangePlanRequest]>('changePlan');
export const changeQuantityUpdate = defineUpdate<ItemChangeResult, [ChangeQuantityRequest]>('changeQuantity');
export const addAddonUpdate = defineUpdate<ItemChangeResult, [AddAddonRequest]>('addAddon');
export const removeAddonUpdate = defineUpdate<ItemChangeResult, [RemoveAddonRequest]>('removeAddon');
export const cancelUpdate = defineUpdate<CancelResult, [CancelRequest]>('cancel');
/** Withdraws a cancel-at-period-end before it takes effect. */
export const undoCancelUpdate = defineUpdate<SubscriptionState, []>('undoCancel');
export const pauseUpdate = defineUpdate<SubscriptionState, [PauseRequest]>('pause');
export const resumeUpdate = defineUpdate<SubscriptionState, [ResumeRequest]>('resume');
export const retryPaymentUpdate = defineUpdate<PaymentOutcome, [RetryPaymentRequest]>('retryPayment');
export const extendTrialUpdate = defineUpdate<SubscriptionState, [ExtendTrialRequest]>('extendTrial');

// ---------------------------------------------------------------------------------------------------
// Signals: facts from outside that need no answer.

export interface PaymentSucceededSignal {
  readonly invoiceId: string;
  readonly providerPaymentId: string;
  readonly amountMinor: number;
  readonly currency: string;
}

export interface PaymentFailedSignal {
  readonly invoiceId: string;
  readonly providerPaymentId: string;
  readonly declineCode: string;
  readonly message: string;
}

export interface PaymentMethodUpdatedSignal {
  readonly paymentMethodId: string;
}

export const paymentSucceededSignal = defineSignal<[PaymentSucceededSignal]>('paymentSucceeded');
export const paymentFailedSignal = defineSignal<[PaymentFailedSignal]>('paymentFailed');
export const paymentMethodUpdatedSignal = defineSignal<[PaymentMethodUpdatedSignal]>('paymentMethodUpdated');

/** Sent by the API's ThresholdWatcher (at least once; the workflow ignores a repeat of a crossing). */
export type UsageThresholdReachedSignal = UsageThresholdCrossing;
export const usageThresholdReachedSignal =
  defineSignal<[UsageThresholdReachedSignal]>('usageThresholdReached');

// ---------------------------------------------------------------------------------------------------
// Queries.

export interface UpcomingInvoice {
  readonly currency: string;
  /** The period the next renewal invoice pays for. */
  readonly periodStart: string;
  readonly periodEnd: string;
  /** When it will be issued and charged. */
  readonly issuesAt: string;
  readonly lines: readonly InvoiceLineDraft[];
  readonly subtotalMinor: number;
  /** Before the customer's credit balance, which only the database knows. */
  readonly totalMinor: number;
  /**
   * The served periods whose usage charges the invoice will bill in arrears (the current one up to
   * now, and any queued); the API prices them from the rollups, since usage lives in the database.
   */
  readonly usageDue?: readonly UsageDue[];
}

export const getStateQuery = defineQuery<SubscriptionState>('getState');
export const currentPeriodQuery = defineQuery<BillingPeriod | null>('currentPeriod');
/** null when no renewal is coming (canceled at period end, paused service, ended). */
export const upcomingInvoiceQuery = defineQuery<UpcomingInvoice | null>('upcomingInvoice');
