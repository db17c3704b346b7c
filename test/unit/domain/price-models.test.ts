import fc from 'fast-check';
import { priceUsage, type PriceModel, type Tier } from '../../../src/domain/pricing/price-models';

const usd = { currency: 'USD', roundingMode: 'half_even' as const, unitLabel: 'API calls' };
// The same tiers, two models: first 1,000 calls at 0.10, the rest at 0.08.
const tiers: Tier[] = [
  { upTo: '1000', unitPrice: '0.10' },
  { upTo: null, unitPrice: '0.08' },
];

describe('worked examples', () => {
  it('per unit below one cent: 1,234,567 calls at 0.0004 = 493.8268 → 493.83', () => {
    const priced = priceUsage({
      ...usd,
      price: { model: 'per_unit', unitPrice: '0.0004' },
      quantity: '1234567',
    });
    expect(priced.totalMinor).toBe(49383);
    expect(priced.lines).toEqual([
      {
        description: '1234567 API calls × 0.0004',
        quantity: '1234567',
        unitPrice: '0.0004',
        amountMinor: 49383,
      },
    ]);
  });

  it('graduated and volume differ on the same 1,500 calls: 140.00 vs 120.00', () => {
    const graduated = priceUsage({ ...usd, price: { model: 'graduated', tiers }, quantity: '1500' });
    // 1,000 × 0.10 = 100.00, then 500 × 0.08 = 40.00.
    expect(graduated.lines.map((l) => [l.description, l.amountMinor])).toEqual([
      ['1000 API calls (0–1000) × 0.1', 10000],
      ['500 API calls (above 1000) × 0.08', 4000],
    ]);
    expect(graduated.totalMinor).toBe(14000);
    const volume = priceUsage({ ...usd, price: { model: 'volume', tiers }, quantity: '1500' });
    // All 1,500 at the tier 1,500 falls in: 1,500 × 0.08 = 120.00.
    expect(volume.lines.map((l) => [l.description, l.amountMinor])).toEqual([
      ['1500 API calls × 0.08 (volume)', 12000],
    ]);
    expect(volume.totalMinor).toBe(12000);
  });

  it('volume pricing is not monotonic: 1,000 calls cost more than 1,001 (the tier boundary effect)', () => {
    const at = (quantity: string) =>
      priceUsage({ ...usd, price: { model: 'volume', tiers }, quantity }).totalMinor;
    expect(at('1000')).toBe(10000);
    expect(at('1001')).toBe(8008);
  });

  it('graduated tier fees are charged once usage enters the tier', () => {
    const withFees: Tier[] = [
      { upTo: '100', unitPrice: '0', flatFee: '10.00' },
      { upTo: null, unitPrice: '0.05', flatFee: '5.00' },
    ];
    expect(
      priceUsage({ ...usd, price: { model: 'graduated', tiers: withFees }, quantity: '50' }).totalMinor,
    ).toBe(1000);
    // 10.00 + 150 × 0.05 + 5.00 = 22.50
    expect(
      priceUsage({ ...usd, price: { model: 'graduated', tiers: withFees }, quantity: '250' }).totalMinor,
    ).toBe(2250);
  });

  it('package: 1,001 units in packages of 1,000 at 5.00 is 2 packages, 10.00 (a started package is whole)', () => {
    const priced = priceUsage({
      ...usd,
      price: { model: 'package', packageSize: '1000', packagePrice: '5.00' },
      quantity: '1001',
    });
    expect(priced.lines).toEqual([
      { description: '2 × packages of 1000 API calls', quantity: '2', unitPrice: '5', amountMinor: 1000 },
    ]);
  });

  it('included quantity: 10,000 free, 12,500 used at 0.001 → 2,500 billable = 2.50', () => {
    const priced = priceUsage({
      ...usd,
      price: { model: 'per_unit', unitPrice: '0.001' },
      quantity: '12500',
      includedQuantity: '10000',
    });
    expect(priced).toMatchObject({ billableQuantity: '2500', totalMinor: 250 });
    expect(
      priceUsage({
        ...usd,
        price: { model: 'per_unit', unitPrice: '0.001' },
        quantity: '900',
        includedQuantity: '10000',
      }).totalMinor,
    ).toBe(0);
  });

  it('minimum commitment: 30.00 of usage against a 50.00 minimum adds a 20.00 true-up line', () => {
    const priced = priceUsage({
      ...usd,
      price: { model: 'per_unit', unitPrice: '0.01' },
      quantity: '3000',
      minimumAmount: '50.00',
    });
    expect(priced.lines.map((l) => [l.description, l.amountMinor])).toEqual([
      ['3000 API calls × 0.01', 3000],
      ['Minimum commitment 50.00 (true-up)', 2000],
    ]);
    expect(priced.totalMinor).toBe(5000);
  });

  it('flat fee, and fractional quantities in a zero-decimal currency', () => {
    expect(priceUsage({ ...usd, price: { model: 'flat', amount: '49.00' }, quantity: '0' }).totalMinor).toBe(
      4900,
    );
    // 2.5 GB-hours at 333.3 JPY = 833.25 → 833 yen.
    expect(
      priceUsage({
        currency: 'JPY',
        roundingMode: 'half_even',
        price: { model: 'per_unit', unitPrice: '333.3' },
        quantity: '2.5',
      }).totalMinor,
    ).toBe(833);
  });

  it('refuses malformed models', () => {
    const bad = (price: PriceModel) => () => priceUsage({ ...usd, price, quantity: '1' });
    expect(bad({ model: 'graduated', tiers: [{ upTo: '10', unitPrice: '1' }] })).toThrow(
      /only the last tier/,
    );
    expect(
      bad({
        model: 'graduated',
        tiers: [
          { upTo: '10', unitPrice: '1' },
          { upTo: '5', unitPrice: '1' },
          { upTo: null, unitPrice: '1' },
        ],
      }),
    ).toThrow(/above the previous/);
    expect(bad({ model: 'package', packageSize: '0', packagePrice: '1' })).toThrow(/packageSize/);
    expect(bad({ model: 'per_unit', unitPrice: '-1' })).toThrow(/unitPrice/);
    expect(bad({ model: 'stairs' } as unknown as PriceModel)).toThrow(/unknown price model/);
  });
});

describe('properties', () => {
  const tierArb = fc
    .array(fc.tuple(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 100_000 })), {
      minLength: 1,
      maxLength: 6,
    })
    .map((raw) => {
      let bound = 0;
      return raw.map(([width, priceTenThousandths], index): Tier => {
        bound += width;
        const unitPrice = (priceTenThousandths / 10_000).toFixed(4);
        return { upTo: index === raw.length - 1 ? null : String(bound), unitPrice };
      });
    });

  it('the graduated total never decreases as usage grows', () => {
    fc.assert(
      fc.property(
        tierArb,
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 10_000 }),
        (t, q, extra) => {
          const at = (quantity: number) =>
            priceUsage({ ...usd, price: { model: 'graduated', tiers: t }, quantity: String(quantity) })
              .totalMinor;
          return at(q + extra) >= at(q);
        },
      ),
    );
  });

  it('graduated with one tier equals per unit; the total is always the sum of the visible lines', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (priceTenThousandths, q) => {
          const unitPrice = (priceTenThousandths / 10_000).toFixed(4);
          const graduated = priceUsage({
            ...usd,
            price: { model: 'graduated', tiers: [{ upTo: null, unitPrice }] },
            quantity: String(q),
          });
          const perUnit = priceUsage({
            ...usd,
            price: { model: 'per_unit', unitPrice },
            quantity: String(q),
          });
          return (
            graduated.totalMinor === perUnit.totalMinor &&
            graduated.totalMinor === graduated.lines.reduce((s, l) => s + l.amountMinor, 0)
          );
        },
      ),
    );
  });
});
