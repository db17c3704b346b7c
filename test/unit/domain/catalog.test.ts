import type { SubscriptionItem } from '../../../src/domain/billing-types';
import {
  isUpgrade,
  itemsPeriodAmountMinor,
  latestVersion,
  snapshotPrice,
  validateItems,
  type PriceVersionRecord,
} from '../../../src/domain/catalog';

const monthly = { interval: 'month', intervalCount: 1 } as const;
const v = (version: number, unitAmountMinor: number): PriceVersionRecord => ({
  priceId: `price_v${version}`,
  planId: 'plan_pro',
  productId: 'prod_pro',
  productName: 'Pro',
  version,
  currency: 'USD',
  unitAmountMinor,
  recurrence: monthly,
});
const item = (
  itemId: string,
  record: PriceVersionRecord,
  quantity = 1,
  kind: 'plan' | 'addon' = 'plan',
): SubscriptionItem => ({
  itemId,
  kind,
  price: snapshotPrice(record),
  quantity,
});

describe('versioned prices', () => {
  it('the latest version is the highest number; a subscription pins the version it bought', () => {
    expect(latestVersion([v(1, 4900), v(3, 5900), v(2, 5400)]).priceId).toBe('price_v3');
    expect(() => latestVersion([v(1, 4900), v(1, 5900)])).toThrow(/twice/);
    expect(snapshotPrice(v(1, 4900))).toMatchObject({
      priceId: 'price_v1',
      version: 1,
      unitAmountMinor: 4900,
    });
  });

  it("a customer's override replaces the amount and says so", () => {
    const override = {
      overrideId: 'ovr_1',
      customerId: 'cus_1',
      planId: 'plan_pro',
      currency: 'USD',
      unitAmountMinor: 3900,
    };
    expect(snapshotPrice(v(2, 5400), override)).toMatchObject({
      priceId: 'price_v2',
      unitAmountMinor: 3900,
      overrideId: 'ovr_1',
    });
    expect(() => snapshotPrice(v(2, 5400), { ...override, currency: 'EUR' })).toThrow(/EUR/);
    expect(() => snapshotPrice(v(2, 5400), { ...override, planId: 'plan_other' })).toThrow(/plan_other/);
  });
});

describe('subscription items', () => {
  it('one plan item plus add-ons, same currency and interval, unique ids, sane quantities', () => {
    const plan = item('si_plan00000001', v(1, 1000), 3);
    const addon = item(
      'si_addon0000001',
      { ...v(1, 500), planId: 'plan_addon', priceId: 'price_addon' },
      1,
      'addon',
    );
    expect(validateItems([plan, addon])).toBeNull();
    expect(itemsPeriodAmountMinor([plan, addon])).toBe(3500);
    expect(validateItems([addon])).toMatch(/exactly one plan item/);
    expect(validateItems([plan, { ...addon, itemId: plan.itemId }])).toMatch(/used twice/);
    expect(validateItems([{ ...plan, quantity: 0 }])).toMatch(/quantity/);
    expect(validateItems([plan, { ...addon, price: { ...addon.price, currency: 'EUR' } }])).toMatch(/EUR/);
    expect(
      validateItems([
        plan,
        { ...addon, price: { ...addon.price, recurrence: { interval: 'year', intervalCount: 1 } } },
      ]),
    ).toMatch(/year/);
  });

  it('an upgrade costs more per period', () => {
    expect(isUpgrade([item('si_plan00000001', v(1, 1000))], [item('si_plan00000001', v(2, 2000))])).toBe(
      true,
    );
    expect(isUpgrade([item('si_plan00000001', v(2, 2000))], [item('si_plan00000001', v(1, 1000), 2)])).toBe(
      false,
    );
  });
});
