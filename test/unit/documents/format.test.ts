import {
  countryName,
  formatAmount,
  formatDate,
  formatMoney,
  formatOptionalPeriod,
  formatPeriod,
  formatQuantity,
  formatTaxRate,
  formatUnitPrice,
  inclusiveEnd,
} from '../../../src/documents/format';

describe('amounts print with the currency’s ISO 4217 exponent', () => {
  it('EUR has 2 decimals, JPY none, BHD 3', () => {
    expect(formatAmount(49000, 'EUR')).toBe('490.00');
    expect(formatAmount(5, 'EUR')).toBe('0.05');
    expect(formatAmount(0, 'EUR')).toBe('0.00');
    expect(formatAmount(1980, 'JPY')).toBe('1,980');
    expect(formatAmount(7, 'JPY')).toBe('7');
    expect(formatAmount(12345, 'BHD')).toBe('12.345');
    expect(formatAmount(5, 'BHD')).toBe('0.005');
  });

  it('groups thousands', () => {
    expect(formatAmount(123456789, 'EUR')).toBe('1,234,567.89');
    expect(formatAmount(100000, 'EUR')).toBe('1,000.00');
    expect(formatAmount(1234567, 'JPY')).toBe('1,234,567');
    expect(formatAmount(1234567890, 'BHD')).toBe('1,234,567.890');
  });

  it('keeps the sign of a credit', () => {
    expect(formatAmount(-25290, 'EUR')).toBe('-252.90');
    expect(formatAmount(-5, 'EUR')).toBe('-0.05');
    expect(formatAmount(-1980, 'JPY')).toBe('-1,980');
    expect(formatAmount(-123456, 'BHD')).toBe('-123.456');
  });

  it('shows the currency code, the sign in front', () => {
    expect(formatMoney(49000, 'EUR')).toBe('EUR 490.00');
    expect(formatMoney(-25290, 'EUR')).toBe('-EUR 252.90');
    expect(formatMoney(700000, 'JPY')).toBe('JPY 700,000');
    expect(formatMoney(-12345, 'BHD')).toBe('-BHD 12.345');
  });

  it('refuses what is not an integer amount of a billable currency', () => {
    expect(() => formatAmount(1.5, 'EUR')).toThrow(RangeError);
    expect(() => formatAmount(Number.MAX_SAFE_INTEGER + 2, 'EUR')).toThrow(RangeError);
    expect(() => formatAmount(100, 'eur')).toThrow(RangeError);
  });
});

describe('quantities, unit prices and rates', () => {
  it('groups quantities and keeps their decimals', () => {
    expect(formatQuantity('1')).toBe('1');
    expect(formatQuantity('2.5')).toBe('2.5');
    expect(formatQuantity('1234567')).toBe('1,234,567');
    expect(formatQuantity('1234.125')).toBe('1,234.125');
  });

  it('pads unit prices to the currency’s decimals but keeps sub-cent digits', () => {
    expect(formatUnitPrice('49', 'EUR')).toBe('49.00');
    expect(formatUnitPrice('49.5', 'EUR')).toBe('49.50');
    expect(formatUnitPrice('0.0004', 'EUR')).toBe('0.0004');
    expect(formatUnitPrice('1980', 'JPY')).toBe('1,980');
    expect(formatUnitPrice('12.5', 'BHD')).toBe('12.500');
    expect(formatUnitPrice('1234.00', 'EUR')).toBe('1,234.00');
  });

  it('prints tax rates as percent, joined components too', () => {
    expect(formatTaxRate('19')).toBe('19 %');
    expect(formatTaxRate('5 + 9.975')).toBe('5 + 9.975 %');
    expect(formatTaxRate('0')).toBe('0 %');
    expect(formatTaxRate(null)).toBe('');
  });
});

describe('dates and periods', () => {
  it("prints 'YYYY-MM-DD' as a day, a month name and a year", () => {
    expect(formatDate('2026-03-01')).toBe('1 March 2026');
    expect(formatDate('2026-12-31')).toBe('31 December 2026');
    expect(formatDate('2028-02-29')).toBe('29 February 2028');
  });

  it('refuses what is not a calendar date', () => {
    expect(() => formatDate('2026-02-30')).toThrow(RangeError);
    expect(() => formatDate('2026-3-1')).toThrow(RangeError);
    expect(() => formatDate('2026-03-01T00:00:00Z')).toThrow(RangeError);
  });

  it('prints a period stored with an exclusive end with its last day included', () => {
    expect(inclusiveEnd('2026-04-01')).toBe('2026-03-31');
    expect(inclusiveEnd('2026-03-01')).toBe('2026-02-28');
    expect(inclusiveEnd('2028-03-01')).toBe('2028-02-29');
    expect(inclusiveEnd('2027-01-01')).toBe('2026-12-31');
    expect(formatPeriod('2026-03-01', '2026-04-01')).toBe('1–31 March 2026');
    expect(formatPeriod('2026-02-01', '2026-03-01')).toBe('1–28 February 2026');
    expect(formatPeriod('2026-03-15', '2026-04-15')).toBe('15 March – 14 April 2026');
    expect(formatPeriod('2026-12-15', '2027-01-15')).toBe('15 December 2026 – 14 January 2027');
    expect(formatPeriod('2026-01-01', '2027-01-01')).toBe('1 January – 31 December 2026');
  });

  it('prints a one-day or empty period as its day', () => {
    expect(formatPeriod('2026-03-05', '2026-03-06')).toBe('5 March 2026');
    expect(formatPeriod('2026-03-05', '2026-03-05')).toBe('5 March 2026');
    expect(formatOptionalPeriod(null, null)).toBe('');
    expect(formatOptionalPeriod('2026-03-05', null)).toBe('5 March 2026');
  });
});

describe('countries', () => {
  it('prints the English name of an ISO 3166 code, anything else as given', () => {
    expect(countryName('DE')).toBe('Germany');
    expect(countryName('fr')).toBe('France');
    expect(countryName('')).toBe('');
    expect(countryName('Atlantis')).toBe('Atlantis');
  });
});
