import { convertMinor } from '../../../../src/domain/money';

describe('convertMinor: an amount in another currency at a dated rate, rounded once', () => {
  it('USD 49.00 at 1 USD = 0.92345 EUR is EUR 45.25 (45.249… rounded half-even)', () => {
    expect(convertMinor(4900, 'USD', 'EUR', '0.92345', 'half_even')).toBe(4525);
  });

  it('rescales between exponents (USD 2 decimals, JPY 0, BHD 3)', () => {
    // USD 10.00 × 150.25 = JPY 1,502.5: half-even keeps the even 1,502; half-up gives 1,503.
    expect(convertMinor(1000, 'USD', 'JPY', '150.25', 'half_even')).toBe(1502);
    expect(convertMinor(1000, 'USD', 'JPY', '150.25', 'half_up')).toBe(1503);
    // JPY 1,980 × 0.00252 = BHD 4.98960 → 4.990 (4,990 fils).
    expect(convertMinor(1980, 'JPY', 'BHD', '0.00252', 'half_even')).toBe(4990);
  });

  it('keeps the sign of a credit', () => {
    expect(convertMinor(-4900, 'USD', 'EUR', '0.92345', 'half_even')).toBe(-4525);
  });

  it('refuses a rate that is not a positive decimal', () => {
    expect(() => convertMinor(100, 'USD', 'EUR', '0', 'half_even')).toThrow(/positive/);
    expect(() => convertMinor(100, 'USD', 'EUR', '1e3', 'half_even')).toThrow();
  });
});
