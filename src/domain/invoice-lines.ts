// Invoice lines for subscription items: a full period, and Stripe-style prorations of a mid-period change
// (credit the unused time of what changed, charge the remaining time of what replaced it). Every amount
// comes from prorate(), which rounds exactly once.

import type { InvoiceLineDraft, SubscriptionItem } from './billing-types';
import type { BillingPeriod } from './calendar';
import { prorate, type ProrationGranularity } from './proration';
import type { RoundingMode } from './rounding';

/** One 'subscription' line per item, in item order: quantity × unit price for the whole period. */
export function periodLines(
  items: readonly SubscriptionItem[],
  period: { readonly start: string; readonly end: string },
): InvoiceLineDraft[] {
  return items.map((item) => {
    const amountMinor = item.price.unitAmountMinor * item.quantity;
    if (!Number.isSafeInteger(amountMinor))
      throw new RangeError(`line for ${item.itemId} exceeds a safe integer`);
    return {
      kind: 'subscription',
      description: describe(item),
      quantity: item.quantity,
      unitAmountMinor: item.price.unitAmountMinor,
      amountMinor,
      periodStart: period.start,
      periodEnd: period.end,
      priceId: item.price.priceId,
      itemId: item.itemId,
    };
  });
}

export interface ProrationRequest {
  readonly period: BillingPeriod;
  readonly changeAt: string;
  readonly before: readonly SubscriptionItem[];
  readonly after: readonly SubscriptionItem[];
  readonly granularity: ProrationGranularity;
  readonly roundingMode: RoundingMode;
}

/**
 * Per item (matched by itemId): a removed or changed item is credited for its unused time, a new or
 * changed item is charged for the remaining time; unchanged items and zero amounts produce no line.
 * Credits first (in `before` order), then charges (in `after` order).
 */
export function prorationLines(request: ProrationRequest): InvoiceLineDraft[] {
  const { before, after } = request;
  const afterById = new Map(after.map((item) => [item.itemId, item]));
  const beforeById = new Map(before.map((item) => [item.itemId, item]));
  const changed = (a: SubscriptionItem, b: SubscriptionItem | undefined): boolean =>
    b === undefined ||
    a.price.priceId !== b.price.priceId ||
    a.quantity !== b.quantity ||
    a.price.unitAmountMinor !== b.price.unitAmountMinor;

  const lines: InvoiceLineDraft[] = [];
  for (const item of before) {
    if (!changed(item, afterById.get(item.itemId))) continue;
    const result = prorateItem(request, item, 'credit');
    if (result.amountMinor !== 0) lines.push(result);
  }
  for (const item of after) {
    if (!changed(item, beforeById.get(item.itemId))) continue;
    const result = prorateItem(request, item, 'charge');
    if (result.amountMinor !== 0) lines.push(result);
  }
  return lines;
}

/** The unused time of every item from `cancelAt` to the period end, as positive amounts (a credit note). */
export function cancellationCreditLines(
  items: readonly SubscriptionItem[],
  period: BillingPeriod,
  cancelAt: string,
  granularity: ProrationGranularity,
  roundingMode: RoundingMode,
): Array<{ description: string; amountMinor: number }> {
  return prorationLines({
    period,
    changeAt: cancelAt,
    before: items,
    after: [],
    granularity,
    roundingMode,
  }).map((line) => ({ description: line.description, amountMinor: -line.amountMinor }));
}

export function sumLinesMinor(lines: readonly { readonly amountMinor: number }[]): number {
  let total = 0;
  for (const line of lines) {
    total += line.amountMinor;
    if (!Number.isSafeInteger(total)) throw new RangeError('sumLinesMinor: total exceeds a safe integer');
  }
  return total;
}

function prorateItem(
  request: ProrationRequest,
  item: SubscriptionItem,
  side: 'credit' | 'charge',
): InvoiceLineDraft {
  const fullMinor = item.price.unitAmountMinor * item.quantity;
  const result = prorate({
    period: request.period,
    changeAt: request.changeAt,
    oldAmountMinor: side === 'credit' ? fullMinor : 0,
    newAmountMinor: side === 'charge' ? fullMinor : 0,
    granularity: request.granularity,
    roundingMode: request.roundingMode,
  });
  const day = request.changeAt.slice(0, 10);
  const label = side === 'credit' ? 'Unused time on' : 'Remaining time on';
  return {
    kind: 'proration',
    description: `${label} ${describe(item)} after ${day}`,
    quantity: item.quantity,
    unitAmountMinor: null,
    // `+ 0` turns a -0 credit into 0.
    amountMinor: (side === 'credit' ? result.creditMinor : result.chargeMinor) + 0,
    periodStart: request.changeAt,
    periodEnd: request.period.end,
    priceId: item.price.priceId,
    itemId: item.itemId,
    prorationFraction: result.unusedFraction,
  };
}

function describe(item: SubscriptionItem): string {
  return item.quantity === 1 ? item.price.productName : `${item.price.productName} (× ${item.quantity})`;
}
