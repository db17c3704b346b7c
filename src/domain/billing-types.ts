// Plain data shared by the catalog, the subscription workflow, its activities and the API.
//
// Everything here crosses Temporal payloads as JSON: amounts are integer minor units in `number`
// (never bigint, never a float), instants are canonical ISO-8601 UTC strings, and every object is
// immutable by convention (readonly).

import type { BillingAlignment, Recurrence } from './calendar';
import type { ProrationGranularity } from './proration';
import type { RoundingMode } from './rounding';

/**
 * One version of a plan's price, pinned on a subscription item when it is bought. A new version of the
 * plan's price never reaches existing subscriptions unless they are migrated through a plan change.
 * A per-customer override is resolved into `unitAmountMinor` before the snapshot is taken
 * (`overrideId` says so).
 */
export interface PriceSnapshot {
  /** `price_…`: the exact version. */
  readonly priceId: string;
  readonly planId: string;
  readonly productId: string;
  readonly productName: string;
  /** 1, 2, 3, … per plan. */
  readonly version: number;
  /** ISO 4217, upper case. */
  readonly currency: string;
  /** Price per unit per period, integer minor units >= 0. */
  readonly unitAmountMinor: number;
  readonly recurrence: Recurrence;
  /** Set when a per-customer override replaced the catalog amount. */
  readonly overrideId?: string;
  /**
   * Set when the customer is billed in another currency than the price and the tenant gave no
   * amount in that currency: the amount was converted once, when the item was bought, at this rate.
   */
  readonly conversion?: PriceConversion;
}

export interface PriceConversion {
  readonly fromCurrency: string;
  readonly fromUnitAmountMinor: number;
  /** Exact decimal: 1 fromCurrency = rate currency. */
  readonly rate: string;
  readonly rateSource: string;
  readonly rateEffectiveAt: string;
}

export const ITEM_KINDS = ['plan', 'addon'] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];

/** One line of what a subscription sells each period: exactly one 'plan' item, any number of add-ons. */
export interface SubscriptionItem {
  /** `si_…`, stable for the life of the item (a quantity change keeps it; a plan change replaces the price). */
  readonly itemId: string;
  readonly kind: ItemKind;
  readonly price: PriceSnapshot;
  /** Integer 1..1_000_000. */
  readonly quantity: number;
}

export const INVOICE_LINE_KINDS = ['subscription', 'proration', 'adjustment'] as const;
export type InvoiceLineKind = (typeof INVOICE_LINE_KINDS)[number];

/** A line before it is written; the invoice writer numbers lines in array order. */
export interface InvoiceLineDraft {
  readonly kind: InvoiceLineKind;
  readonly description: string;
  readonly quantity: number;
  /** Per-unit price for 'subscription' lines; null for prorations (the amount is not unit × quantity). */
  readonly unitAmountMinor: number | null;
  /** Signed integer minor units: negative is a credit (unused time), positive a charge. */
  readonly amountMinor: number;
  /** The service period the line pays for, [start, end). */
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly priceId: string | null;
  readonly itemId: string | null;
  /** For proration lines: remaining / total time in the tenant's granularity (e.g. 20/30 days). */
  readonly prorationFraction?: { readonly numerator: number; readonly denominator: number };
}

export const PRORATION_BEHAVIORS = ['create_prorations', 'always_invoice', 'none'] as const;
export type ProrationBehavior = (typeof PRORATION_BEHAVIORS)[number];

export const DUNNING_FINAL_ACTIONS = ['cancel', 'mark_unpaid'] as const;
export type DunningFinalAction = (typeof DUNNING_FINAL_ACTIONS)[number];

/**
 * What happens after a renewal payment fails. The first attempt is the automatic one at invoicing; each
 * retry happens at `firstFailureAt + retryOffsetsHours[i]`; after the last retry fails, `finalAction`.
 * Access stays on during `gracePeriodHours` from the first failure, then is suspended (still past_due).
 */
export interface DunningPolicy {
  /** Strictly increasing, each 1..8760 (a year); at most 20 retries. Default [24, 72, 120, 168]. */
  readonly retryOffsetsHours: readonly number[];
  /** 0..8760. Default 168 (7 days). */
  readonly gracePeriodHours: number;
  readonly finalAction: DunningFinalAction;
}

/** A tenant's billing settings; the workflow reads them at the start of every run (every period). */
export interface BillingSettings {
  readonly prorationGranularity: ProrationGranularity;
  readonly roundingMode: RoundingMode;
  readonly dunning: DunningPolicy;
  /** Days before a trial ends that `customer.subscription.trial_will_end` is emitted (0 = never). */
  readonly trialReminderDays: number;
}

export const PAUSE_BEHAVIORS = ['pause_collection', 'pause_service'] as const;
/**
 * pause_service: no service and no invoices while paused; resuming starts a fresh period at the resume
 * instant. pause_collection: service and periods go on, invoices are issued but not charged; resuming
 * collects them.
 */
export type PauseBehavior = (typeof PAUSE_BEHAVIORS)[number];

export type { BillingAlignment };
