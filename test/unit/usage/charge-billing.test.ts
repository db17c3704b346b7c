import {
  chargeLines,
  foldBilled,
  lateAdjustment,
  type ChargeContext,
  type GroupQuantity,
} from '../../../src/domain/usage/charge-billing';
import type { UsageCharge } from '../../../src/domain/usage/usage-charge';

// Pricing a usage charge for a period and the late-usage adjustment of a period already billed.
// Amounts on the wire are minor units: unit_amount_decimal '10' = 10 cents = 0.10 USD.

const period = { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' };
const tiers = [
  { up_to: '1000', unit_amount_decimal: '10' }, // first 1,000 at 0.10
  { up_to: null, unit_amount_decimal: '8' }, //    the rest at 0.08
];

function charge(overrides: Partial<UsageCharge>): UsageCharge {
  return {
    id: 'chg_00000000000000000001',
    planId: 'plan_x',
    meterId: 'mtr_x',
    name: 'API calls',
    currency: 'USD',
    pricing: { model: 'graduated', tiers },
    includedQuantity: '0',
    minimumAmountMinor: null,
    groupBy: [],
    ...overrides,
  };
}

const ctx = (c: UsageCharge): ChargeContext => ({
  charge: c,
  roundingMode: 'half_even',
  period,
  priceId: 'price_x',
  itemId: 'si_x',
});
const total = (q: string): GroupQuantity[] => [{ groupKey: '', group: {}, quantity: q }];

describe('a charge billed with its period', () => {
  it('graduated 1,500 calls: 1,000 × 0.10 + 500 × 0.08 = 140.00, recorded with a commitment marker', () => {
    const billed = chargeLines(ctx(charge({})), total('1500'));
    expect(billed.lines.map((l) => [l.description, l.amountMinor])).toEqual([
      ['API calls: 1000 units (0–1000) × 0.1', 10000],
      ['API calls: 500 units (above 1000) × 0.08', 4000],
    ]);
    expect(billed.totalMinor).toBe(14000);
    expect(billed.records.map((r) => [r.kind, r.quantity, r.amountMinor, r.late])).toEqual([
      ['usage', '1500', 14000, false],
      ['commitment', null, 0, false],
    ]);
  });

  it('no usage, no minimum: no line, but the period is still recorded as billed at 0', () => {
    const billed = chargeLines(ctx(charge({})), total('0'));
    expect(billed.lines).toEqual([]);
    expect(billed.records.map((r) => [r.kind, r.quantity, r.amountMinor])).toEqual([
      ['usage', '0', 0],
      ['commitment', null, 0],
    ]);
  });

  it('usage within the included quantity keeps one informative line at 0', () => {
    const billed = chargeLines(ctx(charge({ includedQuantity: '5000' })), total('1200'));
    expect(billed.lines.map((l) => [l.description, l.amountMinor])).toEqual([
      ['API calls: 1200 units, 5000 included', 0],
    ]);
  });

  it('minimum commitment 200.00 over 140.00 of usage: a 60.00 true-up line', () => {
    const billed = chargeLines(ctx(charge({ minimumAmountMinor: 20000 })), total('1500'));
    expect(billed.lines.at(-1)).toMatchObject({
      description: 'API calls: minimum commitment 200 USD (true-up)',
      amountMinor: 6000,
    });
    expect(billed.totalMinor).toBe(20000);
  });

  it('group_by prices each group on its own tiers; the minimum applies to the whole charge', () => {
    const c = charge({ groupBy: ['region'], minimumAmountMinor: 30000 });
    const billed = chargeLines(ctx(c), [
      { groupKey: '["eu"]', group: { region: 'eu' }, quantity: '1500' }, // 140.00
      { groupKey: '["us"]', group: { region: 'us' }, quantity: '500' }, //    50.00
    ]);
    expect(billed.lines.map((l) => [l.description, l.amountMinor])).toEqual([
      ['API calls (region: eu): 1000 units (0–1000) × 0.1', 10000],
      ['API calls (region: eu): 500 units (above 1000) × 0.08', 4000],
      ['API calls (region: us): 500 units (0–1000) × 0.1', 5000],
      ['API calls: minimum commitment 300 USD (true-up)', 11000], // 300 − 190
    ]);
  });
});

describe('late usage for a period already billed', () => {
  const graduated = charge({});
  const volume = charge({ pricing: { model: 'volume', tiers } });

  it('graduated: 900 billed (90.00), 200 late → 1,100 = 100.00 + 8.00 → adjustment +18.00', () => {
    // price(1100) − billed = (1000 × 0.10 + 100 × 0.08) − 900 × 0.10 = 108.00 − 90.00 = 18.00.
    // Naively pricing the 200 late units alone would give 20.00: the tier they land in matters.
    const billed = foldBilled(chargeLines(ctx(graduated), total('900')).records);
    const adjustment = lateAdjustment(ctx(graduated), billed, total('1100'));
    expect(adjustment?.amountMinor).toBe(1800);
    expect(adjustment?.lines).toEqual([
      expect.objectContaining({
        kind: 'adjustment',
        description: 'Late usage for 2026-03-01 – 2026-04-01: API calls, 900 → 1100 units',
        amountMinor: 1800,
        periodStart: period.start,
        periodEnd: period.end,
      }),
    ]);
  });

  it('volume on the same usage: 900 × 0.10 = 90.00 billed, 1,100 × 0.08 = 88.00 → adjustment −2.00', () => {
    // Crossing into the cheaper volume tier lowers the price of every unit: a late event can credit.
    const billed = foldBilled(chargeLines(ctx(volume), total('900')).records);
    expect(lateAdjustment(ctx(volume), billed, total('1100'))?.amountMinor).toBe(-200);
  });

  it('records the new quantity, so the same late events are never billed again', () => {
    const first = chargeLines(ctx(graduated), total('900')).records;
    const adjustment = lateAdjustment(ctx(graduated), foldBilled(first), total('1100'));
    const after = foldBilled([...first, ...(adjustment?.records ?? [])]);
    expect(after.groups.get('')).toEqual({ quantity: '1100', amountMinor: 10800 });
    expect(lateAdjustment(ctx(graduated), after, total('1100'))).toBeNull();
  });

  it('re-trues the minimum commitment: late usage first eats into the true-up', () => {
    // Billed: 900 calls = 90.00 + 110.00 true-up to 200.00. Late: 1,100 calls = 108.00 + 92.00 true-up.
    // The charge still totals 200.00: the adjustment is 0 and prints no line, but is recorded.
    const c = charge({ minimumAmountMinor: 20000 });
    const billed = foldBilled(chargeLines(ctx(c), total('900')).records);
    const adjustment = lateAdjustment(ctx(c), billed, total('1100'));
    expect(adjustment?.amountMinor).toBe(0);
    expect(adjustment?.lines).toEqual([]);
    expect(adjustment?.records.map((r) => [r.kind, r.amountMinor])).toEqual([
      ['usage', 1800],
      ['commitment', -1800],
    ]);
  });

  it('a new group appearing late is priced from zero', () => {
    const c = charge({ groupBy: ['region'] });
    const billed = foldBilled(
      chargeLines(ctx(c), [{ groupKey: '["eu"]', group: { region: 'eu' }, quantity: '100' }]).records,
    );
    const adjustment = lateAdjustment(ctx(c), billed, [
      { groupKey: '["eu"]', group: { region: 'eu' }, quantity: '100' },
      { groupKey: '["us"]', group: { region: 'us' }, quantity: '10' }, // 10 × 0.10 = 1.00
    ]);
    expect(adjustment?.amountMinor).toBe(100);
    expect(adjustment?.lines[0]?.description).toBe(
      'Late usage for 2026-03-01 – 2026-04-01: API calls, (region: us) 0 → 10 units',
    );
  });
});
