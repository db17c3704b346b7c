// India's GST (Central GST Act 2017, Integrated GST Act 2017, the State GST Acts and the Union
// Territory GST Act 2017). SaaS and other IT / OIDAR services (SAC 9983, 9984) and professional
// services bear 18 %: CGST 9 % + SGST (or UTGST) 9 % within a state, IGST 18 % between states and
// for imports. E-books (HSN 4901 in electronic form) bear 5 % since the 2018 rate notifications.
// UNCERTAIN: e-books after the rate restructuring effective 2025-09-22 (services were untouched).

import type { RatePeriod, IndiaGstTable } from './types';

const FROM = '2021-07-01';
const EIGHTEEN: readonly RatePeriod[] = [{ effectiveFrom: FROM, ratePercent: '18', rateKind: 'standard' }];

export const INDIA_GST_TABLE: IndiaGstTable = {
  rates: {
    saas: EIGHTEEN,
    general_services: EIGHTEEN,
    ebooks: [{ effectiveFrom: FROM, ratePercent: '5', rateKind: 'reduced' }],
  },
  // ISO 3166-2:IN. The 2023 revision renamed CT→CG, OR→OD, TG→TS, UT→UK; both spellings are accepted.
  // prettier-ignore
  states: [
    'AN', 'AP', 'AR', 'AS', 'BR', 'CH', 'CT', 'CG', 'DH', 'DL', 'GA', 'GJ', 'HP', 'HR', 'JH', 'JK',
    'KA', 'KL', 'LA', 'LD', 'MH', 'ML', 'MN', 'MP', 'MZ', 'NL', 'OR', 'OD', 'PB', 'PY', 'RJ', 'SK',
    'TG', 'TS', 'TN', 'TR', 'UP', 'UT', 'UK', 'WB',
  ],
  // Andaman and Nicobar, Chandigarh, Dadra and Nagar Haveli and Daman and Diu, Ladakh, Lakshadweep.
  // Delhi, Puducherry and Jammu and Kashmir have legislatures and levy SGST.
  utgstTerritories: ['AN', 'CH', 'DH', 'LA', 'LD'],
};
