import fc from 'fast-check';
import type { PriceSnapshot, SubscriptionItem } from '../../../src/domain/billing-types';
import {
  cancellationCreditLines,
  periodLines,
  prorationLines,
  sumLinesMinor,
} from '../../../src/domain/invoice-lines';

const april = { index: 0, start: '2025-04-01T00:00:00.000Z', end: '2025-05-01T00:00:00.000Z' }; // 30 days
const monthly = { interval: 'month', intervalCount: 1 } as const;

function price(name: string, unitAmountMinor: number): PriceSnapshot {
  return {
    priceId: `price_${name.toLowerCase()}`,
    planId: `plan_${name.toLowerCase()}`,
    productId: `prod_${name.toLowerCase()}`,
    productName: name,
    version: 1,
    currency: 'USD',
    unitAmountMinor,
    recurrence: monthly,
  };
}
const item = (
  itemId: string,
  p: PriceSnapshot,
  quantity = 1,
  kind: 'plan' | 'addon' = 'plan',
): SubscriptionItem => ({
  itemId,
  kind,
  price: p,
  quantity,
});
const basic = item('si_plan00000001', price('Basic', 3000));
const premium = item('si_plan00000001', price('Premium', 6000));
const base = { period: april, granularity: 'day' as const, roundingMode: 'half_even' as const };

describe('period lines', () => {
  it('bills each item for the whole period: quantity × unit price', () => {
    const seats = item('si_seats0000001', price('Seat', 1000), 5);
    const support = item('si_support00001', price('Support', 600), 1, 'addon');
    expect(
      periodLines([seats, support], april).map((l) => [
        l.description,
        l.quantity,
        l.unitAmountMinor,
        l.amountMinor,
      ]),
    ).toEqual([
      ['Seat (× 5)', 5, 1000, 5000],
      ['Support', 1, 600, 600],
    ]);
  });
});

describe('proration lines (Stripe semantics, per item)', () => {
  it('upgrade on day 10 of 30: credit 20/30 of Basic, charge 20/30 of Premium', () => {
    const lines = prorationLines({
      ...base,
      changeAt: '2025-04-11T00:00:00.000Z',
      before: [basic],
      after: [premium],
    });
    // 3000 × 20/30 = 2000 credited; 6000 × 20/30 = 4000 charged.
    expect(lines.map((l) => [l.description, l.amountMinor, l.prorationFraction])).toEqual([
      ['Unused time on Basic after 2025-04-11', -2000, { numerator: 20, denominator: 30 }],
      ['Remaining time on Premium after 2025-04-11', 4000, { numerator: 20, denominator: 30 }],
    ]);
    expect(sumLinesMinor(lines)).toBe(2000);
    expect(lines.every((l) => l.kind === 'proration' && l.unitAmountMinor === null)).toBe(true);
    expect(
      lines.every((l) => l.periodStart === '2025-04-11T00:00:00.000Z' && l.periodEnd === april.end),
    ).toBe(true);
  });

  it('downgrade: a negative net (the customer is owed money)', () => {
    const lines = prorationLines({
      ...base,
      changeAt: '2025-04-11T00:00:00.000Z',
      before: [premium],
      after: [basic],
    });
    expect(lines.map((l) => l.amountMinor)).toEqual([-4000, 2000]);
  });

  it('seats 2 → 5 at mid-month: credit 2 seats, charge 5 seats, each for half the month', () => {
    const seats = (quantity: number) => item('si_seats0000001', price('Seat', 1000), quantity);
    const lines = prorationLines({
      ...base,
      changeAt: '2025-04-16T00:00:00.000Z',
      before: [seats(2)],
      after: [seats(5)],
    });
    expect(lines.map((l) => [l.description, l.amountMinor])).toEqual([
      ['Unused time on Seat (× 2) after 2025-04-16', -1000],
      ['Remaining time on Seat (× 5) after 2025-04-16', 2500],
    ]);
  });

  it('an add-on added or removed is charged or credited alone; unchanged items produce nothing', () => {
    const support = item('si_support00001', price('Support', 600), 1, 'addon');
    const changeAt = '2025-04-16T00:00:00.000Z';
    expect(
      prorationLines({ ...base, changeAt, before: [basic], after: [basic, support] }).map(
        (l) => l.amountMinor,
      ),
    ).toEqual([300]);
    expect(
      prorationLines({ ...base, changeAt, before: [basic, support], after: [basic] }).map(
        (l) => l.amountMinor,
      ),
    ).toEqual([-300]);
  });

  it('a change at the period start swaps the whole period; at the end it changes nothing', () => {
    expect(
      prorationLines({ ...base, changeAt: april.start, before: [basic], after: [premium] }).map(
        (l) => l.amountMinor,
      ),
    ).toEqual([-3000, 6000]);
    expect(prorationLines({ ...base, changeAt: april.end, before: [basic], after: [premium] })).toEqual([]);
  });

  it('cancellation credit: the unused time of every item, as positive amounts', () => {
    expect(
      cancellationCreditLines([basic], april, '2025-04-11T00:00:00.000Z', 'second', 'half_even'),
    ).toEqual([{ description: 'Unused time on Basic after 2025-04-11', amountMinor: 2000 }]);
  });
});

describe('proration properties', () => {
  const amount = fc.integer({ min: 0, max: 10_000_000 });
  const quantity = fc.integer({ min: 1, max: 1000 });
  const changeAt = fc
    .integer({ min: Date.parse(april.start), max: Date.parse(april.end) })
    .map((ms) => new Date(ms - (ms % 1000)).toISOString());
  const granularity = fc.constantFrom('second' as const, 'day' as const);

  it('never credits more than the old period amount nor charges more than the new one', () => {
    fc.assert(
      fc.property(amount, amount, quantity, quantity, changeAt, granularity, (a, b, qa, qb, at, g) => {
        const before = [item('si_plan00000001', price('A', a), qa)];
        const after = [item('si_plan00000001', price('B', b), qb)];
        const lines = prorationLines({
          period: april,
          changeAt: at,
          before,
          after,
          granularity: g,
          roundingMode: 'half_even',
        });
        const credits = lines.filter((l) => l.amountMinor < 0).reduce((sum, l) => sum - l.amountMinor, 0);
        const charges = lines.filter((l) => l.amountMinor > 0).reduce((sum, l) => sum + l.amountMinor, 0);
        return credits <= a * qa && charges <= b * qb;
      }),
    );
  });

  it('identical items before and after produce no lines', () => {
    fc.assert(
      fc.property(amount, quantity, changeAt, granularity, (a, q, at, g) => {
        const items = [item('si_plan00000001', price('A', a), q)];
        return (
          prorationLines({
            period: april,
            changeAt: at,
            before: items,
            after: items,
            granularity: g,
            roundingMode: 'half_even',
          }).length === 0
        );
      }),
    );
  });

  it('a quantity change credit + charge equals the price difference for the rest of the period within 1 minor unit', () => {
    fc.assert(
      fc.property(amount, quantity, quantity, changeAt, (unit, qa, qb, at) => {
        const p = price('A', unit);
        const lines = prorationLines({
          period: april,
          changeAt: at,
          before: [item('si_plan00000001', p, qa)],
          after: [item('si_plan00000001', p, qb)],
          granularity: 'second',
          roundingMode: 'half_even',
        });
        const remainingSeconds = (Date.parse(april.end) - Date.parse(at)) / 1000;
        const exact = ((qb - qa) * unit * remainingSeconds) / (30 * 86_400);
        return Math.abs(sumLinesMinor(lines) - exact) <= 1;
      }),
    );
  });
});
