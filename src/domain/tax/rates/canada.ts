// Canada: the federal GST (Excise Tax Act, Part IX), the harmonized HST in the Atlantic provinces and
// Ontario (which replaces GST there), and the provincial sales taxes that sit beside the GST:
// Quebec's QST (Act respecting the Québec sales tax), British Columbia's PST (Provincial Sales Tax
// Act), Manitoba's RST (The Retail Sales Tax Act) and Saskatchewan's PST (The Provincial Sales Tax
// Act). Place of supply is the customer's province (ETA Schedule IX).
//
// Provincial taxes cover software and SaaS; e-books and professional services are spared by the
// BC, Manitoba and Saskatchewan sales taxes (books are exempt; consulting is not a taxable service)
// but not by the QST. UNCERTAIN: e-books under the Manitoba and Saskatchewan exemptions for books,
// and Saskatchewan's taxable-services list; HST rebates on printed books do not extend to e-books.

import type { TaxCategory } from '../types';
import type { CanadianLevy, CanadianProvincePeriod, CanadianProvinceTable } from './types';

const FROM = '2021-07-01';
const ALL: readonly TaxCategory[] = ['saas', 'ebooks', 'general_services'];
const SOFTWARE_ONLY: readonly TaxCategory[] = ['saas'];

const GST: CanadianLevy = { jurisdiction: 'CA', taxName: 'GST', ratePercent: '5', categories: ALL };

function hst(province: string, ratePercent: string): CanadianLevy {
  return { jurisdiction: `CA-${province}`, taxName: 'HST', ratePercent, categories: ALL };
}

function steady(province: string, name: string, levies: readonly CanadianLevy[]): CanadianProvinceTable {
  const periods: readonly CanadianProvincePeriod[] = [{ effectiveFrom: FROM, levies }];
  return { province, name, periods };
}

export const CANADA_PROVINCE_TABLES: readonly CanadianProvinceTable[] = [
  steady('AB', 'Alberta', [GST]),
  steady('BC', 'British Columbia', [
    GST,
    { jurisdiction: 'CA-BC', taxName: 'PST', ratePercent: '7', categories: SOFTWARE_ONLY },
  ]),
  steady('MB', 'Manitoba', [
    GST,
    { jurisdiction: 'CA-MB', taxName: 'RST', ratePercent: '7', categories: SOFTWARE_ONLY },
  ]),
  steady('NB', 'New Brunswick', [hst('NB', '15')]),
  steady('NL', 'Newfoundland and Labrador', [hst('NL', '15')]),
  // HST 15 % → 14 % on 2025-04-01 (the province's 1-point cut of its share, announced in 2024).
  {
    province: 'NS',
    name: 'Nova Scotia',
    periods: [
      { effectiveFrom: FROM, effectiveTo: '2025-03-31', levies: [hst('NS', '15')] },
      { effectiveFrom: '2025-04-01', levies: [hst('NS', '14')] },
    ],
  },
  steady('ON', 'Ontario', [hst('ON', '13')]),
  steady('PE', 'Prince Edward Island', [hst('PE', '15')]),
  steady('QC', 'Quebec', [
    GST,
    { jurisdiction: 'CA-QC', taxName: 'QST', ratePercent: '9.975', categories: ALL },
  ]),
  steady('SK', 'Saskatchewan', [
    GST,
    { jurisdiction: 'CA-SK', taxName: 'PST', ratePercent: '6', categories: SOFTWARE_ONLY },
  ]),
  steady('NT', 'Northwest Territories', [GST]),
  steady('NU', 'Nunavut', [GST]),
  steady('YT', 'Yukon', [GST]),
];
