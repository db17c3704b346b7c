// The built-in rate tables, indexed for lookup, and the one function that picks the row in force.

import { RateNotFoundError } from '../errors';
import { APAC_TABLES } from './apac';
import { CANADA_PROVINCE_TABLES } from './canada';
import { EU_MEMBER_STATES, EU_VAT_TABLES } from './eu';
import { EUROPE_OTHER_VAT_TABLES } from './europe-other';
import { INDIA_GST_TABLE } from './india';
import type { CanadianProvinceTable, CountryRateTable, Dated, UsStateTable } from './types';
import { US_STATE_TABLES } from './us';

/**
 * Which edition of the tables produced a result (reported as `TaxResult.source`). Bump the date on
 * every data edit so that a stored invoice says which rates it was computed with.
 */
export const RATES_VERSION = 'ledgerline-rates@2026-11-01';

export { TABLES_COVER_FROM } from './types';
export type * from './types';
export { INDIA_GST_TABLE };

function indexBy<T>(rows: readonly T[], key: (row: T) => string): ReadonlyMap<string, T> {
  const map = new Map<string, T>();
  for (const row of rows) {
    const id = key(row);
    if (map.has(id)) throw new Error(`rate tables: duplicate entry ${id}`);
    map.set(id, row);
  }
  return map;
}

const EU_SET: ReadonlySet<string> = new Set(EU_MEMBER_STATES);

export function isEuMemberState(country: string): boolean {
  return EU_SET.has(country);
}

export const EU_TABLES: ReadonlyMap<string, CountryRateTable> = indexBy(EU_VAT_TABLES, (t) => t.country);

/** Single-rate VAT/GST countries outside the EU: GB, CH, NO, AU, NZ, SG, JP. */
export const NATIONAL_TABLES: ReadonlyMap<string, CountryRateTable> = indexBy(
  [...EUROPE_OTHER_VAT_TABLES, ...APAC_TABLES],
  (t) => t.country,
);

export const US_STATES: ReadonlyMap<string, UsStateTable> = indexBy(US_STATE_TABLES, (t) => t.state);

export const CANADIAN_PROVINCES: ReadonlyMap<string, CanadianProvinceTable> = indexBy(
  CANADA_PROVINCE_TABLES,
  (t) => t.province,
);

/** Every dated series in the tables, named, for the consistency test. */
export function allDatedSeries(): { readonly name: string; readonly rows: readonly Dated[] }[] {
  const series: { name: string; rows: readonly Dated[] }[] = [];
  for (const table of [...EU_TABLES.values(), ...NATIONAL_TABLES.values()]) {
    for (const [category, rows] of Object.entries(table.rates)) {
      series.push({ name: `${table.country} ${category}`, rows });
    }
  }
  for (const [category, rows] of Object.entries(INDIA_GST_TABLE.rates)) {
    series.push({ name: `IN ${category}`, rows });
  }
  for (const table of US_STATES.values()) series.push({ name: `US-${table.state}`, rows: table.periods });
  for (const table of CANADIAN_PROVINCES.values()) {
    series.push({ name: `CA-${table.province}`, rows: table.periods });
  }
  return series;
}

/** The row of `rows` in force on `date` ('YYYY-MM-DD'); ISO dates compare as strings. */
export function inForceOn<T extends Dated>(rows: readonly T[], date: string, what: string): T {
  const found = rows.find(
    (row) => row.effectiveFrom <= date && (row.effectiveTo === undefined || date <= row.effectiveTo),
  );
  if (found === undefined) throw new RateNotFoundError(what, date);
  return found;
}
