/**
 * Pure functions over the subscription's carried state: how a new subscription starts, and which
 * period it is in. Imported by the workflow, the API and tests (no I/O, no clock: time is a parameter).
 */
import type { BillingAlignment, PriceSnapshot, SubscriptionItem } from '../domain/billing-types';
import {
  type BillingPeriod,
  type BillingSchedule,
  createSchedule,
  formatInstant,
  parseInstantMs,
  periodOf,
  type Recurrence,
} from '../domain/calendar';
import { periodLines, sumLinesMinor } from '../domain/invoice-lines';
import type { SubscriptionWorkflowInput, TrialEndBehavior, UpcomingInvoice } from './contracts';

export interface NewSubscriptionParams {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly customerId: string;
  /** Exactly one 'plan' item; all items share currency and recurrence. */
  readonly items: readonly SubscriptionItem[];
  /** When the subscription was created (the API's clock), ISO-8601 UTC. */
  readonly createdAt: string;
  /** Trial end, after createdAt; absent = no trial. */
  readonly trialEnd?: string | null;
  readonly trialEndBehavior?: TrialEndBehavior;
  /** Default 'anniversary'. */
  readonly alignment?: BillingAlignment;
  readonly hasPaymentMethod: boolean;
}

/**
 * The workflow input of a brand-new subscription. Without a trial the schedule starts at createdAt and
 * the first run issues period 0's invoice at once; with a trial the schedule is made at trial end.
 */
export function initialSubscriptionInput(params: NewSubscriptionParams): SubscriptionWorkflowInput {
  const plan = params.items.find((item) => item.kind === 'plan');
  if (plan === undefined) throw new RangeError('a subscription needs exactly one plan item');
  const createdAtMs = parseInstantMs(params.createdAt);
  const trialEnd = params.trialEnd ?? null;
  if (trialEnd !== null && parseInstantMs(trialEnd) <= createdAtMs) {
    throw new RangeError(`trial end ${trialEnd} must be after the subscription starts (${params.createdAt})`);
  }
  const alignment = params.alignment ?? 'anniversary';
  return {
    tenantId: params.tenantId,
    subscriptionId: params.subscriptionId,
    customerId: params.customerId,
    currency: plan.price.currency,
    items: params.items,
    alignment,
    schedule: trialEnd === null ? createSchedule(params.createdAt, plan.price.recurrence, alignment) : null,
    periodIndex: 0,
    periodInvoiced: false,
    status: trialEnd === null ? 'incomplete' : 'trialing',
    createdAt: params.createdAt,
    trial: trialEnd === null ? null : { start: params.createdAt, end: trialEnd, reminderSentForEnd: null },
    trialEndBehavior: params.trialEndBehavior ?? 'create_invoice',
    hasPaymentMethod: params.hasPaymentMethod,
    cancelAtPeriodEnd: false,
    cancellation: null,
    scheduledItems: null,
    pendingLines: [],
    pause: null,
    dunning: null,
    uncollectedInvoiceIds: [],
    paymentAttempts: {},
    awaitingPayment: [],
    currentPeriodInvoiceId: null,
    lastInvoice: null,
    invoicesIssued: 0,
    changeSeq: 0,
  };
}

/** The period being served: the trial while trialing, the schedule's current period, or none. */
export function currentPeriodOf(state: SubscriptionWorkflowInput): BillingPeriod | null {
  if (state.status === 'trialing' && state.trial !== null) {
    return { index: -1, start: state.trial.start, end: state.trial.end };
  }
  if (state.schedule === null || state.status === 'canceled' || state.status === 'ended') return null;
  return periodOf(state.schedule, state.periodIndex);
}

// ---------------------------------------------------------------------------------------------------
// Item operations: each returns the new item list, or a reason the request is invalid (the update's
// validator turns it into a rejection before anything enters history).

export type ItemsOrError = { readonly items: readonly SubscriptionItem[] } | { readonly error: string };

export function withPlanPrice(
  items: readonly SubscriptionItem[],
  price: PriceSnapshot,
  quantity: number | undefined,
): ItemsOrError {
  const plan = items.find((item) => item.kind === 'plan');
  if (plan === undefined) return { error: 'items: the subscription has no plan item' };
  const current = plan.price;
  if (price.currency !== current.currency) {
    return { error: `price: currency ${price.currency} differs from the subscription's ${current.currency}` };
  }
  if (!sameRecurrence(price.recurrence, current.recurrence)) {
    return {
      error:
        `price: billing every ${price.recurrence.intervalCount} ${price.recurrence.interval} differs from the ` +
        `subscription's every ${current.recurrence.intervalCount} ${current.recurrence.interval}; ` +
        'cancel and start a new subscription to change the interval',
    };
  }
  const nextQuantity = quantity ?? plan.quantity;
  if (price.priceId === current.priceId && nextQuantity === plan.quantity) {
    return { error: 'price: the subscription is already on this price and quantity' };
  }
  return {
    items: items.map((item) => (item === plan ? { ...item, price, quantity: nextQuantity } : item)),
  };
}

export function withQuantity(
  items: readonly SubscriptionItem[],
  itemId: string | undefined,
  quantity: number,
): ItemsOrError {
  const target = itemId === undefined ? items.find((item) => item.kind === 'plan') : findItem(items, itemId);
  if (target === undefined) return { error: `itemId: no item ${itemId ?? '(plan)'} on this subscription` };
  if (target.quantity === quantity) return { error: `quantity: the item already has quantity ${quantity}` };
  return { items: items.map((item) => (item === target ? { ...item, quantity } : item)) };
}

export function withAddon(
  items: readonly SubscriptionItem[],
  itemId: string,
  price: PriceSnapshot,
  quantity: number,
): ItemsOrError {
  if (findItem(items, itemId) !== undefined) return { error: `itemId: item ${itemId} already exists` };
  if (items.some((item) => item.kind === 'addon' && item.price.planId === price.planId)) {
    return { error: `price: plan ${price.planId} is already an add-on; change its quantity instead` };
  }
  return { items: [...items, { itemId, kind: 'addon', price, quantity }] };
}

export function withoutAddon(items: readonly SubscriptionItem[], itemId: string): ItemsOrError {
  const target = findItem(items, itemId);
  if (target === undefined) return { error: `itemId: no item ${itemId} on this subscription` };
  if (target.kind !== 'addon')
    return { error: `itemId: ${itemId} is the plan item; change the plan instead` };
  return { items: items.filter((item) => item !== target) };
}

function findItem(items: readonly SubscriptionItem[], itemId: string): SubscriptionItem | undefined {
  return items.find((item) => item.itemId === itemId);
}

function sameRecurrence(a: Recurrence, b: Recurrence): boolean {
  return a.interval === b.interval && a.intervalCount === b.intervalCount;
}

/** The recurrence every item shares (the plan item's). */
export function recurrenceOf(items: readonly SubscriptionItem[]): Recurrence {
  const plan = items.find((item) => item.kind === 'plan');
  if (plan === undefined) throw new RangeError('a subscription needs exactly one plan item');
  return plan.price.recurrence;
}

// ---------------------------------------------------------------------------------------------------
// Time: what the workflow waits for next.

/**
 * The earliest instant (epoch ms) at which something is due: trial reminder or end, period end,
 * a dunning retry, the end of the grace period, an automatic resume. null when only a request can
 * move the subscription (e.g. paused until further notice).
 */
export function nextDeadlineMs(state: SubscriptionWorkflowInput, trialReminderDays: number): number | null {
  const candidates: number[] = [];
  if (state.status === 'canceled' || state.status === 'ended') return null;
  if (state.status === 'trialing' && state.trial !== null) {
    const endMs = parseInstantMs(state.trial.end);
    candidates.push(endMs);
    const reminderMs = endMs - trialReminderDays * MS_PER_DAY;
    if (trialReminderDays > 0 && state.trial.reminderSentForEnd !== state.trial.end) {
      candidates.push(Math.max(reminderMs, parseInstantMs(state.trial.start)));
    }
  }
  const serviceOn = !(state.pause?.inEffect === true && state.pause.behavior === 'pause_service');
  if (state.schedule !== null && serviceOn && state.status !== 'trialing') {
    candidates.push(parseInstantMs(periodOf(state.schedule, state.periodIndex).end));
  }
  const collectionPaused = state.pause?.inEffect === true && state.pause.behavior === 'pause_collection';
  if (state.dunning !== null) {
    if (state.dunning.nextRetryAt !== null && !collectionPaused) {
      candidates.push(parseInstantMs(state.dunning.nextRetryAt));
    }
    if (!state.dunning.accessSuspended) candidates.push(parseInstantMs(state.dunning.graceEndsAt));
  }
  if (state.pause !== null && state.pause.resumesAt !== null)
    candidates.push(parseInstantMs(state.pause.resumesAt));
  return candidates.length === 0 ? null : Math.min(...candidates);
}

const MS_PER_DAY = 86_400_000;

// ---------------------------------------------------------------------------------------------------
// The next renewal invoice, exactly as the renewal will build it (same functions, same inputs).

export function upcomingInvoiceOf(state: SubscriptionWorkflowInput): UpcomingInvoice | null {
  if (state.status === 'canceled' || state.status === 'ended' || state.cancelAtPeriodEnd) return null;
  if (state.pause !== null && state.pause.behavior === 'pause_service') return null;
  let period: BillingPeriod;
  let items = state.items;
  const usageDue = [...(state.usageDue ?? [])];
  if (state.status === 'trialing' && state.trial !== null) {
    period = periodOf(createSchedule(state.trial.end, recurrenceOf(items), state.alignment), 0);
  } else if (state.schedule !== null) {
    if (state.periodInvoiced) {
      // The renewal bills the period being served now in arrears, with the items serving it.
      const served = periodOf(state.schedule, state.periodIndex);
      usageDue.push({
        period: { start: served.start, end: served.end },
        items: state.items.map((item) => ({
          itemId: item.itemId,
          priceId: item.price.priceId,
          planId: item.price.planId,
        })),
      });
    }
    period = periodOf(state.schedule, state.periodInvoiced ? state.periodIndex + 1 : state.periodIndex);
    items = state.scheduledItems ?? state.items;
  } else {
    return null;
  }
  const lines = [...periodLines(items, period), ...state.pendingLines];
  const subtotalMinor = sumLinesMinor(lines);
  return {
    currency: state.currency,
    periodStart: period.start,
    periodEnd: period.end,
    issuesAt: period.start,
    lines,
    subtotalMinor,
    totalMinor: subtotalMinor,
    ...(usageDue.length === 0 ? {} : { usageDue }),
  };
}

/**
 * A calendar-aligned schedule that starts between boundaries begins with a stub [startedAt, anchor);
 * it is charged as the remaining part of the full period that ends at the anchor.
 */
export function stubFullPeriod(schedule: BillingSchedule): BillingPeriod | null {
  if (schedule.alignment !== 'calendar' || schedule.startedAt === schedule.anchor) return null;
  const anchorMs = parseInstantMs(schedule.anchor);
  const { interval, intervalCount } = schedule.recurrence;
  const anchor = new Date(anchorMs);
  let startMs: number;
  switch (interval) {
    case 'day':
      startMs = anchorMs - intervalCount * MS_PER_DAY;
      break;
    case 'week':
      startMs = anchorMs - intervalCount * 7 * MS_PER_DAY;
      break;
    case 'month':
      // Calendar anchors are 00:00 on the 1st, so stepping back whole months never needs clamping.
      startMs = Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth() - intervalCount, 1);
      break;
    case 'year':
      startMs = Date.UTC(anchor.getUTCFullYear() - intervalCount, 0, 1);
      break;
  }
  return { index: -1, start: formatInstant(startMs), end: schedule.anchor };
}
