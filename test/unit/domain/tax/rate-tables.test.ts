import { parseDecimal } from '../../../../src/domain/money';
import { RateNotFoundError } from '../../../../src/domain/tax/errors';
import {
  CANADIAN_PROVINCES,
  EU_TABLES,
  NATIONAL_TABLES,
  RATES_VERSION,
  TABLES_COVER_FROM,
  US_STATES,
  allDatedSeries,
  inForceOn,
} from '../../../../src/domain/tax/rates';
import { EU_MEMBER_STATES } from '../../../../src/domain/tax/rates/eu';

// The rate tables are data; these checks keep an edit from leaving a gap, an overlap or a typo that
// would tax an invoice at the wrong rate (or none).

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function dayAfter(date: string): string {
  const next = new Date(`${date}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString().slice(0, 10);
}

describe('every dated series', () => {
  it.each(allDatedSeries().map((series) => [series.name, series.rows] as const))(
    '%s starts at the tables’ coverage, is contiguous and open-ended',
    (_name, rows) => {
      expect(rows[0]?.effectiveFrom).toBe(TABLES_COVER_FROM);
      rows.forEach((row, index) => {
        expect(row.effectiveFrom).toMatch(DATE);
        const next = rows[index + 1];
        if (next === undefined) {
          expect(row.effectiveTo).toBeUndefined();
        } else {
          expect(row.effectiveTo).toMatch(DATE);
          expect(row.effectiveTo! >= row.effectiveFrom).toBe(true);
          expect(next.effectiveFrom).toBe(dayAfter(row.effectiveTo!));
        }
      });
    },
  );

  it('has exact decimal rates between 0 and 100 %', () => {
    const rates: string[] = [];
    for (const table of [...EU_TABLES.values(), ...NATIONAL_TABLES.values()]) {
      for (const rows of Object.values(table.rates)) rates.push(...rows.map((row) => row.ratePercent));
    }
    for (const table of US_STATES.values()) {
      for (const row of table.periods) {
        rates.push(
          row.ratePercent,
          ...[row.saasRatePercent, row.saasTaxablePercent].filter((r) => r !== undefined),
        );
      }
    }
    for (const table of CANADIAN_PROVINCES.values()) {
      for (const row of table.periods) rates.push(...row.levies.map((levy) => levy.ratePercent));
    }
    for (const rate of rates) {
      const { units, scale } = parseDecimal(rate);
      expect(units >= 0n && units <= 100n * 10n ** BigInt(scale)).toBe(true);
    }
  });
});

describe('coverage', () => {
  it('has all 27 EU member states', () => {
    expect([...EU_TABLES.keys()].sort()).toEqual([...EU_MEMBER_STATES].sort());
    expect(EU_TABLES.size).toBe(27);
  });

  it('has the 50 US states and DC', () => {
    expect(US_STATES.size).toBe(51);
    expect(US_STATES.has('DC')).toBe(true);
  });

  it('has the 10 Canadian provinces and 3 territories', () => {
    expect([...CANADIAN_PROVINCES.keys()].sort()).toEqual(
      ['AB', 'BC', 'MB', 'NB', 'NL', 'NS', 'NT', 'NU', 'ON', 'PE', 'QC', 'SK', 'YT'].sort(),
    );
  });

  it('has GB, CH, NO, AU, NZ, SG and JP as single-rate countries', () => {
    expect([...NATIONAL_TABLES.keys()].sort()).toEqual(['AU', 'CH', 'GB', 'JP', 'NO', 'NZ', 'SG']);
  });

  it('names its edition', () => {
    expect(RATES_VERSION).toMatch(/^ledgerline-rates@\d{4}-\d{2}-\d{2}$/);
  });
});

describe('the standard rates in force in 2026', () => {
  const standardOn = (country: string, date = '2026-06-01') => {
    const table = EU_TABLES.get(country) ?? NATIONAL_TABLES.get(country);
    return table === undefined ? undefined : inForceOn(table.rates.saas, date, country).ratePercent;
  };

  it.each([
    ['AT', '20'],
    ['BE', '21'],
    ['BG', '20'],
    ['HR', '25'],
    ['CY', '19'],
    ['CZ', '21'],
    ['DK', '25'],
    ['EE', '24'],
    ['FI', '25.5'],
    ['FR', '20'],
    ['DE', '19'],
    ['GR', '24'],
    ['HU', '27'],
    ['IE', '23'],
    ['IT', '22'],
    ['LV', '21'],
    ['LT', '21'],
    ['LU', '17'],
    ['MT', '18'],
    ['NL', '21'],
    ['PL', '23'],
    ['PT', '23'],
    ['RO', '21'],
    ['SK', '23'],
    ['SI', '22'],
    ['ES', '21'],
    ['SE', '25'],
    ['GB', '20'],
    ['CH', '8.1'],
    ['NO', '25'],
    ['AU', '10'],
    ['NZ', '15'],
    ['SG', '9'],
    ['JP', '10'],
  ])('%s: %s %%', (country, rate) => {
    expect(standardOn(country)).toBe(rate);
  });

  it.each([
    // [country, last day of the old rate, old, new]
    ['FI', '2024-08-31', '24', '25.5'],
    ['EE', '2025-06-30', '22', '24'],
    ['RO', '2025-07-31', '19', '21'],
    ['SK', '2024-12-31', '20', '23'],
    ['CH', '2023-12-31', '7.7', '8.1'],
    ['SG', '2023-12-31', '8', '9'],
    ['LU', '2023-12-31', '16', '17'],
  ])('%s changed after %s from %s %% to %s %%', (country, lastDay, before, after) => {
    expect(standardOn(country, lastDay)).toBe(before);
    expect(standardOn(country, dayAfter(lastDay))).toBe(after);
  });

  it('Nova Scotia HST went from 15 % to 14 % on 2025-04-01', () => {
    const ns = CANADIAN_PROVINCES.get('NS')!.periods;
    expect(inForceOn(ns, '2025-03-31', 'NS').levies[0]?.ratePercent).toBe('15');
    expect(inForceOn(ns, '2025-04-01', 'NS').levies[0]?.ratePercent).toBe('14');
  });
});

describe('a tax date the tables do not cover', () => {
  it('is an error, not 0 %', () => {
    expect(() => inForceOn(EU_TABLES.get('DE')!.rates.saas, '2020-12-31', 'DE VAT')).toThrow(
      RateNotFoundError,
    );
  });
});
