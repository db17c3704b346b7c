import fc from 'fast-check';
import {
  allocateMinor,
  currencyExponent,
  decimalLineAmountMinor,
  parseDecimal,
} from '../../../../src/domain/money';
import { ROUNDING_MODES } from '../../../../src/domain/rounding';

describe('ISO 4217 minor units', () => {
  it.each([
    ['JPY', 0],
    ['KRW', 0],
    ['EUR', 2],
    ['USD', 2],
    ['BHD', 3],
    ['KWD', 3],
    ['CLF', 4],
  ])('%s has %i decimals', (currency, exponent) => {
    expect(currencyExponent(currency)).toBe(exponent);
  });

  it('refuses codes that are not billable money, or not codes at all', () => {
    for (const code of ['XAU', 'XXX', 'XTS', 'ABC', 'usd', 'EURO'])
      expect(() => currencyExponent(code)).toThrow(RangeError);
  });
});

describe('allocation never loses a minor unit', () => {
  it('splits 1.00 three ways as 0.34 + 0.33 + 0.33 (the leftover cent to the first largest remainder)', () => {
    expect(allocateMinor(100, [1, 1, 1])).toEqual([34, 33, 33]);
  });

  it('splits a 10.00 discount across lines of 9.99, 0.01 and 5.00 in proportion to their amounts', () => {
    // Exact shares 665.78…, 0.666…, 333.55…: floors 665 + 0 + 333 = 998, two cents left over,
    // which go to the largest remainders (0.666 and 0.78).
    expect(allocateMinor(1000, [999, 1, 500])).toEqual([666, 1, 333]);
  });

  it('splits negative amounts (credits) with the same magnitudes', () => {
    expect(allocateMinor(-100, [1, 1, 1])).toEqual([-34, -33, -33]);
  });

  it('refuses weights that cannot split anything', () => {
    expect(() => allocateMinor(100, [])).toThrow(RangeError);
    expect(() => allocateMinor(100, [0, 0])).toThrow(/positive weight/);
    expect(() => allocateMinor(100, [1, -1])).toThrow(/weights\[1\]/);
  });

  it('property: parts add up to the total and each is within one minor unit of its exact share', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1_000_000_000_000, max: 1_000_000_000_000 }),
        fc
          .array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 30 })
          .filter((w) => w.some((x) => x > 0)),
        (total, weights) => {
          const parts = allocateMinor(total, weights);
          const weightSum = weights.reduce((a, b) => a + b, 0);
          return (
            parts.reduce((a, b) => a + b, 0) === total &&
            parts.every((part, i) => Math.abs(part - (total * (weights[i] as number)) / weightSum) < 1 + 1e-6)
          );
        },
      ),
    );
  });
});

describe('prices below one minor unit', () => {
  it('1,234,567 API calls at 0.0004 USD are 493.8268 USD, billed 493.83 (rounded once)', () => {
    expect(
      decimalLineAmountMinor({
        unitPrice: '0.0004',
        quantity: '1234567',
        currency: 'USD',
        roundingMode: 'half_even',
      }),
    ).toBe(49383);
  });

  it('rounds a half once, by the mode: 0.125 EUR is 0.12 half-even, 0.13 half-up', () => {
    const line = { unitPrice: '0.0125', quantity: '10', currency: 'EUR' } as const;
    expect(decimalLineAmountMinor({ ...line, roundingMode: 'half_even' })).toBe(12);
    expect(decimalLineAmountMinor({ ...line, roundingMode: 'half_up' })).toBe(13);
  });

  it('respects the currency exponent: 2.5 units at 0.3333 JPY, BHD', () => {
    expect(
      decimalLineAmountMinor({
        unitPrice: '333.3',
        quantity: '2.5',
        currency: 'JPY',
        roundingMode: 'half_even',
      }),
    ).toBe(833);
    expect(
      decimalLineAmountMinor({
        unitPrice: '0.3333',
        quantity: '2.5',
        currency: 'BHD',
        roundingMode: 'half_even',
      }),
    ).toBe(833);
  });

  it('accepts only plain decimal strings', () => {
    expect(parseDecimal('0.0004')).toEqual({ units: 4n, scale: 4 });
    for (const bad of ['1e-4', '.5', '1,000', ' 1', 'NaN', ''])
      expect(() => parseDecimal(bad)).toThrow(RangeError);
  });

  it('property: the result is the exact product rounded once (error < 1 minor unit, ≤ ½ for half modes)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.constantFrom(...ROUNDING_MODES),
        (priceUnits, priceScale, quantity, mode) => {
          const unitPrice =
            priceScale === 0
              ? String(priceUnits)
              : `${Math.floor(priceUnits / 10 ** priceScale)}.${String(priceUnits % 10 ** priceScale).padStart(priceScale, '0')}`;
          const amount = decimalLineAmountMinor({
            unitPrice,
            quantity: String(quantity),
            currency: 'USD',
            roundingMode: mode,
          });
          // Exact cents × 10^scale, compared in integers: |amount × 10^s − exact × 10^s| < 10^s (≤ ½ · 10^s).
          const scale = 10n ** BigInt(priceScale);
          const error = BigInt(amount) * scale - BigInt(priceUnits) * BigInt(quantity) * 100n;
          const magnitude = error < 0n ? -error : error;
          return mode.startsWith('half') ? 2n * magnitude <= scale : magnitude < scale;
        },
      ),
    );
  });
});
