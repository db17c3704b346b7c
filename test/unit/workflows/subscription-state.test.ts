import type { PriceSnapshot, SubscriptionItem } from '../../../src/domain/billing-types';
import { createSchedule } from '../../../src/domain/calendar';
import {
  initialSubscriptionInput,
  nextDeadlineMs,
  stubFullPeriod,
  upcomingInvoiceOf,
  withAddon,
  withoutAddon,
  withPlanPrice,
  withQuantity,
} from '../../../src/workflows/subscription-state';

const monthly = { interval: 'month', intervalCount: 1 } as const;

function price(overrides: Partial<PriceSnapshot> = {}): PriceSnapshot {
  return {
    priceId: 'price_basic00000001',
    planId: 'plan_basic0000000001',
    productId: 'prod_basic000000001',
    productName: 'Basic',
    version: 1,
    currency: 'USD',
    unitAmountMinor: 3000,
    recurrence: monthly,
    ...overrides,
  };
}

const planItem: SubscriptionItem = { itemId: 'si_plan000000001', kind: 'plan', price: price(), quantity: 1 };
const premium = price({
  priceId: 'price_prem000000001',
  planId: 'plan_prem0000000001',
  productName: 'Premium',
  unitAmountMinor: 6000,
});

function newSubscription(trialEnd: string | null = null) {
  return initialSubscriptionInput({
    tenantId: 'ten_test00000001',
    subscriptionId: 'sub_test00000001',
    customerId: 'cus_test00000001',
    items: [planItem],
    createdAt: '2025-04-01T00:00:00.000Z',
    trialEnd,
    hasPaymentMethod: true,
  });
}

describe('a new subscription', () => {
  it('without a trial starts incomplete, anchored at creation, with period 0 to invoice', () => {
    const input = newSubscription();
    expect(input).toMatchObject({ status: 'incomplete', periodIndex: 0, periodInvoiced: false, trial: null });
    expect(input.schedule?.anchor).toBe('2025-04-01T00:00:00.000Z');
  });

  it('with a trial starts trialing with no schedule until the trial ends', () => {
    const input = newSubscription('2025-04-15T00:00:00.000Z');
    expect(input).toMatchObject({ status: 'trialing', schedule: null });
    expect(input.trial).toEqual({
      start: '2025-04-01T00:00:00.000Z',
      end: '2025-04-15T00:00:00.000Z',
      reminderSentForEnd: null,
    });
  });

  it('refuses a trial that ends before it starts', () => {
    expect(() => newSubscription('2025-03-01T00:00:00.000Z')).toThrow(/trial end/);
  });
});

describe('item operations', () => {
  it('changes the plan price and keeps the quantity', () => {
    const result = withPlanPrice([planItem], premium, undefined);
    expect(result).toEqual({ items: [{ ...planItem, price: premium }] });
  });

  it('rejects a plan in another currency or interval, naming the field', () => {
    expect(withPlanPrice([planItem], price({ currency: 'EUR' }), undefined)).toEqual({
      error: expect.stringMatching(/^price: currency EUR/),
    });
    expect(
      withPlanPrice(
        [planItem],
        price({ priceId: 'price_y', recurrence: { interval: 'year', intervalCount: 1 } }),
        undefined,
      ),
    ).toEqual({
      error: expect.stringMatching(/^price: billing every 1 year/),
    });
    expect(withPlanPrice([planItem], price(), undefined)).toEqual({
      error: expect.stringMatching(/already on this price/),
    });
  });

  it('changes a quantity, adds and removes an add-on', () => {
    const five = withQuantity([planItem], undefined, 5);
    expect(five).toEqual({ items: [{ ...planItem, quantity: 5 }] });
    const support = price({
      priceId: 'price_sup',
      planId: 'plan_sup',
      productName: 'Support',
      unitAmountMinor: 600,
    });
    const added = withAddon([planItem], 'si_support00000001', support, 1);
    expect('items' in added && added.items).toHaveLength(2);
    if (!('items' in added)) throw new Error('expected items');
    expect(withAddon(added.items, 'si_other000000001', support, 1)).toEqual({
      error: expect.stringMatching(/already an add-on/),
    });
    expect(withoutAddon(added.items, 'si_support00000001')).toEqual({ items: [planItem] });
    expect(withoutAddon(added.items, planItem.itemId)).toEqual({ error: expect.stringMatching(/plan item/) });
    expect(withQuantity([planItem], 'si_missing', 2)).toEqual({
      error: expect.stringMatching(/^itemId: no item/),
    });
  });
});

describe('what the workflow waits for', () => {
  it('is the trial reminder, then the trial end, while trialing', () => {
    const trialing = newSubscription('2025-04-15T00:00:00.000Z');
    expect(new Date(nextDeadlineMs(trialing, 3) ?? 0).toISOString()).toBe('2025-04-12T00:00:00.000Z');
    const reminded = {
      ...trialing,
      trial: { ...trialing.trial!, reminderSentForEnd: '2025-04-15T00:00:00.000Z' },
    };
    expect(new Date(nextDeadlineMs(reminded, 3) ?? 0).toISOString()).toBe('2025-04-15T00:00:00.000Z');
  });

  it('is the earliest of period end, dunning retry and grace end', () => {
    const active = { ...newSubscription(), status: 'past_due' as const, periodInvoiced: true };
    const dunning = {
      invoiceIds: ['inv_1'],
      firstFailureAt: '2025-04-01T00:00:00.000Z',
      attempts: 1,
      nextRetryAt: '2025-04-02T00:00:00.000Z',
      graceEndsAt: '2025-04-08T00:00:00.000Z',
      accessSuspended: false,
      lastDeclineCode: 'card_declined',
      lastDeclineMessage: 'declined',
    };
    expect(new Date(nextDeadlineMs({ ...active, dunning }, 3) ?? 0).toISOString()).toBe(
      '2025-04-02T00:00:00.000Z',
    );
    expect(new Date(nextDeadlineMs(active, 3) ?? 0).toISOString()).toBe('2025-05-01T00:00:00.000Z');
  });

  it('is nothing while paused until further notice, or the automatic resume', () => {
    const paused = {
      ...newSubscription(),
      status: 'paused' as const,
      schedule: null,
      pause: {
        behavior: 'pause_service' as const,
        effectiveAt: '2025-05-01T00:00:00.000Z',
        resumesAt: null,
        inEffect: true,
      },
    };
    expect(nextDeadlineMs(paused, 3)).toBeNull();
    const withResume = { ...paused, pause: { ...paused.pause, resumesAt: '2025-06-01T00:00:00.000Z' } };
    expect(new Date(nextDeadlineMs(withResume, 3) ?? 0).toISOString()).toBe('2025-06-01T00:00:00.000Z');
  });
});

describe('upcoming invoice', () => {
  it('is the next period at the scheduled items, plus pending prorations', () => {
    const active = { ...newSubscription(), status: 'active' as const, periodInvoiced: true };
    const pending = {
      kind: 'proration' as const,
      description: 'Remaining time on Premium',
      quantity: 1,
      unitAmountMinor: null,
      amountMinor: 1500,
      periodStart: '2025-04-16T00:00:00.000Z',
      periodEnd: '2025-05-01T00:00:00.000Z',
      priceId: null,
      itemId: null,
    };
    const upcoming = upcomingInvoiceOf({
      ...active,
      scheduledItems: [{ ...planItem, price: premium }],
      pendingLines: [pending],
    });
    expect(upcoming).toMatchObject({
      periodStart: '2025-05-01T00:00:00.000Z',
      periodEnd: '2025-06-01T00:00:00.000Z',
      subtotalMinor: 7500,
      totalMinor: 7500,
    });
  });

  it('is none when the subscription cancels at period end', () => {
    expect(upcomingInvoiceOf({ ...newSubscription(), status: 'active', cancelAtPeriodEnd: true })).toBeNull();
  });
});

describe('calendar stub', () => {
  it('is charged against the full month that ends at the anchor', () => {
    const schedule = createSchedule('2033-02-15T00:00:00.000Z', monthly, 'calendar');
    expect(stubFullPeriod(schedule)).toEqual({
      index: -1,
      start: '2033-02-01T00:00:00.000Z',
      end: '2033-03-01T00:00:00.000Z',
    });
    expect(stubFullPeriod(createSchedule('2033-03-01T00:00:00.000Z', monthly, 'calendar'))).toBeNull();
    expect(stubFullPeriod(createSchedule('2033-02-15T00:00:00.000Z', monthly, 'anniversary'))).toBeNull();
  });
});
