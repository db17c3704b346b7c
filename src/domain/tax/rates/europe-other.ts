// VAT in the European countries outside the EU that Ledgerline sellers register in most often.

import type { CountryRateTable, RatePeriod } from './types';

const FROM = '2021-07-01';

// United Kingdom — Value Added Tax Act 1994 s. 2: 20 % since 2011-01-04. E-publications are
// zero-rated since 2020-05-01 (Schedule 8 Group 3 as amended).
const GB_STANDARD: readonly RatePeriod[] = [{ effectiveFrom: FROM, ratePercent: '20', rateKind: 'standard' }];

// Switzerland (and Liechtenstein by treaty) — MWSTG Art. 25: 7.7 % → 8.1 % and reduced 2.5 % → 2.6 %
// on 2024-01-01 (AHV 21 financing, approved by referendum on 2022-09-25). Electronic books and
// newspapers bear the reduced rate since 2018 (Art. 25(2)).
const CH_STANDARD: readonly RatePeriod[] = [
  { effectiveFrom: FROM, effectiveTo: '2023-12-31', ratePercent: '7.7', rateKind: 'standard' },
  { effectiveFrom: '2024-01-01', ratePercent: '8.1', rateKind: 'standard' },
];

// Norway — Merverdiavgiftsloven § 5-1: 25 %. Electronic books are zero-rated (chapter 6) since 2019-07-01.
const NO_STANDARD: readonly RatePeriod[] = [{ effectiveFrom: FROM, ratePercent: '25', rateKind: 'standard' }];

export const EUROPE_OTHER_VAT_TABLES: readonly CountryRateTable[] = [
  {
    country: 'GB',
    name: 'United Kingdom',
    taxName: 'VAT',
    rates: {
      saas: GB_STANDARD,
      general_services: GB_STANDARD,
      ebooks: [{ effectiveFrom: FROM, ratePercent: '0', rateKind: 'zero' }],
    },
  },
  {
    country: 'CH',
    name: 'Switzerland',
    taxName: 'VAT',
    rates: {
      saas: CH_STANDARD,
      general_services: CH_STANDARD,
      ebooks: [
        { effectiveFrom: FROM, effectiveTo: '2023-12-31', ratePercent: '2.5', rateKind: 'reduced' },
        { effectiveFrom: '2024-01-01', ratePercent: '2.6', rateKind: 'reduced' },
      ],
    },
  },
  {
    country: 'NO',
    name: 'Norway',
    taxName: 'VAT',
    rates: {
      saas: NO_STANDARD,
      general_services: NO_STANDARD,
      ebooks: [{ effectiveFrom: FROM, ratePercent: '0', rateKind: 'zero' }],
    },
  },
];
