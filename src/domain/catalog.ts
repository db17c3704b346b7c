// The catalog as subscriptions see it: a plan's price versions, per-customer overrides, and the rules a
// set of subscription items must satisfy. Pure: records come in from the database, snapshots go out.

import type { PriceSnapshot, SubscriptionItem } from './billing-types';
import { convertMinor } from './money';
import type { RoundingMode } from './rounding';

/** One stored version of a plan's price, before any customer override or currency conversion. */
export type PriceVersionRecord = Omit<PriceSnapshot, 'overrideId' | 'conversion'>;

export interface CustomerOverrideRecord {
  readonly overrideId: string;
  readonly customerId: string;
  readonly planId: string;
  readonly currency: string;
  readonly unitAmountMinor: number;
}

export const MAX_ITEMS = 20;
export const MAX_QUANTITY = 1_000_000;
const ITEM_ID_PATTERN = /^si_[A-Za-z0-9]{8,40}$/;

/** What a subscription pins when it buys `version`: the catalog amount, or the customer's override. */
export function snapshotPrice(
  version: PriceVersionRecord,
  override?: CustomerOverrideRecord | null,
): PriceSnapshot {
  assertAmount(version.unitAmountMinor, `price ${version.priceId}`);
  const base: PriceSnapshot = {
    priceId: version.priceId,
    planId: version.planId,
    productId: version.productId,
    productName: version.productName,
    version: version.version,
    currency: version.currency,
    unitAmountMinor: version.unitAmountMinor,
    recurrence: { interval: version.recurrence.interval, intervalCount: version.recurrence.intervalCount },
  };
  if (override === undefined || override === null) return base;
  if (override.planId !== version.planId) {
    throw new RangeError(
      `override ${override.overrideId} is for plan ${override.planId}, not ${version.planId}`,
    );
  }
  if (override.currency !== version.currency) {
    throw new RangeError(
      `override ${override.overrideId} is in ${override.currency}; price ${version.priceId} is in ${version.currency}`,
    );
  }
  assertAmount(override.unitAmountMinor, `override ${override.overrideId}`);
  return { ...base, unitAmountMinor: override.unitAmountMinor, overrideId: override.overrideId };
}

/** The highest version; versions of one plan are unique. */
export function latestVersion(versions: readonly PriceVersionRecord[]): PriceVersionRecord {
  if (versions.length === 0) throw new RangeError('latestVersion: no versions');
  const seen = new Set<number>();
  let latest = versions[0] as PriceVersionRecord;
  for (const version of versions) {
    if (seen.has(version.version)) throw new RangeError(`latestVersion: version ${version.version} twice`);
    seen.add(version.version);
    if (version.version > latest.version) latest = version;
  }
  return latest;
}

/** Σ unit × quantity over the items: what one full period costs. */
export function itemsPeriodAmountMinor(items: readonly SubscriptionItem[]): number {
  let total = 0;
  for (const item of items) {
    total += item.price.unitAmountMinor * item.quantity;
    if (!Number.isSafeInteger(total))
      throw new RangeError('itemsPeriodAmountMinor: total exceeds a safe integer');
  }
  return total;
}

/**
 * null when the items can be a subscription; otherwise why not: exactly one plan item, 1..20 items,
 * unique `si_` ids, integer quantities 1..1,000,000, and one currency and one recurrence for all.
 */
export function validateItems(items: readonly SubscriptionItem[]): string | null {
  if (items.length === 0) return 'a subscription needs at least one item';
  if (items.length > MAX_ITEMS) return `at most ${MAX_ITEMS} items, got ${items.length}`;
  const plans = items.filter((item) => item.kind === 'plan');
  if (plans.length !== 1) return `exactly one plan item is required, got ${plans.length}`;
  const plan = plans[0] as SubscriptionItem;
  const ids = new Set<string>();
  for (const [index, item] of items.entries()) {
    const where = `items[${index}]`;
    if (item.kind !== 'plan' && item.kind !== 'addon') return `${where}.kind must be plan or addon`;
    if (typeof item.itemId !== 'string' || !ITEM_ID_PATTERN.test(item.itemId)) {
      return `${where}.itemId must look like si_… (8–40 letters or digits)`;
    }
    if (ids.has(item.itemId)) return `${where}.itemId ${item.itemId} is used twice`;
    ids.add(item.itemId);
    if (!Number.isInteger(item.quantity) || item.quantity < 1 || item.quantity > MAX_QUANTITY) {
      return `${where}.quantity must be an integer 1..${MAX_QUANTITY}, got ${String(item.quantity)}`;
    }
    if (!Number.isSafeInteger(item.price.unitAmountMinor) || item.price.unitAmountMinor < 0) {
      return `${where}.price.unitAmountMinor must be a safe integer >= 0`;
    }
    if (item.price.currency !== plan.price.currency) {
      return `${where}.price is in ${item.price.currency}; the plan is in ${plan.price.currency}`;
    }
    const { interval, intervalCount } = item.price.recurrence;
    if (
      interval !== plan.price.recurrence.interval ||
      intervalCount !== plan.price.recurrence.intervalCount
    ) {
      return `${where}.price bills every ${intervalCount} ${interval}; the plan every ${plan.price.recurrence.intervalCount} ${plan.price.recurrence.interval}`;
    }
  }
  return null;
}

export function assertValidItems(items: readonly SubscriptionItem[]): void {
  const problem = validateItems(items);
  if (problem !== null) throw new RangeError(problem);
}

/** An upgrade costs more per period than what it replaces. */
export function isUpgrade(before: readonly SubscriptionItem[], after: readonly SubscriptionItem[]): boolean {
  return itemsPeriodAmountMinor(after) > itemsPeriodAmountMinor(before);
}

function assertAmount(amountMinor: number, what: string): void {
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 0) {
    throw new RangeError(
      `${what}: amount must be a safe integer >= 0 (minor units), got ${String(amountMinor)}`,
    );
  }
}

/**
 * The snapshot in the customer's billing currency: the tenant's own amount for that currency when the
 * price version has one (a price book), otherwise the amount converted at `rate`, rounded once and
 * recorded on the snapshot. A customer override is in the plan's currency and is converted too.
 */
export function inBillingCurrency(
  snapshot: PriceSnapshot,
  billingCurrency: string,
  options: {
    readonly currencyOptionMinor: number | null;
    readonly rate: { readonly rate: string; readonly source: string; readonly effectiveAt: string } | null;
    readonly roundingMode: RoundingMode;
  },
): PriceSnapshot {
  if (billingCurrency === snapshot.currency) return snapshot;
  if (options.currencyOptionMinor !== null && snapshot.overrideId === undefined) {
    assertAmount(options.currencyOptionMinor, `price ${snapshot.priceId} in ${billingCurrency}`);
    return { ...snapshot, currency: billingCurrency, unitAmountMinor: options.currencyOptionMinor };
  }
  if (options.rate === null) {
    throw new RangeError(
      `no ${snapshot.currency}→${billingCurrency} exchange rate on file and no ${billingCurrency} amount for price ${snapshot.priceId}`,
    );
  }
  return {
    ...snapshot,
    currency: billingCurrency,
    unitAmountMinor: convertMinor(
      snapshot.unitAmountMinor,
      snapshot.currency,
      billingCurrency,
      options.rate.rate,
      options.roundingMode,
    ),
    conversion: {
      fromCurrency: snapshot.currency,
      fromUnitAmountMinor: snapshot.unitAmountMinor,
      rate: options.rate.rate,
      rateSource: options.rate.source,
      rateEffectiveAt: options.rate.effectiveAt,
    },
  };
}
