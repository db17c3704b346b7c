// GST / consumption tax in Asia-Pacific: one rate for every category Ledgerline sells.

import type { CountryRateTable, RatePeriod } from './types';

const FROM = '2021-07-01';

function everyCategory(periods: readonly RatePeriod[]) {
  return { saas: periods, ebooks: periods, general_services: periods };
}

export const APAC_TABLES: readonly CountryRateTable[] = [
  // A New Tax System (Goods and Services Tax) Act 1999 s. 9-70: 10 % since 2000. Offshore sellers of
  // digital products and imported services to Australian consumers collect it since 2017-07-01.
  {
    country: 'AU',
    name: 'Australia',
    taxName: 'GST',
    rates: everyCategory([{ effectiveFrom: FROM, ratePercent: '10', rateKind: 'standard' }]),
  },
  // Goods and Services Tax Act 1985 s. 8(1): 15 % since 2010-10-01; remote services to consumers by
  // non-residents since 2016-10-01.
  {
    country: 'NZ',
    name: 'New Zealand',
    taxName: 'GST',
    rates: everyCategory([{ effectiveFrom: FROM, ratePercent: '15', rateKind: 'standard' }]),
  },
  // Goods and Services Tax Act 1993: 7 % → 8 % on 2023-01-01 → 9 % on 2024-01-01 (Goods and
  // Services Tax (Amendment) Act 2022). Overseas vendors collect on B2C digital services since 2020.
  {
    country: 'SG',
    name: 'Singapore',
    taxName: 'GST',
    rates: everyCategory([
      { effectiveFrom: FROM, effectiveTo: '2022-12-31', ratePercent: '7', rateKind: 'standard' },
      { effectiveFrom: '2023-01-01', effectiveTo: '2023-12-31', ratePercent: '8', rateKind: 'standard' },
      { effectiveFrom: '2024-01-01', ratePercent: '9', rateKind: 'standard' },
    ]),
  },
  // Consumption Tax Act: 10 % since 2019-10-01 (7.8 % national + 2.2 % local, charged as one rate);
  // the 8 % reduced rate covers food and newspapers only, not e-books. Foreign providers of
  // consumer-oriented electronic services collect it (since 2015-10-01).
  {
    country: 'JP',
    name: 'Japan',
    taxName: 'JCT',
    rates: everyCategory([{ effectiveFrom: FROM, ratePercent: '10', rateKind: 'standard' }]),
  },
];
